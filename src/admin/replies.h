// How the admin listener writes its answers (evhttp): every body with its
// type, no caching and no type sniffing; errors as a small JSON object;
// and the client's address and text made fit for a log line.
#pragma once

#include <event2/http.h>

#include <string>
#include <string_view>

namespace fulcrum::admin {

inline constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr const char* kTextType = "text/plain; charset=utf-8";
inline constexpr const char* kHtmlType = "text/html; charset=utf-8";
inline constexpr const char* kJsonType = "application/json";

void reply(evhttp_request* request, int code, const char* reason, const char* content_type,
           std::string_view body);
// {"error": message}, as JSON.
void replyError(evhttp_request* request, int code, const char* reason, std::string_view message);
// 405 with the Allow field.
void replyMethodNotAllowed(evhttp_request* request, const char* allow);
// Client text made fit for a log line: no control bytes (a forged Host
// could carry terminal escapes), and not too long.
std::string printable(std::string_view text);
// "ADDRESS:PORT" of the request's client, "?" once it has gone.
std::string peerOf(evhttp_request* request);

}  // namespace fulcrum::admin
