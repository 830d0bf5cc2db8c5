#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "bin/tools/bench_histogram.hpp"

using zkd::tools::bench::latency_histogram;

namespace {

// The nearest-rank percentile of a sorted sample, the definition the
// histogram approximates.
uint64_t exact_percentile(const std::vector<uint64_t>& sorted, double q) {
  auto rank = static_cast<size_t>(std::ceil(q * sorted.size() - 1e-9));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// Within the histogram's resolution: one part in 1024 of the value.
bool close_enough(uint64_t got, uint64_t want) {
  auto diff = got > want ? got - want : want - got;
  return diff <= want / latency_histogram::sub_buckets + 1;
}

} // namespace

TEST_CASE("bucket layout is exact below 2048 and tiles the range") {
  for (uint64_t v = 0; v < 2048; ++v) {
    auto i = latency_histogram::index_of(v);
    CHECK(latency_histogram::lowest_in_bucket(i) == v);
    CHECK(latency_histogram::highest_in_bucket(i) == v);
  }
  // Consecutive buckets touch: no value falls between two of them, and
  // every bucket is narrower than 1/1024 of its values.
  for (size_t i = 1; i < latency_histogram::bucket_count(); ++i) {
    REQUIRE(latency_histogram::lowest_in_bucket(i) ==
            latency_histogram::highest_in_bucket(i - 1) + 1);
    auto lo = latency_histogram::lowest_in_bucket(i);
    auto width = latency_histogram::highest_in_bucket(i) - lo + 1;
    REQUIRE(width <= std::max<uint64_t>(1, lo / 1024));
  }
  // A value lands in the bucket that covers it.
  for (uint64_t v : std::vector<uint64_t>{2048, 2049, 4095, 4096, 123456789,
                                          latency_histogram::max_trackable}) {
    auto i = latency_histogram::index_of(v);
    CHECK(latency_histogram::lowest_in_bucket(i) <= v);
    CHECK(v <= latency_histogram::highest_in_bucket(i));
  }
  CHECK(latency_histogram::index_of(latency_histogram::max_trackable) + 1 ==
        latency_histogram::bucket_count());
}

TEST_CASE("an empty histogram reports zeros") {
  latency_histogram h;
  CHECK(h.count() == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  CHECK(h.mean() == 0.0);
  CHECK(h.percentile(0.5) == 0);
  CHECK(h.percentile(0.999) == 0);
}

TEST_CASE("one sample is every percentile, exactly") {
  latency_histogram h;
  h.record(123456789);
  CHECK(h.count() == 1);
  for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0})
    CHECK(h.percentile(q) == 123456789);
  CHECK(h.min() == 123456789);
  CHECK(h.max() == 123456789);
}

TEST_CASE("percentiles follow the nearest-rank definition") {
  latency_histogram h;
  for (uint64_t v = 1; v <= 1000; ++v)
    h.record(v);
  CHECK(h.percentile(0.5) == 500);
  CHECK(h.percentile(0.9) == 900);
  CHECK(h.percentile(0.99) == 990);
  CHECK(h.percentile(0.999) == 999);
  CHECK(h.percentile(1.0) == 1000);
  CHECK(h.percentile(0.0) == 1);
  CHECK(h.mean() == Approx(500.5));
}

TEST_CASE("p99.9 of a skewed sample is within 0.1 % of the exact value") {
  // Latencies in ns, mostly 50-200 us with a tail up to 50 ms.
  std::mt19937_64 rng{42};
  std::lognormal_distribution<double> body{std::log(100000.0), 0.4};
  std::uniform_int_distribution<uint64_t> tail{1000000, 50000000};
  std::vector<uint64_t> sample;
  latency_histogram h;
  for (int i = 0; i < 200000; ++i) {
    auto v = i % 500 == 0 ? tail(rng) : static_cast<uint64_t>(body(rng));
    sample.push_back(v);
    h.record(v);
  }
  std::sort(sample.begin(), sample.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    INFO("q = " << q);
    auto want = exact_percentile(sample, q);
    auto got = h.percentile(q);
    CHECK(close_enough(got, want));
    CHECK(got >= want); // the bucket's highest value, never below
  }
  CHECK(h.max() == sample.back());
  CHECK(h.min() == sample.front());
  CHECK(h.count() == sample.size());
}

TEST_CASE("merging equals recording everything in one histogram") {
  latency_histogram a, b, all;
  for (uint64_t v = 0; v < 5000; ++v) {
    auto x = v * v * 37 + 11;
    (v % 3 == 0 ? a : b).record(x);
    all.record(x);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.min() == all.min());
  CHECK(a.max() == all.max());
  CHECK(a.mean() == Approx(all.mean()));
  for (double q : {0.1, 0.5, 0.9, 0.99, 0.999})
    CHECK(a.percentile(q) == all.percentile(q));
}

TEST_CASE("values past the trackable range are clamped, reset empties") {
  latency_histogram h;
  h.record(UINT64_MAX);
  CHECK(h.max() == latency_histogram::max_trackable);
  CHECK(h.percentile(0.5) == latency_histogram::max_trackable);
  h.reset();
  CHECK(h.count() == 0);
  h.record(7);
  CHECK(h.percentile(0.5) == 7);
  CHECK(h.min() == 7);
}
