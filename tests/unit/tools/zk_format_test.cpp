// ZooKeeper's snapshot and log formats, and loading a whole ZooKeeper data
// directory, on files the tests write themselves.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "bin/tools/zk_format.hpp"
#include "tests/unit/tools/zk_test_util.hpp"

using namespace zkd;
using namespace zkd::tools::zk;
using namespace zkd::tools::zk::test;

namespace {

// Adler32 the slow way (RFC 1950), to check the fast one against.
uint32_t adler32_reference(std::string_view bytes) {
  uint32_t a = 1, b = 0;
  for (unsigned char c : bytes) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

std::string be32(int32_t v) {
  std::string out;
  for (int s = 24; s >= 0; s -= 8)
    out.push_back(static_cast<char>(static_cast<uint32_t>(v) >> s));
  return out;
}

struct collected {
  std::vector<std::pair<int64_t, int32_t>> sessions;
  std::vector<image_node> nodes;
  std::vector<std::vector<wire::acl>> acls; // per node
};

snapshot_result collect(std::string_view bytes, collected& out) {
  snapshot_visitor v;
  v.on_session = [&](uint64_t, int64_t id, int32_t t) -> std::string {
    out.sessions.emplace_back(id, t);
    return {};
  };
  v.on_node = [&](uint64_t, const snapshot_node& n) -> std::string {
    image_node x;
    x.path = std::string(n.path);
    if (!n.null_data)
      x.data = std::string(n.data);
    x.acl_ref = n.acl_ref;
    x.stat = n.stat;
    out.nodes.push_back(x);
    out.acls.push_back(*n.acl);
    return {};
  };
  return read_snapshot(bytes, v);
}

snapshot_image small_image() {
  snapshot_image img;
  img.sessions = {{0x1001, 30000}, {-5, 4000}};
  img.acls = {{1, open_acl()},
              {2,
               {wire::acl{wire::perm::all, wire::id{"digest", "u:p="}},
                wire::acl{wire::perm::read, wire::id{"world", "anyone"}}}}};
  datatree::stat_persisted s;
  s.czxid = 3;
  s.mzxid = 4;
  s.ctime = 5;
  s.mtime = 6;
  s.version = 7;
  s.cversion = 8;
  s.aversion = 9;
  s.ephemeral_owner = 0;
  s.pzxid = 10;
  img.nodes.push_back(image_node{"", std::string(), 1, s});
  img.nodes.push_back(image_node{"/a", std::nullopt, 2, s});
  s.ephemeral_owner = 0x1001;
  img.nodes.push_back(image_node{"/a/b", std::string("data\0x", 6), -1, s});
  img.digest = zxid_digest{0x1f, 2, 0x123456789};
  return img;
}

} // namespace

TEST_CASE("adler32 is java.util.zip.Adler32", "[zk_format]") {
  CHECK(adler32("") == 1u);
  CHECK(adler32("Wikipedia") == 0x11e60398u);
  std::string big(100000, '\xff');
  for (size_t i = 0; i < big.size(); i += 7)
    big[i] = static_cast<char>(i);
  CHECK(adler32(big) == adler32_reference(big));
  // Continuing a checksum equals checksumming the whole.
  CHECK(adler32(big.substr(40000), adler32(big.substr(0, 40000))) ==
        adler32(big));
}

TEST_CASE("ZooKeeper's file names carry the zxid in hex", "[zk_format]") {
  std::string suffix = "x";
  CHECK(zxid_from_name("snapshot.1a", "snapshot", &suffix) == 0x1a);
  CHECK(suffix.empty());
  CHECK(zxid_from_name("snapshot.1A.gz", "snapshot", &suffix) == 0x1a);
  CHECK(suffix == "gz");
  CHECK(zxid_from_name("log.100000001", "log") == 0x100000001);
  CHECK(zxid_from_name("snapshot.0", "snapshot") == 0);
  CHECK_FALSE(zxid_from_name("snapshot.", "snapshot"));
  CHECK_FALSE(zxid_from_name("snapshot", "snapshot"));
  CHECK_FALSE(zxid_from_name("snapshot.xyz", "snapshot"));
  CHECK_FALSE(zxid_from_name("snapshots.1", "snapshot"));
  CHECK_FALSE(zxid_from_name("log.1", "snapshot"));
  CHECK_FALSE(zxid_from_name("snapshot.-1", "snapshot"));
  CHECK_FALSE(zxid_from_name("snapshot.8000000000000000", "snapshot"));
  CHECK_FALSE(zxid_from_name("snapshot.00000000000000001", "snapshot"));
}

TEST_CASE("a snapshot reads back what was written", "[zk_format]") {
  auto img = small_image();
  auto bytes = encode_snapshot(img);
  collected got;
  auto r = collect(bytes, got);
  REQUIRE(r.ok());
  CHECK(r.info.header.magic == snapshot_magic);
  CHECK(r.info.header.version == 2);
  CHECK(r.info.header.dbid == -1);
  CHECK(r.info.sessions == 2);
  CHECK(r.info.acl_lists == 2);
  CHECK(r.info.nodes == 3);
  REQUIRE(r.info.digest);
  CHECK(r.info.digest->zxid == 0x1f);
  CHECK(r.info.digest->version == 2);
  CHECK(r.info.digest->digest == 0x123456789);
  CHECK(got.sessions == img.sessions);
  REQUIRE(got.nodes.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(got.nodes[i].path == img.nodes[i].path);
    CHECK(got.nodes[i].data == img.nodes[i].data);
    CHECK(got.nodes[i].acl_ref == img.nodes[i].acl_ref);
    CHECK(got.nodes[i].stat == img.nodes[i].stat);
  }
  CHECK(got.acls[0] == img.acls[0].second);
  CHECK(got.acls[1] == img.acls[1].second);
  // -1 is world:anyone ALL without a cache entry.
  CHECK(got.acls[2] == open_acl());

  SECTION("without the digest section (zookeeper.digest.enabled=false)") {
    img.digest.reset();
    collected g2;
    auto r2 = collect(encode_snapshot(img), g2);
    REQUIRE(r2.ok());
    CHECK_FALSE(r2.info.digest);
    CHECK(g2.nodes.size() == 3);
  }
}

TEST_CASE("a snapshot's layout is ZooKeeper's", "[zk_format]") {
  snapshot_image img;
  img.nodes.push_back(image_node{"", std::nullopt, -1, {}});
  auto bytes = encode_snapshot(img);
  // Header, 0 sessions, 0 ACL lists, the root, "/", seal.
  std::string expect = std::string("ZKSN") + be32(2) + be32(-1) + be32(-1) +
                       be32(0) + be32(0) + be32(0) + be32(-1) + be32(-1) +
                       be32(-1) + std::string(60, '\0') + be32(1) + "/";
  REQUIRE(bytes.substr(0, expect.size()) == expect);
  auto sum = adler32(expect);
  CHECK(bytes.substr(expect.size()) ==
        be32(0) + be32(static_cast<int32_t>(sum)) + be32(1) + "/");
}

TEST_CASE("every damaged byte of a snapshot is found", "[zk_format]") {
  auto bytes = encode_snapshot(small_image());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (unsigned char flip : {0x01, 0x80}) {
      auto bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ flip);
      INFO("byte " << i << " ^ " << int(flip));
      auto r = read_snapshot(bad, {});
      REQUIRE_FALSE(r.ok());
      CHECK(r.status == read_status::corrupt);
      CHECK_FALSE(r.message.empty());
    }
  }
  // Cut right after the first seal, the file is a complete snapshot without
  // the optional digest section (ZooKeeper reads it so too); anywhere else
  // it is incomplete.
  const size_t without_digest = bytes.size() - (8 + 4 + 8) - (8 + 5);
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("truncated to " << n);
    auto r = read_snapshot(bytes.substr(0, n), {});
    if (n == without_digest) {
      REQUIRE(r.ok());
      CHECK_FALSE(r.info.digest);
    } else {
      REQUIRE_FALSE(r.ok());
    }
  }
}

