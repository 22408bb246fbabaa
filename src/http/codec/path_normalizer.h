// The path a route sees, made canonical (RFC 3986 section 6.2.2), so that
// `/upload/../internal` cannot match the `/upload/` route and `//internal`
// or `/%69nternal` cannot slip past the `/internal` one:
//  - percent-encoded unreserved characters (ALPHA DIGIT - . _ ~) are
//    decoded, the hex of every other percent-encoding is upper-cased, and
//    `%2F` stays encoded (decoding it would turn one segment into two);
//  - runs of `/` become one (nginx's merge_slashes);
//  - `.` and `..` segments are removed; a `..` that would climb above the
//    root is an error, not silently dropped, because no honest client
//    sends one.
// The query is passed on untouched. Pure: no allocation when the path is
// already canonical, which is what almost every request carries.
#pragma once

#include <string>
#include <string_view>

namespace fulcrum::http {

enum class PathVerdict {
  Canonical,   // the path is already canonical; `out` is untouched
  Normalized,  // `out` holds the canonical path (and query)
  Climbs,      // a `..` segment climbs above the root
  BadPercent,  // a `%` not followed by two hex digits
};

// `target` is an origin-form target: "/path" with an optional "?query".
// The asterisk-form "*" is Canonical.
PathVerdict normalizePath(std::string_view target, std::string& out);

}  // namespace fulcrum::http
