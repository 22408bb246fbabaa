// What an exchange lets another part of the proxy decide or watch, the seam
// the idempotency ledger plugs into: a step before anything is forwarded
// that may finish later (a lookup), an answer made by the proxy itself (a
// repeated payment gets the first answer), and the final response as it
// streams to the client (to keep that answer).
//
// Hooks belong to the listener's generation and outlive every exchange
// that uses them; all calls come on the exchange's loop thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/codec/parser.h"

namespace fulcrum::http {

class Exchange;
struct RequestInfo;

// A response the proxy makes itself. The exchange adds Content-Length and
// what the client connection needs (Connection); `headers` must not carry
// those, nor Transfer-Encoding.
struct LocalAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string reason;  // empty: the standard phrase for `status`
};

// How the step before forwarding ends: exactly one of proceed() and
// answer(), now or later, on the loop thread. Calls after the exchange
// ended (the client went away, a timeout) or after the first one do
// nothing, so a lookup that finishes late is harmless.
class ForwardDecision {
 public:
  explicit ForwardDecision(std::weak_ptr<Exchange*> exchange) : exchange_(std::move(exchange)) {}

  void proceed() const;
  void answer(LocalAnswer answer) const;

 private:
  std::weak_ptr<Exchange*> exchange_;
};

class ExchangeHooks {
 public:
  // Asked once, at the start: how many request body bytes the hooks must
  // see before they decide (a fingerprint covers the body). With more than
  // 0, the exchange reads the whole body before beforeForwarding() (it is
  // held for the server), passing it to requestBody(); a body longer than
  // that gets 413. 0: the decision comes on the head alone.
  virtual uint64_t bodyBeforeDecision(const RequestInfo& request) {
    (void)request;
    return 0;
  }
  // The request body as the server gets it (re-chunked by fulcrum when it
  // is chunked: codec/framing.h), in order, before beforeForwarding().
  virtual void requestBody(std::string_view bytes) { (void)bytes; }
  // Once the request head is in and the body bytes that came with it (or
  // all of it, see above) are checked, before the circuit breaker and
  // before any server is picked.
  virtual void beforeForwarding(const RequestInfo& request, ForwardDecision decision) = 0;
  // The final response from a server (not a 1xx, not a retried 5xx), just
  // before its head goes to the client.
  virtual void responseHead(const ResponseHead& head) { (void)head; }
  // Body bytes as they go to the client, in the framing fulcrum sends
  // (codec/framing.h).
  virtual void responseBody(std::string_view bytes) { (void)bytes; }
  // The response ended: `complete` when the client got all of it.
  virtual void responseEnded(bool complete) { (void)complete; }

 protected:
  ~ExchangeHooks() = default;
};

}  // namespace fulcrum::http
