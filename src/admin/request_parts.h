// The pieces of an admin request that need care: percent-decoded path
// segments (server labels contain ':' and may arrive as "%3A") and the
// token checks. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fulcrum::admin {

// Splits an absolute path ("/api/upstreams/pool/servers/127.0.0.1%3A9001/drain",
// without the query) on '/' and percent-decodes each segment; '+' stays '+'.
// "/" gives one empty segment, "/a/" gives "a" and "". Returns false for a
// path not starting with '/', a '%' not followed by two hex digits, or an
// encoded NUL.
bool decodePathSegments(std::string_view path, std::vector<std::string>& segments);

// `text` without the spaces and tabs around it (a field value's OWS).
std::string_view trimBlanks(std::string_view text);

// True when `authorization` (the header value, may be null) is
// "Bearer <token>" (scheme case-insensitive) carrying exactly `token`. The
// comparison takes the same time wherever the first difference is, and
// whatever the lengths: it compares SHA-256 digests with CRYPTO_memcmp.
bool bearerTokenMatches(const char* authorization, const std::string& token);

// True when `authorization` is "Basic <base64 of user:password>" whose
// password is exactly `token` (any user), compared as above. A browser
// prompts for these and then sends them by itself, also with requests
// other sites make it send: they may open the status page, never /api.
bool basicPasswordMatches(const char* authorization, const std::string& token);

}  // namespace fulcrum::admin
