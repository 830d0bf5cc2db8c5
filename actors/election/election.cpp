#include "actors/election/election.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace zkd::election {

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "election invariant violated: %s\n", what);
    std::abort();
  }
}

// ZooKeeper's Vote.equals. Votes of a settled ensemble (neither side
// LOOKING) match on leader and peer epoch only: their zxids and rounds can
// differ between members (ZOOKEEPER-1805), and one epoch has one leader.
bool same_vote(const vote& x, peer_state xs, const vote& y, peer_state ys) {
  if (xs == peer_state::looking || ys == peer_state::looking)
    return x == y;
  return x.leader == y.leader && x.peer_epoch == y.peer_epoch;
}

} // namespace

core::core(settings s) : settings_(std::move(s)) {
  auto& ps = settings_.participants;
  std::sort(ps.begin(), ps.end());
  ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
  require(!ps.empty(), "an ensemble has at least one participant");
  require(settings_.finalize_wait_ms >= 0, "finalize wait is not negative");
  require(settings_.min_notification_interval_ms > 0,
          "the notification interval is positive");
  require(settings_.max_notification_interval_ms >=
              settings_.min_notification_interval_ms,
          "max notification interval >= min");
  participant_ = is_participant(settings_.self);
  quorum_size_ = ps.size() / 2 + 1;
  if (settings_.skip_unreached)
    for (auto p : ps)
      if (p != settings_.self)
        unreachable_.insert(p);
}

bool core::is_participant(server_id id) const {
  auto& ps = settings_.participants;
  return std::binary_search(ps.begin(), ps.end(), id);
}

vote core::initial_vote() const {
  return vote{settings_.self, local_.last_zxid, logical_clock_,
              local_.current_epoch};
}

std::optional<vote> core::current_vote() const {
  return looking() ? proposal_ : final_;
}

void core::start_round(int64_t now_ms, local_state local) {
  started_ = true;
  state_ = peer_state::looking;
  final_.reset();
  ++logical_clock_;
  local_ = local;
  recv_.clear();
  out_of_election_.clear();
  waiting_observers_.clear();
  finalize_at_ms_.reset();
  notification_interval_ms_ = settings_.min_notification_interval_ms;
  resend_at_ms_ = now_ms + notification_interval_ms_;
  proposal_.reset();
  if (participant_)
    update_proposal(initial_vote());
  send_notifications();
  // A one-member ensemble is its own quorum.
  check_quorum(now_ms);
}

void core::update_proposal(const vote& v) {
  vote next{v.leader, v.zxid, logical_clock_, v.peer_epoch};
  if (proposal_ != next)
    finalize_at_ms_.reset(); // a finalize wait belongs to one proposal
  proposal_ = next;
  record_own_vote();
}

// ZooKeeper delivers a node's notifications to itself as well; recording
// our own vote directly is the same thing without the round trip.
void core::record_own_vote() {
  if (participant_ && proposal_)
    recv_[settings_.self] = received{*proposal_, peer_state::looking};
}

void core::send_notifications() {
  for (auto p : settings_.participants)
    if (p != settings_.self)
      send_vote_to(p);
}

void core::send_vote_to(server_id to) {
  notification n;
  n.sender = settings_.self;
  n.state = state_;
  if (auto v = current_vote()) {
    n.v = *v;
  } else {
    // An observer that has no proposal yet; participants answer it without
    // looking at the vote.
    n.v = initial_vote();
  }
  out_.send.push_back(addressed{to, n});
}

void core::connected(int64_t, server_id peer) {
  unreachable_.erase(peer);
  if (started_ && looking() && peer != settings_.self && is_participant(peer))
    send_vote_to(peer);
}

