#include "config/config.hpp"

#include <algorithm>
#include <limits>
#include <tuple>

#include "config/detail.hpp"

namespace zkd::config {

std::string_view to_string(role r) {
  return r == role::observer ? "observer" : "participant";
}

bool operator==(const server& x, const server& y) {
  return std::tie(x.id, x.host, x.quorum_port, x.election_port, x.client_port,
                  x.client_address, x.r, x.data_dir, x.data_log_dir,
                  x.admin_port) == std::tie(y.id, y.host, y.quorum_port,
                                            y.election_port, y.client_port,
                                            y.client_address, y.r, y.data_dir,
                                            y.data_log_dir, y.admin_port);
}

bool operator==(const cluster& x, const cluster& y) {
  auto settings = [](const cluster& c) {
    return std::tie(
        c.tick_ms, c.init_limit_ticks, c.sync_limit_ticks,
        c.min_session_timeout_ms, c.max_session_timeout_ms,
        c.max_client_connections, c.max_frame_bytes, c.four_letter_words,
        c.extended_types, c.container_check_interval_ms, c.fsync,
        c.snapshot_count, c.snapshot_bytes, c.snapshot_tree_percent,
        c.snapshot_retain, c.enforce_quota, c.data_dir, c.data_log_dir,
        c.client.address, c.client.port, c.admin.enabled, c.admin.address,
        c.admin.port, c.log.level, c.log.file, c.log.levels, c.trace.file,
        c.trace.actors, c.super_digest, c.servers);
  };
  return settings(x) == settings(y);
}

std::vector<server> cluster::members() const {
  if (!servers.empty())
    return servers;
  server s;
  s.id = 1;
  s.client_port = client.port;
  s.client_address = client.address;
  s.admin_port = admin.port;
  return {s};
}

bool cluster::four_letter_word_enabled(std::string_view word) const {
  return word == "srvr" || detail::contains(four_letter_words, word);
}

std::string diagnostic::to_string() const {
  std::string out = file.empty() ? std::string{"<config>"} : file;
  if (line > 0)
    out += ":" + std::to_string(line);
  out += ": ";
  out += message;
  return out;
}

namespace {

std::string id_list(const cluster& c) {
  std::vector<std::string> ids;
  for (auto& s : c.servers)
    ids.push_back(std::to_string(s.id));
  return detail::join(ids);
}

} // namespace

result<node_config> resolve(const cluster& c, std::optional<uint64_t> id) {
  result<node_config> out;
  auto fail = [&](std::string message) {
    out.errors.push_back(
        {c.origin.file, c.origin.servers_line, std::move(message)});
    return out;
  };
  auto members = c.members();
  const server* self = nullptr;
  if (!id) {
    if (members.size() != 1)
      return fail("the file describes " + std::to_string(members.size()) +
                  " servers (ids " + id_list(c) +
                  "): say which one this node is with --id");
    self = &members.front();
  } else {
    for (auto& s : members)
      if (s.id == *id)
        self = &s;
    if (self == nullptr) {
      if (c.standalone())
        return fail("id " + std::to_string(*id) +
                    " is not in the file: it has no servers list, so it "
                    "describes one standalone node with id 1");
      return fail("id " + std::to_string(*id) +
                  " is not in the servers list (ids " + id_list(c) + ")");
    }
  }
  node_config n;
  n.c = c;
  n.id = self->id;
  n.self = *self;
  n.data_dir = self->data_dir.empty() ? c.data_dir : self->data_dir;
  n.data_log_dir = !self->data_log_dir.empty() ? self->data_log_dir
                   : !c.data_log_dir.empty()   ? c.data_log_dir
                                               : n.data_dir;
  out.value = std::move(n);
  return out;
}

const std::vector<std::string>& known_four_letter_words() {
  // FourLetterCommands of ZooKeeper 3.8.0 (3.9 adds others).
  static const std::vector<std::string> words = {
      "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro",
      "mntr", "ruok", "srst", "srvr", "stat", "stmk", "wchc", "wchp", "wchs",
  };
  return words;
}

const std::vector<std::string>& actor_kinds() {
  // The actors of DESIGN.md "One node, as actors".
  static const std::vector<std::string> kinds = {
      "admin",    "client_listener",  "connection",
      "datatree", "election",         "follower",
      "leader",   "learner_handler",  "observer",
      "peer",     "session_tracker",  "snapshotter",
      "txn_log",  "watch_dispatcher",
  };
  return kinds;
}

const std::vector<std::string>& log_levels() {
  static const std::vector<std::string> levels = {
      "trace", "debug", "info", "warn", "error", "critical", "off",
  };
  return levels;
}

// --- detail ------------------------------------------------------------------

namespace detail {

std::optional<int64_t> parse_int(std::string_view s, int64_t lo, int64_t hi) {
  bool negative = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  if (i == s.size())
    return std::nullopt;
  // Accumulate as a negative number so INT64_MIN fits.
  int64_t value = 0;
  constexpr auto min = std::numeric_limits<int64_t>::min();
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9')
      return std::nullopt;
    int digit = s[i] - '0';
    if (value < (min + digit) / 10)
      return std::nullopt;
    value = value * 10 - digit;
  }
  if (!negative) {
    if (value == min)
      return std::nullopt;
    value = -value;
  }
  if (value < lo || value > hi)
    return std::nullopt;
  return value;
}

std::optional<uint64_t> parse_uint64(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '+')
    ++i;
  if (i == s.size())
    return std::nullopt;
  uint64_t value = 0;
  constexpr auto max = std::numeric_limits<uint64_t>::max();
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9')
      return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (value > (max - digit) / 10)
      return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<int32_t> java_parse_int(std::string_view s) {
  auto v = parse_int(s, std::numeric_limits<int32_t>::min(),
                     std::numeric_limits<int32_t>::max());
  if (!v)
    return std::nullopt;
  return static_cast<int32_t>(*v);
}

std::optional<int64_t> java_parse_long(std::string_view s) {
  return parse_int(s, std::numeric_limits<int64_t>::min(),
                   std::numeric_limits<int64_t>::max());
}

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

} // namespace

