// Tests of the txn_log actor. They need CAF and the shell (zkd_core), which
// the unit_txn_log target links only when ZKD_TEST_CAF is defined; see the
// note in the txn_log report. Without it this file compiles to nothing.
#ifdef ZKD_TEST_CAF

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <sys/resource.h>

#include "actors/txn_log/txn_log_actor.hpp"
#include "actors/txn_log/txn_log_messages.hpp"
#include "tests/unit/txn_log/test_util.hpp"

using namespace zkd::txn_log;
using namespace zkd::txn_log::test;

namespace {

// What a probe appender saw.
struct seen {
  std::vector<int64_t> durable;
  std::vector<std::string> failed;
  caf::error down_reason;
  bool down = false;
};

// An appender that sends its batches (one message per entry) as soon as it
// starts, then records the answers.
caf::behavior probe(caf::event_based_actor* self, caf::actor log,
                    std::vector<int64_t> zxids, std::shared_ptr<seen> out) {
  self->monitor(log);
  self->set_down_handler([=](caf::down_msg& dm) {
    out->down = true;
    out->down_reason = dm.reason;
  });
  for (auto z : zxids)
    self->send(log, log_append{{log_entry{z, payload_for(z, 50)}}});
  return {
      [=](const log_durable& d) { out->durable.push_back(d.zxid); },
      [=](const log_failed& f) { out->failed.push_back(f.what); },
  };
}

std::vector<int64_t> range(int64_t first, int64_t last) {
  std::vector<int64_t> out;
  for (auto z = first; z <= last; ++z)
    out.push_back(z);
  return out;
}

struct testing_config : caf::actor_system_config {
  testing_config() { set("scheduler.policy", caf::atom("testing")); }
};

// Deterministic: actors run only when the test runs the scheduler, so every
// append is in the log's mailbox before it processes the first one.
struct testing_fixture {
  testing_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  temp_dir tmp;
  std::shared_ptr<log_writer> writer = std::make_shared<log_writer>();
  caf::actor log;
  // Handles keep helper actors alive: CAF stops an actor nobody refers to.
  std::vector<caf::actor> helpers;

  // What the sync observer saw.
  std::shared_ptr<std::vector<sync_report>> reports =
      std::make_shared<std::vector<sync_report>>();

  void start(const writer_options& opts) {
    REQUIRE_FALSE(writer->open(tmp.path(), opts));
    auto out = reports;
    log = spawn_txn_log_actor(
        sys, writer, false, [out](const sync_report& r) { out->push_back(r); });
  }

  void spawn_probe(std::vector<int64_t> zxids, std::shared_ptr<seen> out) {
    helpers.push_back(sys.spawn(probe, log, std::move(zxids), std::move(out)));
  }

  log_stats stats() {
    auto out = std::make_shared<log_stats>();
    // Arguments passed through spawn rather than captured: CAF 0.17
    // dereferences a null tuple pointer for an argument-less function, which
    // UBSan reports.
    helpers.push_back(sys.spawn(
        [](caf::event_based_actor* self, caf::actor log,
           std::shared_ptr<log_stats> out) {
          self->request(log, caf::infinite, log_stats_atom::value)
              .then([=](const log_stats& s) { *out = s; });
        },
        log, out));
    sched.run();
    return *out;
  }

