// Messages between the datatree (which captures) and the snapshotter (which
// writes). Local to one node. A snapshot is: snap_begin, any number of
// snap_blocks, then snap_end; the snapshotter answers each snap_blocks with
// snap_written (the datatree keeps a bounded number in flight) and the end
// with snap_done.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace zkd::snapshotter {

struct snap_begin {
  int64_t zxid = 0;    // the capture's zxid
  int64_t digest = 0;  // the tree digest at that zxid
  int64_t time_ms = 0; // wall clock when it began
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snap_begin& x) {
  return f(caf::meta::type_name("zkd::snapshotter::snap_begin"), x.zxid,
           x.digest, x.time_ms);
}

// Block payloads in file order (snapshot_encoder::take_blocks).
struct snap_blocks {
  std::vector<std::string> blocks;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snap_blocks& x) {
  return f(caf::meta::type_name("zkd::snapshotter::snap_blocks"), x.blocks);
}

// One snap_blocks handled (written, or dropped after a failure).
struct snap_written {
  uint64_t bytes = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snap_written& x) {
  return f(caf::meta::type_name("zkd::snapshotter::snap_written"), x.bytes);
}

// Everything was sent: write the trailer with these counts and finish.
struct snap_end {
  uint64_t nodes = 0;
  uint64_t sessions = 0;
  uint32_t acls = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snap_end& x) {
  return f(caf::meta::type_name("zkd::snapshotter::snap_end"), x.nodes,
           x.sessions, x.acls);
}

// The snapshot is durable (ok) or abandoned (error says why).
struct snap_done {
  int64_t zxid = 0;
  bool ok = false;
  std::string path;
  std::string error;
  uint64_t bytes = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snap_done& x) {
  return f(caf::meta::type_name("zkd::snapshotter::snap_done"), x.zxid, x.ok,
           x.path, x.error, x.bytes);
}

// peer -> datatree at start-up: recovery replayed this much log after the
// snapshot it loaded; it counts towards the next snapshot.
struct snap_replayed {
  uint64_t records = 0;
  uint64_t bytes = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snap_replayed& x) {
  return f(caf::meta::type_name("zkd::snapshotter::snap_replayed"), x.records,
           x.bytes);
}

} // namespace zkd::snapshotter
