// What the snapshotter needs from the txn log: rolling to a new segment when
// a snapshot starts, and record positions for messages.
#include <catch2/catch.hpp>

#include "actors/txn_log/txn_log.hpp"
#include "tests/unit/snapshotter/test_util.hpp"

namespace zkd::snapshotter {
namespace {

namespace fs = std::filesystem;

txn_log::writer_options opts() {
  txn_log::writer_options o;
  o.fsync = false;
  o.segment_bytes = 1 << 20;
  return o;
}

TEST_CASE(
    "roll ends a segment at its last record; the next append starts one") {
  test::scratch_dir dir;
  const int64_t e = int64_t{1} << 32;
  {
    txn_log::log_writer w;
    REQUIRE_FALSE(w.open(dir.str(), opts()));
    REQUIRE_FALSE(w.roll()); // nothing yet: no-op
    REQUIRE_FALSE(w.append(e + 1, "one"));
    REQUIRE_FALSE(w.append(e + 2, "two"));
    REQUIRE_FALSE(w.roll()); // syncs the buffer first
    CHECK(w.durable_zxid() == e + 2);
    REQUIRE_FALSE(w.roll()); // twice in a row: still one segment
    REQUIRE_FALSE(w.append(e + 3, "three"));
    REQUIRE_FALSE(w.sync());
  }
  auto segs = txn_log::list_segments(dir.str());
  REQUIRE(segs.size() == 2);
  CHECK(segs[0].first_zxid == e + 1);
  CHECK(segs[1].first_zxid == e + 3);
  // The rolled segment holds exactly its records: no preallocated tail.
  CHECK(fs::file_size(segs[0].path) ==
        txn_log::file_header_bytes + 2 * txn_log::record_header_bytes + 6);
  std::vector<std::pair<int64_t, uint64_t>> seen;
  auto r = txn_log::scan_positioned(
      dir.str(), 0,
      [&](int64_t zxid, std::string_view, const txn_log::record_position& at) {
        CHECK(at.file == (zxid < e + 3 ? segs[0].path : segs[1].path));
        seen.emplace_back(zxid, at.offset);
        return true;
      });
  REQUIRE(r.status == txn_log::scan_status::clean);
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].second == txn_log::file_header_bytes);
  CHECK(seen[1].second ==
        txn_log::file_header_bytes + txn_log::record_header_bytes + 3);
  CHECK(seen[2].second == txn_log::file_header_bytes);
  // A rolled log reopens and goes on.
  txn_log::log_writer w;
  REQUIRE_FALSE(w.open(dir.str(), opts()));
  CHECK(w.last_zxid() == e + 3);
  REQUIRE_FALSE(w.append(e + 4, "four"));
  REQUIRE_FALSE(w.sync());
  // scan_file reads one segment alone.
  uint64_t n = 0;
  auto one =
      txn_log::scan_file(segs[0].path, [&](int64_t, std::string_view,
                                           const txn_log::record_position&) {
        ++n;
        return true;
      });
  CHECK(one.status == txn_log::scan_status::clean);
  CHECK(n == 2);
  CHECK(one.last_zxid == e + 2);
}

TEST_CASE("scan_file reports a missing file as an I/O error") {
  auto r =
      txn_log::scan_file("/nonexistent/log.0000000100000001",
                         [](int64_t, std::string_view,
                            const txn_log::record_position&) { return true; });
  CHECK(r.status == txn_log::scan_status::io_error);
  CHECK(r.message.find("/nonexistent/log.0000000100000001") !=
        std::string::npos);
}

} // namespace
} // namespace zkd::snapshotter
