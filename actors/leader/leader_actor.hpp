// The leader role: the CAF shell over leader::zab_leader. It orders
// proposals, has them logged locally and acked by a quorum, tells the
// datatree how far it may commit, and runs each learner's discovery, sync
// and broadcast. A standalone node is a leader of a one-member quorum: the
// same path, with its own log as the only ack.
//
// Learners reach it through the peer (published on the quorum port), which
// hands them this actor; from then on they talk to it directly.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/leader/zab_leader.hpp"
#include "actors/peer/node.hpp"

namespace zkd {

caf::actor spawn_leader(caf::actor_system& sys, std::shared_ptr<node> nd,
                        leader::zab_settings s, leader::zab_history h,
                        caf::actor peer);

} // namespace zkd
