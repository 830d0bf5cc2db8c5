// ZooKeeper's DataTree as a pure state machine: znodes with data, Stat and
// ACL, the session table and the ephemerals per session. Reads answer from
// it; committed txns change it through apply(), which returns the reply's
// outcome and the watch triggers as data. No clock, no I/O, no CAF.
//
// Stat semantics are ZooKeeper 3.8's, including its oddities:
// - the stored cversion counts child *creates*; the cversion a client sees
//   is stored * 2 - numChildren (DataNode.copyStat), so a delete shows as +1
//   on the visible cversion without changing what sequence numbers derive
//   from (prep uses the stored value);
// - a new znode's pzxid is its czxid; create and delete set the parent's
//   pzxid (only ever raising it), setData and setACL leave it alone;
// - "/" starts with visible cversion -1 and "/zookeeper" with -2 (their
//   children exist without creates), "/zookeeper/config" with aversion -1
//   and a read-only ACL;
// - ephemeralOwner of a container or TTL node reads as 0;
// - "" is an alias of "/" for reads, as in ZooKeeper's node map.
//
// Memory: every znode is one allocation holding its stat, path and data,
// linked to its siblings (no per-parent container), indexed by an
// open-addressing table of tagged pointers; identical ACL lists are shared
// through a reference-counted cache (ZooKeeper's ReferenceCountedACLCache).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/datatree/acl.hpp"
#include "messages/txn/txn.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/records.hpp"

namespace zkd::datatree {

// ZooKeeper's StatPersisted: the stat as stored. `cversion` counts child
// creates; dataLength and numChildren are not stored.
struct stat_persisted {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int32_t aversion = 0;
  int64_t ephemeral_owner = 0;
  int64_t pzxid = 0;
  bool operator==(const stat_persisted& o) const;
};

// ephemeralOwner of container nodes (EphemeralType.CONTAINER_EPHEMERAL_OWNER).
constexpr int64_t container_owner = INT64_MIN;

// True if `owner` marks a TTL node (EphemeralType with extended types
// enabled: top byte 0xff, TTL feature bits 0).
bool is_ttl_owner(int64_t owner) noexcept;

// The ephemeralOwner a TTL node stores for `ttl_ms` (EphemeralType.TTL).
int64_t ttl_owner(int64_t ttl_ms) noexcept;

// The largest TTL ZooKeeper accepts (EphemeralType.TTL.maxValue()).
constexpr int64_t max_ttl_ms = 0x000000ffffffffffLL;

// A watch trigger: fire the watches of `path` for event `type`. A
// node_deleted fires both the data and the child watches of the path
// (DataTree.deleteNode triggers dataWatches and childWatches).
struct trigger {
  std::string path;
  wire::event_type type = wire::event_type::none;
  // The ACL a watcher must be able to READ to get the event (ZooKeeper's
  // ZOOKEEPER-4799 check: the node's, or the parent's for
  // NodeChildrenChanged); null when anyone may read.
  std::shared_ptr<const std::vector<wire::acl>> acl;
  bool operator==(const trigger& o) const {
    return path == o.path && type == o.type;
  }
};

// The outcome of one op of a multi, as FinalRequestProcessor turns it into
// an OpResult: `type` is create (CreateResult with path), create2 /
// createTTL / createContainer (path and stat), delete / deleteContainer,
// setData (stat), check, or error (ErrorResult with err).
struct op_result {
  int32_t type = 0;
  wire::err err = wire::err::ok;
  std::string path;
  wire::stat stat;
};

// What applying a committed txn produced.
struct apply_result {
  wire::err err = wire::err::ok;  // the reply header's err
  std::string path;               // create*: the created path
  std::optional<wire::stat> stat; // create2/TTL/container, setData, setACL
  std::vector<op_result> multi;   // multi: one per op
  std::vector<trigger> triggers;  // in ZooKeeper's order
};

struct data_result {
  wire::err err = wire::err::ok;
  wire::opt_bytes data;
  wire::stat stat;
};

struct stat_result {
  wire::err err = wire::err::ok;
  wire::stat stat;
};

struct children_result {
  wire::err err = wire::err::ok;
  std::vector<std::string> children; // sorted (ZooKeeper: hash order)
  wire::stat stat;
};

struct acl_result {
  wire::err err = wire::err::ok;
  std::vector<wire::acl> acl;
  wire::stat stat;
};

struct count_result {
  wire::err err = wire::err::ok;
  int32_t count = 0;
};

// What prep needs to know of an existing znode.
struct node_view {
  stat_persisted stat;
  int32_t num_children = 0;
  int32_t data_length = 0;
  // Owned by the tree; valid until the next apply().
  const std::vector<wire::acl>* acl = nullptr;
};

// One znode as a capture (tree::capture_begin) hands it out: its state when
// the capture began. The views are valid only during the call.
struct captured_node {
  std::string_view path;
  std::string_view data; // empty when null_data
  bool null_data = false;
  stat_persisted stat;
  // Equal keys mean equal ACL lists within one capture (a cache slot and its
  // generation, so a slot freed and reused mid-capture gets a new key).
  uint64_t acl_key = 0;
  const std::vector<wire::acl>* acl = nullptr;
};

// Receives a capture's znodes, parents before their children, each once.
class capture_sink {
public:
  virtual ~capture_sink() = default;
  virtual void node(const captured_node& n) = 0;
  // Asked between nodes of a capture_step: false ends the step early (the
  // sink's buffer is full).
  virtual bool want_more() const { return true; }
};

class tree {
public:
  // A fresh tree: "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"
  // exactly as a fresh ZooKeeper 3.8 has them.
  tree();
  ~tree();
  tree(const tree&) = delete;
  tree& operator=(const tree&) = delete;

