#include "actors/admin_http/admin_http.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace zkd::admin_http {

using connection::server_stats;

namespace {

// ---- HTTP helpers -----------------------------------------------------------

// RFC 7230 tchar.
bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9')
    return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
    return true;
  switch (c) {
  case '!':
  case '#':
  case '$':
  case '%':
  case '&':
  case '\'':
  case '*':
  case '+':
  case '-':
  case '.':
  case '^':
  case '_':
  case '`':
  case '|':
  case '~':
    return true;
  default:
    return false;
  }
}

bool is_ctl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i]))
      return false;
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

parse_result fail(int status, std::string reason) {
  parse_result r;
  r.status = parse_status::error;
  r.error_status = status;
  r.error_reason = std::move(reason);
  return r;
}

// A request line that cannot become valid, judged before it is complete:
// a client speaking something else than HTTP gets its 400 at once rather
// than after 8 KiB.
bool hopeless_prefix(std::string_view line) {
  size_t i = 0;
  for (; i < line.size() && line[i] != ' '; ++i)
    if (!is_tchar(static_cast<unsigned char>(line[i])))
      return !(line[i] == '\r' && i + 1 == line.size());
  for (; i < line.size(); ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    if (is_ctl(c) && !(c == '\r' && i + 1 == line.size()))
      return true;
  }
  return false;
}

// ---- JSON helpers -----------------------------------------------------------

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto b = [&](size_t k) {
    return static_cast<unsigned char>(s[i + k]);
  };
  auto cont = [&](size_t k) {
    return i + k < s.size() && (b(k) & 0xc0) == 0x80;
  };
  unsigned char c = b(0);
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2))
      return 0;
    if (c == 0xe0 && b(1) < 0xa0)
      return 0; // overlong
    if (c == 0xed && b(1) >= 0xa0)
      return 0; // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3))
      return 0;
    if (c == 0xf0 && b(1) < 0x90)
      return 0;
    if (c == 0xf4 && b(1) >= 0x90)
      return 0;
    return 4;
  }
  return 0;
}

std::string java_double_json(double v) {
  // Jackson quotes the non-finite values.
  if (!std::isfinite(v))
    return "\"" + connection::java_double(v) + "\"";
  return connection::java_double(v);
}

// ---- command table ----------------------------------------------------------

using connection::four_letter_word;

const std::vector<command_info>& command_table() {
  // Primary names and aliases of ZooKeeper 3.8's Commands, for the commands
  // whose data zkd has; sorted by primary name.
  static const std::vector<command_info> table = {
      {command_id::configuration,
       "configuration",
       {"conf", "config"},
       four_letter_word::conf},
      {command_id::connection_stat_reset,
       "connection_stat_reset",
       {"crst"},
       four_letter_word::crst},
      {command_id::connections,
       "connections",
       {"cons"},
       four_letter_word::cons},
      {command_id::dirs, "dirs", {}, four_letter_word::dirs},
      {command_id::dump, "dump", {}, four_letter_word::dump},
      {command_id::environment,
       "environment",
       {"env", "envi"},
       four_letter_word::envi,
       false},
      {command_id::get_trace_mask,
       "get_trace_mask",
       {"gtmk"},
       four_letter_word::gtmk,
       false},
      {command_id::hash, "hash", {}, four_letter_word::hash},
      {command_id::is_read_only,
       "is_read_only",
       {"isro"},
       four_letter_word::isro},
      {command_id::monitor, "monitor", {"mntr"}, four_letter_word::mntr, false},
      {command_id::ruok, "ruok", {}, four_letter_word::ruok},
      {command_id::server_stats,
       "server_stats",
       {"srvr"},
       four_letter_word::srvr},
      {command_id::stat_reset, "stat_reset", {"srst"}, four_letter_word::srst},
      {command_id::stats, "stats", {"stat"}, four_letter_word::stat},
      {command_id::watch_summary,
       "watch_summary",
       {"wchs"},
       four_letter_word::wchs},
      {command_id::watches, "watches", {"wchc"}, four_letter_word::wchc},
      {command_id::watches_by_path,
       "watches_by_path",
       {"wchp"},
       four_letter_word::wchp},
  };
  return table;
}

