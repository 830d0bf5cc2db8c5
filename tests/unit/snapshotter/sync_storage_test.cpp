// What Zab's sync needs from the files: recovery's window and epoch ends,
// TRUNC (txn_log::truncate_after) and SNAP (install_snapshot), each checked
// by recovering the directories afterwards.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>

#include "actors/snapshotter/install.hpp"
#include "actors/snapshotter/recovery.hpp"
#include "actors/txn_log/log_edit.hpp"
#include "actors/txn_log/txn_log.hpp"
#include "tests/unit/snapshotter/test_util.hpp"

namespace zkd::snapshotter {
namespace {

using test::scratch_dir;
namespace fs = std::filesystem;

constexpr int64_t epoch(int64_t e) {
  return e << 32;
}

txn_log::writer_options log_options() {
  txn_log::writer_options o;
  o.fsync = false;
  o.segment_bytes = 16 * 1024;
  return o;
}

// Appends txns [from, to) of `log` to the log in `dir` (small preallocated
// segments, so that there are several, each with a zero tail).
void write_log(const std::string& dir, const std::vector<txn::record>& log,
               size_t from, size_t to) {
  txn_log::log_writer w;
  REQUIRE_FALSE(w.open(dir, log_options()));
  for (size_t i = from; i < to; ++i) {
    REQUIRE_FALSE(w.append(log[i].hdr.zxid, txn::encode(log[i])));
    if (i % 10 == 0)
      REQUIRE_FALSE(w.sync());
  }
  REQUIRE_FALSE(w.sync());
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::map<std::string, std::string> files_of(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::directory_iterator(dir))
    out[e.path().filename().string()] = read_bytes(e.path().string());
  return out;
}

size_t count_prefix(const std::string& dir, const std::string& prefix) {
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir))
    n += e.path().filename().string().compare(0, prefix.size(), prefix) == 0;
  return n;
}

// A history of random writes; `start_epoch` moves the zxids on to counter 1
// of a later epoch, as a new leader does.
struct history {
  datatree::tree live;
  test::workload w;
  std::vector<int64_t> sessions;

  explicit history(uint64_t seed) : w(seed, live) {}

  void start_epoch(int64_t e) { w.next_zxid = epoch(e) + 1; }

  void writes(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (i % 40 == 0) {
        auto id = int64_t(0x500 + w.log.size());
        if (w.open_session(id))
          sessions.push_back(id);
      }
      w.step(sessions);
    }
  }

  // The tree after the first k txns, built from scratch.
  std::unique_ptr<datatree::tree> replayed(size_t k) const {
    auto t = std::make_unique<datatree::tree>();
    for (size_t i = 0; i < k; ++i)
      t->apply(w.log[i]);
    return t;
  }

  // Index of the first txn with a zxid above `zxid`.
  size_t count_upto(int64_t zxid) const {
    size_t k = 0;
    while (k < w.log.size() && w.log[k].hdr.zxid <= zxid)
      ++k;
    return k;
  }
};

TEST_CASE("recovery returns the window after the snapshot and epoch ends") {
  scratch_dir data, logs;
  history h(31);
  h.writes(150);
  auto snap_at = h.w.log.size();
  auto snap_zxid = h.live.last_zxid();
  REQUIRE(snap_zxid >> 32 == 1);
  test::write_snapshot(h.live, data.str());
  h.writes(60); // more of epoch 1 after the snapshot
  auto end1 = h.live.last_zxid();
  h.start_epoch(2);
  h.writes(80);
  auto end2 = h.live.last_zxid();
  h.start_epoch(5);
  h.writes(70);
  auto end5 = h.live.last_zxid();
  write_log(logs.str(), h.w.log, 0, h.w.log.size());
  REQUIRE(count_prefix(logs.str(), "log.") > 3);

  auto r = recover(data.str(), logs.str());
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  test::require_same(h.live, *r.t);
  CHECK(r.snapshot_zxid == snap_zxid);
  CHECK(r.last_zxid == end5);
  CHECK(r.epoch_ends == std::vector<int64_t>{end1, end2, end5});
  REQUIRE(r.window.size() == h.w.log.size() - snap_at);
  for (size_t i = 0; i < r.window.size(); ++i) {
    auto& rec = h.w.log[snap_at + i];
    REQUIRE(r.window[i].first == rec.hdr.zxid);
    REQUIRE(r.window[i].second == txn::encode(rec)); // as stored in the log
  }
}

