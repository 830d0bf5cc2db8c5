// One per connected follower or observer, as ZooKeeper's LearnerHandler:
// it owns the link to that learner. It monitors the learner's actor, passes
// the leader's messages on in order and the learner's back to the leader
// (which knows the learner by its handler), and streams snapshots in
// acknowledged chunks, because BASP has no flow control: a blast of a large
// snapshot would queue all of it in memory and hold up the proposals and
// pings behind it.
//
// It watches the leader: when the leader's round ends, its handlers go, and
// each learner sees its link drop.
#pragma once

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

namespace zkd {

// leader -> handler: stream the snapshot file at `path` (of zxid) to the
// learner: SNAP, then snap_chunks, at most a window of them unacknowledged.
using stream_snapshot_atom = caf::atom_constant<caf::atom("lh_snap")>;

caf::actor spawn_learner_handler(caf::actor_system& sys, uint64_t sid,
                                 caf::actor learner, caf::actor leader);

} // namespace zkd
