#include "health/http_check.h"

#include <event2/buffer.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "core/errno_text.h"
#include "health/tcp_check.h"
#include "net/stream.h"

namespace fulcrum::health {
namespace {

bool isTokenChar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool isToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return isTokenChar(static_cast<unsigned char>(c));
  });
}

// A field value as RFC 9110 allows it: no control characters but HTAB.
bool isFieldValue(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7F;
  });
}

bool isOriginPath(std::string_view path) {
  return !path.empty() && path.front() == '/' && std::none_of(path.begin(), path.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7F;
  });
}

std::string rangesText(const std::vector<StatusRange>& ranges) {
  std::string text;
  for (const auto& range : ranges) {
    if (!text.empty()) text += ", ";
    text += std::to_string(range.low);
    if (range.high != range.low) text += "-" + std::to_string(range.high);
  }
  return text;
}

class HttpProbe final : public ConnectProbe, private net::StreamHandler {
 public:
  HttpProbe(net::EventLoop& loop, const CheckSpec& spec, std::string request, Checker::Done done)
      : ConnectProbe(loop, spec.timeout, std::move(done)),
        request_(std::move(request)),
        judge_(spec) {}

  ~HttpProbe() override = default;  // a stream still held is not in a callback here

 private:
  void onConnected(std::unique_ptr<net::Stream> connection) override {
    stream_ = std::move(connection);
    stream_->setHandler(this);
    evbuffer_add(stream_->output(), request_.data(), request_.size());
    request_.clear();
    stream_->flush();
    stream_->setReading(true);
    setPhase("while waiting for the response");
  }

  void onReadable(net::Stream& stream) override {
    evbuffer* input = stream.input();
    while (evbuffer_get_length(input) > 0) {
      evbuffer_iovec piece;
      if (evbuffer_peek(input, -1, nullptr, &piece, 1) < 1) break;
      std::optional<ProbeResult> result =
          judge_.feed(std::string_view(static_cast<const char*>(piece.iov_base), piece.iov_len));
      evbuffer_drain(input, piece.iov_len);
      if (result) {
        finish(result->passed, std::move(result->why));
        return;  // the probe may be gone
      }
    }
  }

  void onClosed(net::Stream&, bool error, int code) override {
    if (error) {
      finish(false, "connection error: " + errnoText(code));
      return;
    }
    ProbeResult result = judge_.end();
    finish(result.passed, std::move(result.why));
  }

  void releaseIo() override {
    if (!stream_) return;
    // We may be inside one of the stream's callbacks: detach, stop, defer.
    stream_->setHandler(nullptr);
    stream_->setReading(false);
    loop().deferDelete(std::move(stream_));
  }

  std::string request_;
  HttpResponseJudge judge_;
  std::unique_ptr<net::Stream> stream_;
};

class HttpChecker final : public Checker {
 public:
  HttpChecker(net::EventLoop& loop, const CheckSpec& spec) : loop_(loop), spec_(spec) {}

  std::unique_ptr<Probe> start(const SocketAddress& server, Done done) override {
    SocketAddress address = probedAddress(server, spec_);
    std::string request;
    std::string why;
    bool valid = buildHttpRequest(spec_, address, request, why);
    auto probe = std::make_unique<HttpProbe>(loop_, spec_, std::move(request), std::move(done));
    if (valid)
      probe->begin(address, spec_.proxy_header, upstreamTransport(spec_));
    else
      probe->beginFailed("invalid http check: " + why);
    return probe;
  }

 private:
  net::EventLoop& loop_;
  CheckSpec spec_;
};

}  // namespace

bool buildHttpRequest(const CheckSpec& spec, const SocketAddress& address, std::string& out,
                      std::string& why) {
  if (spec.method != "GET" && spec.method != "HEAD") {
    why = "method " + spec.method + " is not GET or HEAD";
    return false;
  }
  if (!isOriginPath(spec.path)) {
    why = "path must start with '/' and hold no spaces or control characters";
    return false;
  }
  std::string host = spec.host.empty() ? address.toString() : spec.host;
  std::string user_agent = "fulcrum-health-check";
  std::string extra;
  for (const auto& [name, value] : spec.headers) {
    if (!isToken(name)) {
      why = "header name \"" + name + "\" is not a token";
      return false;
    }
    if (!isFieldValue(value)) {
      why = "header " + name + " has control characters in its value";
      return false;
    }
    if (http::equalsIgnoreCase(name, "Connection") ||
        http::equalsIgnoreCase(name, "Content-Length") ||
        http::equalsIgnoreCase(name, "Transfer-Encoding")) {
      why = "header " + name + " is set by the checker";
      return false;
    }
    if (http::equalsIgnoreCase(name, "Host")) {
      host = value;
    } else if (http::equalsIgnoreCase(name, "User-Agent")) {
      user_agent = value;
    } else {
      extra += name + ": " + value + "\r\n";
    }
  }
  if (host.empty() || !isFieldValue(host)) {
    why = "Host is empty or has control characters";
    return false;
  }
  out = spec.method + " " + spec.path + " HTTP/1.1\r\nHost: " + host +
        "\r\nUser-Agent: " + user_agent + "\r\nConnection: close\r\n" + extra + "\r\n";
  return true;
}