TEST_CASE("snapshot errors name the offset and the reason", "[zk_format]") {
  SECTION("bad magic") {
    auto img = small_image();
    img.header.magic = log_magic;
    auto r = read_snapshot(encode_snapshot(img), {});
    CHECK(r.status == read_status::corrupt);
    CHECK(r.offset == 0);
    CHECK_THAT(r.message, Catch::Contains("not a ZooKeeper snapshot"));
  }
  SECTION("an ACL reference the cache does not hold") {
    auto img = small_image();
    img.nodes[1].acl_ref = 77;
    auto bytes = encode_snapshot(img);
    auto r = read_snapshot(bytes, {});
    CHECK(r.status == read_status::corrupt);
    CHECK_THAT(r.message, Catch::Contains("ACL list 77"));
    // The second node, right after the root: "" and its empty data.
    auto root = bytes.find(be32(0) + be32(0) + std::string(7, '\0') + '\x01');
    REQUIRE(root != std::string::npos);
    CHECK(r.offset == root + 4 + 4 + 8 + 60);
  }
  SECTION("a callback refuses a node") {
    snapshot_visitor v;
    uint64_t seen = 0;
    v.on_node = [&](uint64_t off, const snapshot_node& n) -> std::string {
      if (n.path == "/a") {
        seen = off;
        return "no thanks";
      }
      return {};
    };
    auto r = read_snapshot(encode_snapshot(small_image()), v);
    CHECK(r.status == read_status::refused);
    CHECK(r.offset == seen);
    CHECK(r.message == "no thanks");
  }
}