// ---- command bodies ---------------------------------------------------------

// Jackson prints InetSocketAddress as "host:port" (no leading slash);
// connection_stats holds Java's toString, "/host:port".
std::string socket_address(const std::string& java_text) {
  if (!java_text.empty() && java_text.front() == '/')
    return java_text.substr(1);
  return java_text;
}

void write_buffer_stats(json_writer& w, int64_t last, int64_t min,
                        int64_t max) {
  w.begin_object();
  w.key("last_buffer_size").value(last);
  w.key("min_buffer_size").value(min);
  w.key("max_buffer_size").value(max);
  w.end_object();
}

// ServerCnxn.getConnectionInfo.
void write_connection(json_writer& w, const connection::connection_stats& c,
                      bool brief) {
  w.begin_object();
  w.key("remote_socket_address").value(socket_address(c.remote_address));
  w.key("interest_ops").value(c.interest_ops);
  w.key("outstanding_requests").value(c.outstanding_requests);
  w.key("packets_received").value(c.packets_received);
  w.key("packets_sent").value(c.packets_sent);
  if (!brief) {
    auto& l = c.latency;
    w.key("session_id").value(c.session_id);
    w.key("last_operation").value(c.last_operation);
    w.key("established").value(c.established_ms);
    w.key("session_timeout").value(c.session_timeout_ms);
    w.key("last_cxid").value(c.last_cxid);
    w.key("last_zxid").value(c.last_zxid);
    w.key("last_response_time").value(c.last_response_ms);
    w.key("last_latency").value(c.last_latency_ms);
    w.key("min_latency").value(l.count > 0 ? l.min_ms : int64_t{0});
    w.key("avg_latency").value(l.count > 0 ? l.total_ms / l.count : int64_t{0});
    w.key("max_latency").value(l.max_ms);
  }
  w.end_object();
}

// {"<session id>": [path, ...], ...} as dump and wchc show it.
void write_paths_by_session(
    json_writer& w, std::string_view key,
    const std::vector<std::pair<int64_t, std::vector<std::string>>>& list) {
  w.key(key).begin_object();
  for (auto& [id, paths] : list) {
    w.key(std::to_string(id)).begin_array();
    for (auto& p : paths)
      w.value(p);
    w.end_array();
  }
  w.end_object();
}

void write_connections(json_writer& w, const server_stats& s, bool brief) {
  w.key("connections").begin_array();
  for (auto& c : s.connections)
    write_connection(w, c, brief);
  w.end_array();
  w.key("secure_connections").begin_array().end_array();
}

// SrvrCommand: ServerStats as Jackson sees its getters.
void write_server_stats(json_writer& w, const server_stats& s) {
  auto& l = s.latency;
  w.key("version").value(s.version);
  w.key("read_only").value(s.read_only);
  w.key("server_stats").begin_object();
  w.key("packets_sent").value(s.packets_sent);
  w.key("packets_received").value(s.packets_received);
  w.key("fsync_threshold_exceed_count").value(int64_t{0});
  w.key("client_response_stats");
  write_buffer_stats(w, s.last_client_response_size, s.min_client_response_size,
                     s.max_client_response_size);
  w.key("data_dir_size").value(s.conf.data_dir_size);
  w.key("log_dir_size").value(s.conf.data_log_size);
  w.key("provider_null").value(false);
  w.key("server_state").value(s.server_state);
  w.key("last_processed_zxid").value(s.last_processed_zxid);
  w.key("outstanding_requests").value(s.outstanding_requests);
  w.key("avg_latency").value(connection::avg_latency(l));
  w.key("max_latency").value(l.max_ms);
  w.key("min_latency").value(l.count > 0 ? l.min_ms : int64_t{0});
  w.key("num_alive_client_connections").value(s.num_alive_connections);
  w.key("uptime").value(s.uptime_ms);
  w.key("auth_failed_count").value(s.auth_failed_count);
  w.key("non_mtlsremote_conn_count").value(s.non_mtls_remote_conn_count);
  w.key("non_mtlslocal_conn_count").value(s.non_mtls_local_conn_count);
  w.end_object();
  w.key("client_response");
  write_buffer_stats(w, s.last_client_response_size, s.min_client_response_size,
                     s.max_client_response_size);
  if (s.server_state == "leader") {
    auto ld = s.leader.value_or(connection::leader_stats{});
    w.key("proposal_stats");
    write_buffer_stats(w, ld.last_proposal_size, ld.min_proposal_size,
                       ld.max_proposal_size);
  }
  w.key("node_count").value(s.node_count);
}

