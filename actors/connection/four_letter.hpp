// ZooKeeper's four-letter words: recognising them on the client port and
// formatting their answers byte for byte as ZooKeeper 3.8 prints them
// (org.apache.zookeeper.server.command.*, checked against a running 3.8.0).
//
// Pure: the connection actor gathers a server_stats snapshot from the other
// actors, calls answer(), writes the text and closes the connection (as
// ZooKeeper does after every four-letter word).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zkd::connection {

// Every word ZooKeeper 3.8 knows (FourLetterCommands.cmd2String).
enum class four_letter_word : uint8_t {
  conf,
  cons,
  crst,
  dirs,
  dump,
  envi,
  gtmk,
  hash,
  isro,
  mntr,
  ruok,
  srst,
  srvr,
  stat,
  stmk,
  // The bytes telnet sends when it closes (0xfff4fffd). ZooKeeper lists it
  // so it is not taken for a frame length; it has no answer of its own.
  telnet_close,
  wchc,
  wchp,
  wchs,
};

// A connection's first four bytes, read as a big-endian int (the place a
// frame length would be), name a four-letter word or not.
std::optional<four_letter_word>
four_letter_from_code(uint32_t first_four_bytes);
inline bool is_four_letter_word(uint32_t first_four_bytes) {
  return four_letter_from_code(first_four_bytes).has_value();
}
std::optional<four_letter_word> four_letter_from_name(std::string_view name);
// "ruok", ..., and "telnet close" for telnet_close.
std::string_view four_letter_name(four_letter_word w);
uint32_t four_letter_code(four_letter_word w);

// ZooKeeper's 4lw.commands.whitelist.
class four_letter_whitelist {
public:
  // `spec`: comma-separated names, blanks trimmed, "*" enables every word.
  // srvr is always enabled (zkServer.sh status needs it); isro too when
  // read-only mode is enabled. ZooKeeper 3.8's default spec is empty, which
  // leaves srvr alone.
  explicit four_letter_whitelist(std::string_view spec = "",
                                 bool read_only_mode_enabled = false);
  bool enabled(four_letter_word w) const;

private:
  uint32_t bits_ = 0;
};

// ---- inputs ---------------------------------------------------------------

// ZooKeeper's AvgMinMaxCounter: request latencies in ms.
struct latency_stats {
  int64_t count = 0;
  int64_t total_ms = 0;
  int64_t min_ms = 0; // meaningful when count > 0
  int64_t max_ms = 0;
  void record(int64_t ms);
  void reset() { *this = latency_stats{}; }
};

// One client connection as cons/stat print it (ServerCnxn).
struct connection_stats {
  // Java's InetSocketAddress text, e.g. "/127.0.0.1:41882";
  // see java_socket_address().
  std::string remote_address;
  // NIO interest ops, printed in hex: 1 = reading (the normal case), 0 =
  // not reading (ZooKeeper shows 0 for the 4lw connection itself).
  int32_t interest_ops = 1;
  int64_t outstanding_requests = 0; // "queued"
  int64_t packets_received = 0;
  int64_t packets_sent = 0;
  int64_t session_id = 0; // 0: no session yet; the details below are skipped
  std::string last_operation = "NA"; // see last_operation_name()
  int64_t established_ms = 0;        // wall clock, ms since the epoch
  int32_t session_timeout_ms = 0;
  int64_t last_cxid = -1;       // printed only when >= 0
  int64_t last_zxid = -1;       // printed in hex; -1 shows as ffffffffffffffff
  int64_t last_response_ms = 0; // ZooKeeper prints its monotonic clock here
  int64_t last_latency_ms = 0;
  latency_stats latency; // avg is the integer quotient, as in Java
};

// What conf prints for a quorum member (QuorumServer.toString).
struct quorum_member {
  int64_t id = 0;
  std::string host; // IPv6 literals are bracketed when printed
  int32_t quorum_port = 0;
  int32_t election_port = 0;
  bool observer = false;
  // "host:port" of a dynamically configured client address; empty when
  // it comes from clientPort (ZooKeeper then omits it).
  std::string client_address;
};

struct quorum_conf {
  int32_t init_limit = 10;
  int32_t sync_limit = 5;
  int32_t election_alg = 3;
  int32_t election_port = 0;
  int32_t quorum_port = 0;
  int32_t peer_type = 0; // LearnerType ordinal: 0 participant, 1 observer
  std::vector<quorum_member> members; // printed in this order (by id)
  int64_t config_version = 0;         // printed in hex
};

