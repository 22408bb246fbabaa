#include "health/tls_check.h"

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "core/errno_text.h"
#include "health/tcp_check.h"
#include "tls/error_text.h"
#include "tls/probe_context.h"

namespace fulcrum::health {
namespace {

// The socket, its events and the SSL of one probe. Deferred-deletable
// because the probe ends from inside one of these events' callbacks.
struct TlsConnection final : net::DeferredDeletable {
  ~TlsConnection() override {
    if (read_event != nullptr) event_free(read_event);
    if (write_event != nullptr) event_free(write_event);
    if (ssl != nullptr) SSL_free(ssl);  // the socket BIO does not own the fd
  }

  // Owns the socket (closed after the SSL is freed) and is never read: the
  // handshake drives the descriptor itself until TLS is a stream transport.
  std::unique_ptr<net::Stream> socket;
  SSL* ssl = nullptr;
  event* read_event = nullptr;
  event* write_event = nullptr;
};

class TlsProbe final : public ConnectProbe {
 public:
  TlsProbe(net::EventLoop& loop, const CheckSpec& spec, std::shared_ptr<tls::ProbeContext> context,
           Checker::Done done)
      : ConnectProbe(loop, spec.timeout, std::move(done)),
        server_name_(spec.server_name),
        context_(std::move(context)) {}

 private:
  void onConnected(std::unique_ptr<net::Stream> socket) override {
    connection_ = std::make_unique<TlsConnection>();
    const int fd = socket->fd();
    connection_->socket = std::move(socket);
    setPhase("during the TLS handshake");
    ERR_clear_error();
    SSL* ssl = SSL_new(context_->get());
    connection_->ssl = ssl;
    if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1 ||
        (!server_name_.empty() && SSL_set_tlsext_host_name(ssl, server_name_.c_str()) != 1)) {
      finish(false, "TLS setup failed: " + tls::drainErrors());
      return;
    }
    SSL_set_connect_state(ssl);
    event_base* base = loop().base();
    connection_->read_event = event_new(base, fd, EV_READ, &TlsProbe::onEvent, this);
    connection_->write_event = event_new(base, fd, EV_WRITE, &TlsProbe::onEvent, this);
    step();
  }

  static void onEvent(evutil_socket_t, short, void* self) { static_cast<TlsProbe*>(self)->step(); }

  // One more turn of the handshake, as far as the socket allows.
  void step() {
    SSL* ssl = connection_->ssl;
    // The queue is per thread: forget what other code on this loop left.
    ERR_clear_error();
    errno = 0;
    int rc = SSL_do_handshake(ssl);
    int saved_errno = errno;
    if (rc == 1) {
      // Best effort close_notify; the socket closes right after.
      SSL_shutdown(ssl);
      ERR_clear_error();
      finish(true, "passed");
      return;
    }
    switch (SSL_get_error(ssl, rc)) {
      case SSL_ERROR_WANT_READ:
        event_add(connection_->read_event, nullptr);
        return;
      case SSL_ERROR_WANT_WRITE:
        event_add(connection_->write_event, nullptr);
        return;
      case SSL_ERROR_ZERO_RETURN:
        finish(false, "TLS handshake failed: connection closed by the server");
        return;
      case SSL_ERROR_SYSCALL: {
        std::string errors = tls::drainErrors();
        if (errors.empty())
          errors = saved_errno != 0 ? errnoText(saved_errno) : "connection closed by the server";
        finish(false, "TLS handshake failed: " + errors);
        return;
      }
      default: {
        std::string errors = tls::drainErrors();
        finish(false, "TLS handshake failed: " + (errors.empty() ? "protocol error" : errors));
        return;
      }
    }
  }

  void releaseIo() override {
    if (!connection_) return;
    if (connection_->read_event != nullptr) event_del(connection_->read_event);
    if (connection_->write_event != nullptr) event_del(connection_->write_event);
    loop().deferDelete(std::move(connection_));
  }

  std::string server_name_;
  std::shared_ptr<tls::ProbeContext> context_;  // shared with the checker
  std::unique_ptr<TlsConnection> connection_;
};

class TlsChecker final : public Checker {
 public:
  TlsChecker(net::EventLoop& loop, const CheckSpec& spec) : loop_(loop), spec_(spec) {
    std::string why;
    std::unique_ptr<tls::ProbeContext> context = tls::ProbeContext::create(why);
    if (context)
      context_ = std::move(context);
    else
      setup_error_ = "TLS setup failed: " + why;
  }

  std::unique_ptr<Probe> start(const SocketAddress& address, Done done) override {
    auto probe = std::make_unique<TlsProbe>(loop_, spec_, context_, std::move(done));
    if (context_)
      probe->begin(probedAddress(address, spec_), spec_.proxy_header);
    else
      probe->beginFailed(setup_error_);
    return probe;
  }

 private:
  net::EventLoop& loop_;
  CheckSpec spec_;
  std::shared_ptr<tls::ProbeContext> context_;
  std::string setup_error_;
};

}  // namespace

std::unique_ptr<Checker> makeTlsChecker(net::EventLoop& loop, const CheckSpec& spec) {
  return std::make_unique<TlsChecker>(loop, spec);
}

}  // namespace fulcrum::health
