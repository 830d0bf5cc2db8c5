// A latency histogram with logarithmic buckets (the HdrHistogram layout):
// every power of two is split into 1024 linear sub-buckets, so a recorded
// value is known to within 1/1024 (0.1 %) of itself at any magnitude, and the
// histogram stays a fixed 280 KiB however many samples it holds. Exact below
// 2048 (ns), exact min, max and mean.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace zkd::tools::bench {

class latency_histogram {
public:
  static constexpr int sub_bucket_bits = 10;
  static constexpr uint64_t sub_buckets = uint64_t{1} << sub_bucket_bits;
  // Values above this (about 4.9 hours in ns) are recorded as this.
  static constexpr uint64_t max_trackable = (uint64_t{1} << 44) - 1;

  latency_histogram();

  void record(uint64_t value) noexcept {
    if (value > max_trackable)
      value = max_trackable;
    ++counts_[index_of(value)];
    ++count_;
    sum_ += value;
    if (value < min_)
      min_ = value;
    if (value > max_)
      max_ = value;
  }

  // Adds every sample of `other`.
  void merge(const latency_histogram& other);

  void reset();

  uint64_t count() const noexcept { return count_; }
  uint64_t min() const noexcept { return count_ ? min_ : 0; }
  uint64_t max() const noexcept { return max_; }
  double mean() const noexcept {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_)
                  : 0.0;
  }

  // The nearest-rank percentile (q in [0, 1]): the smallest recorded value v
  // such that at least q of all samples are <= v, reported as the highest
  // value of v's bucket, clamped to [min, max]. 0 when empty.
  uint64_t percentile(double q) const noexcept;

  // The bucket layout, public for tests.
  static size_t index_of(uint64_t value) noexcept;
  static uint64_t lowest_in_bucket(size_t index) noexcept;
  static uint64_t highest_in_bucket(size_t index) noexcept;
  static size_t bucket_count() noexcept;

private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

} // namespace zkd::tools::bench
