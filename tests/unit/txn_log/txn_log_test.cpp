#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "actors/txn_log/txn_log.hpp"
#include "tests/unit/txn_log/test_util.hpp"

using namespace zkd::txn_log;
using namespace zkd::txn_log::test;

namespace {

constexpr int64_t epoch1 = int64_t{1} << 32;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Appends (zxid, payload) pairs and syncs, failing the test on any error.
void append_all(log_writer& w, const std::vector<record>& recs) {
  for (auto& r : recs)
    REQUIRE_FALSE(w.append(r.first, r.second));
  REQUIRE_FALSE(w.sync());
}

std::vector<record> make_records(int64_t first, int64_t count, size_t size) {
  std::vector<record> out;
  for (int64_t z = first; z < first + count; ++z)
    out.emplace_back(z, payload_for(z, size));
  return out;
}

} // namespace

TEST_CASE("segment names are the first zxid in 16 hex digits") {
  CHECK(segment_file_name(epoch1 + 1) == "log.0000000100000001");
  CHECK(segment_file_name(0xabcdef) == "log.0000000000abcdef");
  temp_dir tmp;
  for (auto name : {"log.123", "snapshot.0000000100000001",
                    "log.000000010000000G", "log.0000000100000001.tmp",
                    "log.0000000100000001", "log.0000000000000005"})
    write_file(tmp.path() + "/" + name, "");
  auto segs = list_segments(tmp.path());
  REQUIRE(segs.size() == 2);
  CHECK(segs[0].first_zxid == 5);
  CHECK(segs[1].first_zxid == epoch1 + 1);
  CHECK(list_segments(tmp.sub("missing")).empty());
}

TEST_CASE("records round trip") {
  temp_dir tmp;
  auto dir = tmp.sub("log");
  std::vector<record> recs{{epoch1 + 1, "create /a"},
                           {epoch1 + 2, ""},
                           {epoch1 + 3, std::string("\0\0bin\0ary\xff", 10)},
                           {epoch1 + 9, payload_for(9, 5000)}};
  log_writer w;
  REQUIRE_FALSE(w.open(dir, test_options()));
  CHECK(w.last_zxid() == 0);
  append_all(w, recs);
  CHECK(w.last_zxid() == epoch1 + 9);
  CHECK(w.durable_zxid() == epoch1 + 9);
  CHECK(w.current_segment() == dir + "/log.0000000100000001");
  CHECK(w.stats().appends == 4);
  CHECK(w.stats().writes == 1);
  w.close();

  // The documented layout, byte for byte.
  auto bytes = read_file(dir + "/log.0000000100000001");
  std::string expect = encode_header(epoch1 + 1);
  for (auto& r : recs)
    expect += encode_record(r.first, r.second);
  REQUIRE(bytes.size() >= expect.size() + 16);
  CHECK(bytes.substr(0, expect.size()) == expect);
  CHECK(bytes.substr(expect.size(), 16) == std::string(16, '\0'));

  auto s = scan_all(dir);
  CHECK(s.result.status == scan_status::clean);
  CHECK(s.result.message.empty());
  CHECK(s.result.last_zxid == epoch1 + 9);
  CHECK(s.result.delivered == 4);
  CHECK(s.records == recs);
}

TEST_CASE("an empty or missing log scans clean") {
  temp_dir tmp;
  auto s = scan_all(tmp.sub("missing"));
  CHECK(s.result.status == scan_status::clean);
  CHECK(s.records.empty());
  log_writer w;
  REQUIRE_FALSE(w.open(tmp.sub("fresh"), test_options()));
  REQUIRE_FALSE(w.sync()); // nothing to do
  CHECK(w.stats().writes == 0);
  CHECK(list_segments(tmp.sub("fresh")).empty());
}

