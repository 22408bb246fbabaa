// Session ticket keys: the newest seals until it is a rotation old, retired
// keys still open for two rotations (and the client gets a new ticket),
// then they are forgotten; keys shared by two contexts resume each other's
// sessions, as a reload's new generation does the old one's.
#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <memory>

#include "support/tls_server.h"  // installSelfSigned
#include "tls/ticket_keys.h"

using fulcrum::tls::TicketKeys;
using std::chrono::seconds;
using std::chrono::steady_clock;

namespace {

struct FakeClock {
  steady_clock::time_point now = steady_clock::time_point() + std::chrono::hours(24);
  TicketKeys::Clock get() {
    return [this] { return now; };
  }
};

// One TLS 1.2 handshake between memory BIOs; resumes `session` if given.
// Returns the client's session (the caller frees it) and whether it resumed.
SSL_SESSION* handshake(SSL_CTX* server_ctx, SSL_SESSION* session, bool& resumed) {
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(client_ctx, TLS1_2_VERSION);
  SSL* client = SSL_new(client_ctx);
  SSL* server = SSL_new(server_ctx);
  BIO *client_bio = nullptr, *server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  if (session != nullptr) SSL_set_session(client, session);
  bool client_done = false, server_done = false;
  for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
    if (!client_done) client_done = SSL_do_handshake(client) == 1;
    if (!server_done) server_done = SSL_do_handshake(server) == 1;
  }
  REQUIRE(client_done);
  REQUIRE(server_done);
  resumed = SSL_session_reused(client) == 1;
  SSL_SESSION* made = SSL_get1_session(client);
  // Freed without a shutdown, OpenSSL would mark the session not resumable.
  SSL_set_shutdown(client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_set_shutdown(server, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(client);
  SSL_free(server);
  SSL_CTX_free(client_ctx);
  return made;
}

SSL_CTX* serverContext(const std::shared_ptr<TicketKeys>& keys) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  fulcrum::test::installSelfSigned(ctx);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // tickets only
  TicketKeys::install(ctx, keys);
  return ctx;
}

}  // namespace

TEST_CASE("ticket keys: the newest seals for one rotation, retired keys open for two more") {
  FakeClock clock;
  TicketKeys keys(seconds(60), clock.get());
  const TicketKeys::Key first = keys.sealingKey();
  clock.now += seconds(59);
  CHECK(keys.sealingKey().name == first.name);
  TicketKeys::Key found;
  CHECK(keys.find(first.name.data(), found) == TicketKeys::Opened::Current);
  CHECK(found.cipher_key == first.cipher_key);

  clock.now += seconds(1);  // due: still opens, as a retired key
  CHECK(keys.find(first.name.data(), found) == TicketKeys::Opened::Retired);
  const TicketKeys::Key second = keys.sealingKey();
  CHECK(second.name != first.name);
  CHECK(second.cipher_key != first.cipher_key);
  CHECK(keys.find(second.name.data(), found) == TicketKeys::Opened::Current);
  CHECK(keys.find(first.name.data(), found) == TicketKeys::Opened::Retired);

  clock.now += seconds(119);  // the first key is 179 s old: still opens
  CHECK(keys.find(first.name.data(), found) == TicketKeys::Opened::Retired);
  clock.now += seconds(1);  // 3 rotations: forgotten
  CHECK(keys.find(first.name.data(), found) == TicketKeys::Opened::Unknown);
  CHECK(keys.find(second.name.data(), found) == TicketKeys::Opened::Retired);
  CHECK(keys.keysHeld() == 1);

  const unsigned char stranger[16] = {1, 2, 3};
  CHECK(keys.find(stranger, found) == TicketKeys::Opened::Unknown);
}

TEST_CASE("ticket keys: a session resumes on another context with the same keys only") {
  FakeClock clock;
  auto keys = std::make_shared<TicketKeys>(seconds(60), clock.get());
  SSL_CTX* old_generation = serverContext(keys);
  SSL_CTX* new_generation = serverContext(keys);
  SSL_CTX* stranger = serverContext(std::make_shared<TicketKeys>(seconds(60), clock.get()));

  bool resumed = true;
  SSL_SESSION* session = handshake(old_generation, nullptr, resumed);
  CHECK_FALSE(resumed);

  SSL_SESSION* again = handshake(new_generation, session, resumed);
  CHECK(resumed);
  SSL_SESSION_free(again);
  again = handshake(stranger, session, resumed);
  CHECK_FALSE(resumed);  // a full handshake, not a failed one
  SSL_SESSION_free(again);
  // The lifetime told to clients covers the two rotations a key still opens.
  CHECK(SSL_CTX_get_timeout(new_generation) == 120);

  clock.now += seconds(90);  // the sealing key retired: resumed, and a new ticket under the next
  SSL_SESSION* renewed = handshake(new_generation, session, resumed);
  CHECK(resumed);
  size_t old_length = 0, new_length = 0;
  const unsigned char* old_ticket = nullptr;
  const unsigned char* new_ticket = nullptr;
  SSL_SESSION_get0_ticket(session, &old_ticket, &old_length);
  SSL_SESSION_get0_ticket(renewed, &new_ticket, &new_length);
  REQUIRE(old_length >= 16);
  REQUIRE(new_length >= 16);
  CHECK(std::string(reinterpret_cast<const char*>(old_ticket), 16) !=
        std::string(reinterpret_cast<const char*>(new_ticket), 16));  // the key name leads

  clock.now += seconds(90);  // the first key is 180 s old: forgotten
  again = handshake(new_generation, session, resumed);
  CHECK_FALSE(resumed);
  SSL_SESSION_free(again);
  again = handshake(new_generation, renewed, resumed);
  CHECK(resumed);
  SSL_SESSION_free(again);

  SSL_SESSION_free(renewed);
  SSL_SESSION_free(session);
  SSL_CTX_free(stranger);
  SSL_CTX_free(new_generation);
  SSL_CTX_free(old_generation);
}
