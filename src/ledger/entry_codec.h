// An Entry as one binary-safe string, for stores that keep bytes (Redis).
// The text of an in-flight claim depends only on its fingerprint and
// token, so a store can tell "still my claim" by comparing strings.
#pragma once

#include <string>
#include <string_view>

#include "ledger/store.h"

namespace fulcrum::ledger {

std::string encodeEntry(const Entry& entry);
// False when `text` is not an encodeEntry() result (another writer's key).
bool decodeEntry(std::string_view text, Entry& out);

}  // namespace fulcrum::ledger