TEST_CASE("epoch ends count the snapshot's zxid when its epoch ends there") {
  scratch_dir data, logs;
  history h(32);
  h.writes(100);
  auto end1 = h.live.last_zxid();
  test::write_snapshot(h.live, data.str());

  SECTION("a log of later epochs follows") {
    auto before = h.w.log.size();
    h.start_epoch(3);
    h.writes(50);
    auto end3 = h.live.last_zxid();
    write_log(logs.str(), h.w.log, 0, h.w.log.size());
    auto r = recover(data.str(), logs.str());
    REQUIRE(r.exit_code == 0);
    CHECK(r.epoch_ends == std::vector<int64_t>{end1, end3});
    CHECK(r.window.size() == h.w.log.size() - before);
    CHECK(r.last_zxid == end3);
  }
  SECTION("no log") {
    auto r = recover(data.str(), logs.str());
    REQUIRE(r.exit_code == 0);
    CHECK(r.epoch_ends == std::vector<int64_t>{end1});
    CHECK(r.window.empty());
    CHECK(r.last_zxid == end1);
  }
}

TEST_CASE("an empty history has no epoch ends") {
  scratch_dir data, logs;
  auto r = recover(data.str(), logs.str());
  REQUIRE(r.exit_code == 0);
  CHECK(r.epoch_ends.empty());
  CHECK(r.window.empty());
  CHECK(r.last_zxid == 0);
}

TEST_CASE("recover after truncate_after gives the tree up to that zxid") {
  scratch_dir data, logs;
  history h(33);
  h.writes(120);
  test::write_snapshot(h.live, data.str());
  auto snap_zxid = h.live.last_zxid();
  h.writes(100);
  h.start_epoch(2);
  h.writes(120);
  write_log(logs.str(), h.w.log, 0, h.w.log.size());
  auto segs = txn_log::list_segments(logs.str());
  REQUIRE(segs.size() > 4);

  // Where to cut, and what the next txn after it is (a new leader's first).
  int64_t cut = 0;
  int64_t next_epoch = 3;
  SECTION("inside a segment of epoch 2") {
    cut = segs[segs.size() - 2].first_zxid + 3;
  }
  SECTION("at a segment boundary") {
    cut = segs[segs.size() - 2].first_zxid - 1;
  }
  SECTION("at the end of epoch 1") {
    cut = epoch(2);
  }
  SECTION("at the snapshot") {
    cut = snap_zxid;
  }
  SECTION("beyond the end") {
    cut = epoch(9);
    next_epoch = 9;
  }
  auto k = h.count_upto(cut);
  INFO("cut at " << cut << ", " << k << " txns kept");
  REQUIRE(txn_log::truncate_after(logs.str(), cut) == "");
  auto r = recover(data.str(), logs.str());
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  CHECK(r.warnings.empty());
  test::require_same(*h.replayed(k), *r.t);
  CHECK(r.last_zxid == h.w.log[k - 1].hdr.zxid);

  // The log goes on with the first txn of a new leader's epoch (any
  // well-formed txn will do: a createSession), and recovery includes it.
  auto expect_tree = h.replayed(k);
  txn::record next;
  next.hdr.session_id = 0x7777;
  next.hdr.zxid = epoch(next_epoch) + 1;
  next.hdr.time_ms = 1'700'000'000'000;
  next.hdr.type = wire::op::create_session;
  next.b = txn::create_session{30000};
  REQUIRE(txn::well_formed(next));
  {
    txn_log::log_writer w;
    REQUIRE_FALSE(w.open(logs.str(), log_options()));
    CHECK(w.recovery_warning().empty());
    REQUIRE_FALSE(w.append(next.hdr.zxid, txn::encode(next)));
    REQUIRE_FALSE(w.sync());
  }
  expect_tree->apply(next);
  r = recover(data.str(), logs.str());
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  test::require_same(*expect_tree, *r.t);
  CHECK(r.last_zxid == next.hdr.zxid);
  CHECK(r.window.back().first == next.hdr.zxid);
}

// A leader's tree at zxid Z as snapshot bytes, and a learner whose files
// hold another history: a snapshot below Z, one above, and a log running
// past Z.
struct install_fixture {
  scratch_dir leader_dir, data, logs;
  history leader{41};
  history learner{42};
  int64_t z = 0;
  std::string bytes;

