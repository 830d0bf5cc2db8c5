// Latency histograms and per-request-type counters for the admin endpoint's
// /metrics (and mntr's summaries). Header-only and free of CAF, so both the
// shared `node` struct and the pure renderers can use it.
//
// Every recorder here has one writer thread (the connection actors all run on
// CAF's I/O multiplexer thread, fsync reports come from the txn_log's own
// thread) and any number of readers. A writer therefore updates with a relaxed
// load and store instead of a read-modify-write: on x86 that is a plain add,
// with no locked instruction on the request path. Readers may see a sample
// half recorded (a bucket counted, its sum not yet): metrics, not state.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "messages/wire/protocol.hpp"

namespace zkd::metrics {

// Upper bounds of the latency buckets, in microseconds. Printed in ms (see
// latency_bounds_ms) as Prometheus `le` labels.
inline constexpr int64_t latency_bounds_us[] = {
    50,    100,    250,    500,    1000,    2500,    5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
inline constexpr std::string_view latency_bounds_ms[] = {
    "0.05", "0.1", "0.25", "0.5", "1",    "2.5",  "5",    "10",   "25",
    "50",   "100", "250",  "500", "1000", "2500", "5000", "10000"};
inline constexpr size_t latency_bound_count = std::size(latency_bounds_us);
static_assert(std::size(latency_bounds_ms) == latency_bound_count);
// One bucket per bound plus the overflow bucket (+Inf).
inline constexpr size_t bucket_count = latency_bound_count + 1;

// A copy of a histogram at one moment. Buckets are per bucket, not
// cumulative; count is their sum, so a rendering is always self-consistent.
struct histogram_snapshot {
  std::array<uint64_t, bucket_count> buckets{};
  uint64_t count = 0;
  int64_t sum_us = 0;
  int64_t min_us = 0; // meaningful when count > 0
  int64_t max_us = 0;

  void merge(const histogram_snapshot& o) {
    if (o.count == 0)
      return;
    for (size_t i = 0; i < bucket_count; ++i)
      buckets[i] += o.buckets[i];
    min_us = count == 0 ? o.min_us : std::min(min_us, o.min_us);
    max_us = count == 0 ? o.max_us : std::max(max_us, o.max_us);
    count += o.count;
    sum_us += o.sum_us;
  }
};

// The bucket a sample of `us` microseconds falls in.
inline size_t bucket_of(int64_t us) {
  size_t i = 0;
  while (i < latency_bound_count && us > latency_bounds_us[i])
    ++i;
  return i;
}

// A monotonic counter with a single writer thread.
class counter {
public:
  void add(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> v_{0};
};

// A latency histogram with a single writer thread.
class latency_histogram {
public:
  void record(int64_t us) {
    if (us < 0)
      us = 0;
    auto& b = buckets_[bucket_of(us)];
    b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sum_us_.store(sum_us_.load(std::memory_order_relaxed) + us,
                  std::memory_order_relaxed);
    if (us < min_us_.load(std::memory_order_relaxed))
      min_us_.store(us, std::memory_order_relaxed);
    if (us > max_us_.load(std::memory_order_relaxed))
      max_us_.store(us, std::memory_order_relaxed);
  }

  histogram_snapshot snapshot() const {
    histogram_snapshot s;
    for (size_t i = 0; i < bucket_count; ++i) {
      s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
      s.count += s.buckets[i];
    }
    s.sum_us = sum_us_.load(std::memory_order_relaxed);
    s.min_us = s.count > 0 ? min_us_.load(std::memory_order_relaxed) : 0;
    s.max_us = max_us_.load(std::memory_order_relaxed);
    return s;
  }

private:
  std::array<std::atomic<uint64_t>, bucket_count> buckets_{};
  std::atomic<int64_t> sum_us_{0};
  std::atomic<int64_t> min_us_{INT64_MAX};
  std::atomic<int64_t> max_us_{0};
};

// The request types counted one by one; anything else (an op code ZooKeeper
// does not know, or a request whose body did not decode) counts as "unknown".
inline constexpr int32_t tracked_ops[] = {
    wire::op::create,
    wire::op::remove,
    wire::op::exists,
    wire::op::get_data,
    wire::op::set_data,
    wire::op::get_acl,
    wire::op::set_acl,
    wire::op::get_children,
    wire::op::sync,
    wire::op::ping,
    wire::op::get_children2,
    wire::op::check,
    wire::op::multi,
    wire::op::create2,
    wire::op::reconfig,
    wire::op::check_watches,
    wire::op::remove_watches,
    wire::op::create_container,
    wire::op::delete_container,
    wire::op::create_ttl,
    wire::op::multi_read,
    wire::op::auth,
    wire::op::set_watches,
    wire::op::sasl,
    wire::op::get_ephemerals,
    wire::op::get_all_children_number,
    wire::op::set_watches2,
    wire::op::add_watch,
    wire::op::whoami,
    wire::op::close_session,
};
inline constexpr size_t op_slot_count = std::size(tracked_ops) + 1;
inline constexpr size_t unknown_op_slot = op_slot_count - 1;

// The slot of an op code in request_metrics: a switch the compiler turns
// into a jump table.
constexpr size_t op_slot(int32_t opcode) {
  namespace op = wire::op;
  switch (opcode) {
  case op::create:
    return 0;
  case op::remove:
    return 1;
  case op::exists:
    return 2;
  case op::get_data:
    return 3;
  case op::set_data:
    return 4;
  case op::get_acl:
    return 5;
  case op::set_acl:
    return 6;
  case op::get_children:
    return 7;
  case op::sync:
    return 8;
  case op::ping:
    return 9;
  case op::get_children2:
    return 10;
  case op::check:
    return 11;
  case op::multi:
    return 12;
  case op::create2:
    return 13;
  case op::reconfig:
    return 14;
  case op::check_watches:
    return 15;
  case op::remove_watches:
    return 16;
  case op::create_container:
    return 17;
  case op::delete_container:
    return 18;
  case op::create_ttl:
    return 19;
  case op::multi_read:
    return 20;
  case op::auth:
    return 21;
  case op::set_watches:
    return 22;
  case op::sasl:
    return 23;
  case op::get_ephemerals:
    return 24;
  case op::get_all_children_number:
    return 25;
  case op::set_watches2:
    return 26;
  case op::add_watch:
    return 27;
  case op::whoami:
    return 28;
  case op::close_session:
    return 29;
  default:
    return unknown_op_slot;
  }
}

constexpr bool op_slots_match() {
  for (size_t i = 0; i < std::size(tracked_ops); ++i)
    if (op_slot(tracked_ops[i]) != i)
      return false;
  return true;
}
static_assert(op_slots_match(), "op_slot must follow tracked_ops");

// The op code of a slot; wire::op::error stands in for "unknown".
inline int32_t slot_op(size_t slot) {
  return slot < std::size(tracked_ops) ? tracked_ops[slot] : wire::op::error;
}

// The label a slot gets: ZooKeeper's op name ("getData", "delete", ...).
inline std::string_view slot_name(size_t slot) {
  return slot < std::size(tracked_ops) ? wire::op_name(tracked_ops[slot])
                                       : std::string_view{"unknown"};
}

// Per request type: the time from a request's arrival on its connection to
// its reply leaving, and how many replies carried an error code.
struct request_metrics {
  std::array<latency_histogram, op_slot_count> latency;
  std::array<counter, op_slot_count> errors;

  void record(int32_t opcode, int64_t us, bool error) {
    auto slot = op_slot(opcode);
    latency[slot].record(us);
    if (error)
      errors[slot].add(1);
  }
};

} // namespace zkd::metrics
