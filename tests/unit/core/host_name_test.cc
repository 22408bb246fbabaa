#include <doctest/doctest.h>

#include <string>

#include "core/host_name.h"
#include "support/configs.h"

using namespace fulcrum;
using fulcrum::test::validAddress;

namespace {

std::string canonical(const std::string& text) {
  auto host = parseHostName(text);
  return host ? host->text : "<invalid>";
}

}  // namespace

TEST_CASE("host names compare in one form: lower-case, no trailing dot") {
  CHECK(canonical("LocalHost") == "localhost");
  CHECK(canonical("localhost.") == "localhost");
  CHECK(canonical("Admin.Example.COM") == "admin.example.com");
  CHECK(canonical("fulcrum-1_mgmt") == "fulcrum-1_mgmt");
  auto name = parseHostName("admin.example.com");
  REQUIRE(name);
  CHECK_FALSE(name->ip);
  CHECK_FALSE(name->loopback);
  CHECK_FALSE(parseHostName("localhost")->loopback);  // a name, not a literal
}

TEST_CASE("IP literals compare in the form inet_ntop writes, IPv4-mapped as IPv4") {
  CHECK(canonical("127.0.0.1") == "127.0.0.1");
  CHECK(canonical("::1") == "::1");
  CHECK(canonical("[0:0:0:0:0:0:0:1]") == "::1");
  CHECK(canonical("[2001:DB8::A]") == "2001:db8::a");
  CHECK(canonical("::ffff:127.0.0.1") == "127.0.0.1");
  CHECK(parseHostName("127.3.2.1")->loopback);
  CHECK(parseHostName("[::1]")->loopback);
  CHECK(parseHostName("[::ffff:127.0.0.1]")->loopback);
  CHECK_FALSE(parseHostName("10.0.0.1")->loopback);
  CHECK(parseHostName("10.0.0.1")->ip);
}

TEST_CASE("what is not a bare host is refused") {
  for (const char* bad :
       {"", ".", "a..b", ".a", "a b", "*.example.com", "admin.example.com:9901", "[::1]:9901",
        "[::1", "127.1", "300.1.1.1", "1.2.3.4.5", "[127.0.0.1]", "[fe80::1%25eth0]",
        "fe80::1%eth0", "user@host", "host/path", "xn--caf-dma.example\x01"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseHostName(bad));
  }
  CHECK_FALSE(parseHostName(std::string(64, 'a') + ".example"));  // a label over 63
  CHECK(parseHostName(std::string(63, 'a') + ".example"));
  std::string long_name;
  while (long_name.size() < 254) long_name += "abcdefghi.";
  CHECK_FALSE(parseHostName(long_name.substr(0, 255)));
}

TEST_CASE("an address's host name is its literal, without port") {
  CHECK(hostNameOf(validAddress("127.0.0.1:9901")).text == "127.0.0.1");
  CHECK(hostNameOf(validAddress("127.0.0.1:9901")).loopback);
  CHECK(hostNameOf(validAddress("[::1]:9901")).text == "::1");
  CHECK(hostNameOf(validAddress("[::ffff:10.0.0.1]:80")).text == "10.0.0.1");
  CHECK(hostNameOf(validAddress("192.0.2.1:80")).ip);
  CHECK_FALSE(hostNameOf(validAddress("192.0.2.1:80")).loopback);
  CHECK(hostNameOf(SocketAddress()).text.empty());
}
