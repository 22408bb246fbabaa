#include <doctest/doctest.h>

#include "core/socket_address.h"

using namespace fulcrum;

TEST_CASE("host:port splits for IPv4, bracketed IPv6 and names") {
  HostPort hp;
  std::string why;
  REQUIRE(splitHostPort("10.0.0.1:8080", hp, why));
  CHECK(hp.host == "10.0.0.1");
  CHECK(hp.port == 8080);
  REQUIRE(splitHostPort("[::1]:443", hp, why));
  CHECK(hp.host == "::1");
  CHECK(hp.port == 443);
  REQUIRE(splitHostPort("api.example.com:80", hp, why));
  CHECK(hp.host == "api.example.com");
  REQUIRE(splitHostPort(":9000", hp, why));
  CHECK(hp.host.empty());
}

TEST_CASE("malformed host:port is refused with a reason") {
  HostPort hp;
  std::string why;
  CHECK_FALSE(splitHostPort("10.0.0.1", hp, why));
  CHECK(why == "expected host:port");
  CHECK_FALSE(splitHostPort("10.0.0.1:65536", hp, why));
  CHECK(why == "port must be a number from 0 to 65535");
  CHECK_FALSE(splitHostPort("10.0.0.1:http", hp, why));
  CHECK_FALSE(splitHostPort("10.0.0.1:", hp, why));
  CHECK_FALSE(splitHostPort("::1:80", hp, why));
  CHECK(why == "an IPv6 address needs brackets: [addr]:port");
  CHECK_FALSE(splitHostPort("[::1]80", hp, why));
  CHECK_FALSE(splitHostPort("[::1:80", hp, why));
}

TEST_CASE("addresses resolve and print back in their config form") {
  SocketAddress address;
  std::string why;
  REQUIRE(parseSocketAddress("127.0.0.1:8080", address, why));
  CHECK(address.family() == AF_INET);
  CHECK(address.toString() == "127.0.0.1:8080");
  CHECK(address.isLoopback());
  REQUIRE(parseSocketAddress("[::1]:8080", address, why));
  CHECK(address.family() == AF_INET6);
  CHECK(address.toString() == "[::1]:8080");
  CHECK(address.isLoopback());
  REQUIRE(parseSocketAddress("*:80", address, why));
  CHECK(address.toString() == "0.0.0.0:80");
  CHECK_FALSE(address.isLoopback());
  REQUIRE(parseSocketAddress("localhost:80", address, why));
  CHECK(address.isLoopback());
  address.setPort(81);
  CHECK(address.port() == 81);
}
