// Reading an Apache ZooKeeper 3.8 zoo.cfg, so an existing deployment can move
// to zkd with its file unchanged. The rules mirror QuorumPeerConfig
// (parseProperties, QuorumServer, QuorumMaj, setupMyId, setupClientPort,
// checkValidity) and the system properties ZooKeeper's components read:
// everything ZooKeeper rejects is an error here, everything zkd does not act
// on is a warning.
#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "config/config.hpp"
#include "config/detail.hpp"

namespace zkd::config {

namespace {

using detail::java_parse_int;
using detail::java_parse_long;

// --- java.util.Properties ----------------------------------------------------

struct property {
  std::string key;
  std::string value;
  int line = 0; // first line of the (possibly continued) entry
};

bool java_space(char c) {
  return c == ' ' || c == '\t' || c == '\f';
}

// String.trim(): every character up to and including ' '.
std::string java_trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= ' ')
    ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= ' ')
    --e;
  return std::string{s.substr(b, e - b)};
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Properties.loadConvert: backslash escapes. False on a malformed \uXXXX.
bool unescape(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '\\' || i + 1 == in.size()) {
      out += c;
      continue;
    }
    c = in[++i];
    switch (c) {
    case 't':
      out += '\t';
      break;
    case 'r':
      out += '\r';
      break;
    case 'n':
      out += '\n';
      break;
    case 'f':
      out += '\f';
      break;
    case 'u': {
      uint32_t cp = 0;
      for (int k = 0; k < 4; ++k) {
        if (i + 1 >= in.size())
          return false;
        char h = in[++i];
        cp <<= 4;
        if (h >= '0' && h <= '9')
          cp |= static_cast<uint32_t>(h - '0');
        else if (h >= 'a' && h <= 'f')
          cp |= static_cast<uint32_t>(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
          cp |= static_cast<uint32_t>(h - 'A' + 10);
        else
          return false;
      }
      append_utf8(out, cp);
      break;
    }
    default:
      out += c;
    }
  }
  return true;
}

struct properties {
  std::vector<property> entries;                // in file order
  std::vector<std::pair<int, std::string>> bad; // malformed entries
};

// The line grammar of java.util.Properties.load: comments (# or !),
// continuation lines ending in an odd number of backslashes, a key ended by
// an unescaped '=', ':' or blank, escapes in keys and values.
properties load_properties(std::string_view text) {
  std::vector<std::string_view> lines;
  for (size_t i = 0, start = 0; i <= text.size(); ++i) {
    if (i == text.size()) {
      if (start < text.size())
        lines.push_back(text.substr(start));
      break;
    }
    if (text[i] == '\n' || text[i] == '\r') {
      lines.push_back(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')
        ++i;
      start = i + 1;
    }
  }
  auto strip_leading = [](std::string_view l) {
    size_t b = 0;
    while (b < l.size() && java_space(l[b]))
      ++b;
    return l.substr(b);
  };
  auto continues = [](const std::string& l) {
    size_t n = 0;
    for (auto it = l.rbegin(); it != l.rend() && *it == '\\'; ++it)
      ++n;
    return n % 2 == 1;
  };
  properties out;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto first = strip_leading(lines[i]);
    if (first.empty() || first[0] == '#' || first[0] == '!')
      continue;
    int line = static_cast<int>(i) + 1;
    std::string logical{first};
    while (continues(logical)) {
      logical.pop_back();
      if (i + 1 >= lines.size())
        break;
      logical += strip_leading(lines[++i]);
    }
    size_t key_end = 0;
    size_t value_start = logical.size();
    bool has_separator = false;
    bool escaped = false;
    for (; key_end < logical.size(); ++key_end) {
      char c = logical[key_end];
      if ((c == '=' || c == ':') && !escaped) {
        value_start = key_end + 1;
        has_separator = true;
        break;
      }
      if (java_space(c) && !escaped) {
        value_start = key_end + 1;
        break;
      }
      escaped = c == '\\' ? !escaped : false;
    }
    while (value_start < logical.size()) {
      char c = logical[value_start];
      if (!java_space(c)) {
        if (!has_separator && (c == '=' || c == ':'))
          has_separator = true;
        else
          break;
      }
      ++value_start;
    }
    property p;
    p.line = line;
    if (!unescape(std::string_view{logical}.substr(0, key_end), p.key) ||
        !unescape(std::string_view{logical}.substr(value_start), p.value)) {
      out.bad.emplace_back(line, "malformed \\uXXXX escape");
      continue;
    }
    out.entries.push_back(std::move(p));
  }
  return out;
}

// String.split with a one-character separator: trailing empty parts dropped,
// an input without separator returned whole.
std::vector<std::string> java_split(std::string_view s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() == 1)
    return parts;
  while (!parts.empty() && parts.back().empty())
    parts.pop_back();
  return parts;
}

// --- keys --------------------------------------------------------------------

enum class kind { integer, long_integer, boolean, text };

