// Shared by zk_format_test.cpp and import_test.cpp: a ZooKeeper history made
// by the real prep and tree (what a ZooKeeper server would have logged), and
// writing it out as ZooKeeper's snapshot and log files.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "actors/datatree/acl.hpp"
#include "actors/datatree/prep.hpp"
#include "actors/datatree/tree.hpp"
#include "bin/tools/zk_format.hpp"
#include "messages/txn/txn.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/request.hpp"
#include "tests/unit/snapshotter/test_util.hpp"

namespace zkd::tools::zk::test {

namespace op = wire::op;

// A directory removed when the test ends.
class scratch_dir {
public:
  scratch_dir() {
    std::string tmpl = "/tmp/zkd-zk-format-test-XXXXXX";
    auto p = ::mkdtemp(tmpl.data());
    REQUIRE(p != nullptr);
    path_ = p;
  }
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& str() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  REQUIRE(out);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string hex_name(const std::string& prefix, int64_t zxid) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%s.%llx", prefix.c_str(),
                static_cast<unsigned long long>(zxid));
  return buf;
}

// A log file as ZooKeeper writes it: header, entries, zero padding.
inline std::string log_bytes(const std::vector<txn::record>& recs,
                             size_t padding = 512) {
  auto out = encode_file_header(file_header{log_magic, file_version, -1});
  for (auto& r : recs)
    out += encode_log_entry(txn::encode(r));
  out.append(padding, '\0');
  return out;
}

// Byte offset of entry `i` in log_bytes(recs).
inline size_t entry_offset(const std::vector<txn::record>& recs, size_t i) {
  size_t off = file_header_bytes;
  for (size_t k = 0; k < i; ++k)
    off += 13 + txn::encode(recs[k]).size();
  return off;
}

// The same notion of a znode's state as the snapshot tests.
using snapshotter::test::contents;
using snapshotter::test::node_state;
using snapshotter::test::open_acl;

// Everything a client or a snapshot can see of two trees is equal.
inline void require_same(const datatree::tree& a, const datatree::tree& b) {
  auto ca = contents(a);
  auto cb = contents(b);
  REQUIRE(ca.size() == cb.size());
  for (auto ia = ca.begin(), ib = cb.begin(); ia != ca.end(); ++ia, ++ib) {
    INFO("znode " << ia->first);
    REQUIRE(ia->first == ib->first);
    REQUIRE(std::get<0>(ia->second) == std::get<0>(ib->second));
    REQUIRE(std::get<1>(ia->second) == std::get<1>(ib->second));
    REQUIRE(std::get<2>(ia->second) == std::get<2>(ib->second));
  }
  REQUIRE(a.sessions() == b.sessions());
  for (auto& [id, timeout] : a.sessions())
    REQUIRE(a.ephemerals_of(id) == b.ephemerals_of(id));
  REQUIRE(a.containers() == b.containers());
  REQUIRE(a.ttls() == b.ttls());
  REQUIRE(a.quotas() == b.quotas());
  REQUIRE(a.node_count() == b.node_count());
  REQUIRE(a.digest() == b.digest());
}

// A server's history: every txn made by prep and applied to `live`, kept
// with the digest ZooKeeper would log after it.
class history {
public:
  explicit history(uint64_t seed = 1) : rng_(seed), p_(live, options()) {}

  static datatree::prep_options options() {
    datatree::prep_options o;
    o.extended_types = true;
    return o;
  }

  datatree::tree live;
  std::vector<txn::record> log;
  int64_t next_zxid = (int64_t{1} << 32) + 1;
  int64_t time_ms = 1'700'000'000'000;

  // Later txns in the next epoch (a new leader), starting at counter 1.
  void new_epoch() {
    next_zxid = ((next_zxid >> 32) + 1) << 32 | 1;
    p_.reset();
  }

  bool apply(datatree::prep_result r) {
    if (!r.ok())
      return false;
    REQUIRE(r.txn);
    push(*r.txn);
    return true;
  }

  // A txn made by hand (e.g. the ErrorTxn ZooKeeper logs for a failed
  // request); its zxid is set here.
  void push(txn::record r) {
    r.hdr.zxid = next_zxid;
    live.apply(r);
    p_.applied(r.hdr.zxid);
    r.dig = txn::digest{2, live.digest()};
    log.push_back(std::move(r));
    ++next_zxid;
    ++time_ms;
  }

  void failed_request(int64_t session, wire::err e) {
    txn::record r;
    r.hdr = txn::header{session, 7, 0, time_ms, op::error};
    r.b = txn::error{static_cast<int32_t>(e)};
    push(std::move(r));
  }

