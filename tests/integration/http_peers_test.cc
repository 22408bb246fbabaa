// Real peers: nginx (Debian's) as a backend started by the test on a
// loopback port, curl as a client, and the access log of each request.
#include <doctest/doctest.h>

#include <filesystem>

#include "support/http.h"
#include "support/http_configs.h"
#include "support/proxy.h"
#include "support/temp_dir.h"

using namespace fulcrum::test;

namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kCurl = "/usr/bin/curl";

class NginxBackend {
 public:
  NginxBackend() : port_(freeLoopbackPort()) {
    std::string conf = "daemon off;\nmaster_process off;\nworker_processes 1;\npid " + dir_.path() +
                       "/nginx.pid;\nerror_log stderr warn;\nevents { worker_connections 256; }\n"
                       "http {\n  access_log off;\n  client_body_temp_path " +
                       dir_.path() +
                       "/body;\n"
                       "  proxy_temp_path " +
                       dir_.path() + "/proxy;\n  fastcgi_temp_path " + dir_.path() +
                       "/fcgi;\n  uwsgi_temp_path " + dir_.path() + "/uwsgi;\n  scgi_temp_path " +
                       dir_.path() +
                       "/scgi;\n  keepalive_requests 10000;\n  server {\n    listen 127.0.0.1:" +
                       std::to_string(port_) +
                       ";\n    location / { add_header X-Backend nginx; return 200 \"nginx "
                       "$request_uri $http_x_forwarded_for\\n\"; }\n"
                       "  }\n}\n";
    std::string path = dir_.write("nginx.conf", conf);
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kNginx, "-p", dir_.path(), "-c", path, "-e", "stderr"});
    if (!waitAccepting(*process_, port_)) FAIL("nginx did not start");
  }
  uint16_t port() const { return port_; }

 private:
  TempDir dir_;
  uint16_t port_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace

TEST_CASE("nginx as a backend: answers through the proxy over one kept-alive connection") {
  REQUIRE_MESSAGE(std::filesystem::exists(kNginx), "nginx is installed by make test-deps");
  NginxBackend nginx;
  Proxy proxy(HttpConfig{.servers = {nginx.port()}}.yaml());
  Fd client = connectLoopback(proxy.port("web"));
  HttpReader reader(client.get());
  for (int i = 0; i < 10; ++i) {
    REQUIRE(writeAll(client.get(), "GET /n" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto response = reader.response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->field("X-Backend") == "nginx");
    CHECK(response->body == "nginx /n" + std::to_string(i) + " 127.0.0.1\n");
  }
  REQUIRE(writeAll(client.get(),
                   "POST /form HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "3\r\nabc\r\n0\r\n\r\n"));
  auto posted = reader.response();
  REQUIRE(posted);
  CHECK(posted->status == 200);
}

TEST_CASE("curl gets its answers through the proxy") {
  REQUIRE_MESSAGE(std::filesystem::exists(kCurl), "curl is installed by make test-deps");
  HttpBackend backend("b1");
  Proxy proxy(HttpConfig{.servers = {backend.port()}, .access_log = "stdout"}.yaml());
  std::string base = "http://127.0.0.1:" + std::to_string(proxy.port("web"));
  ChildProcess curl({kCurl, "-s", "-i", "-H", "X-Request-Id: curl-1", base + "/a", base + "/b",
                     "-d", "amount=1", "--max-time", "20"});
  CHECK(curl.waitExit() == 0);
  curl.joinOutput();
  auto lines = curl.lines();
  int ok = 0;
  for (const auto& line : lines) ok += line.rfind("HTTP/1.1 200", 0) == 0;
  CHECK(ok == 2);
  CHECK(backend.connections() == 1);  // curl reuses its connection, so do we
  auto logged = proxy.process().waitForText("\"path\":\"/b\"");
  REQUIRE(logged);
  CHECK(logged->find("\"type\":\"http\"") != std::string::npos);
  // Its own id, not the client's (request_id.trust_client is off).
  CHECK(logged->find("\"request_id\":\"curl-1\"") == std::string::npos);
  CHECK(logged->find("\"request_id\":\"") != std::string::npos);
  CHECK(logged->find("\"method\":\"POST\"") != std::string::npos);
  CHECK(logged->find("\"status\":200") != std::string::npos);
  CHECK(logged->find("\"bytes_in\":8") != std::string::npos);
  CHECK(logged->find("\"server\":\"127.0.0.1:" + std::to_string(backend.port()) + "\"") !=
        std::string::npos);
  CHECK(logged->find("\"upstream_response_ms\":") != std::string::npos);
}
