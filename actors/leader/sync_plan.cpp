#include "actors/leader/sync_plan.hpp"

#include <algorithm>

namespace zkd::leader {

namespace {

uint32_t epoch_of(int64_t zxid) {
  return static_cast<uint32_t>(static_cast<uint64_t>(zxid) >> 32);
}

uint32_t counter_of(int64_t zxid) {
  return static_cast<uint32_t>(static_cast<uint64_t>(zxid) & 0xffffffffu);
}

// Ascending, one entry per epoch, none above `last`.
bool well_formed(const std::vector<int64_t>& ends, int64_t last) {
  for (size_t i = 0; i < ends.size(); ++i) {
    if (ends[i] <= 0 || ends[i] > last)
      return false;
    if (i > 0 && epoch_of(ends[i]) <= epoch_of(ends[i - 1]))
      return false;
  }
  return true;
}

// The newest epoch both histories hold, cut at the shorter of the two; 0
// when they share none.
int64_t common_point(const std::vector<int64_t>& leader,
                     const std::vector<int64_t>& learner) {
  for (auto i = learner.rbegin(); i != learner.rend(); ++i) {
    auto e = epoch_of(*i);
    auto j = std::lower_bound(
        leader.begin(), leader.end(), e,
        [](int64_t zxid, uint32_t epoch) { return epoch_of(zxid) < epoch; });
    if (j != leader.end() && epoch_of(*j) == e)
      return std::min(*i, *j);
  }
  return 0;
}

sync_plan snap(const sync_source& leader, const char* why) {
  sync_plan p;
  p.mode = sync_mode::snap;
  p.diff_to = leader.last_zxid;
  p.why = why;
  return p;
}

} // namespace

const char* to_string(sync_mode m) {
  switch (m) {
  case sync_mode::diff:
    return "DIFF";
  case sync_mode::trunc:
    return "TRUNC";
  case sync_mode::snap:
    return "SNAP";
  }
  return "?";
}

uint64_t txns_between(const std::vector<int64_t>& epoch_ends, int64_t after,
                      int64_t upto) {
  uint64_t n = 0;
  for (auto end : epoch_ends) {
    // This epoch's txns are (epoch, 1) .. end.
    auto first =
        static_cast<int64_t>(static_cast<uint64_t>(epoch_of(end)) << 32) + 1;
    auto lo = std::max(first, after + 1);
    auto hi = std::min(end, upto);
    if (lo <= hi && counter_of(lo) > 0)
      n += static_cast<uint64_t>(hi - lo) + 1;
  }
  return n;
}

sync_plan plan_sync(const sync_source& leader, const sync_target& learner,
                    const sync_limits& limits) {
  if (!well_formed(leader.epoch_ends, leader.last_zxid) ||
      leader.log_from > leader.last_zxid || leader.log_from < 0)
    return snap(leader, "the leader's history is malformed");
  if (!well_formed(learner.epoch_ends, learner.last_zxid) ||
      learner.snapshot_zxid > learner.last_zxid || learner.snapshot_zxid < 0)
    return snap(leader, "the learner's history is malformed");
  if (learner.snapshot_zxid > leader.last_zxid)
    return snap(leader, "the learner's snapshot is ahead of the leader");

  auto t = std::max(common_point(leader.epoch_ends, learner.epoch_ends),
                    learner.snapshot_zxid);
  if (t < leader.log_from)
    return snap(leader, "the leader's log does not reach back far enough");
  if (limits.max_diff_txns > 0 &&
      txns_between(leader.epoch_ends, t, leader.last_zxid) >
          limits.max_diff_txns)
    return snap(leader, "the diff is longer than the limit");

  sync_plan p;
  p.diff_after = t;
  p.diff_to = leader.last_zxid;
  if (learner.last_zxid > t) {
    p.mode = sync_mode::trunc;
    p.trunc_to = t;
    p.why = "the learner holds txns that were never committed";
  } else {
    p.mode = sync_mode::diff;
    p.why = t == leader.last_zxid ? "in sync" : "the learner is behind";
  }
  return p;
}

} // namespace zkd::leader
