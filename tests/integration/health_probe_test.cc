// Active health probes (src/health), in process: each test runs an EventLoop
// in the test thread until the probe's done callback stops it (or a
// deadline does), against loopback peers on port 0.
#include <doctest/doctest.h>
#include <event2/event.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "health/checker.h"
#include "health/http_check.h"
#include "net/event_loop.h"
#include "net/timer.h"
#include "support/http.h"
#include "support/net.h"
#include "support/tls_server.h"

using namespace fulcrum;
using namespace fulcrum::test;
using namespace std::chrono_literals;
using health::CheckSpec;
using health::CheckType;
using health::ProbeResult;

namespace {

constexpr std::chrono::milliseconds kRunDeadline = 10s;

SocketAddress loopbackAddress(uint16_t port) {
  SocketAddress address;
  std::string why;
  REQUIRE(parseSocketAddress("127.0.0.1:" + std::to_string(port), address, why));
  return address;
}

void prepareProcess() {
  // As fulcrum's main does: probes write to peers that may have gone.
  std::signal(SIGPIPE, SIG_IGN);
  net::EventLoop::enableThreads();  // servers post() to the loop from their threads
}

// Runs one probe of 127.0.0.1:port to its end and returns its result,
// checking that done ran exactly once, and never inside start().
ProbeResult runProbe(const CheckSpec& spec, uint16_t port) {
  prepareProcess();
  net::EventLoop loop;
  auto checker = health::makeChecker(loop, spec);
  std::optional<ProbeResult> result;
  int calls = 0;
  bool starting = true;
  bool called_while_starting = false;
  net::Timer deadline(loop, [&] { loop.stop(); });
  deadline.arm(kRunDeadline);
  auto probe = checker->start(loopbackAddress(port), [&](const ProbeResult& r) {
    called_while_starting = called_while_starting || starting;
    ++calls;
    result = r;
    loop.stop();
  });
  starting = false;
  loop.run();
  // Give a stray second call its chance.
  event_base_loop(loop.base(), EVLOOP_NONBLOCK);
  REQUIRE_MESSAGE(result.has_value(), "the probe never finished");
  CHECK(calls == 1);
  CHECK_FALSE(called_while_starting);
  return *result;
}

CheckSpec httpSpec() {
  CheckSpec spec;
  spec.type = CheckType::Http;
  spec.timeout = 5s;
  return spec;
}

CheckSpec tlsSpec() {
  CheckSpec spec;
  spec.type = CheckType::Tls;
  spec.timeout = 5s;
  return spec;
}

// A backend that answers every request with `answer` (raw bytes).
HttpBackend answering(const std::string& answer) {
  return HttpBackend("b1", [answer](const HttpMessage&, int) { return answer; });
}

bool startsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// A listener whose accept queue is full: new SYNs are dropped, so a connect
// hangs until its deadline. Keeps the filling connections open.
struct BlackHole {
  BlackHole() {
    listener = listenLoopback(port, 0);
    for (int i = 0; i < 16; ++i) {
      Fd connection = connectLoopback(port, 200ms);
      if (!connection) return;  // the queue is full
      fillers.push_back(std::move(connection));
    }
    FAIL("the accept queue never filled");
  }
  uint16_t port = 0;
  Fd listener;
  std::vector<Fd> fillers;
};

}  // namespace

// --- tcp ---------------------------------------------------------------

TEST_CASE("health probe: tcp passes against a listening socket") {
  uint16_t port = 0;
  Fd listener = listenLoopback(port);
  CheckSpec spec;
  spec.timeout = 2s;
  ProbeResult result = runProbe(spec, port);
  CHECK(result.passed);
  CHECK(result.why == "passed");
}

TEST_CASE("health probe: tcp fails with connect refused on a closed port") {
  uint16_t port = 0;
  Fd bound = refusingPort(port);
  ProbeResult result = runProbe(CheckSpec{}, port);
  CHECK_FALSE(result.passed);
  CHECK(result.why == "connect refused");
}

