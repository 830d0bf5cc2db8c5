// truncate_after on a closed log (Zab TRUNC): what stays, what goes, and
// that the writer and the reader both accept the result.
#include <catch2/catch.hpp>

#include <map>

#include "actors/txn_log/log_edit.hpp"
#include "actors/txn_log/txn_log.hpp"
#include "tests/unit/txn_log/test_util.hpp"

namespace zkd::txn_log {
namespace {

using test::record;
namespace fs = std::filesystem;

constexpr int64_t e1 = int64_t{1} << 32;
constexpr int64_t e2 = int64_t{2} << 32;
constexpr int64_t e4 = int64_t{4} << 32;

// Records of epochs 1, 2 and 4 with payloads of varied sizes.
std::vector<record> history() {
  std::vector<record> out;
  for (int64_t c = 1; c <= 60; ++c)
    out.emplace_back(e1 + c, test::payload_for(e1 + c, 100 + c * 7 % 300));
  for (int64_t c = 1; c <= 40; ++c)
    out.emplace_back(e2 + c, test::payload_for(e2 + c, 50 + c * 13 % 500));
  for (int64_t c = 1; c <= 30; ++c)
    out.emplace_back(e4 + c, test::payload_for(e4 + c, 200));
  return out;
}

// Written by the real writer, preallocating small segments, so that the log
// has several segments, each with a zero tail.
void write_log(const std::string& dir, const std::vector<record>& recs) {
  log_writer w;
  REQUIRE_FALSE(w.open(dir, test::test_options(8 * 1024)));
  for (size_t i = 0; i < recs.size(); ++i) {
    REQUIRE_FALSE(w.append(recs[i].first, recs[i].second));
    if (i % 7 == 0)
      REQUIRE_FALSE(w.sync());
  }
  REQUIRE_FALSE(w.sync());
}

std::vector<record> up_to(const std::vector<record>& recs, int64_t zxid) {
  std::vector<record> out;
  for (auto& r : recs)
    if (r.first <= zxid)
      out.push_back(r);
  return out;
}

std::map<std::string, std::string> files_of(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::directory_iterator(dir))
    out[e.path().filename().string()] = test::read_file(e.path().string());
  return out;
}

// After a truncation: the log reads clean with exactly `want`; a writer
// opens it without repairs and appends `next`; the log then reads `want`
// plus `next`.
void check_truncated(const std::string& dir, std::vector<record> want,
                     int64_t next) {
  auto s = test::scan_all(dir);
  INFO(s.result.message);
  REQUIRE(s.result.status == scan_status::clean);
  REQUIRE(s.records == want);
  {
    log_writer w;
    REQUIRE_FALSE(w.open(dir, test::test_options(8 * 1024)));
    CHECK(w.recovery_warning().empty());
    CHECK(w.last_zxid() == (want.empty() ? 0 : want.back().first));
    REQUIRE_FALSE(w.append(next, "next record"));
    REQUIRE_FALSE(w.sync());
  }
  want.emplace_back(next, "next record");
  s = test::scan_all(dir);
  INFO(s.result.message);
  REQUIRE(s.result.status == scan_status::clean);
  REQUIRE(s.records == want);
}

TEST_CASE("truncate_after in the middle of a segment") {
  test::temp_dir d;
  auto dir = d.sub("log");
  auto recs = history();
  write_log(dir, recs);
  auto segs = list_segments(dir);
  REQUIRE(segs.size() > 4);
  // A zxid well inside the third segment.
  auto cut = segs[2].first_zxid + 2;
  REQUIRE(cut < segs[3].first_zxid - 1);
  REQUIRE(truncate_after(dir, cut) == "");
  auto after = list_segments(dir);
  REQUIRE(after.size() == 3);
  // Cut right after the record: no preallocated tail, nothing after it.
  uint64_t end = file_header_bytes;
  for (auto& r : up_to(recs, cut))
    if (r.first >= segs[2].first_zxid)
      end += record_header_bytes + r.second.size();
  CHECK(test::file_size(after[2].path) == end);
  check_truncated(dir, up_to(recs, cut), cut + 1);
}

TEST_CASE("truncate_after at a segment boundary") {
  test::temp_dir d;
  auto dir = d.sub("log");
  auto recs = history();
  write_log(dir, recs);
  auto segs = list_segments(dir);
  REQUIRE(segs.size() > 4);

  SECTION("the last record of a segment") {
    auto cut = segs[2].first_zxid - 1;
    auto before = test::read_file(segs[1].path);
    REQUIRE(truncate_after(dir, cut) == "");
    REQUIRE(list_segments(dir).size() == 2);
    // Nothing of the kept segment went, its zero tail included.
    CHECK(test::read_file(segs[1].path) == before);
    check_truncated(dir, up_to(recs, cut), cut + 1);
  }
  SECTION("the first record of a segment") {
    auto cut = segs[2].first_zxid;
    REQUIRE(truncate_after(dir, cut) == "");
    auto after = list_segments(dir);
    REQUIRE(after.size() == 3);
    CHECK(test::file_size(after[2].path) ==
          file_header_bytes + record_header_bytes +
              up_to(recs, cut).back().second.size());
    check_truncated(dir, up_to(recs, cut), cut + 1);
  }
}

TEST_CASE("truncate_after at or beyond the end changes nothing") {
  test::temp_dir d;
  auto dir = d.sub("log");
  auto recs = history();
  write_log(dir, recs);
  auto before = files_of(dir);
  REQUIRE(truncate_after(dir, recs.back().first) == "");
  CHECK(files_of(dir) == before);
  REQUIRE(truncate_after(dir, e4 + 1000) == "");
  REQUIRE(truncate_after(dir, INT64_MAX) == "");
  CHECK(files_of(dir) == before);
  check_truncated(dir, recs, e4 + 31);
}

TEST_CASE("truncate_after 0 empties the log") {
  test::temp_dir d;
  auto dir = d.sub("log");
  auto recs = history();
  write_log(dir, recs);
  REQUIRE(truncate_after(dir, 0) == "");
  CHECK(list_segments(dir).empty());
  CHECK(fs::is_directory(dir));
  check_truncated(dir, {}, e2 + 1);
}

TEST_CASE("truncate_after a zxid between two epochs keeps the older one") {
  test::temp_dir d;
  auto dir = d.sub("log");
  auto recs = history();
  write_log(dir, recs);
  // Epoch 3 has no records: everything of epoch 4 goes, epoch 2 stays.
  REQUIRE(truncate_after(dir, (int64_t{3} << 32) + 5) == "");
  check_truncated(dir, up_to(recs, e2 + 40), e4 + 1);
}

TEST_CASE("truncate_after in the only segment, written by hand") {
  test::temp_dir d;
  auto dir = d.sub("log");
  std::vector<record> recs;
  for (int64_t c = 1; c <= 5; ++c)
    recs.emplace_back(e1 + c, test::payload_for(e1 + c, 40));
  auto path = test::write_segment(dir, e1 + 1, recs, 4096);

  SECTION("records after the cut go") {
    REQUIRE(truncate_after(dir, e1 + 3) == "");
    CHECK(test::file_size(path) ==
          file_header_bytes + 3 * (record_header_bytes + 40));
    check_truncated(dir, up_to(recs, e1 + 3), e2 + 1);
  }
  SECTION("a torn tail after the kept records goes with them") {
    test::patch_file(path, file_header_bytes + 5 * (record_header_bytes + 40),
                     test::encode_record(e1 + 6, "torn").substr(0, 10));
    REQUIRE(test::scan_all(dir).result.status == scan_status::torn_tail);
    REQUIRE(truncate_after(dir, e1 + 5) == "");
    CHECK(test::file_size(path) ==
          file_header_bytes + 5 * (record_header_bytes + 40));
    check_truncated(dir, recs, e1 + 6);
  }
  SECTION("damage among the kept records fails and changes nothing") {
    // The second record's payload; a valid record follows, so this is
    // corruption, not a torn tail.
    test::flip_byte(path, file_header_bytes + record_header_bytes + 40 +
                              record_header_bytes + 3);
    auto before = files_of(dir);
    auto err = truncate_after(dir, e1 + 4);
    CHECK(err.find(path) != std::string::npos);
    CHECK(err.find("corrupt") != std::string::npos);
    CHECK(files_of(dir) == before);
  }
}

TEST_CASE("truncate_after on a missing directory is a no-op") {
  test::temp_dir d;
  CHECK(truncate_after(d.sub("none"), 5) == "");
  CHECK_FALSE(fs::exists(d.sub("none")));
}

} // namespace
} // namespace zkd::txn_log
