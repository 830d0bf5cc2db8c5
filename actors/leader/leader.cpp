#include "actors/leader/leader.hpp"

#include <cstdio>
#include <cstdlib>

namespace zkd::leader {

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "leader invariant violated: %s\n", what);
    std::abort();
  }
}

} // namespace

core::core(size_t quorum, int64_t start)
    : quorum_(quorum), committed_(start), last_proposed_(start) {
  require(quorum_ > 0, "quorum > 0");
}

void core::propose(int64_t zxid) {
  require(zxid > last_proposed_, "proposals in zxid order");
  last_proposed_ = zxid;
  pending_.push_back(pending{zxid, {}});
}

int64_t core::ack(uint64_t server, int64_t zxid) {
  for (auto& p : pending_) {
    if (p.zxid > zxid)
      break;
    p.acks.insert(server);
  }
  while (!pending_.empty() && pending_.front().acks.size() >= quorum_) {
    committed_ = pending_.front().zxid;
    pending_.pop_front();
  }
  return committed_;
}

void core::check_invariants() const {
  int64_t prev = committed_;
  for (auto& p : pending_) {
    require(p.zxid > prev, "pending zxids increase past the commit point");
    prev = p.zxid;
  }
}

} // namespace zkd::leader
