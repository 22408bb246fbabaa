// The PROXY protocol parser and writer against the examples and limits of
// HAProxy's doc/proxy-protocol.txt, and against malformed input.
#include "net/proxy_protocol.h"
#include "support/configs.h"

#include <doctest/doctest.h>

#include <string>

using namespace fulcrum;
using fulcrum::test::validAddress;
using namespace fulcrum::net;

namespace {

const std::string kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);

struct Parsed {
  ProxyParse result;
  ProxyHeader header;
  std::string why;
};

Parsed parse(const std::string& data) {
  Parsed parsed;
  parsed.result = parseProxyHeader(data, parsed.header, parsed.why);
  return parsed;
}

// A v2 header: command byte, family byte, then `block` (addresses, TLVs).
std::string v2(uint8_t command, uint8_t family, const std::string& block) {
  std::string out = kV2Signature;
  out.push_back(static_cast<char>(command));
  out.push_back(static_cast<char>(family));
  out.push_back(static_cast<char>(block.size() >> 8));
  out.push_back(static_cast<char>(block.size() & 0xff));
  return out + block;
}

// 192.168.0.1:56324 -> 192.168.0.11:443, as the spec's examples.
const std::string kInet4Block("\xc0\xa8\x00\x01\xc0\xa8\x00\x0b\xdc\x04\x01\xbb", 12);

}  // namespace

TEST_CASE("v1 TCP4: the spec's example gives both addresses and the header's length") {
  const std::string line = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
  Parsed parsed = parse(line + "GET / HTTP/1.1\r\n");
  REQUIRE(parsed.result == ProxyParse::Complete);
  CHECK(parsed.header.version == ProxyVersion::V1);
  CHECK(parsed.header.has_addresses);
  CHECK(parsed.header.source.toString() == "192.168.0.1:56324");
  CHECK(parsed.header.destination.toString() == "192.168.0.11:443");
  CHECK(parsed.header.length == line.size());
}

TEST_CASE("v1 TCP6 at the spec's longest, and UNKNOWN at the 107-byte limit") {
  const std::string full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const std::string tcp6 = "PROXY TCP6 " + full + " " + full + " 65535 65535\r\n";
  CHECK(tcp6.size() == 104);
  Parsed parsed = parse(tcp6);
  REQUIRE(parsed.result == ProxyParse::Complete);
  CHECK(parsed.header.source.toString() == "[" + full + "]:65535");
  const std::string unknown = "PROXY UNKNOWN " + full + " " + full + " 65535 65535\r\n";
  CHECK(unknown.size() == 107);
  parsed = parse(unknown);
  REQUIRE(parsed.result == ProxyParse::Complete);
  CHECK_FALSE(parsed.header.has_addresses);
  CHECK(parsed.header.length == 107);
  CHECK(parse("PROXY UNKNOWN\r\n").result == ProxyParse::Complete);
}

TEST_CASE("v1 malformed: over 107 bytes, bad ports, wrong family, bad spacing") {
  const std::string full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  Parsed long_line = parse("PROXY UNKNOWN " + full + " " + full + " 65535 655350\r\n");
  CHECK(long_line.result == ProxyParse::Malformed);
  CHECK(long_line.why == "v1 header without CRLF in its first 107 bytes");
  for (const char* bad : {
           "PROXY TCP4 1.2.3.4 5.6.7.8 65536 80\r\n",  // port out of range
           "PROXY TCP4 1.2.3.4 5.6.7.8 080 80\r\n",    // leading zero
           "PROXY TCP4 1.2.3.4 5.6.7.8 -1 80\r\n",     // sign
           "PROXY TCP4 1.2.3.4 5.6.7.8 http 80\r\n",   // not a number
           "PROXY TCP4 ::1 ::1 1 2\r\n",               // IPv6 under TCP4
           "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",       // IPv4 under TCP6
           "PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n",      // not a dotted quad
           "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",      // double space
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",      // trailing space
           "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",         // a field short
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",     // a field more
           "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",       // no such protocol
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",         // LF without CR
           "PROXY TCP4 1.2.3.4 5.6.7.8 1\r2\r\n",      // bare CR inside
       }) {
    Parsed parsed = parse(bad);
    CHECK_MESSAGE(parsed.result == ProxyParse::Malformed, bad);
    CHECK_MESSAGE(!parsed.why.empty(), bad);
  }
}