TEST_CASE("a log's entries are read up to its zero padding", "[zk_format]") {
  history h;
  h.basic();
  auto bytes = log_bytes(h.log, 4096);
  std::vector<log_entry> got;
  auto r = scan_log(bytes, [&](const log_entry& e) -> std::string {
    got.push_back(e);
    return {};
  });
  REQUIRE(r.ok());
  CHECK_FALSE(r.torn);
  CHECK(r.trailing_nonzero == 0);
  CHECK(r.header.magic == log_magic);
  REQUIRE(got.size() == h.log.size());
  CHECK(r.entries == h.log.size());
  CHECK(r.offset == entry_offset(h.log, h.log.size()));
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].offset == entry_offset(h.log, i));
    txn::record rec;
    REQUIRE(txn::decode(got[i].payload, rec));
    CHECK(rec == h.log[i]);
  }
  SECTION("without padding") {
    auto r2 = scan_log(log_bytes(h.log, 0), {});
    CHECK(r2.ok());
    CHECK_FALSE(r2.torn);
    CHECK(r2.entries == h.log.size());
  }
  SECTION("only a header") {
    auto r2 = scan_log(log_bytes({}, 0), {});
    CHECK(r2.ok());
    CHECK(r2.entries == 0);
  }
}

TEST_CASE("a torn last log entry ends the file, as in ZooKeeper",
          "[zk_format]") {
  history h;
  h.basic();
  auto full = log_bytes(h.log, 0);
  auto last = entry_offset(h.log, h.log.size() - 1);
  SECTION("cut anywhere inside the last entry") {
    for (size_t n = last + 1; n < full.size(); ++n) {
      INFO("cut at " << n);
      auto r = scan_log(full.substr(0, n), {});
      REQUIRE(r.ok());
      // The checksum is a long whose high half is zero: cut within it, what
      // is left looks like the zero padding (to ZooKeeper too).
      CHECK((r.torn || n <= last + 4));
      CHECK(r.offset == last);
      CHECK(r.entries == h.log.size() - 1);
    }
  }
  SECTION("cut and zero-padded (a preallocated file)") {
    auto bytes = full.substr(0, full.size() - 20) + std::string(100, '\0');
    auto r = scan_log(bytes, {});
    REQUIRE(r.ok());
    CHECK(r.torn);
    CHECK(r.offset == last);
    CHECK(r.entries == h.log.size() - 1);
    CHECK(r.trailing_nonzero > 0);
  }
  SECTION("the end-of-record byte is missing") {
    auto bytes = full;
    bytes.back() = 0;
    auto r = scan_log(bytes, {});
    REQUIRE(r.ok());
    CHECK(r.torn);
    CHECK(r.offset == last);
  }
  SECTION("shorter than a header") {
    auto r = scan_log(full.substr(0, 10), {});
    CHECK(r.ok());
    CHECK(r.torn);
    CHECK(r.entries == 0);
  }
  SECTION("zero-length end marker followed by garbage") {
    auto bytes = full + std::string(12, '\0') + "junk";
    auto r = scan_log(bytes, {});
    CHECK(r.ok());
    CHECK_FALSE(r.torn);
    CHECK(r.entries == h.log.size());
    CHECK(r.trailing_nonzero == 4);
  }
}

