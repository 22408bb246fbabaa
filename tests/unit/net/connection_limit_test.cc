#include <doctest/doctest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "net/connection_limit.h"

using fulcrum::net::ConnectionLimit;

namespace {

// Records what a worker would be told; full() is read when told, as a
// worker reads it when the posted notice runs.
class Recorder final : public ConnectionLimit::Member {
 public:
  explicit Recorder(ConnectionLimit& limit) : limit_(limit) {}
  void limitChanged() override { seen.push_back(limit_.full()); }
  std::vector<bool> seen;

 private:
  ConnectionLimit& limit_;
};

}  // namespace

TEST_CASE("the connection limit tells every member once when it is reached and once when freed") {
  ConnectionLimit limit(3);
  Recorder a(limit), b(limit);
  limit.join(a);
  limit.join(b);
  CHECK_FALSE(limit.add());
  CHECK_FALSE(limit.add());
  CHECK(a.seen.empty());
  CHECK(limit.add());  // the third reaches it: the caller stops at once
  CHECK(limit.full());
  CHECK(a.seen == std::vector<bool>{true});
  CHECK(b.seen == std::vector<bool>{true});
  // Past the limit (another worker's accept in flight): still full, not told again.
  CHECK(limit.add());
  CHECK(limit.active() == 4);
  limit.remove();  // 3: still at the limit
  CHECK(limit.full());
  CHECK(a.seen.size() == 1);
  limit.remove();  // 2: room again
  CHECK_FALSE(limit.full());
  CHECK(a.seen == std::vector<bool>{true, false});
  CHECK(b.seen == std::vector<bool>{true, false});
  limit.leave(b);
  CHECK(limit.add());
  CHECK(a.seen.size() == 3);
  CHECK(b.seen.size() == 2);  // gone: not told
  limit.remove(3);
  CHECK(limit.active() == 0);
  CHECK(a.seen.back() == false);
}

TEST_CASE("a new limit from a reload pauses or resumes at once") {
  ConnectionLimit limit(10);
  Recorder member(limit);
  limit.join(member);
  for (int i = 0; i < 5; ++i) CHECK_FALSE(limit.add());
  limit.setMax(5);
  CHECK(limit.full());
  CHECK(member.seen == std::vector<bool>{true});
  limit.setMax(6);
  CHECK_FALSE(limit.full());
  CHECK(member.seen == std::vector<bool>{true, false});
  limit.setMax(0);  // never below 1
  CHECK(limit.max() == 1);
}

TEST_CASE("connections held back by the limit are counted by listener") {
  ConnectionLimit limit(1);
  CHECK(limit.limited("web") == 0);
  limit.addLimited("web", 2);
  limit.addLimited("web", 1);
  limit.addLimited("ledger", 4);
  CHECK(limit.limited("web") == 3);
  CHECK(limit.limited("ledger") == 4);
  CHECK(limit.limited("other") == 0);
}

TEST_CASE("whatever the interleaving of accepts and closes, the limit ends in the right state") {
  ConnectionLimit limit(8);
  Recorder member(limit);
  limit.join(member);
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < 4; ++t)
    workers.emplace_back([&limit, t] {
      std::mt19937 random(t);
      int open = 0;
      for (int i = 0; i < 20000; ++i) {
        if (open == 0 || (open < 6 && random() % 2 == 0)) {
          limit.add();
          ++open;
        } else {
          limit.remove();
          --open;
        }
      }
      limit.remove(static_cast<size_t>(open));
    });
  for (auto& worker : workers) worker.join();
  CHECK(limit.active() == 0);
  CHECK_FALSE(limit.full());
  // Told in alternation, ending with "room again".
  for (size_t i = 0; i < member.seen.size(); ++i) CHECK(member.seen[i] == (i % 2 == 0));
  CHECK(member.seen.size() % 2 == 0);
}
