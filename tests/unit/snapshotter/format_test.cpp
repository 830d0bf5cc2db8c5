// The snapshot file: round trip of a large tree with every stored field,
// names, and detection of damage anywhere in the file.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <iterator>

#include "actors/snapshotter/recovery.hpp"
#include "actors/snapshotter/snapshot.hpp"
#include "tests/unit/snapshotter/test_util.hpp"

namespace zkd::snapshotter {
namespace {

using test::scratch_dir;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A tree of 1 + 3 + parents x children znodes whose every stored field is
// random (restore_node takes any stat), with several ACL lists, sessions
// owning leaves, containers and TTL nodes, and null, empty and binary data.
void fill(datatree::tree& t, size_t parents, size_t children, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto any64 = [&] {
    return static_cast<int64_t>(rng());
  };
  auto any32 = [&] {
    return static_cast<int32_t>(rng());
  };
  auto data = [&]() -> wire::opt_bytes {
    switch (rng() % 8) {
    case 0:
      return std::nullopt;
    case 1:
      return std::string();
    default: {
      std::string d(rng() % 300, '\0');
      for (auto& c : d)
        c = static_cast<char>(rng());
      return d;
    }
    }
  };
  std::vector<std::vector<wire::acl>> acls = {
      test::open_acl(),
      {wire::acl{wire::perm::read, wire::id{"world", "anyone"}}},
      {wire::acl{wire::perm::all, wire::id{"digest", "bob:x/y+z="}},
       wire::acl{wire::perm::read | wire::perm::write,
                 wire::id{"ip", "10.1.0.0/16"}}},
      {wire::acl{wire::perm::admin, wire::id{"sasl", "\xe2\x82\xac"}}},
  };
  std::vector<int64_t> sessions;
  for (int i = 0; i < 50; ++i) {
    sessions.push_back(0x1000000 + i);
    t.restore_session(sessions.back(), 4000 + i);
  }
  auto stat = [&](int64_t owner) {
    datatree::stat_persisted s;
    s.czxid = any64();
    s.mzxid = any64();
    s.ctime = any64();
    s.mtime = any64();
    s.version = any32();
    s.cversion = any32();
    s.aversion = any32();
    s.ephemeral_owner = owner;
    s.pzxid = any64();
    return s;
  };
  for (size_t p = 0; p < parents; ++p) {
    auto parent = "/p" + std::to_string(p);
    REQUIRE(t.restore_node(parent, data(), stat(0), acls[rng() % acls.size()]));
    for (size_t c = 0; c < children; ++c) {
      int64_t owner = 0;
      switch (rng() % 10) {
      case 0:
        owner = sessions[rng() % sessions.size()];
        break;
      case 1:
        owner = datatree::container_owner;
        break;
      case 2:
        owner = datatree::ttl_owner(int64_t(1 + rng() % 100000));
        break;
      }
      REQUIRE(t.restore_node(parent + "/c" + std::to_string(c), data(),
                             stat(owner), acls[rng() % acls.size()]));
    }
  }
  // The system nodes with a changed stat, as a long-lived tree has them.
  REQUIRE(t.restore_node("/zookeeper", std::string(), stat(0), acls[0]));
  t.finish_restore(0x500000123);
  t.check_invariants();
}

TEST_CASE("a 100k-znode tree survives a snapshot round trip field for field") {
  scratch_dir dir;
  datatree::tree t;
  fill(t, 1000, 99, 42);
  REQUIRE(t.node_count() == 1 + 3 + 1000 * 100);
  REQUIRE(t.ephemeral_count() > 0);
  REQUIRE(!t.containers().empty());
  REQUIRE(!t.ttls().empty());

  auto t0 = std::chrono::steady_clock::now();
  auto path = test::write_snapshot(t, dir.str());
  auto t1 = std::chrono::steady_clock::now();
  CHECK(path == dir / "snapshot.0000000500000123");
  auto res = load_snapshot(path);
  auto t2 = std::chrono::steady_clock::now();
  INFO(res.error);
  REQUIRE(res.exit_code == 0);
  REQUIRE(res.t);
  CHECK(res.snapshot_zxid == 0x500000123);
  CHECK(res.t->last_zxid() == 0x500000123);
  CHECK(res.snapshot_nodes == t.node_count());
  test::require_same(t, *res.t);
  res.t->check_invariants();
  using ms = std::chrono::milliseconds;
  WARN("100k znodes: capture+write "
       << std::chrono::duration_cast<ms>(t1 - t0).count() << " ms, load "
       << std::chrono::duration_cast<ms>(t2 - t1).count() << " ms");

  // The reader hands out every record with its offset, in file order.
  uint64_t nodes = 0, sessions = 0, last = 0;
  bool ordered = true;
  snapshot_visitor v;
  v.on_node = [&](uint64_t at, const datatree::captured_node&) -> std::string {
    ordered = ordered && at > last;
    last = at;
    ++nodes;
    return {};
  };
  v.on_session = [&](uint64_t at, int64_t, int32_t) -> std::string {
    ordered = ordered && at > last;
    last = at;
    ++sessions;
    return {};
  };
  auto r = read_snapshot(path, v);
  REQUIRE(r.ok());
  CHECK(ordered);
  CHECK(nodes == t.node_count());
  CHECK(sessions == 50);
  CHECK(r.header.zxid == 0x500000123);
  CHECK(r.header.digest == t.digest());
  CHECK(r.header.time_ms == 1234);
  CHECK(r.trailer.acls == 4);
}

TEST_CASE("null and empty data stay apart, with their stats") {
  scratch_dir dir;
  datatree::tree t;
  datatree::stat_persisted s;
  s.czxid = s.mzxid = s.pzxid = 7;
  REQUIRE(t.restore_node("/null", std::nullopt, s, test::open_acl()));
  REQUIRE(t.restore_node("/empty", std::string(), s, test::open_acl()));
  REQUIRE(t.restore_node("/zero", std::string(1, '\0'), s, test::open_acl()));
  t.finish_restore(7);
  auto res = load_snapshot(test::write_snapshot(t, dir.str()));
  REQUIRE(res.exit_code == 0);
  auto c = test::contents(*res.t);
  CHECK_FALSE(std::get<0>(c.at("/null")).has_value());
  CHECK(std::get<0>(c.at("/empty")) == std::string());
  CHECK(std::get<0>(c.at("/zero")) == std::string(1, '\0'));
  test::require_same(t, *res.t);
}

TEST_CASE("snapshot file names") {
  CHECK(snapshot_file_name(0x100000a3) == "snapshot.00000000100000a3");
  CHECK(parse_snapshot_name("snapshot.00000001000000a3") == 0x1000000a3);
  CHECK_FALSE(parse_snapshot_name("snapshot.00000001000000A3"));
  CHECK_FALSE(parse_snapshot_name("snapshot.1000000a3"));
  CHECK_FALSE(parse_snapshot_name("snapshot.00000001000000a3.tmp"));
  CHECK_FALSE(parse_snapshot_name("snapshot.8000000000000000"));
  CHECK(is_temp_snapshot_name("snapshot.00000001000000a3.tmp"));
  CHECK_FALSE(is_temp_snapshot_name("snapshot.00000001000000a3"));
  CHECK_FALSE(is_temp_snapshot_name("log.00000001000000a3.tmp"));
}

// A small snapshot (a few blocks) to damage.
std::string small_snapshot(const scratch_dir& dir) {
  datatree::tree t;
  fill(t, 3, 4, 7);
  return test::write_snapshot(t, dir.str(), 512);
}

TEST_CASE("every flipped bit of a snapshot is detected, at or before it") {
  scratch_dir dir;
  auto path = small_snapshot(dir);
  auto good = read_file(path);
  REQUIRE(load_snapshot(path).exit_code == 0);
  REQUIRE(good.size() > 1000);
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit : {0, 7}) {
      auto bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      write_file(path, bad);
      auto r = read_snapshot(path, {});
      INFO("byte " << i << " bit " << bit);
      REQUIRE(r.status == read_status::corrupt);
      // The offset is the damaged field or the start of what it belongs to.
      CHECK(r.offset <= i);
      CHECK(r.message.find(path) != std::string::npos);
      CHECK(r.message.find("at byte " + std::to_string(r.offset)) !=
            std::string::npos);
      // Recovery refuses it with exit code 3.
      CHECK(load_snapshot(path).exit_code == exit_corrupt);
    }
  }
}

