// zkd import end to end: a ZooKeeper data directory written by the test in,
// a zkd data directory out, which zkd's own recovery must load as the same
// tree.
#include <catch2/catch.hpp>

#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "actors/snapshotter/recovery.hpp"
#include "actors/snapshotter/snapshot.hpp"
#include "bin/tools/tools.hpp"
#include "bin/tools/zk_format.hpp"
#include "tests/unit/tools/zk_test_util.hpp"

using namespace zkd;
using namespace zkd::tools::zk;
using namespace zkd::tools::zk::test;
namespace fs = std::filesystem;

namespace {

// Runs import_main with std::cout and std::cerr captured.
struct run_result {
  int code = 0;
  std::string out;
  std::string err;
};

run_result run_import(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  auto old_out = std::cout.rdbuf(out.rdbuf());
  auto old_err = std::cerr.rdbuf(err.rdbuf());
  run_result r;
  r.code = zkd::tools::import_main(args);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// A ZooKeeper dataDir: <root>/version-2 with snapshot.0 and one log.
std::string make_zookeeper_dir(const scratch_dir& dir, const history& h,
                               bool separate_log_dir = false) {
  auto data = dir / "zk";
  auto v2 = data + "/version-2";
  fs::create_directories(v2);
  write_file(v2 + "/snapshot.0", fresh_snapshot());
  auto log_v2 = v2;
  if (separate_log_dir) {
    log_v2 = dir / "zklog/version-2";
    fs::create_directories(log_v2);
  }
  write_file(log_v2 + "/" + hex_name("log", h.log.front().hdr.zxid),
             log_bytes(h.log, 2048));
  return data;
}

size_t entries_in(const std::string& dir) {
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

} // namespace

TEST_CASE("import writes a data directory zkd recovers as ZooKeeper's tree",
          "[import]") {
  history h(3);
  h.basic();
  h.random(200);
  scratch_dir dir;
  auto zk = make_zookeeper_dir(dir, h);
  auto to = dir / "zkd-data";
  auto r = run_import({"--from-zookeeper", zk, "--to", to});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Catch::Contains("imported"));

  // Exactly one snapshot, named after ZooKeeper's last zxid, and the epoch.
  auto last = h.log.back().hdr.zxid;
  CHECK(fs::exists(to + "/" + snapshotter::snapshot_file_name(last)));
  CHECK(read_file(to + "/current_epoch") == std::to_string(last >> 32) + "\n");
  CHECK(entries_in(to) == 2);

  auto rec = snapshotter::recover(to, to);
  INFO(rec.error);
  REQUIRE(rec.exit_code == 0);
  CHECK(rec.snapshot_zxid == last);
  CHECK(rec.replayed == 0);
  require_same(*rec.t, h.live);
  CHECK(rec.t->last_zxid() == last);
}

TEST_CASE("import reads a separate dataLogDir and a bare version-2 dir",
          "[import]") {
  history h;
  h.basic();
  scratch_dir dir;
  auto zk = make_zookeeper_dir(dir, h, true);
  SECTION("--zookeeper-log-dir") {
    auto to = dir / "out";
    auto r = run_import({"--from-zookeeper", zk, "--zookeeper-log-dir",
                         dir / "zklog", "--to", to});
    INFO(r.err);
    REQUIRE(r.code == 0);
    auto rec = snapshotter::recover(to, to);
    REQUIRE(rec.exit_code == 0);
    require_same(*rec.t, h.live);
  }
  SECTION("without it the logs are missing: only the first snapshot") {
    auto to = dir / "out";
    auto r = run_import({"--from-zookeeper", zk + "/version-2", "--to", to});
    INFO(r.err);
    REQUIRE(r.code == 0);
    auto rec = snapshotter::recover(to, to);
    REQUIRE(rec.exit_code == 0);
    require_same(*rec.t, datatree::tree{});
  }
}

TEST_CASE("import refuses a data directory that is not empty", "[import]") {
  history h;
  h.basic();
  scratch_dir dir;
  auto zk = make_zookeeper_dir(dir, h);
  auto to = dir / "used";
  fs::create_directories(to);
  write_file(to + "/current_epoch", "5\n");
  auto r = run_import({"--from-zookeeper", zk, "--to", to});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("not empty"));
  // Untouched.
  CHECK(entries_in(to) == 1);
  CHECK(read_file(to + "/current_epoch") == "5\n");

  SECTION("an existing empty directory is fine") {
    fs::remove(to + "/current_epoch");
    auto r2 = run_import({"--from-zookeeper", zk, "--to", to});
    INFO(r2.err);
    CHECK(r2.code == 0);
  }
}

TEST_CASE("import stops on a damaged ZooKeeper log and writes nothing",
          "[import]") {
  history h;
  h.basic();
  scratch_dir dir;
  auto zk = make_zookeeper_dir(dir, h);
  auto log = zk + "/version-2/" + hex_name("log", h.log.front().hdr.zxid);
  auto bytes = read_file(log);
  auto at = entry_offset(h.log, 7);
  bytes[at + 14] ^= 0x01;
  write_file(log, bytes);
  auto to = dir / "out";
  auto r = run_import({"--from-zookeeper", zk, "--to", to});
  CHECK(r.code == 3);
  CHECK_THAT(r.err, Catch::Contains(log + " at byte " + std::to_string(at)));
  CHECK_FALSE(fs::exists(to));
}

TEST_CASE("import's usage errors", "[import]") {
  scratch_dir dir;
  CHECK(run_import({}).code == 2);
  CHECK(run_import({"--to", dir / "x"}).code == 2);
  CHECK(run_import({"--from-zookeeper", dir.str()}).code == 2);
  CHECK(run_import({"--from-zookeeper"}).code == 2);
  CHECK(run_import({"--bogus", "1"}).code == 2);
  auto r = run_import({"--from-zookeeper", dir / "nothing", "--to", dir / "x"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("not a ZooKeeper data directory"));
  auto help = run_import({"--help"});
  CHECK(help.code == 0);
  CHECK_THAT(help.out, Catch::Contains("--from-zookeeper"));
}
