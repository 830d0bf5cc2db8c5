#include "actors/datatree/prep.hpp"

#include <cstdio>
#include <cstdlib>
#include <set>

#include "actors/datatree/path.hpp"

namespace zkd::datatree {

namespace op = wire::op;
using wire::err;

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "zkd::datatree::prep invariant violated: %s\n", what);
  std::abort();
}

// CreateMode.fromFlag plus the predicates PrepRequestProcessor asks of it.
struct create_mode {
  bool ephemeral = false;
  bool sequential = false;
  bool container = false;
  bool ttl = false;
};

std::optional<create_mode> mode_of(int32_t flags) {
  switch (flags) {
  case 0: // PERSISTENT
    return create_mode{};
  case 1: // EPHEMERAL
    return create_mode{true, false, false, false};
  case 2: // PERSISTENT_SEQUENTIAL
    return create_mode{false, true, false, false};
  case 3: // EPHEMERAL_SEQUENTIAL
    return create_mode{true, true, false, false};
  case 4: // CONTAINER
    return create_mode{false, false, true, false};
  case 5: // PERSISTENT_WITH_TTL
    return create_mode{false, false, false, true};
  case 6: // PERSISTENT_SEQUENTIAL_WITH_TTL
    return create_mode{false, true, false, true};
  default:
    return std::nullopt;
  }
}

// EphemeralType.get(owner) == NORMAL, as seen by prep (TTL owners only
// exist with extended types on).
bool is_session_owner(int64_t owner) noexcept {
  return owner != 0 && owner != container_owner && !is_ttl_owner(owner);
}

// checkAndIncVersion: -1 matches any version.
bool version_matches(int32_t current, int32_t expected) noexcept {
  return expected == -1 || expected == current;
}

// A txn body as one op of a MultiTxn (only the kinds a multi holds).
txn::multi_op to_multi_op(int32_t type, txn::body&& b) {
  txn::multi_op o;
  o.type = type;
  std::visit(
      [&](auto&& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, txn::create> ||
                      std::is_same_v<T, txn::create_container> ||
                      std::is_same_v<T, txn::create_ttl> ||
                      std::is_same_v<T, txn::remove> ||
                      std::is_same_v<T, txn::set_data> ||
                      std::is_same_v<T, txn::check_version> ||
                      std::is_same_v<T, txn::error>)
          o.body = std::move(x);
        else
          violated("a multi op of a kind a multi cannot hold");
      },
      std::move(b));
  return o;
}

} // namespace

prep::prep(const tree& t, prep_options opts) : tree_(t), opts_(opts) {
  // nop
}

// -- in-flight state ----------------------------------------------------------

std::optional<prep::record> prep::get_record(std::string_view path) const {
  record r;
  auto i = by_path_.find(path);
  if (i != by_path_.end()) {
    auto& c = *i->second;
    if (!c.exists)
      return std::nullopt;
    r.exists = true;
    r.stat = c.stat;
    r.child_count = c.child_count;
    r.data_length = c.data_length;
    r.acl = &c.acl;
    return r;
  }
  auto v = tree_.lookup(path);
  if (!v)
    return std::nullopt;
  r.exists = true;
  r.stat = v->stat;
  r.child_count = v->num_children;
  r.data_length = v->data_length;
  r.acl = v->acl;
  return r;
}

std::optional<prep::record> prep::permitted_node(std::string_view path,
                                                 int32_t perm,
                                                 const auth_ids& who,
                                                 wire::err& e) const {
  auto node = get_record(path);
  if (!node)
    e = err::no_node;
  else if (!permitted(*node, perm, who))
    e = err::no_auth;
  else
    return node;
  return std::nullopt;
}

