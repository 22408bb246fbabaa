// The memory ledger: claims, settling, release by the holder only, expiry
// on a fake clock, and the max_entries / max_memory bounds.
#include "ledger/memory_store.h"

#include <doctest/doctest.h>

#include "ledger/entry_codec.h"

#include <optional>

using namespace fulcrum;
using namespace std::chrono_literals;

namespace {

struct FakeClock {
  ledger::MemoryStore::Clock::time_point now{};
  ledger::MemoryStore::Now fn() {
    return [this] { return now; };
  }
};

ledger::ClaimResult claim(ledger::Store& store, const std::string& key, uint64_t token,
                          const std::string& fingerprint = "f1") {
  std::optional<ledger::ClaimResult> got;
  store.claim(key, fingerprint, token, 60s, [&](ledger::ClaimResult r) { got = std::move(r); });
  REQUIRE(got.has_value());  // the memory store answers before claim() returns
  return *got;
}

ledger::Settlement done(uint64_t token, std::string body) {
  ledger::Entry entry;
  entry.state = ledger::EntryState::Done;
  entry.fingerprint = "f1";
  entry.claim = token;
  entry.answer.status = 201;
  entry.answer.body = std::move(body);
  return ledger::settlementOf(entry);
}

// Settles `key` for `token` with `body`, at the claim's `place`.
void settleAt(ledger::Store& store, const std::string& key, uint64_t token, std::string body,
              uint64_t place) {
  ledger::Settlement settlement = done(token, std::move(body));
  settlement.place = place;
  store.settle(key, std::move(settlement), 10s, nullptr);
}

}  // namespace

TEST_CASE("memory ledger: the first claim holds the key, a second sees it in flight") {
  ledger::MemoryStore store({});
  CHECK(claim(store, "k", 1).status == ledger::ClaimStatus::Claimed);
  const ledger::ClaimResult second = claim(store, "k", 2, "f2");
  CHECK(second.status == ledger::ClaimStatus::Exists);
  CHECK(second.entry.state == ledger::EntryState::InFlight);
  CHECK(second.entry.fingerprint == "f1");
  CHECK(claim(store, "other", 3).status == ledger::ClaimStatus::Claimed);
  CHECK(store.entries() == 2);
}

TEST_CASE("memory ledger: a settled answer is what later claims get, until its ttl") {
  FakeClock clock;
  ledger::MemoryStore store({}, clock.fn());
  REQUIRE(claim(store, "k", 1).status == ledger::ClaimStatus::Claimed);
  store.settle("k", done(1, "paid"), 10s, nullptr);
  const ledger::ClaimResult again = claim(store, "k", 2);
  REQUIRE(again.status == ledger::ClaimStatus::Exists);
  CHECK(again.entry.state == ledger::EntryState::Done);
  CHECK(again.entry.answer.status == 201);
  CHECK(again.entry.answer.body == "paid");
  clock.now += 11s;
  CHECK(claim(store, "k", 3).status == ledger::ClaimStatus::Claimed);
}

TEST_CASE("memory ledger: only the claim's holder settles or releases it") {
  ledger::MemoryStore store({});
  REQUIRE(claim(store, "k", 1).status == ledger::ClaimStatus::Claimed);
  store.release("k", 99, nullptr);
  store.settle("k", done(99, "not mine"), 10s, nullptr);
  CHECK(claim(store, "k", 2).entry.state == ledger::EntryState::InFlight);
  store.release("k", 1, nullptr);
  CHECK(claim(store, "k", 3).status == ledger::ClaimStatus::Claimed);
  CHECK(store.entries() == 1);
}

TEST_CASE("memory ledger: a claim older than in_flight_timeout is abandoned and can be taken") {
  FakeClock clock;
  ledger::MemoryStore store({}, clock.fn());
  REQUIRE(claim(store, "k", 1).status == ledger::ClaimStatus::Claimed);
  clock.now += 59s;
  CHECK(claim(store, "k", 2).status == ledger::ClaimStatus::Exists);
  clock.now += 2s;
  CHECK(claim(store, "k", 3).status == ledger::ClaimStatus::Claimed);
  // The abandoned holder's late answer does not overwrite the new claim.
  store.settle("k", done(1, "late"), 10s, nullptr);
  CHECK(claim(store, "k", 4).entry.state == ledger::EntryState::InFlight);
}

