// Every jute record of ZooKeeper 3.8's client protocol (zookeeper.jute),
// as plain structs with ZooKeeper's field order. Encoding and decoding live in
// jute.hpp / records.cpp; nothing here knows about sockets or CAF.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zkd::wire {

// A jute buffer that may be null (length -1). ZooKeeper keeps the difference
// between null and empty for znode data: getData returns what create stored.
using opt_bytes = std::optional<std::string>;

struct id {
  std::string scheme;
  std::string ident; // "id" in zookeeper.jute
  bool operator==(const id& o) const {
    return scheme == o.scheme && ident == o.ident;
  }
};

struct acl {
  int32_t perms = 0;
  wire::id id;
  bool operator==(const acl& o) const { return perms == o.perms && id == o.id; }
};

struct stat {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int32_t aversion = 0;
  int64_t ephemeral_owner = 0;
  int32_t data_length = 0;
  int32_t num_children = 0;
  int64_t pzxid = 0;
  bool operator==(const stat& o) const;
};

struct connect_request {
  int32_t protocol_version = 0;
  int64_t last_zxid_seen = 0;
  int32_t timeout = 0;
  int64_t session_id = 0;
  std::string passwd;
  bool read_only = false; // optional trailing byte; absent from old clients
  bool has_read_only = false;
};

struct connect_response {
  int32_t protocol_version = 0;
  int32_t timeout = 0;
  int64_t session_id = 0;
  std::string passwd;
  bool read_only = false;
};

struct set_watches {
  int64_t relative_zxid = 0;
  std::vector<std::string> data_watches;
  std::vector<std::string> exist_watches;
  std::vector<std::string> child_watches;
};

struct set_watches2 {
  int64_t relative_zxid = 0;
  std::vector<std::string> data_watches;
  std::vector<std::string> exist_watches;
  std::vector<std::string> child_watches;
  std::vector<std::string> persistent_watches;
  std::vector<std::string> persistent_recursive_watches;
};

struct request_header {
  int32_t xid = 0;
  int32_t type = 0;
};

struct multi_header {
  int32_t type = 0;
  bool done = false;
  int32_t err = 0;
};

struct auth_packet {
  int32_t type = 0;
  std::string scheme;
  std::string auth;
};

struct reply_header {
  int32_t xid = 0;
  int64_t zxid = 0;
  int32_t err = 0;
};

struct get_data_request {
  std::string path;
  bool watch = false;
};

struct set_data_request {
  std::string path;
  opt_bytes data;
  int32_t version = -1;
};

struct reconfig_request {
  std::string joining_servers;
  std::string leaving_servers;
  std::string new_members;
  int64_t cur_config_id = 0;
};

struct set_data_response {
  wire::stat stat;
};

struct create_request {
  std::string path;
  opt_bytes data;
  std::vector<wire::acl> acl;
  int32_t flags = 0;
};

struct create_ttl_request {
  std::string path;
  opt_bytes data;
  std::vector<wire::acl> acl;
  int32_t flags = 0;
  int64_t ttl = 0;
};

struct delete_request {
  std::string path;
  int32_t version = -1;
};

struct get_children_request {
  std::string path;
  bool watch = false;
};

struct get_all_children_number_request {
  std::string path;
};

struct get_children2_request {
  std::string path;
  bool watch = false;
};

struct check_version_request {
  std::string path;
  int32_t version = -1;
};

struct sync_request {
  std::string path;
};

struct sync_response {
  std::string path;
};

struct get_acl_request {
  std::string path;
};

struct set_acl_request {
  std::string path;
  std::vector<wire::acl> acl;
  int32_t version = -1;
};

struct set_acl_response {
  wire::stat stat;
};

struct add_watch_request {
  std::string path;
  int32_t mode = 0;
};

struct watcher_event {
  int32_t type = 0;
  int32_t state = 0;
  std::string path;
};

struct error_response {
  int32_t err = 0;
};

struct create_response {
  std::string path;
};

struct create2_response {
  std::string path;
  wire::stat stat;
};

struct exists_request {
  std::string path;
  bool watch = false;
};

struct exists_response {
  wire::stat stat;
};

struct get_data_response {
  opt_bytes data;
  wire::stat stat;
};

struct get_children_response {
  std::vector<std::string> children;
};

struct get_all_children_number_response {
  int32_t total_number = 0;
};

struct get_children2_response {
  std::vector<std::string> children;
  wire::stat stat;
};

struct get_acl_response {
  std::vector<wire::acl> acl;
  wire::stat stat;
};

struct check_watches_request {
  std::string path;
  int32_t type = 0;
};

struct remove_watches_request {
  std::string path;
  int32_t type = 0;
};

struct get_ephemerals_request {
  std::string prefix_path;
};

struct get_ephemerals_response {
  std::vector<std::string> ephemerals;
};

struct client_info {
  std::string auth_scheme;
  std::string user;
};

struct whoami_response {
  std::vector<wire::client_info> client_info;
};

} // namespace zkd::wire