  // -- reads (FinalRequestProcessor) ------------------------------------------
  // Each checks the node exists (no_node) and then its ACL against `who`
  // (no_auth) where ZooKeeper does. Paths are not validated: a malformed
  // path simply does not exist.

  // getData: READ.
  data_result get_data(std::string_view path, const auth_ids& who) const;
  // exists: no ACL check; a path containing NUL is bad_arguments.
  stat_result exists(std::string_view path) const;
  // getChildren / getChildren2: READ.
  children_result get_children(std::string_view path,
                               const auth_ids& who) const;
  // getACL: READ or ADMIN; without ADMIN, digest ids read "user:x".
  acl_result get_acl(std::string_view path, const auth_ids& who) const;
  // getAllChildrenNumber: READ; every descendant. For "/" all znodes but
  // "/", for "" one more (ZooKeeper counts its "/" alias).
  count_result get_all_children_number(std::string_view path,
                                       const auth_ids& who) const;
  // getEphemerals: the session's ephemeral paths starting with `prefix`
  // (a string prefix, not a path prefix; all of them for "", blank or
  // "/"), sorted.
  std::vector<std::string> get_ephemerals(int64_t session,
                                          std::string_view prefix) const;

  // For prep: the node at `path`, or nullopt.
  std::optional<node_view> lookup(std::string_view path) const;

  // -- writes -----------------------------------------------------------------

  // Applies a committed txn (ZooKeeper's DataTree.processTxn plus the
  // session table). Never fails as a whole: a txn that does not fit the tree
  // (as happens when a log is replayed over a fuzzy snapshot) yields the
  // error ZooKeeper would record and changes what ZooKeeper would change.
  // `r` must be txn::well_formed.
  apply_result apply(const txn::record& r);

  // -- sessions ---------------------------------------------------------------

  // Live sessions (createSession applied, closeSession not yet): id -> timeout.
  const std::map<int64_t, int32_t>& sessions() const noexcept {
    return sessions_;
  }
  bool has_session(int64_t id) const { return sessions_.count(id) != 0; }
  // The ephemeral paths of a session, sorted.
  std::vector<std::string> ephemerals_of(int64_t session) const;
  // Sessions that own or owned ephemerals and are not closed (ZooKeeper's
  // ephemerals map keeps a session after its last ephemeral is deleted).
  size_t ephemeral_session_count() const noexcept { return ephemerals_.size(); }
  // Paths of container nodes and of TTL nodes (for the container manager).
  const std::set<std::string>& containers() const noexcept {
    return containers_;
  }
  const std::set<std::string>& ttls() const noexcept { return ttls_; }
  // ZooKeeperServer.checkQuota with enforceQuota on: true if adding
  // `count_diff` znodes and `bytes_diff` bytes at `path` takes the innermost
  // quota above it (the path itself included) past a hard limit
  // (countHardLimit / byteHardLimit in its zookeeper_limits node). Soft
  // limits (count / bytes) only ever log in ZooKeeper, so they pass here.
  bool quota_exceeded(std::string_view path, int64_t bytes_diff,
                      int64_t count_diff) const;
  // Paths under quota (a zookeeper_limits node exists for them).
  const std::set<std::string>& quotas() const noexcept { return quotas_; }

