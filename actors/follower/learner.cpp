#include "actors/follower/learner.hpp"

#include <algorithm>
#include <string>

namespace zkd::follower {

learner::learner(learner_settings s, learner_history h)
    : settings_(s), history_(std::move(h)), last_logged_(history_.last_zxid),
      durable_(history_.last_zxid), acked_(history_.last_zxid) {}

void learner::start(int64_t now_ms) {
  started_ms_ = now_ms;
  last_heard_ms_ = now_ms;
}

void learner::end(std::string reason, bool rejoin) {
  if (ph_ == phase::over)
    return;
  ph_ = phase::over;
  emit(role_over{std::move(reason), rejoin});
}

void learner::connected(int64_t now_ms) {
  if (ph_ != phase::connecting)
    return;
  last_heard_ms_ = now_ms;
  ph_ = phase::info;
  if (settings_.observer)
    emit(to_leader{quorum::observer_info{
        settings_.self, history_.accepted_epoch, quorum::protocol_version}});
  else
    emit(to_leader{quorum::follower_info{
        settings_.self, history_.accepted_epoch, quorum::protocol_version}});
}

// ZooKeeper's registerWithLeader: accept a newer epoch (and say so on
// disk before answering), re-ack the one we already accepted, refuse an
// older one.
void learner::on(int64_t now_ms, const quorum::leader_info& m) {
  if (ph_ != phase::info)
    return;
  last_heard_ms_ = now_ms;
  if (m.version != quorum::protocol_version) {
    end("leader speaks protocol version " + std::to_string(m.version));
    return;
  }
  quorum::ack_epoch a;
  a.sid = settings_.self;
  if (m.new_epoch > history_.accepted_epoch) {
    history_.accepted_epoch = m.new_epoch;
    emit(persist_accepted_epoch{m.new_epoch});
    a.current_epoch = history_.current_epoch;
  } else if (m.new_epoch == history_.accepted_epoch) {
    a.current_epoch = -1;
  } else {
    end("the leader's epoch " + std::to_string(m.new_epoch) +
        " is below the accepted epoch " +
        std::to_string(history_.accepted_epoch));
    return;
  }
  new_epoch_ = m.new_epoch;
  if (m.session_key0 != 0 || m.session_key1 != 0)
    emit(adopt_session_key{m.session_key0, m.session_key1});
  a.last_zxid = history_.last_zxid;
  a.snapshot_zxid = history_.snapshot_zxid;
  a.epoch_ends = history_.epoch_ends;
  emit(to_leader{std::move(a)});
  ph_ = phase::synced_wait;
}

void learner::on(int64_t now_ms, const quorum::diff&) {
  if (ph_ != phase::synced_wait)
    return;
  last_heard_ms_ = now_ms;
  ph_ = phase::diff;
}

void learner::on(int64_t now_ms, const quorum::trunc& m) {
  if (ph_ != phase::synced_wait)
    return;
  last_heard_ms_ = now_ms;
  emit(truncate_log{m.zxid});
  end("TRUNC to 0x" + std::to_string(m.zxid), true);
}

void learner::on(int64_t now_ms, const quorum::snap& m) {
  if (ph_ != phase::synced_wait)
    return;
  last_heard_ms_ = now_ms;
  ph_ = phase::snap;
  snap_zxid_ = m.zxid;
  snap_next_seq_ = 0;
  snap_bytes_.clear();
  snap_bytes_.reserve(m.size_bytes);
}

void learner::on(int64_t now_ms, const quorum::snap_chunk& m) {
  if (ph_ != phase::snap)
    return;
  last_heard_ms_ = now_ms;
  if (m.seq != snap_next_seq_) {
    end("snapshot chunk " + std::to_string(m.seq) + " arrived, expected " +
        std::to_string(snap_next_seq_));
    return;
  }
  ++snap_next_seq_;
  snap_bytes_ += m.bytes;
  // The leader keeps a window of chunks in flight (BASP has no flow
  // control); each ack lets it send the next.
  emit(to_leader{quorum::snap_chunk_ack{m.seq}});
  if (!m.last)
    return;
  emit(install_snapshot{snap_zxid_, std::move(snap_bytes_)});
  snap_bytes_.clear();
  end("installed the leader's snapshot", true);
}

void learner::log_and_hold(int64_t zxid, const std::string& txn) {
  if (zxid <= last_logged_)
    return; // already held (a DIFF never repeats, but be safe)
  last_logged_ = zxid;
  emit(log_txn{zxid, txn});
  emit(apply_proposal{zxid, txn});
}

void learner::on(int64_t now_ms, const quorum::proposal& m) {
  if (ph_ != phase::diff && ph_ != phase::newleader && ph_ != phase::broadcast)
    return;
  last_heard_ms_ = now_ms;
  log_and_hold(m.zxid, m.txn);
}

void learner::on(int64_t now_ms, const quorum::commit& m) {
  if (ph_ != phase::diff && ph_ != phase::newleader && ph_ != phase::broadcast)
    return;
  last_heard_ms_ = now_ms;
  emit(apply_commit{std::min(m.zxid, last_logged_)});
}

void learner::on(int64_t now_ms, const quorum::inform& m) {
  if (ph_ != phase::diff && ph_ != phase::newleader && ph_ != phase::broadcast)
    return;
  last_heard_ms_ = now_ms;
  if (m.zxid <= last_logged_)
    return;
  log_and_hold(m.zxid, m.txn);
  emit(apply_commit{m.zxid});
}

void learner::on(int64_t now_ms, const quorum::new_leader& m) {
  if (ph_ != phase::diff)
    return;
  last_heard_ms_ = now_ms;
  newleader_zxid_ = m.zxid;
  newleader_upto_ = last_logged_;
  newleader_ack_pending_ = true;
  ph_ = phase::newleader;
  maybe_ack_newleader();
}

// NEWLEADER is acked once everything the DIFF carried is on disk: the
// leader counts this ack as "holds the whole history".
//
// The new epoch becomes our currentEpoch only then, not when NEWLEADER
// arrives (ZOOKEEPER-4646): a vote carries the current epoch before the
// zxid, so a node whose currentEpoch says "synced with epoch e" but whose
// log lost the DIFF's tail in a crash or a round end would beat the nodes
// that hold the txns committed before e, and lead without them. Found by
// tests/sim.
//
// The wait is for what was logged when NEWLEADER came: proposals that
// follow it are broadcast, acked after UPTODATE, and must not hold this ack
// back (under a steady stream the log never catches up with the newest).
void learner::maybe_ack_newleader() {
  if (!newleader_ack_pending_ || durable_ < newleader_upto_)
    return;
  newleader_ack_pending_ = false;
  history_.current_epoch = quorum::epoch_of(newleader_zxid_);
  emit(persist_current_epoch{history_.current_epoch});
  acked_ = newleader_upto_;
  emit(to_leader{quorum::ack{settings_.self, newleader_zxid_}});
}

void learner::on(int64_t now_ms, const quorum::up_to_date& m) {
  if (ph_ != phase::newleader)
    return;
  last_heard_ms_ = now_ms;
  ph_ = phase::broadcast;
  emit(serving{m.epoch});
  // Proposals logged between NEWLEADER and now were not acked yet.
  durable(durable_);
}

void learner::on(int64_t now_ms, const quorum::ping& m) {
  (void)m;
  if (ph_ == phase::over)
    return;
  last_heard_ms_ = now_ms;
  quorum::ping p;
  p.zxid = last_logged_;
  p.sessions.swap(touches_);
  emit(to_leader{std::move(p)});
}

void learner::on(int64_t now_ms, const quorum::reply& m) {
  if (ph_ != phase::broadcast)
    return;
  last_heard_ms_ = now_ms;
  emit(deliver_reply{m});
}

void learner::durable(int64_t zxid) {
  durable_ = std::max(durable_, zxid);
  if (ph_ == phase::newleader) {
    maybe_ack_newleader();
    return;
  }
  if (ph_ != phase::broadcast || settings_.observer || durable_ <= acked_)
    return;
  acked_ = durable_;
  emit(to_leader{quorum::ack{settings_.self, durable_}});
}

void learner::touched(std::vector<quorum::session_touch> t) {
  // Keep the newest timeout per session; the list stays small (sessions of
  // this node touched in half a tick).
  for (auto& s : t) {
    auto i = std::find_if(touches_.begin(), touches_.end(),
                          [&](auto& x) { return x.session == s.session; });
    if (i == touches_.end())
      touches_.push_back(s);
    else
      *i = s;
  }
}

void learner::leader_lost(const std::string& why) {
  end("lost the leader: " + why);
}

void learner::tick(int64_t now_ms) {
  if (ph_ == phase::over)
    return;
  if (ph_ != phase::broadcast) {
    if (now_ms - started_ms_ > settings_.init_limit_ticks * settings_.tick_ms)
      end("no sync with the leader within init_limit");
    return;
  }
  if (now_ms - last_heard_ms_ > settings_.sync_limit_ticks * settings_.tick_ms)
    end("the leader is silent for more than sync_limit");
}

std::vector<learner_effect> learner::take_effects() {
  std::vector<learner_effect> out;
  out.swap(effects_);
  return out;
}

} // namespace zkd::follower