TEST_CASE("memory ledger: max_entries pushes out the least recently used settled answer") {
  ledger::MemoryStore store({3, 1ull << 30});
  for (uint64_t i = 1; i <= 3; ++i) {
    const std::string key = "k" + std::to_string(i);
    REQUIRE(claim(store, key, i).status == ledger::ClaimStatus::Claimed);
    store.settle(key, done(i, "answer"), 60s, nullptr);
  }
  // k1 is used again: k2 is now the coldest.
  CHECK(claim(store, "k1", 10).status == ledger::ClaimStatus::Exists);
  CHECK(claim(store, "k4", 4).status == ledger::ClaimStatus::Claimed);
  CHECK(store.entries() == 3);
  ledger::Entry entry;
  CHECK(store.peek("k1", entry));
  CHECK_FALSE(store.peek("k2", entry));
  CHECK(store.peek("k3", entry));
}

TEST_CASE("memory ledger: claims in flight are never pushed out, a store full of them refuses") {
  ledger::MemoryStore store({2, 1ull << 30});
  REQUIRE(claim(store, "a", 1).status == ledger::ClaimStatus::Claimed);
  REQUIRE(claim(store, "b", 2).status == ledger::ClaimStatus::Claimed);
  const ledger::ClaimResult refused = claim(store, "c", 3);
  CHECK(refused.status == ledger::ClaimStatus::StoreError);
  CHECK_FALSE(refused.error.empty());
  CHECK(claim(store, "a", 4).status == ledger::ClaimStatus::Exists);
}

TEST_CASE("memory ledger: max_memory bounds the bytes kept, an answer too large is not kept") {
  ledger::MemoryStore store({1000, 4096});
  REQUIRE(claim(store, "small1", 1).status == ledger::ClaimStatus::Claimed);
  store.settle("small1", done(1, std::string(1500, 'a')), 60s, nullptr);
  REQUIRE(claim(store, "small2", 2).status == ledger::ClaimStatus::Claimed);
  store.settle("small2", done(2, std::string(1500, 'b')), 60s, nullptr);
  CHECK(store.memoryUsed() <= 4096);
  // A third pushes out the first.
  REQUIRE(claim(store, "small3", 3).status == ledger::ClaimStatus::Claimed);
  store.settle("small3", done(3, std::string(1500, 'c')), 60s, nullptr);
  CHECK(store.memoryUsed() <= 4096);
  ledger::Entry entry;
  CHECK_FALSE(store.peek("small1", entry));
  CHECK(store.peek("small3", entry));
  // Larger than the whole store: answered, but not kept.
  REQUIRE(claim(store, "huge", 4).status == ledger::ClaimStatus::Claimed);
  store.settle("huge", done(4, std::string(10000, 'h')), 60s, nullptr);
  REQUIRE(store.peek("huge", entry));
  CHECK(entry.state == ledger::EntryState::NotKept);
  CHECK(entry.answer.body.empty());
  CHECK(entry.fingerprint == "f1");  // which request it answered is still known
  CHECK(entry.claim == 4);
  CHECK(store.memoryUsed() <= 4096);
}

TEST_CASE(
    "memory ledger: inspect shows an entry, and its release frees the key whatever holds it") {
  ledger::MemoryStore store({});
  REQUIRE(claim(store, "k", 1).status == ledger::ClaimStatus::Claimed);
  auto inspect = [&store](bool release) {
    ledger::Inspection out;
    store.inspect("k", release, [&out](ledger::Inspection inspection) { out = inspection; });
    return out;
  };
  ledger::Inspection shown = inspect(false);
  CHECK(shown.result == ledger::Inspection::Result::Found);
  CHECK(shown.entry.state == ledger::EntryState::InFlight);
  CHECK(shown.entry.claim == 1);
  CHECK_FALSE(shown.released);
  CHECK(inspect(true).released);
  CHECK(inspect(true).result == ledger::Inspection::Result::NotFound);
  CHECK(claim(store, "k", 2).status == ledger::ClaimStatus::Claimed);
}

