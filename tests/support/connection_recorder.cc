#include "support/connection_recorder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "support/http.h"
#include "support/raw_backend.h"
#include "support/wait.h"

namespace fulcrum::test {
namespace {

const std::string kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);

// How many bytes of `bytes` a PROXY header takes at its start: 0 when it
// does not open with one, nullopt while more bytes are needed to know.
std::optional<size_t> proxyHeaderLength(const std::string& bytes) {
  const size_t v2 = std::min(bytes.size(), kV2Signature.size());
  if (bytes.compare(0, v2, kV2Signature, 0, v2) == 0) {
    if (bytes.size() < 16) return std::nullopt;
    return 16 + (static_cast<uint8_t>(bytes[14]) << 8 | static_cast<uint8_t>(bytes[15]));
  }
  const std::string v1 = "PROXY ";
  const size_t prefix = std::min(bytes.size(), v1.size());
  if (bytes.compare(0, prefix, v1, 0, prefix) != 0) return 0;
  const size_t end = bytes.find("\r\n");
  if (end == std::string::npos) return std::nullopt;
  return end + 2;
}

// The Content-Length of a request head (0 when absent).
size_t contentLength(const std::string& head) {
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const size_t at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return std::stoul(head.substr(at + 17));
}

// One read of what is there (bounded); false at EOF, error or deadline.
bool readSome(int fd, std::string& into) {
  pollfd entry{fd, POLLIN, 0};
  if (poll(&entry, 1, static_cast<int>(std::chrono::milliseconds(kDeadline).count())) <= 0)
    return false;
  char buffer[16384];
  ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
  if (n <= 0) return false;
  into.append(buffer, static_cast<size_t>(n));
  return true;
}

}  // namespace

std::string recorderAnswer(const std::string& name) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(name.size() + 1) +
         "\r\nX-Backend: " + name + "\r\n\r\n" + name + "\n";
}

std::string proxiedAnswer(const std::string& name, bool close) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(name.size() + 1) +
         "\r\nX-Backend: " + name + "\r\nX-Fulcrum-Attempts: 1\r\n" +
         (close ? "Connection: close\r\n" : "") + "\r\n" + name + "\n";
}

ConnectionRecorder::ConnectionRecorder(std::string name, Kind kind)
    : name_(std::move(name)), kind_(kind), server_([this](int fd) {
        const size_t n = open();
        if (kind_ == Kind::Http)
          serveHttp(fd, n);
        else
          serveTcp(fd, n);
        std::lock_guard<std::mutex> lock(mutex_);
        records_[n].closed = true;
      }) {}

size_t ConnectionRecorder::open() {
  std::lock_guard<std::mutex> lock(mutex_);
  records_.emplace_back();
  return records_.size() - 1;
}

void ConnectionRecorder::append(size_t n, const char* data, size_t length) {
  std::lock_guard<std::mutex> lock(mutex_);
  records_[n].bytes.append(data, length);
}

std::string ConnectionRecorder::received(size_t n) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return n < records_.size() ? records_[n].bytes : std::string();
}

std::string ConnectionRecorder::receivedAll() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string all;
  for (const Record& record : records_) all += record.bytes;
  return all;
}

int ConnectionRecorder::answered() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return answered_;
}

bool ConnectionRecorder::waitClosed(size_t n) const {
  return waitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mutex_);
        return n < records_.size() && records_[n].closed;
      },
      kDeadline);
}

bool ConnectionRecorder::waitAnswered(int count) const {
  return waitUntil([&] { return answered() >= count; }, kDeadline);
}

void ConnectionRecorder::serveHttp(int fd, size_t n) {
  std::string pending;
  // The PROXY header first, if the connection opens with one.
  std::optional<size_t> header;
  while (!(header = proxyHeaderLength(pending)) || pending.size() < *header)
    if (!readSome(fd, pending)) return append(n, pending.data(), pending.size());
  append(n, pending.data(), *header);
  pending.erase(0, *header);
  for (;;) {
    size_t end;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos)
      if (!readSome(fd, pending)) return append(n, pending.data(), pending.size());
    const size_t whole = end + 4 + contentLength(pending.substr(0, end + 2));
    while (pending.size() < whole)
      if (!readSome(fd, pending)) return append(n, pending.data(), pending.size());
    append(n, pending.data(), whole);
    pending.erase(0, whole);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++answered_;
    }
    if (!writeAll(fd, recorderAnswer(name_))) return;
  }
}

void ConnectionRecorder::serveTcp(int fd, size_t n) {
  writeAll(fd, name_ + "\n");
  std::string bytes;
  while (readSome(fd, bytes)) {
    append(n, bytes.data(), bytes.size());
    bytes.clear();
  }
}

Fd connectFrom(const std::string& source, uint16_t port) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in from{};
  from.sin_family = AF_INET;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 ||
      bind(fd.get(), reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
      connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0)
    return Fd();
  return fd;
}

std::string readRawResponse(int fd) {
  HttpReader reader(fd);
  std::optional<std::string> response = reader.raw(true);
  REQUIRE(response);
  return *response;
}

std::string requestIdIn(const std::string& head) {
  return rawField(head, "X-Request-Id").value_or("");
}

}  // namespace fulcrum::test