TEST_CASE("a header cut short is incomplete until its end arrives") {
  const std::string line = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
  for (size_t length = 1; length < line.size(); ++length)
    CHECK_MESSAGE(parse(line.substr(0, length)).result == ProxyParse::Incomplete, length);
  const std::string header = v2(0x21, 0x11, kInet4Block);
  for (size_t length = 1; length < header.size(); ++length)
    CHECK_MESSAGE(parse(header.substr(0, length)).result == ProxyParse::Incomplete, length);
  CHECK(parse("").result == ProxyParse::Incomplete);
}

TEST_CASE("bytes that cannot start a header are told apart at once") {
  CHECK(parse("GET / HTTP/1.1\r\n").result == ProxyParse::NotProxy);
  CHECK(parse("POST").result == ProxyParse::NotProxy);
  CHECK(parse("PROXZ").result == ProxyParse::NotProxy);
  CHECK(parse("proxy TCP4").result == ProxyParse::NotProxy);
  CHECK(parse("\x16\x03\x01").result == ProxyParse::NotProxy);  // a TLS ClientHello
  CHECK(parse(std::string("\r\n\r\n\0\r\nQUIT!", 12)).result == ProxyParse::NotProxy);
}

TEST_CASE("v2 PROXY over TCP/IPv4 and TCP/IPv6 gives the addresses") {
  const std::string header = v2(0x21, 0x11, kInet4Block);
  Parsed parsed = parse(header + "payload");
  REQUIRE(parsed.result == ProxyParse::Complete);
  CHECK(parsed.header.version == ProxyVersion::V2);
  CHECK(parsed.header.source.toString() == "192.168.0.1:56324");
  CHECK(parsed.header.destination.toString() == "192.168.0.11:443");
  CHECK(parsed.header.length == 28);

  std::string block(36, '\0');
  block[0] = '\x20';  // 2001:db8::1
  block[1] = '\x01';
  block[2] = '\x0d';
  block[3] = '\xb8';
  block[15] = '\x01';
  block[31] = '\x02';  // ::2
  block[32] = '\x30';  // port 12345
  block[33] = '\x39';
  block[34] = '\x00';  // port 80
  block[35] = '\x50';
  parsed = parse(v2(0x21, 0x21, block));
  REQUIRE(parsed.result == ProxyParse::Complete);
  CHECK(parsed.header.source.toString() == "[2001:db8::1]:12345");
  CHECK(parsed.header.destination.toString() == "[::2]:80");
  CHECK(parsed.header.length == 52);
}

TEST_CASE("v2 TLVs after the addresses are skipped, and must fit in the header") {
  // PP2_TYPE_AUTHORITY "api", then PP2_TYPE_NOOP with nothing.
  const std::string tlvs(
      "\x02\x00\x03"
      "api"
      "\x04\x00\x00",
      9);
  Parsed parsed = parse(v2(0x21, 0x11, kInet4Block + tlvs) + "GET");
  REQUIRE(parsed.result == ProxyParse::Complete);
  CHECK(parsed.header.source.toString() == "192.168.0.1:56324");
  CHECK(parsed.header.length == 16 + 12 + 9);
  Parsed overflow = parse(v2(0x21, 0x11,
                             kInet4Block + std::string("\x02\x00\x09"
                                                       "api",
                                                       6)));
  CHECK(overflow.result == ProxyParse::Malformed);
  CHECK(overflow.why == "v2 TLV runs past the header");
  CHECK(parse(v2(0x21, 0x11, kInet4Block + std::string("\x02\x00", 2))).result ==
        ProxyParse::Malformed);
}

