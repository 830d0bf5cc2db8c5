// A leader's datatree in miniature for tests: prep + tree, with txns either
// applied at once or held in flight, and every invariant checked after each
// step.
#pragma once

#include <catch2/catch.hpp>

#include <deque>
#include <string>
#include <vector>

#include "actors/datatree/prep.hpp"
#include "actors/datatree/tree.hpp"
#include "messages/txn/txn.hpp"
#include "messages/wire/jute.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/records.hpp"
#include "messages/wire/request.hpp"

namespace zkd::datatree::test {

namespace op = wire::op;

inline const std::vector<wire::acl>& open_acl() {
  static const std::vector<wire::acl> a{
      wire::acl{wire::perm::all, wire::id{"world", "anyone"}}};
  return a;
}

inline wire::request create_rq(std::string path, wire::opt_bytes data = "",
                               int32_t flags = 0, int32_t type = op::create,
                               std::vector<wire::acl> acl = open_acl()) {
  wire::request rq;
  rq.hdr.type = type;
  rq.body = wire::create_request{std::move(path), std::move(data),
                                 std::move(acl), flags};
  return rq;
}

inline wire::request delete_rq(std::string path, int32_t version = -1) {
  wire::request rq;
  rq.hdr.type = op::remove;
  rq.body = wire::delete_request{std::move(path), version};
  return rq;
}

inline wire::request set_rq(std::string path, wire::opt_bytes data,
                            int32_t version = -1) {
  wire::request rq;
  rq.hdr.type = op::set_data;
  rq.body = wire::set_data_request{std::move(path), std::move(data), version};
  return rq;
}

inline wire::request set_acl_rq(std::string path, std::vector<wire::acl> acl,
                                int32_t version = -1) {
  wire::request rq;
  rq.hdr.type = op::set_acl;
  rq.body = wire::set_acl_request{std::move(path), std::move(acl), version};
  return rq;
}

inline wire::request check_rq(std::string path, int32_t version) {
  wire::request rq;
  rq.hdr.type = op::check;
  rq.body = wire::check_version_request{std::move(path), version};
  return rq;
}

inline wire::multi_op mop(int32_t type, const wire::request& rq) {
  wire::multi_op o;
  o.type = type;
  std::visit(
      [&](auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, wire::create_request> ||
                      std::is_same_v<T, wire::create_ttl_request> ||
                      std::is_same_v<T, wire::delete_request> ||
                      std::is_same_v<T, wire::set_data_request> ||
                      std::is_same_v<T, wire::check_version_request>)
          o.body = b;
      },
      rq.body);
  return o;
}

inline wire::request multi_rq(std::vector<wire::multi_op> ops) {
  wire::request rq;
  rq.hdr.type = op::multi;
  rq.body = wire::multi_request{std::move(ops)};
  return rq;
}

// A decoded reply frame: its header and a reader positioned at the body.
struct decoded {
  wire::reply_header hdr;
  std::string bytes; // the frame without its length prefix
  size_t body_at = 0;

  wire::reader body() const {
    return wire::reader{std::string_view{bytes}.substr(body_at)};
  }
};

inline decoded decode(const std::vector<char>& frame) {
  decoded d;
  wire::reader r{frame.data(), frame.size()};
  int32_t len = 0;
  REQUIRE(r.read_int(len));
  REQUIRE(static_cast<size_t>(len) == frame.size() - 4);
  d.bytes.assign(frame.data() + 4, frame.size() - 4);
  wire::reader h{d.bytes};
  REQUIRE(wire::read(h, d.hdr));
  d.body_at = d.bytes.size() - h.remaining();
  return d;
}

template <class T>
T body_of(const decoded& d) {
  T x;
  auto r = d.body();
  REQUIRE(wire::read(r, x));
  return x;
}

struct harness {
  tree t;
  prep p{t};
  int64_t next_zxid = 1;
  int64_t time_ms = 1000;
  std::deque<txn::record> inflight;
  std::vector<txn::record> log; // every txn prepared, in order

  void check() {
    t.check_invariants();
    p.check_invariants();
  }

  // Prepares a request; on success the txn is held in flight.
  prep_result submit(int64_t session, const wire::request& rq,
                     const auth_ids& who = {}) {
    auto r = p.prepare(session, static_cast<int32_t>(next_zxid), rq, next_zxid,
                       time_ms, who);
    if (r.ok()) {
      REQUIRE(r.txn);
      REQUIRE(txn::well_formed(*r.txn));
      // What prep produced survives the log's encoding.
      txn::record back;
      REQUIRE(txn::decode(txn::encode(*r.txn), back));
      REQUIRE(back == *r.txn);
      inflight.push_back(*r.txn);
      log.push_back(*r.txn);
      ++next_zxid;
      ++time_ms;
    } else {
      REQUIRE_FALSE(r.txn);
    }
    check();
    return r;
  }

  prep_result submit(prep_result r) {
    if (r.ok()) {
      inflight.push_back(*r.txn);
      log.push_back(*r.txn);
      ++next_zxid;
      ++time_ms;
    }
    check();
    return r;
  }

  // Applies every txn in flight; returns the last result.
  apply_result commit_all() {
    apply_result last;
    while (!inflight.empty()) {
      auto r = std::move(inflight.front());
      inflight.pop_front();
      last = t.apply(r);
      p.applied(r.hdr.zxid);
      check();
    }
    return last;
  }

  // Prepares and applies one request. The error is prep's if it refused,
  // else the apply's.
  apply_result run(int64_t session, const wire::request& rq,
                   const auth_ids& who = {}) {
    REQUIRE(inflight.empty());
    auto r = submit(session, rq, who);
    if (!r.ok()) {
      apply_result a;
      a.err = r.err;
      return a;
    }
    return commit_all();
  }

  apply_result open_session(int64_t session, int32_t timeout_ms = 30000) {
    REQUIRE(inflight.empty());
    submit(p.create_session(session, timeout_ms, next_zxid, time_ms));
    return commit_all();
  }

  apply_result close_session(int64_t session) {
    REQUIRE(inflight.empty());
    submit(p.close_session(session, 0, next_zxid, time_ms));
    return commit_all();
  }

  wire::stat stat(const std::string& path) {
    auto r = t.exists(path);
    REQUIRE(r.err == wire::err::ok);
    return r.stat;
  }
};

} // namespace zkd::datatree::test
