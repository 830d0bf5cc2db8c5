// A deterministic simulation of a zkd ensemble in one thread: 3 or 5 voting
// nodes (and optional observers) run the real protocol cores
// (election::core, leader::zab_leader, follower::learner) wired the way
// actors/peer, actors/leader and actors/follower wire them, over a seeded
// network with a fake clock. Everything random comes from one seed, so a
// failure replays exactly with `--seed N`.
//
// What is modelled, and why it looks the way it does:
// - Rounds (actors/peer/peer_actor.cpp): recover from the persisted state,
//   elect (or rejoin the same leader after TRUNC/SNAP), run the role; when
//   the role ends, the log writer stops (what it had not written is gone),
//   TRUNC/SNAP edit the files, and a new round starts.
// - Persisted state per node: the log, accepted/current epoch files,
//   snapshots. The log writer makes appends durable after a random delay
//   (group commit); a crash keeps the durable records and a random prefix of
//   the rest (written but not fsynced: the page cache may or may not have
//   reached the disk).
// - The datatree's part: the tree is the applied sequence of txns; recovery
//   replays snapshot + log (uncommitted txns included, as Zab does); a
//   learner holds proposals until their commit; the leader assigns zxids
//   (epoch << 32 | counter) to client writes once established. Snapshots are
//   taken at random moments of what the tree holds (see
//   options::snapshot_any_time).
// - Network: BASP is TCP, so within one connection messages are FIFO and
//   never lost or duplicated. Faults are connection-level: a cut (RST: the
//   in-flight messages are lost, both sides are told), a blackhole (packets
//   dropped for a while: TCP retransmits, messages arrive late, nobody is
//   told), a node crash (SIGKILL: volatile state lost) and restart, a pause
//   (SIGSTOP: nothing runs, messages queue) and resume.
//
// Checkers (a failure names the seed): at most one leader establishes each
// epoch; every serving node's tree is a prefix of one global committed
// sequence, which never loses a txn (a new leader's history holds all of
// it); zxids strictly increase in every log and recovery finds no gap;
// epochs on disk never go back; the cores' own invariants after every step;
// liveness: once the faults stop, a leader is established, new writes
// commit and every node ends serving with the same tree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zkd::sim {

struct options {
  uint64_t seed = 1;
  int nodes = 3;     // voters
  int observers = 0; // non-voting members
  // Events processed while faults are injected; then the faults stop, the
  // network heals, crashed nodes restart, and liveness is checked.
  int64_t steps = 20000;
  int64_t tick_ms = 200;
  // When a node may snapshot its tree. false: only while serving (after
  // UPTODATE, or established as leader), when the tree holds committed
  // txns only. true: at any moment of a round, as today's datatree
  // snapshot trigger does (it counts the replayed log at round start), so
  // a snapshot can hold txns that never commit.
  bool snapshot_any_time = false;
  bool trace = false;       // print every traced event as it happens
  bool trace_votes = false; // also every election notification and link
};

struct result {
  bool ok = true;
  std::string failure;            // what went wrong
  std::vector<std::string> trace; // the last traced events before it
  // Figures, for the summary line.
  uint64_t events = 0;
  uint64_t committed = 0; // length of the global committed sequence
  uint64_t acked = 0;     // client writes acknowledged
  uint64_t elections = 0; // epochs established
  uint64_t faults = 0;
  uint64_t truncs = 0;
  uint64_t snaps = 0;
  int64_t sim_ms = 0;
};

result run(const options& o);

} // namespace zkd::sim
