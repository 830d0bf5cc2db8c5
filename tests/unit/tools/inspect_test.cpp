// zkd inspect log / snapshot: what they print and how they report damage.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "actors/datatree/tree.hpp"
#include "actors/snapshotter/snapshot.hpp"
#include "actors/txn_log/txn_log.hpp"
#include "bin/tools/inspect.hpp"
#include "messages/txn/txn.hpp"
#include "messages/wire/protocol.hpp"

namespace zkd::tools {
namespace {

namespace fs = std::filesystem;
namespace op = wire::op;

struct scratch {
  std::string path;
  scratch() {
    char tmpl[] = "/tmp/zkd-inspect-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct run_result {
  int code;
  std::string out;
  std::string err;
};

run_result run(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = inspect(args, out, err);
  return {code, out.str(), err.str()};
}

size_t lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

txn::record rec(int64_t zxid, int32_t type, txn::body b, int64_t session = 7) {
  txn::record r;
  r.hdr.session_id = session;
  r.hdr.cxid = static_cast<int32_t>(zxid & 0xff);
  r.hdr.zxid = zxid;
  r.hdr.time_ms = 1'700'000'000'000 + (zxid & 0xff);
  r.hdr.type = type;
  r.b = std::move(b);
  return r;
}

std::vector<wire::acl> open_acl() {
  return {wire::acl{wire::perm::all, wire::id{"world", "anyone"}}};
}

// Six txns of different kinds, in two segments.
std::vector<txn::record> sample_log(const std::string& dir) {
  const int64_t e = int64_t{1} << 32;
  std::vector<txn::record> rs;
  rs.push_back(rec(e + 1, op::create_session, txn::create_session{30000}));
  rs.push_back(
      rec(e + 2, op::create,
          txn::create{"/app", std::string("hello"), open_acl(), false, 1}));
  rs.push_back(rec(
      e + 3, op::create2,
      txn::create{"/app/eph \"quoted\"", std::nullopt, open_acl(), true, 1}));
  rs.push_back(rec(e + 4, op::set_data,
                   txn::set_data{"/app", std::string(300, 'x'), 1}));
  txn::multi m;
  m.ops.push_back(txn::multi_op{
      op::create, txn::create{"/app/m", std::string(), open_acl(), false, 2}});
  m.ops.push_back(txn::multi_op{op::remove, txn::remove{"/app/m"}});
  rs.push_back(rec(e + 5, op::multi, m));
  rs.push_back(rec(e + 6, op::close_session,
                   txn::close_session{{"/app/eph \"quoted\""}}));
  txn_log::log_writer w;
  txn_log::writer_options o;
  o.fsync = false;
  o.preallocate = txn_log::prealloc::none;
  o.segment_bytes = 300;
  REQUIRE_FALSE(w.open(dir, o));
  for (auto& r : rs) {
    REQUIRE_FALSE(w.append(r.hdr.zxid, txn::encode(r)));
    REQUIRE_FALSE(w.sync());
  }
  return rs;
}

std::vector<std::string> segments(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& s : txn_log::list_segments(dir))
    out.push_back(s.path);
  return out;
}

TEST_CASE("inspect log prints every record readably, with its key fields") {
  scratch d;
  sample_log(d.path);
  REQUIRE(segments(d.path).size() >= 2);
  auto r = run({"log", d.path});
  INFO(r.out << r.err);
  CHECK(r.code == inspect_ok);
  CHECK(r.err.empty());
  CHECK(lines(r.out) == 7); // six records and the summary
  CHECK(r.out.find("zxid 0x100000001 session 0x7 cxid 0x1 createSession "
                   "timeout_ms=30000") != std::string::npos);
  CHECK(r.out.find("create path=/app data_length=5 acl=[world:anyone:cdrwa] "
                   "ephemeral=false parent_cversion=1") != std::string::npos);
  CHECK(r.out.find("create2 path=/app/eph \"quoted\" data_length=null") !=
        std::string::npos);
  CHECK(r.out.find("setData path=/app data_length=300 version=1") !=
        std::string::npos);
  CHECK(r.out.find("multi ops=[create path=/app/m") != std::string::npos);
  CHECK(r.out.find("; delete path=/app/m]") != std::string::npos);
  CHECK(r.out.find("2023-11-14 22:13:20.") != std::string::npos);
  CHECK(r.out.find("6 records, zxid 0x100000001 to 0x100000006: verified") !=
        std::string::npos);
}

TEST_CASE("inspect log --json prints one object per record and a summary") {
  scratch d;
  sample_log(d.path);
  auto r = run({"log", "--json", d.path});
  CHECK(r.code == inspect_ok);
  CHECK(lines(r.out) == 7);
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    CHECK(line.front() == '{');
    CHECK(line.back() == '}');
  }
  CHECK(r.out.find("\"zxid\":\"0x100000003\"") != std::string::npos);
  CHECK(r.out.find("\"path\":\"/app/eph \\\"quoted\\\"\"") !=
        std::string::npos);
  CHECK(r.out.find("\"data_length\":null") != std::string::npos);
  CHECK(r.out.find("\"ops\":[{\"type\":\"create\"") != std::string::npos);
  CHECK(r.out.find("\"status\":\"verified\"") != std::string::npos);
}

TEST_CASE("inspect log of one segment file") {
  scratch d;
  sample_log(d.path);
  auto segs = segments(d.path);
  auto r = run({"log", segs[1]});
  CHECK(r.code == inspect_ok);
  CHECK(r.out.find("zxid 0x100000001") == std::string::npos);
  CHECK(r.out.find(": verified") != std::string::npos);
  // A copy under another name takes its first zxid from its header.
  auto copy = d.path + "/renamed";
  fs::copy_file(segs[1], copy);
  CHECK(run({"log", copy}).code == inspect_ok);
}

TEST_CASE("inspect log reports the first bad record with file and offset") {
  scratch d;
  sample_log(d.path);
  auto segs = segments(d.path);
  {
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  auto r = run({"log", d.path});
  CHECK(r.code == inspect_corrupt);
  CHECK(r.err.find(segs[0] + " at byte 16") != std::string::npos);
  auto j = run({"log", d.path, "--json"});
  CHECK(j.code == inspect_corrupt);
  CHECK(j.out.find("\"file\":\"" + segs[0] + "\",\"offset\":16") !=
        std::string::npos);
  CHECK(j.out.find("\"status\":\"corrupt\"") != std::string::npos);
}

TEST_CASE("inspect log: a torn tail exits 1") {
  scratch d;
  sample_log(d.path);
  auto segs = segments(d.path);
  auto size = fs::file_size(segs.back());
  {
    std::ofstream f(segs.back(), std::ios::app | std::ios::binary);
    f << "\x20";
  }
  auto r = run({"log", d.path});
  CHECK(r.code == inspect_torn);
  CHECK(r.err.find(segs.back() + " at byte " + std::to_string(size)) !=
        std::string::npos);
}

std::string sample_snapshot(const std::string& dir) {
  datatree::tree t;
  datatree::stat_persisted s;
  s.czxid = s.mzxid = s.pzxid = 0x100000002;
  s.ctime = s.mtime = 1'700'000'000'000;
  REQUIRE(t.restore_node("/app", std::string("hello"), s, open_acl()));
  s.ephemeral_owner = 0x55;
  REQUIRE(t.restore_node(
      "/app/e", std::nullopt, s,
      {wire::acl{wire::perm::read, wire::id{"digest", "u:h="}}}));
  t.restore_session(0x55, 6000);
  t.restore_session(0x56, 7000);
  t.finish_restore(0x100000009);
  snapshotter::snapshot_encoder enc;
  auto sessions = t.sessions();
  t.capture_begin(enc);
  snapshotter::snapshot_header h;
  h.zxid = t.capture_zxid();
  h.digest = t.digest();
  while (!t.capture_step(100)) {
  }
  for (auto& [id, to] : sessions)
    enc.session(id, to);
  snapshotter::snapshot_writer w;
  REQUIRE_FALSE(w.open(dir, h, snapshotter::write_options{false}));
  for (auto& b : enc.take_blocks(true))
    REQUIRE_FALSE(w.append_block(b));
  REQUIRE_FALSE(w.finish(enc.counts()));
  return w.path();
}

TEST_CASE("inspect snapshot prints the tree and the sessions") {
  scratch d;
  auto path = sample_snapshot(d.path);
  auto r = run({"snapshot", path});
  INFO(r.out << r.err);
  CHECK(r.code == inspect_ok);
  CHECK(r.out.find("zxid 0x100000009") != std::string::npos);
  CHECK(r.out.find("----\n/app\n  cZxid = 0x100000002\n") != std::string::npos);
  CHECK(r.out.find("  dataLength = 5\n") != std::string::npos);
  CHECK(r.out.find("  dataLength = null\n") != std::string::npos);
  CHECK(r.out.find("  acl = [digest:u:h=:r]") != std::string::npos);
  CHECK(r.out.find("Session Details (sid, timeout, ephemeralCount):\n"
                   "0x55, 6000, 1\n0x56, 7000, 0\n") != std::string::npos);
  CHECK(r.out.find("6 znodes, 2 sessions") != std::string::npos);

  auto j = run({"snapshot", "--json", path});
  CHECK(j.code == inspect_ok);
  CHECK(lines(j.out) == 1 + 6 + 2 + 1);
  CHECK(j.out.find("{\"type\":\"node\",\"path\":\"/app/e\"") !=
        std::string::npos);
  CHECK(j.out.find("\"ephemeral_owner\":\"0x55\"") != std::string::npos);
  CHECK(j.out.find("{\"type\":\"session\",\"id\":\"0x55\",\"timeout_ms\":6000,"
                   "\"ephemerals\":1") != std::string::npos);
}

TEST_CASE("inspect snapshot: damage exits 3 naming file and offset") {
  scratch d;
  auto path = sample_snapshot(d.path);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(60);
    f.put('\x01');
  }
  auto r = run({"snapshot", path});
  CHECK(r.code == inspect_corrupt);
  CHECK(r.err.find(path + " at byte 40") != std::string::npos);
  CHECK(r.out.find(": corrupt") != std::string::npos);
}

TEST_CASE("inspect usage errors exit 2") {
  CHECK(run({}).code == inspect_usage);
  CHECK(run({"log"}).code == inspect_usage);
  CHECK(run({"frob", "x"}).code == inspect_usage);
  CHECK(run({"log", "/nonexistent/zkd"}).code == inspect_usage);
  CHECK(run({"snapshot", "/nonexistent/zkd"}).code == inspect_usage);
  CHECK(run({"--help"}).code == inspect_ok);
}

} // namespace
} // namespace zkd::tools