TEST_CASE("many records roll over segments and replay in order") {
  temp_dir tmp;
  auto dir = tmp.sub("log");
  auto mode = GENERATE(prealloc::none, prealloc::fallocate, prealloc::zero_fill,
                       prealloc::zero_fill_ahead);
  log_writer w;
  REQUIRE_FALSE(w.open(dir, test_options(4096, mode)));
  std::vector<record> recs;
  // Three epochs: counters restart, zxids still increase.
  for (int64_t epoch = 1; epoch <= 3; ++epoch)
    for (int64_t c = 1; c <= 700; ++c) {
      int64_t z = (epoch << 32) | (c * 3); // gaps are fine
      recs.emplace_back(z, payload_for(z, static_cast<size_t>(c % 300)));
    }
  for (size_t i = 0; i < recs.size(); ++i) {
    REQUIRE_FALSE(w.append(recs[i].first, recs[i].second));
    if (i % 37 == 0)
      REQUIRE_FALSE(w.sync());
  }
  REQUIRE_FALSE(w.sync());
  auto segs = list_segments(dir);
  CHECK(segs.size() > 50);
  CHECK(w.stats().segments_created == segs.size());
  for (auto& seg : segs) {
    if (mode != prealloc::none && seg.path != w.current_segment())
      CHECK(file_size(seg.path) == 4096);
    if (mode == prealloc::none)
      CHECK(file_size(seg.path) <= 4096);
  }
  w.close();

  auto s = scan_all(dir);
  CHECK(s.result.status == scan_status::clean);
  REQUIRE(s.records.size() == recs.size());
  CHECK(s.records == recs);

  // Each segment is named after its first record.
  for (auto& seg : segs) {
    auto from = scan_all(dir, seg.first_zxid);
    REQUIRE_FALSE(from.records.empty());
    CHECK(from.records.front().first == seg.first_zxid);
  }

  // Replay from the middle: exactly the suffix, from the right segment on.
  auto mid = recs[1234].first;
  auto tail = scan_all(dir, mid);
  CHECK(tail.result.status == scan_status::clean);
  CHECK(tail.records == std::vector<record>(recs.begin() + 1234, recs.end()));
  // A zxid between two records starts at the next one.
  auto between = scan_all(dir, recs[1234].first + 1);
  CHECK(between.records.front() == recs[1235]);
}