// The place a claim returns lets the settle skip the index; an old place
// never settles what its slot holds now.
TEST_CASE(
    "memory ledger: a settle at the claim's place settles it, a stale place settles nothing") {
  FakeClock clock;
  ledger::MemoryStore store({}, clock.fn());
  const ledger::ClaimResult first = claim(store, "k", 1);
  REQUIRE(first.status == ledger::ClaimStatus::Claimed);
  CHECK(first.place != 0);
  settleAt(store, "k", 1, "paid", first.place);
  const ledger::ClaimResult replay = claim(store, "k", 2);
  REQUIRE(replay.status == ledger::ClaimStatus::Exists);
  CHECK(replay.entry.state == ledger::EntryState::Done);
  CHECK(replay.entry.answer.body == "paid");

  // Released, its slot is a spare, and the next claim (another key) gets it.
  const ledger::ClaimResult a = claim(store, "a", 3);
  REQUIRE(a.status == ledger::ClaimStatus::Claimed);
  store.release("a", 3, nullptr);
  const ledger::ClaimResult b = claim(store, "b", 5);
  REQUIRE(b.status == ledger::ClaimStatus::Claimed);
  CHECK(b.place == a.place);
  // A's settle at that place: the slot holds b's claim now, nothing changes.
  settleAt(store, "a", 3, "a's answer", a.place);
  CHECK(claim(store, "a", 7).status == ledger::ClaimStatus::Claimed);
  CHECK(claim(store, "b", 9).entry.state == ledger::EntryState::InFlight);

  // The same key claimed again after its claim was abandoned, in the same
  // slot: the first holder's settle (its token) does not settle the second.
  clock.now += 61s;
  const ledger::ClaimResult again = claim(store, "b", 11);
  REQUIRE(again.status == ledger::ClaimStatus::Claimed);
  settleAt(store, "b", 5, "first holder", b.place);
  const ledger::ClaimResult seen = claim(store, "b", 13);
  REQUIRE(seen.status == ledger::ClaimStatus::Exists);
  CHECK(seen.entry.state == ledger::EntryState::InFlight);
  CHECK(seen.entry.claim == 11);
  settleAt(store, "b", 11, "second holder", again.place);
  const ledger::ClaimResult settled = claim(store, "b", 15);
  REQUIRE(settled.status == ledger::ClaimStatus::Exists);
  CHECK(settled.entry.answer.body == "second holder");
  CHECK(store.entries() == 3);  // k, a, b
}

TEST_CASE(
    "memory ledger: long keys are kept, found and settled like short ones, also in the "
    "slot a released key left") {
  ledger::MemoryStore store({});
  const std::string long_key(300, 'L');
  const std::string other_long(300, 'M');  // the same length, another key
  const std::string short_key = "s";
  const ledger::ClaimResult first = claim(store, long_key, 1);
  REQUIRE(first.status == ledger::ClaimStatus::Claimed);
  const ledger::ClaimResult second = claim(store, other_long, 2);
  CHECK(second.status == ledger::ClaimStatus::Claimed);
  settleAt(store, long_key, 1, "long answer", first.place);
  const ledger::ClaimResult replay = claim(store, long_key, 3);
  REQUIRE(replay.status == ledger::ClaimStatus::Exists);
  CHECK(replay.entry.answer.body == "long answer");
  CHECK(claim(store, long_key.substr(0, 299), 4).status == ledger::ClaimStatus::Claimed);

  // A long key's slot, released, is the spare a short key gets.
  store.release(other_long, 2, nullptr);
  const ledger::ClaimResult in_spare = claim(store, short_key, 5);
  REQUIRE(in_spare.status == ledger::ClaimStatus::Claimed);
  CHECK(in_spare.place == second.place);
  CHECK(claim(store, other_long, 6).status == ledger::ClaimStatus::Claimed);
  settleAt(store, short_key, 5, "short answer", in_spare.place);
  CHECK(claim(store, short_key, 7).entry.answer.body == "short answer");
  CHECK(claim(store, other_long, 8).entry.state == ledger::EntryState::InFlight);
  CHECK(store.entries() == 4);
}

TEST_CASE("memory ledger: expectClaim is a hint, it holds and changes nothing") {
  ledger::MemoryStore store({});
  store.expectClaim("k");
  CHECK(store.entries() == 0);
  CHECK(store.memoryUsed() == 0);
  CHECK(claim(store, "k", 1).status == ledger::ClaimStatus::Claimed);
  store.expectClaim("k");  // a key already held: the claim after it still sees the holder
  CHECK(claim(store, "k", 2).status == ledger::ClaimStatus::Exists);
  CHECK(store.entries() == 1);
}