HttpResponseJudge::HttpResponseJudge(const CheckSpec& spec)
    : head_request_(spec.method == "HEAD"),
      expect_status_(spec.expect_status),
      expect_body_(spec.expect_body) {}

std::optional<ProbeResult> HttpResponseJudge::feed(std::string_view bytes) {
  if (state_ == State::Done || bytes.empty()) return std::nullopt;
  return state_ == State::Head ? feedHead(bytes) : feedBody(bytes);
}

std::optional<ProbeResult> HttpResponseJudge::feedHead(std::string_view bytes) {
  head_.append(bytes);
  for (;;) {
    http::ResponseHead head;
    http::ParseError error;
    http::ParseResult parsed = scanner_.parseResponse(head_, limits_, head_request_, head, error);
    if (parsed == http::ParseResult::Incomplete) return std::nullopt;
    if (parsed == http::ParseResult::Error)
      return verdict(false, std::string("malformed response: ") + error.reason);
    // `head` points into head_: take what is needed before head_ changes.
    const int status = head.status;
    std::string rest = head_.substr(head.length);
    if (status < 200 && status != 101) {  // interim: the final response follows
      head_ = std::move(rest);
      if (head_.empty()) return std::nullopt;
      continue;
    }
    if (!statusExpected(status)) {
      return verdict(false, "status " + std::to_string(status) + " not expected (" +
                                rangesText(expect_status_) + ")");
    }
    if (expect_body_.empty() || head_request_) return verdict(true, "passed");
    head_.clear();
    framing_ = head.framing;
    body_left_ = head.content_length;
    state_ = State::Body;
    if (framing_ == http::Framing::None) return verdict(false, lacks());
    if (framing_ == http::Framing::ContentLength && body_left_ == 0) return verdict(false, lacks());
    if (framing_ == http::Framing::Chunked) chunked_.emplace(limits_);
    if (rest.empty()) return std::nullopt;
    return feedBody(rest);
  }
}

std::optional<ProbeResult> HttpResponseJudge::feedBody(std::string_view bytes) {
  switch (framing_) {
    case http::Framing::ContentLength: {
      size_t take = static_cast<size_t>(std::min<uint64_t>(body_left_, bytes.size()));
      body_left_ -= take;
      if (auto result = search(bytes.substr(0, take))) return result;
      if (body_left_ == 0) return verdict(false, lacks());
      return std::nullopt;
    }
    case http::Framing::UntilClose:
      return search(bytes);
    case http::Framing::Chunked: {
      // The scanner skips chunk data by length without reporting where it
      // is; scanning a byte at a time shows which bytes are data (the
      // payload count moves). Bounded: we stop at kMaxBodySearch.
      std::string decoded;
      for (size_t i = 0; i < bytes.size() && !chunked_->done(); ++i) {
        uint64_t before = chunked_->payloadBytes();
        chunked_->scan(bytes.substr(i, 1));
        if (chunked_->failed())
          return verdict(false, std::string("malformed chunked body: ") + chunked_->error());
        if (chunked_->payloadBytes() != before) decoded.push_back(bytes[i]);
      }
      if (auto result = search(decoded)) return result;
      if (chunked_->done()) return verdict(false, lacks());
      return std::nullopt;
    }
    case http::Framing::None:
      break;
  }
  return verdict(false, lacks());
}

std::optional<ProbeResult> HttpResponseJudge::search(std::string_view decoded) {
  if (decoded.empty()) return std::nullopt;
  // A match may straddle the previous bytes and these.
  const size_t overlap = expect_body_.size() - 1;
  const size_t from = body_.size() > overlap ? body_.size() - overlap : 0;
  body_.append(decoded.substr(0, kMaxBodySearch - body_.size()));
  if (body_.find(expect_body_, from) != std::string::npos) return verdict(true, "passed");
  if (body_.size() >= kMaxBodySearch) return verdict(false, lacks() + " in its first 64 KiB");
  return std::nullopt;
}

ProbeResult HttpResponseJudge::end() {
  switch (state_) {
    case State::Head:
      state_ = State::Done;
      if (head_.empty()) return {false, "connection closed before a response"};
      return {false, "connection closed inside the response head"};
    case State::Body:
      if (framing_ == http::Framing::UntilClose) return *verdict(false, lacks());
      return *verdict(false, "connection closed before the body ended");
    case State::Done:
      break;
  }
  return {false, "response already judged"};
}

std::optional<ProbeResult> HttpResponseJudge::verdict(bool passed, std::string why) {
  state_ = State::Done;
  return ProbeResult{passed, std::move(why)};
}

bool HttpResponseJudge::statusExpected(int status) const {
  auto code = static_cast<unsigned>(status);
  return std::any_of(expect_status_.begin(), expect_status_.end(),
                     [code](const StatusRange& r) { return r.low <= code && code <= r.high; });
}

std::string HttpResponseJudge::lacks() const {
  return "body lacks \"" + expect_body_ + "\"";
}

std::unique_ptr<Checker> makeHttpChecker(net::EventLoop& loop, const CheckSpec& spec) {
  return std::make_unique<HttpChecker>(loop, spec);
}

}  // namespace fulcrum::health
