#include "actors/datatree/reaper.hpp"

#include <algorithm>

namespace zkd::datatree {

namespace {

// EphemeralType.TTL.getValue: the low 40 bits of the owner field.
int64_t ttl_of(int64_t owner) noexcept {
  return owner & max_ttl_ms;
}

} // namespace

std::vector<std::string> reap_candidates(const tree& t, int64_t now_ms,
                                         const reap_options& opts) {
  std::vector<std::string> result;
  for (auto& path : t.containers()) {
    auto n = t.lookup(path);
    if (!n || n->num_children != 0)
      continue;
    if (n->stat.cversion > 0 ||
        (opts.max_never_used_ms != 0 &&
         now_ms - n->stat.mtime > opts.max_never_used_ms))
      result.push_back(path);
  }
  for (auto& path : t.ttls()) {
    auto n = t.lookup(path);
    if (!n || n->num_children != 0 || !is_ttl_owner(n->stat.ephemeral_owner))
      continue;
    auto ttl = ttl_of(n->stat.ephemeral_owner);
    if (ttl != 0 && now_ms - n->stat.mtime > ttl)
      result.push_back(path);
  }
  // Both sets are sorted; merged, the order is the txns' order.
  std::sort(result.begin(), result.end());
  return result;
}

} // namespace zkd::datatree