TEST_CASE("a truncated or extended snapshot is corrupt") {
  scratch_dir dir;
  auto path = small_snapshot(dir);
  auto good = read_file(path);
  for (size_t n = 0; n < good.size(); n += 7) {
    write_file(path, good.substr(0, n));
    INFO("cut at " << n);
    CHECK(read_snapshot(path, {}).status == read_status::corrupt);
  }
  write_file(path, good.substr(0, good.size() - 1));
  CHECK(read_snapshot(path, {}).status == read_status::corrupt);
  write_file(path, good + std::string(1, '\0'));
  auto r = read_snapshot(path, {});
  CHECK(r.status == read_status::corrupt);
  CHECK(r.offset == good.size());
  write_file(path, good);
  CHECK(read_snapshot(path, {}).ok());
}

TEST_CASE("a block moved or repeated is caught by the file checksum") {
  scratch_dir dir;
  auto path = small_snapshot(dir);
  auto good = read_file(path);
  // Find the first two blocks and swap them: each keeps its own checksum.
  auto len_at = [&](size_t off) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
      v = (v << 8) | static_cast<unsigned char>(good[off + i]);
    return v;
  };
  size_t b1 = header_bytes;
  size_t b2 = b1 + block_header_bytes + len_at(b1);
  size_t b3 = b2 + block_header_bytes + len_at(b2);
  REQUIRE(b3 < good.size() - trailer_bytes);
  auto first = good.substr(b1, b2 - b1);
  auto second = good.substr(b2, b3 - b2);
  write_file(path, good.substr(0, b1) + second + first + good.substr(b3));
  auto r = read_snapshot(path, {});
  CHECK(r.status != read_status::ok);
  write_file(path, good.substr(0, b2) + second + good.substr(b2));
  CHECK(read_snapshot(path, {}).status != read_status::ok);
}