std::string closest(std::string_view word,
                    const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (auto& c : candidates) {
    auto d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // A third of the word may be wrong: catches "tick_time" for "tick_ms"
  // without suggesting unrelated keys for short words.
  if (best_distance == 0 ||
      best_distance > std::max<size_t>(2, word.size() / 3))
    return {};
  return best;
}

std::string did_you_mean(std::string_view word,
                         const std::vector<std::string>& candidates) {
  auto best = closest(word, candidates);
  if (best.empty())
    return {};
  return " (did you mean '" + best + "'?)";
}

std::string join(const std::vector<std::string>& words, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0)
      out += sep;
    out += words[i];
  }
  return out;
}

bool contains(const std::vector<std::string>& words, std::string_view w) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

void normalize_four_letter_words(std::vector<std::string>& words) {
  words.push_back("srvr");
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
}

bool is_wildcard(std::string_view address) {
  return address.empty() || address == "0.0.0.0" || address == "::" ||
         address == "[::]";
}

std::vector<clash> find_clashes(const std::vector<server>& servers,
                                bool admin_enabled,
                                const std::string& admin_address,
                                clash_scope scope) {
  struct socket {
    size_t server;
    std::string what;
    std::string address;
    uint16_t port;
  };
  std::vector<socket> sockets;
  for (size_t i = 0; i < servers.size(); ++i) {
    auto& s = servers[i];
    sockets.push_back({i, "quorum_port", s.host, s.quorum_port});
    sockets.push_back({i, "election_port", s.host, s.election_port});
    if (scope == clash_scope::all) {
      sockets.push_back({i, "client_port", s.client_address, s.client_port});
      if (admin_enabled)
        sockets.push_back({i, "admin_port", admin_address, s.admin_port});
    }
  }
  std::vector<clash> out;
  for (size_t later = 0; later < sockets.size(); ++later) {
    auto& b = sockets[later];
    for (size_t earlier = 0; earlier < later; ++earlier) {
      auto& a = sockets[earlier];
      if (a.port != b.port)
        continue;
      if (servers[a.server].host != servers[b.server].host)
        continue;
      if (a.address != b.address && !is_wildcard(a.address) &&
          !is_wildcard(b.address))
        continue;
      out.push_back({a.server, b.server, a.what, b.what,
                     is_wildcard(b.address) ? a.address : b.address, b.port});
      break;
    }
  }
  return out;
}

} // namespace detail

} // namespace zkd::config
