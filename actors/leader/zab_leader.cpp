#include "actors/leader/zab_leader.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace zkd::leader {

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "zab leader invariant violated: %s\n", what);
    std::abort();
  }
}

} // namespace

zab_leader::zab_leader(zab_settings s, zab_history h)
    : settings_(std::move(s)), quorum_(settings_.voters.size() / 2 + 1),
      accepted_epoch_(h.accepted_epoch), current_epoch_(h.current_epoch),
      last_logged_at_start_(h.last_zxid), snapshot_zxid_(h.snapshot_zxid),
      snapshot_path_(std::move(h.snapshot_path)),
      epoch_ends_(std::move(h.epoch_ends)),
      window_(std::make_move_iterator(h.window.begin()),
              std::make_move_iterator(h.window.end())),
      bcast_(settings_.voters.size() / 2 + 1, h.last_zxid),
      last_announced_(h.last_zxid) {
  require(settings_.voters.count(settings_.self) == 1, "the leader votes");
}

int64_t zab_leader::last_proposed() const {
  return bcast_.last_proposed();
}

void zab_leader::start(int64_t now_ms) {
  started_ms_ = now_ms;
  maybe_decide_epoch();
}

// ZooKeeper's getEpochToPropose: once a quorum of voters (the leader
// included) has told us its accepted epoch, the new epoch is above all of
// them, so no two leaders can ever share one.
void zab_leader::maybe_decide_epoch() {
  if (epoch_ != 0 || stepped_down_)
    return;
  size_t voters = 1;
  uint32_t top = std::max(accepted_epoch_, current_epoch_);
  for (auto& [sid, l] : learners_)
    if (!l.observer && is_voter(sid)) {
      ++voters;
      top = std::max(top, l.accepted_epoch);
    }
  if (voters < quorum_)
    return;
  epoch_ = top + 1;
  accepted_epoch_ = epoch_;
  emit(persist_accepted_epoch{epoch_});
  for (auto& [sid, l] : learners_) {
    send(sid,
         quorum::leader_info{epoch_, quorum::protocol_version,
                             settings_.session_key0, settings_.session_key1});
    l.info_sent = true;
  }
  // Alone in the ensemble (standalone): nothing to wait for.
  maybe_start_syncs();
}

void zab_leader::learner_info(int64_t now_ms, server_id sid,
                              uint32_t accepted_epoch, bool observer) {
  if (stepped_down_)
    return;
  if (sid == settings_.self || (!observer && !is_voter(sid)) ||
      (observer && !settings_.observers.count(sid) && !is_voter(sid))) {
    emit(drop_learner{sid, "not a member of this ensemble"});
    return;
  }
  auto& l = learners_[sid];
  l = learner{};
  l.observer = observer;
  l.accepted_epoch = accepted_epoch;
  l.last_heard_ms = now_ms;
  if (epoch_ == 0) {
    maybe_decide_epoch();
    return;
  }
  send(sid,
       quorum::leader_info{epoch_, quorum::protocol_version,
                           settings_.session_key0, settings_.session_key1});
  l.info_sent = true;
}

void zab_leader::ack_epoch(int64_t now_ms, const quorum::ack_epoch& m) {
  auto i = learners_.find(m.sid);
  if (stepped_down_ || i == learners_.end() || !i->second.info_sent ||
      i->second.ph != phase::info)
    return;
  auto& l = i->second;
  l.last_heard_ms = now_ms;
  l.acked = m;
  l.ph = phase::epoch_acked;
  // ZooKeeper's waitForEpochAck check: a voter that followed a later epoch,
  // or holds more of ours, should have won the election; leading anyway
  // could drop its txns.
  if (!l.observer && !established_ && m.current_epoch >= 0) {
    auto mine = static_cast<int64_t>(current_epoch_);
    if (m.current_epoch > mine ||
        (m.current_epoch == mine && m.last_zxid > last_logged_at_start_)) {
      stepped_down_ = true;
      emit(step_down{"server " + std::to_string(m.sid) +
                     " is ahead of the leader (epoch " +
                     std::to_string(m.current_epoch) + ")"});
      return;
    }
  }
  maybe_start_syncs();
}

void zab_leader::maybe_start_syncs() {
  if (epoch_ == 0 || stepped_down_)
    return;
  if (!epoch_quorum_acked_) {
    size_t acked = 1;
    for (auto& [sid, l] : learners_)
      if (!l.observer && l.ph != phase::info)
        ++acked;
    if (acked < quorum_)
      return;
    epoch_quorum_acked_ = true;
  }
  // sync() may forget a learner (a SNAP without a snapshot to send): pick
  // them first, not while walking the map it erases from. Found by
  // tests/unit/leader/zab_leader_test.cpp (it crashed).
  std::vector<server_id> ready;
  for (auto& [sid, l] : learners_)
    if (l.ph == phase::epoch_acked)
      ready.push_back(sid);
  for (auto sid : ready)
    if (auto i = learners_.find(sid); i != learners_.end())
      sync(sid, i->second);
  if (!established_ && newleader_acks() >= quorum_)
    establish();
}

