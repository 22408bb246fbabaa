#include <doctest/doctest.h>

#include <string>

#include "http/codec/path_normalizer.h"

using fulcrum::http::normalizePath;
using fulcrum::http::PathVerdict;

namespace {

// What a route sees for `target`: the canonical form, or the verdict's name.
std::string routed(const std::string& target) {
  std::string out = "untouched";
  switch (normalizePath(target, out)) {
    case PathVerdict::Canonical:
      CHECK(out == "untouched");  // nothing written when nothing changes
      return target;
    case PathVerdict::Normalized:
      CHECK(out != target);
      return out;
    case PathVerdict::Climbs:
      return "climbs";
    case PathVerdict::BadPercent:
      return "bad percent";
  }
  return "unreachable";
}

}  // namespace

TEST_CASE("path: canonical paths pass untouched") {
  for (const char* target : {"/", "/pay", "/pay/", "/a/b/c?x=1", "/file.txt", "/.well-known/x",
                             "/a/..b/c.", "*", "/a?../..", "/a?b//c"})
    CHECK(routed(target) == target);
}

TEST_CASE("path: dot segments are removed") {
  CHECK(routed("/a/../b") == "/b");
  CHECK(routed("/upload/../internal/admin") == "/internal/admin");
  CHECK(routed("/./a") == "/a");
  CHECK(routed("/a/./b/.") == "/a/b/");
  CHECK(routed("/a/b/..") == "/a/");
  CHECK(routed("/a/b/../") == "/a/");
  CHECK(routed("/.") == "/");
  CHECK(routed("/a/..") == "/");
  CHECK(routed("/a/../b?c=/../d") == "/b?c=/../d");  // the query is not a path
}

TEST_CASE("path: climbing above the root is refused") {
  CHECK(routed("/..") == "climbs");
  CHECK(routed("/../a") == "climbs");
  CHECK(routed("/upload/../../internal/admin") == "climbs");
  CHECK(routed("/%2e%2e/admin") == "climbs");
  CHECK(routed("/a/%2E%2E/%2e%2e/b") == "climbs");
  CHECK(routed("/.%2e/x") == "climbs");
}

TEST_CASE("path: runs of slashes become one") {
  CHECK(routed("//internal") == "/internal");
  CHECK(routed("/a//b///c") == "/a/b/c");
  CHECK(routed("/a//") == "/a/");
  CHECK(routed("//") == "/");
}

TEST_CASE("path: unreserved characters are decoded, the rest upper-cased") {
  CHECK(routed("/%69nternal") == "/internal");
  CHECK(routed("/%7Euser/%2d%5f") == "/~user/-_");
  CHECK(routed("/%2e/a") == "/a");
  CHECK(routed("/a%20b") == "/a%20b");  // already canonical once checked
  CHECK(routed("/a%2fb") == "/a%2Fb");  // an encoded slash stays one segment
  CHECK(routed("/a%2F..%2Fb") == "/a%2F..%2Fb");
  CHECK(routed("/caf%c3%a9") == "/caf%C3%A9");
}

TEST_CASE("path: a broken percent-encoding is refused") {
  CHECK(routed("/a%") == "bad percent");
  CHECK(routed("/a%2") == "bad percent");
  CHECK(routed("/a%zz") == "bad percent");
  CHECK(routed("/a%2g/b") == "bad percent");
}