void prep::add_delete_changes(std::string_view path,
                              std::string_view parent_path,
                              const record& parent, int64_t zxid) {
  // A delete sets the parent's pzxid and takes a child from it; it does not
  // move the cversion prep numbers sequential children by.
  auto pc = change_of(parent, parent_path, zxid);
  pc.stat.pzxid = zxid;
  pc.child_count = parent.child_count - 1;
  change nc;
  nc.zxid = zxid;
  nc.path = std::string{path};
  nc.exists = false;
  add_change(std::move(pc));
  add_change(std::move(nc));
}

prep::change prep::change_of(const record& node, std::string_view path,
                             int64_t zxid) const {
  change c;
  c.zxid = zxid;
  c.path = std::string{path};
  c.exists = true;
  c.stat = node.stat;
  c.child_count = node.child_count;
  c.data_length = node.data_length;
  c.acl = *node.acl;
  return c;
}

void prep::add_change(change c) {
  if (!changes_.empty() && c.zxid < changes_.back().zxid)
    violated("changes in zxid order");
  changes_.push_back(std::move(c));
  auto& added = changes_.back();
  // Re-key: the old key viewed the older change's path, which may go first.
  by_path_.erase(added.path);
  by_path_.emplace(added.path, &added);
}

bool prep::permitted(const record& r, int32_t perm, const auth_ids& who) const {
  return opts_.skip_acl || acl_permits(*r.acl, perm, who);
}

void prep::applied(int64_t zxid) {
  for (auto i = closing_.begin(); i != closing_.end();)
    i = i->second <= zxid ? closing_.erase(i) : std::next(i);
  while (!changes_.empty() && changes_.front().zxid <= zxid) {
    auto& c = changes_.front();
    auto i = by_path_.find(c.path);
    if (i != by_path_.end() && i->second == &c)
      by_path_.erase(i);
    changes_.pop_front();
  }
}

void prep::reset() {
  closing_.clear();
  by_path_.clear();
  changes_.clear();
  last_zxid_ = 0;
}

void prep::rollback(int64_t zxid) {
  // Drop this zxid's changes and point each of their paths back at its
  // newest earlier change, if one is still in flight
  // (rollbackPendingChanges).
  std::set<std::string> paths;
  while (!changes_.empty() && changes_.back().zxid == zxid) {
    auto& c = changes_.back();
    auto i = by_path_.find(c.path);
    if (i != by_path_.end() && i->second == &c)
      by_path_.erase(i);
    paths.insert(c.path);
    changes_.pop_back();
  }
  for (auto& p : paths) {
    for (auto i = changes_.rbegin(); i != changes_.rend(); ++i) {
      if (i->path == p) {
        by_path_.emplace(i->path, &*i);
        break;
      }
    }
  }
}

void prep::check_invariants() const {
  int64_t prev = INT64_MIN;
  for (auto& c : changes_) {
    if (c.zxid < prev)
      violated("zxid order");
    prev = c.zxid;
  }
  for (auto& [path, c] : by_path_) {
    if (path != c->path)
      violated("index key");
    const change* newest = nullptr;
    for (auto i = changes_.rbegin(); i != changes_.rend(); ++i)
      if (i->path == path) {
        newest = &*i;
        break;
      }
    if (newest != c)
      violated("index points at the newest change");
  }
  std::set<std::string_view> paths;
  for (auto& c : changes_)
    paths.insert(c.path);
  if (paths.size() != by_path_.size())
    violated("every in-flight path indexed");
}

// -- ops ----------------------------------------------------------------------

