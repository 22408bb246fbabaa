#include "support/http.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace fulcrum::test {
namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

}  // namespace

std::optional<std::string> HttpMessage::field(const std::string& name) const {
  for (const auto& [key, value] : fields)
    if (lower(key) == lower(name)) return value;
  return std::nullopt;
}

int HttpMessage::count(const std::string& name) const {
  return static_cast<int>(std::count_if(
      fields.begin(), fields.end(), [&](const auto& f) { return lower(f.first) == lower(name); }));
}

bool HttpReader::fill(std::chrono::steady_clock::time_point until) {
  if (eof_) return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
  pollfd entry{fd_, POLLIN, 0};
  if (poll(&entry, 1, static_cast<int>(std::max<long>(0, left.count()))) <= 0) return false;
  char chunk[65536];
  ssize_t n = recv(fd_, chunk, sizeof(chunk), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::optional<std::string> HttpReader::take(size_t length,
                                            std::chrono::steady_clock::time_point until) {
  while (buffer_.size() < length)
    if (!fill(until)) return std::nullopt;
  std::string out = buffer_.substr(0, length);
  buffer_.erase(0, length);
  return out;
}

std::optional<std::string> HttpReader::line(std::chrono::steady_clock::time_point until) {
  size_t end;
  while ((end = buffer_.find("\r\n")) == std::string::npos)
    if (!fill(until)) return std::nullopt;
  std::string out = buffer_.substr(0, end);
  buffer_.erase(0, end + 2);
  return out;
}

bool HttpReader::readHead(HttpMessage& message, std::chrono::steady_clock::time_point until) {
  auto start = line(until);
  if (!start) return false;
  message.start_line = *start;
  for (;;) {
    auto field = line(until);
    if (!field) return false;
    if (field->empty()) break;
    size_t colon = field->find(':');
    std::string value = colon == std::string::npos ? "" : field->substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    message.fields.emplace_back(field->substr(0, colon), value);
  }
  return true;
}

bool HttpReader::readBody(HttpMessage& message, bool until_close_allowed,
                          std::chrono::steady_clock::time_point until) {
  auto te = message.field("Transfer-Encoding");
  if (te && contains(*te, "chunked")) {
    message.chunked = true;
    for (;;) {
      auto size_line = line(until);
      if (!size_line) return false;
      size_t size = std::stoul(size_line->substr(0, size_line->find(';')), nullptr, 16);
      if (size == 0) {
        for (;;) {  // trailers
          auto trailer = line(until);
          if (!trailer) return false;
          if (trailer->empty()) return true;
        }
      }
      auto data = take(size + 2, until);
      if (!data) return false;
      message.body += data->substr(0, size);
    }
  }
  if (auto length = message.field("Content-Length")) {
    auto data = take(std::stoull(*length), until);
    if (!data) return false;
    message.body = *data;
    return true;
  }
  if (!until_close_allowed) return true;  // a request without a body
  while (fill(until)) {
  }
  message.body = buffer_;
  buffer_.clear();
  return eof_;
}

std::optional<HttpMessage> HttpReader::response(bool no_body, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  HttpMessage message;
  if (!readHead(message, until)) return std::nullopt;
  if (message.start_line.size() >= 12) message.status = std::stoi(message.start_line.substr(9, 3));
  bool bodiless = no_body || message.status < 200 || message.status == 204 || message.status == 304;
  if (!bodiless && !readBody(message, true, until)) return std::nullopt;
  return message;
}

std::optional<HttpMessage> HttpReader::request(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  HttpMessage message;
  if (!readHead(message, until)) return std::nullopt;
  size_t first = message.start_line.find(' ');
  size_t second = message.start_line.find(' ', first + 1);
  message.method = message.start_line.substr(0, first);
  message.path = message.start_line.substr(first + 1, second - first - 1);
  if (!readBody(message, false, until)) return std::nullopt;
  return message;
}

bool HttpReader::atEof(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (buffer_.empty() && fill(until)) {
  }
  return buffer_.empty() && eof_;
}

std::optional<std::string> HttpReader::rawHead(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(until)) return std::nullopt;
  return take(end + 4, until);
}

std::optional<std::string> HttpReader::raw(bool response, bool no_body,
                                           std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  auto head = rawHead(deadline);
  if (!head) return std::nullopt;
  std::string out = *head;
  int status = response && head->size() >= 12 ? std::atoi(head->c_str() + 9) : 0;
  bool bodiless = no_body || (response && (status < 200 || status == 204 || status == 304));
  if (!bodiless && !rawBody(*head, response, out, until)) return std::nullopt;
  return out;
}

bool HttpReader::rawBody(const std::string& head, bool response, std::string& out,
                         std::chrono::steady_clock::time_point until) {
  HttpMessage fields;
  for (size_t at = head.find("\r\n") + 2; at + 2 < head.size();) {
    size_t end = head.find("\r\n", at);
    size_t colon = head.find(':', at);
    std::string value = head.substr(colon + 1, end - colon - 1);
    value.erase(0, value.find_first_not_of(" \t"));
    fields.fields.emplace_back(head.substr(at, colon - at), value);
    at = end + 2;
  }
  auto te = fields.field("Transfer-Encoding");
  if (te && lower(*te).size() >= 7 && lower(*te).rfind("chunked") == lower(*te).size() - 7) {
    for (;;) {
      auto size_line = line(until);
      if (!size_line) return false;
      out += *size_line + "\r\n";
      size_t size = std::stoul(size_line->substr(0, size_line->find(';')), nullptr, 16);
      if (size == 0) {
        for (;;) {  // trailers
          auto trailer = line(until);
          if (!trailer) return false;
          out += *trailer + "\r\n";
          if (trailer->empty()) return true;
        }
      }
      auto data = take(size + 2, until);
      if (!data) return false;
      out += *data;
    }
  }
  if (auto length = fields.field("Content-Length")) {
    auto data = take(std::stoull(*length), until);
    if (!data) return false;
    out += *data;
    return true;
  }
  if (!response) return true;
  auto rest_of = rest(std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now()));
  if (!rest_of) return false;
  out += *rest_of;
  return true;
}

std::optional<std::string> HttpReader::rest(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (fill(until)) {
  }
  if (!eof_) return std::nullopt;
  std::string out = std::move(buffer_);
  buffer_.clear();
  return out;
}

std::string httpResponse(int status, const std::string& body, const std::string& extra_fields) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_fields + "\r\n" +
         body;
}

HttpBackend::HttpBackend(std::string name, Handler handler)
    : name_(std::move(name)),
      handler_(std::move(handler)),
      server_([this](int fd) { serve(fd); }) {}

std::vector<HttpMessage> HttpBackend::requests() {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

void HttpBackend::serve(int fd) {
  HttpReader reader(fd);
  for (;;) {
    auto request = reader.request();
    if (!request) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(*request);
    }
    std::string answer = handler_ ? handler_(*request, fd)
                                  : httpResponse(200, name_ + " " + request->path + "\n",
                                                 "X-Backend: " + name_ + "\r\n");
    if (!answer.empty() && !writeAll(fd, answer)) return;
    auto connection = request->field("Connection");
    if ((connection && contains(*connection, "close")) ||
        contains(answer.substr(0, answer.find("\r\n\r\n")), "connection: close"))
      return;
  }
}

}  // namespace fulcrum::test
