// zkd configuration: one YAML file describes the whole ensemble; a node picks
// itself out of it by id. Also reads an unchanged Apache ZooKeeper zoo.cfg.
//
// Nothing here logs or throws: problems come back as data (file, line and a
// sentence), so the caller decides how to print them and whether to stop.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zkd::config {

enum class role { participant, observer };

// "participant" / "observer".
std::string_view to_string(role r);

// One member of the ensemble.
struct server {
  uint64_t id = 1;
  std::string host = "127.0.0.1"; // quorum and election ports listen here
  uint16_t quorum_port = 2888;    // followers connect to the leader here
  uint16_t election_port = 3888;  // leader election
  uint16_t client_port = 2181;    // default: cluster client.port
  std::string client_address = "127.0.0.1"; // default: cluster client.address
  role r = role::participant;
  std::string data_dir;       // "" = the cluster's data_dir
  std::string data_log_dir;   // "" = the cluster's data_log_dir, else data_dir
  uint16_t admin_port = 8080; // default: cluster admin.port
};

bool operator==(const server& x, const server& y);
inline bool operator!=(const server& x, const server& y) {
  return !(x == y);
}

struct client_settings {
  std::string address = "127.0.0.1";
  uint16_t port = 2181;
};

struct admin_settings {
  bool enabled = false;
  std::string address = "127.0.0.1";
  uint16_t port = 8080;
};

struct log_settings {
  std::string level = "info";                // one of log_levels()
  std::string file;                          // "" = standard error
  std::map<std::string, std::string> levels; // actor kind -> level
};

struct trace_settings {
  std::string file;                // "" = no trace file
  std::vector<std::string> actors; // actor kinds traced, each in actor_kinds()
};

// Where a cluster was read from: used only to point messages at the file.
struct origin {
  std::string file;     // as given to the parser, "" for built-in defaults
  int servers_line = 0; // 1-based line of the `servers` key, 0 = absent
};

// The whole ensemble, with every default already applied. A
// default-constructed cluster is the standalone node an empty file describes.
struct cluster {
  int32_t tick_ms = 2000;
  int32_t init_limit_ticks = 10;
  int32_t sync_limit_ticks = 5;
  int32_t min_session_timeout_ms = 4000;  // default 2 x tick_ms
  int32_t max_session_timeout_ms = 40000; // default 20 x tick_ms
  int32_t max_client_connections = 60;    // per client IP, 0 = unlimited
  // ZooKeeper's jute.maxbuffer default is 0xfffff: a frame whose length
  // field is larger than this closes the connection.
  int32_t max_frame_bytes = 1048575;
  // Enabled four-letter words, sorted; always holds "srvr" (ZooKeeper
  // enables it whatever the whitelist says, zkServer.sh depends on it).
  std::vector<std::string> four_letter_words = {"srvr"};
  bool extended_types = false; // TTL nodes (extendedTypesEnabled)
  int64_t container_check_interval_ms = 60000;
  bool fsync = true;
  int64_t snapshot_count = 100000; // txns between snapshots
  // Log bytes between snapshots (ZooKeeper's snapSizeLimitInKb, 4 GiB by
  // default); 0: only snapshot_count counts.
  int64_t snapshot_bytes = int64_t{4} << 30;
  // zkd only: a snapshot also waits for about this percentage of the tree's
  // znodes in txns (see actors/snapshotter/trigger.hpp); 0: ZooKeeper's
  // rule alone.
  int64_t snapshot_tree_percent = 100;
  // Snapshots kept when older ones are purged (autopurge.snapRetainCount);
  // at least 3.
  int32_t snapshot_retain = 3;
  // zookeeper.enforceQuota: a write past a quota fails (QuotaExceeded)
  // instead of only being logged.
  bool enforce_quota = false;
  std::string data_dir = "./data";
  std::string data_log_dir; // "" = data_dir
  client_settings client;
  admin_settings admin;
  log_settings log;
  trace_settings trace;
  std::string super_digest;    // "user:base64(sha1(user:password))" or ""
  std::vector<server> servers; // empty = standalone (implicit server 1)
  struct origin origin;        // not part of equality

  bool standalone() const { return servers.empty(); }

  // The servers list, or the one implicit server of a standalone node.
  std::vector<server> members() const;

  bool four_letter_word_enabled(std::string_view word) const;
};

// Compares every setting, not the origin.
bool operator==(const cluster& x, const cluster& y);
inline bool operator!=(const cluster& x, const cluster& y) {
  return !(x == y);
}

// One problem, pointing into a file. line is 1-based; 0 = the whole file.
struct diagnostic {
  std::string file;
  int line = 0;
  std::string message;

  // "FILE:LINE: message" (or "FILE: message" without a line).
  std::string to_string() const;
};

using error = diagnostic;
using warning = diagnostic;

// A value, or the errors that prevented it. Warnings come either way.
template <class T>
struct result {
  std::optional<T> value; // set if and only if errors is empty
  std::vector<error> errors;
  std::vector<warning> warnings;

  bool ok() const { return errors.empty(); }
};

// What one node runs with: the ensemble plus which member it is.
struct node_config {
  cluster c;
  uint64_t id = 1;
  server self;
  std::string data_dir;     // effective: self.data_dir or c.data_dir
  std::string data_log_dir; // effective: self, else cluster, else data_dir
};

// --- YAML --------------------------------------------------------------------

// Parses and validates a YAML document. file_name is used in messages only.
// Empty text (or only comments) gives the default standalone cluster.
result<cluster> parse_yaml(std::string_view text, const std::string& file_name);

// Reads a file and parses it; a missing or unreadable file is an error.
result<cluster> load_yaml_file(const std::string& path);

// Picks node `id` out of the cluster. Without an id, a standalone cluster
// gives server 1 and a one-server list gives that server; a larger ensemble
// needs one.
result<node_config> resolve(const cluster& c, std::optional<uint64_t> id);

// A complete YAML document for the cluster (every key written out) that
// parse_yaml reads back into an equal cluster. Each line of header, if any,
// becomes a comment at the top.
std::string to_yaml(const cluster& c, std::string_view header = {});

// --- zoo.cfg -----------------------------------------------------------------

struct zoo_cfg {
  cluster c;
  std::optional<uint64_t> myid; // from dataDir/myid when that file exists
};

// Reads an Apache ZooKeeper 3.8 zoo.cfg (and dataDir/myid, and a
// dynamicConfigFile if one is named). Values ZooKeeper would reject are
// errors; keys zkd does not act on are warnings and are otherwise ignored.
result<zoo_cfg> parse_zoo_cfg(const std::string& path);

// As parse_zoo_cfg, from text already in memory (myid and a dynamic config
// file are still read from disk).
result<zoo_cfg> parse_zoo_cfg_text(std::string_view text,
                                   const std::string& file_name);

// The node a zoo.cfg describes: server myid of the ensemble, or the
// standalone node. A multi-server ensemble without a myid file is an error,
// as in ZooKeeper.
result<node_config> resolve(const zoo_cfg& z);

// --- vocabularies ------------------------------------------------------------

// Every four-letter word ZooKeeper 3.8 knows, sorted.
const std::vector<std::string>& known_four_letter_words();

// Actor kinds that can be traced and given their own log level.
const std::vector<std::string>& actor_kinds();

// Log level names (spdlog's).
const std::vector<std::string>& log_levels();

} // namespace zkd::config
