// Requests and answers for tests of the idempotency ledger: a backend
// answer that numbers each charge (so a second charge shows), keyed POSTs,
// and the parts of a raw response a test compares.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "support/raw_backend.h"

namespace fulcrum::test {

// `status` with body {"charge":N} for the Nth request a backend got (from 0).
RawAnswer charge(size_t index, int status = 201);

// A POST to `path` with `body`, keyed when `key` is not empty.
std::string keyedPost(const std::string& key, const std::string& body,
                      const std::string& extra_fields = "",
                      const std::string& path = "/v1/payments");

// The body of a raw response ("" when none).
std::string responseBody(const std::optional<std::string>& response);

// A response without the fields fulcrum adds (withoutForwardingFields) and
// without Idempotent-Replayed: a replay compares equal to the first answer.
std::string comparable(const std::string& response);

// Config text: listener "web" over `backend`, a ledger on /v1/payments
// with `options` (flow mapping entries) and the store `store` (flow
// mapping entries; empty: the default memory store), a catch-all without.
std::string ledgerYaml(uint16_t backend, const std::string& options = "",
                       const std::string& store = "");

// HttpConfig::global_extra for the store `store` (as in ledgerYaml).
std::string storeLines(const std::string& store);

}  // namespace fulcrum::test