// Keys QuorumPeerConfig.parseProperties reads itself that zkd does not act
// on, with the check ZooKeeper applies to their values.
const std::map<std::string, kind>& unused_zookeeper_keys() {
  static const std::map<std::string, kind> keys = {
      {"localSessionsEnabled", kind::boolean},
      {"localSessionsUpgradingEnabled", kind::boolean},
      {"secureClientPort", kind::integer},
      {"secureClientPortAddress", kind::text},
      {"observerMasterPort", kind::integer},
      {"clientPortListenBacklog", kind::integer},
      {"connectToLearnerMasterLimit", kind::integer},
      {"quorumListenOnAllIPs", kind::boolean},
      {"syncEnabled", kind::boolean},
      {"autopurge.purgeInterval", kind::integer},
      {"reconfigEnabled", kind::boolean},
      {"sslQuorum", kind::boolean},
      {"portUnification", kind::boolean},
      {"sslQuorumReloadCertFiles", kind::boolean},
      {"quorum.auth.enableSasl", kind::boolean},
      {"quorum.auth.serverRequireSasl", kind::boolean},
      {"quorum.auth.learnerRequireSasl", kind::boolean},
      {"quorum.auth.learner.saslLoginContext", kind::text},
      {"quorum.auth.server.saslLoginContext", kind::text},
      {"quorum.auth.kerberos.servicePrincipal", kind::text},
      {"quorum.cnxn.threads.size", kind::integer},
      {"jvm.pause.info-threshold.ms", kind::long_integer},
      {"jvm.pause.warn-threshold.ms", kind::long_integer},
      {"jvm.pause.sleep.time.ms", kind::long_integer},
      {"jvm.pause.monitor", kind::boolean},
      {"metricsProvider.className", kind::text},
      {"multiAddress.enabled", kind::boolean},
      {"multiAddress.reachabilityCheckTimeoutMs", kind::integer},
      {"multiAddress.reachabilityCheckEnabled", kind::boolean},
      {"oraclePath", kind::text},
  };
  return keys;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] - 'A' + 'a' : a[i];
    auto y = b[i] >= 'A' && b[i] <= 'Z' ? b[i] - 'A' + 'a' : b[i];
    if (x != y)
      return false;
  }
  return true;
}

std::string lower(std::string s) {
  for (auto& ch : s)
    if (ch >= 'A' && ch <= 'Z')
      ch = static_cast<char>(ch - 'A' + 'a');
  return s;
}

// One server.N line, as QuorumServer parses it.
struct server_line {
  std::string file;
  int line = 0;
  uint64_t id = 0;
  std::string host;
  uint16_t quorum_port = 0;
  uint16_t election_port = 0;
  role r = role::participant;
  bool has_client = false;
  std::string client_host; // "0.0.0.0" when only a port is given
  uint16_t client_port = 0;
};

class converter {
public:
  explicit converter(std::string file) : file_(std::move(file)) {}

  result<zoo_cfg> run(std::string_view text);

private:
  void fail(int line, std::string message) {
    errors_.push_back({file_, line, std::move(message)});
  }
  void fail_in(const std::string& file, int line, std::string message) {
    errors_.push_back({file, line, std::move(message)});
  }
  void warn(int line, std::string message) {
    warnings_.push_back({file_, line, std::move(message)});
  }

  std::optional<int32_t> int_value(const property& p);
  std::optional<bool> bool_value(const property& p);
  std::optional<uint16_t> port_value(const property& p, int32_t v);
  void check_unused(const property& p, kind k);
  void parse_server(const std::string& file, const property& p);
  void read_dynamic_file(const property& p);
  void read_myid();
  void build_servers(cluster& c);

  std::string file_;
  std::vector<diagnostic> errors_;
  std::vector<diagnostic> warnings_;

  // What the file said, before defaults.
  std::optional<std::string> data_dir_;
  int data_dir_line_ = 0;
  std::optional<std::string> data_log_dir_;
  int32_t client_port_ = 0; // 0 = not set, as in ZooKeeper
  int client_port_line_ = 0;
  std::optional<std::string> client_port_address_;
  int client_port_address_line_ = 0;
  int32_t tick_ = 3000; // ZooKeeperServer.DEFAULT_TICK_TIME
  int tick_line_ = 0;
  int32_t min_timeout_ = -1;
  int32_t max_timeout_ = -1;
  int min_timeout_line_ = 0;
  int max_timeout_line_ = 0;
  int32_t init_limit_ = 0;
  int32_t sync_limit_ = 0;
  int32_t max_client_cnxns_ = 60;
  std::optional<role> peer_type_;
  int peer_type_line_ = 0;
  bool standalone_enabled_ = true;
  int standalone_enabled_line_ = 0;
  bool multi_address_ = false;
  bool sasl_enabled_ = false;
  bool sasl_server_required_ = false;
  bool sasl_learner_required_ = false;
  int sasl_line_ = 0;
  bool secure_client_port_ = false;
  std::optional<int> secure_client_port_address_line_;
  std::optional<property> dynamic_config_file_;
  std::vector<server_line> servers_;
  std::vector<int> quorum_key_lines_; // server./group/weight in the static file
  std::optional<uint64_t> myid_;
  cluster c_;
};