  // -- metrics and checks -----------------------------------------------------

  int64_t last_zxid() const noexcept { return last_zxid_; }
  // Every znode including "/" (ZooKeeper's zk_znode_count counts its ""
  // alias too, i.e. one more).
  size_t node_count() const noexcept { return count_; }
  // Sum of path and data lengths over all znodes (zk_approximate_data_size;
  // ZooKeeper counts path length in UTF-16 units, this in bytes).
  int64_t approximate_data_size() const noexcept { return data_size_; }
  size_t ephemeral_count() const noexcept { return ephemeral_count_; }
  size_t acl_cache_size() const noexcept;

  // ZooKeeper's tree digest (DigestCalculator version 2): the sum of a CRC32
  // over each znode's path, data and stored stat, skipping "/zookeeper/...";
  // order-independent and maintained incrementally. Replicas with the same
  // applied txns have the same digest, and it equals what ZooKeeper 3.8
  // computes for the same tree.
  int64_t digest() const noexcept { return static_cast<int64_t>(digest_); }
  // Recomputes the digest from scratch (for tests and invariant checks).
  int64_t compute_digest() const;

  // The 4lw "dump" section on ephemerals, as ZooKeeper prints it (sessions
  // and paths sorted here).
  std::string dump_ephemerals() const;

  // Aborts with a message if a structural invariant does not hold: numChildren
  // equals the children linked, every node's parent exists and links it,
  // the ephemeral, container and TTL indexes match the nodes, counters and
  // the digest match a recomputation, ACL reference counts match. O(n).
  void check_invariants() const;

  // Visits every znode, parents before children (snapshot order).
  void for_each(const std::function<
                void(std::string_view path, const wire::opt_bytes& data,
                     const stat_persisted& stat,
                     const std::vector<wire::acl>& acl)>& f) const;

  // -- point-in-time capture (snapshots) --------------------------------------
  // A copy-on-write walk (the snapshotter's design note explains it): after
  // capture_begin, capture_step visits the znodes a few thousand at a time
  // between applies, and any change to a znode the walk has not reached yet
  // first hands the sink its old state (after its unreached ancestors). The
  // sink thus sees exactly the tree as of capture_zxid(), whatever is
  // applied meanwhile. Capturing changes nothing a reader can see, hence
  // const; one capture at a time.

  // Starts a capture of the tree as it is now. `sink` must outlive it.
  void capture_begin(capture_sink& sink) const;
  // Visits up to `max_nodes` more znodes; true when the capture is complete
  // (it has then ended).
  bool capture_step(size_t max_nodes) const;
  // Ends a capture early; the sink hears nothing more. O(znodes not yet
  // visited).
  void capture_abandon() const;
  bool capturing() const noexcept { return capture_ != nullptr; }
  // last_zxid() when the running capture began.
  int64_t capture_zxid() const noexcept;

  // -- snapshot restore (ZooKeeper's DataTree.deserialize) --------------------
  // Start from a fresh tree, restore every node in for_each order (parents
  // first) and every session, then finish_restore().

  // Sets a node to exactly this stored state, adding it under its parent or
  // replacing it (the system nodes exist already). False, and nothing
  // changes, if the path is not valid or its parent does not exist.
  bool restore_node(std::string_view path, const wire::opt_bytes& data,
                    const stat_persisted& stat,
                    const std::vector<wire::acl>& acl);
  // The same without copying the data first; `acl_hint` is a value returned
  // by an earlier call for the same ACL list (0: none), which skips the ACL
  // cache lookup. Returns the hint for this node's ACL, or -1 on failure.
  int64_t restore_node(std::string_view path, std::string_view data,
                       bool null_data, const stat_persisted& stat,
                       const std::vector<wire::acl>& acl, int64_t acl_hint);
  void restore_session(int64_t session, int32_t timeout_ms);
  // Rebuilds the quota tracking as ZooKeeper does after loading a snapshot
  // (setupQuota: every zookeeper_limits leaf marks its path and its stats
  // node is recounted) and sets last_zxid.
  void finish_restore(int64_t last_zxid);

