// The enable mask, the trace macros and the writer thread, end to end into
// a temporary file.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "actors/tracer/record.hpp"
#include "actors/tracer/tracer.hpp"
#include "actors/tracer/txn_summary.hpp"
#include "actors/tracer/writer.hpp"

using namespace zkd;

namespace {

struct temp_file {
  std::string path;
  temp_file() {
    char tmpl[] = "/tmp/zkd-tracer-test-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = tmpl;
  }
  ~temp_file() {
    tracer::stop();
    std::remove(path.c_str());
  }
  std::vector<tracer::record> records() const {
    std::ifstream in{path};
    std::vector<tracer::record> out;
    std::string line;
    while (std::getline(in, line)) {
      auto r = tracer::parse_record(line);
      REQUIRE(r);
      out.push_back(std::move(*r));
    }
    return out;
  }
};

int evaluations = 0;

int counted(int v) {
  ++evaluations;
  return v;
}

} // namespace

TEST_CASE("mask_of reads kind names, all and *") {
  std::string unknown;
  CHECK(tracer::mask_of({}) == tracer::mask_t{0});
  CHECK(
      tracer::mask_of({"leader", "txn_log"}) ==
      (tracer::bit(tracer::kind::leader) | tracer::bit(tracer::kind::txn_log)));
  CHECK(tracer::mask_of({"all"}) == tracer::all_kinds);
  CHECK(tracer::mask_of({"*"}) == tracer::all_kinds);
  CHECK_FALSE(tracer::mask_of({"leader", "bogus"}, &unknown));
  CHECK(unknown == "bogus");
  // client is a party in traces, not something to switch on.
  CHECK_FALSE(tracer::mask_of({"client"}));
  CHECK(tracer::kinds_of(tracer::bit(tracer::kind::datatree) |
                         tracer::bit(tracer::kind::admin)) ==
        std::vector<std::string>{"admin", "datatree"});
}

TEST_CASE("a disabled trace point evaluates none of its arguments") {
  tracer::stop();
  evaluations = 0;
  ZKD_TRACE(leader, counted(1), txn_log, counted(2), "m", {"a", counted(3)});
  CHECK(evaluations == 0);
  ZKD_TRACE_REFS((tracer::actor_ref{tracer::kind::leader,
                                    static_cast<uint64_t>(counted(1))}),
                 (tracer::actor_ref{tracer::kind::txn_log, 2}), "m",
                 {"a", counted(3)});
  CHECK(evaluations == 0);
}

TEST_CASE("a message is traced when its sender's or receiver's kind is on") {
  temp_file f;
  REQUIRE(tracer::start(2, f.path, {"txn_log"}) == "");
  CHECK(tracer::enabled(tracer::kind::leader, tracer::kind::txn_log));
  CHECK(tracer::enabled(tracer::kind::txn_log, tracer::kind::leader));
  CHECK_FALSE(tracer::enabled(tracer::kind::leader, tracer::kind::datatree));
  CHECK_FALSE(tracer::enabled(tracer::kind::client, tracer::kind::connection));
  evaluations = 0;
  ZKD_TRACE(leader, 7, txn_log, 9, "log_append", {"zxid", tracer::hex{0x10}},
            {"n", counted(1)});
  ZKD_TRACE(txn_log, 9, leader, 7, "log_durable", {"zxid", tracer::hex{0x10}});
  ZKD_TRACE(leader, 7, datatree, 5, "commit", {"zxid", counted(0x10)});
  ZKD_TRACE(client, 12, connection, 12, "request");
  ZKD_TRACE_TO_NODE(txn_log, 9, follower, 3, 4, "remote", {"x", true});
  CHECK(evaluations == 1);
  tracer::flush();
  auto rs = f.records();
  REQUIRE(rs.size() == 3);
  CHECK(rs[0].type == "log_append");
  CHECK(rs[0].node == 2);
  CHECK(rs[0].from == "leader#7");
  CHECK(rs[0].to == "txn_log#9");
  CHECK(rs[0].field_text("zxid") == "0x10");
  CHECK(rs[0].field_text("n") == "1");
  CHECK(rs[1].type == "log_durable");
  CHECK(rs[2].type == "remote");
  CHECK(rs[2].to_node == 4);
  CHECK(rs[0].mono_ns <= rs[1].mono_ns);
  // Wall time is derived from the monotonic stamp: it matches the clock.
  auto wall_now = tracer::wall_now_ns();
  CHECK(rs[0].wall_ns <= wall_now);
  CHECK(rs[0].wall_ns > wall_now - 10'000'000'000);
}

TEST_CASE("set_enabled switches kinds at run time") {
  temp_file f;
  REQUIRE(tracer::start(1, f.path, {}) == "");
  CHECK(tracer::enabled_kinds().empty());
  ZKD_TRACE(leader, 1, datatree, 2, "before");
  REQUIRE(tracer::set_enabled({"datatree"}) == "");
  CHECK(tracer::enabled_kinds() == std::vector<std::string>{"datatree"});
  ZKD_TRACE(leader, 1, datatree, 2, "during");
  // An unknown kind changes nothing.
  CHECK(tracer::set_enabled({"datatree", "nope"}) != "");
  CHECK(tracer::enabled_kinds() == std::vector<std::string>{"datatree"});
  REQUIRE(tracer::set_enabled({}) == "");
  ZKD_TRACE(leader, 1, datatree, 2, "after");
  tracer::flush();
  auto rs = f.records();
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].type == "during");
}