TEST_CASE("health probe: tcp times out against a black-holed server") {
  BlackHole hole;
  CheckSpec spec;
  spec.timeout = 150ms;
  ProbeResult result = runProbe(spec, hole.port);
  CHECK_FALSE(result.passed);
  CHECK(result.why == "timed out after 150ms while connecting");
}

TEST_CASE("health probe: tcp applies the port override") {
  uint16_t port = 0;
  Fd listener = listenLoopback(port);
  uint16_t closed = 0;
  Fd bound = refusingPort(closed);
  CheckSpec spec;
  spec.port = port;
  CHECK(runProbe(spec, closed).passed);
}

// --- http --------------------------------------------------------------

TEST_CASE("health probe: http passes on 200 and sends the documented request") {
  HttpBackend server("b1");
  ProbeResult result = runProbe(httpSpec(), server.port());
  CHECK(result.passed);
  CHECK(result.why == "passed");
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].start_line == "GET / HTTP/1.1");
  CHECK(requests[0].field("Host") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(requests[0].field("User-Agent") == "fulcrum-health-check");
  CHECK(requests[0].field("Connection") == "close");
}

TEST_CASE("health probe: http fails on 500 and the why names the status") {
  HttpBackend server = answering(httpResponse(500, "broken"));
  ProbeResult result = runProbe(httpSpec(), server.port());
  CHECK_FALSE(result.passed);
  CHECK(result.why == "status 500 not expected (200-399)");
}

TEST_CASE("health probe: http expect_status takes custom ranges and lists") {
  CheckSpec spec = httpSpec();
  spec.expect_status = {{204, 204}, {500, 503}};
  SUBCASE("a status inside a listed range passes") {
    HttpBackend server = answering(httpResponse(503, "down for now"));
    CHECK(runProbe(spec, server.port()).passed);
  }
  SUBCASE("a single listed code passes") {
    HttpBackend server = answering("HTTP/1.1 204 No Content\r\n\r\n");
    CHECK(runProbe(spec, server.port()).passed);
  }
  SUBCASE("a status outside every range fails, naming the ranges") {
    HttpBackend server = answering(httpResponse(200, "fine"));
    ProbeResult result = runProbe(spec, server.port());
    CHECK_FALSE(result.passed);
    CHECK(result.why == "status 200 not expected (204, 500-503)");
  }
}

TEST_CASE("health probe: http skips interim 1xx responses") {
  HttpBackend server =
      answering("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + httpResponse(500, "no"));
  ProbeResult result = runProbe(httpSpec(), server.port());
  CHECK(result.why == "status 500 not expected (200-399)");
}

TEST_CASE("health probe: http expect_body in a Content-Length body") {
  HttpBackend server = answering(httpResponse(200, "{\"status\": \"ok\"}"));
  CheckSpec spec = httpSpec();
  SUBCASE("found") {
    spec.expect_body = "\"ok\"";
    CHECK(runProbe(spec, server.port()).passed);
  }
  SUBCASE("not found") {
    spec.expect_body = "healthy";
    ProbeResult result = runProbe(spec, server.port());
    CHECK_FALSE(result.passed);
    CHECK(result.why == "body lacks \"healthy\"");
  }
}

TEST_CASE("health probe: http expect_body across the chunks of a chunked body") {
  // "healthy" is split over two chunks, sent in two writes.
  HttpBackend server("b1", [](const HttpMessage&, int fd) {
    writeAll(fd,
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nstill \r\n3\r\nhea\r\n");
    writeAll(fd, "4\r\nlthy\r\n0\r\n\r\n");
    return std::string();
  });
  CheckSpec spec = httpSpec();
  SUBCASE("found") {
    spec.expect_body = "still healthy";
    CHECK(runProbe(spec, server.port()).passed);
  }
  SUBCASE("not found: the framing is not part of the body") {
    spec.expect_body = "hea\r\n";
    ProbeResult result = runProbe(spec, server.port());
    CHECK_FALSE(result.passed);
    CHECK(result.why == "body lacks \"hea\r\n\"");
  }
}

TEST_CASE("health probe: http expect_body in a body delimited by close") {
  HttpBackend server = answering("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall good here");
  CheckSpec spec = httpSpec();
  SUBCASE("found") {
    spec.expect_body = "good";
    CHECK(runProbe(spec, server.port()).passed);
  }
  SUBCASE("not found") {
    spec.expect_body = "bad";
    CHECK(runProbe(spec, server.port()).why == "body lacks \"bad\"");
  }
}

TEST_CASE("health probe: http searches only the first 64 KiB of the body") {
  std::string body(health::kMaxBodySearch + 100, 'x');
  CheckSpec spec = httpSpec();
  SUBCASE("a match that ends at 64 KiB is found") {
    body.replace(health::kMaxBodySearch - 2, 2, "ok");
    spec.expect_body = "ok";
    HttpBackend server = answering(httpResponse(200, body));
    CHECK(runProbe(spec, server.port()).passed);
  }
  SUBCASE("a match after 64 KiB is not") {
    body.replace(health::kMaxBodySearch + 10, 2, "ok");
    spec.expect_body = "ok";
    HttpBackend server = answering(httpResponse(200, body));
    CHECK(runProbe(spec, server.port()).why == "body lacks \"ok\" in its first 64 KiB");
  }
}

TEST_CASE("health probe: http HEAD sends HEAD and reads no body") {
  // The answer announces a body it does not send, as HEAD answers do; the
  // backend then keeps the connection open, so reading a body would hang.
  HttpBackend server("b1", [](const HttpMessage&, int fd) {
    writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    std::string ignored;
    readToEof(fd, ignored, 5s);
    return std::string();
  });
  CheckSpec spec = httpSpec();
  spec.method = "HEAD";
  spec.expect_body = "not checked for HEAD";
  ProbeResult result = runProbe(spec, server.port());
  CHECK(result.passed);
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].start_line == "HEAD / HTTP/1.1");
}

