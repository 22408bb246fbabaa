// The Worker's side of parking (http/parking.h, app/parked_connections.h):
// taking an idle kept-alive connection from its ending session, making a
// new session around it when its next request comes, and counting it out
// when client_idle closes it parked.
#include <unistd.h>

#include "app/worker.h"
#include "core/log.h"

namespace fulcrum::app {

bool Worker::canPark(const SocketAddress& client, const SocketAddress& local) const {
  return !draining_ && CompactAddress::fits(client) && CompactAddress::fits(local);
}

void Worker::park(http::ParkedHttp connection) {
  auto record = std::make_unique<ParkedConnection>();
  record->deadline = connection.idle_since + connection.idle_timeout;
  // Made by this worker (makeListenerSession); the session saw it as the
  // opaque net::Generation only.
  record->generation = std::const_pointer_cast<WorkerGeneration>(
      std::static_pointer_cast<const WorkerGeneration>(std::move(connection.generation)));
  record->generation_id = connection.generation_id;
  record->listener_index = connection.listener_index;
  if (!connection.client_is_peer || connection.local->length() != 0) {
    record->addresses = std::make_unique<ParkedAddresses>();
    record->addresses->client.store(*connection.client);
    record->addresses->local.store(*connection.local);
  }
  record->fd = connection.fd;
  pending_park_ = std::move(record);
  pending_idle_timeout_ = connection.idle_timeout;
}

void Worker::resume(std::unique_ptr<ParkedConnection> connection) {
  const std::optional<net::ClientAddresses> addresses = connection->resumedAddresses();
  if (!addresses) {
    // Reset by its client while parked: nothing to read, nobody to answer.
    ::close(connection->fd);
    log::debug("worker %u: parked connection reset by its client", id_);
    parkedExpired(*connection);
    return;
  }
  std::unique_ptr<net::Session> session = makeListenerSession(
      connection->generation, connection->generation_id, connection->listener_index,
      net::Stream::overSocket(*loop_, connection->fd), *addresses,
      [this](net::Session& done) { sessionDone(done); }, true);
  net::Session* raw = session.get();
  sessions_.emplace(raw, SessionEntry{std::move(session), connection->counters});
  connection.reset();
  log::debug("worker %u: parked connection resumed", id_);
  raw->start();
}

void Worker::parkedExpired(ParkedConnection& connection) {
  if (connection.counters != nullptr) --connection.counters->connections_active;
  countActive();
  if (limit_ != nullptr) limit_->remove();
  maybeDrained();
}

}  // namespace fulcrum::app
