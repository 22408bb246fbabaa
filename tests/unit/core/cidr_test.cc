#include "core/cidr.h"
#include "support/configs.h"

#include <doctest/doctest.h>

using namespace fulcrum;
using fulcrum::test::validAddress;

namespace {

Cidr range(const std::string& text) {
  Cidr out;
  std::string why;
  REQUIRE_MESSAGE(Cidr::parse(text, out, why), why);
  return out;
}

}  // namespace

TEST_CASE("an IPv4 range holds exactly the addresses under its prefix") {
  Cidr ten = range("10.0.0.0/8");
  CHECK(ten.contains(validAddress("10.0.0.1:80")));
  CHECK(ten.contains(validAddress("10.255.255.255:1")));
  CHECK_FALSE(ten.contains(validAddress("11.0.0.0:80")));
  CHECK_FALSE(ten.contains(validAddress("9.255.255.255:80")));
  Cidr odd = range("192.0.2.128/25");
  CHECK(odd.contains(validAddress("192.0.2.200:1")));
  CHECK_FALSE(odd.contains(validAddress("192.0.2.127:1")));
  CHECK(ten.toString() == "10.0.0.0/8");
}

TEST_CASE("a plain address is a range of one, for IPv4 and IPv6") {
  Cidr one = range("192.0.2.7");
  CHECK(one.toString() == "192.0.2.7/32");
  CHECK(one.contains(validAddress("192.0.2.7:5000")));
  CHECK_FALSE(one.contains(validAddress("192.0.2.8:5000")));
  Cidr loopback6 = range("::1");
  CHECK(loopback6.toString() == "::1/128");
  CHECK(loopback6.contains(validAddress("[::1]:80")));
  CHECK_FALSE(loopback6.contains(validAddress("127.0.0.1:80")));
}

TEST_CASE("an IPv6 range matches IPv6 addresses, and /0 matches its whole family") {
  Cidr doc = range("2001:db8::/32");
  CHECK(doc.contains(validAddress("[2001:db8:1::5]:443")));
  CHECK_FALSE(doc.contains(validAddress("[2001:db9::1]:443")));
  CHECK_FALSE(doc.contains(validAddress("10.0.0.1:443")));
  CHECK(range("0.0.0.0/0").contains(validAddress("203.0.113.9:1")));
  CHECK_FALSE(range("0.0.0.0/0").contains(validAddress("[2001:db8::1]:1")));
  CHECK(range("::/0").contains(validAddress("[2001:db8::1]:1")));
}

TEST_CASE("an IPv4-mapped IPv6 peer is matched as its IPv4 address") {
  CHECK(range("10.0.0.0/8").contains(validAddress("[::ffff:10.1.2.3]:80")));
  CHECK_FALSE(range("10.0.0.0/8").contains(validAddress("[::ffff:11.1.2.3]:80")));
}

TEST_CASE("bad ranges are refused with a reason") {
  Cidr out;
  std::string why;
  CHECK_FALSE(Cidr::parse("10.0.0.0/33", out, why));
  CHECK(why == "the prefix length of '10.0.0.0/33' must be 0 to 32");
  CHECK_FALSE(Cidr::parse("2001:db8::/129", out, why));
  CHECK_FALSE(Cidr::parse("10.0.0.0/", out, why));
  CHECK_FALSE(Cidr::parse("10.0.0.0/8x", out, why));
  CHECK_FALSE(Cidr::parse("10.0.0.0/-8", out, why));
  CHECK_FALSE(Cidr::parse("10.0.0/8", out, why));
  CHECK_FALSE(Cidr::parse("proxy.example.com", out, why));
  CHECK(why.find("expected an IPv4 or IPv6 address or CIDR range") == 0);
  CHECK_FALSE(Cidr::parse("", out, why));
  CHECK_FALSE(Cidr::parse("10.1.0.0/8", out, why));
  CHECK(why == "'10.1.0.0/8' has bits set past its /8 prefix; the range is 10.0.0.0/8");
  CHECK_FALSE(Cidr::parse("2001:db8::1/64", out, why));
}

TEST_CASE("a list trusts an address when any range holds it, and an empty list trusts nobody") {
  CidrList list({range("10.0.0.0/8"), range("192.0.2.7"), range("2001:db8::/32")});
  CHECK(list.contains(validAddress("10.9.9.9:1")));
  CHECK(list.contains(validAddress("192.0.2.7:1")));
  CHECK(list.contains(validAddress("[2001:db8::9]:1")));
  CHECK_FALSE(list.contains(validAddress("192.0.2.8:1")));
  CHECK_FALSE(CidrList().contains(validAddress("127.0.0.1:1")));
}
