// When a snapshot is due: ZooKeeper's randomized halves.
#include <catch2/catch.hpp>

#include <set>

#include "actors/snapshotter/trigger.hpp"

namespace zkd::snapshotter {
namespace {

// Records logged one at a time until the trigger fires.
uint64_t records_until_due(snapshot_trigger& t) {
  uint64_t n = 0;
  while (!t.logged(1, 10))
    ++n;
  return n + 1;
}

TEST_CASE("a snapshot is due after count/2 + [0, count/2) records") {
  std::set<uint64_t> seen;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    snapshot_trigger t(1000, 0, seed);
    auto n = records_until_due(t);
    CHECK(n > 500);
    CHECK(n <= 1000);
    CHECK(n == t.record_threshold() + 1);
    seen.insert(n);
  }
  // Members of an ensemble do not all snapshot at the same count.
  CHECK(seen.size() > 100);
}

TEST_CASE("the same seed gives the same thresholds; each round draws anew") {
  snapshot_trigger a(10000, 1 << 20, 5), b(10000, 1 << 20, 5);
  std::set<uint64_t> rounds;
  for (int i = 0; i < 20; ++i) {
    CHECK(a.record_threshold() == b.record_threshold());
    CHECK(a.byte_threshold() == b.byte_threshold());
    rounds.insert(a.record_threshold());
    a.restart();
    b.restart();
  }
  CHECK(rounds.size() > 10);
}

TEST_CASE("the byte limit fires on its own, and 0 turns it off") {
  snapshot_trigger t(100000, 1000, 1);
  CHECK(t.byte_threshold() >= 500);
  CHECK(t.byte_threshold() < 1000);
  CHECK_FALSE(t.logged(1, 499));
  CHECK(t.logged(1, 1000));
  t.restart();
  CHECK(t.records_since() == 0);
  CHECK(t.bytes_since() == 0);
  CHECK_FALSE(t.logged(1, 10));

  snapshot_trigger off(100000, 0, 1);
  CHECK(off.byte_threshold() == 0);
  CHECK_FALSE(off.logged(1, uint64_t{1} << 40));
}

TEST_CASE("with a tree percent, a large tree spaces snapshots further") {
  // 1000 znodes at 100%: between 500 and 1000 records, the count's 10..20
  // is below it.
  snapshot_trigger t(20, 0, 3, 100, 1000);
  CHECK(t.record_threshold() >= 500);
  CHECK(t.record_threshold() < 1000);
  // A tree below the count leaves ZooKeeper's rule in charge.
  t.restart(8);
  CHECK(t.record_threshold() >= 10);
  CHECK(t.record_threshold() < 20);
  // 200% of 10^6 znodes: 10^6 + [0, 10^6).
  t = snapshot_trigger(20, 0, 4, 200, 1000000);
  CHECK(t.record_threshold() >= 1000000);
  CHECK(t.record_threshold() < 2000000);
  // Percent 0 is ZooKeeper's rule whatever the tree.
  snapshot_trigger off(20, 0, 5, 0, 1000000);
  CHECK(off.record_threshold() < 20);
  // No overflow for the largest percent and a huge tree.
  snapshot_trigger huge(20, 0, 6, 10000, uint64_t{1} << 56);
  CHECK(huge.record_threshold() >= (uint64_t{1} << 62));
}

TEST_CASE("snapshot_count 2, the minimum, still works") {
  snapshot_trigger t(2, 0, 9);
  CHECK_FALSE(t.logged(1, 1));
  CHECK(t.logged(1, 1));
  snapshot_trigger raised(0, 0, 9); // raised to 2, as ZooKeeper does
  CHECK_FALSE(raised.logged(1, 1));
  CHECK(raised.logged(1, 1));
}

} // namespace
} // namespace zkd::snapshotter