TEST_CASE("a damaged log entry stops the scan at its offset", "[zk_format]") {
  history h;
  h.basic();
  auto bytes = log_bytes(h.log, 256);
  size_t k = 3;
  auto at = entry_offset(h.log, k);
  SECTION("a payload byte") {
    bytes[at + 12 + 5] ^= 0x10;
    uint64_t seen = 0;
    auto r = scan_log(bytes, [&](const log_entry&) -> std::string {
      ++seen;
      return {};
    });
    CHECK(r.status == read_status::corrupt);
    CHECK(r.offset == at);
    CHECK(seen == k);
    CHECK_THAT(r.message, Catch::Contains("checksum mismatch"));
  }
  SECTION("the stored checksum") {
    bytes[at + 7] ^= 0x01;
    auto r = scan_log(bytes, {});
    CHECK(r.status == read_status::corrupt);
    CHECK(r.offset == at);
  }
  SECTION("a negative length") {
    bytes[at + 8] = '\x80';
    auto r = scan_log(bytes, {});
    CHECK(r.status == read_status::corrupt);
    CHECK(r.offset == at);
  }
  SECTION("the magic") {
    bytes[1] = 'X';
    auto r = scan_log(bytes, {});
    CHECK(r.status == read_status::corrupt);
    CHECK(r.offset == 0);
  }
  SECTION("refused by the callback") {
    auto r = scan_log(bytes, [&](const log_entry& e) -> std::string {
      return e.offset == at ? "stop" : "";
    });
    CHECK(r.status == read_status::refused);
    CHECK(r.offset == at);
    CHECK(r.entries == k);
  }
}

// -- load_zookeeper
// ---------------------------------------------------------------

TEST_CASE("load: ZooKeeper's first snapshot plus the whole log",
          "[zk_format][load]") {
  history h;
  h.basic();
  scratch_dir dir;
  write_file(dir / "snapshot.0", fresh_snapshot());
  write_file(dir / hex_name("log", h.log.front().hdr.zxid),
             log_bytes(h.log, 1000));
  auto res = load_zookeeper(dir.str(), dir.str());
  INFO(res.error);
  REQUIRE(res.exit_code == 0);
  REQUIRE(res.t);
  CHECK(res.warnings.empty());
  CHECK(res.snapshot == dir / "snapshot.0");
  CHECK(res.replayed == h.log.size());
  CHECK(res.logs_read == 1);
  require_same(*res.t, h.live);
  CHECK(res.t->last_zxid() == h.log.back().hdr.zxid);
  CHECK(res.max_epoch == 2);
  CHECK(res.dead_sessions == 0);
}

TEST_CASE("load: a snapshot in the middle and several logs",
          "[zk_format][load]") {
  history h(7);
  h.basic();
  h.random(150);
  auto snap_zxid = h.log[h.log.size() / 2].hdr.zxid;
  // The tree as of snap_zxid: replay the history's first half.
  datatree::tree at_snap;
  for (auto& r : txns_between(h, 0, snap_zxid))
    at_snap.apply(r);
  scratch_dir dir;
  write_file(dir / hex_name("snapshot", snap_zxid),
             encode_snapshot(image_of(at_snap)));
  // An older snapshot, which must not be the one used.
  write_file(dir / "snapshot.0", fresh_snapshot());
  // Logs split at a third and two thirds: the first starts before the
  // snapshot and holds txns already in it.
  auto third = h.log[h.log.size() / 3].hdr.zxid;
  auto two_thirds = h.log[2 * h.log.size() / 3].hdr.zxid;
  int64_t last = h.log.back().hdr.zxid;
  write_file(dir / hex_name("log", h.log.front().hdr.zxid),
             log_bytes(txns_between(h, 0, third - 1)));
  write_file(dir / hex_name("log", third),
             log_bytes(txns_between(h, third - 1, two_thirds - 1)));
  write_file(dir / hex_name("log", two_thirds),
             log_bytes(txns_between(h, two_thirds - 1, last)));
  auto res = load_zookeeper(dir.str(), dir.str());
  INFO(res.error);
  REQUIRE(res.exit_code == 0);
  CHECK(res.warnings.empty());
  CHECK(res.snapshot_zxid == snap_zxid);
  CHECK(res.logs_read == 2);
  CHECK(res.replayed == txns_between(h, snap_zxid, last).size());
  // The snapshot's digest and every later txn's were compared.
  CHECK(res.digest_checks == 1 + res.replayed);
  require_same(*res.t, h.live);
}

