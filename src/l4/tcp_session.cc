#include "l4/tcp_session.h"

#include "core/local_errors.h"
#include "core/log.h"
#include "core/rate_limited_log.h"
#include "core/time_text.h"
#include "net/proxy_protocol.h"
#include "net/turn_clock.h"
#include "upstream/hash_key.h"

namespace fulcrum::l4 {

TcpSession::TcpSession(TcpSessionParams params, std::unique_ptr<net::Stream> client,
                       const net::ClientAddresses& addresses, DoneCallback on_done)
    : params_(std::move(params)),
      client_(std::move(client)),
      client_address_(addresses.client),
      on_done_(std::move(on_done)),
      connector_(*params_.loop, *params_.picker),
      started_(net::TurnClock::now()),
      slots_(params_.picker->upstream().breaker.get()) {
  if (const auto& version = params_.picker->upstream().proxy_protocol) {
    proxy_header_ = net::encodeProxyHeader(*version, addresses.client, addresses.local);
    connector_.setPreamble(proxy_header_);
  }
}

TcpSession::~TcpSession() {
  if (counted_) params_.picker->load().finished(server_->index);
}

void TcpSession::start() {
  if (!slots_.acquire(upstream::BreakerResource::Connections)) {
    const upstream::Upstream& upstream = params_.picker->upstream();
    std::string why =
        "circuit breaker: max_connections (" +
        std::to_string(upstream.breaker->limit(upstream::BreakerResource::Connections)) +
        ") reached for upstream " + upstream.name;
    log::debug("listener %s: closing connection from %s: %s", params_.listener_name->c_str(),
               client_address_.toString().c_str(), why.c_str());
    end("circuit_breaker", why);
    return;
  }
  connectNext();
}

void TcpSession::report(upstream::AttemptOutcome outcome) {
  if (params_.reporter != nullptr)
    params_.reporter->report(server_->index, upstream::Attempt{outcome, 0});
}

void TcpSession::abandon() {
  if (params_.access_log != nullptr) writeAccessLog("shutdown", "");
}

void TcpSession::connectNext() {
  std::optional<uint64_t> hash;
  if (params_.picker->usesHash()) hash = upstream::hashSourceIp(client_address_);
  server_ = connector_.next(hash);
  if (server_ == nullptr) {
    const std::string& upstream = params_.picker->upstream().name;
    static log::Limited limited;
    limited.warn(
        "listener %s: closing connection from %s: no server of upstream %s could be reached (%s)",
        params_.listener_name->c_str(), client_address_.toString().c_str(), upstream.c_str(),
        connector_.failures().empty() ? "no usable server" : connector_.failures().c_str());
    end("no_server", connector_.failures());
    return;
  }
  connector_.connect(
      *server_, [this](upstream::UpstreamConnectResult result) { onConnect(std::move(result)); });
}

void TcpSession::onConnect(upstream::UpstreamConnectResult result) {
  if (!result.ok() && result.local()) {
    // Our own limit (descriptors, ports, memory), not the server's: nothing
    // counts against it, and another server would meet the same limit.
    countLocalError(LocalSite::Connect, result.error_number);
    static log::Limited limited;
    limited.warn("listener %s: closing connection from %s: cannot connect to %s: %s (local)",
                 params_.listener_name->c_str(), client_address_.toString().c_str(),
                 server_->label.c_str(), result.detail.c_str());
    end("local_error", "local: " + result.detail);
    return;
  }
  if (!result.ok()) {
    report(upstream::AttemptOutcome::ConnectFailure);
    if (params_.metrics != nullptr) ++params_.metrics->servers[server_->index].connect_failures;
    log::debug("listener %s: connect to %s failed (%s): %s", params_.listener_name->c_str(),
               server_->label.c_str(), net::connectFailureName(result.failure),
               result.detail.c_str());
    connectNext();
    return;
  }
  report(upstream::AttemptOutcome::Connected);
  if (params_.metrics != nullptr) ++params_.metrics->servers[server_->index].connections_opened;
  // least_conn counts connections; least_time learns from connect times.
  auto now = net::TurnClock::now();
  upstream::LoadTable& load = params_.picker->load();
  load.started(server_->index);
  counted_ = true;
  load.observeLatency(server_->index, result.took, now);
  // The PROXY header goes now, even to a server that speaks first.
  result.stream->flush();
  pump_ = std::make_unique<net::BytePump>(
      *params_.loop, std::move(client_), std::move(result.stream), kMaxBufferedPerDirection,
      params_.idle_timeout, [this](const net::BytePump::Result& r) { onPumpDone(r); });
  pump_->start();
}

void TcpSession::onPumpDone(const net::BytePump::Result& result) {
  switch (result.end) {
    case net::BytePump::End::Completed:
      end("closed", "");
      break;
    case net::BytePump::End::IdleTimeout:
      end("idle_timeout", "");
      break;
    case net::BytePump::End::Error:
      end(result.side == 0 ? "client_error" : "server_error", result.detail);
      break;
  }
}

void TcpSession::end(const char* outcome, const std::string& detail) {
  if (params_.metrics != nullptr && pump_) {
    params_.metrics->bytes_sent += pump_->bytesFrom(0);
    params_.metrics->bytes_received += pump_->bytesFrom(1);
  }
  if (params_.access_log != nullptr) writeAccessLog(outcome, detail);
  on_done_(*this);
}

void TcpSession::writeAccessLog(const char* outcome, const std::string& detail) {
  auto duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(net::TurnClock::now() - started_);
  char now[32];
  formatUtcNow(now, sizeof(now));
  std::string line = "{\"time\":\"";
  line += now;
  line += "\",\"type\":\"tcp\",\"listener\":";
  appendJsonString(line, *params_.listener_name);
  line += ",\"client\":";
  appendJsonString(line, client_address_.toString());
  line += ",\"upstream\":";
  appendJsonString(line, params_.picker->upstream().name);
  line += ",\"server\":";
  if (pump_)
    appendJsonString(line, server_->label);
  else
    line += "null";
  line += ",\"attempts\":" + std::to_string(connector_.triedCount());
  line += ",\"bytes_in\":" + std::to_string(pump_ ? pump_->bytesFrom(0) : 0);
  line += ",\"bytes_out\":" + std::to_string(pump_ ? pump_->bytesFrom(1) : 0);
  line += ",\"duration_ms\":" + std::to_string(duration.count());
  line += ",\"outcome\":";
  appendJsonString(line, outcome);
  if (!detail.empty()) {
    line += ",\"detail\":";
    appendJsonString(line, detail);
  }
  line += "}";
  params_.access_log->write(std::move(line));
}

}  // namespace fulcrum::l4
