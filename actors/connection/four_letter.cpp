#include "four_letter.hpp"

#include "messages/wire/protocol.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iterator>

namespace zkd::connection {

const std::string_view not_serving_text =
    "This ZooKeeper instance is not currently serving requests";

namespace {

struct word_entry {
  four_letter_word word;
  std::string_view name;
};

// In enum order, so the table is indexable by the enum value.
constexpr word_entry words[] = {
    {four_letter_word::conf, "conf"},
    {four_letter_word::cons, "cons"},
    {four_letter_word::crst, "crst"},
    {four_letter_word::dirs, "dirs"},
    {four_letter_word::dump, "dump"},
    {four_letter_word::envi, "envi"},
    {four_letter_word::gtmk, "gtmk"},
    {four_letter_word::hash, "hash"},
    {four_letter_word::isro, "isro"},
    {four_letter_word::mntr, "mntr"},
    {four_letter_word::ruok, "ruok"},
    {four_letter_word::srst, "srst"},
    {four_letter_word::srvr, "srvr"},
    {four_letter_word::stat, "stat"},
    {four_letter_word::stmk, "stmk"},
    {four_letter_word::telnet_close, "telnet close"},
    {four_letter_word::wchc, "wchc"},
    {four_letter_word::wchp, "wchp"},
    {four_letter_word::wchs, "wchs"},
};

constexpr uint32_t telnet_close_code = 0xfff4fffdU;

uint32_t bit(four_letter_word w) {
  return uint32_t{1} << static_cast<unsigned>(w);
}

std::string_view trim(std::string_view s) {
  // Java's String.trim: strips every char <= ' ' at both ends.
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ')
    s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ')
    s.remove_suffix(1);
  return s;
}

std::string dec(int64_t v) {
  return std::to_string(v);
}

std::string hex_id(int64_t v) {
  return "0x" + java_hex(v);
}

std::string not_serving_line() {
  std::string s{not_serving_text};
  s += '\n';
  return s;
}

// ServerCnxn.dumpConnectionInfo, without the trailing newline.
void append_connection(std::string& out, const connection_stats& c,
                       bool brief) {
  out += ' ';
  out += c.remote_address;
  out += '[';
  out += c.interest_ops == 0 ? std::string{"0"}
                             : java_hex(static_cast<uint32_t>(c.interest_ops));
  out += "](queued=" + dec(c.outstanding_requests);
  out += ",recved=" + dec(c.packets_received);
  out += ",sent=" + dec(c.packets_sent);
  if (!brief && c.session_id != 0) {
    out += ",sid=" + hex_id(c.session_id);
    out += ",lop=" + c.last_operation;
    out += ",est=" + dec(c.established_ms);
    out += ",to=" + dec(c.session_timeout_ms);
    if (c.last_cxid >= 0)
      out += ",lcxid=" + hex_id(c.last_cxid);
    out += ",lzxid=" + hex_id(c.last_zxid);
    out += ",lresp=" + dec(c.last_response_ms);
    out += ",llat=" + dec(c.last_latency_ms);
    auto& l = c.latency;
    out += ",minlat=" + dec(l.count > 0 ? l.min_ms : 0);
    out += ",avglat=" + dec(l.count > 0 ? l.total_ms / l.count : 0);
    out += ",maxlat=" + dec(l.max_ms);
  }
  out += ')';
}

// StatCommand's body, shared by srvr and stat.
std::string server_summary(const server_stats& s, bool with_clients) {
  if (!s.serving)
    return not_serving_line();
  std::string out = "Zookeeper version: " + s.version + "\n";
  if (s.read_only)
    out += "READ-ONLY mode; serving only read-only clients\n";
  if (with_clients) {
    out += "Clients:\n";
    for (auto& c : s.connections) {
      append_connection(out, c, true);
      out += '\n';
    }
    out += '\n';
  }
  // ServerStats.toString
  auto& l = s.latency;
  out += "Latency min/avg/max: " + dec(l.count > 0 ? l.min_ms : 0) + "/" +
         java_avg_latency(l) + "/" + dec(l.max_ms) + "\n";
  out += "Received: " + dec(s.packets_received) + "\n";
  out += "Sent: " + dec(s.packets_sent) + "\n";
  out += "Connections: " + dec(s.num_alive_connections) + "\n";
  out += "Outstanding: " + dec(s.outstanding_requests) + "\n";
  out += "Zxid: " + hex_id(s.last_processed_zxid) + "\n";
  out += "Mode: " + s.server_state + "\n";
  out += "Node count: " + dec(s.node_count) + "\n";
  if (s.server_state == "leader") {
    leader_stats ls = s.leader.value_or(leader_stats{});
    out += "Proposal sizes last/min/max: " + dec(ls.last_proposal_size) + "/" +
           dec(ls.min_proposal_size) + "/" + dec(ls.max_proposal_size) + "\n";
  }
  return out;
}

std::string bracket_host(const std::string& host) {
  if (host.find(':') != std::string::npos &&
      (host.empty() || host.front() != '['))
    return "[" + host + "]";
  return host;
}

} // namespace

// ---- words ----------------------------------------------------------------

std::optional<four_letter_word> four_letter_from_code(uint32_t code) {
  if (code == telnet_close_code)
    return four_letter_word::telnet_close;
  for (auto& e : words) {
    if (e.name.size() != 4)
      continue;
    if (four_letter_code(e.word) == code)
      return e.word;
  }
  return std::nullopt;
}

std::optional<four_letter_word> four_letter_from_name(std::string_view name) {
  for (auto& e : words)
    if (e.name == name)
      return e.word;
  return std::nullopt;
}

std::string_view four_letter_name(four_letter_word w) {
  return words[static_cast<size_t>(w)].name;
}

uint32_t four_letter_code(four_letter_word w) {
  if (w == four_letter_word::telnet_close)
    return telnet_close_code;
  auto n = four_letter_name(w);
  return (uint32_t{static_cast<unsigned char>(n[0])} << 24) |
         (uint32_t{static_cast<unsigned char>(n[1])} << 16) |
         (uint32_t{static_cast<unsigned char>(n[2])} << 8) |
         uint32_t{static_cast<unsigned char>(n[3])};
}

four_letter_whitelist::four_letter_whitelist(std::string_view spec,
                                             bool read_only_mode_enabled) {
  while (true) {
    auto comma = spec.find(',');
    auto item = trim(spec.substr(0, comma));
    if (item == "*") {
      for (auto& e : words)
        bits_ |= bit(e.word);
      break;
    }
    if (auto w = four_letter_from_name(item))
      bits_ |= bit(*w);
    if (comma == std::string_view::npos)
      break;
    spec.remove_prefix(comma + 1);
  }
  // ZooKeeper's own tooling depends on these two.
  if (read_only_mode_enabled)
    bits_ |= bit(four_letter_word::isro);
  bits_ |= bit(four_letter_word::srvr);
}

bool four_letter_whitelist::enabled(four_letter_word w) const {
  return (bits_ & bit(w)) != 0;
}

void latency_stats::record(int64_t ms) {
  if (count == 0 || ms < min_ms)
    min_ms = ms;
  if (ms > max_ms)
    max_ms = ms;
  total_ms += ms;
  ++count;
}

// ---- answers ----------------------------------------------------------------

std::string not_in_whitelist(four_letter_word w) {
  std::string out{four_letter_name(w)};
  out += " is not executed because it is not in the whitelist.\n";
  return out;
}

monitor_value monitor_value::of_text(std::string key, std::string v) {
  monitor_value m;
  m.key = std::move(key);
  m.type = kind::text;
  m.text = std::move(v);
  return m;
}

monitor_value monitor_value::of_integer(std::string key, int64_t v) {
  monitor_value m;
  m.key = std::move(key);
  m.type = kind::integer;
  m.integer = v;
  return m;
}

monitor_value monitor_value::of_real(std::string key, double v) {
  monitor_value m;
  m.key = std::move(key);
  m.type = kind::real;
  m.real = v;
  return m;
}

std::vector<monitor_value> monitor_values(const server_stats& s) {
  std::vector<monitor_value> out;
  if (!s.serving)
    return out;
  auto text = [&out](const char* key, std::string v) {
    out.push_back(monitor_value::of_text(key, std::move(v)));
  };
  auto put = [&out](const char* key, int64_t v) {
    out.push_back(monitor_value::of_integer(key, v));
  };
  auto real = [&out](const char* key, double v) {
    out.push_back(monitor_value::of_real(key, v));
  };
  const leader_stats* ld = s.leader ? &*s.leader : nullptr;
  auto& l = s.latency;
  // The order ZooKeeper 3.8 prints: dumpMonitorValues, then the gauges in
  // the iteration order of its metrics provider's map (captured from a
  // standalone server, a follower and a leader; the role-specific gauges
  // slot in between without reordering the others).
  text("version", s.version);
  text("server_state", s.server_state);
  if (!s.peer_state.empty())
    text("peer_state", s.peer_state);
  if (s.observer_master_id)
    put("observer_master_id", *s.observer_master_id);
  put("ephemerals_count", s.ephemerals_count);
  put("num_alive_connections", s.num_alive_connections);
  real("avg_latency", avg_latency(l));
  if (ld)
    put("min_proposal_size", ld->min_proposal_size);
  put("outstanding_requests", s.outstanding_requests);
  put("znode_count", s.node_count);
  put("global_sessions", s.global_sessions);
  put("non_mtls_remote_conn_count", s.non_mtls_remote_conn_count);
  put("last_client_response_size", s.last_client_response_size);
  put("packets_sent", s.packets_sent);
  put("packets_received", s.packets_received);
  if (ld)
    put("max_proposal_size", ld->max_proposal_size);
  put("max_client_response_size", s.max_client_response_size);
  if (ld)
    put("synced_followers", ld->synced_followers);
  real("connection_drop_probability", s.connection_drop_probability);
  put("watch_count", s.watch_count);
  if (ld) {
    put("synced_non_voting_followers", ld->synced_non_voting_followers);
    put("synced_observers", ld->synced_observers);
  }
  put("auth_failed_count", s.auth_failed_count);
  put("min_latency", l.count > 0 ? l.min_ms : 0);
  put("max_file_descriptor_count", s.max_file_descriptor_count);
  put("approximate_data_size", s.approximate_data_size);
  put("open_file_descriptor_count", s.open_file_descriptor_count);
  if (ld) {
    put("last_proposal_size", ld->last_proposal_size);
    put("pending_syncs", ld->pending_syncs);
    put("leader_uptime", ld->leader_uptime_ms);
  }
  put("local_sessions", s.local_sessions);
  put("uptime", s.uptime_ms);
  put("max_latency", l.max_ms);
  put("outstanding_tls_handshake", s.outstanding_tls_handshake);
  if (ld)
    put("learners", ld->learners);
  put("min_client_response_size", s.min_client_response_size);
  put("non_mtls_local_conn_count", s.non_mtls_local_conn_count);
  if (s.quorum_size)
    put("quorum_size", *s.quorum_size);
  out.insert(out.end(), s.counters.begin(), s.counters.end());
  for (auto& [k, v] : s.extra_metrics) {
    // Typed as ZooKeeper's JSON would type them; mntr prints them verbatim.
    char* end = nullptr;
    errno = 0;
    auto i = std::strtoll(v.c_str(), &end, 10);
    if (!v.empty() && errno == 0 && *end == '\0' && dec(i) == v) {
      out.push_back(monitor_value::of_integer(k, i));
      continue;
    }
    auto d = std::strtod(v.c_str(), &end);
    if (!v.empty() && *end == '\0' && java_double(d) == v) {
      out.push_back(monitor_value::of_real(k, d));
      continue;
    }
    out.push_back(monitor_value::of_text(k, v));
  }
  return out;
}

void add_summary(std::vector<monitor_value>& out, std::string_view name,
                 const latency_stats& l) {
  std::string n{name};
  out.push_back(monitor_value::of_real("avg_" + n, avg_latency(l)));
  out.push_back(
      monitor_value::of_integer("min_" + n, l.count > 0 ? l.min_ms : 0));
  out.push_back(monitor_value::of_integer("max_" + n, l.max_ms));
  out.push_back(monitor_value::of_integer("cnt_" + n, l.count));
  out.push_back(monitor_value::of_integer("sum_" + n, l.total_ms));
}

namespace flw {

std::string ruok() {
  return "imok";
}

std::string srvr(const server_stats& s) {
  return server_summary(s, false);
}

std::string stat(const server_stats& s) {
  return server_summary(s, true);
}

std::string cons(const server_stats& s) {
  if (!s.serving)
    return not_serving_line();
  std::string out;
  for (auto& c : s.connections) {
    append_connection(out, c, false);
    out += '\n';
  }
  out += '\n';
  return out;
}

std::string conf(const server_stats& s) {
  if (!s.serving)
    return not_serving_line();
  auto& c = s.conf;
  std::string out;
  out += "clientPort=" + dec(c.client_port) + "\n";
  out += "secureClientPort=" + dec(c.secure_client_port) + "\n";
  out += "dataDir=" + c.data_dir + "\n";
  out += "dataDirSize=" + dec(c.data_dir_size) + "\n";
  out += "dataLogDir=" + c.data_log_dir + "\n";
  out += "dataLogSize=" + dec(c.data_log_size) + "\n";
  out += "tickTime=" + dec(c.tick_time) + "\n";
  out += "maxClientCnxns=" + dec(c.max_client_cnxns) + "\n";
  out += "minSessionTimeout=" + dec(c.min_session_timeout) + "\n";
  out += "maxSessionTimeout=" + dec(c.max_session_timeout) + "\n";
  out += "clientPortListenBacklog=" + dec(c.client_port_listen_backlog) + "\n";
  out += "serverId=" + dec(c.server_id) + "\n";
  if (c.quorum_mode) {
    auto& q = c.quorum;
    out += "initLimit=" + dec(q.init_limit) + "\n";
    out += "syncLimit=" + dec(q.sync_limit) + "\n";
    out += "electionAlg=" + dec(q.election_alg) + "\n";
    out += "electionPort=" + dec(q.election_port) + "\n";
    out += "quorumPort=" + dec(q.quorum_port) + "\n";
    out += "peerType=" + dec(q.peer_type) + "\n";
    // A read-only server stops here (ReadOnlyZooKeeperServer.dumpConf).
    if (!s.read_only) {
      out += "membership: \n";
      for (auto& m : q.members) {
        out += "server." + dec(m.id) + "=" + bracket_host(m.host) + ":" +
               dec(m.quorum_port) + ":" + dec(m.election_port) +
               (m.observer ? ":observer" : ":participant");
        if (!m.client_address.empty())
          out += ";" + m.client_address;
        out += '\n';
      }
      // QuorumMaj.toString ends without a newline, and conf prints it as is.
      out += "version=" + java_hex(q.config_version);
    }
  }
  return out;
}

std::string envi(const server_stats& s) {
  // EnvCommand answers even when the server is not serving.
  std::string out = "Environment:\n";
  for (auto& [k, v] : s.environment)
    out += k + "=" + v + "\n";
  return out;
}

std::string mntr(const server_stats& s) {
  if (!s.serving)
    return not_serving_line();
  std::string out;
  for (auto& v : monitor_values(s)) {
    out += "zk_";
    out += v.key;
    out += '\t';
    switch (v.type) {
    case monitor_value::kind::text:
      out += v.text;
      break;
    case monitor_value::kind::integer:
      out += dec(v.integer);
      break;
    case monitor_value::kind::real:
      out += java_double(v.real);
      break;
    }
    out += '\n';
  }
  return out;
}

std::string isro(const server_stats& s) {
  if (!s.serving)
    return "null";
  return s.read_only ? "ro" : "rw";
}

std::string dirs(const server_stats& s) {
  if (!s.serving)
    return not_serving_line();
  return "datadir_size: " + dec(s.conf.data_dir_size) +
         "\nlogdir_size: " + dec(s.conf.data_log_size) + "\n";
}

std::string wchs(const server_stats& s) {
  if (!s.serving)
    return not_serving_line();
  // WatchManager.toString, then WatchCommand's println.
  return std::to_string(s.watching_connections) + " connections watching " +
         std::to_string(s.watched_paths) +
         " paths\nTotal watches:" + std::to_string(s.total_watches) + "\n";
}

std::string wchc(const server_stats& s) {
  if (!s.serving)
    return not_serving_line();
  std::string out;
  for (auto& [session, paths] : s.watches_by_session_list) {
    out += hex_id(session) + "\n";
    for (auto& p : paths)
      out += "\t" + p + "\n";
  }
  out += '\n';
  return out;
}

std::string wchp(const server_stats& s) {
  if (!s.serving)
    return not_serving_line();
  std::string out;
  for (auto& [path, sessions] : s.watches_by_path_list) {
    out += path + "\n";
    for (auto session : sessions)
      out += "\t" + hex_id(session) + "\n";
  }
  out += '\n';
  return out;
}

std::string dump(const server_stats& s) {
  if (!s.serving)
    return not_serving_line();
  std::string out = "SessionTracker dump:\n";
  if (s.learner_dump) {
    // LearnerSessionTracker.dumpSessions: ids ascending with timeouts.
    auto sessions = s.learner_sessions;
    std::sort(sessions.begin(), sessions.end());
    out += "Global Sessions(" + std::to_string(sessions.size()) + "):\n";
    for (auto& [id, timeout] : sessions)
      out += hex_id(id) + "\t" + dec(timeout) + "ms\n";
  } else {
    // "Session " + ExpiryQueue.dump
    size_t total = 0;
    for (auto& b : s.session_buckets)
      total += b.sessions.size();
    out += "Session Sets (" + std::to_string(s.session_buckets.size()) + ")/(" +
           std::to_string(total) + "):\n";
    for (auto& b : s.session_buckets) {
      out += std::to_string(b.sessions.size()) + " expire at " +
             java_date_utc(b.expires_at_ms) + ":\n";
      for (auto id : b.sessions)
        out += "\t" + hex_id(id) + "\n";
    }
  }
  out += "ephemeral nodes dump:\n";
  out += "Sessions with Ephemerals (" + std::to_string(s.ephemerals.size()) +
         "):\n";
  for (auto& [id, paths] : s.ephemerals) {
    out += hex_id(id) + ":\n";
    for (auto& p : paths)
      out += "\t" + p + "\n";
  }
  out += "Connections dump:\n";
  size_t total = 0;
  for (auto& b : s.connection_buckets)
    total += b.connections.size();
  out += "Connections Sets (" + std::to_string(s.connection_buckets.size()) +
         ")/(" + std::to_string(total) + "):\n";
  for (auto& b : s.connection_buckets) {
    out += std::to_string(b.connections.size()) + " expire at " +
           java_date_utc(b.expires_at_ms) + ":\n";
    for (auto& [addr, id] : b.connections)
      out += "\tip: " + addr + " sessionId: " + hex_id(id) + "\n";
  }
  return out;
}

std::string crst(const server_stats& s) {
  if (!s.serving)
    return not_serving_line();
  return "Connection stats reset.\n";
}

std::string srst(const server_stats& s) {
  if (!s.serving)
    return not_serving_line();
  return "Server stats reset.\n";
}

std::string hash(const server_stats& s) {
  // DigestCommand prints the refusal without a newline, unlike the others.
  if (!s.serving)
    return std::string{not_serving_text};
  std::string out;
  for (auto& [zxid, digest] : s.digests)
    out += java_hex(zxid) + ": " + dec(digest) + "\n";
  return out;
}

std::string gtmk(const server_stats& s) {
  return dec(s.trace_mask);
}

std::string stmk(const server_stats& s) {
  return dec(s.trace_mask);
}

} // namespace flw

std::string answer(four_letter_word w, const four_letter_whitelist& allowed,
                   const server_stats& s) {
  if (!allowed.enabled(w))
    return not_in_whitelist(w);
  switch (w) {
  case four_letter_word::conf:
    return flw::conf(s);
  case four_letter_word::cons:
    return flw::cons(s);
  case four_letter_word::crst:
    return flw::crst(s);
  case four_letter_word::dirs:
    return flw::dirs(s);
  case four_letter_word::dump:
    return flw::dump(s);
  case four_letter_word::envi:
    return flw::envi(s);
  case four_letter_word::gtmk:
    return flw::gtmk(s);
  case four_letter_word::hash:
    return flw::hash(s);
  case four_letter_word::isro:
    return flw::isro(s);
  case four_letter_word::mntr:
    return flw::mntr(s);
  case four_letter_word::ruok:
    return flw::ruok();
  case four_letter_word::srst:
    return flw::srst(s);
  case four_letter_word::srvr:
    return flw::srvr(s);
  case four_letter_word::stat:
    return flw::stat(s);
  case four_letter_word::stmk:
    return flw::stmk(s);
  case four_letter_word::telnet_close:
    return {};
  case four_letter_word::wchc:
    return flw::wchc(s);
  case four_letter_word::wchp:
    return flw::wchp(s);
  case four_letter_word::wchs:
    return flw::wchs(s);
  }
  return {};
}

// ---- helpers
// ------------------------------------------------------------------

std::string_view last_operation_name(int32_t opcode) {
  switch (opcode) {
  case wire::op::ping:
    return "PING";
  case wire::op::create_session:
    return "SESS";
  case wire::op::multi:
    return "MULT";
  case wire::op::multi_read:
    return "MLTR";
  case wire::op::create:
  case wire::op::create2:
  case wire::op::create_ttl:
  case wire::op::create_container:
    return "CREA";
  case wire::op::remove:
  case wire::op::delete_container:
    return "DELE";
  case wire::op::set_data:
    return "SETD";
  case wire::op::reconfig:
    return "RECO";
  case wire::op::set_acl:
    return "SETA";
  case wire::op::close_session:
    return "CLOS";
  case wire::op::sync:
    return "SYNC";
  case wire::op::check:
    return "CHEC";
  case wire::op::exists:
    return "EXIS";
  case wire::op::get_data:
    return "GETD";
  case wire::op::set_watches:
    return "SETW";
  case wire::op::set_watches2:
    return "STW2";
  case wire::op::add_watch:
    return "ADDW";
  case wire::op::get_acl:
    return "GETA";
  case wire::op::get_children:
  case wire::op::get_children2:
    return "GETC";
  case wire::op::get_all_children_number:
    return "GETACN";
  case wire::op::check_watches:
    return "CHKW";
  case wire::op::remove_watches:
    return "REMW";
  case wire::op::whoami:
    return "HOMI";
  case wire::op::get_ephemerals:
    return "GETE";
  default:
    return "NA";
  }
}

std::string java_socket_address(std::string_view ip, int32_t port) {
  std::string out = "/";
  if (ip.find(':') != std::string_view::npos && ip.front() != '[') {
    out += '[';
    out += ip;
    out += ']';
  } else {
    out += ip;
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

utc_time utc_time_of(int64_t epoch_ms) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed",
                                         "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr",
                                           "May", "Jun", "Jul", "Aug",
                                           "Sep", "Oct", "Nov", "Dec"};
  auto secs = epoch_ms / 1000;
  if (epoch_ms % 1000 < 0)
    --secs;
  auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return {days[tm.tm_wday % 7],
          months[tm.tm_mon % 12],
          tm.tm_mday,
          tm.tm_year + 1900,
          tm.tm_hour,
          tm.tm_min,
          tm.tm_sec};
}

std::string java_date_utc(int64_t epoch_ms) {
  auto u = utc_time_of(epoch_ms);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s %s %02d %02d:%02d:%02d UTC %d", u.day,
                u.month, u.mday, u.hour, u.min, u.sec, u.year);
  return buf;
}