// What conf prints (ZooKeeperServer.dumpConf and the quorum additions).
struct server_conf {
  int32_t client_port = 2181;
  int32_t secure_client_port = -1;
  std::string data_dir;      // ZooKeeper shows <dataDir>/version-2
  int64_t data_dir_size = 0; // bytes of the files in it
  std::string data_log_dir;
  int64_t data_log_size = 0;
  int32_t tick_time = 2000;
  int32_t max_client_cnxns = 60;
  int32_t min_session_timeout = 4000;
  int32_t max_session_timeout = 40000;
  int32_t client_port_listen_backlog = -1;
  int64_t server_id = 0;
  // The quorum section, printed when `quorum_mode` (not in standalone).
  // (A flag rather than std::optional: GCC 12 warns falsely about
  // optionals of containers at -O2.)
  bool quorum_mode = false;
  quorum_conf quorum;
};

// Leader-only figures (srvr/stat "Proposal sizes", mntr gauges).
struct leader_stats {
  int64_t last_proposal_size = -1; // BufferStats: -1 until a proposal
  int64_t min_proposal_size = -1;
  int64_t max_proposal_size = -1;
  int64_t learners = 0;
  int64_t synced_followers = 0;
  int64_t synced_non_voting_followers = 0;
  int64_t synced_observers = 0;
  int64_t pending_syncs = 0;
  int64_t leader_uptime_ms = 0;
};

// One bucket of an expiry queue for dump (times are wall clock, ms since
// the epoch; ZooKeeper converts its monotonic deadlines the same way).
struct session_bucket {
  int64_t expires_at_ms = 0;
  std::vector<int64_t> sessions;
};
struct connection_bucket {
  int64_t expires_at_ms = 0;
  // (remote_address as in connection_stats, session id or 0)
  std::vector<std::pair<std::string, int64_t>> connections;
};

// One entry of mntr (and of the admin server's monitor command): ZooKeeper's
// key without the "zk_" prefix, and the value with the type ZooKeeper's JSON
// gives it (mntr prints integers in decimal, reals as Java doubles).
struct monitor_value {
  enum class kind : uint8_t { text, integer, real };
  std::string key;
  kind type = kind::integer;
  std::string text;
  int64_t integer = 0;
  double real = 0.0;

  static monitor_value of_text(std::string key, std::string v);
  static monitor_value of_integer(std::string key, int64_t v);
  static monitor_value of_real(std::string key, double v);
};

// Same shapes as watch_dispatcher::watches_by_session / _by_path.
using watches_by_session =
    std::vector<std::pair<int64_t, std::vector<std::string>>>;
using watches_by_path =
    std::vector<std::pair<std::string, std::vector<int64_t>>>;

// Everything the answers draw on. The shell fills what the word at hand
// needs; the rest may stay default.
struct server_stats {
  // False while the node has no role that serves clients (LOOKING, or
  // syncing): most words then answer ZooKeeper's "not currently serving".
  bool serving = true;
  bool read_only = false; // a read-only server (isro "ro", stat banner)
  // Printed after "Zookeeper version: " and in mntr/envi. Keep a leading
  // "3.8.0"-style number: tools (kazoo's server_version) parse it.
  std::string version;
  // "standalone", "leader", "follower", "observer" or "read-only".
  std::string server_state = "standalone";

  latency_stats latency;
  int64_t packets_received = 0;
  int64_t packets_sent = 0;
  int64_t num_alive_connections = 0;
  int64_t outstanding_requests = 0;
  int64_t last_processed_zxid = 0;
  int64_t node_count = 0;
  std::optional<leader_stats> leader; // set when server_state == "leader"
  std::vector<connection_stats> connections; // cons, stat

  // mntr gauges, in ZooKeeper's names.
  std::string peer_state; // e.g. "leading - broadcast"; empty: standalone
  std::optional<int64_t> observer_master_id; // observers only
  std::optional<int64_t> quorum_size;        // quorum servers only
  int64_t ephemerals_count = 0;
  int64_t global_sessions = 0;
  int64_t local_sessions = 0;
  int64_t watch_count = 0;
  int64_t approximate_data_size = 0;
  int64_t open_file_descriptor_count = 0;
  int64_t max_file_descriptor_count = 0;
  int64_t uptime_ms = 0;
  int64_t last_client_response_size = -1;
  int64_t min_client_response_size = -1;
  int64_t max_client_response_size = -1;
  int64_t non_mtls_remote_conn_count = 0;
  int64_t non_mtls_local_conn_count = 0;
  int64_t auth_failed_count = 0;
  int64_t outstanding_tls_handshake = 0;
  double connection_drop_probability = 0.0;
  // ZooKeeper's counters and summaries that zkd keeps (bytes_received_count;
  // avg_/min_/max_/cnt_/sum_ of fsynctime, readlatency, updatelatency; see
  // add_summary), printed after the gauges.
  std::vector<monitor_value> counters;
  // Further mntr lines, appended as "zk_<key>\t<v>".
  std::vector<std::pair<std::string, std::string>> extra_metrics;

  server_conf conf; // conf, dirs

  // envi: key/value lines in order. ZooKeeper prints zookeeper.version,
  // host.name, java.version, java.vendor, java.home, java.class.path,
  // java.library.path, java.io.tmpdir, java.compiler, os.name, os.arch,
  // os.version, user.name, user.home, user.dir, os.memory.free,
  // os.memory.max, os.memory.total.
  std::vector<std::pair<std::string, std::string>> environment;

