// Start-up recovery: newest snapshot + the log after it, and every way the
// files can be wrong.
#include <catch2/catch.hpp>

#include <fstream>

#include "actors/snapshotter/purge.hpp"
#include "actors/snapshotter/recovery.hpp"
#include "actors/txn_log/txn_log.hpp"
#include "tests/unit/snapshotter/test_util.hpp"

namespace zkd::snapshotter {
namespace {

using test::scratch_dir;
namespace fs = std::filesystem;

// Writes txns [from, to) of the workload's log into the log in `dir`, with
// small segments so that there are several.
void write_log(const std::string& dir, const std::vector<txn::record>& log,
               size_t from, size_t to, uint64_t segment_bytes = 16 * 1024) {
  txn_log::log_writer w;
  txn_log::writer_options o;
  o.fsync = false;
  o.segment_bytes = segment_bytes;
  o.preallocate = txn_log::prealloc::none;
  REQUIRE_FALSE(w.open(dir, o));
  for (size_t i = from; i < to; ++i) {
    REQUIRE_FALSE(w.append(log[i].hdr.zxid, txn::encode(log[i])));
    if (i % 10 == 0)
      REQUIRE_FALSE(w.sync());
  }
  REQUIRE_FALSE(w.sync());
}

std::vector<std::string> names_in(const std::string& dir,
                                  const std::string& prefix) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) {
    auto n = e.path().filename().string();
    if (n.compare(0, prefix.size(), prefix) == 0)
      out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct fixture {
  scratch_dir data;
  scratch_dir logs;
  datatree::tree live;
  test::workload w{17, live};

  void writes(size_t n) {
    std::vector<int64_t> sessions;
    for (auto& [id, timeout] : live.sessions())
      sessions.push_back(id);
    for (size_t i = 0; i < n; ++i) {
      if (i % 50 == 0)
        w.open_session(int64_t(0x300 + w.log.size()));
      w.step(sessions);
    }
  }
};

TEST_CASE("zxid_follows: next counter, or counter 1 of a later epoch") {
  CHECK(zxid_follows(0, 0x100000001));
  CHECK(zxid_follows(0, 0x500000001));
  CHECK_FALSE(zxid_follows(0, 0x100000002));
  CHECK(zxid_follows(0x100000007, 0x100000008));
  CHECK_FALSE(zxid_follows(0x100000007, 0x100000009));
  CHECK_FALSE(zxid_follows(0x100000007, 0x100000007));
  CHECK(zxid_follows(0x100000007, 0x200000001));
  CHECK(zxid_follows(0x100000007, 0x900000001));
  CHECK_FALSE(zxid_follows(0x100000007, 0x200000002));
  CHECK_FALSE(zxid_follows(0x200000007, 0x100000008));
  CHECK(zxid_follows(0x2ffffffff, 0x300000001));
}

TEST_CASE_METHOD(fixture, "recovery without a snapshot replays the whole log") {
  writes(500);
  write_log(logs.str(), w.log, 0, w.log.size());
  auto r = recover(data.str(), logs.str());
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  CHECK(r.snapshot.empty());
  CHECK(r.replayed == w.log.size());
  test::require_same(live, *r.t);
  CHECK(r.t->last_zxid() == live.last_zxid());
}

TEST_CASE_METHOD(fixture,
                 "recovery loads the newest snapshot and replays after it") {
  writes(300);
  test::write_snapshot(live, data.str());
  writes(300);
  auto second = w.log.size();
  auto snap2 = test::write_snapshot(live, data.str());
  writes(300);
  write_log(logs.str(), w.log, 0, w.log.size());
  REQUIRE(names_in(logs.str(), "log.").size() > 3);
  auto r = recover(data.str(), logs.str());
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  CHECK(r.snapshot == snap2);
  CHECK(r.replayed == w.log.size() - second);
  test::require_same(live, *r.t);

  SECTION("after a purge of what the snapshots cover") {
    auto p = purge(data.str(), logs.str(), 3);
    REQUIRE(p.errors.empty());
    REQUIRE(!p.plan.logs.empty());
    auto again = recover(data.str(), logs.str());
    INFO(again.error);
    REQUIRE(again.exit_code == 0);
    test::require_same(live, *again.t);
  }
  SECTION("with the log in the same directory as the snapshots") {
    for (auto& n : names_in(logs.str(), "log."))
      fs::rename(logs / n, data / n);
    auto again = recover(data.str(), data.str());
    REQUIRE(again.exit_code == 0);
    test::require_same(live, *again.t);
  }
}

TEST_CASE_METHOD(fixture,
                 "a snapshot newer than the whole log needs no replay") {
  writes(200);
  write_log(logs.str(), w.log, 0, w.log.size());
  test::write_snapshot(live, data.str());
  auto r = recover(data.str(), logs.str());
  REQUIRE(r.exit_code == 0);
  CHECK(r.replayed == 0);
  test::require_same(live, *r.t);
}

TEST_CASE_METHOD(fixture,
                 "a gap in the log stops recovery with file and offset") {
  writes(400);
  write_log(logs.str(), w.log, 0, w.log.size());
  auto segs = names_in(logs.str(), "log.");
  REQUIRE(segs.size() > 3);
  fs::remove(logs / segs[1]);
  auto r = recover(data.str(), logs.str());
  CHECK(r.exit_code == exit_corrupt);
  CHECK_FALSE(r.t);
  CHECK(r.error.find("gap") != std::string::npos);
  CHECK(r.error.find(logs / segs[2] + " at byte 16") != std::string::npos);
}

TEST_CASE_METHOD(fixture, "a log that starts after the snapshot is a gap") {
  writes(100);
  auto snap_at = w.log.size();
  test::write_snapshot(live, data.str());
  writes(100);
  // The first 5 txns after the snapshot are missing.
  write_log(logs.str(), w.log, snap_at + 5, w.log.size());
  auto r = recover(data.str(), logs.str());
  CHECK(r.exit_code == exit_corrupt);
  CHECK(r.error.find("gap") != std::string::npos);
  CHECK(r.error.find("snapshot.") != std::string::npos);
  // And without a snapshot, a log must begin at counter 1.
  fs::remove_all(data.str());
  fs::create_directory(data.str());
  r = recover(data.str(), logs.str());
  CHECK(r.exit_code == exit_corrupt);
  CHECK(r.error.find("counter 1") != std::string::npos);
}

TEST_CASE_METHOD(fixture,
                 "a damaged newest snapshot stops recovery, naming it") {
  writes(200);
  auto older = test::write_snapshot(live, data.str());
  writes(200);
  auto newest = test::write_snapshot(live, data.str());
  write_log(logs.str(), w.log, 0, w.log.size());
  {
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(300);
    f.put('\x5a');
  }
  auto r = recover(data.str(), logs.str());
  CHECK(r.exit_code == exit_corrupt);
  CHECK(r.error.find(newest + " at byte ") != std::string::npos);
  CHECK(r.error.find(older) != std::string::npos); // the way out
  // Moved away, the older one and the log give the same tree.
  fs::rename(newest, logs / "bad");
  auto again = recover(data.str(), logs.str());
  REQUIRE(again.exit_code == 0);
  CHECK(again.snapshot == older);
  test::require_same(live, *again.t);
}

TEST_CASE_METHOD(fixture,
                 "an unfinished snapshot file is removed with a warning") {
  writes(50);
  write_log(logs.str(), w.log, 0, w.log.size());
  std::ofstream(data / "snapshot.0000000100000020.tmp") << "half";
  auto r = recover(data.str(), logs.str());
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find("snapshot.0000000100000020.tmp") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(data / "snapshot.0000000100000020.tmp"));
  test::require_same(live, *r.t);
}

TEST_CASE_METHOD(fixture,
                 "a torn last record is a warning, corruption is not") {
  writes(100);
  write_log(logs.str(), w.log, 0, w.log.size());
  auto segs = names_in(logs.str(), "log.");
  {
    std::ofstream f(logs / segs.back(), std::ios::app | std::ios::binary);
    f << "\x10\x00\x00";
  }
  auto r = recover(data.str(), logs.str());
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find("torn tail") != std::string::npos);
  test::require_same(live, *r.t);
  // A flipped byte in an older segment is corruption.
  {
    std::fstream f(logs / segs[0],
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    char c;
    f.seekg(40);
    f.get(c);
    f.seekp(40);
    f.put(static_cast<char>(c ^ 1));
  }
  r = recover(data.str(), logs.str());
  CHECK(r.exit_code == exit_corrupt);
  CHECK(r.error.find(logs / segs[0]) != std::string::npos);
}

} // namespace
} // namespace zkd::snapshotter
