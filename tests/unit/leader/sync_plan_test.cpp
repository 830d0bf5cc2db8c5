// The leader's per-learner sync decision, table-driven.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "actors/leader/sync_plan.hpp"

using namespace zkd::leader;

namespace {

constexpr int64_t z(uint32_t epoch, uint32_t counter) {
  return static_cast<int64_t>((static_cast<uint64_t>(epoch) << 32) | counter);
}

struct row {
  std::string name;
  sync_source leader;
  sync_target learner;
  sync_limits limits;
  sync_mode mode;
  int64_t trunc_to;   // checked for trunc
  int64_t diff_after; // checked for diff and trunc
};

} // namespace

TEST_CASE("sync plans") {
  // A leader with epochs 1 (1..5), 2 (1..3) and 4 (1..2), its whole history
  // in its log; and the same leader with a log that starts after (2, 1).
  sync_source full{z(4, 2), 0, {z(1, 5), z(2, 3), z(4, 2)}};
  sync_source purged{z(4, 2), z(2, 1), {z(1, 5), z(2, 3), z(4, 2)}};
  std::vector<row> rows = {
      {"exact match: empty diff",
       full,
       {z(4, 2), 0, {z(1, 5), z(2, 3), z(4, 2)}},
       {},
       sync_mode::diff,
       0,
       z(4, 2)},
      {"fresh ensemble: both empty",
       {0, 0, {}},
       {0, 0, {}},
       {},
       sync_mode::diff,
       0,
       0},
      {"behind in the leader's last epoch",
       full,
       {z(4, 1), 0, {z(1, 5), z(2, 3), z(4, 1)}},
       {},
       sync_mode::diff,
       0,
       z(4, 1)},
      {"behind across epochs",
       full,
       {z(2, 2), 0, {z(1, 5), z(2, 2)}},
       {},
       sync_mode::diff,
       0,
       z(2, 2)},
      {"behind across epochs, log reaches",
       purged,
       {z(2, 1), 0, {z(1, 5), z(2, 1)}},
       {},
       sync_mode::diff,
       0,
       z(2, 1)},
      {"behind beyond the leader's log",
       purged,
       {z(1, 4), 0, {z(1, 4)}},
       {},
       sync_mode::snap,
       0,
       0},
      {"empty learner, whole history in the log",
       full,
       {0, 0, {}},
       {},
       sync_mode::diff,
       0,
       0},
      {"empty learner, purged log",
       purged,
       {0, 0, {}},
       {},
       sync_mode::snap,
       0,
       0},
      {"ahead of the leader in its last epoch",
       full,
       {z(4, 7), 0, {z(1, 5), z(2, 3), z(4, 7)}},
       {},
       sync_mode::trunc,
       z(4, 2),
       z(4, 2)},
      // The old leader of epoch 2 logged (2, 4) and (2, 5) but crashed before
      // they committed; epoch 4 went on without them.
      {"uncommitted txns of an old epoch",
       full,
       {z(2, 5), 0, {z(1, 5), z(2, 5)}},
       {},
       sync_mode::trunc,
       z(2, 3),
       z(2, 3)},
      {"uncommitted txns of an old epoch, log does not reach",
       purged,
       {z(1, 7), 0, {z(1, 7)}},
       {},
       sync_mode::snap,
       0,
       0},
      {"uncommitted txns of an old epoch, log reaches",
       purged,
       {z(2, 5), 0, {z(1, 5), z(2, 5)}},
       {},
       sync_mode::trunc,
       z(2, 3),
       z(2, 3)},
      // Epoch 3 never committed anything: the leader has no epoch 3.
      {"a whole epoch the leader never saw",
       full,
       {z(3, 4), 0, {z(1, 5), z(2, 3), z(3, 4)}},
       {},
       sync_mode::trunc,
       z(2, 3),
       z(2, 3)},
      {"an epoch the leader never saw, after a short epoch",
       full,
       {z(3, 4), 0, {z(1, 5), z(2, 1), z(3, 4)}},
       {},
       sync_mode::trunc,
       z(2, 1),
       z(2, 1)},
      {"ahead in an epoch beyond the leader's",
       {z(2, 3), 0, {z(1, 5), z(2, 3)}},
       {z(5, 2), 0, {z(1, 5), z(2, 3), z(5, 2)}},
       {},
       sync_mode::trunc,
       z(2, 3),
       z(2, 3)},
      {"leader with an empty log, in sync",
       {z(4, 2), z(4, 2), {z(4, 2)}},
       {z(4, 2), 0, {z(4, 2)}},
       {},
       sync_mode::diff,
       0,
       z(4, 2)},
      {"leader with an empty log, learner behind",
       {z(4, 2), z(4, 2), {z(4, 2)}},
       {z(4, 1), 0, {z(4, 1)}},
       {},
       sync_mode::snap,
       0,
       0},
      {"leader with an empty log, learner ahead",
       {z(4, 2), z(4, 2), {z(4, 2)}},
       {z(4, 3), 0, {z(4, 3)}},
       {},
       sync_mode::trunc,
       z(4, 2),
       z(4, 2)},
      {"learner with a snapshot and no log",
       purged,
       {z(2, 2), z(2, 2), {}},
       {},
       sync_mode::diff,
       0,
       z(2, 2)},
      {"learner's epochs older than the leader's marks",
       {z(4, 2), z(2, 1), {z(2, 3), z(4, 2)}},
       {z(2, 2), z(2, 2), {z(1, 5)}},
       {},
       sync_mode::diff,
       0,
       z(2, 2)},
      {"learner with a snapshot and an uncommitted tail",
       purged,
       {z(2, 6), z(2, 2), {z(2, 6)}},
       {},
       sync_mode::trunc,
       z(2, 3),
       z(2, 3)},
      {"learner's snapshot ahead of the leader",
       full,
       {z(5, 1), z(5, 1), {z(5, 1)}},
       {},
       sync_mode::snap,
       0,
       0},
      {"diff within the limit",
       full,
       {z(2, 2), 0, {z(1, 5), z(2, 2)}},
       {3},
       sync_mode::diff,
       0,
       z(2, 2)},
      {"diff over the limit",
       full,
       {z(2, 2), 0, {z(1, 5), z(2, 2)}},
       {2},
       sync_mode::snap,
       0,
       0},
      {"malformed learner: epochs out of order",
       full,
       {z(2, 2), 0, {z(2, 2), z(1, 5)}},
       {},
       sync_mode::snap,
       0,
       0},
      {"malformed learner: mark above its last zxid",
       full,
       {z(2, 2), 0, {z(2, 3)}},
       {},
       sync_mode::snap,
       0,
       0},
      {"malformed learner: snapshot above its last zxid",
       full,
       {z(2, 2), z(2, 3), {z(2, 2)}},
       {},
       sync_mode::snap,
       0,
       0},
      {"malformed leader: log_from above its last zxid",
       {z(1, 2), z(1, 3), {z(1, 2)}},
       {z(1, 2), 0, {z(1, 2)}},
       {},
       sync_mode::snap,
       0,
       0},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    auto p = plan_sync(r.leader, r.learner, r.limits);
    CHECK(to_string(p.mode) == std::string{to_string(r.mode)});
    CHECK(p.diff_to == r.leader.last_zxid);
    CHECK(std::string{p.why} != "");
    if (p.mode == sync_mode::trunc)
      CHECK(p.trunc_to == r.trunc_to);
    if (p.mode != sync_mode::snap) {
      CHECK(p.diff_after == r.diff_after);
      // A diff starts where the leader's log can replay from.
      CHECK(p.diff_after >= r.leader.log_from);
      // Nothing the learner keeps is above the diff's start.
      auto kept = p.mode == sync_mode::trunc ? p.trunc_to : r.learner.last_zxid;
      CHECK(kept == p.diff_after);
      // Never below what the learner has snapshotted.
      CHECK(p.diff_after >= r.learner.snapshot_zxid);
    }
  }
}

TEST_CASE("txns_between counts across epochs") {
  std::vector<int64_t> ends{z(1, 5), z(2, 3), z(4, 2)};
  CHECK(txns_between(ends, 0, z(4, 2)) == 10);
  CHECK(txns_between(ends, z(1, 5), z(4, 2)) == 5);
  CHECK(txns_between(ends, z(1, 3), z(2, 1)) == 3);
  CHECK(txns_between(ends, z(2, 3), z(4, 2)) == 2);
  CHECK(txns_between(ends, z(3, 0), z(4, 1)) == 1);
  CHECK(txns_between(ends, z(4, 2), z(4, 2)) == 0);
  CHECK(txns_between({}, 0, z(4, 2)) == 0);
}
