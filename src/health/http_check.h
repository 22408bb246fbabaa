// The http check: connect (tcp_check.h), send one HTTP/1.1 request, judge
// the response.
//
// The request: "METHOD PATH HTTP/1.1", then Host (spec.host, or the probed
// address as "10.0.0.1:8080"), "User-Agent: fulcrum-health-check",
// "Connection: close", then spec.headers in order. An extra "Host" or
// "User-Agent" header replaces the default one; "Connection",
// "Content-Length" and "Transfer-Encoding" belong to the checker and make the
// spec invalid, as do CR, LF or NUL anywhere, a method other than GET/HEAD
// or a path not starting with '/' (every probe then fails saying why).
//
// Pass: the final status (1xx interim responses are skipped) is in one of
// spec.expect_status and, when spec.expect_body is set, the decoded body
// (Content-Length, chunked or until close) contains it within its first
// 64 KiB. The verdict is given as soon as it is known, and the connection
// is closed then. A HEAD request has no body, so expect_body is not checked
// for HEAD (the config should not allow both).
// Failures: "status 500 not expected (200-399)", "body lacks \"ok\"",
// "body lacks \"ok\" in its first 64 KiB", "malformed response: <reason>",
// "malformed chunked body: <reason>", "connection closed before a
// response", "connection closed before the body ended", "connection error:
// <errno text>", "timed out after 1s while waiting for the response", and
// the connect failures of tcp_check.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/socket_address.h"
#include "health/checker.h"
#include "http/codec/chunked.h"
#include "http/codec/head_scanner.h"
#include "http/codec/parser.h"
#include "net/event_loop.h"

namespace fulcrum::health {

std::unique_ptr<Checker> makeHttpChecker(net::EventLoop& loop, const CheckSpec& spec);

// At most this much of the decoded body is searched for expect_body.
constexpr size_t kMaxBodySearch = size_t{64} * 1024;

// The request bytes for probing `address` (port override already applied).
// Returns false with `why` when the spec cannot make a valid request.
bool buildHttpRequest(const CheckSpec& spec, const SocketAddress& address, std::string& out,
                      std::string& why);

// Judges one response as its bytes arrive. Pure: no I/O, no clock.
class HttpResponseJudge {
 public:
  explicit HttpResponseJudge(const CheckSpec& spec);

  // The next bytes from the server; returns the verdict once it is known
  // (later calls return nullopt and look at nothing).
  std::optional<ProbeResult> feed(std::string_view bytes);
  // The server closed the connection; returns the final verdict.
  ProbeResult end();

 private:
  enum class State { Head, Body, Done };

  std::optional<ProbeResult> feedHead(std::string_view bytes);
  std::optional<ProbeResult> feedBody(std::string_view bytes);
  std::optional<ProbeResult> search(std::string_view decoded);
  std::optional<ProbeResult> verdict(bool passed, std::string why);
  bool statusExpected(int status) const;
  std::string lacks() const;

  bool head_request_;
  std::vector<StatusRange> expect_status_;
  std::string expect_body_;
  http::Limits limits_;
  State state_ = State::Head;
  std::string head_;           // bytes of the head so far (and what followed it)
  http::HeadScanner scanner_;  // reads head_; starts over by itself after each head (1xx)
  http::Framing framing_ = http::Framing::None;
  uint64_t body_left_ = 0;  // Content-Length bytes still to come
  std::optional<http::ChunkedScanner> chunked_;
  std::string body_;  // decoded body searched so far, at most kMaxBodySearch
};

}  // namespace fulcrum::health
