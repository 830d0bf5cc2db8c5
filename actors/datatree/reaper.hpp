// ZooKeeper's ContainerManager, the part that decides: which container and
// TTL nodes the server deletes on its own. The deletions themselves are
// deleteContainer txns proposed through prep like any write, so they are
// logged, replicated and fire watches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/datatree/tree.hpp"

namespace zkd::datatree {

struct reap_options {
  // znode.container.maxNeverUsedIntervalMs: a container that never had a
  // child is deleted once it is this old (by mtime); 0 keeps it forever.
  int64_t max_never_used_ms = 0;
};

// The paths due for deletion at wall time `now_ms`, sorted: childless
// containers that have had a child (stored cversion > 0, so a container is
// not reaped in the moment between its creation and its first child), and
// childless TTL nodes not modified for longer than their TTL.
std::vector<std::string> reap_candidates(const tree& t, int64_t now_ms,
                                         const reap_options& opts = {});

} // namespace zkd::datatree
