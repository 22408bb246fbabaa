// A backend for tests of what crosses the proxy byte for byte: it records
// each request exactly as it arrived (HttpReader::raw: nothing decoded,
// nothing normalised) and answers with bytes the test chooses, broken ones
// included. Loopback only; every read has a deadline.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "support/net.h"

namespace fulcrum::test {

// The value of field `name` in a raw head (the first one, case-insensitive).
std::optional<std::string> rawField(const std::string& message, const std::string& name);
// `message` without the lines of the fields fulcrum adds for forwarding
// (X-Forwarded-*, Forwarded, X-Real-IP, Via, X-Request-Id, and
// X-Fulcrum-Attempts on responses): what is left came from the peer
// through fulcrum's framing and hop-by-hop rules, and is compared byte for
// byte; the forwarding fields have tests of their own.
std::string withoutForwardingFields(const std::string& message);

// Sends `bytes` on a new connection to the proxy's `port` and returns the
// raw response (`head` for a HEAD request).
std::optional<std::string> rawExchange(uint16_t port, const std::string& bytes, bool head = false);

// The status code of a raw response; 0 when there is none.
int rawStatus(const std::optional<std::string>& response);

// What a RawBackend sends back for one request.
struct RawAnswer {
  std::string bytes;         // sent as they are; empty sends nothing
  bool close_after = false;  // then the connection is closed
};

// Reads the whole request, then closes without a word: the request may
// have been processed, and no response byte comes.
inline RawAnswer closeWithoutAnswer() {
  return RawAnswer{"", true};
}

class RawBackend {
 public:
  // `answer` gets the request's index (0 = the first over all connections)
  // and its raw bytes; it runs on the connection's thread, after the request
  // is recorded.
  using Answer = std::function<RawAnswer(size_t index, const std::string& request)>;

  explicit RawBackend(Answer answer);
  // The same answer to every request.
  explicit RawBackend(RawAnswer answer);

  uint16_t port() const { return server_.port(); }
  int connections() const { return server_.accepted(); }
  // Every request read to its end, in the order read.
  std::vector<std::string> requests();

 private:
  void serve(int fd);

  Answer answer_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
  TcpBackend server_;  // last: its threads use the members above
};

}  // namespace fulcrum::test