TEST_CASE("health probe: http sends the path, Host and extra headers") {
  HttpBackend server("b1");
  CheckSpec spec = httpSpec();
  spec.path = "/healthz?deep=1";
  spec.host = "api.example.com";
  spec.headers = {{"X-Probe", "fulcrum"}, {"Authorization", "Bearer t0ken"}};
  REQUIRE(runProbe(spec, server.port()).passed);
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].start_line == "GET /healthz?deep=1 HTTP/1.1");
  CHECK(requests[0].field("Host") == "api.example.com");
  CHECK(requests[0].count("Host") == 1);
  CHECK(requests[0].field("X-Probe") == "fulcrum");
  CHECK(requests[0].field("Authorization") == "Bearer t0ken");
  CHECK(requests[0].field("User-Agent") == "fulcrum-health-check");
}

TEST_CASE("health probe: http extra Host and User-Agent headers replace the defaults") {
  HttpBackend server("b1");
  CheckSpec spec = httpSpec();
  spec.headers = {{"host", "from-headers.example"}, {"User-Agent", "custom"}};
  REQUIRE(runProbe(spec, server.port()).passed);
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].count("Host") == 1);
  CHECK(requests[0].field("Host") == "from-headers.example");
  CHECK(requests[0].count("User-Agent") == 1);
  CHECK(requests[0].field("User-Agent") == "custom");
}

TEST_CASE("health probe: http refuses a spec it cannot send, without connecting") {
  HttpBackend server("b1");
  CheckSpec spec = httpSpec();
  SUBCASE("a header value with CRLF") {
    spec.headers = {{"X-Evil", "a\r\nX-Injected: 1"}};
  }
  SUBCASE("a Connection header") {
    spec.headers = {{"Connection", "keep-alive"}};
  }
  SUBCASE("a method other than GET or HEAD") {
    spec.method = "POST";
  }
  ProbeResult result = runProbe(spec, server.port());
  CHECK_FALSE(result.passed);
  CHECK(startsWith(result.why, "invalid http check: "));
  CHECK(server.connections() == 0);
}

TEST_CASE("health probe: http applies the port override and Host follows it") {
  HttpBackend server("b1");
  uint16_t closed = 0;
  Fd bound = refusingPort(closed);
  CheckSpec spec = httpSpec();
  spec.port = server.port();
  REQUIRE(runProbe(spec, closed).passed);
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].field("Host") == "127.0.0.1:" + std::to_string(server.port()));
}