TEST_CASE("load: a fuzzy snapshot, ahead of its name, is repaired by the log",
          "[zk_format][load]") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    history h(seed);
    h.basic();
    h.random(120);
    // ZooKeeper names the snapshot after the last txn applied when the walk
    // began; the walk then saw later txns. Extreme case: it saw all of them
    // up to `ahead`, and recorded the digest there.
    auto named = h.log[h.log.size() / 3].hdr.zxid;
    auto ahead = h.log[2 * h.log.size() / 3].hdr.zxid;
    datatree::tree walked;
    for (auto& r : txns_between(h, 0, ahead))
      walked.apply(r);
    auto img = image_of(walked);
    scratch_dir dir;
    write_file(dir / hex_name("snapshot", named), encode_snapshot(img));
    write_file(dir / hex_name("log", h.log.front().hdr.zxid), log_bytes(h.log));
    auto res = load_zookeeper(dir.str(), dir.str());
    INFO(res.error);
    REQUIRE(res.exit_code == 0);
    for (auto& w : res.warnings)
      UNSCOPED_INFO(w);
    CHECK(res.warnings.empty());
    CHECK(res.replayed == txns_between(h, named, h.next_zxid).size());
    require_same(*res.t, h.live);
  }
}

TEST_CASE("load: fuzzy snapshots taken as ZooKeeper takes them",
          "[zk_format][load]") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    history h(seed);
    h.basic();
    h.random(150);
    auto named = h.log[h.log.size() / 4].hdr.zxid;
    int64_t walked_to = 0;
    auto img = fuzzy_image(h, named, seed, walked_to);
    REQUIRE(walked_to > named); // the walk did see later txns
    scratch_dir dir;
    write_file(dir / hex_name("snapshot", named), encode_snapshot(img));
    write_file(dir / hex_name("log", h.log.front().hdr.zxid), log_bytes(h.log));
    auto res = load_zookeeper(dir.str(), dir.str());
    INFO(res.error);
    REQUIRE(res.exit_code == 0);
    for (auto& w : res.warnings)
      UNSCOPED_INFO(w);
    CHECK(res.warnings.empty());
    // The snapshot's digest, then that of every txn from walked_to on (the
    // first of which also records the digest at walked_to).
    CHECK(res.digest_checks ==
          1 + txns_between(h, walked_to - 1, h.next_zxid).size());
    require_same(*res.t, h.live);
  }
}

TEST_CASE("load: a damaged newest snapshot falls back to an older one",
          "[zk_format][load]") {
  history h;
  h.basic();
  auto mid = h.log[5].hdr.zxid;
  datatree::tree at_mid;
  for (auto& r : txns_between(h, 0, mid))
    at_mid.apply(r);
  auto newest = encode_snapshot(image_of(at_mid));
  scratch_dir dir;
  write_file(dir / "snapshot.0", fresh_snapshot());
  write_file(dir / hex_name("log", h.log.front().hdr.zxid), log_bytes(h.log));
  SECTION("a damaged byte") {
    newest[40] ^= 0x04;
    write_file(dir / hex_name("snapshot", mid), newest);
  }
  SECTION("incomplete: ZooKeeper was still writing it") {
    write_file(dir / hex_name("snapshot", mid),
               newest.substr(0, newest.size() / 2));
  }
  auto res = load_zookeeper(dir.str(), dir.str());
  INFO(res.error);
  REQUIRE(res.exit_code == 0);
  CHECK(res.snapshot == dir / "snapshot.0");
  REQUIRE(res.warnings.size() == 1);
  CHECK_THAT(res.warnings[0], Catch::Contains(hex_name("snapshot", mid)));
  require_same(*res.t, h.live);
}

TEST_CASE("load: a damaged log entry in the middle stops with file and offset",
          "[zk_format][load]") {
  history h;
  h.basic();
  scratch_dir dir;
  write_file(dir / "snapshot.0", fresh_snapshot());
  auto name = dir / hex_name("log", h.log.front().hdr.zxid);
  auto bytes = log_bytes(h.log, 100);
  auto at = entry_offset(h.log, 4);
  bytes[at + 20] ^= 0x40;
  write_file(name, bytes);
  auto res = load_zookeeper(dir.str(), dir.str());
  CHECK(res.exit_code == exit_corrupt);
  CHECK_FALSE(res.t);
  CHECK_THAT(res.error,
             Catch::Contains(name + " at byte " + std::to_string(at)));
  CHECK_THAT(res.error, Catch::Contains("checksum mismatch"));
}

