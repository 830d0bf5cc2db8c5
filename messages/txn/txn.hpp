// Txn records: what the leader logs, proposes and every replica applies.
// They mirror ZooKeeper 3.8's own (zookeeper.jute, module
// org.apache.zookeeper.txn) field for field, and encode() writes ZooKeeper's
// log-entry layout (TxnHeader, the txn record, then an optional TxnDigest),
// so ZooKeeper's own txn logs can be imported and ours inspected with its
// tools.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "messages/wire/records.hpp"

namespace zkd::txn {

// TxnHeader. `type` is the op code of the request the txn came from
// (create vs create2 decides whether the reply carries a Stat), or
// wire::op::error for an ErrorTxn.
struct header {
  int64_t session_id = 0; // "clientId" in zookeeper.jute
  int32_t cxid = 0;       // the client's xid
  int64_t zxid = 0;
  int64_t time_ms = 0; // wall clock stamped once by the leader
  int32_t type = 0;
  bool operator==(const header& o) const;
};

// CreateTxn (header types create and create2).
struct create {
  std::string path; // final path (sequence suffix already appended)
  wire::opt_bytes data;
  std::vector<wire::acl> acl;
  bool ephemeral = false;      // owner is the header's session
  int32_t parent_cversion = 0; // parent's stored cversion after this create
  bool operator==(const create& o) const;
};

// CreateContainerTxn.
struct create_container {
  std::string path;
  wire::opt_bytes data;
  std::vector<wire::acl> acl;
  int32_t parent_cversion = 0;
  bool operator==(const create_container& o) const;
};

// CreateTTLTxn.
struct create_ttl {
  std::string path;
  wire::opt_bytes data;
  std::vector<wire::acl> acl;
  int32_t parent_cversion = 0;
  int64_t ttl_ms = 0;
  bool operator==(const create_ttl& o) const;
};

// DeleteTxn (header types delete and deleteContainer).
struct remove {
  std::string path;
  bool operator==(const remove& o) const;
};

// SetDataTxn (header types setData and reconfig).
struct set_data {
  std::string path;
  wire::opt_bytes data;
  int32_t version = 0; // the node's new version
  bool operator==(const set_data& o) const;
};

// CheckVersionTxn.
struct check_version {
  std::string path;
  int32_t version = 0; // expected version + 1, as ZooKeeper stores it
  bool operator==(const check_version& o) const;
};

// SetACLTxn.
struct set_acl {
  std::string path;
  std::vector<wire::acl> acl;
  int32_t version = 0; // the node's new aversion
  bool operator==(const set_acl& o) const;
};

// CreateSessionTxn.
struct create_session {
  int32_t timeout_ms = 0;
  bool operator==(const create_session& o) const;
};

// CloseSessionTxn. We always write the paths (ZooKeeper's default,
// zookeeper.closeSessionTxn.enabled=true): the leader decides which
// ephemerals die, so every replica deletes the same ones in the same order
// whatever in-flight txns it had. A ZooKeeper log written with the option
// off has no body; it decodes as an empty list, and applying it deletes the
// session's ephemerals as the replica sees them, which is what ZooKeeper
// did then.
struct close_session {
  std::vector<std::string> paths_to_delete;
  bool operator==(const close_session& o) const;
};

// ErrorTxn: a failed op inside a multi (and, in ZooKeeper's logs, a failed
// request; we do not log those).
struct error {
  int32_t err = 0; // a wire::err value
  bool operator==(const error& o) const;
};

// One op of a multi (ZooKeeper's Txn{type, data} with data decoded). `type`
// is the op code: create, createContainer, createTTL, delete,
// deleteContainer, setData, check, or error.
struct multi_op {
  int32_t type = 0;
  std::variant<create, create_container, create_ttl, remove, set_data,
               check_version, error>
      body;
  bool operator==(const multi_op& o) const;
};

// MultiTxn: every op of a multi shares the header (one zxid). ZooKeeper also
// logs multis that failed in prep (the ops before the failing one as they
// were, the failing one as an ErrorTxn with its code, the rest as ErrorTxn
// ZRUNTIMEINCONSISTENCY); tree::apply replays those like ZooKeeper, though
// our prep answers a failed multi without logging it.
struct multi {
  std::vector<multi_op> ops;
  bool operator==(const multi& o) const;
};

using body = std::variant<create, create_container, create_ttl, remove,
                          set_data, check_version, set_acl, create_session,
                          close_session, error, multi>;

// TxnDigest: the tree digest after this txn, as ZooKeeper appends it when
// zookeeper.digest.enabled (the default). Optional in our records.
struct digest {
  int32_t version = 0;
  int64_t tree_digest = 0;
  bool operator==(const digest& o) const;
};

struct record {
  header hdr;
  txn::body b;
  std::optional<txn::digest> dig;
  bool operator==(const record& o) const;
};

// True if hdr.type names the kind of body held (e.g. create or create2 with
// txn::create) and every multi op's type matches its body. encode() of a
// record that is not well formed is a programmer error.
bool well_formed(const record& r);

// ZooKeeper's log-entry bytes: TxnHeader, the txn, then the TxnDigest if
// present. Aborts on a record that is not well_formed.
std::string encode(const record& r);

// The inverse of encode. Also reads ZooKeeper's older forms: a closeSession
// without a body, and a CreateTxnV0 (no parentCVersion; read as -1, which
// tree::apply treats as "parent's cversion + 1", like ZooKeeper). Fails on
// truncated or malformed input, on an unknown header type, and on a multi
// op of a type a multi cannot hold; `out` is then unspecified.
bool decode(std::string_view bytes, record& out);

} // namespace zkd::txn
