// The snapshotter actor: writes the snapshot blocks the datatree captures,
// checksummed, to a temporary file; at the end syncs and renames it, then
// purges old snapshots and log segments. Detached (its own thread), because
// it blocks in write and fsync; the datatree on the I/O thread never waits
// for it. Messages: snapshotter_messages.hpp.
#pragma once

#include <cstddef>
#include <string>

#include <caf/fwd.hpp>

namespace zkd::snapshotter {

struct snapshotter_options {
  std::string data_dir; // snapshots go here
  std::string log_dir;  // purged with them
  bool fsync = true;
  size_t retain = 3; // snapshots kept (at least min_snapshot_retain)
};

// detached = false only for tests under CAF's testing scheduler.
caf::actor spawn_snapshotter(caf::actor_system& sys, snapshotter_options opts,
                             bool detached = true);

} // namespace zkd::snapshotter