void write_monitor(json_writer& w, const server_stats& s) {
  for (auto& v : connection::monitor_values(s)) {
    w.key(v.key);
    switch (v.type) {
    case connection::monitor_value::kind::text:
      w.value(v.text);
      break;
    case connection::monitor_value::kind::integer:
      w.value(v.integer);
      break;
    case connection::monitor_value::kind::real:
      w.value(v.real);
      break;
    }
  }
}

void write_body(json_writer& w, command_id id, const server_stats& s) {
  switch (id) {
  case command_id::configuration: {
    // ZooKeeperServerConf.toMap.
    auto& c = s.conf;
    w.key("client_port").value(c.client_port);
    w.key("data_dir").value(c.data_dir);
    w.key("data_log_dir").value(c.data_log_dir);
    w.key("tick_time").value(c.tick_time);
    w.key("max_client_cnxns").value(c.max_client_cnxns);
    w.key("min_session_timeout").value(c.min_session_timeout);
    w.key("max_session_timeout").value(c.max_session_timeout);
    w.key("server_id").value(c.server_id);
    w.key("client_port_listen_backlog").value(c.client_port_listen_backlog);
    return;
  }
  case command_id::connections:
    write_connections(w, s, false);
    return;
  case command_id::dirs:
    w.key("datadir_size").value(s.conf.data_dir_size);
    w.key("logdir_size").value(s.conf.data_log_size);
    return;
  case command_id::dump:
    w.key("expiry_time_to_session_ids").begin_object();
    for (auto& b : s.session_buckets) {
      w.key(std::to_string(b.expires_at_ms)).begin_array();
      for (auto id : b.sessions)
        w.value(id);
      w.end_array();
    }
    w.end_object();
    write_paths_by_session(w, "session_id_to_ephemeral_paths", s.ephemerals);
    return;
  case command_id::environment:
    for (auto& [k, v] : s.environment)
      w.key(k).value(v);
    return;
  case command_id::get_trace_mask:
    w.key("tracemask").value(s.trace_mask);
    return;
  case command_id::hash:
    w.key("digests").begin_array();
    for (auto& [zxid, digest] : s.digests) {
      w.begin_object();
      w.key("zxid").value(zxid);
      w.key("digest").value(digest);
      w.end_object();
    }
    w.end_array();
    return;
  case command_id::is_read_only:
    w.key("read_only").value(s.read_only);
    return;
  case command_id::monitor:
    write_monitor(w, s);
    return;
  case command_id::server_stats:
    write_server_stats(w, s);
    return;
  case command_id::stats:
    write_server_stats(w, s);
    write_connections(w, s, true);
    return;
  case command_id::watch_summary:
    w.key("num_connections")
        .value(static_cast<uint64_t>(s.watching_connections));
    w.key("num_paths").value(static_cast<uint64_t>(s.watched_paths));
    w.key("num_total_watches").value(static_cast<uint64_t>(s.total_watches));
    return;
  case command_id::watches:
    write_paths_by_session(w, "session_id_to_watched_paths",
                           s.watches_by_session_list);
    return;
  case command_id::watches_by_path:
    w.key("path_to_session_ids").begin_object();
    for (auto& [path, ids] : s.watches_by_path_list) {
      w.key(path).begin_array();
      for (auto id : ids)
        w.value(id);
      w.end_array();
    }
    w.end_object();
    return;
  case command_id::connection_stat_reset:
  case command_id::ruok:
  case command_id::stat_reset:
    return;
  }
}

