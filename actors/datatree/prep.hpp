// ZooKeeper's PrepRequestProcessor as a pure core: validates a write against
// the tree plus the changes still in flight (ZooKeeper's outstandingChanges
// and ChangeRecord) and turns it into a txn stamped with the zxid and time
// it is given. The leader's datatree actor owns one, bound to its tree.
//
// A request prep refuses yields its error and no txn: unlike ZooKeeper we
// do not log error txns, so a refused request consumes no zxid. A multi
// that fails is refused the same way and carries its per-op results:
// ZooKeeper answers it with header err 0 and a MultiResponse of ErrorResults
// (ok for the ops before the failing one, the failing op's code, then
// ZRUNTIMEINCONSISTENCY), and so should the caller.
//
// Checks run in ZooKeeper's order, so the same request gets the same error:
// create: flags, TTL, path shape, ACL, parent, CREATE permission, sequence
// suffix, full path, NodeExists, ephemeral parent. delete: path shape and
// special paths, parent, DELETE permission, node, version, NotEmpty.
// setData / check: path, node, WRITE / READ permission, version. setACL:
// path, ACL, node, ADMIN permission, aversion.
// Session validity (unknown, expired, moved) is the session tracker's
// business; prep only refuses, like ZooKeeper's sessionTracker.checkSession
// of a closing session, every request of a session whose closeSession is in
// flight (ZSESSIONEXPIRED; in a multi, as its first op's error).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/datatree/acl.hpp"
#include "actors/datatree/tree.hpp"
#include "messages/txn/txn.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/request.hpp"

namespace zkd::datatree {

struct prep_options {
  // zookeeper.extendedTypesEnabled: TTL nodes. Off by default, as in
  // ZooKeeper, where createTTL then fails with ZUNIMPLEMENTED.
  bool extended_types = false;
  // zookeeper.skipACL: no permission checks at all.
  bool skip_acl = false;
  // reconfigEnabled; reconfig itself is not implemented, so when enabled a
  // reconfig gets ZUNIMPLEMENTED instead of ZRECONFIGDISABLED.
  bool reconfig_enabled = false;
  // zookeeper.enforceQuota: creates and setData that would take a subtree
  // past a hard quota limit fail with ZQUOTAEXCEEDED.
  bool enforce_quota = false;
};

struct prep_result {
  // ok: `txn` holds the record to log. Otherwise the request's error.
  wire::err err = wire::err::ok;
  std::optional<txn::record> txn;
  // A failed multi: one code per op (see the top of this file); `err` is the
  // failing op's code. Empty otherwise.
  std::vector<wire::err> multi_errors;

  bool ok() const noexcept { return err == wire::err::ok; }
};

class prep {
public:
  explicit prep(const tree& t, prep_options opts = {});

  // Prepares a client request for the write path (is_write op codes:
  // create, create2, createContainer, createTTL, delete, setData, setACL,
  // check, multi, reconfig, closeSession). `who` are the session's auth ids
  // (see acl.hpp); the default, none, passes only world:anyone entries.
  // `zxid` must exceed every zxid prepared before (since the last reset).
  prep_result prepare(int64_t session, int32_t cxid, const wire::request& rq,
                      int64_t zxid, int64_t time_ms, const auth_ids& who = {});

  // A createSession txn (from the session tracker).
  prep_result create_session(int64_t session, int32_t timeout_ms, int64_t zxid,
                             int64_t time_ms);

  // A closeSession txn, listing the session's ephemerals as the tree plus
  // the in-flight changes have them (sorted), so every replica deletes
  // exactly those. `cxid` is the client's xid, 0 for an expiry.
  prep_result close_session(int64_t session, int32_t cxid, int64_t zxid,
                            int64_t time_ms);

  // deleteContainer (from the container manager): no ACL and no version
  // check; refuses a node with children (ZNOTEMPTY) and, oddly but like
  // ZooKeeper, a session's ephemeral (ZBADVERSION) but not a persistent node.
  prep_result delete_container(std::string_view path, int64_t zxid,
                               int64_t time_ms);

  // Txns up to `zxid` are applied to the tree: forget their changes.
  void applied(int64_t zxid);

  // Forget every in-flight change (a new epoch, or the proposals were lost).
  void reset();

  // In-flight changes not yet applied.
  size_t outstanding() const noexcept { return changes_.size(); }

  // Aborts if the per-path index does not point at the newest change of each
  // path, or zxids are out of order.
  void check_invariants() const;

private:
  // ZooKeeper's ChangeRecord: a node as it will be once the in-flight txns
  // are applied. `exists` false means deleted in flight (stat == null).
  struct change {
    int64_t zxid = 0;
    std::string path;
    bool exists = false;
    stat_persisted stat;
    int32_t child_count = 0;
    int32_t data_length = 0;
    std::vector<wire::acl> acl;
  };

  // The newest view of a path: an in-flight change or the tree's node.
  struct record {
    bool exists = false;
    stat_persisted stat;
    int32_t child_count = 0;
    int32_t data_length = 0;
    const std::vector<wire::acl>* acl = nullptr;
  };

  // One op against the in-flight state; on success appends its txn body and
  // change records.
  struct op_out {
    wire::err err = wire::err::ok;
    int32_t type = 0;
    txn::body body;
  };

  std::optional<record> get_record(std::string_view path) const;
  // The node at `path` if it exists and `who` holds `perm` on it; otherwise
  // nullopt with NoNode or NoAuth in `e` (ZooKeeper checks in that order).
  std::optional<record> permitted_node(std::string_view path, int32_t perm,
                                       const auth_ids& who, wire::err& e) const;
  // A change record for an existing node, as it stands before the change.
  change change_of(const record& node, std::string_view path,
                   int64_t zxid) const;
  // The in-flight changes of deleting `path` (child of `parent`).
  void add_delete_changes(std::string_view path, std::string_view parent_path,
                          const record& parent, int64_t zxid);
  void add_change(change c);
  bool permitted(const record& r, int32_t perm, const auth_ids& who) const;
  op_out prep_create(int32_t type, int64_t session, const std::string& path,
                     const wire::opt_bytes& data,
                     const std::vector<wire::acl>& acl, int32_t flags,
                     int64_t ttl, int64_t zxid, int64_t time_ms,
                     const auth_ids& who);
  op_out prep_delete(const wire::delete_request& rq, int64_t zxid,
                     const auth_ids& who);
  op_out prep_set_data(const wire::set_data_request& rq, int64_t zxid,
                       int64_t time_ms, const auth_ids& who);
  op_out prep_check(const wire::check_version_request& rq, const auth_ids& who);
  op_out prep_set_acl(const wire::set_acl_request& rq, int64_t zxid,
                      const auth_ids& who);
  prep_result prep_multi(int64_t session, int32_t cxid,
                         const wire::multi_request& m, int64_t zxid,
                         int64_t time_ms, const auth_ids& who);
  void rollback(int64_t zxid);
  prep_result make(int64_t session, int32_t cxid, int64_t zxid, int64_t time_ms,
                   op_out&& o);

  const tree& tree_;
  prep_options opts_;
  std::deque<change> changes_; // in zxid order
  // Newest change per path; points into changes_ (a deque keeps element
  // addresses on push_back and pop_front).
  std::unordered_map<std::string_view, change*> by_path_;
  // Sessions whose closeSession is prepared but not applied: the zxid.
  std::unordered_map<int64_t, int64_t> closing_;
  int64_t last_zxid_ = 0;
};

} // namespace zkd::datatree
