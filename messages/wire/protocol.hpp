// Op codes, error codes, special xids and event types of ZooKeeper 3.8's
// client protocol, with ZooKeeper's own numbers (ZooDefs.OpCode,
// KeeperException.Code, Watcher.Event).
#pragma once

#include <cstdint>
#include <string_view>

namespace zkd::wire {

namespace op {
constexpr int32_t notification = 0;
constexpr int32_t create = 1;
constexpr int32_t remove = 2; // ZooKeeper's "delete"
constexpr int32_t exists = 3;
constexpr int32_t get_data = 4;
constexpr int32_t set_data = 5;
constexpr int32_t get_acl = 6;
constexpr int32_t set_acl = 7;
constexpr int32_t get_children = 8;
constexpr int32_t sync = 9;
constexpr int32_t ping = 11;
constexpr int32_t get_children2 = 12;
constexpr int32_t check = 13;
constexpr int32_t multi = 14;
constexpr int32_t create2 = 15;
constexpr int32_t reconfig = 16;
constexpr int32_t check_watches = 17;
constexpr int32_t remove_watches = 18;
constexpr int32_t create_container = 19;
constexpr int32_t delete_container = 20;
constexpr int32_t create_ttl = 21;
constexpr int32_t multi_read = 22;
constexpr int32_t auth = 100;
constexpr int32_t set_watches = 101;
constexpr int32_t sasl = 102;
constexpr int32_t get_ephemerals = 103;
constexpr int32_t get_all_children_number = 104;
constexpr int32_t set_watches2 = 105;
constexpr int32_t add_watch = 106;
constexpr int32_t whoami = 107;
constexpr int32_t create_session = -10;
constexpr int32_t close_session = -11;
constexpr int32_t error = -1;
} // namespace op

// True for op codes that travel the write path (leader, log, commit):
// ZooKeeper's Request.isQuorum(), i.e. everything that changes the tree or
// the session table plus check (it is a txn, alone or in a multi) and the
// error txn. Not sync, which changes nothing.
bool is_write(int32_t opcode);

// Human-readable op name as ZooKeeper prints it (Request.op2String).
std::string_view op_name(int32_t opcode);

enum class err : int32_t {
  ok = 0,
  system_error = -1,
  runtime_inconsistency = -2,
  data_inconsistency = -3,
  connection_loss = -4,
  marshalling_error = -5,
  unimplemented = -6,
  operation_timeout = -7,
  bad_arguments = -8,
  new_config_no_quorum = -13,
  reconfig_in_progress = -14,
  unknown_session = -12,
  api_error = -100,
  no_node = -101,
  no_auth = -102,
  bad_version = -103,
  no_children_for_ephemerals = -108,
  node_exists = -110,
  not_empty = -111,
  session_expired = -112,
  invalid_callback = -113,
  invalid_acl = -114,
  auth_failed = -115,
  session_moved = -118,
  not_read_only = -119,
  ephemeral_on_local_session = -120,
  no_watcher = -121,
  request_timeout = -122,
  reconfig_disabled = -123,
  session_closed_require_sasl_auth = -124,
  quota_exceeded = -125,
  throttled_op = -127,
};

std::string_view err_name(err e);

// Special xids of the reply header.
namespace xid {
constexpr int32_t notification = -1;
constexpr int32_t ping = -2;
constexpr int32_t auth = -4;
constexpr int32_t set_watches = -8;
} // namespace xid

enum class event_type : int32_t {
  none = -1,
  node_created = 1,
  node_deleted = 2,
  node_data_changed = 3,
  node_children_changed = 4,
  data_watch_removed = 5,
  child_watch_removed = 6,
  persistent_watch_removed = 7,
};

enum class keeper_state : int32_t {
  disconnected = 0,
  sync_connected = 3,
  auth_failed = 4,
  connected_read_only = 5,
  sasl_authenticated = 6,
  expired = -112,
  closed = 7,
};

// CreateMode flags as sent in CreateRequest.flags.
enum class create_mode : int32_t {
  persistent = 0,
  ephemeral = 1,
  persistent_sequential = 2,
  ephemeral_sequential = 3,
  container = 4,
  persistent_with_ttl = 5,
  persistent_sequential_with_ttl = 6,
};

// ZooDefs.Perms bits.
namespace perm {
constexpr int32_t read = 1;
constexpr int32_t write = 2;
constexpr int32_t create = 4;
constexpr int32_t remove = 8;
constexpr int32_t admin = 16;
constexpr int32_t all = 31;
} // namespace perm

// AddWatchMode.
enum class add_watch_mode : int32_t {
  persistent = 0,
  persistent_recursive = 1
};

// WatcherType of checkWatches/removeWatches.
enum class watcher_type : int32_t { children = 1, data = 2, any = 3 };

} // namespace zkd::wire