  bool request(int64_t session, wire::request rq) {
    return apply(
        p_.prepare(session, 1, rq, next_zxid, time_ms, datatree::superuser()));
  }

  bool create(const std::string& path, wire::opt_bytes data, int32_t flags = 0,
              int64_t session = 0, std::vector<wire::acl> acl = open_acl()) {
    wire::request rq;
    rq.hdr.type = op::create2;
    if (flags == int32_t(wire::create_mode::container))
      rq.hdr.type = op::create_container;
    rq.body =
        wire::create_request{path, std::move(data), std::move(acl), flags};
    return request(session, rq);
  }

  bool create_ttl(const std::string& path, int64_t ttl_ms) {
    wire::request rq;
    rq.hdr.type = op::create_ttl;
    rq.body = wire::create_ttl_request{
        path, std::string("ttl"), open_acl(),
        int32_t(wire::create_mode::persistent_with_ttl), ttl_ms};
    return request(0, rq);
  }

  bool set_data(const std::string& path, wire::opt_bytes data) {
    wire::request rq;
    rq.hdr.type = op::set_data;
    rq.body = wire::set_data_request{path, std::move(data), -1};
    return request(0, rq);
  }

  bool set_acl(const std::string& path, std::vector<wire::acl> acl) {
    wire::request rq;
    rq.hdr.type = op::set_acl;
    rq.body = wire::set_acl_request{path, std::move(acl), -1};
    return request(0, rq);
  }

  bool remove(const std::string& path) {
    wire::request rq;
    rq.hdr.type = op::remove;
    rq.body = wire::delete_request{path, -1};
    return request(0, rq);
  }

  bool open_session(int64_t id, int32_t timeout = 30000) {
    return apply(p_.create_session(id, timeout, next_zxid, time_ms));
  }

  bool close_session(int64_t id) {
    return apply(p_.close_session(id, 0, next_zxid, time_ms));
  }

  // A fixed history touching every kind of txn.
  void basic() {
    REQUIRE(open_session(0x100));
    REQUIRE(open_session(0x200, 4000));
    REQUIRE(create("/a", std::string("hello")));
    REQUIRE(create("/a/b", std::nullopt));
    REQUIRE(create("/a/empty", std::string()));
    REQUIRE(create("/a/seq-", std::string("s"),
                   int32_t(wire::create_mode::persistent_sequential)));
    REQUIRE(create("/a/eph", std::string("e"),
                   int32_t(wire::create_mode::ephemeral), 0x100));
    REQUIRE(create("/gone", std::string("x"),
                   int32_t(wire::create_mode::ephemeral), 0x200));
    REQUIRE(create("/c", std::string(), int32_t(wire::create_mode::container)));
    REQUIRE(create("/c/child", std::string("in container")));
    REQUIRE(create_ttl("/t", 3600 * 1000));
    REQUIRE(
        create("/secret", std::string("s3"), 0, 0,
               {wire::acl{wire::perm::all, wire::id{"digest", "u1:aGFzaA=="}},
                wire::acl{wire::perm::read, wire::id{"world", "anyone"}}}));
    REQUIRE(set_data("/a", std::string("hello again")));
    REQUIRE(set_data("/a", std::string("third")));
    REQUIRE(set_acl(
        "/a/b", {wire::acl{wire::perm::read, wire::id{"world", "anyone"}}}));
    failed_request(0x100, wire::err::node_exists);
    REQUIRE(close_session(0x200));
    new_epoch();
    REQUIRE(create("/a/x", std::string(2000, 'z')));
    REQUIRE(remove("/a/empty"));
    wire::request rq;
    rq.hdr.type = op::multi;
    wire::multi_request m;
    wire::multi_op o1;
    o1.type = op::create;
    o1.body = wire::create_request{"/m", std::string("multi"), open_acl(), 0};
    wire::multi_op o2;
    o2.type = op::set_data;
    o2.body = wire::set_data_request{"/a/x", std::string("set in multi"), -1};
    m.ops = {o1, o2};
    rq.body = m;
    REQUIRE(request(0, rq));
  }