std::optional<int32_t> converter::int_value(const property& p) {
  auto v = java_parse_int(p.value);
  if (!v)
    fail(p.line, p.key + " must be an integer, not '" + p.value +
                     "' (ZooKeeper rejects it too)");
  return v;
}

std::optional<bool> converter::bool_value(const property& p) {
  if (iequals(p.value, "true"))
    return true;
  if (iequals(p.value, "false"))
    return false;
  fail(p.line, p.key + " must be true or false, not '" + p.value +
                   "' (ZooKeeper rejects it too)");
  return std::nullopt;
}

std::optional<uint16_t> converter::port_value(const property& p, int32_t v) {
  if (v < 0 || v > 65535) {
    fail(p.line, p.key + " " + std::to_string(v) +
                     " is not a port number (0 to 65535)");
    return std::nullopt;
  }
  return static_cast<uint16_t>(v);
}

void converter::check_unused(const property& p, kind k) {
  switch (k) {
  case kind::integer:
    if (!int_value(p))
      return;
    break;
  case kind::long_integer:
    if (!java_parse_long(p.value)) {
      fail(p.line, p.key + " must be an integer, not '" + p.value +
                       "' (ZooKeeper rejects it too)");
      return;
    }
    break;
  case kind::boolean:
    if (!bool_value(p))
      return;
    break;
  case kind::text:
    break;
  }
  warn(p.line, p.key + " is a ZooKeeper setting zkd does not use; ignored");
}

// QuorumPeer.QuorumServer(sid, "host:quorum:election[:role][;[host:]port]").
// The value is not trimmed: ZooKeeper reads "3888 " as a malformed port.
void converter::parse_server(const std::string& file, const property& p) {
  auto report = [&](std::string message) {
    std::string trimmed = java_trim(p.value);
    if (trimmed != p.value && !p.value.empty() &&
        static_cast<unsigned char>(p.value.back()) <= ' ')
      message += " (the line ends in whitespace, which ZooKeeper 3.8 does "
                 "not strip from server lines)";
    fail_in(file, p.line, p.key + ": " + message);
  };
  server_line s;
  s.file = file;
  s.line = p.line;
  auto id = java_parse_long(p.key.substr(p.key.find('.') + 1));
  if (!id) {
    fail_in(file, p.line,
            p.key + ": the server id after 'server.' must be a number");
    return;
  }
  if (*id < 0) {
    fail_in(file, p.line, p.key + ": a server id must not be negative");
    return;
  }
  s.id = static_cast<uint64_t>(*id);
  const std::string form = "'" + p.value +
                           "' does not have the form "
                           "host:quorum_port:election_port[:role]"
                           "[;[client_address:]client_port]";
  // ConfigUtils.getHostAndPort: "[v6 address]:rest" or "a:b:c".
  auto host_and_port = [&](std::string_view part,
                           std::vector<std::string>& out) -> bool {
    if (!part.empty() && part[0] == '[') {
      auto close = part.find(']');
      if (close == std::string_view::npos) {
        report("'" + std::string{part} + "' starts with '[' but has no ']'");
        return false;
      }
      if (close + 2 == part.size()) {
        report("'" + std::string{part} + "' has no port after its colon");
        return false;
      }
      if (close + 2 > part.size()) {
        out = {std::string{part.substr(1, close - 1)}};
        return true;
      }
      out = java_split(part.substr(close + 2), ':');
      out.insert(out.begin(), std::string{part.substr(1, close - 1)});
      return true;
    }
    out = java_split(part, ':');
    return true;
  };
  auto port = [&](const std::string& host, const std::string& text,
                  uint16_t& out) {
    auto v = java_parse_int(text);
    if (!v) {
      report("port '" + text + "' of " + host + " is not a number");
      return false;
    }
    if (*v < 0 || *v > 65535) {
      report("port " + text + " is out of range (0 to 65535)");
      return false;
    }
    out = static_cast<uint16_t>(*v);
    return true;
  };
  auto server_client = java_split(p.value, ';');
  if (server_client.size() > 2 || server_client.empty()) {
    report(form);
    return;
  }
  if (server_client.size() == 2) {
    std::vector<std::string> client;
    if (!host_and_port(server_client[1], client))
      return;
    if (client.size() > 2 || client.empty()) {
      report(form);
      return;
    }
    s.has_client = true;
    s.client_host = client.size() == 2 ? client[0] : "0.0.0.0";
    if (!port(s.client_host, client.back(), s.client_port))
      return;
  }
  auto addresses = java_split(server_client[0], '|');
  if (addresses.size() > 1 && !multi_address_) {
    report("several addresses for one server ('|') need "
           "multiAddress.enabled=true in ZooKeeper, and zkd uses only one");
    return;
  }
  if (addresses.size() > 1)
    warn(p.line, p.key + ": zkd uses only the first of several addresses");
  if (addresses.empty()) {
    report(form);
    return;
  }
  std::vector<std::string> parts;
  if (!host_and_port(addresses[0], parts))
    return;
  if (parts.size() < 3 || parts.size() > 4) {
    report(form);
    return;
  }
  s.host = parts[0];
  if (!port(s.host, parts[1], s.quorum_port) ||
      !port(s.host, parts[2], s.election_port))
    return;
  if (s.quorum_port == s.election_port) {
    report("the quorum and election ports must be different");
    return;
  }
  if (parts.size() == 4) {
    auto type = lower(parts[3]);
    if (type == "observer") {
      s.r = role::observer;
    } else if (type == "participant") {
      s.r = role::participant;
    } else {
      report("unknown role '" + parts[3] +
             "': a server is a participant or an observer");
      return;
    }
  }
  // Properties keep the last of two equal keys; "server.1" and "server.01"
  // both name server 1, and ZooKeeper would keep either.
  for (auto& other : servers_) {
    if (other.id == s.id) {
      fail_in(file, p.line,
              p.key + ": server id " + std::to_string(s.id) +
                  " is already defined on line " + std::to_string(other.line));
      return;
    }
  }
  servers_.push_back(std::move(s));
}

