// The test that proves the snapshot design (actors/snapshotter/snapshot.hpp):
// while a capture walks the tree in small steps, random committed writes
// change it between (and so right under) the steps. Then
//   1. the snapshot equals the tree as it was when the capture began, and
//   2. loading the snapshot and replaying every txn applied since gives the
//      live tree, compared field by field, with the digest, sessions and
//      ephemerals.
#include <catch2/catch.hpp>

#include "actors/snapshotter/recovery.hpp"
#include "actors/snapshotter/snapshot.hpp"
#include "tests/unit/snapshotter/test_util.hpp"

namespace zkd::snapshotter {
namespace {

using test::scratch_dir;

struct scenario {
  uint64_t seed;
  size_t initial_writes; // before the capture
  size_t step_nodes;     // znodes per capture step
  size_t max_writes;     // per pause between steps (0 .. max)
  size_t block_bytes;
};

// Builds a tree, captures it with writes interleaved, checks 1 and 2.
void run(const scenario& sc) {
  INFO("seed " << sc.seed);
  scratch_dir dir;
  datatree::tree live;
  test::workload w(sc.seed, live);
  std::vector<int64_t> sessions;
  for (int64_t s = 1; s <= 4; ++s) {
    REQUIRE(w.open_session(0x100 + s));
    sessions.push_back(0x100 + s);
  }
  // A quota on /app, so writes under it change the stats znode too.
  auto make = [&](const std::string& path, std::string data) {
    wire::request rq;
    rq.hdr.type = wire::op::create;
    rq.body = wire::create_request{path, std::move(data), test::open_acl(), 0};
    REQUIRE(w.request(0, rq));
  };
  make("/app", "");
  make("/zookeeper/quota/app", "");
  make("/zookeeper/quota/app/zookeeper_limits", "count=100,bytes=-1");
  make("/zookeeper/quota/app/zookeeper_stats", "count=0,bytes=0");
  REQUIRE(!live.quotas().empty());
  for (size_t i = 0; i < sc.initial_writes; ++i)
    w.step(sessions);

  // The tree at the capture's zxid, by value.
  auto at_start = test::contents(live);
  auto sessions_at_start = live.sessions();
  auto digest_at_start = live.digest();

  snapshot_encoder enc(sc.block_bytes);
  auto captured_sessions = live.sessions();
  live.capture_begin(enc);
  auto zxid = live.capture_zxid();
  CHECK(zxid == live.last_zxid());
  snapshot_header h;
  h.zxid = zxid;
  h.digest = live.digest();
  snapshot_writer writer;
  REQUIRE_FALSE(writer.open(dir.str(), h, write_options{false}));
  size_t first_txn = w.log.size();
  size_t steps = 0;
  bool done = false;
  while (!done) {
    done = live.capture_step(sc.step_nodes);
    ++steps;
    if (done)
      for (auto& [id, timeout] : captured_sessions)
        enc.session(id, timeout);
    for (auto& b : enc.take_blocks(done))
      REQUIRE_FALSE(writer.append_block(b));
    if (done)
      break;
    auto n = w.pick(sc.max_writes + 1);
    for (size_t i = 0; i < n; ++i) {
      // Sessions come and go too (closing one deletes its ephemerals).
      if (w.pick(40) == 0) {
        if (w.pick(2) && sessions.size() > 1) {
          auto k = w.pick(sessions.size());
          REQUIRE(w.close_session(sessions[k]));
          sessions.erase(sessions.begin() + static_cast<long>(k));
        } else {
          auto id = int64_t(0x200 + w.log.size());
          REQUIRE(w.open_session(id));
          sessions.push_back(id);
        }
        continue;
      }
      w.step(sessions);
    }
    live.check_invariants();
  }
  REQUIRE_FALSE(live.capturing());
  live.check_invariants();
  REQUIRE_FALSE(writer.finish(enc.counts()));
  INFO(steps << " steps, " << (w.log.size() - first_txn)
             << " txns during the capture");
  REQUIRE(w.log.size() - first_txn > 0);

  // 1. The image is the tree at the capture's zxid.
  auto loaded = load_snapshot(writer.path());
  INFO(loaded.error);
  REQUIRE(loaded.exit_code == 0);
  CHECK(loaded.snapshot_zxid == zxid);
  CHECK(loaded.t->digest() == digest_at_start);
  CHECK(loaded.t->sessions() == sessions_at_start);
  REQUIRE(test::contents(*loaded.t) == at_start);

  // 2. Image + the txns since == the live tree.
  for (size_t i = first_txn; i < w.log.size(); ++i) {
    REQUIRE(w.log[i].hdr.zxid > zxid);
    loaded.t->apply(w.log[i]);
  }
  loaded.t->check_invariants();
  test::require_same(live, *loaded.t);
}

TEST_CASE("a capture is the tree at its zxid, whatever is applied during it") {
  // Small steps and blocks so that writes land right at the walk's cursor.
  for (uint64_t seed = 1; seed <= 40; ++seed)
    run({seed, 300, 1 + seed % 5, 6, 256});
}

TEST_CASE("a capture under heavy writes") {
  for (uint64_t seed = 100; seed <= 105; ++seed)
    run({seed, 2000, 16, 40, 4096});
}

TEST_CASE("a capture of a tree that empties during it") {
  // Few znodes, many deletes: the cursor's znode is deleted often.
  for (uint64_t seed = 200; seed <= 230; ++seed)
    run({seed, 40, 1, 12, 64});
}

TEST_CASE("a znode deleted or moved right at the cursor") {
  // Directed: step one znode at a time and each time delete or regrow (a
  // reallocation) the znodes just ahead of the walk.
  scratch_dir dir;
  datatree::tree live;
  test::workload w(7, live);
  auto create = [&](const std::string& path, std::string data) {
    wire::request rq;
    rq.hdr.type = wire::op::create;
    rq.body = wire::create_request{path, std::move(data), test::open_acl(), 0};
    REQUIRE(w.request(0, rq));
  };
  auto set = [&](const std::string& path, std::string data) {
    wire::request rq;
    rq.hdr.type = wire::op::set_data;
    rq.body = wire::set_data_request{path, std::move(data), -1};
    return w.request(0, rq);
  };
  auto remove = [&](const std::string& path) {
    wire::request rq;
    rq.hdr.type = wire::op::remove;
    rq.body = wire::delete_request{path, -1};
    return w.request(0, rq);
  };
  create("/a", "x");
  for (int i = 0; i < 30; ++i)
    create("/a/n" + std::to_string(i), std::string(size_t(i), 'd'));
  auto at_start = test::contents(live);
  snapshot_encoder enc(64);
  live.capture_begin(enc);
  auto zxid = live.capture_zxid();
  snapshot_header h;
  h.zxid = zxid;
  h.digest = live.digest();
  snapshot_writer writer;
  REQUIRE_FALSE(writer.open(dir.str(), h, write_options{false}));
  size_t first_txn = w.log.size();
  int round = 0;
  bool done = false;
  while (!done) {
    done = live.capture_step(1);
    for (auto& b : enc.take_blocks(done))
      REQUIRE_FALSE(writer.append_block(b));
    // Children are linked newest first, so the walk meets n29 .. n0 in
    // that order; hit the ones it is about to reach.
    for (int i = 29 - round; i >= 0 && i > 29 - round - 3; --i) {
      auto p = "/a/n" + std::to_string(i);
      if (round % 2 == 0)
        remove(p);
      else
        set(p, std::string(size_t(100 + round * 37), 'g'));
    }
    create("/a/new" + std::to_string(round), "");
    ++round;
  }
  REQUIRE_FALSE(writer.finish(enc.counts()));
  auto loaded = load_snapshot(writer.path());
  REQUIRE(loaded.exit_code == 0);
  REQUIRE(test::contents(*loaded.t) == at_start);
  for (size_t i = first_txn; i < w.log.size(); ++i)
    loaded.t->apply(w.log[i]);
  test::require_same(live, *loaded.t);
}

TEST_CASE("an abandoned capture leaves the tree ready for the next one") {
  scratch_dir dir;
  datatree::tree live;
  test::workload w(11, live);
  for (int i = 0; i < 200; ++i)
    w.step({});
  snapshot_encoder enc;
  live.capture_begin(enc);
  live.capture_step(10);
  for (int i = 0; i < 50; ++i)
    w.step({});
  live.capture_abandon();
  REQUIRE_FALSE(live.capturing());
  live.check_invariants();
  auto path = test::write_snapshot(live, dir.str());
  auto loaded = load_snapshot(path);
  REQUIRE(loaded.exit_code == 0);
  test::require_same(live, *loaded.t);
}

TEST_CASE("no capture: every write is one branch, and the tree is unchanged") {
  // Writes with no capture running must not touch the marks' agreement
  // (check_invariants verifies it) and two captures in a row both work.
  scratch_dir dir;
  datatree::tree live;
  test::workload w(3, live);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 100; ++i)
      w.step({});
    live.check_invariants();
    auto path = test::write_snapshot(live, dir.str());
    auto loaded = load_snapshot(path);
    REQUIRE(loaded.exit_code == 0);
    test::require_same(live, *loaded.t);
  }
}

} // namespace
} // namespace zkd::snapshotter
