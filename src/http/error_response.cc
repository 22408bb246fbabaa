#include "http/error_response.h"

#include <string>

#include "core/access_log.h"

namespace fulcrum::http {
namespace {

const char* errorCode(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 404:
      return "no_route";
    case 408:
      return "request_timeout";
    case 413:
      return "body_too_large";
    case 414:
      return "uri_too_long";
    case 431:
      return "headers_too_large";
    case 502:
      return "bad_gateway";
    case 503:
      return "service_unavailable";
    case 504:
      return "gateway_timeout";
    default:
      return "error";
  }
}

}  // namespace

const char* reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
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
                     errorCode(response.status) + "\",\"message\":";
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