TEST_CASE("load: an entry that does not decode is corruption",
          "[zk_format][load]") {
  history h;
  h.basic();
  scratch_dir dir;
  write_file(dir / "snapshot.0", fresh_snapshot());
  auto bytes = log_bytes(h.log, 0);
  auto at = bytes.size();
  bytes += encode_log_entry("not a txn at all");
  write_file(dir / hex_name("log", h.log.front().hdr.zxid), bytes);
  auto res = load_zookeeper(dir.str(), dir.str());
  CHECK(res.exit_code == exit_corrupt);
  CHECK_THAT(res.error, Catch::Contains("at byte " + std::to_string(at)));
  CHECK_THAT(res.error, Catch::Contains("does not decode"));
}

TEST_CASE("load: a torn last entry is dropped with a warning",
          "[zk_format][load]") {
  history h;
  h.basic();
  scratch_dir dir;
  write_file(dir / "snapshot.0", fresh_snapshot());
  auto bytes = log_bytes(h.log, 0);
  auto last = entry_offset(h.log, h.log.size() - 1);
  bytes = bytes.substr(0, bytes.size() - 9) + std::string(64, '\0');
  auto name = dir / hex_name("log", h.log.front().hdr.zxid);
  write_file(name, bytes);
  auto res = load_zookeeper(dir.str(), dir.str());
  INFO(res.error);
  REQUIRE(res.exit_code == 0);
  REQUIRE(res.warnings.size() == 1);
  CHECK_THAT(res.warnings[0],
             Catch::Contains(name + " at byte " + std::to_string(last)));
  // The tree is the history without its last txn.
  datatree::tree expect;
  for (size_t i = 0; i + 1 < h.log.size(); ++i)
    expect.apply(h.log[i]);
  require_same(*res.t, expect);
  CHECK(res.replayed == h.log.size() - 1);

  SECTION("a later log goes on after the torn one (ZooKeeper restarted)") {
    // The torn txn was never acknowledged; the restarted server reused its
    // zxid in a new log file.
    auto torn_zxid = h.log.back().hdr.zxid;
    auto redo = h.log.back();
    write_file(dir / hex_name("log", torn_zxid), log_bytes({redo}));
    auto res2 = load_zookeeper(dir.str(), dir.str());
    INFO(res2.error);
    REQUIRE(res2.exit_code == 0);
    CHECK(res2.warnings.size() == 1);
    CHECK(res2.logs_read == 2);
    require_same(*res2.t, h.live);
  }
}

TEST_CASE("load: missing txns are a gap, not silently skipped",
          "[zk_format][load]") {
  history h;
  h.basic();
  scratch_dir dir;
  write_file(dir / "snapshot.0", fresh_snapshot());
  auto recs = h.log;
  auto missing = recs[6].hdr.zxid;
  recs.erase(recs.begin() + 6);
  auto name = dir / hex_name("log", recs.front().hdr.zxid);
  write_file(name, log_bytes(recs));
  auto res = load_zookeeper(dir.str(), dir.str());
  CHECK(res.exit_code == exit_corrupt);
  CHECK_THAT(res.error, Catch::Contains("gap in the zxids"));
  CHECK_THAT(res.error, Catch::Contains(name + " at byte " +
                                        std::to_string(entry_offset(recs, 6))));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx",
                static_cast<unsigned long long>(missing - 1));
  CHECK_THAT(res.error, Catch::Contains(buf));
}

TEST_CASE("load: ephemerals of a session that is gone are deleted",
          "[zk_format][load]") {
  history h;
  REQUIRE(h.open_session(0x77));
  REQUIRE(h.create("/p", std::string("x")));
  REQUIRE(h.create("/p/e", std::string("y"),
                   int32_t(wire::create_mode::ephemeral), 0x77));
  auto img = image_of(h.live);
  img.sessions.clear(); // the session table lost it
  scratch_dir dir;
  write_file(dir / hex_name("snapshot", h.live.last_zxid()),
             encode_snapshot(img));
  auto res = load_zookeeper(dir.str(), dir.str());
  INFO(res.error);
  REQUIRE(res.exit_code == 0);
  CHECK(res.dead_sessions == 1);
  CHECK_FALSE(res.t->lookup("/p/e"));
  auto p = res.t->lookup("/p");
  REQUIRE(p);
  CHECK(p->num_children == 0);
  CHECK(p->stat.pzxid == h.live.last_zxid());
}