TEST_CASE("health probe: http fails on a malformed response") {
  HttpBackend server = answering("HTTP/1.1 200 OK\nContent-Length: 0\n\n");
  ProbeResult result = runProbe(httpSpec(), server.port());
  CHECK_FALSE(result.passed);
  CHECK(startsWith(result.why, "malformed response: "));
}

TEST_CASE("health probe: http fails on a malformed chunked body") {
  HttpBackend server =
      answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnope\r\n0\r\n\r\n");
  CheckSpec spec = httpSpec();
  spec.expect_body = "nope";
  ProbeResult result = runProbe(spec, server.port());
  CHECK_FALSE(result.passed);
  CHECK(startsWith(result.why, "malformed chunked body: "));
}

TEST_CASE("health probe: http fails when the server closes early") {
  SUBCASE("before a response") {
    TcpBackend server([](int fd) { readHeadBytes(fd); });
    CHECK(runProbe(httpSpec(), server.port()).why == "connection closed before a response");
  }
  SUBCASE("inside the head") {
    TcpBackend server([](int fd) {
      readHeadBytes(fd);
      writeAll(fd, "HTTP/1.1 200 OK\r\nContent-");
    });
    CHECK(runProbe(httpSpec(), server.port()).why == "connection closed inside the response head");
  }
  SUBCASE("before the body ended") {
    TcpBackend server([](int fd) {
      readHeadBytes(fd);
      writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
    });
    CheckSpec spec = httpSpec();
    spec.expect_body = "ok";
    CHECK(runProbe(spec, server.port()).why == "connection closed before the body ended");
  }
}

TEST_CASE("health probe: http times out against a server that never answers") {
  TcpBackend server([](int fd) {
    std::string ignored;
    readToEof(fd, ignored, 5s);
  });
  CheckSpec spec = httpSpec();
  spec.timeout = 150ms;
  ProbeResult result = runProbe(spec, server.port());
  CHECK_FALSE(result.passed);
  CHECK(result.why == "timed out after 150ms while waiting for the response");
}

TEST_CASE("health probe: http times out against a black-holed server") {
  BlackHole hole;
  CheckSpec spec = httpSpec();
  spec.timeout = 150ms;
  CHECK(runProbe(spec, hole.port).why == "timed out after 150ms while connecting");
}

// --- tls ---------------------------------------------------------------

TEST_CASE("health probe: tls passes against a TLS server, sending SNI when set") {
  TlsServer server;
  CheckSpec spec = tlsSpec();
  SUBCASE("with SNI") {
    spec.server_name = "backend.example";
    ProbeResult result = runProbe(spec, server.port());
    CHECK(result.passed);
    CHECK(result.why == "passed");
    CHECK(server.serverNames() == std::vector<std::string>{"backend.example"});
  }
  SUBCASE("without SNI") {
    CHECK(runProbe(spec, server.port()).passed);
    CHECK(server.serverNames() == std::vector<std::string>{""});
  }
}

