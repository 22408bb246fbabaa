#include "l4/tcp_session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "core/local_errors.h"
#include "core/log.h"
#include "core/rate_limited_log.h"
#include "core/time_text.h"
#include "upstream/hash_key.h"

namespace fulcrum::l4 {

TcpSession::TcpSession(TcpSessionParams params, int client_fd, SocketAddress client,
                       DoneCallback on_done)
    : params_(std::move(params)),
      client_fd_(client_fd),
      client_(client),
      on_done_(std::move(on_done)),
      connector_(*params_.loop),
      started_(std::chrono::steady_clock::now()),
      slots_(params_.picker->upstream().breaker.get()) {}

TcpSession::~TcpSession() {
  if (counted_) params_.picker->load().finished(server_->index);
  if (client_fd_ >= 0) ::close(client_fd_);
}

void TcpSession::start() {
  if (!slots_.acquire(upstream::BreakerResource::Connections)) {
    const upstream::Upstream& upstream = params_.picker->upstream();
    std::string why =
        "circuit breaker: max_connections (" +
        std::to_string(upstream.breaker->limit(upstream::BreakerResource::Connections)) +
        ") reached for upstream " + upstream.name;
    log::debug("listener %s: closing connection from %s: %s", params_.listener_name->c_str(),
               client_.toString().c_str(), why.c_str());
    end("circuit_breaker", why);
    return;
  }
  connectNext();
}

void TcpSession::report(health::AttemptOutcome outcome) {
  if (params_.reporter != nullptr)
    params_.reporter->report(server_->index, health::Attempt{outcome, 0});
}

void TcpSession::abandon() {
  if (params_.access_log != nullptr) writeAccessLog("shutdown", "");
}

void TcpSession::connectNext() {
  std::optional<uint64_t> hash;
  if (params_.picker->usesHash()) hash = upstream::hashSourceIp(client_);
  server_ = params_.picker->pick(tried_, hash);
  if (server_ == nullptr) {
    const std::string& upstream = params_.picker->upstream().name;
    static log::Limited limited;
    limited.warn(
        "listener %s: closing connection from %s: no server of upstream %s could be reached (%s)",
        params_.listener_name->c_str(), client_.toString().c_str(), upstream.c_str(),
        attempt_errors_.empty() ? "no usable server" : attempt_errors_.c_str());
    end("no_server", attempt_errors_);
    return;
  }
  tried_.add(server_->index);
  connect_started_ = std::chrono::steady_clock::now();
  connector_.connect(server_->address, params_.picker->upstream().connect_timeout,
                     [this](const net::ConnectResult& result) { onConnect(result); });
}

void TcpSession::onConnect(const net::ConnectResult& result) {
  if (!result.ok() && result.local()) {
    // Our own limit (descriptors, ports, memory), not the server's: nothing
    // counts against it, and another server would meet the same limit.
    countLocalError(LocalSite::Connect, result.error_number);
    static log::Limited limited;
    limited.warn("listener %s: closing connection from %s: cannot connect to %s: %s (local)",
                 params_.listener_name->c_str(), client_.toString().c_str(), server_->label.c_str(),
                 result.error.c_str());
    end("local_error", "local: " + result.error);
    return;
  }
  if (!result.ok()) {
    report(health::AttemptOutcome::ConnectFailure);
    if (params_.metrics != nullptr) ++params_.metrics->servers[server_->index].connect_failures;
    log::debug("listener %s: connect to %s failed: %s", params_.listener_name->c_str(),
               server_->label.c_str(), result.error.c_str());
    if (!attempt_errors_.empty()) attempt_errors_ += "; ";
    attempt_errors_ += server_->label + ": " + result.error;
    connectNext();
    return;
  }
  report(health::AttemptOutcome::Connected);
  // least_conn counts connections; least_time learns from connect times.
  auto now = std::chrono::steady_clock::now();
  upstream::LoadTable& load = params_.picker->load();
  load.started(server_->index);
  counted_ = true;
  load.observeLatency(server_->index,
                      std::chrono::duration_cast<std::chrono::microseconds>(now - connect_started_),
                      now);
  auto client = std::make_unique<net::Stream>(*params_.loop, client_fd_);
  client_fd_ = -1;
  auto server = std::make_unique<net::Stream>(*params_.loop, result.fd);
  pump_ = std::make_unique<net::BytePump>(
      *params_.loop, std::move(client), std::move(server), kMaxBufferedPerDirection,
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
  auto duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_);
  char now[32];
  formatUtcNow(now, sizeof(now));
  std::string line = "{\"time\":\"";
  line += now;
  line += "\",\"type\":\"tcp\",\"listener\":";
  appendJsonString(line, *params_.listener_name);
  line += ",\"client\":";
  appendJsonString(line, client_.toString());
  line += ",\"upstream\":";
  appendJsonString(line, params_.picker->upstream().name);
  line += ",\"server\":";
  if (pump_)
    appendJsonString(line, server_->label);
  else
    line += "null";
  line += ",\"attempts\":" + std::to_string(tried_.size());
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
