#include "ledger/verdict.h"

#include "core/http_chars.h"

namespace fulcrum::ledger {
namespace {

constexpr size_t kMaxKey = 255;

}  // namespace

Verdict judge(const ClaimResult& claim, std::string_view fingerprint) {
  switch (claim.status) {
    case ClaimStatus::Claimed:
      return Verdict::Forward;
    case ClaimStatus::StoreError:
      return Verdict::StoreError;
    case ClaimStatus::Exists:
      break;
  }
  const Entry& entry = claim.entry;
  // A different request under the same key is the client's bug, whatever
  // state the first is in (Stripe checks the parameters first too).
  if (entry.fingerprint != fingerprint) return Verdict::Mismatch;
  switch (entry.state) {
    case EntryState::InFlight:
      return Verdict::InFlight;
    case EntryState::Done:
      return Verdict::Replay;
    case EntryState::NotKept:
      return Verdict::NotKept;
    case EntryState::Unknown:
      return Verdict::UnknownHeld;
  }
  return Verdict::StoreError;
}

bool asksForRetry(int status) {
  return status == 408 || status == 425 || status == 429 || status == 502 || status == 503 ||
         status == 504;
}

bool parseKey(std::string_view value, std::string& key) {
  key.clear();
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    // sf-string: printable ASCII, with \" and \\ escaped.
    for (size_t i = 1; i + 1 < value.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(value[i]);
      if (c == '\\') {
        if (i + 2 >= value.size()) return false;
        c = static_cast<unsigned char>(value[++i]);
        if (c != '"' && c != '\\') return false;
      } else if (c == '"' || c < 0x20 || c > 0x7e) {
        return false;
      }
      key.push_back(static_cast<char>(c));
    }
  } else {
    if (!core::http_chars::isToken(value)) return false;
    key.assign(value);
  }
  return !key.empty() && key.size() <= kMaxKey;
}

}  // namespace fulcrum::ledger