  // Bytes of memory the tree holds (nodes, index, ACL cache), estimated from
  // allocation sizes; for tests and metrics.
  size_t memory_bytes() const noexcept;

  struct znode;

private:
  class acl_cache;
  class index;
  struct capture_state;

  // DataTree.createNode / deleteNode / setData / setACL.
  wire::err create_node(std::string_view path, const wire::opt_bytes& data,
                        const std::vector<wire::acl>& acl,
                        int64_t ephemeral_owner, int32_t parent_cversion,
                        int64_t zxid, int64_t time, wire::stat* out,
                        std::vector<trigger>& triggers);
  wire::err delete_node(std::string_view path, int64_t zxid,
                        std::vector<trigger>& triggers);
  wire::err set_data(std::string_view path, const wire::opt_bytes& data,
                     int32_t version, int64_t zxid, int64_t time,
                     wire::stat* out, std::vector<trigger>& triggers);
  wire::err set_acl(std::string_view path, const std::vector<wire::acl>& acl,
                    int32_t version, wire::stat* out);
  void kill_session(int64_t session, int64_t zxid,
                    const std::vector<std::string>& paths,
                    std::vector<trigger>& triggers);
  void apply_multi(const txn::header& h, const txn::multi& m,
                   apply_result& out);
  template <class Body> // txn::body or a multi op's body
  void apply_one(const txn::header& h, int32_t type, const Body& b,
                 apply_result& out, op_result* op);

  znode* find(std::string_view path) const;
  // Must run before any stored field of `n` changes or `n` is unlinked:
  // during a capture that has not reached `n`, hands its current state (and
  // that of its unreached ancestors) to the sink first.
  void touch(znode* n) const {
    if (capture_ && n_mark(n) != mark_)
      capture_early(n);
  }
  static bool n_mark(const znode* n) noexcept;
  void capture_early(znode* n) const;
  void capture_emit(znode* n) const;
  // The znode after `n` in preorder, skipping n's subtree.
  znode* next_after_subtree(const znode* n) const;

  // The node at `path` if `who` holds `perm` on it; else nullptr with NoNode
  // or NoAuth in `e` (ZooKeeper checks existence first).
  znode* permitted(std::string_view path, int32_t perm, const auth_ids& who,
                   wire::err& e) const;
  // Replaces a node's data, moving it if its allocation must grow or
  // shrink; returns where it is now. Keeps data_size_, not the digest.
  znode* replace_data(znode* n, const wire::opt_bytes& data);
  znode* replace_data(znode* n, const char* data, int64_t len); // -1: null
  std::optional<std::string> quota_prefix(std::string_view path) const;
  void quota_update_stat(const std::string& prefix, int64_t bytes_diff,
                         int64_t count_diff);
  void quota_recount(std::string_view real_path);
  void quota_after_create(std::string_view path, std::string_view parent_path,
                          std::string_view name, int64_t bytes);
  void quota_after_delete(std::string_view path, std::string_view parent_path,
                          std::string_view name, int64_t bytes);
  void add_ephemeral(int64_t owner, std::string_view path);
  void remove_ephemeral(int64_t owner, std::string_view path);
  uint64_t node_digest(const znode* n) const;
  // Recomputes n's cached digest after a change and returns it.
  uint64_t redigest(znode* n) const;
  void make_system_node(znode* parent, std::string_view path);

  std::unique_ptr<index> index_;
  std::unique_ptr<acl_cache> acls_;
  znode* root_ = nullptr;
  size_t count_ = 0;
  int64_t data_size_ = 0;
  int64_t last_zxid_ = 0;
  uint64_t digest_ = 0;
  std::map<int64_t, int32_t> sessions_;
  std::unordered_map<int64_t, std::set<std::string>> ephemerals_;
  size_t ephemeral_count_ = 0;
  std::set<std::string> containers_;
  std::set<std::string> ttls_;
  // Paths with a quota (ZooKeeper's pTrie), normalized "/a/b".
  std::set<std::string> quotas_;
  // A znode whose mark differs from mark_ has not been visited by the
  // running capture; outside a capture every mark equals mark_, and a
  // capture starts by flipping it.
  mutable bool mark_ = false;
  mutable std::unique_ptr<capture_state> capture_;
};

// The Stat a client sees for a stored stat (DataNode.copyStat).
wire::stat client_stat(const stat_persisted& s, int32_t data_length,
                       int32_t num_children);

} // namespace zkd::datatree
