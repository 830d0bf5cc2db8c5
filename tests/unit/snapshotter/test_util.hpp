// Shared by the snapshotter tests: a random but valid write workload (made by
// the real prep, applied to the real tree), tree comparison, scratch
// directories, and writing a capture to a file.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "actors/datatree/acl.hpp"
#include "actors/datatree/prep.hpp"
#include "actors/datatree/tree.hpp"
#include "actors/snapshotter/snapshot.hpp"
#include "messages/txn/txn.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/request.hpp"

namespace zkd::snapshotter::test {

namespace op = wire::op;

// A directory removed when the test ends.
class scratch_dir {
public:
  scratch_dir() {
    // In memory when possible: the damage tests rewrite a file thousands of
    // times, and nothing here depends on a real disk.
    std::string base =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string tmpl = base + "/zkd-snapshot-test-XXXXXX";
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

inline std::vector<wire::acl> open_acl() {
  return {wire::acl{wire::perm::all, wire::id{"world", "anyone"}}};
}

// What a znode is, for comparisons (stored stat, data with null kept
// apart from empty, ACL list).
using node_state = std::tuple<wire::opt_bytes, datatree::stat_persisted,
                              std::vector<wire::acl>>;

inline std::map<std::string, node_state> contents(const datatree::tree& t) {
  std::map<std::string, node_state> out;
  t.for_each([&](std::string_view path, const wire::opt_bytes& data,
                 const datatree::stat_persisted& s,
                 const std::vector<wire::acl>& acl) {
    out.emplace(std::string(path), node_state{data, s, acl});
  });
  return out;
}

// Every observable piece of two trees is equal: znodes (data, stat, ACL),
// sessions, ephemerals, containers, TTLs, quotas, counters, digest.
inline void require_same(const datatree::tree& a, const datatree::tree& b) {
  REQUIRE(a.node_count() == b.node_count());
  REQUIRE(a.digest() == b.digest());
  REQUIRE(a.approximate_data_size() == b.approximate_data_size());
  REQUIRE(a.sessions() == b.sessions());
  REQUIRE(a.ephemeral_count() == b.ephemeral_count());
  REQUIRE(a.containers() == b.containers());
  REQUIRE(a.ttls() == b.ttls());
  REQUIRE(a.quotas() == b.quotas());
  for (auto& [id, timeout] : a.sessions())
    REQUIRE(a.ephemerals_of(id) == b.ephemerals_of(id));
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
}

// Random valid writes through prep, applied at once; every txn is kept.
class workload {
public:
  explicit workload(uint64_t seed, datatree::tree& t)
      : rng_(seed), t_(t), p_(t, options()) {}

  static datatree::prep_options options() {
    datatree::prep_options o;
    o.extended_types = true; // TTL nodes too
    return o;
  }

  std::vector<txn::record> log; // every txn applied, in zxid order
  int64_t next_zxid = (int64_t{1} << 32) + 1;
  int64_t time_ms = 1'600'000'000'000;

  // Applies a prepared txn; false if prep refused it.
  bool apply(datatree::prep_result r) {
    if (!r.ok())
      return false;
    REQUIRE(r.txn);
    // Through the log's codec, as recovery sees it.
    txn::record back;
    REQUIRE(txn::decode(txn::encode(*r.txn), back));
    t_.apply(back);
    p_.applied(back.hdr.zxid);
    log.push_back(std::move(back));
    ++next_zxid;
    ++time_ms;
    return true;
  }

  bool request(int64_t session, wire::request rq) {
    return apply(
        p_.prepare(session, 1, rq, next_zxid, time_ms, datatree::superuser()));
  }

  bool open_session(int64_t id, int32_t timeout = 30000) {
    return apply(p_.create_session(id, timeout, next_zxid, time_ms));
  }

  bool close_session(int64_t id) {
    return apply(p_.close_session(id, 0, next_zxid, time_ms));
  }

  wire::opt_bytes random_data() {
    auto k = pick(10);
    if (k == 0)
      return std::nullopt;
    if (k == 1)
      return std::string();
    std::string d(pick(k == 2 ? 3000 : 200), '\0');
    for (auto& c : d)
      c = static_cast<char>(pick(256));
    return d;
  }

  std::vector<wire::acl> random_acl() {
    switch (pick(4)) {
    case 0:
      return {wire::acl{wire::perm::read, wire::id{"world", "anyone"}}};
    case 1:
      return {wire::acl{
                  wire::perm::all,
                  wire::id{"digest", "u" + std::to_string(pick(3)) + ":hash="}},
              wire::acl{wire::perm::read, wire::id{"world", "anyone"}}};
    case 2:
      return {wire::acl{wire::perm::all, wire::id{"ip", "10.0.0.1"}}};
    default:
      return open_acl();
    }
  }

  // A random existing znode outside /zookeeper ("/" included).
  std::string random_node() {
    std::vector<std::string> paths;
    t_.for_each([&](std::string_view p, auto&, auto&, auto&) {
      if (p != "/zookeeper" && p.substr(0, 11) != "/zookeeper/")
        paths.emplace_back(p);
    });
    return paths[pick(paths.size())];
  }

  std::string child_of(const std::string& parent) {
    return (parent == "/" ? "" : parent) + "/c" + std::to_string(pick(40));
  }

  wire::request create_rq(std::string path, int32_t flags) {
    wire::request rq;
    rq.hdr.type = pick(2) ? op::create : op::create2;
    if (flags == int32_t(wire::create_mode::container))
      rq.hdr.type = op::create_container;
    if (flags == int32_t(wire::create_mode::persistent_with_ttl)) {
      rq.hdr.type = op::create_ttl;
      rq.body =
          wire::create_ttl_request{std::move(path), random_data(), random_acl(),
                                   flags, int64_t(1 + pick(100000))};
      return rq;
    }
    rq.body = wire::create_request{std::move(path), random_data(), random_acl(),
                                   flags};
    return rq;
  }

  // One random write; returns whether a txn was applied.
  bool step(const std::vector<int64_t>& sessions) {
    auto k = pick(100);
    if (k < 35) {
      auto parent = random_node();
      int32_t flags = 0;
      auto f = pick(10);
      if (f < 2 && !sessions.empty())
        flags = int32_t(wire::create_mode::ephemeral);
      else if (f == 2)
        flags = int32_t(wire::create_mode::persistent_sequential);
      else if (f == 3)
        flags = int32_t(wire::create_mode::container);
      else if (f == 4)
        flags = int32_t(wire::create_mode::persistent_with_ttl);
      int64_t owner = sessions.empty() ? 0 : sessions[pick(sessions.size())];
      return request(owner, create_rq(child_of(parent), flags));
    }
    if (k < 55) {
      wire::request rq;
      rq.hdr.type = op::remove;
      rq.body = wire::delete_request{random_node(), -1};
      return request(0, rq);
    }
    if (k < 80) {
      wire::request rq;
      rq.hdr.type = op::set_data;
      rq.body = wire::set_data_request{random_node(), random_data(), -1};
      return request(0, rq);
    }
    if (k < 88) {
      wire::request rq;
      rq.hdr.type = op::set_acl;
      rq.body = wire::set_acl_request{random_node(), random_acl(), -1};
      return request(0, rq);
    }
    // A multi: a create and a setData or delete, which may fail as a whole.
    wire::request rq;
    rq.hdr.type = op::multi;
    wire::multi_request m;
    auto parent = random_node();
    wire::multi_op a;
    a.type = op::create;
    a.body =
        wire::create_request{child_of(parent), random_data(), open_acl(), 0};
    m.ops.push_back(a);
    wire::multi_op b;
    if (pick(2)) {
      b.type = op::set_data;
      b.body = wire::set_data_request{random_node(), random_data(), -1};
    } else {
      b.type = op::remove;
      b.body = wire::delete_request{random_node(), -1};
    }
    m.ops.push_back(b);
    rq.body = std::move(m);
    return request(0, rq);
  }

  size_t pick(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }

  std::mt19937_64& rng() { return rng_; }

private:
  std::mt19937_64 rng_;
  datatree::tree& t_;
  datatree::prep p_;
};

// Runs a whole capture of `t` (no writes in between) into a snapshot file in
// `dir`; returns its path.
inline std::string write_snapshot(const datatree::tree& t,
                                  const std::string& dir,
                                  size_t block_bytes = 64 * 1024) {
  snapshot_encoder enc(block_bytes);
  auto sessions = t.sessions();
  t.capture_begin(enc);
  snapshot_header h;
  h.zxid = t.capture_zxid();
  h.digest = t.digest();
  h.time_ms = 1234;
  snapshot_writer w;
  REQUIRE_FALSE(w.open(dir, h, write_options{false}));
  bool done = false;
  while (!done) {
    done = t.capture_step(1000);
    if (done)
      for (auto& [id, timeout] : sessions)
        enc.session(id, timeout);
    for (auto& b : enc.take_blocks(done))
      REQUIRE_FALSE(w.append_block(b));
  }
  REQUIRE_FALSE(w.finish(enc.counts()));
  return w.path();
}

} // namespace zkd::snapshotter::test