prep::op_out prep::prep_create(int32_t type, int64_t session,
                               const std::string& req_path,
                               const wire::opt_bytes& data,
                               const std::vector<wire::acl>& acl, int32_t flags,
                               int64_t ttl, int64_t zxid, int64_t time_ms,
                               const auth_ids& who) {
  op_out o;
  o.type = type;
  auto mode = mode_of(flags);
  if (!mode) {
    o.err = err::bad_arguments;
    return o;
  }
  // validateCreateRequest: TTL modes need extended types; a TTL must be in
  // range for them and absent (negative) for every other mode.
  if (mode->ttl && !opts_.extended_types) {
    o.err = err::unimplemented;
    return o;
  }
  if (mode->ttl ? (ttl <= 0 || ttl > max_ttl_ms) : ttl >= 0) {
    o.err = err::bad_arguments;
    return o;
  }
  if (!has_parent(req_path)) {
    o.err = err::bad_arguments;
    return o;
  }
  auto parent_path = std::string{parent_of(req_path)};
  std::vector<wire::acl> fixed;
  if (fixup_acl(acl, who, fixed) != err::ok) {
    o.err = err::invalid_acl;
    return o;
  }
  auto parent = get_record(parent_path);
  if (!parent) {
    o.err = err::no_node;
    return o;
  }
  if (!permitted(*parent, wire::perm::create, who)) {
    o.err = err::no_auth;
    return o;
  }
  auto path = req_path;
  if (mode->sequential) {
    // The suffix is the parent's stored cversion (its child creates so
    // far, in flight included), not the cversion clients see.
    char suffix[16];
    std::snprintf(suffix, sizeof(suffix), "%010d", parent->stat.cversion);
    path += suffix;
  }
  if (!valid_path(path)) {
    o.err = err::bad_arguments;
    return o;
  }
  if (get_record(path)) {
    o.err = err::node_exists;
    return o;
  }
  if (is_session_owner(parent->stat.ephemeral_owner)) {
    o.err = err::no_children_for_ephemerals;
    return o;
  }
  if (opts_.enforce_quota &&
      tree_.quota_exceeded(path, data ? static_cast<int64_t>(data->size()) : 0,
                           1)) {
    o.err = err::quota_exceeded;
    return o;
  }
  int32_t new_cversion = parent->stat.cversion + 1;
  // The txn kind follows the op code, the owner the flags: a createContainer
  // with persistent flags makes a container, a create with container flags
  // a persistent node, as in ZooKeeper.
  if (type == op::create_container)
    o.body = txn::create_container{path, data, fixed, new_cversion};
  else if (type == op::create_ttl)
    o.body = txn::create_ttl{path, data, fixed, new_cversion, ttl};
  else
    o.body = txn::create{path, data, fixed, mode->ephemeral, new_cversion};
  int64_t owner = 0;
  if (mode->container)
    owner = container_owner;
  else if (mode->ttl)
    owner = ttl_owner(ttl);
  else if (mode->ephemeral)
    owner = session;
  change pc;
  pc.zxid = zxid;
  pc.path = parent_path;
  pc.exists = true;
  pc.stat = parent->stat;
  pc.child_count = parent->child_count + 1;
  pc.data_length = parent->data_length;
  pc.acl = *parent->acl;
  pc.stat.cversion = new_cversion;
  pc.stat.pzxid = zxid;
  change nc;
  nc.zxid = zxid;
  nc.path = path;
  nc.exists = true;
  nc.stat.czxid = zxid;
  nc.stat.mzxid = zxid;
  nc.stat.pzxid = zxid;
  nc.stat.ctime = time_ms;
  nc.stat.mtime = time_ms;
  nc.stat.ephemeral_owner = owner;
  nc.data_length = data ? static_cast<int32_t>(data->size()) : 0;
  nc.acl = std::move(fixed);
  add_change(std::move(pc));
  add_change(std::move(nc));
  return o;
}

prep::op_out prep::prep_delete(const wire::delete_request& rq, int64_t zxid,
                               const auth_ids& who) {
  op_out o;
  o.type = op::remove;
  auto& path = rq.path;
  // getParentPathAndValidate: no full path validation for delete.
  if (!has_parent(path) || is_special_path(path)) {
    o.err = err::bad_arguments;
    return o;
  }
  auto parent_path = std::string{parent_of(path)};
  auto parent = get_record(parent_path);
  if (!parent) {
    o.err = err::no_node;
    return o;
  }
  if (!permitted(*parent, wire::perm::remove, who)) {
    o.err = err::no_auth;
    return o;
  }
  auto node = get_record(path);
  if (!node) {
    o.err = err::no_node;
    return o;
  }
  if (!version_matches(node->stat.version, rq.version)) {
    o.err = err::bad_version;
    return o;
  }
  if (node->child_count > 0) {
    o.err = err::not_empty;
    return o;
  }
  o.body = txn::remove{path};
  add_delete_changes(path, parent_path, *parent, zxid);
  return o;
}