void core::receive(int64_t now_ms, const notification& n) {
  if (!started_ || n.sender == settings_.self)
    return;
  if (!is_participant(n.sender)) {
    // A non-voter (observer) learns from our vote; its own never counts.
    // While we look, remember it: it hears the outcome as soon as we do.
    send_vote_to(n.sender);
    if (looking())
      waiting_observers_.insert(n.sender);
    return;
  }
  if (!looking()) {
    // Settled: tell a looking peer whom we follow (or that we lead).
    if (n.state == peer_state::looking)
      send_vote_to(n.sender);
    return;
  }
  // A peer still in an earlier round learns ours.
  if (n.state == peer_state::looking && n.v.election_epoch < logical_clock_)
    send_vote_to(n.sender);
  // Hearing from a participant restarts the silence timer (ZooKeeper polls
  // its queue with the notification timeout).
  resend_at_ms_ = now_ms + notification_interval_ms_;
  if (!is_participant(n.v.leader))
    return; // a vote for a non-voter is void
  switch (n.state) {
  case peer_state::looking:
    on_looking(now_ms, n);
    break;
  case peer_state::following:
  case peer_state::leading:
    on_settled(now_ms, n);
    break;
  case peer_state::observing:
    break; // cannot come from a participant
  }
}

void core::on_looking(int64_t now_ms, const notification& n) {
  if (n.v.election_epoch > logical_clock_) {
    // A later round: join it, forget this round's votes, and vote again
    // for the better of the peer's candidate and ourselves.
    logical_clock_ = n.v.election_epoch;
    recv_.clear();
    proposal_.reset();
    finalize_at_ms_.reset();
    if (participant_ && !quorum::beats(n.v, initial_vote()))
      update_proposal(initial_vote());
    else
      update_proposal(n.v);
    send_notifications();
  } else if (n.v.election_epoch < logical_clock_) {
    return; // answered in receive()
  } else if (!proposal_ || quorum::beats(n.v, *proposal_)) {
    update_proposal(n.v);
    send_notifications();
  }
  recv_[n.sender] = received{n.v, peer_state::looking};
  check_quorum(now_ms);
}

void core::on_settled(int64_t now_ms, const notification& n) {
  // Votes of our own round count with the others.
  if (n.v.election_epoch == logical_clock_) {
    recv_[n.sender] = received{n.v, n.state};
    if (has_quorum(recv_, n.v, n.state) &&
        check_leader(recv_, n.v.leader, n.v.election_epoch)) {
      decide(n.v);
      return;
    }
  }
  // A settled ensemble, whatever its round: follow it once a quorum says
  // so and its leader says LEADING (ZOOKEEPER-1732).
  out_of_election_[n.sender] = received{n.v, n.state};
  if (has_quorum(out_of_election_, n.v, n.state) &&
      check_leader(out_of_election_, n.v.leader, n.v.election_epoch)) {
    logical_clock_ = n.v.election_epoch;
    decide(n.v);
    return;
  }
  // The receive set changed: a finalize wait may no longer hold.
  check_quorum(now_ms);
}

bool core::has_quorum(const vote_set& set, const vote& v, peer_state s) const {
  size_t n = 0;
  for (auto& [id, r] : set)
    if (is_participant(id) && same_vote(r.v, r.state, v, s))
      ++n;
  return n >= quorum_size_;
}

// ZooKeeper's checkLeader: without this, a quorum that still names a leader
// that crashed would elect it again and again.
bool core::check_leader(const vote_set& set, server_id leader,
                        uint64_t election_epoch) const {
  if (leader != settings_.self) {
    auto i = set.find(leader);
    return i != set.end() && i->second.state == peer_state::leading;
  }
  return logical_clock_ == election_epoch;
}

void core::disconnected(int64_t now_ms, server_id peer) {
  if (peer == settings_.self || !is_participant(peer))
    return;
  unreachable_.insert(peer);
  if (started_ && looking())
    check_quorum(now_ms);
}

bool core::all_voted() const {
  for (auto p : settings_.participants) {
    if (unreachable_.count(p) > 0)
      continue;
    auto i = recv_.find(p);
    if (i == recv_.end() || i->second.state != peer_state::looking)
      return false;
  }
  return true;
}

