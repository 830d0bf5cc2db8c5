#include "protocol.hpp"

#include "records.hpp"

namespace zkd::wire {

bool is_write(int32_t opcode) {
  // Request.isQuorum() of ZooKeeper 3.8, with create/closeSession counted as
  // writes because zkd has no local sessions. `error` is here because an
  // error txn is logged and committed like any other txn. `sync` is not: it
  // changes nothing, although it also waits for the leader.
  switch (opcode) {
  case op::create:
  case op::create2:
  case op::create_ttl:
  case op::create_container:
  case op::remove:
  case op::delete_container:
  case op::set_data:
  case op::set_acl:
  case op::check:
  case op::multi:
  case op::reconfig:
  case op::create_session:
  case op::close_session:
  case op::error:
    return true;
  default:
    return false;
  }
}

std::string_view op_name(int32_t opcode) {
  // Request.op2String(), which prints "unknown <n>" for addWatch; we name it.
  switch (opcode) {
  case op::notification:
    return "notification";
  case op::create:
    return "create";
  case op::remove:
    return "delete";
  case op::exists:
    return "exists";
  case op::get_data:
    return "getData";
  case op::set_data:
    return "setData";
  case op::get_acl:
    return "getACL";
  case op::set_acl:
    return "setACL";
  case op::get_children:
    return "getChildren";
  case op::sync:
    return "sync";
  case op::ping:
    return "ping";
  case op::get_children2:
    return "getChildren2";
  case op::check:
    return "check";
  case op::multi:
    return "multi";
  case op::create2:
    return "create2";
  case op::reconfig:
    return "reconfig";
  case op::check_watches:
    return "checkWatches";
  case op::remove_watches:
    return "removeWatches";
  case op::create_container:
    return "createContainer";
  case op::delete_container:
    return "deleteContainer";
  case op::create_ttl:
    return "createTtl";
  case op::multi_read:
    return "multiRead";
  case op::auth:
    return "auth";
  case op::set_watches:
    return "setWatches";
  case op::set_watches2:
    return "setWatches2";
  case op::sasl:
    return "sasl";
  case op::get_ephemerals:
    return "getEphemerals";
  case op::get_all_children_number:
    return "getAllChildrenNumber";
  case op::add_watch:
    return "addWatch";
  case op::whoami:
    return "whoAmI";
  case op::create_session:
    return "createSession";
  case op::close_session:
    return "closeSession";
  case op::error:
    return "error";
  default:
    return "unknown";
  }
}

std::string_view err_name(err e) {
  // KeeperException.getCodeMessage(), the text after "KeeperErrorCode = ".
  switch (e) {
  case err::ok:
    return "ok";
  case err::system_error:
    return "SystemError";
  case err::runtime_inconsistency:
    return "RuntimeInconsistency";
  case err::data_inconsistency:
    return "DataInconsistency";
  case err::connection_loss:
    return "ConnectionLoss";
  case err::marshalling_error:
    return "MarshallingError";
  case err::unimplemented:
    return "Unimplemented";
  case err::operation_timeout:
    return "OperationTimeout";
  case err::bad_arguments:
    return "BadArguments";
  case err::new_config_no_quorum:
    return "NewConfigNoQuorum";
  case err::reconfig_in_progress:
    return "ReconfigInProgress";
  case err::unknown_session:
    return "UnknownSession";
  case err::api_error:
    return "APIError";
  case err::no_node:
    return "NoNode";
  case err::no_auth:
    return "NoAuth";
  case err::bad_version:
    return "BadVersion";
  case err::no_children_for_ephemerals:
    return "NoChildrenForEphemerals";
  case err::node_exists:
    return "NodeExists";
  case err::not_empty:
    return "Directory not empty";
  case err::session_expired:
    return "Session expired";
  case err::invalid_callback:
    return "Invalid callback";
  case err::invalid_acl:
    return "InvalidACL";
  case err::auth_failed:
    return "AuthFailed";
  case err::session_moved:
    return "Session moved";
  case err::not_read_only:
    return "Not a read-only call";
  case err::ephemeral_on_local_session:
    return "Ephemeral node on local session";
  case err::no_watcher:
    return "No such watcher";
  case err::request_timeout:
    return "RequestTimeout";
  case err::reconfig_disabled:
    return "Reconfig is disabled";
  case err::session_closed_require_sasl_auth:
    return "Session closed because client failed to authenticate";
  case err::quota_exceeded:
    return "Quota has exceeded";
  case err::throttled_op:
    return "Op throttled due to high load";
  }
  return "Unknown error";
}

bool stat::operator==(const stat& o) const {
  return czxid == o.czxid && mzxid == o.mzxid && ctime == o.ctime &&
         mtime == o.mtime && version == o.version && cversion == o.cversion &&
         aversion == o.aversion && ephemeral_owner == o.ephemeral_owner &&
         data_length == o.data_length && num_children == o.num_children &&
         pzxid == o.pzxid;
}

} // namespace zkd::wire
