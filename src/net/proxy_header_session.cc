#include "net/proxy_header_session.h"

#include <sys/socket.h>

#include <algorithm>

#include "core/rate_limited_log.h"

namespace fulcrum::net {

const char* proxyRejectionName(ProxyRejection reason) {
  switch (reason) {
    case ProxyRejection::Untrusted:
      return "untrusted";
    case ProxyRejection::Missing:
      return "missing";
    case ProxyRejection::Malformed:
      return "malformed";
    case ProxyRejection::Timeout:
      break;
  }
  return "timeout";
}

SocketAddress localAddressOf(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
  return SocketAddress(reinterpret_cast<const sockaddr*>(&storage), length);
}

ProxyHeaderSession::ProxyHeaderSession(Params params, std::unique_ptr<Stream> stream,
                                       ClientAddresses addresses, MakeSession make,
                                       Rejected rejected, DoneCallback done)
    : params_(params),
      stream_(std::move(stream)),
      addresses_(addresses),
      make_(std::move(make)),
      rejected_(std::move(rejected)),
      done_(std::move(done)),
      deadline_(*params.loop, [this] { onDeadline(); }) {}

ProxyHeaderSession::~ProxyHeaderSession() {
  inner_.reset();
  if (stream_) {
    stream_->setHandler(nullptr);
    params_.loop->deferDelete(std::move(stream_));
  }
}

void ProxyHeaderSession::start() {
  trusted_ = params_.trusted->contains(addresses_.peer);
  if (params_.required && !trusted_) {
    reject(ProxyRejection::Untrusted, "the peer is not in trusted_proxies");
    return;
  }
  stream_->setHandler(this);
  stream_->setReading(true);
  deadline_.arm(params_.timeout);
}

void ProxyHeaderSession::drain() {
  // A header on its way may precede a request: let it come, and the
  // session it is for finish what it carries.
  draining_ = true;
  if (inner_ && !ended_) inner_->drain();
}

void ProxyHeaderSession::closeAfterResponse() {
  closing_ = true;
  if (inner_ && !ended_) inner_->closeAfterResponse();
}

void ProxyHeaderSession::abandon() {
  if (inner_ && !ended_) inner_->abandon();
}

void ProxyHeaderSession::onReadable(Stream& stream) {
  evbuffer* input = stream.input();
  const size_t available = std::min(evbuffer_get_length(input), kProxyV2MaxLength);
  const auto* data =
      reinterpret_cast<const char*>(evbuffer_pullup(input, static_cast<ssize_t>(available)));
  ProxyHeader header;
  std::string why;
  const ProxyParse parsed = parseProxyHeader(std::string_view(data, available), header, why);
  if (parsed == ProxyParse::Incomplete) return;  // the deadline bounds the wait
  if (parsed == ProxyParse::NotProxy) {
    if (params_.required)
      reject(ProxyRejection::Missing, "the connection did not open with a PROXY header");
    else
      handOver();
    return;
  }
  // Whether well formed or not, a header from anyone else is a forgery.
  if (!trusted_) {
    reject(ProxyRejection::Untrusted, "a PROXY header from a peer not in trusted_proxies");
    return;
  }
  if (parsed == ProxyParse::Malformed) {
    reject(ProxyRejection::Malformed, "malformed PROXY header: " + why);
    return;
  }
  evbuffer_drain(input, header.length);
  if (header.has_addresses) {
    addresses_.client = header.source;
    addresses_.local = header.destination;
  }
  handOver();
}

void ProxyHeaderSession::onClosed(Stream& stream, bool error, int) {
  if (!error && evbuffer_get_length(stream.input()) > 0) {
    reject(ProxyRejection::Malformed, "the connection closed inside its PROXY header");
    return;
  }
  end();  // nothing sent (a balancer's TCP check), or a reset: nothing to count
}

void ProxyHeaderSession::onDeadline() {
  if (evbuffer_get_length(stream_->input()) > 0) {
    reject(ProxyRejection::Timeout, "the PROXY header did not arrive whole in time");
    return;
  }
  if (params_.required) {
    reject(ProxyRejection::Timeout, "no PROXY header arrived in time");
    return;
  }
  handOver();  // a server-first protocol: the client waits for the server
}

void ProxyHeaderSession::handOver() {
  deadline_.cancel();
  stream_->setHandler(nullptr);
  stream_->setReading(false);
  inner_ = make_(std::move(stream_), addresses_, [this](Session&) {
    ended_ = true;
    done_(*this);
  });
  make_ = nullptr;
  // Before start(): a request that came with the header is read at once,
  // and its answer must already close the connection.
  if (closing_) inner_->closeAfterResponse();
  inner_->start();
  if (draining_ && !ended_) inner_->drain();
}

void ProxyHeaderSession::reject(ProxyRejection reason, const std::string& why) {
  static log::Limited limited;
  limited.warn("listener %s: closing connection from %s: %s", params_.listener_name->c_str(),
               addresses_.peer.toString().c_str(), why.c_str());
  rejected_(*this, reason);
  end();
}

void ProxyHeaderSession::end() {
  if (ended_) return;
  ended_ = true;
  deadline_.cancel();
  if (stream_) {
    stream_->setHandler(nullptr);
    stream_->setReading(false);
  }
  done_(*this);
}

}  // namespace fulcrum::net