void core::check_quorum(int64_t now_ms) {
  // An observer follows only a settled ensemble (on_settled): a quorum of
  // LOOKING votes may still change, and nobody would tell it.
  if (!participant_ || !looking() || !proposal_)
    return;
  if (!has_quorum(recv_, *proposal_, peer_state::looking)) {
    finalize_at_ms_.reset();
    return;
  }
  if (all_voted()) {
    decide(*proposal_);
    return;
  }
  if (!finalize_at_ms_) {
    finalize_at_ms_ = now_ms + settings_.finalize_wait_ms;
    if (settings_.finalize_wait_ms == 0)
      decide(*proposal_);
  }
}

void core::tick(int64_t now_ms) {
  if (!started_ || !looking())
    return;
  if (finalize_at_ms_ && now_ms >= *finalize_at_ms_) {
    decide(*proposal_);
    return;
  }
  if (resend_at_ms_ && now_ms >= *resend_at_ms_) {
    send_notifications();
    notification_interval_ms_ = std::min(
        notification_interval_ms_ * 2, settings_.max_notification_interval_ms);
    resend_at_ms_ = now_ms + notification_interval_ms_;
  }
}

void core::decide(const vote& v) {
  if (v.leader == settings_.self)
    state_ = peer_state::leading;
  else
    state_ = participant_ ? peer_state::following : peer_state::observing;
  final_ = v;
  recv_.clear();
  out_of_election_.clear();
  finalize_at_ms_.reset();
  resend_at_ms_.reset();
  out_.decided = outcome{state_, v};
  for (auto o : waiting_observers_)
    send_vote_to(o);
  waiting_observers_.clear();
}

void core::set_peer_epoch(uint64_t e) {
  if (final_ && !looking())
    final_->peer_epoch = e;
}

std::optional<int64_t> core::next_deadline_ms() const {
  if (!started_ || !looking())
    return std::nullopt;
  std::optional<int64_t> at = resend_at_ms_;
  if (finalize_at_ms_ && (!at || *finalize_at_ms_ < *at))
    at = finalize_at_ms_;
  return at;
}

output core::take_output() {
  output o = std::move(out_);
  out_ = output{};
  return o;
}

void core::check_invariants() const {
  auto& ps = settings_.participants;
  require(std::is_sorted(ps.begin(), ps.end()), "participants sorted");
  require(quorum_size_ == ps.size() / 2 + 1, "quorum is a majority");
  require(participant_ == is_participant(settings_.self), "participant flag");
  if (!started_)
    return;
  if (looking()) {
    require(!final_, "no outcome while looking");
    require(resend_at_ms_.has_value(), "a looking node re-sends");
    require(!participant_ || proposal_, "a participant always proposes");
    if (proposal_) {
      require(proposal_->election_epoch == logical_clock_,
              "the proposal belongs to this round");
      require(is_participant(proposal_->leader),
              "only participants are proposed");
    }
    if (participant_) {
      auto self = recv_.find(settings_.self);
      require(self != recv_.end() && self->second.v == *proposal_,
              "our own vote is in the receive set");
    }
    for (auto& [id, r] : recv_) {
      require(is_participant(id), "only participants are in the receive set");
      require(r.v.election_epoch == logical_clock_,
              "the receive set holds this round only");
      if (r.state == peer_state::looking)
        require(!quorum::beats(r.v, *proposal_),
                "our proposal is at least every looking vote we hold");
    }
    if (finalize_at_ms_)
      require(has_quorum(recv_, *proposal_, peer_state::looking),
              "a finalize wait needs a quorum");
  } else {
    require(final_.has_value(), "a settled node has an outcome");
    require(!resend_at_ms_ && !finalize_at_ms_, "a settled node has no timer");
    require((state_ == peer_state::leading) ==
                (final_->leader == settings_.self),
            "leading means leading ourselves");
    require(state_ != peer_state::observing || !participant_,
            "only non-participants observe");
  }
}

} // namespace zkd::election