prep::op_out prep::prep_set_data(const wire::set_data_request& rq, int64_t zxid,
                                 int64_t time_ms, const auth_ids& who) {
  op_out o;
  o.type = op::set_data;
  if (!valid_path(rq.path)) {
    o.err = err::bad_arguments;
    return o;
  }
  auto node = permitted_node(rq.path, wire::perm::write, who, o.err);
  if (!node)
    return o;
  // ZooKeeper checks the quota before the version.
  if (opts_.enforce_quota &&
      tree_.quota_exceeded(
          rq.path,
          (rq.data ? static_cast<int64_t>(rq.data->size()) : 0) -
              node->data_length,
          0)) {
    o.err = err::quota_exceeded;
    return o;
  }
  if (!version_matches(node->stat.version, rq.version)) {
    o.err = err::bad_version;
    return o;
  }
  int32_t new_version = node->stat.version + 1;
  o.body = txn::set_data{rq.path, rq.data, new_version};
  auto c = change_of(*node, rq.path, zxid);
  c.stat.version = new_version;
  c.stat.mtime = time_ms;
  c.stat.mzxid = zxid;
  c.data_length = rq.data ? static_cast<int32_t>(rq.data->size()) : 0;
  add_change(std::move(c));
  return o;
}

prep::op_out prep::prep_check(const wire::check_version_request& rq,
                              const auth_ids& who) {
  op_out o;
  o.type = op::check;
  if (!valid_path(rq.path)) {
    o.err = err::bad_arguments;
    return o;
  }
  auto node = permitted_node(rq.path, wire::perm::read, who, o.err);
  if (!node)
    return o;
  if (!version_matches(node->stat.version, rq.version)) {
    o.err = err::bad_version;
    return o;
  }
  o.body = txn::check_version{rq.path, node->stat.version + 1};
  return o;
}

prep::op_out prep::prep_set_acl(const wire::set_acl_request& rq, int64_t zxid,
                                const auth_ids& who) {
  op_out o;
  o.type = op::set_acl;
  if (!valid_path(rq.path)) {
    o.err = err::bad_arguments;
    return o;
  }
  std::vector<wire::acl> fixed;
  if (fixup_acl(rq.acl, who, fixed) != err::ok) {
    o.err = err::invalid_acl;
    return o;
  }
  auto node = permitted_node(rq.path, wire::perm::admin, who, o.err);
  if (!node)
    return o;
  if (!version_matches(node->stat.aversion, rq.version)) {
    o.err = err::bad_version;
    return o;
  }
  int32_t new_version = node->stat.aversion + 1;
  o.body = txn::set_acl{rq.path, fixed, new_version};
  auto c = change_of(*node, rq.path, zxid);
  c.stat.aversion = new_version;
  // ZooKeeper's change record keeps the old ACL here; later requests in
  // flight are checked against the new one, as they will be once applied.
  c.acl = std::move(fixed);
  add_change(std::move(c));
  return o;
}

prep_result prep::make(int64_t session, int32_t cxid, int64_t zxid,
                       int64_t time_ms, op_out&& o) {
  prep_result r;
  r.err = o.err;
  if (o.err != err::ok)
    return r;
  txn::record rec;
  rec.hdr = txn::header{session, cxid, zxid, time_ms, o.type};
  rec.b = std::move(o.body);
  r.txn = std::move(rec);
  last_zxid_ = zxid;
  return r;
}