// ---- Prometheus helpers -----------------------------------------------------

std::string metric_name(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    bool ok = c == '_' || c == ':' || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  return out.empty() ? "_" : out;
}

std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string prom_double(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  return connection::java_double(v);
}

std::string ms_from_us(int64_t us) {
  char buf[48];
  auto neg = us < 0;
  auto a = neg ? -static_cast<uint64_t>(us) : static_cast<uint64_t>(us);
  std::snprintf(buf, sizeof buf, "%s%llu.%03llu", neg ? "-" : "",
                static_cast<unsigned long long>(a / 1000),
                static_cast<unsigned long long>(a % 1000));
  return buf;
}

void family(std::string& out, std::string_view name, std::string_view type,
            std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// Samples of one histogram; `labels` is empty or `op="x",`.
void histogram_samples(std::string& out, std::string_view name,
                       const std::string& labels,
                       const metrics::histogram_snapshot& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < metrics::bucket_count; ++i) {
    cumulative += h.buckets[i];
    out += name;
    out += "_bucket{";
    out += labels;
    out += "le=\"";
    out += i < metrics::latency_bound_count ? metrics::latency_bounds_ms[i]
                                            : std::string_view{"+Inf"};
    out += "\"} ";
    out += std::to_string(cumulative);
    out += '\n';
  }
  auto bare = labels.empty() ? std::string{}
                             : "{" + labels.substr(0, labels.size() - 1) + "}";
  out += name;
  out += "_sum";
  out += bare;
  out += ' ';
  out += ms_from_us(h.sum_us);
  out += '\n';
  out += name;
  out += "_count";
  out += bare;
  out += ' ';
  out += std::to_string(cumulative);
  out += '\n';
}

} // namespace

// ---- HTTP requests ----------------------------------------------------------

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size())
      return false;
    int hi = hex(in[i + 1]);
    int lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0)
      return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

