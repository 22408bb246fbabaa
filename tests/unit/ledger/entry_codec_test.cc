// Entries as the stores keep them: every state round-trips, binary bodies
// and header values included, an answer encoded as it streams decodes as
// the same answer encoded whole, and text that is not an entry is refused.
#include "ledger/entry_codec.h"

#include <doctest/doctest.h>

using namespace fulcrum;

namespace {

// A kept answer's entry, without fields or body yet.
ledger::Entry keptEntry(uint64_t claim, int status, std::string reason) {
  ledger::Entry entry;
  entry.state = ledger::EntryState::Done;
  entry.fingerprint = std::string(64, 'f');
  entry.claim = claim;
  entry.answer.status = status;
  entry.answer.reason = std::move(reason);
  return entry;
}

void checkSameEntry(const ledger::Entry& got, const ledger::Entry& expected) {
  CHECK(got.state == expected.state);
  CHECK(got.fingerprint == expected.fingerprint);
  CHECK(got.claim == expected.claim);
  CHECK(got.answer.status == expected.answer.status);
  CHECK(got.answer.reason == expected.answer.reason);
  CHECK(got.answer.headers == expected.answer.headers);
  CHECK(got.answer.body == expected.answer.body);
}

}  // namespace

TEST_CASE("entry codec: a kept answer round-trips byte for byte") {
  ledger::Entry entry = keptEntry(0xfedcba9876543211ull, 201, "Created Here");
  entry.answer.headers = {{"Content-Type", "application/json"}, {"X-Empty", ""}};
  entry.answer.body = std::string("a\0b\n12:3:", 9);
  ledger::Entry back;
  REQUIRE(ledger::decodeEntry(ledger::encodeEntry(entry), back));
  checkSameEntry(back, entry);
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

TEST_CASE("entry codec: an answer encoded as it streams decodes as the whole answer") {
  ledger::Entry whole = keptEntry(18446744073709551615ull, 200, "OK");
  for (int i = 0; i < 12; ++i)
    whole.answer.headers.emplace_back("X-Field-" + std::to_string(i), std::string(i, ':'));
  whole.answer.body = std::string("12:\0", 4) + std::string(70000, 'b');

  ledger::AnswerEncoder streamed;
  streamed.start(whole.claim, whole.fingerprint, 200, "OK");
  for (const auto& [name, value] : whole.answer.headers) streamed.field(name, value);
  streamed.startBody();
  CHECK(streamed.bodySize() == 0);
  // In pieces, as the body arrives.
  for (size_t at = 0; at < whole.answer.body.size(); at += 4096)
    streamed.body(std::string_view(whole.answer.body).substr(at, 4096));
  CHECK(streamed.bodySize() == whole.answer.body.size());

  ledger::Entry back;
  REQUIRE(ledger::decodeEntry(streamed.finish(), back));
  ledger::Entry expected;
  REQUIRE(ledger::decodeEntry(ledger::encodeEntry(whole), expected));
  checkSameEntry(back, expected);
  checkSameEntry(back, whole);
}

TEST_CASE("entry codec: an answer without fields or body streams too") {
  ledger::AnswerEncoder streamed;
  streamed.start(5, "fp", 204, "");
  streamed.startBody();
  ledger::Entry back;
  REQUIRE(ledger::decodeEntry(streamed.finish(), back));
  CHECK(back.state == ledger::EntryState::Done);
  CHECK(back.claim == 5);
  CHECK(back.answer.status == 204);
  CHECK(back.answer.headers.empty());
  CHECK(back.answer.body.empty());
}

TEST_CASE("entry codec: settlementOf carries the entry's claim and state with its encoding") {
  ledger::Entry entry;
  entry.state = ledger::EntryState::Unknown;
  entry.fingerprint = "abc";
  entry.claim = 9;
  const ledger::Settlement settlement = ledger::settlementOf(entry);
  CHECK(settlement.claim == 9);
  CHECK(settlement.state == ledger::EntryState::Unknown);
  CHECK(settlement.bytes == ledger::encodeEntry(entry));
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
