// fulcrum-demo-backend: a tiny HTTP/1.1 server that answers every request
// with 200, an `X-Backend: NAME` header and "NAME\n" as the body, so you can
// see which backend the proxy picked. Used by `make run` and by tests.
//   fulcrum-demo-backend --name b1 --listen 127.0.0.1:9001
// Prints "NAME listening on HOST:PORT" once it accepts connections (port 0
// picks a free port). Exits 0 on SIGTERM or SIGINT.
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct Options {
  std::string name = "backend";
  std::string host = "127.0.0.1";
  int port = 0;
};

bool parseListen(const std::string& text, Options& options) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  options.host = text.substr(0, colon);
  if (options.host.size() >= 2 && options.host.front() == '[')
    options.host = options.host.substr(1, options.host.size() - 2);
  options.port = std::atoi(text.c_str() + colon + 1);
  return options.port >= 0 && options.port <= 65535;
}

void answer(evhttp_request* request, void* arg) {
  const auto* name = static_cast<const std::string*>(arg);
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "X-Backend", name->c_str());
  evhttp_add_header(headers, "Content-Type", "text/plain");
  evbuffer* body = evbuffer_new();
  evbuffer_add_printf(body, "%s\n", name->c_str());
  evhttp_send_reply(request, 200, "OK", body);
  evbuffer_free(body);
}

void onSignal(evutil_socket_t, short, void* base) {
  event_base_loopexit(static_cast<event_base*>(base), nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--name") {
      options.name = argv[i + 1];
    } else if (flag == "--listen" && parseListen(argv[i + 1], options)) {
    } else {
      std::fprintf(stderr, "usage: fulcrum-demo-backend --name NAME --listen HOST:PORT\n");
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "usage: fulcrum-demo-backend --name NAME --listen HOST:PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  event_base* base = event_base_new();
  evhttp* http = evhttp_new(base);
  evhttp_set_gencb(http, answer, &options.name);
  evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(http, options.host.c_str(),
                                                              static_cast<uint16_t>(options.port));
  if (bound == nullptr) {
    std::fprintf(stderr, "%s: cannot listen on %s:%d: %s\n", options.name.c_str(),
                 options.host.c_str(), options.port, std::strerror(errno));
    return 1;
  }
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&address), &length);
  int port =
      ntohs(address.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&address)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  std::printf("%s listening on %s:%d\n", options.name.c_str(), options.host.c_str(), port);
  std::fflush(stdout);
  event* term = evsignal_new(base, SIGTERM, onSignal, base);
  event* interrupt = evsignal_new(base, SIGINT, onSignal, base);
  evsignal_add(term, nullptr);
  evsignal_add(interrupt, nullptr);
  event_base_dispatch(base);
  event_free(term);
  event_free(interrupt);
  evhttp_free(http);
  event_base_free(base);
  return 0;
}