parse_result parse_request(std::string_view in, const limits& lim) {
  // RFC 7230 3.5: ignore empty lines before the request line.
  size_t start = 0;
  while (start < in.size() && (in[start] == '\r' || in[start] == '\n')) {
    if (in[start] == '\r' &&
        (start + 1 >= in.size() || in[start + 1] != '\n')) {
      if (start + 1 >= in.size())
        break; // a CR whose LF has not arrived yet
      return fail(400, "bad line ending");
    }
    start += in[start] == '\r' ? 2 : 1;
  }
  if (start > lim.max_header_bytes)
    return fail(400, "too many empty lines");
  auto window = in.substr(0, std::min(in.size(), lim.max_header_bytes));

  // Splits lines ending in LF (a preceding CR is dropped); a line must not
  // hold a bare CR.
  size_t pos = start;
  auto next_line = [&](std::string_view& line) -> bool {
    auto nl = window.find('\n', pos);
    if (nl == std::string_view::npos)
      return false;
    line = window.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    pos = nl + 1;
    return true;
  };
  auto incomplete = [&]() {
    if (in.size() >= lim.max_header_bytes)
      return fail(431, "request header fields too large");
    parse_result r;
    r.status = parse_status::incomplete;
    return r;
  };

  std::string_view line;
  if (!next_line(line)) {
    if (hopeless_prefix(window.substr(start)))
      return fail(400, "not an HTTP request line");
    return incomplete();
  }
  // request-line = method SP request-target SP HTTP-version
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, "malformed request line");
  auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto version = line.substr(sp2 + 1);
  if (method.empty() || target.empty())
    return fail(400, "malformed request line");
  for (unsigned char c : method)
    if (!is_tchar(c))
      return fail(400, "malformed method");
  for (unsigned char c : target)
    if (is_ctl(c) || c >= 0x80)
      return fail(400, "malformed request target");
  int minor = 0;
  if (version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
      version[6] == '.' && version[5] >= '0' && version[5] <= '9' &&
      version[7] >= '0' && version[7] <= '9') {
    if (version[5] != '1')
      return fail(505, "HTTP version not supported");
    minor = version[7] - '0';
  } else {
    return fail(400, "malformed HTTP version");
  }

  parse_result r;
  auto& rq = r.req;
  rq.method = std::string{method};
  rq.target = std::string{target};
  rq.minor_version = minor;
  bool close = false;
  bool keep_alive = false;
  int hosts = 0;
  int headers = 0;
  for (;;) {
    if (!next_line(line))
      return incomplete();
    if (line.empty())
      break;
    if (++headers > 100)
      return fail(431, "too many header fields");
    if (line.front() == ' ' || line.front() == '\t')
      return fail(400, "obsolete line folding");
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return fail(400, "malformed header field");
    auto name = line.substr(0, colon);
    for (unsigned char c : name)
      if (!is_tchar(c))
        return fail(400, "malformed header field name");
    auto value = trim_ows(line.substr(colon + 1));
    for (unsigned char c : value)
      if (is_ctl(c) && c != '\t')
        return fail(400, "malformed header field value");
    if (iequals(name, "host")) {
      ++hosts;
    } else if (iequals(name, "content-length")) {
      if (value.empty() ||
          value.find_first_not_of("0123456789") != std::string_view::npos)
        return fail(400, "malformed Content-Length");
      if (value.find_first_not_of('0') != std::string_view::npos)
        return fail(400, "request bodies are not accepted");
    } else if (iequals(name, "transfer-encoding")) {
      return fail(400, "request bodies are not accepted");
    } else if (iequals(name, "connection")) {
      while (!value.empty()) {
        auto comma = value.find(',');
        auto token = trim_ows(value.substr(0, comma));
        if (iequals(token, "close"))
          close = true;
        else if (iequals(token, "keep-alive"))
          keep_alive = true;
        if (comma == std::string_view::npos)
          break;
        value.remove_prefix(comma + 1);
      }
    }
  }
  if (minor >= 1 && hosts != 1)
    return fail(400, hosts == 0 ? "no Host header" : "more than one Host");
  if (hosts > 1)
    return fail(400, "more than one Host");
  if (rq.method != "GET" && rq.method != "HEAD") {
    auto f = fail(405, "only GET and HEAD are served");
    f.req = rq;
    return f;
  }
  // origin-form, or absolute-form (RFC 7230 5.3.2: a server must accept it).
  std::string_view t = target;
  if (t.front() != '/') {
    auto scheme = t.find("://");
    if (scheme == std::string_view::npos ||
        !(iequals(t.substr(0, scheme), "http") ||
          iequals(t.substr(0, scheme), "https")))
      return fail(400, "malformed request target");
    t.remove_prefix(scheme + 3);
    auto slash = t.find('/');
    t = slash == std::string_view::npos ? std::string_view{"/"}
                                        : t.substr(slash);
  }
  auto hash = t.find('#');
  if (hash != std::string_view::npos)
    t = t.substr(0, hash);
  auto q = t.find('?');
  if (q != std::string_view::npos) {
    rq.query = std::string{t.substr(q + 1)};
    t = t.substr(0, q);
  }
  if (!percent_decode(t, rq.path) || rq.path.find('\0') != std::string::npos)
    return fail(400, "malformed percent-encoding");
  rq.keep_alive = minor >= 1 ? !close : (keep_alive && !close);
  r.status = parse_status::complete;
  r.consumed = pos;
  return r;
}

// ---- HTTP responses ---------------------------------------------------------

std::string_view reason_phrase(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 503:
    return "Service Unavailable";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Unknown";
  }
}

std::string http_date(int64_t epoch_ms) {
  auto u = connection::utc_time_of(epoch_ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", u.day,
                u.mday, u.month, u.year, u.hour, u.min, u.sec);
  return buf;
}