// The history a learner is synced against ends at the last *committed*
// zxid, not the last proposed one (ZooKeeper's maxCommittedLog): a learner
// that reconnects holding proposals the leader has not committed yet gets
// TRUNC, then a DIFF that sends them again as proposals. Otherwise its
// recovered tree, which replays its whole log, would serve txns that may
// never commit (the leader can still fail before a quorum has them), and a
// snapshot of that tree would later hide them from sync_plan. Found by
// tests/sim.
sync_source zab_leader::source() const {
  sync_source s;
  s.last_zxid = bcast_.committed();
  s.log_from = snapshot_zxid_;
  if (!window_.empty())
    s.log_from = std::min(s.log_from, window_.front().first - 1);
  else
    s.log_from = std::max(s.log_from, s.last_zxid);
  s.log_from = std::min(s.log_from, s.last_zxid);
  for (auto end : epoch_ends_) {
    if (end <= s.last_zxid) {
      s.epoch_ends.push_back(end);
      continue;
    }
    // The epoch the commit point is in ends there, as far as sync knows.
    if (s.last_zxid > 0 &&
        quorum::epoch_of(end) == quorum::epoch_of(s.last_zxid))
      s.epoch_ends.push_back(s.last_zxid);
    break;
  }
  return s;
}

void zab_leader::sync(server_id sid, learner& l) {
  sync_target t;
  t.last_zxid = l.acked.last_zxid;
  t.snapshot_zxid = l.acked.snapshot_zxid;
  t.epoch_ends = l.acked.epoch_ends;
  auto plan = plan_sync(source(), t);
  switch (plan.mode) {
  case sync_mode::trunc:
    send(sid, quorum::trunc{plan.trunc_to});
    l.ph = phase::done;
    return;
  case sync_mode::snap:
    if (snapshot_path_.empty()) {
      // Cannot happen with a window that starts at zxid 0; refuse loudly.
      emit(drop_learner{sid, std::string{"needs a SNAP ("} + plan.why +
                                 ") but there is no snapshot"});
      learners_.erase(sid);
      return;
    }
    emit(send_snapshot{sid, snapshot_zxid_, snapshot_path_});
    l.ph = phase::done;
    return;
  case sync_mode::diff:
    break;
  }
  auto committed = bcast_.committed();
  send(sid, quorum::diff{committed});
  auto from =
      std::lower_bound(window_.begin(), window_.end(), plan.diff_after,
                       [](const auto& e, int64_t z) { return e.first <= z; });
  for (auto i = from; i != window_.end(); ++i) {
    if (l.observer) {
      if (i->first > committed)
        break; // INFORMed when committed
      send(sid, quorum::inform{i->first, i->second});
    } else {
      send(sid, quorum::proposal{i->first, i->second});
    }
  }
  if (!l.observer && committed > plan.diff_after)
    send(sid, quorum::commit{committed});
  send(sid, quorum::new_leader{quorum::make_zxid(epoch_, 0)});
  l.ph = phase::newleader;
}

size_t zab_leader::newleader_acks() const {
  size_t n = 1;
  for (auto& [sid, l] : learners_)
    if (!l.observer && is_voter(sid) && l.ph == phase::up_to_date)
      ++n;
  return n;
}

void zab_leader::establish() {
  established_ = true;
  current_epoch_ = epoch_;
  emit(persist_current_epoch{epoch_});
  emit(established{epoch_});
  for (auto& [sid, l] : learners_)
    if (l.ph == phase::up_to_date)
      send(sid, quorum::up_to_date{epoch_});
}

void zab_leader::ack(int64_t now_ms, server_id sid, int64_t zxid) {
  auto i = learners_.find(sid);
  if (stepped_down_ || i == learners_.end())
    return;
  auto& l = i->second;
  l.last_heard_ms = now_ms;
  if (l.ph == phase::newleader) {
    if (zxid != quorum::make_zxid(epoch_, 0))
      return; // acks of the DIFF's txns: committed already
    l.ph = phase::up_to_date;
    if (established_)
      send(sid, quorum::up_to_date{epoch_});
    else if (newleader_acks() >= quorum_)
      establish();
    return;
  }
  if (l.ph != phase::up_to_date || l.observer || !is_voter(sid))
    return;
  commit_upto(bcast_.ack(sid, zxid));
}

void zab_leader::local_durable(int64_t zxid) {
  if (stepped_down_)
    return;
  commit_upto(bcast_.ack(settings_.self, zxid));
}

void zab_leader::commit_upto(int64_t zxid) {
  if (zxid <= last_announced_)
    return;
  auto before = last_announced_;
  last_announced_ = zxid;
  emit(commit_local{zxid});
  for (auto& [sid, l] : learners_) {
    if (l.ph != phase::up_to_date && l.ph != phase::newleader)
      continue;
    if (!l.observer) {
      send(sid, quorum::commit{zxid});
      continue;
    }
    auto from =
        std::lower_bound(window_.begin(), window_.end(), before,
                         [](const auto& e, int64_t z) { return e.first <= z; });
    for (auto j = from; j != window_.end() && j->first <= zxid; ++j)
      send(sid, quorum::inform{j->first, j->second});
  }
}

