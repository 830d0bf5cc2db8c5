// The purge policy, as a function of file names.
#include <catch2/catch.hpp>

#include <fstream>

#include "actors/snapshotter/purge.hpp"
#include "tests/unit/snapshotter/test_util.hpp"

namespace zkd::snapshotter {
namespace {

using names = std::vector<std::string>;

TEST_CASE("purge keeps the newest snapshots and the log they need") {
  names snaps = {"snapshot.0000000100000010", "snapshot.0000000100000030",
                 "snapshot.0000000100000020", "snapshot.0000000100000040",
                 "snapshot.0000000100000050"};
  names logs = {"log.0000000100000001", "log.0000000100000011",
                "log.0000000100000021", "log.0000000100000031",
                "log.0000000100000041", "log.0000000100000051"};
  auto p = plan_purge(snaps, logs, 3);
  CHECK(p.snapshots ==
        names{"snapshot.0000000100000010", "snapshot.0000000100000020"});
  CHECK(p.oldest_kept_zxid == 0x100000030);
  // Replay from the oldest kept (0x30) needs 0x31 on: log.31 and later.
  CHECK(p.logs == names{"log.0000000100000001", "log.0000000100000011",
                        "log.0000000100000021"});
}

TEST_CASE(
    "a segment holding the first txn after the oldest kept snapshot stays") {
  names snaps = {"snapshot.0000000100000035", "snapshot.0000000100000040",
                 "snapshot.0000000100000050", "snapshot.0000000100000060"};
  names logs = {"log.0000000100000001", "log.0000000100000030",
                "log.0000000100000036", "log.0000000100000037"};
  auto p = plan_purge(snaps, logs, 3);
  CHECK(p.snapshots == names{"snapshot.0000000100000035"});
  // Oldest kept 0x40: log.36 holds [0x36, 0x37), log.37 holds 0x37.. and
  // so 0x41: log.37 and later stay.
  CHECK(p.logs == names{"log.0000000100000001", "log.0000000100000030",
                        "log.0000000100000036"});
  // A segment starting exactly at oldest + 1 lets everything before it go.
  p = plan_purge({"snapshot.0000000100000040"},
                 {"log.0000000100000001", "log.0000000100000041"}, 3);
  CHECK(p.logs == names{"log.0000000100000001"});
  // One starting at oldest + 2 means the previous one holds oldest + 1.
  p = plan_purge({"snapshot.0000000100000040"},
                 {"log.0000000100000001", "log.0000000100000042"}, 3);
  CHECK(p.logs.empty());
}

TEST_CASE(
    "the newest segment always stays, even if older than every snapshot") {
  auto p =
      plan_purge({"snapshot.0000000200000009"}, {"log.0000000100000001"}, 3);
  CHECK(p.logs.empty());
  p = plan_purge({"snapshot.0000000200000009"},
                 {"log.0000000100000001", "log.0000000100000005"}, 3);
  CHECK(p.logs == names{"log.0000000100000001"});
}

TEST_CASE("without snapshots nothing is purged; retain has a floor of 3") {
  auto p = plan_purge({}, {"log.0000000100000001", "log.0000000100000005"}, 3);
  CHECK(p.snapshots.empty());
  CHECK(p.logs.empty());
  CHECK(p.oldest_kept_zxid == -1);
  names snaps;
  for (int i = 1; i <= 5; ++i)
    snaps.push_back("snapshot.000000010000000" + std::to_string(i));
  CHECK(plan_purge(snaps, {}, 1).snapshots.size() == 2);
  CHECK(plan_purge(snaps, {}, 0).snapshots.size() == 2);
  CHECK(plan_purge(snaps, {}, 4).snapshots.size() == 1);
  CHECK(plan_purge(snaps, {}, 10).snapshots.empty());
}

TEST_CASE("purge ignores files that are not snapshots or segments") {
  names snaps = {"snapshot.0000000100000001",
                 "snapshot.0000000100000002",
                 "snapshot.0000000100000003",
                 "snapshot.0000000100000004",
                 "snapshot.0000000100000000.tmp",
                 "snapshot.1",
                 "current_epoch",
                 "snapshot.00000001000000FF"};
  names logs = {"log.0000000100000001", "log.0000000100000003", "log.x",
                "log.0000000100000001.bak"};
  auto p = plan_purge(snaps, logs, 3);
  CHECK(p.snapshots == names{"snapshot.0000000100000001"});
  CHECK(p.logs == names{"log.0000000100000001"});
}

TEST_CASE("purge deletes what the plan says, in separate directories") {
  test::scratch_dir data, logs;
  auto touch = [](const std::string& path) {
    std::ofstream(path) << "x";
  };
  for (auto z : {"10", "20", "30", "40"})
    touch(data / (std::string("snapshot.00000001000000") + z));
  touch(data / "current_epoch");
  for (auto z : {"01", "11", "21", "31", "41"})
    touch(logs / (std::string("log.00000001000000") + z));
  auto r = purge(data.str(), logs.str(), 3);
  CHECK(r.errors.empty());
  CHECK(r.plan.snapshots == names{"snapshot.0000000100000010"});
  CHECK(r.plan.logs == names{"log.0000000100000001", "log.0000000100000011"});
  namespace fs = std::filesystem;
  CHECK_FALSE(fs::exists(data / "snapshot.0000000100000010"));
  CHECK(fs::exists(data / "snapshot.0000000100000020"));
  CHECK(fs::exists(data / "current_epoch"));
  CHECK_FALSE(fs::exists(logs / "log.0000000100000011"));
  CHECK(fs::exists(logs / "log.0000000100000021"));
}

} // namespace
} // namespace zkd::snapshotter