std::string serialize(const response& r, std::string_view date, bool keep_alive,
                      int minor_version, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " ";
  out += reason_phrase(r.status);
  out += "\r\nDate: ";
  out += date;
  out += "\r\nServer: zkd\r\n";
  if (!r.content_type.empty())
    out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (!keep_alive)
    out += "Connection: close\r\n";
  else if (minor_version == 0)
    out += "Connection: keep-alive\r\n";
  for (auto& [k, v] : r.headers)
    out += k + ": " + v + "\r\n";
  out += "\r\n";
  if (!head_only)
    out += r.body;
  return out;
}

response error_response(int status, std::string_view reason) {
  response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::to_string(status) + " ";
  r.body += reason_phrase(status);
  if (!reason.empty()) {
    r.body += ": ";
    r.body += reason;
  }
  r.body += '\n';
  if (status == 405)
    r.headers.emplace_back("Allow", "GET, HEAD");
  return r;
}

// ---- commands and routing ---------------------------------------------------

const std::vector<command_info>& commands() {
  return command_table();
}

const command_info* find_command(std::string_view name) {
  for (auto& c : command_table()) {
    if (c.primary == name)
      return &c;
    for (auto a : c.aliases)
      if (a == name)
        return &c;
  }
  return nullptr;
}

route route_request(const request& r) {
  route out;
  const std::string_view prefix = "/commands";
  std::string_view p = r.path;
  if (p == "/metrics") {
    out.kind = route_kind::metrics;
    return out;
  }
  if (p == prefix || p == "/commands/") {
    out.kind = route_kind::command_list;
    return out;
  }
  if (p.substr(0, prefix.size() + 1) == "/commands/") {
    // Like Jetty's path info: everything after the servlet path, so
    // "srvr/" and "ruok/x" are names ZooKeeper does not know.
    out.name = std::string{p.substr(prefix.size() + 1)};
    out.cmd = find_command(out.name);
    out.kind = out.cmd ? route_kind::command : route_kind::unknown_command;
    return out;
  }
  out.kind = route_kind::not_found;
  return out;
}

// ---- rendering --------------------------------------------------------------

std::string command_json(const command_info& cmd, std::string_view requested,
                         const server_stats& s) {
  if (cmd.server_required && !s.serving)
    return error_json(requested, connection::not_serving_text);
  json_writer w;
  w.begin_object();
  write_body(w, cmd.id, s);
  w.key("command").value(cmd.primary);
  w.key("error").null();
  w.end_object();
  return w.take();
}

std::string unknown_command_json(std::string_view name) {
  return error_json(name, "Unknown command: " + std::string{name});
}

std::string error_json(std::string_view name, std::string_view error) {
  json_writer w;
  w.begin_object();
  w.key("command").value(name);
  w.key("error").value(error);
  w.end_object();
  return w.take();
}

std::string command_list_html() {
  std::string out;
  for (auto& c : command_table()) {
    out += "<a href=\"/commands/";
    out += c.primary;
    out += "\">";
    out += c.primary;
    out += "</a>\n<br/>\n";
  }
  return out;
}

const std::string_view prometheus_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