  install_fixture() {
    leader.writes(150);
    leader.start_epoch(2);
    leader.writes(100);
    z = leader.live.last_zxid();
    bytes = read_bytes(test::write_snapshot(leader.live, leader_dir.str()));

    learner.writes(100);
    test::write_snapshot(learner.live, data.str());
    learner.start_epoch(3);
    learner.writes(100);
    test::write_snapshot(learner.live, data.str());
    learner.writes(50);
    write_log(logs.str(), learner.w.log, 0, learner.w.log.size());
    REQUIRE(learner.live.last_zxid() > z);
    REQUIRE(count_prefix(logs.str(), "log.") > 2);
  }
};

TEST_CASE_METHOD(install_fixture,
                 "an installed snapshot is exactly what recovery loads") {
  REQUIRE(install_snapshot(data.str(), logs.str(), z, bytes) == "");
  CHECK(count_prefix(logs.str(), "log.") == 0);
  // The learner's older snapshot may stay; the newer one went.
  for (auto& [name, content] : files_of(data.str())) {
    auto zx = parse_snapshot_name(name);
    REQUIRE(zx);
    CHECK(*zx <= z);
  }
  CHECK(read_bytes(data / snapshot_file_name(z)) == bytes);

  auto r = recover(data.str(), logs.str());
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  CHECK(r.warnings.empty());
  CHECK(r.snapshot == data / snapshot_file_name(z));
  CHECK(r.replayed == 0);
  CHECK(r.window.empty());
  CHECK(r.last_zxid == z);
  CHECK(r.epoch_ends == std::vector<int64_t>{z});
  test::require_same(leader.live, *r.t);
  CHECK(r.t->digest() == leader.live.digest());

  // The learner then logs what the leader sends after Z.
  leader.writes(30);
  auto from = leader.count_upto(z);
  write_log(logs.str(), leader.w.log, from, leader.w.log.size());
  r = recover(data.str(), logs.str());
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  test::require_same(leader.live, *r.t);
  CHECK(r.window.size() == leader.w.log.size() - from);
}

TEST_CASE_METHOD(install_fixture,
                 "installing into empty or missing directories works") {
  auto fresh = data / "fresh";
  REQUIRE(install_snapshot(fresh, fresh + "/log", z, bytes) == "");
  auto r = recover(fresh, fresh + "/log");
  REQUIRE(r.exit_code == 0);
  test::require_same(leader.live, *r.t);
}

TEST_CASE_METHOD(install_fixture,
                 "bad snapshot bytes are refused and change nothing") {
  auto data_before = files_of(data.str());
  auto logs_before = files_of(logs.str());
  std::string bad = bytes;
  int64_t at = z;
  std::string expect;
  SECTION("a flipped byte") {
    bad[bad.size() / 2] ^= 0x20;
    expect = "corrupt snapshot";
  }
  SECTION("cut short") {
    bad.resize(bad.size() - 10);
  }
  SECTION("empty") {
    bad.clear();
  }
  SECTION("not a snapshot") {
    bad = std::string(4096, 'x');
  }
  SECTION("of another zxid") {
    at = z + 1;
    expect = "is a snapshot of zxid";
  }
  auto err = install_snapshot(data.str(), logs.str(), at, bad);
  INFO(err);
  CHECK(err.find("refused the snapshot") != std::string::npos);
  CHECK(err.find(expect) != std::string::npos);
  CHECK(files_of(data.str()) == data_before);
  CHECK(files_of(logs.str()) == logs_before);
  // And the learner still recovers its own history.
  auto r = recover(data.str(), logs.str());
  REQUIRE(r.exit_code == 0);
  test::require_same(learner.live, *r.t);
}

TEST_CASE("remove_snapshots_after keeps snapshots at or below the zxid") {
  scratch_dir data;
  for (int64_t z : {epoch(1) + 5, epoch(1) + 9, epoch(2) + 1})
    std::ofstream(data / snapshot_file_name(z)) << "x";
  std::ofstream(data / (snapshot_file_name(epoch(3)) + ".tmp")) << "x";
  std::ofstream(data / "current_epoch") << "2\n";
  REQUIRE(remove_snapshots_after(data.str(), epoch(1) + 9) == "");
  std::vector<std::string> left;
  for (auto& [name, content] : files_of(data.str()))
    left.push_back(name);
  CHECK(left == std::vector<std::string>{"current_epoch",
                                         snapshot_file_name(epoch(1) + 5),
                                         snapshot_file_name(epoch(1) + 9)});
  CHECK(remove_snapshots_after(data / "missing", 0) == "");
}

} // namespace
} // namespace zkd::snapshotter
