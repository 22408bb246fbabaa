// Entries as Redis keeps them: every state round-trips, binary bodies and
// header values included, and text that is not an entry is refused.
#include "ledger/entry_codec.h"

#include <doctest/doctest.h>

using namespace fulcrum;

TEST_CASE("entry codec: a kept answer round-trips byte for byte") {
  ledger::Entry entry;
  entry.state = ledger::EntryState::Done;
  entry.fingerprint = std::string(64, 'f');
  entry.claim = 0xfedcba9876543211ull;
  entry.answer.status = 201;
  entry.answer.reason = "Created Here";
  entry.answer.headers = {{"Content-Type", "application/json"}, {"X-Empty", ""}};
  entry.answer.body = std::string("a\0b\n12:3:", 9);
  ledger::Entry back;
  REQUIRE(ledger::decodeEntry(ledger::encodeEntry(entry), back));
  CHECK(back.state == entry.state);
  CHECK(back.fingerprint == entry.fingerprint);
  CHECK(back.claim == entry.claim);
  CHECK(back.answer.status == 201);
  CHECK(back.answer.reason == entry.answer.reason);
  CHECK(back.answer.headers == entry.answer.headers);
  CHECK(back.answer.body == entry.answer.body);
}

TEST_CASE("entry codec: claims and settled states without answers round-trip") {
  for (auto state :
       {ledger::EntryState::InFlight, ledger::EntryState::NotKept, ledger::EntryState::Unknown}) {
    ledger::Entry entry;
    entry.state = state;
    entry.fingerprint = "abc";
    entry.claim = 7;
    ledger::Entry back;
    REQUIRE(ledger::decodeEntry(ledger::encodeEntry(entry), back));
    CHECK(back.state == state);
    CHECK(back.claim == 7);
    CHECK(back.fingerprint == "abc");
  }
}

TEST_CASE("entry codec: text that is not an entry is refused") {
  ledger::Entry back;
  CHECK_FALSE(ledger::decodeEntry("", back));
  CHECK_FALSE(ledger::decodeEntry("hello", back));
  CHECK_FALSE(ledger::decodeEntry("fl1 9 1 0 f\n", back));
  ledger::Entry done;
  done.state = ledger::EntryState::Done;
  done.answer.body = "body";
  const std::string text = ledger::encodeEntry(done);
  CHECK_FALSE(ledger::decodeEntry(text.substr(0, text.size() - 1), back));
  CHECK_FALSE(ledger::decodeEntry(text + "x", back));
}
