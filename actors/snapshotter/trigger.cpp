#include "actors/snapshotter/trigger.hpp"

#include <algorithm>

namespace zkd::snapshotter {

namespace {

// Uniform in [0, n), 0 for n == 0.
uint64_t draw(std::mt19937_64& rng, uint64_t n) {
  if (n == 0)
    return 0;
  return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng);
}

} // namespace

snapshot_trigger::snapshot_trigger(int64_t count, int64_t bytes, uint64_t seed,
                                   int64_t tree_percent, uint64_t nodes)
    : count_(static_cast<uint64_t>(std::max<int64_t>(count, 2))),
      bytes_limit_cfg_(static_cast<uint64_t>(std::max<int64_t>(bytes, 0))),
      tree_percent_(static_cast<uint64_t>(std::max<int64_t>(tree_percent, 0))),
      rng_(seed) {
  restart(nodes);
}

void snapshot_trigger::restart(uint64_t nodes) {
  records_ = 0;
  bytes_ = 0;
  record_limit_ = count_ / 2 + draw(rng_, count_ / 2);
  // nodes * percent / 100, split so that it cannot overflow.
  const uint64_t tp =
      nodes / 100 * tree_percent_ + nodes % 100 * tree_percent_ / 100;
  if (tp != 0)
    record_limit_ = std::max(record_limit_, tp / 2 + draw(rng_, tp / 2));
  byte_limit_ = bytes_limit_cfg_ == 0
                    ? 0
                    : bytes_limit_cfg_ / 2 + draw(rng_, bytes_limit_cfg_ / 2);
}

bool snapshot_trigger::logged(uint64_t records, uint64_t bytes) {
  records_ += records;
  bytes_ += bytes;
  // ZooKeeper: logCount > snapCount/2 + randRoll, logSize > snapSize/2 +
  // randSize.
  return records_ > record_limit_ || (byte_limit_ != 0 && bytes_ > byte_limit_);
}

} // namespace zkd::snapshotter