prep_result prep::prep_multi(int64_t session, int32_t cxid,
                             const wire::multi_request& m, int64_t zxid,
                             int64_t time_ms, const auth_ids& who) {
  prep_result r;
  txn::multi mt;
  err failed = err::ok;
  std::vector<err> codes;
  codes.reserve(m.ops.size());
  bool closing = closing_.count(session) != 0;
  for (auto& mo : m.ops) {
    if (failed != err::ok) {
      codes.push_back(err::runtime_inconsistency);
      continue;
    }
    op_out o;
    o.err = closing ? err::session_expired : err::marshalling_error;
    if (!closing) {
      std::visit(
          [&](auto& b) {
            using T = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<T, wire::create_request>) {
              if (mo.type == op::create || mo.type == op::create_container ||
                  mo.type == op::create2)
                o = prep_create(mo.type == op::create2 ? op::create : mo.type,
                                session, b.path, b.data, b.acl, b.flags, -1,
                                zxid, time_ms, who);
            } else if constexpr (std::is_same_v<T, wire::create_ttl_request>) {
              if (mo.type == op::create_ttl)
                o = prep_create(mo.type, session, b.path, b.data, b.acl,
                                b.flags, b.ttl, zxid, time_ms, who);
            } else if constexpr (std::is_same_v<T, wire::delete_request>) {
              if (mo.type == op::remove)
                o = prep_delete(b, zxid, who);
            } else if constexpr (std::is_same_v<T, wire::set_data_request>) {
              if (mo.type == op::set_data)
                o = prep_set_data(b, zxid, time_ms, who);
            } else if constexpr (std::is_same_v<T,
                                                wire::check_version_request>) {
              if (mo.type == op::check)
                o = prep_check(b, who);
            }
          },
          mo.body);
    }
    if (o.err != err::ok) {
      failed = o.err;
      codes.push_back(o.err);
      // Nothing of this multi stays in flight.
      rollback(zxid);
      continue;
    }
    codes.push_back(err::ok);
    mt.ops.push_back(to_multi_op(o.type, std::move(o.body)));
  }
  if (failed != err::ok) {
    r.err = failed;
    r.multi_errors = std::move(codes);
    return r;
  }
  op_out o;
  o.type = op::multi;
  o.body = std::move(mt);
  return make(session, cxid, zxid, time_ms, std::move(o));
}

prep_result prep::prepare(int64_t session, int32_t cxid,
                          const wire::request& rq, int64_t zxid,
                          int64_t time_ms, const auth_ids& who) {
  if (zxid <= last_zxid_)
    violated("zxids increase");
  auto type = rq.hdr.type;
  op_out o;
  o.err = err::marshalling_error;
  o.type = type;
  bool closing = closing_.count(session) != 0;
  if (closing && type != op::close_session && type != op::multi) {
    o.err = err::session_expired;
    return make(session, cxid, zxid, time_ms, std::move(o));
  }
  switch (type) {
  case op::create:
  case op::create2:
  case op::create_container:
    if (auto* b = std::get_if<wire::create_request>(&rq.body))
      o = prep_create(type, session, b->path, b->data, b->acl, b->flags, -1,
                      zxid, time_ms, who);
    break;
  case op::create_ttl:
    if (auto* b = std::get_if<wire::create_ttl_request>(&rq.body))
      o = prep_create(type, session, b->path, b->data, b->acl, b->flags, b->ttl,
                      zxid, time_ms, who);
    break;
  case op::remove:
    if (auto* b = std::get_if<wire::delete_request>(&rq.body))
      o = prep_delete(*b, zxid, who);
    break;
  case op::set_data:
    if (auto* b = std::get_if<wire::set_data_request>(&rq.body))
      o = prep_set_data(*b, zxid, time_ms, who);
    break;
  case op::set_acl:
    if (auto* b = std::get_if<wire::set_acl_request>(&rq.body))
      o = prep_set_acl(*b, zxid, who);
    break;
  case op::check:
    if (auto* b = std::get_if<wire::check_version_request>(&rq.body))
      o = prep_check(*b, who);
    break;
  case op::multi:
    if (auto* b = std::get_if<wire::multi_request>(&rq.body))
      return prep_multi(session, cxid, *b, zxid, time_ms, who);
    break;
  case op::reconfig:
    o.err =
        opts_.reconfig_enabled ? err::unimplemented : err::reconfig_disabled;
    break;
  case op::close_session:
    return close_session(session, cxid, zxid, time_ms);
  case op::delete_container:
    // Only the container manager deletes containers; a client's request
    // has no path we could read.
    o.err = err::bad_arguments;
    break;
  case op::create_session:
    // A client cannot send one on an open session; ZooKeeper fails to read
    // its (missing) timeout.
    o.err = err::marshalling_error;
    break;
  default:
    o.err = err::unimplemented;
    break;
  }
  return make(session, cxid, zxid, time_ms, std::move(o));
}