TEST_CASE("health probe: tls fails against a plain TCP server") {
  TcpBackend server([](int fd) {
    writeAll(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    std::string ignored;
    readToEof(fd, ignored, 5s);
  });
  ProbeResult result = runProbe(tlsSpec(), server.port());
  CHECK_FALSE(result.passed);
  CHECK(startsWith(result.why, "TLS handshake failed: "));
  INFO(result.why);
  CHECK(result.why.size() > std::string("TLS handshake failed: ").size());
}

TEST_CASE("health probe: tls fails when the server closes at once") {
  TcpBackend server([](int) {});
  ProbeResult result = runProbe(tlsSpec(), server.port());
  CHECK_FALSE(result.passed);
  CHECK(startsWith(result.why, "TLS handshake failed: "));
}

TEST_CASE("health probe: tls times out against a server that accepts and never speaks") {
  TcpBackend server([](int fd) {
    std::string ignored;
    readToEof(fd, ignored, 5s);
  });
  CheckSpec spec = tlsSpec();
  spec.timeout = 150ms;
  ProbeResult result = runProbe(spec, server.port());
  CHECK_FALSE(result.passed);
  CHECK(result.why == "timed out after 150ms during the TLS handshake");
}

TEST_CASE("health probe: tls connect failures are reported as such") {
  uint16_t port = 0;
  Fd bound = refusingPort(port);
  CHECK(runProbe(tlsSpec(), port).why == "connect refused");
}

// --- cancellation --------------------------------------------------------

// Starts a probe against a server that accepts and stays silent; once the
// server has the connection, the loop destroys the probe; once the server
// sees the socket close, the loop stops. done must never run.
void destroyMidFlight(const CheckSpec& spec) {
  prepareProcess();
  net::EventLoop loop;
  auto checker = health::makeChecker(loop, spec);
  std::unique_ptr<health::Probe> probe;
  bool called = false;
  TcpBackend server([&](int fd) {
    loop.post([&] { probe.reset(); });
    std::string ignored;
    readToEof(fd, ignored, 5s);  // ends when the probe's socket closes
    loop.post([&] { loop.stop(); });
  });
  net::Timer deadline(loop, [&] { loop.stop(); });
  deadline.arm(kRunDeadline);
  probe =
      checker->start(loopbackAddress(server.port()), [&](const ProbeResult&) { called = true; });
  loop.run();
  CHECK_FALSE(called);
  CHECK(probe == nullptr);
  CHECK(deadline.armed());  // stopped by the server, not by the deadline
}

TEST_CASE("health probe: destroying an http probe mid-flight closes it and never calls done") {
  destroyMidFlight(httpSpec());
}

TEST_CASE("health probe: destroying a tls probe mid-handshake closes it and never calls done") {
  destroyMidFlight(tlsSpec());
}

TEST_CASE("health probe: destroying a probe while it connects never calls done") {
  prepareProcess();
  BlackHole hole;
  for (CheckType type : {CheckType::Tcp, CheckType::Http, CheckType::Tls}) {
    CAPTURE(static_cast<int>(type));
    net::EventLoop loop;
    CheckSpec spec;
    spec.type = type;
    spec.timeout = 50ms;
    auto checker = health::makeChecker(loop, spec);
    bool called = false;
    auto probe =
        checker->start(loopbackAddress(hole.port), [&](const ProbeResult&) { called = true; });
    // Let the connect start, then cancel it; run past the probe's deadline.
    event_base_loop(loop.base(), EVLOOP_NONBLOCK);
    probe.reset();
    net::Timer after_deadline(loop, [&] { loop.stop(); });
    after_deadline.arm(150ms);
    loop.run();
    CHECK_FALSE(called);
  }
}

TEST_CASE("health probe: done may destroy its own probe") {
  prepareProcess();
  HttpBackend http_server("b1");
  TlsServer tls_server;
  TcpBackend silent([](int fd) {
    std::string ignored;
    readToEof(fd, ignored, 5s);
  });
  struct Case {
    CheckType type;
    uint16_t port;
    std::chrono::milliseconds timeout;
  };
  for (const Case& c :
       {Case{CheckType::Tcp, http_server.port(), 2s}, Case{CheckType::Http, http_server.port(), 2s},
        Case{CheckType::Tls, tls_server.port(), 2s}, Case{CheckType::Http, silent.port(), 50ms},
        Case{CheckType::Tls, silent.port(), 50ms}}) {
    CAPTURE(static_cast<int>(c.type));
    CAPTURE(c.timeout.count());
    net::EventLoop loop;
    CheckSpec spec;
    spec.type = c.type;
    spec.timeout = c.timeout;
    auto checker = health::makeChecker(loop, spec);
    std::unique_ptr<health::Probe> probe;
    std::optional<ProbeResult> result;
    net::Timer deadline(loop, [&] { loop.stop(); });
    deadline.arm(kRunDeadline);
    probe = checker->start(loopbackAddress(c.port), [&](const ProbeResult& r) {
      result = r;
      probe.reset();  // from inside the probe's own callback stack
      loop.stop();
    });
    loop.run();
    REQUIRE(result.has_value());
    CHECK(result->passed == (c.timeout > 1s));
  }
}