void converter::read_dynamic_file(const property& p) {
  std::ifstream in(p.value, std::ios::binary);
  if (!in) {
    fail(p.line, "cannot read dynamicConfigFile " + p.value);
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto props = load_properties(text.str());
  for (auto& [line, why] : props.bad)
    fail_in(p.value, line, why);
  for (auto& d : props.entries) {
    auto key = java_trim(d.key);
    if (starts_with(key, "server.")) {
      property copy = d;
      copy.key = key;
      parse_server(p.value, copy);
    } else if (key == "version") {
      fail_in(p.value, d.line,
              "a dynamic configuration file must not hold a version (it "
              "comes from the file name)");
    } else if (starts_with(key, "group") || starts_with(key, "weight")) {
      fail_in(p.value, d.line,
              key + ": hierarchical quorums (group/weight) are not "
                    "supported by zkd");
    } else {
      fail_in(p.value, d.line,
              "'" + key +
                  "' does not belong in a dynamic configuration file "
                  "(only server.N lines do)");
    }
  }
}

// QuorumPeerConfig.setupMyId: the first line of dataDir/myid, if that file
// exists, must be a number (not even surrounding blanks are allowed).
void converter::read_myid() {
  if (!data_dir_)
    return;
  std::string path = *data_dir_ + "/myid";
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return;
  std::string first;
  std::getline(in, first);
  if (!first.empty() && first.back() == '\r')
    first.pop_back();
  auto v = java_parse_long(first);
  if (!v || *v < 0) {
    errors_.push_back({path, 1,
                       "the server id '" + first +
                           "' is not a number (ZooKeeper rejects "
                           "it too)"});
    return;
  }
  myid_ = static_cast<uint64_t>(*v);
}

void converter::build_servers(cluster& c) {
  size_t participants = 0;
  size_t observers = 0;
  for (auto& s : servers_)
    (s.r == role::participant ? participants : observers) += 1;
  auto first_observer =
      std::find_if(servers_.begin(), servers_.end(),
                   [](const server_line& s) { return s.r == role::observer; });
  bool distributed = false;
  if (participants == 0) {
    if (!standalone_enabled_)
      fail(standalone_enabled_line_,
           "standaloneEnabled=false needs at least one participant server "
           "line");
    else if (observers > 0)
      fail_in(first_observer->file, first_observer->line,
              "observers without participants are not an ensemble");
  } else if (participants == 1 && standalone_enabled_) {
    if (observers > 0) {
      fail_in(first_observer->file, first_observer->line,
              "observers need a quorum: with one participant, ZooKeeper "
              "rejects observers (or set standaloneEnabled=false)");
    } else {
      warnings_.push_back(
          {servers_.front().file, servers_.front().line,
           "only one server line: ZooKeeper runs standalone and ignores it "
           "(standaloneEnabled=false makes a one-member ensemble)"});
    }
  } else {
    distributed = true;
  }
  if (!distributed) {
    if (client_port_ == 0)
      fail(0, "clientPort is not set: ZooKeeper would start without a client "
              "port, zkd needs one");
    else
      c.client.port = static_cast<uint16_t>(client_port_);
    c.client.address = client_port_address_.value_or("0.0.0.0");
    return;
  }

  if (participants == 2)
    warnings_.push_back({servers_.front().file, servers_.front().line,
                         "2 participants tolerate no failure: 3 tolerate one"});
  else if (participants % 2 == 0)
    warnings_.push_back({servers_.front().file, servers_.front().line,
                         std::to_string(participants) +
                             " participants tolerate no more failures than " +
                             std::to_string(participants - 1)});
  if (init_limit_ == 0)
    fail(0, "initLimit is not set: ZooKeeper requires it for an ensemble");
  if (sync_limit_ == 0)
    fail(0, "syncLimit is not set: ZooKeeper requires it for an ensemble");

  c.client.port =
      client_port_ == 0 ? 2181 : static_cast<uint16_t>(client_port_);
  c.client.address = client_port_address_.value_or("0.0.0.0");
  std::vector<server_line> sorted = servers_;
  std::sort(sorted.begin(), sorted.end(),
            [](auto& x, auto& y) { return x.id < y.id; });
  for (auto& l : sorted) {
    server s;
    s.id = l.id;
    s.host = l.host;
    s.quorum_port = l.quorum_port;
    s.election_port = l.election_port;
    s.r = l.r;
    s.admin_port = c.admin.port;
    bool self = myid_ && *myid_ == l.id;
    if (l.has_client) {
      s.client_address = l.client_host;
      s.client_port = l.client_port;
      // QuorumPeerConfig.setupClientPort: this node's static client address
      // must agree with its server line.
      if (self && client_port_ != 0) {
        auto static_address = client_port_address_.value_or("0.0.0.0");
        bool wildcard = detail::is_wildcard(static_address);
        if ((!wildcard && (static_address != l.client_host ||
                           client_port_ != l.client_port)) ||
            (wildcard && client_port_ != l.client_port))
          fail_in(l.file, l.line,
                  "server." + std::to_string(l.id) + " (this node, by myid) " +
                      "gives client address " + l.client_host + ":" +
                      std::to_string(l.client_port) +
                      " but clientPort/clientPortAddress say " +
                      static_address + ":" + std::to_string(client_port_));
      }
    } else {
      s.client_address = c.client.address;
      s.client_port = c.client.port;
      if (client_port_ == 0) {
        if (self)
          fail_in(l.file, l.line,
                  "server." + std::to_string(l.id) +
                      " (this node, by myid) has no client port: add "
                      "';port' to its line or set clientPort");
        else
          warnings_.push_back(
              {l.file, l.line,
               "server." + std::to_string(l.id) +
                   " has no client port here and clientPort is not set: "
                   "assuming 2181"});
      }
    }
    c.servers.push_back(std::move(s));
  }
  for (auto& cl : detail::find_clashes(c.servers, false, {},
                                       detail::clash_scope::quorum_only)) {
    auto& b = sorted[cl.second];
    auto& a = c.servers[cl.first];
    if (cl.first == cl.second)
      fail_in(b.file, b.line,
              "server." + std::to_string(b.id) + " uses port " +
                  std::to_string(cl.port) + " twice");
    else
      fail_in(b.file, b.line,
              "server." + std::to_string(b.id) + " listens on " + cl.address +
                  ":" + std::to_string(cl.port) + ", as server." +
                  std::to_string(a.id) + " does");
  }
  // Servers without their own client part all got this file's clientPort;
  // on one host that cannot be right, but it is how the file reads.
  for (auto& cl :
       detail::find_clashes(c.servers, false, {}, detail::clash_scope::all)) {
    if (cl.first_what != "client_port" && cl.second_what != "client_port")
      continue;
    auto& b = sorted[cl.second];
    warnings_.push_back(
        {b.file, b.line,
         "server." + std::to_string(b.id) + "'s client port " +
             std::to_string(cl.port) + " collides with server." +
             std::to_string(c.servers[cl.first].id) + " on host " + b.host +
             ": give each server line its own ';client_port' before running "
             "several nodes on one machine"});
  }
  if (peer_type_ && myid_) {
    for (auto& s : c.servers)
      if (s.id == *myid_ && s.r != *peer_type_)
        warn(peer_type_line_, "peerType says " +
                                  std::string{to_string(*peer_type_)} +
                                  " but server." + std::to_string(s.id) +
                                  " is " + std::string{to_string(s.r)} +
                                  ": the server line wins, as in ZooKeeper");
  }
}

result<zoo_cfg> converter::run(std::string_view text) {
  c_.origin.file = file_;
  c_.data_dir.clear();
  auto props = load_properties(text);
  for (auto& [line, why] : props.bad)
    fail(line, why);

  // Properties keeps the last value of a repeated key.
  std::map<std::string, size_t> last;
  std::vector<property> entries;
  for (auto& p : props.entries) {
    property t{java_trim(p.key), java_trim(p.value), p.line};
    if (starts_with(t.key, "server."))
      t.value = p.value; // QuorumMaj reads the raw value
    if (auto it = last.find(t.key); it != last.end()) {
      warn(t.line, "'" + t.key + "' was already set on line " +
                       std::to_string(entries[it->second].line) +
                       "; ZooKeeper uses this later value");
      entries[it->second].key.clear();
    }
    last[t.key] = entries.size();
    entries.push_back(std::move(t));
  }
  entries.erase(std::remove_if(entries.begin(), entries.end(),
                               [](auto& p) { return p.key.empty(); }),
                entries.end());

  // Settings that change how others are read come first.
  for (auto& p : entries) {
    if (p.key == "multiAddress.enabled") {
      if (auto b = bool_value(p))
        multi_address_ = *b;
    } else if (p.key == "dynamicConfigFile") {
      dynamic_config_file_ = p;
    }
  }

  bool four_letter_words_set = false;
  for (auto& p : entries) {
    const auto& key = p.key;
    const auto& value = p.value;
    if (key == "dataDir") {
      data_dir_ = value;
      data_dir_line_ = p.line;
    } else if (key == "dataLogDir") {
      data_log_dir_ = value;
    } else if (key == "clientPort") {
      if (auto v = int_value(p); v && port_value(p, *v)) {
        client_port_ = *v;
        client_port_line_ = p.line;
      }
    } else if (key == "clientPortAddress") {
      client_port_address_ = value;
      client_port_address_line_ = p.line;
    } else if (key == "tickTime") {
      if (auto v = int_value(p)) {
        tick_ = *v;
        tick_line_ = p.line;
      }
    } else if (key == "maxClientCnxns") {
      if (auto v = int_value(p)) {
        max_client_cnxns_ = *v;
        if (*v < 0) {
          warn(p.line, "a negative maxClientCnxns means no limit, as 0 does");
          max_client_cnxns_ = 0;
        }
      }
    } else if (key == "minSessionTimeout") {
      if (auto v = int_value(p)) {
        min_timeout_ = *v;
        min_timeout_line_ = p.line;
      }
    } else if (key == "maxSessionTimeout") {
      if (auto v = int_value(p)) {
        max_timeout_ = *v;
        max_timeout_line_ = p.line;
      }
    } else if (key == "initLimit") {
      if (auto v = int_value(p)) {
        init_limit_ = *v;
        if (*v < 0)
          fail(p.line, "initLimit must be a positive number of ticks");
      }
    } else if (key == "syncLimit") {
      if (auto v = int_value(p)) {
        sync_limit_ = *v;
        if (*v < 0)
          fail(p.line, "syncLimit must be a positive number of ticks");
      }
    } else if (key == "electionAlg") {
      if (auto v = int_value(p); v && *v != 3)
        fail(p.line, "electionAlg " + value +
                         " is not supported: only 3 (fast leader election) "
                         "is, in ZooKeeper 3.8 as in zkd");
    } else if (key == "peerType") {
      auto type = lower(value);
      if (type == "observer")
        peer_type_ = role::observer;
      else if (type == "participant")
        peer_type_ = role::participant;
      else
        fail(p.line,
             "peerType must be participant or observer, not '" + value + "'");
      peer_type_line_ = p.line;
    } else if (key == "standaloneEnabled") {
      if (auto b = bool_value(p)) {
        standalone_enabled_ = *b;
        standalone_enabled_line_ = p.line;
      }
    } else if (key == "multiAddress.enabled" || key == "dynamicConfigFile") {
      // Read above.
    } else if (starts_with(key, "server.") || starts_with(key, "group") ||
               starts_with(key, "weight")) {
      if (dynamic_config_file_) {
        fail(p.line, key + " must be in the dynamic configuration file, "
                           "since dynamicConfigFile is set");
      } else if (starts_with(key, "server.")) {
        parse_server(file_, p);
      } else {
        fail(p.line, key + ": hierarchical quorums (group/weight) are not "
                           "supported by zkd");
      }
    } else if (key == "quorum.auth.enableSasl" ||
               key == "quorum.auth.serverRequireSasl" ||
               key == "quorum.auth.learnerRequireSasl") {
      if (auto b = bool_value(p)) {
        (key == "quorum.auth.enableSasl"          ? sasl_enabled_
         : key == "quorum.auth.serverRequireSasl" ? sasl_server_required_
                                                  : sasl_learner_required_) =
            *b;
        sasl_line_ = std::max(sasl_line_, p.line);
        if (*b)
          warn(p.line, key + ": zkd does not authenticate quorum peers with "
                             "SASL; ignored");
      }
    } else if (key == "secureClientPort") {
      if (auto v = int_value(p); v && port_value(p, *v) && *v != 0) {
        secure_client_port_ = true;
        warn(p.line, "secureClientPort: zkd has no TLS client port; ignored");
      }
    } else if (key == "secureClientPortAddress") {
      secure_client_port_address_line_ = p.line;
    } else if (auto unused = unused_zookeeper_keys().find(key);
               unused != unused_zookeeper_keys().end()) {
      check_unused(p, unused->second);
    } else if (starts_with(key, "metricsProvider.")) {
      warn(p.line, key + " is a ZooKeeper setting zkd does not use; ignored");
    }
    // From here on: keys QuorumPeerConfig turns into system properties
    // ("zookeeper." + key) for the components that read them.
    else if (key == "4lw.commands.whitelist") {
      // FourLetterCommands: comma-separated, "*" for all; ZooKeeper
      // silently ignores words it does not know.
      four_letter_words_set = true;
      c_.four_letter_words.clear();
      for (auto& word : java_split(value, ',')) {
        auto w = java_trim(word);
        if (w == "*") {
          c_.four_letter_words = known_four_letter_words();
          break;
        }
        if (w.empty())
          continue;
        if (detail::contains(known_four_letter_words(), w))
          c_.four_letter_words.push_back(w);
        else
          warn(p.line, "4lw.commands.whitelist: '" + w +
                           "' is not a four-letter word ZooKeeper 3.8 knows; "
                           "ignored");
      }
    } else if (key == "extendedTypesEnabled") {
      // Boolean.getBoolean: only "true", in any case, enables.
      c_.extended_types = iequals(value, "true");
      if (!c_.extended_types && !iequals(value, "false"))
        warn(p.line, "extendedTypesEnabled '" + value +
                         "' is not true, so it is false (as in ZooKeeper)");
    } else if (key == "admin.enableServer") {
      // AdminServerFactory: anything but "false" enables it.
      c_.admin.enabled = value != "false";
      if (value != "true" && value != "false")
        warn(p.line, "admin.enableServer '" + value +
                         "' is not \"false\", so the admin server is on (as "
                         "in ZooKeeper)");
    } else if (key == "admin.serverPort") {
      auto v = java_parse_int(value);
      if (!v) {
        warn(p.line, "admin.serverPort '" + value +
                         "' is not a number: ZooKeeper falls back to 8080, "
                         "so does zkd");
      } else if (*v < 1 || *v > 65535) {
        fail(p.line, "admin.serverPort " + value +
                         " is not a port number (1 to 65535)");
      } else {
        c_.admin.port = static_cast<uint16_t>(*v);
      }
    } else if (key == "admin.serverAddress") {
      c_.admin.address = value;
    } else if (key == "DigestAuthenticationProvider.superDigest") {
      if (value.find(':') == std::string::npos)
        warn(p.line, "DigestAuthenticationProvider.superDigest '" + value +
                         "' has no ':' so it can never match a digest "
                         "(user:base64); ignored");
      else
        c_.super_digest = value;
    } else if (key == "snapCount") {
      auto v = java_parse_int(value);
      if (!v) {
        warn(p.line, "snapCount '" + value +
                         "' is not a number: ZooKeeper uses 100000, so does "
                         "zkd");
      } else if (*v < 2) {
        warn(p.line, "snapCount below 2 is raised to 2, as in ZooKeeper");
        c_.snapshot_count = 2;
      } else {
        c_.snapshot_count = *v;
      }
    } else if (key == "autopurge.snapRetainCount") {
      // QuorumPeerConfig: an integer, raised to 3 when smaller. ZooKeeper
      // purges only when autopurge.purgeInterval is set (it is 0, off, by
      // default); zkd purges after every snapshot, which is worth a line.
      if (auto v = int_value(p)) {
        c_.snapshot_retain = std::max<int32_t>(*v, 3);
        warn(p.line, "autopurge.snapRetainCount " + value +
                         (*v < 3 ? " is below 3, so 3 (as in ZooKeeper)" : "") +
                         ": zkd keeps " + std::to_string(c_.snapshot_retain) +
                         " snapshots and purges older snapshots and log "
                         "after every snapshot, whatever "
                         "autopurge.purgeInterval says");
      }
    } else if (key == "snapSizeLimitInKb") {
      // zookeeper.snapSizeLimitInKb (Long.getLong: a bad number means the
      // default); zero or less turns the size rule off.
      auto v = java_parse_long(value);
      if (!v)
        warn(p.line, "snapSizeLimitInKb '" + value +
                         "' is not a number: ZooKeeper uses 4194304, so "
                         "does zkd");
      else if (*v <= 0)
        c_.snapshot_bytes = 0;
      else
        c_.snapshot_bytes = *v > INT64_MAX / 1024 ? INT64_MAX : *v * 1024;
    } else if (key == "enforceQuota") {
      // zookeeper.enforceQuota, read with Boolean.parseBoolean.
      c_.enforce_quota = iequals(value, "true");
      if (!c_.enforce_quota && !iequals(value, "false"))
        warn(p.line, "enforceQuota '" + value +
                         "' is not true, so it is false (as in ZooKeeper)");
    } else if (key == "forceSync") {
      // FileTxnLog: only "no" turns fsync off.
      c_.fsync = value != "no";
      if (value != "no" && value != "yes")
        warn(p.line, "forceSync '" + value +
                         "' is not \"no\", so fsync stays on (as in "
                         "ZooKeeper)");
    } else if (key == "jute.maxbuffer") {
      warn(p.line, "jute.maxbuffer has no effect in zoo.cfg: ZooKeeper reads "
                   "it only as the JVM property -Djute.maxbuffer; ignored "
                   "(set max_frame_bytes in the YAML)");
    } else if (key == "znode.container.checkIntervalMs") {
      warn(p.line, "znode.container.checkIntervalMs has no effect in zoo.cfg: "
                   "ZooKeeper reads it only as the JVM property "
                   "-Dznode.container.checkIntervalMs; ignored (set "
                   "container_check_interval_ms in the YAML)");
    } else {
      warn(p.line, "'" + key +
                       "' is not a zkd setting (ZooKeeper turns it "
                       "into the system property zookeeper." +
                       key + "); ignored");
    }
  }
  if (dynamic_config_file_)
    read_dynamic_file(*dynamic_config_file_);

  // The checks parseProperties makes after its loop.
  if (!sasl_enabled_ && sasl_server_required_)
    fail(sasl_line_, "quorum.auth.serverRequireSasl needs "
                     "quorum.auth.enableSasl=true");
  if (!sasl_enabled_ && sasl_learner_required_)
    fail(sasl_line_, "quorum.auth.learnerRequireSasl needs "
                     "quorum.auth.enableSasl=true");
  if (!sasl_learner_required_ && sasl_server_required_)
    fail(sasl_line_, "quorum.auth.serverRequireSasl needs "
                     "quorum.auth.learnerRequireSasl=true");
  if (!data_dir_ || data_dir_->empty()) {
    fail(0, "dataDir is not set");
  } else {
    c_.data_dir = *data_dir_;
  }
  if (data_log_dir_)
    c_.data_log_dir = *data_log_dir_;
  if (client_port_ == 0 && client_port_address_)
    fail(client_port_address_line_,
         "clientPortAddress is set but clientPort is not");
  if (!secure_client_port_ && secure_client_port_address_line_)
    fail(*secure_client_port_address_line_,
         "secureClientPortAddress is set but secureClientPort is not");
  else if (secure_client_port_address_line_)
    warn(*secure_client_port_address_line_,
         "secureClientPortAddress: zkd has no TLS client port; ignored");
  if (tick_ == 0) {
    fail(tick_line_, "tickTime is not set (0)");
  } else if (tick_ < 0) {
    fail(tick_line_, "tickTime must be a positive number of milliseconds");
  } else {
    c_.tick_ms = tick_;
    auto clamp = [](int64_t v) {
      return static_cast<int32_t>(
          std::min<int64_t>(v, std::numeric_limits<int32_t>::max()));
    };
    c_.min_session_timeout_ms =
        min_timeout_ == -1 ? clamp(int64_t{2} * tick_) : min_timeout_;
    c_.max_session_timeout_ms =
        max_timeout_ == -1 ? clamp(int64_t{20} * tick_) : max_timeout_;
    if (c_.min_session_timeout_ms > c_.max_session_timeout_ms)
      fail(min_timeout_line_ ? min_timeout_line_ : max_timeout_line_,
           "minSessionTimeout (" + std::to_string(c_.min_session_timeout_ms) +
               ") must not be larger than maxSessionTimeout (" +
               std::to_string(c_.max_session_timeout_ms) + ")");
    else if (c_.min_session_timeout_ms <= 0)
      fail(min_timeout_line_, "minSessionTimeout must be positive (or -1 "
                              "for 2 x tickTime)");
  }
  if (init_limit_ > 0)
    c_.init_limit_ticks = init_limit_;
  if (sync_limit_ > 0)
    c_.sync_limit_ticks = sync_limit_;
  c_.max_client_connections = max_client_cnxns_;
  if (!four_letter_words_set)
    c_.four_letter_words.clear();
  detail::normalize_four_letter_words(c_.four_letter_words);

  // ZooKeeper's own defaults differ from zkd's YAML defaults here.
  std::vector<std::string> seen_keys;
  for (auto& p : entries)
    seen_keys.push_back(p.key);
  if (!detail::contains(seen_keys, "admin.enableServer"))
    c_.admin.enabled = true;
  if (!detail::contains(seen_keys, "admin.serverAddress"))
    c_.admin.address = "0.0.0.0";

  read_myid();
  build_servers(c_);

  result<zoo_cfg> out;
  auto by_line = [](const diagnostic& x, const diagnostic& y) {
    return std::tie(x.file, x.line) < std::tie(y.file, y.line);
  };
  std::stable_sort(errors_.begin(), errors_.end(), by_line);
  std::stable_sort(warnings_.begin(), warnings_.end(), by_line);
  out.errors = std::move(errors_);
  out.warnings = std::move(warnings_);
  if (out.errors.empty())
    out.value = zoo_cfg{std::move(c_), myid_};
  return out;
}

} // namespace

result<zoo_cfg> parse_zoo_cfg_text(std::string_view text,
                                   const std::string& file_name) {
  return converter{file_name}.run(text);
}

result<zoo_cfg> parse_zoo_cfg(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    result<zoo_cfg> out;
    out.errors.push_back({path, 0,
                          "cannot read the file (missing or "
                          "unreadable)"});
    return out;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_zoo_cfg_text(text.str(), path);
}

result<node_config> resolve(const zoo_cfg& z) {
  if (z.c.standalone())
    return resolve(z.c, std::nullopt);
  if (!z.myid) {
    result<node_config> out;
    out.errors.push_back(
        {z.c.origin.file, 0,
         "the file describes an ensemble, but " + z.c.data_dir +
             "/myid is missing: write this server's id there (ZooKeeper "
             "needs it too)"});
    return out;
  }
  auto out = resolve(z.c, z.myid);
  for (auto& e : out.errors)
    e.message += " (read from " + z.c.data_dir + "/myid)";
  return out;
}

} // namespace zkd::config
