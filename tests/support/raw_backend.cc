#include "support/raw_backend.h"

#include <strings.h>

#include "support/http.h"

namespace fulcrum::test {
namespace {

bool startsWithField(const std::string& message, size_t at, const char* name) {
  const size_t length = std::char_traits<char>::length(name);
  return message.size() > at + length && strncasecmp(message.c_str() + at, name, length) == 0 &&
         message[at + length] == ':';
}

}  // namespace

std::optional<std::string> rawField(const std::string& message, const std::string& name) {
  const size_t end = message.find("\r\n\r\n");
  for (size_t at = message.find("\r\n") + 2; at < end; at = message.find("\r\n", at) + 2) {
    if (!startsWithField(message, at, name.c_str())) continue;
    size_t value = message.find_first_not_of(" \t", at + name.size() + 1);
    return message.substr(value, message.find("\r\n", at) - value);
  }
  return std::nullopt;
}

std::string withoutForwardingFields(const std::string& message) {
  static const char* const kAdded[] = {"X-Forwarded-For",
                                       "X-Forwarded-Proto",
                                       "X-Forwarded-Host",
                                       "X-Forwarded-Port",
                                       "Forwarded",
                                       "X-Real-IP",
                                       "Via",
                                       "X-Request-Id",
                                       "X-Fulcrum-Attempts"};
  const size_t end = message.find("\r\n\r\n");
  if (end == std::string::npos) return message;
  std::string out = message.substr(0, message.find("\r\n") + 2);
  for (size_t at = out.size(); at < end + 2;) {
    const size_t next = message.find("\r\n", at) + 2;
    bool added = false;
    for (const char* name : kAdded) added = added || startsWithField(message, at, name);
    if (!added) out += message.substr(at, next - at);
    at = next;
  }
  return out + message.substr(end + 2);
}

int rawStatus(const std::optional<std::string>& response) {
  return response && response->size() >= 12 ? std::atoi(response->c_str() + 9) : 0;
}

std::optional<std::string> rawExchange(uint16_t port, const std::string& bytes, bool head) {
  Fd client = connectLoopback(port);
  if (!client || !writeAll(client.get(), bytes)) return std::nullopt;
  HttpReader reader(client.get());
  return reader.raw(true, head);
}

RawBackend::RawBackend(Answer answer)
    : answer_(std::move(answer)), server_([this](int fd) { serve(fd); }) {}

RawBackend::RawBackend(RawAnswer answer)
    : RawBackend([answer](size_t, const std::string&) { return answer; }) {}

std::vector<std::string> RawBackend::requests() {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

void RawBackend::serve(int fd) {
  HttpReader reader(fd);
  for (;;) {
    auto request = reader.raw(false);
    if (!request) return;
    size_t index;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      index = requests_.size();
      requests_.push_back(*request);
    }
    const RawAnswer answer = answer_(index, *request);
    if (!answer.bytes.empty() && !writeAll(fd, answer.bytes)) return;
    if (answer.close_after) return;
  }
}

}  // namespace fulcrum::test