TEST_CASE("load: epochs come from the zxids and ZooKeeper's epoch files",
          "[zk_format][load]") {
  history h;
  h.basic(); // ends in epoch 2
  scratch_dir dir;
  write_file(dir / "snapshot.0", fresh_snapshot());
  write_file(dir / hex_name("log", h.log.front().hdr.zxid), log_bytes(h.log));
  SECTION("from the zxids") {
    CHECK(load_zookeeper(dir.str(), dir.str()).max_epoch == 2);
  }
  SECTION("acceptedEpoch beyond them") {
    write_file(dir / "currentEpoch", "2\n");
    write_file(dir / "acceptedEpoch", "9\n");
    CHECK(load_zookeeper(dir.str(), dir.str()).max_epoch == 9);
  }
  SECTION("an unreadable epoch file") {
    write_file(dir / "currentEpoch", "two\n");
    auto res = load_zookeeper(dir.str(), dir.str());
    CHECK(res.exit_code == exit_corrupt);
    CHECK_THAT(res.error, Catch::Contains("currentEpoch"));
  }
}

TEST_CASE("load: directories without a usable snapshot", "[zk_format][load]") {
  scratch_dir dir;
  SECTION("empty") {
    auto res = load_zookeeper(dir.str(), dir.str());
    CHECK(res.exit_code == exit_usage);
    CHECK_THAT(res.error, Catch::Contains("no ZooKeeper snapshot or log"));
  }
  SECTION("logs only") {
    history h;
    h.basic();
    write_file(dir / hex_name("log", h.log.front().hdr.zxid), log_bytes(h.log));
    auto res = load_zookeeper(dir.str(), dir.str());
    CHECK(res.exit_code == exit_usage);
    CHECK_THAT(res.error, Catch::Contains("no snapshot"));
  }
  SECTION("only a compressed snapshot") {
    write_file(dir / "snapshot.5.gz", "\x1f\x8b");
    auto res = load_zookeeper(dir.str(), dir.str());
    CHECK(res.exit_code == exit_usage);
    CHECK_THAT(res.error, Catch::Contains("compressed"));
  }
  SECTION("only damaged snapshots") {
    auto bytes = fresh_snapshot();
    bytes[bytes.size() - 60] ^= 1; // the last node's stat
    write_file(dir / "snapshot.0", bytes);
    auto res = load_zookeeper(dir.str(), dir.str());
    CHECK(res.exit_code == exit_corrupt);
    CHECK_THAT(res.error, Catch::Contains("checksum mismatch"));
  }
  SECTION("a node before its parent") {
    auto img = image_of(datatree::tree{});
    img.nodes.push_back(image_node{"/x/y", std::string(), 1, {}});
    write_file(dir / "snapshot.0", encode_snapshot(img));
    auto res = load_zookeeper(dir.str(), dir.str());
    CHECK(res.exit_code == exit_corrupt);
    CHECK_THAT(res.error, Catch::Contains("/x/y"));
  }
}

TEST_CASE("load: a tree digest that differs from ZooKeeper's is a warning",
          "[zk_format][load]") {
  history h;
  h.basic();
  auto recs = h.log;
  recs[5].dig->tree_digest ^= 1;
  recs[9].dig->tree_digest ^= 1;
  scratch_dir dir;
  write_file(dir / "snapshot.0", fresh_snapshot());
  auto name = dir / hex_name("log", recs.front().hdr.zxid);
  write_file(name, log_bytes(recs));
  auto res = load_zookeeper(dir.str(), dir.str());
  INFO(res.error);
  REQUIRE(res.exit_code == 0);
  CHECK(res.digest_checks == 1 + recs.size());
  REQUIRE(res.warnings.size() == 1);
  CHECK_THAT(res.warnings[0], Catch::StartsWith("2 of "));
  CHECK_THAT(res.warnings[0],
             Catch::Contains(name + " at byte " +
                             std::to_string(entry_offset(recs, 5))));
  require_same(*res.t, h.live);
}