  // wchs / wchc / wchp (ZooKeeper reports the data-watch table only).
  size_t watching_connections = 0;
  size_t watched_paths = 0;
  size_t total_watches = 0;
  watches_by_session watches_by_session_list;
  watches_by_path watches_by_path_list;

  // dump. A leader or standalone prints its expiry buckets; a follower or
  // observer (learner_dump) has no expiry queue and lists (session,
  // timeout) pairs instead.
  std::vector<session_bucket> session_buckets;
  bool learner_dump = false;
  std::vector<std::pair<int64_t, int32_t>> learner_sessions;
  std::vector<std::pair<int64_t, std::vector<std::string>>> ephemerals;
  std::vector<connection_bucket> connection_buckets;

  // hash: (zxid, digest) pairs, oldest first.
  std::vector<std::pair<int64_t, int64_t>> digests;
  // gtmk / stmk. ZooKeeper's default text trace mask is 306.
  int64_t trace_mask = 306;
};

// ---- answers ----------------------------------------------------------------

// mntr's entries in ZooKeeper's order: the gauges, then `counters`, then
// `extra_metrics` (typed as integer or real when they read as one). Empty
// when the server is not serving. flw::mntr prints exactly these.
std::vector<monitor_value> monitor_values(const server_stats& s);

// Appends ZooKeeper's summary entries avg_<name> (rounded like
// avg_latency), min_<name>, max_<name>, cnt_<name> and sum_<name>.
void add_summary(std::vector<monitor_value>& out, std::string_view name,
                 const latency_stats& l);

// "This ZooKeeper instance is not currently serving requests" (no newline).
extern const std::string_view not_serving_text;

// What ZooKeeper writes for `w` when it is enabled; the refusal text when
// it is not. For stmk, `stats.trace_mask` is the mask just set. crst/srst
// only produce the text: the shell resets the counters itself. For
// telnet_close ZooKeeper writes nothing and closes: so does this.
std::string answer(four_letter_word w, const four_letter_whitelist& allowed,
                   const server_stats& stats);

// "<name> is not executed because it is not in the whitelist.\n"
std::string not_in_whitelist(four_letter_word w);

// The individual answers (the same text answer() produces), in their own
// namespace: names like stat and hash would clash with ::stat and friends.
namespace flw {
std::string ruok();
std::string srvr(const server_stats& s);
std::string stat(const server_stats& s);
std::string cons(const server_stats& s);
std::string conf(const server_stats& s);
std::string envi(const server_stats& s);
std::string mntr(const server_stats& s);
std::string isro(const server_stats& s);
std::string dirs(const server_stats& s);
std::string wchs(const server_stats& s);
std::string wchc(const server_stats& s);
std::string wchp(const server_stats& s);
std::string dump(const server_stats& s);
std::string crst(const server_stats& s);
std::string srst(const server_stats& s);
std::string hash(const server_stats& s);
std::string gtmk(const server_stats& s);
std::string stmk(const server_stats& s);
} // namespace flw

// ---- helpers
// ------------------------------------------------------------------

// ZooKeeper's 4-letter name of the last operation (ServerCnxn lastOp,
// FinalRequestProcessor), e.g. "GETD", "CREA", "PING"; "NA" for others.
std::string_view last_operation_name(int32_t opcode);

// Java's InetSocketAddress.toString for an unresolved literal:
// "/127.0.0.1:2181", "/[::1]:2181".
std::string java_socket_address(std::string_view ip, int32_t port);

// The fields of a UTC time both Java's Date.toString and HTTP dates print,
// with English day and month names. Floor division: a negative time rounds
// toward the past, as Date does.
struct utc_time {
  const char* day;   // "Sun" .. "Sat"
  const char* month; // "Jan" .. "Dec"
  int mday, year, hour, min, sec;
};
utc_time utc_time_of(int64_t epoch_ms);

// Java's Date.toString in UTC: "Sat Nov 21 23:46:26 UTC 2026".
std::string java_date_utc(int64_t epoch_ms);

// Java's Double.toString: "0.0", "4.3077", "1.0E-4", "1.0E7". Matches
// JDK 17 exactly in plain notation (1e-3 <= |v| < 1e7, checked on 128k
// values); in E notation JDK 17 sometimes prints a digit more than the
// shortest form we print.
std::string java_double(double v);

// ZooKeeper's average latency: total/count rounded half-up to 4 decimals,
// then printed as a Java double ("0.0" when there are no samples).
std::string java_avg_latency(const latency_stats& l);
// The same average as a double (0.0 without samples).
double avg_latency(const latency_stats& l);

// Long.toHexString: two's complement, lower case, no leading zeros.
std::string java_hex(int64_t v);

} // namespace zkd::connection
