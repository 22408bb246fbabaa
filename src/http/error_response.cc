#include "http/error_response.h"

#include <string>

#include "core/access_log.h"

namespace fulcrum::http {
namespace {

// The proxy's own statuses: the "error" code of the JSON body and the
// generic text a client sees (the detail goes to the log only).
struct StatusText {
  int status;
  const char* code;
  const char* message;
};

constexpr StatusText kStatusTexts[] = {
    {400, "bad_request", "the request is malformed"},
    {404, "no_route", "no route matches this request"},
    {405, "method_not_allowed", "the method is not allowed for this request target"},
    {408, "request_timeout", "the request did not arrive in time"},
    {413, "body_too_large", "the request body is larger than allowed"},
    {414, "uri_too_long", "the request target is too long"},
    {431, "headers_too_large", "the request header fields are too large"},
    {502, "bad_gateway", "the server failed to answer properly"},
    {503, "service_unavailable", "no server is available"},
    {501, "not_implemented", "the request uses a transfer coding the proxy does not support"},
    {504, "gateway_timeout", "the server did not answer in time"},
};
constexpr StatusText kOtherStatus{0, "error", "the request failed"};

const StatusText& statusText(int status) {
  for (const StatusText& text : kStatusTexts)
    if (text.status == status) return text;
  return kOtherStatus;
}

}  // namespace

const char* publicMessage(int status) {
  return statusText(status).message;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 422:
      return "Unprocessable Content";
    case 425:
      return "Too Early";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

size_t writeErrorResponse(evbuffer* out, const ErrorResponse& response) {
  std::string body = "{\"status\":" + std::to_string(response.status) + ",\"error\":\"" +
                     statusText(response.status).code + "\",\"message\":";
  appendJsonString(body, response.outcome_unknown
                             ? std::string_view("the request reached a server that did not answer; "
                                                "it may have been processed: look it up before "
                                                "sending it again")
                             : response.message);
  if (response.outcome_unknown) body += ",\"outcome\":\"unknown\"";
  body += ",\"request_id\":";
  appendJsonString(body, response.request_id);
  body += "}\n";
  std::string head =
      "HTTP/1.1 " + std::to_string(response.status) + " " + reasonPhrase(response.status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nCache-Control: no-store\r\n";
  if (!response.request_id.empty()) {
    head += "X-Request-Id: ";
    head += response.request_id;
    head += "\r\n";
  }
  if (response.retry_after_seconds > 0)
    head += "Retry-After: " + std::to_string(response.retry_after_seconds) + "\r\n";
  if (response.outcome_unknown) head += "X-Fulcrum-Outcome: unknown\r\n";
  if (response.attempts > 0)
    head += "X-Fulcrum-Attempts: " + std::to_string(response.attempts) + "\r\n";
  if (response.close) head += "Connection: close\r\n";
  head += "\r\n";
  evbuffer_add(out, head.data(), head.size());
  evbuffer_add(out, body.data(), body.size());
  return head.size() + body.size();
}

}  // namespace fulcrum::http