prep_result prep::create_session(int64_t session, int32_t timeout_ms,
                                 int64_t zxid, int64_t time_ms) {
  if (zxid <= last_zxid_)
    violated("zxids increase");
  op_out o;
  o.type = op::create_session;
  o.body = txn::create_session{timeout_ms};
  return make(session, 0, zxid, time_ms, std::move(o));
}

prep_result prep::close_session(int64_t session, int32_t cxid, int64_t zxid,
                                int64_t time_ms) {
  if (zxid <= last_zxid_)
    violated("zxids increase");
  // The tree's ephemerals of the session, corrected by what is in flight:
  // deleted paths go, paths created for this session come.
  auto current = tree_.ephemerals_of(session);
  std::set<std::string> es(current.begin(), current.end());
  for (auto& c : changes_) {
    if (!c.exists)
      es.erase(c.path);
    else if (c.stat.ephemeral_owner == session)
      es.insert(c.path);
  }
  for (auto& p : es) {
    auto parent_path = std::string{parent_of(p)};
    if (auto parent = get_record(parent_path)) {
      change pc;
      pc.zxid = zxid;
      pc.path = parent_path;
      pc.exists = true;
      pc.stat = parent->stat;
      pc.stat.pzxid = zxid;
      pc.child_count = parent->child_count - 1;
      pc.data_length = parent->data_length;
      pc.acl = *parent->acl;
      add_change(std::move(pc));
    }
    change nc;
    nc.zxid = zxid;
    nc.path = p;
    nc.exists = false;
    add_change(std::move(nc));
  }
  op_out o;
  o.type = op::close_session;
  o.body = txn::close_session{std::vector<std::string>(es.begin(), es.end())};
  closing_[session] = zxid;
  return make(session, cxid, zxid, time_ms, std::move(o));
}

prep_result prep::delete_container(std::string_view path, int64_t zxid,
                                   int64_t time_ms) {
  if (zxid <= last_zxid_)
    violated("zxids increase");
  op_out o;
  o.type = op::delete_container;
  auto p = std::string{path};
  if (!has_parent(p) || is_special_path(p)) {
    o.err = err::bad_arguments;
    return make(0, 0, zxid, time_ms, std::move(o));
  }
  auto parent_path = std::string{parent_of(p)};
  auto node = get_record(p);
  if (!node) {
    o.err = err::no_node;
  } else if (node->child_count > 0) {
    o.err = err::not_empty;
  } else if (is_session_owner(node->stat.ephemeral_owner)) {
    o.err = err::bad_version;
  } else if (auto parent = get_record(parent_path); !parent) {
    o.err = err::no_node;
  } else {
    o.err = err::ok;
    o.body = txn::remove{p};
    add_delete_changes(p, parent_path, *parent, zxid);
  }
  return make(0, 0, zxid, time_ms, std::move(o));
}

} // namespace zkd::datatree
