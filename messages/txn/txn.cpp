#include "messages/txn/txn.hpp"

#include <cstdio>
#include <cstdlib>
#include <tuple>

#include "messages/wire/jute.hpp"
#include "messages/wire/protocol.hpp"

namespace zkd::txn {

bool header::operator==(const header& o) const {
  return std::tie(session_id, cxid, zxid, time_ms, type) ==
         std::tie(o.session_id, o.cxid, o.zxid, o.time_ms, o.type);
}

bool create::operator==(const create& o) const {
  return std::tie(path, data, acl, ephemeral, parent_cversion) ==
         std::tie(o.path, o.data, o.acl, o.ephemeral, o.parent_cversion);
}

bool create_container::operator==(const create_container& o) const {
  return std::tie(path, data, acl, parent_cversion) ==
         std::tie(o.path, o.data, o.acl, o.parent_cversion);
}

bool create_ttl::operator==(const create_ttl& o) const {
  return std::tie(path, data, acl, parent_cversion, ttl_ms) ==
         std::tie(o.path, o.data, o.acl, o.parent_cversion, o.ttl_ms);
}

bool remove::operator==(const remove& o) const {
  return path == o.path;
}

bool set_data::operator==(const set_data& o) const {
  return std::tie(path, data, version) == std::tie(o.path, o.data, o.version);
}

bool check_version::operator==(const check_version& o) const {
  return std::tie(path, version) == std::tie(o.path, o.version);
}

bool set_acl::operator==(const set_acl& o) const {
  return std::tie(path, acl, version) == std::tie(o.path, o.acl, o.version);
}

bool create_session::operator==(const create_session& o) const {
  return timeout_ms == o.timeout_ms;
}

bool close_session::operator==(const close_session& o) const {
  return paths_to_delete == o.paths_to_delete;
}

bool error::operator==(const error& o) const {
  return err == o.err;
}

bool multi_op::operator==(const multi_op& o) const {
  return type == o.type && body == o.body;
}

bool multi::operator==(const multi& o) const {
  return ops == o.ops;
}

bool digest::operator==(const digest& o) const {
  return version == o.version && tree_digest == o.tree_digest;
}

bool record::operator==(const record& o) const {
  return hdr == o.hdr && b == o.b && dig == o.dig;
}

namespace {

namespace op = wire::op;

bool body_matches(int32_t type, const body& b) {
  switch (type) {
  case op::create:
  case op::create2:
    return std::holds_alternative<create>(b);
  case op::create_container:
    return std::holds_alternative<create_container>(b);
  case op::create_ttl:
    return std::holds_alternative<create_ttl>(b);
  case op::remove:
  case op::delete_container:
    return std::holds_alternative<remove>(b);
  case op::set_data:
  case op::reconfig:
    return std::holds_alternative<set_data>(b);
  case op::check:
    return std::holds_alternative<check_version>(b);
  case op::set_acl:
    return std::holds_alternative<set_acl>(b);
  case op::create_session:
    return std::holds_alternative<create_session>(b);
  case op::close_session:
    return std::holds_alternative<close_session>(b);
  case op::error:
    return std::holds_alternative<error>(b);
  case op::multi:
    return std::holds_alternative<multi>(b);
  default:
    return false;
  }
}

bool op_matches(const multi_op& m) {
  switch (m.type) {
  case op::create:
    return std::holds_alternative<create>(m.body);
  case op::create_container:
    return std::holds_alternative<create_container>(m.body);
  case op::create_ttl:
    return std::holds_alternative<create_ttl>(m.body);
  case op::remove:
  case op::delete_container:
    return std::holds_alternative<remove>(m.body);
  case op::set_data:
    return std::holds_alternative<set_data>(m.body);
  case op::check:
    return std::holds_alternative<check_version>(m.body);
  case op::error:
    return std::holds_alternative<error>(m.body);
  default:
    return false;
  }
}

// -- writing ------------------------------------------------------------------

void write_acls(wire::writer& w, const std::vector<wire::acl>& acls) {
  w.write_count(acls.size());
  for (auto& a : acls)
    wire::write(w, a);
}

void write_body(wire::writer& w, const create& x) {
  w.write_string(x.path);
  w.write_buffer(x.data);
  write_acls(w, x.acl);
  w.write_bool(x.ephemeral);
  w.write_int(x.parent_cversion);
}

void write_body(wire::writer& w, const create_container& x) {
  w.write_string(x.path);
  w.write_buffer(x.data);
  write_acls(w, x.acl);
  w.write_int(x.parent_cversion);
}

void write_body(wire::writer& w, const create_ttl& x) {
  w.write_string(x.path);
  w.write_buffer(x.data);
  write_acls(w, x.acl);
  w.write_int(x.parent_cversion);
  w.write_long(x.ttl_ms);
}

void write_body(wire::writer& w, const remove& x) {
  w.write_string(x.path);
}

void write_body(wire::writer& w, const set_data& x) {
  w.write_string(x.path);
  w.write_buffer(x.data);
  w.write_int(x.version);
}

void write_body(wire::writer& w, const check_version& x) {
  w.write_string(x.path);
  w.write_int(x.version);
}

void write_body(wire::writer& w, const set_acl& x) {
  w.write_string(x.path);
  write_acls(w, x.acl);
  w.write_int(x.version);
}

void write_body(wire::writer& w, const create_session& x) {
  w.write_int(x.timeout_ms);
}

void write_body(wire::writer& w, const close_session& x) {
  w.write_count(x.paths_to_delete.size());
  for (auto& p : x.paths_to_delete)
    w.write_string(p);
}

void write_body(wire::writer& w, const error& x) {
  w.write_int(x.err);
}

void write_body(wire::writer& w, const multi& x) {
  // Txn{int type; buffer data}: each op is serialized on its own first.
  w.write_count(x.ops.size());
  std::vector<char> tmp;
  for (auto& o : x.ops) {
    w.write_int(o.type);
    tmp.clear();
    wire::writer sub{tmp};
    std::visit([&](auto& b) { write_body(sub, b); }, o.body);
    w.write_string(std::string_view{tmp.data(), tmp.size()});
  }
}

// -- reading ------------------------------------------------------------------

bool read_acls(wire::reader& r, std::vector<wire::acl>& acls) {
  size_t n = 0;
  // perms + two empty strings: the smallest encoded ACL.
  if (!r.read_count(n, 12))
    return false;
  acls.resize(n);
  for (auto& a : acls)
    if (!wire::read(r, a))
      return false;
  return true;
}

bool read_body(wire::reader& r, create& x) {
  return r.read_string(x.path) && r.read_buffer(x.data) &&
         read_acls(r, x.acl) && r.read_bool(x.ephemeral) &&
         r.read_int(x.parent_cversion);
}

bool read_body(wire::reader& r, create_container& x) {
  return r.read_string(x.path) && r.read_buffer(x.data) &&
         read_acls(r, x.acl) && r.read_int(x.parent_cversion);
}

bool read_body(wire::reader& r, create_ttl& x) {
  return r.read_string(x.path) && r.read_buffer(x.data) &&
         read_acls(r, x.acl) && r.read_int(x.parent_cversion) &&
         r.read_long(x.ttl_ms);
}

bool read_body(wire::reader& r, remove& x) {
  return r.read_string(x.path);
}

bool read_body(wire::reader& r, set_data& x) {
  return r.read_string(x.path) && r.read_buffer(x.data) &&
         r.read_int(x.version);
}

bool read_body(wire::reader& r, check_version& x) {
  return r.read_string(x.path) && r.read_int(x.version);
}

bool read_body(wire::reader& r, set_acl& x) {
  return r.read_string(x.path) && read_acls(r, x.acl) && r.read_int(x.version);
}

bool read_body(wire::reader& r, create_session& x) {
  return r.read_int(x.timeout_ms);
}

bool read_body(wire::reader& r, close_session& x) {
  x.paths_to_delete.clear();
  // ZooKeeper with zookeeper.closeSessionTxn.enabled=false (and before 3.6)
  // logs closeSession without a body.
  if (r.remaining() == 0)
    return true;
  size_t n = 0;
  if (!r.read_count(n, 4))
    return false;
  x.paths_to_delete.resize(n);
  for (auto& p : x.paths_to_delete)
    if (!r.read_string(p))
      return false;
  return true;
}

bool read_body(wire::reader& r, error& x) {
  return r.read_int(x.err);
}

// One op of a MultiTxn: its bytes must hold exactly one record of its type.
template <class T>
bool read_op(std::string_view bytes, multi_op& out) {
  wire::reader sub{bytes};
  T x;
  if (!read_body(sub, x) || sub.remaining() != 0)
    return false;
  out.body = std::move(x);
  return true;
}

bool read_body(wire::reader& r, multi& x) {
  size_t n = 0;
  // type + empty buffer.
  if (!r.read_count(n, 8))
    return false;
  x.ops.resize(n);
  for (auto& o : x.ops) {
    std::string_view bytes;
    bool is_null = false;
    if (!r.read_int(o.type) || !r.read_view(bytes, is_null))
      return false;
    bool ok = false;
    switch (o.type) {
    case op::create:
      ok = read_op<create>(bytes, o);
      break;
    case op::create_container:
      ok = read_op<create_container>(bytes, o);
      break;
    case op::create_ttl:
      ok = read_op<create_ttl>(bytes, o);
      break;
    case op::remove:
    case op::delete_container:
      ok = read_op<remove>(bytes, o);
      break;
    case op::set_data:
      ok = read_op<set_data>(bytes, o);
      break;
    case op::check:
      ok = read_op<check_version>(bytes, o);
      break;
    case op::error:
      ok = read_op<error>(bytes, o);
      break;
    default:
      ok = false;
    }
    if (!ok) {
      r.fail();
      return false;
    }
  }
  return true;
}

template <class T>
bool read_into(wire::reader& r, body& b) {
  T x;
  if (!read_body(r, x))
    return false;
  b = std::move(x);
  return true;
}

// CreateTxnV0: a CreateTxn without parentCVersion (ZooKeeper before 3.3).
bool read_create_v0(std::string_view rest, wire::reader& r, body& b) {
  wire::reader v0{rest};
  create x;
  if (!v0.read_string(x.path) || !v0.read_buffer(x.data) ||
      !read_acls(v0, x.acl) || !v0.read_bool(x.ephemeral))
    return false;
  x.parent_cversion = -1;
  b = std::move(x);
  r = v0;
  return true;
}

} // namespace

bool well_formed(const record& r) {
  if (!body_matches(r.hdr.type, r.b))
    return false;
  if (auto* m = std::get_if<multi>(&r.b))
    for (auto& o : m->ops)
      if (!op_matches(o))
        return false;
  return true;
}

std::string encode(const record& r) {
  if (!well_formed(r)) {
    std::fprintf(stderr,
                 "zkd::txn: encode of a txn of type %d whose body "
                 "does not match\n",
                 r.hdr.type);
    std::abort();
  }
  std::vector<char> out;
  out.reserve(64);
  wire::writer w{out};
  w.write_long(r.hdr.session_id);
  w.write_int(r.hdr.cxid);
  w.write_long(r.hdr.zxid);
  w.write_long(r.hdr.time_ms);
  w.write_int(r.hdr.type);
  std::visit([&](auto& b) { write_body(w, b); }, r.b);
  if (r.dig) {
    w.write_int(r.dig->version);
    w.write_long(r.dig->tree_digest);
  }
  return std::string{out.data(), out.size()};
}

bool decode(std::string_view bytes, record& out) {
  wire::reader r{bytes};
  auto& h = out.hdr;
  if (!r.read_long(h.session_id) || !r.read_int(h.cxid) ||
      !r.read_long(h.zxid) || !r.read_long(h.time_ms) || !r.read_int(h.type))
    return false;
  auto body_start = bytes.substr(bytes.size() - r.remaining());
  bool ok = false;
  switch (h.type) {
  case op::create:
  case op::create2: {
    ok = read_into<create>(r, out.b);
    if (!ok && h.type == op::create)
      ok = read_create_v0(body_start, r, out.b);
    break;
  }
  case op::create_container:
    ok = read_into<create_container>(r, out.b);
    break;
  case op::create_ttl:
    ok = read_into<create_ttl>(r, out.b);
    break;
  case op::remove:
  case op::delete_container:
    ok = read_into<remove>(r, out.b);
    break;
  case op::set_data:
  case op::reconfig:
    ok = read_into<set_data>(r, out.b);
    break;
  case op::check:
    ok = read_into<check_version>(r, out.b);
    break;
  case op::set_acl:
    ok = read_into<set_acl>(r, out.b);
    break;
  case op::create_session:
    ok = read_into<create_session>(r, out.b);
    break;
  case op::close_session:
    ok = read_into<close_session>(r, out.b);
    break;
  case op::error:
    ok = read_into<error>(r, out.b);
    break;
  case op::multi:
    ok = read_into<multi>(r, out.b);
    break;
  default:
    ok = false;
  }
  if (!ok)
    return false;
  out.dig.reset();
  if (r.remaining() > 0) {
    digest d;
    if (!r.read_int(d.version) || !r.read_long(d.tree_digest))
      return false;
    out.dig = d;
  }
  return r.remaining() == 0;
}

} // namespace zkd::txn
