// Helpers for integration tests that scrape and probe a running proxy or
// admin listener: finding a required tool on $PATH, one GET on a connection
// of its own (answered now, or read later while the request is held),
// gunzipping a compressed answer, and reading one sample out of Prometheus
// text. Failures are reported with doctest (REQUIRE).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/http.h"
#include "support/net.h"
#include "support/temp_dir.h"

namespace fulcrum::test {

// The full path of `name` on $PATH, or nullopt.
std::optional<std::string> findProgram(const std::string& name);

// The bytes inside a gzip stream (the gzip wrapper only, not zlib or raw
// deflate). REQUIREs the stream to be whole and nothing to follow it.
std::string gunzip(const std::string& data);

// The value of the sample line "series value" (series is the name with its
// labels, as served), or nullopt when absent.
std::optional<double> sample(const std::string& metrics, const std::string& series);
// Every sample line of `metrics`: "name{labels}" (as served) -> value.
std::map<std::string, double> samples(const std::string& metrics);
// Every sample of the admin listener's /metrics on `admin_port` (REQUIREs a 200).
std::map<std::string, double> scrapeSamples(uint16_t admin_port);
// The sum of the series of `family` whose text contains every one of
// `parts` (as `reason="connect`, which also matches reason="connect_x").
double sumSeries(const std::map<std::string, double>& samples, const std::string& family,
                 const std::vector<std::string>& parts = {});
// How much sumSeries(family, parts) grew from `before` to `after`.
double movedBy(const std::map<std::string, double>& before,
               const std::map<std::string, double>& after, const std::string& family,
               const std::vector<std::string>& parts = {});

// One GET on its own connection ("Host: 127.0.0.1:PORT", then `extra_fields`, each ending
// in CRLF); the response is read later. REQUIREs the request to be written.
struct Pending {
  Pending(uint16_t port, const std::string& path, const std::string& extra_fields = "");
  // The response, or nullopt when none came by the deadline.
  std::optional<HttpMessage> response();

  Fd fd;
  std::unique_ptr<HttpReader> reader;
};

// One GET with `extra_fields` and "Connection: close" on its own connection,
// and its response (REQUIREd).
HttpMessage httpGet(uint16_t port, const std::string& path, const std::string& extra_fields = "");

// `promtool check metrics` accepts `text` (written to `name` in `dir`):
// it exits 0 and prints no error. Checked with doctest CHECKs.
void requirePromtoolAccepts(const std::string& promtool, const TempDir& dir,
                            const std::string& name, const std::string& text);

}  // namespace fulcrum::test

// Failed checks on sample() show the value, or "absent".
template <>
struct doctest::StringMaker<std::optional<double>> {
  static doctest::String convert(const std::optional<double>& value) {
    return value ? doctest::toString(*value) : doctest::String("absent");
  }
};
