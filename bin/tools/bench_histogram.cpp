#include "bin/tools/bench_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace zkd::tools::bench {

size_t latency_histogram::index_of(uint64_t value) noexcept {
  // Values below 2 * sub_buckets get a bucket each; above, the top
  // sub_bucket_bits + 1 bits select one of sub_buckets buckets per octave.
  if (value < 2 * sub_buckets)
    return static_cast<size_t>(value);
  auto msb = 63 - __builtin_clzll(value);
  auto shift = msb - sub_bucket_bits;
  return static_cast<size_t>((static_cast<uint64_t>(shift) + 1) * sub_buckets +
                             ((value >> shift) - sub_buckets));
}

uint64_t latency_histogram::lowest_in_bucket(size_t index) noexcept {
  if (index < 2 * sub_buckets)
    return index;
  auto shift = index / sub_buckets - 1;
  auto sub = index % sub_buckets + sub_buckets;
  return static_cast<uint64_t>(sub) << shift;
}

uint64_t latency_histogram::highest_in_bucket(size_t index) noexcept {
  if (index < 2 * sub_buckets)
    return index;
  auto shift = index / sub_buckets - 1;
  return lowest_in_bucket(index) + (uint64_t{1} << shift) - 1;
}

size_t latency_histogram::bucket_count() noexcept {
  return index_of(max_trackable) + 1;
}

latency_histogram::latency_histogram() : counts_(bucket_count(), 0) {
  // nop
}

void latency_histogram::merge(const latency_histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void latency_histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  sum_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

uint64_t latency_histogram::percentile(double q) const noexcept {
  if (count_ == 0)
    return 0;
  q = std::clamp(q, 0.0, 1.0);
  // Nearest rank, at least the first sample. The small epsilon keeps
  // 0.999 * 1000 from rounding up to rank 1000 through binary fractions.
  auto rank =
      static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_) - 1e-9));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::clamp(highest_in_bucket(i), min(), max_);
  }
  return max_;
}

} // namespace zkd::tools::bench