std::string prometheus_text(const metrics_input& in) {
  std::string out;
  out.reserve(16384);
  auto& s = in.stats;

  // ZooKeeper's own figures under mntr's names, so that what mntr and the
  // monitor command show can be scraped unchanged.
  std::string version;
  std::string state;
  auto values = connection::monitor_values(s);
  for (auto& v : values) {
    if (v.type != connection::monitor_value::kind::text)
      continue;
    if (v.key == "version")
      version = v.text;
    else if (v.key == "server_state")
      state = v.text;
  }
  family(out, "zkd_info", "gauge",
         "Always 1; the labels carry the version and server state.");
  // Not serving, mntr's values are empty: the labels come from the
  // snapshot, so a scrape still says what runs and that it is looking.
  out += "zkd_info{version=\"" +
         label_value(version.empty() ? s.version : version) +
         "\",server_state=\"" +
         label_value(state.empty() ? s.server_state : state) + "\"} 1\n";
  family(out, "zkd_serving", "gauge",
         "1 while the server serves client requests, else 0.");
  out += s.serving ? "zkd_serving 1\n" : "zkd_serving 0\n";
  for (auto& v : values) {
    if (v.type == connection::monitor_value::kind::text)
      continue;
    auto name = metric_name(v.key);
    family(out, name, "gauge", "ZooKeeper's mntr value " + name + ".");
    out += name;
    out += ' ';
    out += v.type == connection::monitor_value::kind::integer
               ? std::to_string(v.integer)
               : prom_double(v.real);
    out += '\n';
  }

  family(out, "zkd_requests_total", "counter",
         "Client requests answered, by op type.");
  for (auto& op : in.ops)
    out += "zkd_requests_total{op=\"" + label_value(op.op) + "\"} " +
           std::to_string(op.latency.count) + "\n";
  family(out, "zkd_request_errors_total", "counter",
         "Replies with a non-zero error code, by op type.");
  for (auto& op : in.ops)
    out += "zkd_request_errors_total{op=\"" + label_value(op.op) + "\"} " +
           std::to_string(op.errors) + "\n";
  family(out, "zkd_request_latency_ms", "histogram",
         "Time from a request's arrival on its connection to its reply "
         "leaving, in milliseconds, by op type.");
  for (auto& op : in.ops)
    histogram_samples(out, "zkd_request_latency_ms",
                      "op=\"" + label_value(op.op) + "\",", op.latency);
  family(out, "zkd_fsync_time_ms", "histogram",
         "Duration of the transaction log's fsyncs, in milliseconds.");
  histogram_samples(out, "zkd_fsync_time_ms", "", in.fsync);
  family(out, "zkd_bytes_received_total", "counter",
         "Bytes received on the client port.");
  out += "zkd_bytes_received_total " + std::to_string(in.bytes_received) + "\n";
  family(out, "zkd_bytes_sent_total", "counter",
         "Bytes sent on the client port (four-letter answers excepted).");
  out += "zkd_bytes_sent_total " + std::to_string(in.bytes_sent) + "\n";
  return out;
}

// ---- JSON -------------------------------------------------------------------

std::string json_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      auto n = utf8_sequence(s, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    ++i;
  }
  out += '"';
  return out;
}

void json_writer::newline_indent() {
  out_ += '\n';
  out_.append(static_cast<size_t>(2 * objects_), ' ');
}

void json_writer::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!stack_.empty() && !stack_.back().object) {
    out_ += stack_.back().empty ? " " : ", ";
    stack_.back().empty = false;
  }
}

json_writer& json_writer::begin_object() {
  before_value();
  out_ += '{';
  stack_.push_back({true});
  ++objects_;
  return *this;
}

json_writer& json_writer::end_object() {
  --objects_;
  if (stack_.back().empty) {
    out_ += " }";
  } else {
    newline_indent();
    out_ += '}';
  }
  stack_.pop_back();
  return *this;
}

json_writer& json_writer::begin_array() {
  before_value();
  out_ += '[';
  stack_.push_back({false});
  return *this;
}

json_writer& json_writer::end_array() {
  out_ += " ]";
  stack_.pop_back();
  return *this;
}

json_writer& json_writer::key(std::string_view k) {
  if (!stack_.back().empty)
    out_ += ',';
  stack_.back().empty = false;
  newline_indent();
  out_ += json_string(k);
  out_ += " : ";
  after_key_ = true;
  return *this;
}

json_writer& json_writer::value(std::string_view v) {
  before_value();
  out_ += json_string(v);
  return *this;
}

json_writer& json_writer::value(int64_t v) {
  before_value();
  out_ += std::to_string(v);
  return *this;
}

json_writer& json_writer::value(uint64_t v) {
  before_value();
  out_ += std::to_string(v);
  return *this;
}

json_writer& json_writer::value(double v) {
  before_value();
  out_ += java_double_json(v);
  return *this;
}

json_writer& json_writer::value(bool v) {
  before_value();
  out_ += v ? "true" : "false";
  return *this;
}

json_writer& json_writer::null() {
  before_value();
  out_ += "null";
  return *this;
}

} // namespace zkd::admin_http
