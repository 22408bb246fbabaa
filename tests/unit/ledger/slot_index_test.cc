// The memory ledger's open-addressed index: finds what was inserted,
// forgets what was erased, and keeps every other key findable when keys
// share a hash or a probe run, across growth and backward-shift erasure.
#include "ledger/slot_index.h"

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <random>
#include <string>

using namespace fulcrum;

namespace {

struct TestSlot {
  std::string name;
  std::string_view key() const { return name; }
};

using Index = ledger::SlotIndex<TestSlot>;

// Every key of `live` is found as its own slot; every key of `gone` is not.
void checkAll(const Index& index, const std::map<std::string, std::unique_ptr<TestSlot>>& live,
              const std::map<std::string, uint64_t>& hashes, const std::vector<std::string>& gone) {
  for (const auto& [key, slot] : live) CHECK(index.find(key, hashes.at(key)) == slot.get());
  for (const std::string& key : gone) CHECK(index.find(key, hashes.at(key)) == nullptr);
  CHECK(index.size() == live.size());
}

}  // namespace

TEST_CASE("slot index: inserted keys are found, erased ones are not, across growth") {
  Index index(std::pmr::new_delete_resource());
  std::map<std::string, std::unique_ptr<TestSlot>> live;
  std::map<std::string, uint64_t> hashes;
  std::vector<std::string> gone;
  // Past the initial 1,024 pairs, so the table grows several times.
  for (int i = 0; i < 5000; ++i) {
    std::string key = "key-" + std::to_string(i);
    auto slot = std::make_unique<TestSlot>(TestSlot{key});
    hashes[key] = Index::hash(key);
    index.insert(hashes[key], slot.get());
    live[key] = std::move(slot);
  }
  for (int i = 0; i < 5000; i += 3) {
    std::string key = "key-" + std::to_string(i);
    index.erase(hashes[key], live[key].get());
    live.erase(key);
    gone.push_back(key);
  }
  checkAll(index, live, hashes, gone);
  CHECK(index.find("never-inserted", Index::hash("never-inserted")) == nullptr);
}

TEST_CASE("slot index: keys that share a hash or a probe run stay findable when one leaves") {
  Index index(std::pmr::new_delete_resource());
  std::map<std::string, std::unique_ptr<TestSlot>> live;
  std::map<std::string, uint64_t> hashes;
  std::vector<std::string> gone;
  // Hashes chosen to collide: equal hashes, homes next to each other, and a
  // run that wraps past the end of the table (1,024 pairs before growth).
  const std::pair<const char*, uint64_t> placed[] = {
      {"a", 5},    {"b", 5},    {"c", 6},    {"d", 5}, {"e", 7},       {"f", 1023},
      {"g", 1023}, {"h", 1022}, {"i", 2047}, {"j", 0}, {"k", 1024 + 5}};
  for (const auto& [key, hash] : placed) {
    auto slot = std::make_unique<TestSlot>(TestSlot{key});
    hashes[key] = hash;
    index.insert(hash, slot.get());
    live[key] = std::move(slot);
  }
  checkAll(index, live, hashes, gone);
  // Erase from the head, the middle and the wrapped part of the runs,
  // checking everything after each.
  for (const char* key : {"a", "c", "f", "j", "d", "g"}) {
    index.erase(hashes[key], live[key].get());
    live.erase(key);
    gone.push_back(key);
    checkAll(index, live, hashes, gone);
  }
}

TEST_CASE("slot index: random inserts and erases agree with a map") {
  Index index(std::pmr::new_delete_resource());
  std::map<std::string, std::unique_ptr<TestSlot>> live;
  std::map<std::string, uint64_t> hashes;
  std::mt19937 random(7);
  // Few distinct hashes so runs are long and erasure shifts a lot.
  for (int step = 0; step < 20000; ++step) {
    std::string key = "k" + std::to_string(random() % 3000);
    if (!hashes.count(key)) hashes[key] = random() % 64;
    auto found = live.find(key);
    if (found == live.end()) {
      auto slot = std::make_unique<TestSlot>(TestSlot{key});
      index.insert(hashes[key], slot.get());
      live[key] = std::move(slot);
    } else {
      index.erase(hashes[key], found->second.get());
      live.erase(found);
    }
  }
  std::vector<std::string> gone;
  for (const auto& [key, hash] : hashes)
    if (!live.count(key)) gone.push_back(key);
  checkAll(index, live, hashes, gone);
}

TEST_CASE("slot index: sized at start for the entries expected, it holds them without growing") {
  Index small(std::pmr::new_delete_resource());
  CHECK(small.capacity() == 1024);
  Index index(std::pmr::new_delete_resource(), 3000);
  const size_t capacity = index.capacity();
  CHECK(capacity >= 6000);
  CHECK(capacity < 12000);
  CHECK((capacity & (capacity - 1)) == 0);
  std::vector<std::unique_ptr<TestSlot>> slots;
  for (int i = 0; i < 3000; ++i) {
    slots.push_back(std::make_unique<TestSlot>(TestSlot{"key-" + std::to_string(i)}));
    index.insert(Index::hash(slots.back()->name), slots.back().get());
  }
  CHECK(index.capacity() == capacity);
  for (const auto& slot : slots)
    CHECK(index.find(slot->name, Index::hash(slot->name)) == slot.get());
  // Past what it was sized for, it still grows.
  for (int i = 3000; i < 5000; ++i) {
    slots.push_back(std::make_unique<TestSlot>(TestSlot{"key-" + std::to_string(i)}));
    index.insert(Index::hash(slots.back()->name), slots.back().get());
  }
  CHECK(index.capacity() > capacity);
  for (const auto& slot : slots)
    CHECK(index.find(slot->name, Index::hash(slot->name)) == slot.get());
}
