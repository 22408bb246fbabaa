// One try of a request at one server: the connection it uses (new, or
// taken from the pool), the server's load count while it holds one, the
// per-try response timer, what it read of the response, and its report to
// outlier detection. A retry replaces the attempt (Exchange::endAttempt)
// instead of resetting these fields by hand.
//
// Owned by its Exchange, on the worker's loop. The Exchange handles the
// stream's events. retire() detaches everything at once (the stream stops
// reading and calls no handler, the timer stops, the load count is given
// back); the attempt itself then goes to deferDelete, because its timer or
// stream may be the callback on the stack.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/thread_cached.h"
#include "http/codec/body_forwarder.h"
#include "http/codec/head_scanner.h"
#include "http/codec/parser.h"
#include "net/event_loop.h"
#include "net/stream.h"
#include "net/timer.h"
#include "upstream/attempt_report.h"
#include "upstream/picker.h"
#include "upstream/server.h"

namespace fulcrum::http {

class UpstreamAttempt final : public net::DeferredDeletable,
                              public core::ThreadCached<UpstreamAttempt> {
 public:
  // `reporter` may be null. `on_timeout` runs when the response timer fires.
  UpstreamAttempt(net::EventLoop& loop, upstream::UpstreamPicker& picker,
                  upstream::AttemptSink* reporter, const upstream::Server& server, bool reused,
                  std::function<void()> on_timeout);
  ~UpstreamAttempt() override;
  UpstreamAttempt(const UpstreamAttempt&) = delete;
  UpstreamAttempt& operator=(const UpstreamAttempt&) = delete;

  const upstream::Server& server() const { return server_; }
  // The connection came from the pool: its close before a response is the
  // keep-alive race, not the server failing.
  bool reused() const { return reused_; }

  // Takes the connection (connected or pooled), handled by `handler`; the
  // server's load count starts now.
  void attach(std::unique_ptr<net::Stream> connection, net::StreamHandler& handler);
  net::Stream* stream() const { return stream_.get(); }
  std::chrono::steady_clock::time_point connected() const { return connected_; }
  // Gives the connection away (to the pool, or to the tunnel after a 101)
  // and the load count back.
  std::unique_ptr<net::Stream> release();
  // Stops everything at once; see the header comment. Idempotent.
  void retire();

  // Outlier detection hears how this try went.
  void report(upstream::AttemptOutcome outcome, uint16_t status = 0);

  net::Timer& responseTimer() { return response_timer_; }
  // The response: its head as scanned so far, then its body once the final
  // head is in. `paused`: the server is not read while the client is slow.
  ResponseHead head;
  HeadScanner scanner;
  std::unique_ptr<BodyForwarder> body;
  bool paused = false;

 private:
  void endLoad();

  net::EventLoop& loop_;
  upstream::UpstreamPicker& picker_;
  upstream::AttemptSink* reporter_;
  const upstream::Server& server_;
  bool reused_;
  std::unique_ptr<net::Stream> stream_;
  bool counted_ = false;  // in the server's active load count
  std::chrono::steady_clock::time_point connected_{};
  net::Timer response_timer_;
};

}  // namespace fulcrum::http