  // `n` random writes (some fail in prep and log nothing).
  void random(size_t n) {
    std::vector<int64_t> sessions;
    for (size_t i = 0; i < n; ++i) {
      auto k = pick(100);
      if (k < 4 || sessions.empty()) {
        int64_t id = 0x1000 + static_cast<int64_t>(log.size());
        if (open_session(id))
          sessions.push_back(id);
      } else if (k < 6) {
        auto j = pick(sessions.size());
        close_session(sessions[j]);
        sessions.erase(sessions.begin() + static_cast<long>(j));
      } else if (k < 45) {
        auto parent = random_node();
        auto path =
            (parent == "/" ? "" : parent) + "/n" + std::to_string(pick(30));
        int32_t flags = 0;
        auto f = pick(10);
        if (f < 2)
          flags = int32_t(wire::create_mode::ephemeral);
        else if (f == 2)
          flags = int32_t(wire::create_mode::persistent_sequential);
        else if (f == 3)
          flags = int32_t(wire::create_mode::container);
        if (f == 4)
          create_ttl(path, 1 + static_cast<int64_t>(pick(100000)));
        else
          create(path, random_data(), flags,
                 flags == int32_t(wire::create_mode::ephemeral)
                     ? sessions[pick(sessions.size())]
                     : 0,
                 pick(3) == 0 ? std::vector<wire::acl>{wire::acl{
                                    wire::perm::read | wire::perm::admin,
                                    wire::id{"digest", "u:h="}}}
                              : open_acl());
      } else if (k < 65) {
        remove(random_node());
      } else if (k < 90) {
        set_data(random_node(), random_data());
      } else if (k < 95) {
        set_acl(random_node(),
                pick(2) ? open_acl()
                        : std::vector<wire::acl>{wire::acl{
                              wire::perm::all, wire::id{"ip", "10.0.0.1"}}});
      } else {
        failed_request(0, wire::err::no_node);
      }
    }
  }

  std::string random_node() {
    std::vector<std::string> paths;
    live.for_each([&](std::string_view p, auto&, auto&, auto&) {
      if (p.substr(0, 10) != "/zookeeper")
        paths.emplace_back(p);
    });
    return paths[pick(paths.size())];
  }

  wire::opt_bytes random_data() {
    auto k = pick(8);
    if (k == 0)
      return std::nullopt;
    if (k == 1)
      return std::string();
    std::string d(pick(100), '\0');
    for (auto& c : d)
      c = static_cast<char>(pick(256));
    return d;
  }

  size_t pick(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }

private:
  std::mt19937_64 rng_;
  datatree::prep p_;
};

// Txns of `h.log` with zxids in (after, upto].
inline std::vector<txn::record> txns_between(const history& h, int64_t after,
                                             int64_t upto) {
  std::vector<txn::record> out;
  for (auto& r : h.log)
    if (r.hdr.zxid > after && r.hdr.zxid <= upto)
      out.push_back(r);
  return out;
}

// A snapshot taken the way ZooKeeper takes one (DataTree.serializeNode)
// while txns keep being applied: the tree is at `named` when the walk
// begins; before each node is visited, 0 to 2 more txns of `h.log` are
// applied; a node is written as it is when the walk reaches it, with the
// children it has then, and a node deleted before the walk reaches it is
// skipped with its subtree. The digest is the one of the last txn applied
// when the walk ends. Returns the image; `walked_to` is that zxid.
inline snapshot_image fuzzy_image(const history& h, int64_t named,
                                  uint64_t seed, int64_t& walked_to) {
  datatree::tree t;
  size_t next = 0;
  while (next < h.log.size() && h.log[next].hdr.zxid <= named)
    t.apply(h.log[next++]);
  std::mt19937_64 rng(seed);
  snapshot_image img;
  img.sessions.assign(t.sessions().begin(), t.sessions().end());
  std::map<std::string, int64_t> refs; // flattened ACL list -> reference
  auto& who = datatree::superuser();
  std::function<void(const std::string&)> visit = [&](const std::string& path) {
    for (auto k = rng() % 3; k > 0 && next < h.log.size(); --k)
      t.apply(h.log[next++]);
    auto d = t.get_data(path, who);
    if (d.err != wire::err::ok)
      return;
    auto v = t.lookup(path);
    REQUIRE(v);
    std::string key;
    for (auto& a : *v->acl)
      key += std::to_string(a.perms) + '\0' + a.id.scheme + '\0' + a.id.ident +
             '\0';
    auto [it, fresh] =
        refs.emplace(std::move(key), static_cast<int64_t>(refs.size() + 1));
    if (fresh)
      img.acls.emplace_back(it->second, *v->acl);
    img.nodes.push_back(image_node{path == "/" ? std::string() : path, d.data,
                                   it->second, v->stat});
    for (auto& c : t.get_children(path, who).children)
      visit((path == "/" ? "" : path) + "/" + c);
  };
  visit("/");
  walked_to = t.last_zxid();
  img.digest = zxid_digest{t.last_zxid(), 2, t.digest()};
  return img;
}

// The snapshot file ZooKeeper would have written of a fresh server
// (snapshot.0, taken at its first start).
inline std::string fresh_snapshot() {
  datatree::tree t;
  return encode_snapshot(image_of(t));
}

} // namespace zkd::tools::zk::test