TEST_CASE("a reader callback can refuse a record; the offset is reported") {
  scratch_dir dir;
  auto path = small_snapshot(dir);
  snapshot_visitor v;
  uint64_t seen = 0;
  v.on_node = [&](uint64_t at,
                  const datatree::captured_node& n) -> std::string {
    if (n.path == "/p1/c2") {
      seen = at;
      return "not wanted";
    }
    return {};
  };
  auto r = read_snapshot(path, v);
  CHECK(r.status == read_status::refused);
  CHECK(r.offset == seen);
  CHECK(r.message.find("not wanted") != std::string::npos);
}

TEST_CASE("the writer leaves no snapshot behind when aborted") {
  scratch_dir dir;
  snapshot_header h;
  h.zxid = 5;
  {
    snapshot_writer w;
    REQUIRE_FALSE(w.open(dir.str(), h, write_options{false}));
    REQUIRE_FALSE(w.append_block("N"));
    w.abort();
  }
  CHECK(std::filesystem::is_empty(dir.str()));
  {
    snapshot_writer w;
    REQUIRE_FALSE(w.open(dir.str(), h, write_options{false}));
    // Destroyed unfinished.
  }
  CHECK(std::filesystem::is_empty(dir.str()));
  snapshot_writer w;
  CHECK(w.open(dir / "missing", h, write_options{false}).has_value());
}

} // namespace
} // namespace zkd::snapshotter

namespace zkd::snapshotter {
namespace {

// Not run by default (`unit_snapshotter "[.bench]"`): the figures of a
// snapshot of 1M znodes of 128 B, on a real disk with fsync.
TEST_CASE("benchmark: 1M znodes of 128 B", "[.bench]") {
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  auto cpu_ms = [] {
    return std::clock() * 1000 / CLOCKS_PER_SEC;
  };
  char tmpl[] = "/tmp/zkd-snapshot-bench-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl;
  datatree::tree t;
  datatree::stat_persisted s;
  REQUIRE(t.restore_node("/bench", std::string(), s, test::open_acl()));
  std::string data(128, 'v');
  char name[32];
  for (int i = 0; i < 1000000; ++i) {
    std::snprintf(name, sizeof(name), "/bench/k%07d", i);
    s.czxid = s.mzxid = s.pzxid = i + 1;
    REQUIRE(t.restore_node(name, data, s, test::open_acl()));
  }
  t.finish_restore(1000000);

  snapshot_encoder enc;
  auto c0 = cpu_ms();
  auto w0 = clock::now();
  t.capture_begin(enc);
  snapshot_header h;
  h.zxid = t.capture_zxid();
  h.digest = t.digest();
  std::vector<std::string> blocks;
  size_t steps = 0;
  bool done = false;
  while (!done) {
    done = t.capture_step(2048);
    ++steps;
    for (auto& b : enc.take_blocks(done))
      blocks.push_back(std::move(b));
  }
  auto capture_wall = ms(clock::now() - w0);
  auto capture_cpu = cpu_ms() - c0;
  w0 = clock::now();
  snapshot_writer w;
  REQUIRE_FALSE(w.open(dir, h, write_options{true}));
  for (auto& b : blocks)
    REQUIRE_FALSE(w.append_block(b));
  REQUIRE_FALSE(w.finish(enc.counts()));
  auto write_wall = ms(clock::now() - w0);
  blocks.clear();
  c0 = cpu_ms();
  w0 = clock::now();
  auto res = load_snapshot(w.path());
  auto load_wall = ms(clock::now() - w0);
  auto load_cpu = cpu_ms() - c0;
  REQUIRE(res.exit_code == 0);
  REQUIRE(res.t->node_count() == t.node_count());
  WARN("1M znodes x 128 B, file "
       << w.bytes_written() / 1000000 << " MB: "
       << "capture " << capture_wall << " ms wall / " << capture_cpu
       << " ms cpu in " << steps << " steps; write+fsync+rename " << write_wall
       << " ms; load " << load_wall << " ms wall / " << load_cpu
       << " ms cpu; tree " << t.memory_bytes() / 1000000 << " MB");
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace zkd::snapshotter
