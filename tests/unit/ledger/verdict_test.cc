// The ledger's rules: what a repeat gets for each state of the first
// request's entry, which answers release the key, valid keys, and the
// fingerprint and storage key digests.
#include "ledger/verdict.h"

#include <doctest/doctest.h>

#include "ledger/fingerprint.h"

using namespace fulcrum;

namespace {

ledger::ClaimResult existing(ledger::EntryState state, std::string fingerprint) {
  ledger::ClaimResult result;
  result.status = ledger::ClaimStatus::Exists;
  result.entry.state = state;
  result.entry.fingerprint = std::move(fingerprint);
  return result;
}

std::string fingerprint(std::string_view method, std::string_view target, std::string_view body) {
  ledger::FingerprintBuilder builder(method, target);
  // Fed in two pieces: the digest must not depend on how the body arrived.
  builder.addBody(body.substr(0, body.size() / 2));
  builder.addBody(body.substr(body.size() / 2));
  return builder.finish();
}

}  // namespace

TEST_CASE("ledger verdict: each state of the first request's entry gives its answer") {
  using ledger::EntryState;
  using ledger::Verdict;
  ledger::ClaimResult claimed;
  claimed.status = ledger::ClaimStatus::Claimed;
  CHECK(ledger::judge(claimed, "f") == Verdict::Forward);
  CHECK(ledger::judge(ledger::ClaimResult{}, "f") == Verdict::StoreError);
  CHECK(ledger::judge(existing(EntryState::InFlight, "f"), "f") == Verdict::InFlight);
  CHECK(ledger::judge(existing(EntryState::Done, "f"), "f") == Verdict::Replay);
  CHECK(ledger::judge(existing(EntryState::NotKept, "f"), "f") == Verdict::NotKept);
  CHECK(ledger::judge(existing(EntryState::Unknown, "f"), "f") == Verdict::UnknownHeld);
  CHECK(ledger::judge(existing(EntryState::Done, "f"), "g") == Verdict::Mismatch);
  CHECK(ledger::judge(existing(EntryState::InFlight, "f"), "g") == Verdict::Mismatch);
}

TEST_CASE("ledger verdict: answers that ask for a retry release the key") {
  for (int status : {408, 425, 429, 502, 503, 504}) CHECK(ledger::asksForRetry(status));
  for (int status : {200, 201, 400, 402, 404, 409, 422, 500})
    CHECK_FALSE(ledger::asksForRetry(status));
}

TEST_CASE("ledger verdict: a key is a token or a quoted string of 1-255 bytes") {
  std::string key;
  CHECK(ledger::parseKey("8e03978e-40d5-43e8-bc93-6894a57f9324", key));
  CHECK(key == "8e03978e-40d5-43e8-bc93-6894a57f9324");
  CHECK(ledger::parseKey("\"a b\\\"c\"", key));
  CHECK(key == "a b\"c");
  CHECK(ledger::parseKey(std::string(255, 'k'), key));
  CHECK_FALSE(ledger::parseKey(std::string(256, 'k'), key));
  CHECK_FALSE(ledger::parseKey("", key));
  CHECK_FALSE(ledger::parseKey("\"\"", key));
  CHECK_FALSE(ledger::parseKey("a b", key));
  CHECK_FALSE(ledger::parseKey("a,b", key));
  CHECK_FALSE(ledger::parseKey("\"bad\\n\"", key));
}

TEST_CASE("ledger fingerprint: method, target and body each change it, chunking does not") {
  const std::string base = fingerprint("POST", "/v1/payments", "{\"amount\":100}");
  CHECK(base.size() == 64);
  CHECK(base == fingerprint("POST", "/v1/payments", "{\"amount\":100}"));
  CHECK(base != fingerprint("PATCH", "/v1/payments", "{\"amount\":100}"));
  CHECK(base != fingerprint("POST", "/v1/payment", "{\"amount\":100}"));
  CHECK(base != fingerprint("POST", "/v1/payments", "{\"amount\":101}"));
  // The parts are separated: moving a byte from target to body changes it.
  CHECK(fingerprint("POST", "/ab", "c") != fingerprint("POST", "/a", "bc"));
}

TEST_CASE("ledger storage key: fixed length, the scope apart, no client text in clear") {
  const std::string a = ledger::storageKey("fulcrum:idem:", "Bearer secret", "key-1");
  CHECK(a.rfind("fulcrum:idem:", 0) == 0);
  CHECK(a.size() == 13 + 64);
  CHECK(a.find("secret") == std::string::npos);
  CHECK(a.find("key-1") == std::string::npos);
  CHECK(a != ledger::storageKey("fulcrum:idem:", "Bearer other", "key-1"));
  CHECK(a != ledger::storageKey("fulcrum:idem:", "Bearer secret", "key-2"));
  CHECK(ledger::storageKey("", "ab", "c") != ledger::storageKey("", "a", "bc"));
}

TEST_CASE(
    "ledger digests: SHA-256 of the parts with a zero byte between them, as every instance "
    "of a fleet computes them") {
  // A fleet shares one Redis through upgrades: a key filed by one version
  // must be found by the next, so the digests are pinned to their values.
  CHECK(fingerprint("POST", "/v1/payments", "{\"amount\":100}") ==
        "c7ecb80df366e425883cc93b2e3b5924438d67a1ee6a5f545a5c35a6af1371e7");
  CHECK(ledger::storageKey("fulcrum:idem:", "Bearer secret", "key-1") ==
        "fulcrum:idem:ae584e5dc0df7f727744083b50dc30c0b691c6958ecd36c9ba5e6bb7f777e53c");
}