void zab_leader::propose(
    const std::vector<std::pair<int64_t, std::string_view>>& txns) {
  if (stepped_down_)
    return;
  require(established_, "proposals only after establishment");
  for (auto& [zxid, payload] : txns) {
    bcast_.propose(zxid);
    if (settings_.keep_window)
      window_.emplace_back(zxid, std::string{payload});
    if (epoch_ends_.empty() ||
        quorum::epoch_of(epoch_ends_.back()) != quorum::epoch_of(zxid))
      epoch_ends_.push_back(zxid);
    else
      epoch_ends_.back() = zxid;
    for (auto& [sid, l] : learners_)
      if (!l.observer &&
          (l.ph == phase::up_to_date || l.ph == phase::newleader))
        send(sid, quorum::proposal{zxid, std::string{payload}});
  }
}

void zab_leader::reply_to(server_id sid, quorum::reply r) {
  auto i = learners_.find(sid);
  if (i == learners_.end() || i->second.ph != phase::up_to_date)
    return; // the learner is gone: its client reconnects and retries
  send(sid, std::move(r));
}

void zab_leader::snapshot_taken(int64_t zxid, std::string path) {
  if (zxid > bcast_.committed())
    return;
  snapshot_zxid_ = zxid;
  snapshot_path_ = std::move(path);
  // Keep the txns after the snapshot: a learner at or after it gets a DIFF,
  // one before it the snapshot plus a DIFF.
  while (!window_.empty() && window_.front().first <= zxid)
    window_.pop_front();
}

void zab_leader::heard(int64_t now_ms, server_id sid) {
  if (auto i = learners_.find(sid); i != learners_.end())
    i->second.last_heard_ms = now_ms;
}

void zab_leader::learner_lost(int64_t now_ms, server_id sid) {
  learners_.erase(sid);
  if (established_)
    check_quorum(now_ms);
}

void zab_leader::check_quorum(int64_t now_ms) {
  if (stepped_down_ || !established_)
    return;
  auto limit = settings_.sync_limit_ticks * settings_.tick_ms;
  size_t live = 1;
  for (auto& [sid, l] : learners_)
    if (!l.observer && is_voter(sid) && l.ph == phase::up_to_date &&
        now_ms - l.last_heard_ms <= limit)
      ++live;
  if (live < quorum_) {
    stepped_down_ = true;
    emit(step_down{"lost the quorum: " + std::to_string(live) + " of " +
                   std::to_string(settings_.voters.size()) +
                   " voters in sync, " + std::to_string(quorum_) + " needed"});
  }
}

void zab_leader::tick(int64_t now_ms) {
  if (stepped_down_)
    return;
  if (!established_) {
    if (now_ms - started_ms_ > settings_.init_limit_ticks * settings_.tick_ms) {
      stepped_down_ = true;
      emit(step_down{"no quorum synced within init_limit"});
    }
    return;
  }
  auto limit = settings_.sync_limit_ticks * settings_.tick_ms;
  std::vector<server_id> silent;
  for (auto& [sid, l] : learners_) {
    if (l.ph == phase::done)
      continue;
    if (now_ms - l.last_heard_ms > limit)
      silent.push_back(sid);
    else if (l.ph == phase::up_to_date)
      send(sid, quorum::ping{last_proposed(), {}});
  }
  for (auto sid : silent) {
    learners_.erase(sid);
    emit(drop_learner{sid, "silent for more than sync_limit"});
  }
  check_quorum(now_ms);
}

size_t zab_leader::synced_followers() const {
  size_t n = 0;
  for (auto& [sid, l] : learners_)
    n += !l.observer && l.ph == phase::up_to_date;
  return n;
}

size_t zab_leader::synced_observers() const {
  size_t n = 0;
  for (auto& [sid, l] : learners_)
    n += l.observer && l.ph == phase::up_to_date;
  return n;
}

size_t zab_leader::pending_syncs() const {
  size_t n = 0;
  for (auto& [sid, l] : learners_)
    n += l.ph != phase::up_to_date && l.ph != phase::done;
  return n;
}

std::vector<zab_effect> zab_leader::take_effects() {
  std::vector<zab_effect> out;
  out.swap(effects_);
  return out;
}

void zab_leader::check_invariants() const {
  bcast_.check_invariants();
  int64_t prev = 0;
  for (auto& e : window_) {
    require(e.first > prev, "window zxids increase");
    prev = e.first;
  }
  require(!established_ || epoch_ != 0, "established an epoch");
  require(epoch_ == 0 || accepted_epoch_ == epoch_, "accepted our epoch");
  require(last_announced_ <= bcast_.committed(), "announced <= committed");
}

} // namespace zkd::leader