TEST_CASE("zero_fill_ahead makes new segments from a zero-filled spare") {
  temp_dir tmp;
  auto dir = tmp.sub("log");
  std::filesystem::create_directories(dir);
  auto spare = dir + "/log.spare";
  auto spare_tmp = dir + "/log.spare.tmp";
  // Left by a process that died while making a spare.
  std::ofstream(spare_tmp) << "half";
  constexpr uint64_t seg = 64 * 1024;
  auto wait_for_spare = [&] {
    for (int i = 0; i < 500 && !(std::filesystem::exists(spare) &&
                                 file_size(spare) == seg);
         ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(std::filesystem::exists(spare));
    REQUIRE(file_size(spare) == seg);
  };
  log_writer w;
  REQUIRE_FALSE(w.open(dir, test_options(seg, prealloc::zero_fill_ahead)));
  CHECK_FALSE(std::filesystem::exists(spare_tmp));
  std::vector<record> recs;
  for (int64_t c = 1; c <= 600; ++c) {
    int64_t z = (int64_t{1} << 32) | c;
    recs.emplace_back(z, payload_for(z, 300));
  }
  for (auto& [z, payload] : recs) {
    // With a spare always ready, every segment comes from one.
    wait_for_spare();
    REQUIRE_FALSE(w.append(z, payload));
    REQUIRE_FALSE(w.sync());
  }
  auto segs = list_segments(dir);
  REQUIRE(segs.size() >= 3);
  CHECK(w.stats().segments_created == segs.size());
  CHECK(w.stats().spares_used == segs.size());
  w.close();
  CHECK_FALSE(std::filesystem::exists(spare_tmp));
  // Never taken for a segment, and the log reads back whole.
  for (auto& s : segs)
    CHECK(s.path != spare);
  auto all = scan_all(dir);
  CHECK(all.result.status == scan_status::clean);
  CHECK(all.records == recs);

  // A complete spare survives a reopen and is used, not made again.
  wait_for_spare();
  auto ino = std::filesystem::last_write_time(spare);
  log_writer again;
  REQUIRE_FALSE(again.open(dir, test_options(seg, prealloc::zero_fill_ahead)));
  CHECK(std::filesystem::last_write_time(spare) == ino);
  REQUIRE_FALSE(again.roll());
  REQUIRE_FALSE(again.append(recs.back().first + 1, "next"));
  REQUIRE_FALSE(again.sync());
  CHECK(again.stats().spares_used == 1);
}

TEST_CASE("the callback can stop a scan") {
  temp_dir tmp;
  log_writer w;
  REQUIRE_FALSE(w.open(tmp.path(), test_options()));
  append_all(w, make_records(1, 10, 10));
  int seen = 0;
  auto r = scan(tmp.path(), 0,
                [&](int64_t, std::string_view) { return ++seen < 4; });
  CHECK(seen == 4);
  CHECK(r.stopped);
  CHECK(r.delivered == 4);
  CHECK(r.status == scan_status::clean);
}

TEST_CASE("a record larger than a segment gets its own") {
  temp_dir tmp;
  log_writer w;
  REQUIRE_FALSE(w.open(tmp.path(), test_options(64 * 1024)));
  std::vector<record> recs{{1, payload_for(1, 100)},
                           {2, payload_for(2, 3 * 1024 * 1024 + 7)},
                           {3, payload_for(3, 100)}};
  append_all(w, recs);
  w.close();
  CHECK(list_segments(tmp.path()).size() == 3);
  auto s = scan_all(tmp.path());
  CHECK(s.result.status == scan_status::clean);
  CHECK(s.records == recs);
}

TEST_CASE("a torn last record is cut off at every byte offset") {
  // truncated: the file ends inside the record (no preallocation).
  // zeroed: a preallocated file where the write stopped partway.
  enum kind { truncated, zeroed };
  temp_dir tmp;
  constexpr size_t last_size = 60;
  constexpr size_t last_len = record_header_bytes + last_size;
  auto earlier = make_records(1, 19, 40);
  for (auto how : {truncated, zeroed}) {
    for (size_t k = 0; k < last_len; ++k) {
      CAPTURE(how, k);
      auto dir = tmp.sub("k" + std::to_string(how) + "-" + std::to_string(k));
      auto opts = test_options(
          1u << 20, how == truncated ? prealloc::none : prealloc::fallocate);
      std::string path;
      {
        log_writer w;
        REQUIRE_FALSE(w.open(dir, opts));
        append_all(w, earlier);
        // No zero byte in it, so zeroing any suffix changes the record.
        REQUIRE_FALSE(w.append(20, std::string(last_size, 'L')));
        REQUIRE_FALSE(w.sync());
        path = w.current_segment();
      }
      uint64_t last_off =
          file_header_bytes + earlier.size() * (record_header_bytes + 40);
      if (how == truncated)
        std::filesystem::resize_file(path, last_off + k);
      else
        patch_file(path, last_off + k, std::string(last_len - k, '\0'));

      auto s = scan_all(dir);
      CHECK(s.records == earlier);
      CHECK(s.result.last_zxid == 19);
      if (k == 0) {
        // Nothing of the record reached the disk: a clean end.
        CHECK(s.result.status == scan_status::clean);
      } else {
        CHECK(s.result.status == scan_status::torn_tail);
        CHECK(s.result.ok());
        CHECK(s.result.file == path);
        CHECK(s.result.offset == last_off);
        CHECK(contains(s.result.message, path));
        CHECK(
            contains(s.result.message, "at byte " + std::to_string(last_off)));
      }

      log_writer w;
      REQUIRE_FALSE(w.open(dir, opts));
      CHECK(w.last_zxid() == 19);
      CHECK(w.recovery_warning().empty() == (k == 0));
      REQUIRE_FALSE(w.append(21, "after the crash"));
      REQUIRE_FALSE(w.sync());
      w.close();
      auto again = scan_all(dir);
      CHECK(again.result.status == scan_status::clean);
      REQUIRE(again.records.size() == 20);
      CHECK(again.records.back() == record{21, "after the crash"});
      std::filesystem::remove_all(dir);
    }
  }
}

TEST_CASE("a bad CRC in the very last record is a torn tail") {
  temp_dir tmp;
  std::string path;
  {
    log_writer w;
    REQUIRE_FALSE(w.open(tmp.path(), test_options()));
    append_all(w, make_records(1, 5, 100));
    path = w.current_segment();
  }
  uint64_t last_off = file_header_bytes + 4 * (record_header_bytes + 100);
  flip_byte(path, last_off + record_header_bytes + 50);
  auto s = scan_all(tmp.path());
  CHECK(s.result.status == scan_status::torn_tail);
  CHECK(s.result.offset == last_off);
  CHECK(contains(s.result.message, "CRC mismatch"));
  CHECK(s.records.size() == 4);
  log_writer w;
  REQUIRE_FALSE(w.open(tmp.path(), test_options()));
  CHECK(w.last_zxid() == 4);
  CHECK_FALSE(w.recovery_warning().empty());
}

TEST_CASE("a last batch whose sectors landed out of order is a torn tail") {
  // Pages of one write may reach the disk in any order before fdatasync
  // returns. A zero sector inside a record means that batch was never
  // acknowledged, even if later records of it are intact.
  temp_dir tmp;
  auto first = make_records(1, 5, 100);
  auto batch = make_records(6, 10, 200);
  std::string path;
  {
    log_writer w;
    REQUIRE_FALSE(w.open(tmp.path(), test_options()));
    append_all(w, first);
    append_all(w, batch);
    path = w.current_segment();
  }
  uint64_t batch_off = file_header_bytes + 5 * (record_header_bytes + 100);
  uint64_t sector = (batch_off + 600) / 512 * 512; // inside record 8 or 9
  patch_file(path, sector, std::string(512, '\0'));
  uint64_t rec = (sector - batch_off) / (record_header_bytes + 200);
  uint64_t rec_off = batch_off + rec * (record_header_bytes + 200);
  auto s = scan_all(tmp.path());
  CHECK(s.result.status == scan_status::torn_tail);
  CHECK(s.result.offset == rec_off);
  CHECK(s.records.size() == 5 + rec);
  log_writer w;
  REQUIRE_FALSE(w.open(tmp.path(), test_options()));
  CHECK(w.last_zxid() == static_cast<int64_t>(5 + rec));
  // The intact records after the hole are gone too.
  REQUIRE_FALSE(w.append(100, "next"));
  REQUIRE_FALSE(w.sync());
  w.close();
  auto again = scan_all(tmp.path());
  CHECK(again.result.status == scan_status::clean);
  CHECK(again.records.size() == 5 + rec + 1);
}

TEST_CASE("a bad CRC in the middle of the log is corruption") {
  temp_dir tmp;
  auto dir = tmp.path();
  auto recs1 = make_records(1, 10, 50);
  auto recs2 = make_records(11, 10, 50);
  auto seg1 = write_segment(dir, 1, recs1);
  auto seg2 = write_segment(dir, 11, recs2);
  uint64_t rec_bytes = record_header_bytes + 50;

  SECTION("in an older segment") {
    uint64_t off = file_header_bytes + 6 * rec_bytes;
    flip_byte(seg1, off + record_header_bytes + 3);
    auto s = scan_all(dir);
    CHECK(s.result.status == scan_status::corrupt);
    CHECK_FALSE(s.result.ok());
    CHECK(s.result.file == seg1);
    CHECK(s.result.offset == off);
    CHECK(contains(s.result.message, seg1 + " at byte " + std::to_string(off)));
    CHECK(contains(s.result.message, "CRC mismatch"));
    CHECK(s.records.size() == 6);
    // Skipped segments are not read: replay from the newer one is clean.
    CHECK(scan_all(dir, 11).result.status == scan_status::clean);
    // The writer only reads the newest segment.
    log_writer w;
    CHECK_FALSE(w.open(dir, test_options()));
  }
  SECTION("in the newest segment, with records after it") {
    uint64_t off = file_header_bytes + 3 * rec_bytes;
    flip_byte(seg2, off + record_header_bytes + 10);
    auto s = scan_all(dir);
    CHECK(s.result.status == scan_status::corrupt);
    CHECK(s.result.file == seg2);
    CHECK(s.result.offset == off);
    CHECK(s.records.size() == 13);
    log_writer w;
    auto err = w.open(dir, test_options());
    REQUIRE(err);
    CHECK(err->code == errc::corrupt);
    CHECK(contains(err->message, seg2 + " at byte " + std::to_string(off)));
    CHECK_FALSE(w.is_open());
  }
  SECTION("a damaged length field in the newest segment") {
    uint64_t off = file_header_bytes + 3 * rec_bytes;
    flip_byte(seg2, off + 1); // the length grows by 0x5A00
    auto s = scan_all(dir);
    CHECK(s.result.status == scan_status::corrupt);
    CHECK(s.result.offset == off);
  }
  SECTION("a damaged length field that points past the end of an old file") {
    uint64_t off = file_header_bytes + 3 * rec_bytes;
    flip_byte(seg1, off + 2);
    auto s = scan_all(dir);
    CHECK(s.result.status == scan_status::corrupt);
    CHECK(s.result.file == seg1);
  }
}

TEST_CASE("zxids that do not increase are corruption") {
  temp_dir tmp;
  auto dir = tmp.path();
  SECTION("within a segment") {
    auto path = write_segment(dir, 1, {{1, "a"}, {2, "b"}, {2, "c"}, {3, "d"}});
    auto s = scan_all(dir);
    CHECK(s.result.status == scan_status::corrupt);
    CHECK(s.result.offset == file_header_bytes + 2 * (record_header_bytes + 1));
    CHECK(contains(s.result.message, "not greater"));
    CHECK(s.records.size() == 2);
    log_writer w;
    auto err = w.open(dir, test_options());
    REQUIRE(err);
    CHECK(err->code == errc::corrupt);
  }
  SECTION("across segments") {
    write_segment(dir, 1, make_records(1, 5, 10));
    auto path = write_segment(dir, 3, make_records(3, 5, 10));
    auto s = scan_all(dir);
    CHECK(s.result.status == scan_status::corrupt);
    CHECK(s.result.file == path);
    CHECK(s.result.offset == file_header_bytes);
    CHECK(s.records.size() == 5);
  }
  SECTION("a first record that does not match the file name") {
    auto path = write_segment(dir, 5, make_records(6, 3, 10));
    auto s = scan_all(dir);
    CHECK(s.result.status == scan_status::corrupt);
    CHECK(s.result.offset == file_header_bytes);
  }
  SECTION("gaps and epoch changes are fine") {
    write_segment(
        dir, epoch1 + 1,
        {{epoch1 + 1, "a"}, {epoch1 + 7, "b"}, {2 * epoch1 + 1, "c"}});
    auto s = scan_all(dir);
    CHECK(s.result.status == scan_status::clean);
    CHECK(s.records.size() == 3);
  }
  SECTION("the writer refuses them and carries on") {
    log_writer w;
    REQUIRE_FALSE(w.open(dir, test_options()));
    append_all(w, make_records(1, 7, 10));
    auto err = w.append(7, "again");
    REQUIRE(err);
    CHECK(err->code == errc::bad_argument);
    CHECK(w.append(3, "older"));
    CHECK(w.append(0, "zero"));
    CHECK_FALSE(w.failure());
    REQUIRE_FALSE(w.append(8, "next"));
    REQUIRE_FALSE(w.sync());
    auto s = scan_all(dir);
    CHECK(s.result.status == scan_status::clean);
    CHECK(s.records.size() == 8);
  }
}

TEST_CASE("segment headers") {
  temp_dir tmp;
  auto dir = tmp.path();
  write_segment(dir, 1, make_records(1, 5, 10));
  auto newest = dir + "/" + segment_file_name(6);
  SECTION("a newest segment with a missing or partial header is torn") {
    // Every byte of this zxid is non-zero, so each prefix is really partial.
    constexpr int64_t next = 0x0102030405060708;
    auto header = encode_header(next);
    for (size_t n : {0, 1, 4, 9, 15, 16}) {
      CAPTURE(n);
      auto sub = tmp.sub("h" + std::to_string(n));
      write_segment(sub, 1, make_records(1, 5, 10));
      auto torn = sub + "/" + segment_file_name(next);
      write_file(torn, header.substr(0, n) + std::string(100, '\0'));
      auto s = scan_all(sub);
      // A complete header with no records is a clean (empty) segment.
      CHECK(s.result.status ==
            (n < 16 ? scan_status::torn_tail : scan_status::clean));
      CHECK(s.records.size() == 5);
      log_writer w;
      REQUIRE_FALSE(w.open(sub, test_options()));
      CHECK(contains(w.recovery_warning(), "removed " + torn));
      CHECK_FALSE(std::filesystem::exists(torn));
      CHECK(w.last_zxid() == 5);
      REQUIRE_FALSE(w.append(6, "six"));
      REQUIRE_FALSE(w.sync());
      w.close();
      auto again = scan_all(sub);
      CHECK(again.result.status == scan_status::clean);
      CHECK(again.records.size() == 6);
    }
  }
  SECTION("a bad header in an older segment is corruption") {
    write_segment(dir, 6, make_records(6, 5, 10));
    patch_file(dir + "/" + segment_file_name(1), 0, "ZKDX");
    auto s = scan_all(dir);
    CHECK(s.result.status == scan_status::corrupt);
    CHECK(s.result.offset == 0);
  }
  SECTION("an unknown format version is refused") {
    write_file(newest, encode_header(6, 2) + encode_record(6, "x"));
    auto s = scan_all(dir);
    CHECK(s.result.status == scan_status::corrupt);
    CHECK(contains(s.result.message, "version 2"));
    log_writer w;
    CHECK(w.open(dir, test_options()));
  }
  SECTION("a header whose zxid disagrees with the name") {
    write_file(newest, encode_header(7) + encode_record(6, "x"));
    CHECK(scan_all(dir).result.status == scan_status::corrupt);
  }
}

TEST_CASE("reopen and append continues the log") {
  temp_dir tmp;
  auto dir = tmp.path();
  std::vector<record> all;
  int64_t next = 1;
  for (int round = 0; round < 6; ++round) {
    log_writer w;
    REQUIRE_FALSE(w.open(dir, test_options(2048)));
    CHECK(w.last_zxid() == next - 1);
    CHECK(w.durable_zxid() == next - 1);
    CHECK(w.recovery_warning().empty());
    auto recs = make_records(next, 40, 30 + round);
    append_all(w, recs);
    all.insert(all.end(), recs.begin(), recs.end());
    next += 40;
  }
  auto s = scan_all(dir);
  CHECK(s.result.status == scan_status::clean);
  CHECK(s.records == all);
}

TEST_CASE("data after a zero record header") {
  temp_dir tmp;
  auto path = write_segment(tmp.path(), 1, make_records(1, 3, 20), 4096);
  uint64_t end = file_header_bytes + 3 * (record_header_bytes + 20);
  SECTION("behind a zero sector it is the torn tail of the last batch") {
    // The batch's first sector never reached the disk, later ones did.
    patch_file(path, 1024, encode_record(9, "stale"));
    auto s = scan_all(tmp.path());
    CHECK(s.result.status == scan_status::torn_tail);
    CHECK(s.result.offset == end);
    CHECK(s.records.size() == 3);
    // open() leaves only zeros behind the last record, so new appends are
    // never followed by old bytes.
    log_writer w;
    REQUIRE_FALSE(w.open(tmp.path(), test_options()));
    CHECK(w.last_zxid() == 3);
    CHECK_FALSE(w.recovery_warning().empty());
    auto bytes = read_file(path);
    CHECK(bytes.size() >= 4096);
    CHECK(bytes.find_first_not_of('\0', end) == std::string::npos);
    REQUIRE_FALSE(w.append(4, std::string(30, 'x')));
    REQUIRE_FALSE(w.sync());
    auto again = scan_all(tmp.path());
    CHECK(again.result.status == scan_status::clean);
    CHECK(again.records.size() == 4);
  }
  SECTION("a valid record right behind it is corruption") {
    // A crash loses whole sectors; 40 zero bytes and then a good record is
    // not something a crash leaves.
    patch_file(path, end + 40, encode_record(9, "stale"));
    auto s = scan_all(tmp.path());
    CHECK(s.result.status == scan_status::corrupt);
    CHECK(s.result.offset == end);
    log_writer w;
    CHECK(w.open(tmp.path(), test_options()));
  }
  SECTION("garbage behind it in the last segment is a torn tail") {
    patch_file(path, end + 100, "garbage");
    CHECK(scan_all(tmp.path()).result.status == scan_status::torn_tail);
  }
}

TEST_CASE("a lost block in an older segment is corruption") {
  temp_dir tmp;
  auto seg1 = write_segment(tmp.path(), 1, make_records(1, 40, 100), 0);
  write_segment(tmp.path(), 41, make_records(41, 5, 100));
  patch_file(seg1, 1024, std::string(512, '\0'));
  auto s = scan_all(tmp.path());
  CHECK(s.result.status == scan_status::corrupt);
  CHECK(s.result.file == seg1);
  CHECK(s.records.size() < 40);
}

TEST_CASE("a bounded scan does not look at the part being written") {
  temp_dir tmp;
  log_writer w;
  REQUIRE_FALSE(w.open(tmp.path(), test_options()));
  append_all(w, make_records(1, 10, 40));
  // What a reader could see while the next batch is being written: a
  // partial record, then its later bytes.
  uint64_t end = file_header_bytes + 10 * (record_header_bytes + 40);
  auto next = encode_record(11, std::string(600, 'n'));
  patch_file(w.current_segment(), end, next.substr(0, 10));
  patch_file(w.current_segment(), end + 550, next.substr(550));
  auto s = scan_all(tmp.path());
  CHECK(s.result.status != scan_status::clean);
  std::vector<record> got;
  auto r = scan(
      tmp.path(), 3,
      [&](int64_t z, std::string_view p) {
        got.emplace_back(z, std::string(p));
        return true;
      },
      w.durable_zxid());
  CHECK(r.status == scan_status::clean);
  CHECK(r.last_zxid == 10);
  CHECK(got.size() == 8);
  CHECK(got.front().first == 3);
}

TEST_CASE("fsync mode counts one fdatasync per batch") {
  temp_dir tmp;
  auto fsync_on = GENERATE(true, false);
  auto opts = test_options();
  opts.fsync = fsync_on;
  log_writer w;
  REQUIRE_FALSE(w.open(tmp.path(), opts));
  for (int64_t z = 1; z <= 10; ++z)
    REQUIRE_FALSE(w.append(z, "payload"));
  CHECK(w.durable_zxid() == 0);
  CHECK(w.buffered_bytes() == 10 * (record_header_bytes + 7));
  REQUIRE_FALSE(w.sync());
  CHECK(w.durable_zxid() == 10);
  CHECK(w.buffered_bytes() == 0);
  REQUIRE_FALSE(w.sync());
  REQUIRE_FALSE(w.append(11, "x"));
  REQUIRE_FALSE(w.sync());
  CHECK(w.stats().appends == 11);
  CHECK(w.stats().writes == 2);
  CHECK(w.stats().fsyncs == (fsync_on ? 2u : 0u));
  CHECK(w.stats().bytes_written == 11 * record_header_bytes + 71);
  CHECK(scan_all(tmp.path()).records.size() == 11);
}

TEST_CASE("write errors surface and stop the writer") {
  temp_dir tmp;
  SECTION("in sync") {
    log_writer w;
    REQUIRE_FALSE(w.open(tmp.path(), test_options(1u << 20, prealloc::none)));
    append_all(w, make_records(1, 3, 100));
    auto before = file_size(w.current_segment());
    std::optional<log_error> err;
    {
      file_size_limit limit(before + 1000);
      for (int64_t z = 4; z < 104; ++z)
        REQUIRE_FALSE(w.append(z, payload_for(z, 100)));
      err = w.sync();
    }
    REQUIRE(err);
    CHECK(err->code == errc::io_error);
    CHECK(err->sys_errno == EFBIG);
    CHECK(contains(err->message, w.current_segment()));
    REQUIRE(w.failure());
    // Never retried: the same error from now on.
    auto again = w.append(200, "x");
    REQUIRE(again);
    CHECK(again->message == err->message);
    CHECK(w.sync());
    CHECK(w.durable_zxid() == 3);
  }
  SECTION("when a new segment cannot be preallocated") {
    log_writer w;
    REQUIRE_FALSE(w.open(tmp.path(), test_options(1u << 20)));
    append_all(w, make_records(1, 3, 100));
    std::optional<log_error> err;
    {
      file_size_limit limit(512 * 1024);
      err = w.append(4, std::string(1u << 20, 'x')); // needs a new segment
    }
    REQUIRE(err);
    CHECK(err->sys_errno == EFBIG);
    CHECK(w.failure());
    CHECK(list_segments(tmp.path()).size() == 1);
  }
}

TEST_CASE("truncate_after removes the records after a zxid") {
  temp_dir tmp;
  auto dir = tmp.path();
  log_writer w;
  REQUIRE_FALSE(w.open(dir, test_options(2048)));
  auto recs = make_records(1, 300, 40);
  append_all(w, recs);
  auto segs_before = list_segments(dir).size();
  // Buffered records beyond the cut go too.
  REQUIRE_FALSE(w.append(301, "buffered"));
  REQUIRE_FALSE(w.truncate_after(150));
  CHECK(w.last_zxid() == 150);
  CHECK(w.durable_zxid() == 150);
  CHECK(list_segments(dir).size() < segs_before);
  auto s = scan_all(dir);
  CHECK(s.result.status == scan_status::clean);
  CHECK(s.records == std::vector<record>(recs.begin(), recs.begin() + 150));
  // The log continues from there, also after a reopen.
  REQUIRE_FALSE(w.append(151, "new 151"));
  REQUIRE_FALSE(w.sync());
  w.close();
  log_writer w2;
  REQUIRE_FALSE(w2.open(dir, test_options(2048)));
  CHECK(w2.last_zxid() == 151);
  CHECK(w2.recovery_warning().empty());
  REQUIRE_FALSE(w2.truncate_after(1000)); // nothing above: no change
  CHECK(w2.last_zxid() == 151);
  REQUIRE_FALSE(w2.truncate_after(0));
  CHECK(w2.last_zxid() == 0);
  CHECK(list_segments(dir).empty());
  REQUIRE_FALSE(w2.append(5, "fresh"));
  REQUIRE_FALSE(w2.sync());
  auto after = scan_all(dir);
  CHECK(after.records == std::vector<record>{{5, "fresh"}});
}