TEST_CASE("kinds without a trace file are refused") {
  tracer::stop();
  CHECK(tracer::start(1, "", {}) == "");
  CHECK(tracer::start(1, "", {"leader"}) != "");
  CHECK(tracer::set_enabled({"leader"}) != "");
  CHECK(tracer::enabled_mask() == 0);
  CHECK(tracer::set_enabled({}) == "");
  CHECK(tracer::start(1, "/nonexistent-dir/trace.jsonl", {"leader"})
            .find("cannot open trace file") != std::string::npos);
  CHECK(tracer::enabled_mask() == 0);
}

TEST_CASE("lines from many threads all arrive, each thread's in order") {
  temp_file f;
  REQUIRE(tracer::start(1, f.path, {"all"}) == "");
  constexpr int threads = 4;
  constexpr int per_thread = 5000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([t] {
      for (int i = 0; i < per_thread; ++i)
        ZKD_TRACE(connection, t, datatree, 1, "request_batch", {"seq", i},
                  {"path", "/x/\"y\""});
    });
  for (auto& t : ts)
    t.join();
  tracer::flush();
  auto rs = f.records();
  REQUIRE(rs.size() == threads * per_thread);
  std::vector<int> next(threads, 0);
  int64_t last_mono = 0;
  for (auto& r : rs) {
    // The writer merges the threads' queues: the file is in time order.
    REQUIRE(r.mono_ns >= last_mono);
    last_mono = r.mono_ns;
    auto t = std::stoi(r.from.substr(r.from.find('#') + 1));
    REQUIRE(t >= 0);
    REQUIRE(t < threads);
    CHECK(r.field_text("seq") == std::to_string(next[t]));
    next[t]++;
    CHECK(r.field_text("path") == "/x/\"y\"");
  }
  auto st = tracer::stats();
  CHECK(st.written >= static_cast<uint64_t>(threads * per_thread));
  CHECK(st.dropped == 0);
  CHECK(st.error.empty());
}

TEST_CASE("restarting switches files; stop writes what is queued") {
  temp_file a;
  temp_file b;
  REQUIRE(tracer::start(1, a.path, {"leader"}) == "");
  CHECK(tracer::current_file() == a.path);
  ZKD_TRACE(leader, 1, datatree, 2, "one");
  REQUIRE(tracer::start(1, b.path, {"leader"}) == "");
  CHECK(tracer::current_file() == b.path);
  ZKD_TRACE(leader, 1, datatree, 2, "two");
  tracer::stop();
  CHECK(tracer::current_file().empty());
  CHECK(tracer::enabled_mask() == 0);
  auto ra = a.records();
  auto rb = b.records();
  INFO("b has " << rb.size() << " dropped " << tracer::stats().dropped
                << " error " << tracer::stats().error);
  REQUIRE(ra.size() == 1);
  CHECK(ra[0].type == "one");
  REQUIRE(rb.size() == 1);
  CHECK(rb[0].type == "two");
}

TEST_CASE("a batch of txns is traced by its zxid range, one by what it does") {
  struct entry {
    int64_t zxid;
    std::string payload;
  };
  // TxnHeader of a setData (5) on "/k" by session 0x42, xid 9.
  auto txn = [](int64_t zxid) {
    std::string b;
    auto be = [&](uint64_t v, int n) {
      for (int i = n - 1; i >= 0; --i)
        b += static_cast<char>((v >> (8 * i)) & 0xff);
    };
    be(0x42, 8);
    be(9, 4);
    be(static_cast<uint64_t>(zxid), 8);
    be(0, 8);
    be(5, 4);
    be(2, 4);
    b += "/k";
    return b;
  };
  temp_file f;
  REQUIRE(tracer::start(1, f.path, {"leader"}) == "");
  std::vector<entry> one{{0x100000007, txn(0x100000007)}};
  std::vector<entry> three{{0x100000008, txn(0x100000008)},
                           {0x100000009, txn(0x100000009)},
                           {0x10000000a, txn(0x10000000a)}};
  std::vector<entry> none;
  ZKD_TRACE_TXNS(leader, 1, txn_log, 2, "log_append", one);
  ZKD_TRACE_TXNS(leader, 1, txn_log, 2, "log_append", three);
  ZKD_TRACE_TXNS(leader, 1, txn_log, 2, "log_append", none);
  ZKD_TRACE_TXNS(datatree, 1, txn_log, 2, "untraced", one);
  tracer::flush();
  auto rs = f.records();
  REQUIRE(rs.size() == 2);
  CHECK(rs[0].field_text("zxid") == "0x100000007");
  CHECK_FALSE(rs[0].field_text("zxid_last"));
  CHECK(rs[0].field_text("n") == "1");
  CHECK(rs[0].field_text("session") == "0x42");
  CHECK(rs[0].field_text("xid") == "9");
  CHECK(rs[0].field_text("op") == "setData");
  CHECK(rs[0].field_text("path") == "/k");
  CHECK(rs[1].field_text("zxid") == "0x100000008");
  CHECK(rs[1].field_text("zxid_last") == "0x10000000a");
  CHECK(rs[1].field_text("n") == "3");
  CHECK_FALSE(rs[1].field_text("op"));
}

TEST_CASE("drain writes out what is queued, and does nothing without a file") {
  tracer::stop();
  tracer::drain();
  temp_file f;
  REQUIRE(tracer::start(1, f.path, {"leader"}) == "");
  ZKD_TRACE(leader, 1, datatree, 2, "last_words");
  tracer::drain();
  auto rs = f.records();
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].type == "last_words");
}
