#include <doctest/doctest.h>

#include "config/units.h"

using namespace fulcrum::config;
using fulcrum::formatDuration;
using fulcrum::formatUtcTime;

TEST_CASE("durations need a unit and convert to milliseconds") {
  std::string why;
  CHECK(parseDuration("250ms", why)->count() == 250);
  CHECK(parseDuration("5s", why)->count() == 5000);
  CHECK(parseDuration("2m", why)->count() == 120000);
  CHECK(parseDuration("1h", why)->count() == 3600000);
  CHECK_FALSE(parseDuration("30", why));
  CHECK(why == "a duration needs a unit (ms, s, m, h)");
  CHECK_FALSE(parseDuration("5 s", why));
  CHECK_FALSE(parseDuration("1d", why));
  CHECK(why == "unknown duration unit 'd' (ms, s, m, h)");
  CHECK_FALSE(parseDuration("-1s", why));
  CHECK_FALSE(parseDuration("s", why));
  CHECK_FALSE(parseDuration("99999999999999999999s", why));
  CHECK_FALSE(parseDuration("1000h", why));
}

TEST_CASE("sizes are bytes or binary multiples") {
  std::string why;
  CHECK(*parseSize("512", why) == 512);
  CHECK(*parseSize("16k", why) == 16384);
  CHECK(*parseSize("1m", why) == 1048576);
  CHECK(*parseSize("1G", why) == 1073741824ULL);
  CHECK_FALSE(parseSize("1t", why));
  CHECK(why == "unknown size unit 't' (k, m, g)");
  CHECK_FALSE(parseSize("k", why));
  CHECK_FALSE(parseSize("99999999999g", why));
}

TEST_CASE("durations print in their shortest exact unit") {
  CHECK(formatDuration(Duration(1500)) == "1500ms");
  CHECK(formatDuration(Duration(30000)) == "30s");
  CHECK(formatDuration(Duration(120000)) == "2m");
  CHECK(formatDuration(Duration(7200000)) == "2h");
  CHECK(formatDuration(Duration(0)) == "0ms");
}

TEST_CASE("a Unix time prints as UTC in ISO 8601, to the second") {
  CHECK(formatUtcTime(0) == "1970-01-01T00:00:00Z");
  CHECK(formatUtcTime(1799155371) == "2027-01-05T13:22:51Z");
  // Past 2038: a certificate may well be valid that long.
  CHECK(formatUtcTime(4102444800) == "2100-01-01T00:00:00Z");
}