  ~testing_fixture() {
    for (auto& h : helpers)
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
    if (log)
      caf::anon_send_exit(log, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

} // namespace

TEST_CASE_METHOD(testing_fixture, "queued appends share one fdatasync") {
  writer_options opts;
  opts.fsync = true;
  opts.segment_bytes = 1u << 20;
  start(opts);
  auto a = std::make_shared<seen>();
  auto b = std::make_shared<seen>();
  // Interleaved zxids from two appenders; both spawn before the log runs.
  spawn_probe(range(1, 100), a);
  spawn_probe(range(101, 160), b);
  sched.run();
  CHECK(a->durable == std::vector<int64_t>{100});
  CHECK(b->durable == std::vector<int64_t>{160});
  auto st = stats();
  CHECK(st.appends == 160);
  CHECK(st.batches == 1);
  CHECK(st.fsyncs == 1);
  CHECK(st.durable_zxid == 160);
  REQUIRE(reports->size() == 1);
  CHECK(reports->at(0).records == 160);
  CHECK(reports->at(0).bytes == 160 * (record_header_bytes + 50));
  CHECK(reports->at(0).duration_us >= 0);

  // The next wave is another group.
  spawn_probe(range(161, 170), a);
  sched.run();
  CHECK(a->durable == std::vector<int64_t>{100, 170});
  CHECK(b->durable.size() == 1); // b had nothing in that batch
  CHECK(stats().fsyncs == 2);
  CHECK(reports->size() == 2);
  auto s = scan_all(tmp.path());
  CHECK(s.result.status == scan_status::clean);
  CHECK(s.records.size() == 170);
  CHECK(a->failed.empty());
  CHECK(b->failed.empty());
}

TEST_CASE_METHOD(testing_fixture, "a write error stops the log loudly") {
  writer_options opts;
  opts.fsync = false;
  opts.preallocate = prealloc::none;
  start(opts);
  auto a = std::make_shared<seen>();
  spawn_probe(range(1, 10), a);
  sched.run();
  REQUIRE(a->durable == std::vector<int64_t>{10});
  auto b = std::make_shared<seen>();
  {
    file_size_limit limit(file_size(writer->current_segment()) + 200);
    spawn_probe(range(11, 30), a);
    spawn_probe(range(31, 40), b);
    sched.run();
  }
  REQUIRE(a->failed.size() == 1);
  CHECK(a->failed[0].find(writer->current_segment()) != std::string::npos);
  CHECK(b->failed.size() == 1);
  CHECK(a->durable.size() == 1); // nothing after the failure is acknowledged
  CHECK(b->durable.empty());
  CHECK(a->down);
  CHECK(a->down_reason != caf::none);
  log = nullptr;
}

TEST_CASE_METHOD(testing_fixture, "a zxid that goes back stops the log") {
  writer_options opts;
  opts.fsync = false;
  start(opts);
  auto a = std::make_shared<seen>();
  spawn_probe(std::vector<int64_t>{1, 2, 3, 2}, a);
  sched.run();
  REQUIRE(a->failed.size() == 1);
  CHECK(a->failed[0].find("not greater") != std::string::npos);
  CHECK(a->durable.empty());
  CHECK(a->down);
  log = nullptr;
}

TEST_CASE("the detached log acknowledges appends from a real system") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  temp_dir tmp;
  writer_options opts;
  opts.fsync = true;
  opts.segment_bytes = 1u << 20;
  auto log = spawn_txn_log(sys, tmp.path(), opts);
  REQUIRE(log);
  constexpr int64_t n = 300;
  {
    caf::scoped_actor self{sys};
    for (int64_t z = 1; z <= n; ++z)
      self->send(*log, log_append{{log_entry{z, payload_for(z, 100)}}});
    int64_t durable = 0;
    int acks = 0;
    bool timed_out = false;
    while (durable < n && !timed_out) {
      self->receive(
          [&](const log_durable& d) {
            CHECK(d.zxid > durable);
            durable = d.zxid;
            ++acks;
          },
          [&](const log_failed& f) { FAIL(f.what); },
          caf::after(std::chrono::seconds(30)) >> [&] { timed_out = true; });
    }
    REQUIRE_FALSE(timed_out);
    CHECK(durable == n);
    log_stats st;
    self->request(*log, std::chrono::seconds(30), log_stats_atom::value)
        .receive([&](const log_stats& s) { st = s; },
                 [&](const caf::error& e) { FAIL(sys.render(e)); });
    CHECK(st.appends == n);
    CHECK(st.durable_zxid == n);
    // One write and one fdatasync per group, one ack per group.
    CHECK(st.fsyncs == st.batches);
    CHECK(st.batches <= static_cast<uint64_t>(n));
    CHECK(static_cast<uint64_t>(acks) == st.batches);
    self->send_exit(*log, caf::exit_reason::user_shutdown);
    self->wait_for(*log);
  }
  auto s = scan_all(tmp.path());
  CHECK(s.result.status == scan_status::clean);
  CHECK(s.records.size() == static_cast<size_t>(n));
}

TEST_CASE("spawn_txn_log refuses a corrupt log") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  temp_dir tmp;
  auto path = write_segment(tmp.path(), 1, {{1, "a"}, {2, "b"}, {3, "c"}});
  flip_byte(path, file_header_bytes + record_header_bytes);
  auto log = spawn_txn_log(sys, tmp.path(), writer_options{});
  REQUIRE_FALSE(log);
  CHECK(sys.render(log.error()).find(path) != std::string::npos);
}

#endif // ZKD_TEST_CAF
