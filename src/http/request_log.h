// The access log line of one HTTP request (JSON, one line): who asked for
// what, what they got, which server answered, and where the time went.
// Built only when the access log is on.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/exchange.h"

namespace fulcrum::http {

struct RequestLogEntry {
  std::string_view listener;
  std::string_view client;
  std::string_view request_id;
  std::string_view method;
  std::string_view path;
  int status = 0;
  uint64_t bytes_in = 0;                     // request body bytes forwarded
  uint64_t bytes_out = 0;                    // response bytes sent to the client
  std::string_view upstream;                 // empty when no route matched
  const ExchangeResult* exchange = nullptr;  // null when answered by the proxy alone
  std::chrono::steady_clock::time_point started;
  std::string_view detail;
};

std::string formatRequestLog(const RequestLogEntry& entry);

}  // namespace fulcrum::http
