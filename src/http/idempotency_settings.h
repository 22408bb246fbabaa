// A route's idempotency ledger (routes[].idempotency), as one config
// generation built it: which requests it watches, how long it keeps what,
// and under which key prefix. Immutable and shared by every worker; the
// store is the worker's (HttpSessionParams::ledger_store).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fulcrum::http {

struct IdempotencySettings {
  std::string header = "Idempotency-Key";
  std::vector<std::string> methods{"POST", "PATCH"};  // upper case
  bool require_key = false;                           // a watched request without a key gets 400
  std::string scope_header;  // keys are unique per value of this field; empty: none
  std::chrono::milliseconds ttl{24 * 3600 * 1000};
  std::chrono::milliseconds in_flight_timeout{60 * 1000};
  uint64_t max_response = 64 * 1024;    // larger answers are not kept
  bool forward_on_store_error = false;  // on_store_error: forward (else reject: 503)
  bool hold_unknown = true;             // on_unknown_outcome: hold (else release)
  std::string key_prefix = "fulcrum:idem:";

  bool watches(std::string_view method) const {
    for (const std::string& watched : methods)
      if (watched == method) return true;
    return false;
  }
};

}  // namespace fulcrum::http
