// HTTP/1.1 on raw sockets for integration tests: a strict-enough reader of
// messages (Content-Length, chunked, until close), and a fake backend that
// serves keep-alive connections with a handler per request. Loopback only;
// every read is bounded by a deadline.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/net.h"

namespace fulcrum::test {

struct HttpMessage {
  std::string start_line;  // "GET / HTTP/1.1" or "HTTP/1.1 200 OK"
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;  // decoded when chunked
  bool chunked = false;
  int status = 0;            // responses
  std::string method, path;  // requests

  // The first field with this name (case-insensitive), or nullopt.
  std::optional<std::string> field(const std::string& name) const;
  int count(const std::string& name) const;
};

// Reads from one connection, keeping what it read past a message.
class HttpReader {
 public:
  explicit HttpReader(int fd) : fd_(fd) {}
  // The next response; `no_body` for answers to HEAD (and 1xx/204/304,
  // detected by itself).
  std::optional<HttpMessage> response(bool no_body = false,
                                      std::chrono::milliseconds deadline = kDeadline);
  std::optional<HttpMessage> request(std::chrono::milliseconds deadline = kDeadline);
  // True when the peer closed (nothing more to read).
  bool atEof(std::chrono::milliseconds deadline = kDeadline);

  // The next message as raw bytes, head and body exactly as framed
  // (nothing decoded): by a Transfer-Encoding ending in chunked, by
  // Content-Length, or, for a response, by the peer's close. `no_body` for
  // answers to HEAD.
  std::optional<std::string> raw(bool response, bool no_body = false,
                                 std::chrono::milliseconds deadline = kDeadline);
  // Only the raw head (through CRLF CRLF), leaving its body to be read.
  std::optional<std::string> rawHead(std::chrono::milliseconds deadline = kDeadline);
  // Whatever arrives until the peer closes; nullopt at the deadline.
  std::optional<std::string> rest(std::chrono::milliseconds deadline = kDeadline);

 private:
  bool rawBody(const std::string& head, bool response, std::string& out,
               std::chrono::steady_clock::time_point until);
  bool fill(std::chrono::steady_clock::time_point until);
  std::optional<std::string> take(size_t length, std::chrono::steady_clock::time_point until);
  std::optional<std::string> line(std::chrono::steady_clock::time_point until);
  bool readHead(HttpMessage& message, std::chrono::steady_clock::time_point until);
  bool readBody(HttpMessage& message, bool until_close_allowed,
                std::chrono::steady_clock::time_point until);

  int fd_;
  std::string buffer_;
  bool eof_ = false;
};

// "HTTP/1.1 200 OK" with Content-Length and the given extra fields.
std::string httpResponse(int status, const std::string& body, const std::string& extra_fields = "");

class HttpBackend {
 public:
  // Returns the raw bytes to answer with (head and body). The connection
  // closes after it when the request or the answer says "Connection: close".
  using Handler = std::function<std::string(const HttpMessage& request, int fd)>;

  explicit HttpBackend(std::string name, Handler handler = nullptr);
  uint16_t port() const { return server_.port(); }
  int connections() const { return server_.accepted(); }
  std::vector<HttpMessage> requests();

 private:
  void serve(int fd);

  std::string name_;
  Handler handler_;
  std::mutex mutex_;
  std::vector<HttpMessage> requests_;
  TcpBackend server_;
};

}  // namespace fulcrum::test