TEST_CASE("v2 LOCAL, UNSPEC and UNIX headers carry no address to use") {
  Parsed local = parse(v2(0x20, 0x00, ""));
  REQUIRE(local.result == ProxyParse::Complete);
  CHECK_FALSE(local.header.has_addresses);
  CHECK(local.header.length == 16);
  // LOCAL ignores whatever block follows.
  Parsed local_block = parse(v2(0x20, 0x11, kInet4Block));
  REQUIRE(local_block.result == ProxyParse::Complete);
  CHECK_FALSE(local_block.header.has_addresses);
  CHECK(local_block.header.length == 28);
  Parsed unspec = parse(v2(0x21, 0x00, ""));
  REQUIRE(unspec.result == ProxyParse::Complete);
  CHECK_FALSE(unspec.header.has_addresses);
  Parsed unix_stream = parse(v2(0x21, 0x31, std::string(216, '\0')));
  REQUIRE(unix_stream.result == ProxyParse::Complete);
  CHECK_FALSE(unix_stream.header.has_addresses);
}

TEST_CASE("v2 malformed: version, command, family, short address block") {
  CHECK(parse(v2(0x11, 0x11, kInet4Block)).why == "v2 header of a version not 2");
  CHECK(parse(v2(0x22, 0x11, kInet4Block)).why == "v2 command is neither LOCAL nor PROXY");
  CHECK(parse(v2(0x21, 0x41, kInet4Block)).why ==
        "v2 address family or transport is not defined by the spec");
  CHECK(parse(v2(0x21, 0x13, kInet4Block)).result == ProxyParse::Malformed);
  CHECK(parse(v2(0x21, 0x11, kInet4Block.substr(0, 11))).why ==
        "v2 header too short for its addresses");
  CHECK(parse(v2(0x21, 0x21, kInet4Block)).result == ProxyParse::Malformed);
  CHECK(parse(v2(0x21, 0x31, std::string(100, '\0'))).result == ProxyParse::Malformed);
}

TEST_CASE("v2 accepts the longest length field and waits for all of it") {
  std::string tlv("\xee\xff\xf0", 3);  // one TLV of 65520 bytes fills the rest
  std::string block = kInet4Block + tlv + std::string(65535 - 12 - 3, 'x');
  std::string header = v2(0x21, 0x11, block);
  CHECK(header.size() == kProxyV2MaxLength);
  CHECK(parse(header.substr(0, header.size() - 1)).result == ProxyParse::Incomplete);
  Parsed parsed = parse(header);
  REQUIRE(parsed.result == ProxyParse::Complete);
  CHECK(parsed.header.length == kProxyV2MaxLength);
}

TEST_CASE("written headers are byte for byte the spec's, and read back") {
  SocketAddress client = validAddress("192.168.0.1:56324");
  SocketAddress server = validAddress("192.168.0.11:443");
  CHECK(encodeProxyHeader(ProxyVersion::V1, client, server) ==
        "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
  CHECK(encodeProxyHeader(ProxyVersion::V2, client, server) == v2(0x21, 0x11, kInet4Block));
  SocketAddress client6 = validAddress("[2001:db8::1]:12345");
  SocketAddress server6 = validAddress("[::2]:80");
  CHECK(encodeProxyHeader(ProxyVersion::V1, client6, server6) ==
        "PROXY TCP6 2001:db8::1 ::2 12345 80\r\n");
  for (ProxyVersion version : {ProxyVersion::V1, ProxyVersion::V2}) {
    Parsed parsed = parse(encodeProxyHeader(version, client6, server6));
    REQUIRE(parsed.result == ProxyParse::Complete);
    CHECK(parsed.header.source == client6);
    CHECK(parsed.header.destination == server6);
  }
  CHECK(encodeLocalProxyHeader(ProxyVersion::V1) == "PROXY UNKNOWN\r\n");
  CHECK(encodeLocalProxyHeader(ProxyVersion::V2) == v2(0x20, 0x00, ""));
}

TEST_CASE("a client and destination of different families go out as TCP6, IPv4-mapped") {
  SocketAddress client = validAddress("203.0.113.9:4000");
  SocketAddress server = validAddress("[2001:db8::2]:443");
  CHECK(encodeProxyHeader(ProxyVersion::V1, client, server) ==
        "PROXY TCP6 ::ffff:203.0.113.9 2001:db8::2 4000 443\r\n");
  Parsed parsed = parse(encodeProxyHeader(ProxyVersion::V2, client, server));
  REQUIRE(parsed.result == ProxyParse::Complete);
  CHECK(parsed.header.source.toString() == "[::ffff:203.0.113.9]:4000");
  CHECK(parsed.header.length == 52);
}
