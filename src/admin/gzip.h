// gzip (RFC 1952) compression of admin answers with zlib, and the
// Accept-Encoding test that decides when to use it. Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace fulcrum::admin {

// The gzip member holding `data`. Returns false only when zlib fails (out of
// memory); `out` is then unspecified.
bool gzipCompress(std::string_view data, std::string& out);

// True when an Accept-Encoding value lists gzip (or x-gzip) with a
// non-zero q: "gzip", "deflate, gzip;q=0.8", but not "gzip;q=0" or
// "gzipped". Null (no header) means no.
bool acceptsGzip(const char* accept_encoding);

}  // namespace fulcrum::admin