std::string java_double(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0)
    return std::signbit(v) ? "-0.0" : "0.0";
  std::string sign = v < 0 ? "-" : "";
  double a = std::fabs(v);
  // Shortest decimal that reads back as the same double.
  char buf[40];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*e", prec - 1, a);
    if (std::strtod(buf, nullptr) == a)
      break;
  }
  std::string text = buf;
  auto e = text.find('e');
  int exp = std::atoi(text.c_str() + e + 1);
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (text[i] != '.')
      digits += text[i];
  while (digits.size() > 1 && digits.back() == '0')
    digits.pop_back();
  if (a >= 1e-3 && a < 1e7) {
    // Plain notation with at least one digit after the point.
    int point = exp + 1; // digits before the decimal point
    std::string int_part;
    std::string frac;
    if (point <= 0) {
      int_part = "0";
      frac = std::string(static_cast<size_t>(-point), '0') + digits;
    } else if (static_cast<size_t>(point) >= digits.size()) {
      int_part = digits + std::string(point - digits.size(), '0');
      frac = "0";
    } else {
      int_part = digits.substr(0, static_cast<size_t>(point));
      frac = digits.substr(static_cast<size_t>(point));
    }
    return sign + int_part + "." + frac;
  }
  std::string mantissa =
      digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0");
  return sign + mantissa + "E" + std::to_string(exp);
}

std::string java_avg_latency(const latency_stats& l) {
  return java_double(avg_latency(l));
}

double avg_latency(const latency_stats& l) {
  if (l.count <= 0)
    return 0.0;
  // BigDecimal(total / count).setScale(4, HALF_UP), done exactly in
  // integers: ten-thousandths, rounded half up.
  auto scaled = static_cast<__int128>(l.total_ms) * 10000;
  auto q = scaled / l.count;
  auto r = scaled % l.count;
  if (r < 0) {
    r = -r;
    if (2 * r >= l.count)
      --q;
  } else if (2 * r >= l.count) {
    ++q;
  }
  return static_cast<double>(q) / 10000.0;
}

std::string java_hex(int64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%llx",
                static_cast<unsigned long long>(static_cast<uint64_t>(v)));
  return buf;
}

} // namespace zkd::connection
