// The leader's broadcast bookkeeping (Zab phase 3) as a pure core: which
// proposals are outstanding, who has acked them, and how far the commit
// point may move. Commits are strictly in zxid order: a proposal with a
// quorum of acks still waits for every earlier one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>

namespace zkd::leader {

class core {
public:
  // `quorum` is the number of acks (the leader's own included) a proposal
  // needs: a majority of the voting members. `start` is the newest zxid of
  // the history the leader starts from, committed by definition.
  explicit core(size_t quorum, int64_t start = 0);

  // A new proposal, zxids strictly increasing.
  void propose(int64_t zxid);

  // `server` has logged every proposal up to `zxid` (acks are cumulative
  // because each learner logs in order). Returns the new commit point, or
  // the old one when nothing more can commit.
  int64_t ack(uint64_t server, int64_t zxid);

  int64_t committed() const { return committed_; }
  size_t outstanding() const { return pending_.size(); }
  int64_t last_proposed() const { return last_proposed_; }

  void check_invariants() const;

private:
  struct pending {
    int64_t zxid;
    std::set<uint64_t> acks;
  };
  size_t quorum_;
  std::deque<pending> pending_;
  int64_t committed_ = 0;
  int64_t last_proposed_ = 0;
};

} // namespace zkd::leader
