// The YAML form of the configuration: parse_yaml, load_yaml_file, to_yaml.
#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "config/config.hpp"
#include "config/detail.hpp"

namespace zkd::config {

namespace {

using detail::did_you_mean;
using detail::join;

constexpr int64_t int32_max = std::numeric_limits<int32_t>::max();
constexpr int64_t int64_max = std::numeric_limits<int64_t>::max();

// One key of a mapping, with where it was written.
struct field {
  std::string path; // "client.port", "servers[1].role"
  YAML::Node key;
  YAML::Node value;
  int key_line = 0;
  int value_line = 0;
};

using fields = std::map<std::string, field>;

int line_of(const YAML::Node& n) {
  auto m = n.Mark();
  return m.line < 0 ? 0 : m.line + 1;
}

bool is_quoted(const YAML::Node& n) {
  // yaml-cpp tags a quoted scalar "!" and a plain one "?".
  return n.Tag() == "!";
}

// How a value looks, for "must be X, not Y" messages.
std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined:
    return "empty";
  case YAML::NodeType::Sequence:
    return "a list";
  case YAML::NodeType::Map:
    return "a mapping";
  case YAML::NodeType::Scalar:
    break;
  }
  if (is_quoted(n))
    return "the string \"" + n.Scalar() + "\"";
  return n.Scalar();
}

class reader {
public:
  explicit reader(std::string file) : file_(std::move(file)) {}

  std::vector<diagnostic> errors;
  std::vector<diagnostic> warnings;

  void fail(int line, std::string message) {
    errors.push_back({file_, line, std::move(message)});
  }

  void warn(int line, std::string message) {
    warnings.push_back({file_, line, std::move(message)});
  }

  // The keys of a mapping, each checked against `known`. An empty (null)
  // node reads as an empty mapping. `where` names the mapping in messages.
  fields read_map(const YAML::Node& node, const std::string& prefix,
                  const std::string& where,
                  const std::vector<std::string>& known, int line_if_null) {
    fields out;
    if (node.IsNull())
      return out;
    if (!node.IsMap()) {
      fail(line_of(node) ? line_of(node) : line_if_null,
           (where.empty() ? std::string{"the top level"} : where) +
               " must be a mapping of keys to values, not " + describe(node));
      return out;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies: it-> yields a temporary whose members die with it.
      YAML::Node key = it->first;
      YAML::Node value = it->second;
      int key_line = line_of(key);
      if (!key.IsScalar()) {
        fail(key_line, "a key " + (where.empty() ? "" : "in " + where + " ") +
                           "must be a plain word, not " + describe(key));
        continue;
      }
      const std::string& name = key.Scalar();
      if (!detail::contains(known, name)) {
        std::string msg = "unknown key '" + name + "'";
        if (!where.empty())
          msg += " in " + where;
        auto hint = did_you_mean(name, known);
        if (!hint.empty())
          msg += hint;
        else if (!where.empty())
          msg += "; known keys: " + join(known);
        else
          msg += "; README.md (Configuration) lists every key";
        fail(key_line, msg);
        continue;
      }
      if (auto prev = out.find(name); prev != out.end()) {
        fail(key_line, "key '" + prefix + name +
                           "' appears twice (first on line " +
                           std::to_string(prev->second.key_line) + ")");
        continue;
      }
      field f;
      f.path = prefix + name;
      f.key = key;
      f.value = value;
      f.key_line = key_line;
      // An empty value has the mark of whatever follows it.
      int vl = line_of(value);
      f.value_line = value.IsNull() || vl == 0 ? key_line : vl;
      out.emplace(name, std::move(f));
    }
    return out;
  }

  const field* find(const fields& fs, const std::string& key) {
    auto i = fs.find(key);
    return i == fs.end() ? nullptr : &i->second;
  }

  // A plain scalar, or an error saying it must be `expect`.
  const YAML::Node* scalar(const field& f, const std::string& expect) {
    if (f.value.IsScalar() && !is_quoted(f.value))
      return &f.value;
    fail(f.value_line,
         f.path + " must be " + expect + ", not " + describe(f.value));
    return nullptr;
  }

  template <class Int>
  bool read_int(const fields& fs, const std::string& key, int64_t lo,
                int64_t hi, Int& out, const std::string& expect) {
    auto f = find(fs, key);
    if (f == nullptr)
      return false;
    auto node = scalar(*f, expect);
    if (node == nullptr)
      return false;
    auto v = detail::parse_int(node->Scalar(), lo, hi);
    if (!v) {
      fail(f->value_line,
           f->path + " must be " + expect + ", not " + node->Scalar());
      return false;
    }
    out = static_cast<Int>(*v);
    return true;
  }

  bool read_port(const fields& fs, const std::string& key, uint16_t& out) {
    return read_int(fs, key, 1, 65535, out, "a port number from 1 to 65535");
  }

  bool read_bool(const fields& fs, const std::string& key, bool& out) {
    auto f = find(fs, key);
    if (f == nullptr)
      return false;
    const std::string expect = "true or false";
    auto node = scalar(*f, expect);
    if (node == nullptr)
      return false;
    // YAML 1.1 spellings too, as yaml-cpp itself accepts them.
    static const std::set<std::string> yes = {
        "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const std::set<std::string> no = {
        "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    auto& s = node->Scalar();
    if (yes.count(s)) {
      out = true;
      return true;
    }
    if (no.count(s)) {
      out = false;
      return true;
    }
    fail(f->value_line, f->path + " must be " + expect + ", not " + s);
    return false;
  }

  bool read_string(const fields& fs, const std::string& key, std::string& out,
                   bool allow_empty = true) {
    auto f = find(fs, key);
    if (f == nullptr)
      return false;
    if (!f->value.IsScalar()) {
      fail(f->value_line,
           f->path + " must be a string, not " + describe(f->value));
      return false;
    }
    if (!allow_empty && f->value.Scalar().empty()) {
      fail(f->value_line, f->path + " must not be empty");
      return false;
    }
    out = f->value.Scalar();
    return true;
  }

  // A list of words: a YAML list, or one string of comma-separated words
  // (the form zoo.cfg uses). "*" stands for every word in `vocabulary`.
  // Each word is checked against it. Returns false when absent or invalid.
  bool read_words(const fields& fs, const std::string& key,
                  const std::vector<std::string>& vocabulary,
                  const std::string& what, std::vector<std::string>& out) {
    auto f = find(fs, key);
    if (f == nullptr)
      return false;
    struct word {
      std::string text;
      int line;
    };
    std::vector<word> words;
    if (f->value.IsNull()) {
      // Empty: no words.
    } else if (f->value.IsSequence()) {
      for (auto e : f->value) {
        if (!e.IsScalar()) {
          fail(line_of(e) ? line_of(e) : f->value_line,
               f->path + " must list " + what + "s, not " + describe(e));
          return false;
        }
        words.push_back({e.Scalar(), line_of(e) ? line_of(e) : f->value_line});
      }
    } else if (f->value.IsScalar()) {
      std::string item;
      std::istringstream in(f->value.Scalar());
      while (std::getline(in, item, ',')) {
        auto b = item.find_first_not_of(" \t");
        auto e = item.find_last_not_of(" \t");
        if (b != std::string::npos)
          words.push_back({item.substr(b, e - b + 1), f->value_line});
      }
    } else {
      fail(f->value_line, f->path + " must be a list of " + what + "s, not " +
                              describe(f->value));
      return false;
    }
    std::vector<std::string> result;
    bool ok = true;
    for (auto& w : words) {
      if (w.text == "*") {
        result.insert(result.end(), vocabulary.begin(), vocabulary.end());
      } else if (detail::contains(vocabulary, w.text)) {
        result.push_back(w.text);
      } else {
        auto hint = did_you_mean(w.text, vocabulary);
        fail(w.line, f->path + ": unknown " + what + " '" + w.text + "'" +
                         (hint.empty() ? "; known: " + join(vocabulary) + ", *"
                                       : hint));
        ok = false;
      }
    }
    if (!ok)
      return false;
    std::sort(result.begin(), result.end());
    result.erase(std::unique(result.begin(), result.end()), result.end());
    out = std::move(result);
    return true;
  }

private:
  std::string file_;
};

const std::vector<std::string> top_keys = {
    "tick_ms",
    "init_limit_ticks",
    "sync_limit_ticks",
    "min_session_timeout_ms",
    "max_session_timeout_ms",
    "max_client_connections",
    "max_frame_bytes",
    "four_letter_words",
    "extended_types",
    "container_check_interval_ms",
    "fsync",
    "snapshot_count",
    "snapshot_bytes",
    "snapshot_tree_percent",
    "snapshot_retain",
    "enforce_quota",
    "data_dir",
    "data_log_dir",
    "client",
    "admin",
    "log",
    "trace",
    "super_digest",
    "servers",
};

const std::vector<std::string> client_keys = {"address", "port"};
const std::vector<std::string> admin_keys = {"enabled", "address", "port"};
const std::vector<std::string> log_keys = {"level", "file", "levels"};
const std::vector<std::string> trace_keys = {"file", "actors"};
const std::vector<std::string> server_keys = {
    "id",           "host",           "quorum_port", "election_port",
    "client_port",  "client_address", "role",        "data_dir",
    "data_log_dir", "admin_port",
};

// Lines where each setting of a server was written, for cross-checks. A key
// left out points at the start of the server's entry.
struct server_lines {
  int entry = 0;
  std::map<std::string, int> keys;

  int at(const std::string& key) const {
    auto i = keys.find(key);
    return i == keys.end() ? entry : i->second;
  }
};

void read_log_level(reader& r, const field& f, std::string& out) {
  if (!f.value.IsScalar()) {
    r.fail(f.value_line, f.path + " must be a log level (" +
                             join(log_levels()) + "), not " +
                             describe(f.value));
    return;
  }
  // spdlog::level::from_str reads "warning" as warn too.
  auto level =
      f.value.Scalar() == "warning" ? std::string{"warn"} : f.value.Scalar();
  if (!detail::contains(log_levels(), level)) {
    auto hint = did_you_mean(level, log_levels());
    r.fail(f.value_line,
           f.path + ": unknown log level '" + level + "'" +
               (hint.empty() ? "; known: " + join(log_levels()) : hint));
    return;
  }
  out = level;
}

void read_top(reader& r, const fields& top, cluster& c) {
  const std::string positive_ms = "a positive number of milliseconds";
  const std::string positive_ticks = "a positive number of ticks";
  r.read_int(top, "tick_ms", 1, int32_max, c.tick_ms, positive_ms);
  r.read_int(top, "init_limit_ticks", 1, int32_max, c.init_limit_ticks,
             positive_ticks);
  r.read_int(top, "sync_limit_ticks", 1, int32_max, c.sync_limit_ticks,
             positive_ticks);
  // ZooKeeper's defaults: 2 and 20 ticks.
  c.min_session_timeout_ms = static_cast<int32_t>(
      std::min<int64_t>(int64_t{2} * c.tick_ms, int32_max));
  c.max_session_timeout_ms = static_cast<int32_t>(
      std::min<int64_t>(int64_t{20} * c.tick_ms, int32_max));
  bool has_min = r.read_int(top, "min_session_timeout_ms", 1, int32_max,
                            c.min_session_timeout_ms, positive_ms);
  bool has_max = r.read_int(top, "max_session_timeout_ms", 1, int32_max,
                            c.max_session_timeout_ms, positive_ms);
  if (c.min_session_timeout_ms > c.max_session_timeout_ms) {
    std::string why = has_min && has_max ? ""
                      : has_min ? " (the default maximum is 20 x tick_ms)"
                                : " (the default minimum is 2 x tick_ms)";
    int line = has_min   ? r.find(top, "min_session_timeout_ms")->value_line
               : has_max ? r.find(top, "max_session_timeout_ms")->value_line
                         : r.find(top, "tick_ms")->value_line;
    r.fail(line, "min_session_timeout_ms (" +
                     std::to_string(c.min_session_timeout_ms) +
                     ") must not be larger than max_session_timeout_ms (" +
                     std::to_string(c.max_session_timeout_ms) + ")" + why);
  }
  r.read_int(top, "max_client_connections", 0, int32_max,
             c.max_client_connections,
             "a number of connections (0 = unlimited)");
  r.read_int(top, "max_frame_bytes", 1, int32_max, c.max_frame_bytes,
             "a positive number of bytes");
  if (r.read_words(top, "four_letter_words", known_four_letter_words(),
                   "four-letter word", c.four_letter_words))
    detail::normalize_four_letter_words(c.four_letter_words);
  r.read_bool(top, "extended_types", c.extended_types);
  r.read_int(top, "container_check_interval_ms", 1, int64_max,
             c.container_check_interval_ms, positive_ms);
  r.read_bool(top, "fsync", c.fsync);
  // ZooKeeper raises a snapCount below 2 to 2: half of it is randomized.
  r.read_int(top, "snapshot_count", 2, int32_max, c.snapshot_count,
             "a number of transactions from 2 up");
  r.read_int(top, "snapshot_bytes", 0, int64_max, c.snapshot_bytes,
             "a number of bytes (0 = no size limit)");
  r.read_int(top, "snapshot_tree_percent", 0, 10000, c.snapshot_tree_percent,
             "a percentage from 0 (off) to 10000");
  // ZooKeeper's PurgeTxnLog keeps at least 3 snapshots.
  r.read_int(top, "snapshot_retain", 3, int32_max, c.snapshot_retain,
             "a number of snapshots from 3 up");
  r.read_bool(top, "enforce_quota", c.enforce_quota);
  r.read_string(top, "data_dir", c.data_dir, false);
  r.read_string(top, "data_log_dir", c.data_log_dir);
  if (r.read_string(top, "super_digest", c.super_digest) &&
      !c.super_digest.empty() && c.super_digest.find(':') == std::string::npos)
    r.fail(r.find(top, "super_digest")->value_line,
           "super_digest must look like user:base64digest (as "
           "DigestAuthenticationProvider.generateDigest prints it)");

  if (auto f = r.find(top, "client")) {
    auto fs =
        r.read_map(f->value, "client.", "client", client_keys, f->key_line);
    r.read_string(fs, "address", c.client.address, false);
    r.read_port(fs, "port", c.client.port);
  }
  if (auto f = r.find(top, "admin")) {
    auto fs = r.read_map(f->value, "admin.", "admin", admin_keys, f->key_line);
    r.read_bool(fs, "enabled", c.admin.enabled);
    r.read_string(fs, "address", c.admin.address, false);
    r.read_port(fs, "port", c.admin.port);
  }
  if (auto f = r.find(top, "log")) {
    auto fs = r.read_map(f->value, "log.", "log", log_keys, f->key_line);
    if (auto level = r.find(fs, "level"))
      read_log_level(r, *level, c.log.level);
    r.read_string(fs, "file", c.log.file);
    if (auto levels = r.find(fs, "levels")) {
      auto per = r.read_map(levels->value, "log.levels.", "log.levels",
                            actor_kinds(), levels->key_line);
      for (auto& [name, lf] : per) {
        std::string level;
        read_log_level(r, lf, level);
        if (!level.empty())
          c.log.levels[name] = level;
      }
    }
  }
  if (auto f = r.find(top, "trace")) {
    auto fs = r.read_map(f->value, "trace.", "trace", trace_keys, f->key_line);
    r.read_string(fs, "file", c.trace.file);
    r.read_words(fs, "actors", actor_kinds(), "actor kind", c.trace.actors);
  }
}

void read_servers(reader& r, const field& f, cluster& c) {
  c.origin.servers_line = f.key_line;
  if (f.value.IsNull())
    return;
  if (!f.value.IsSequence()) {
    r.fail(f.value_line,
           "servers must be a list of servers (- id: 1 ...), not " +
               describe(f.value));
    return;
  }
  std::vector<server_lines> lines;
  size_t index = 0;
  bool all_read = true;
  for (auto entry : f.value) {
    std::string prefix = "servers[" + std::to_string(index++) + "].";
    int entry_line = line_of(entry) ? line_of(entry) : f.value_line;
    if (!entry.IsMap()) {
      r.fail(entry_line, prefix.substr(0, prefix.size() - 1) +
                             " must be a mapping (id, host, ports...), not " +
                             describe(entry));
      all_read = false;
      continue;
    }
    auto errors_before = r.errors.size();
    auto fs = r.read_map(entry, prefix, prefix.substr(0, prefix.size() - 1),
                         server_keys, entry_line);
    server s;
    s.client_port = c.client.port;
    s.client_address = c.client.address;
    s.admin_port = c.admin.port;
    server_lines sl;
    sl.entry = entry_line;
    for (auto& [name, sf] : fs)
      sl.keys[name] = sf.value_line;
    if (!r.read_int(fs, "id", 0, int64_max, s.id, "a server id (0 or more)") &&
        r.find(fs, "id") == nullptr)
      r.fail(entry_line, prefix + "id is missing: every server needs an id");
    r.read_string(fs, "host", s.host, false);
    r.read_port(fs, "quorum_port", s.quorum_port);
    r.read_port(fs, "election_port", s.election_port);
    r.read_port(fs, "client_port", s.client_port);
    r.read_string(fs, "client_address", s.client_address, false);
    r.read_port(fs, "admin_port", s.admin_port);
    r.read_string(fs, "data_dir", s.data_dir);
    r.read_string(fs, "data_log_dir", s.data_log_dir);
    if (auto rf = r.find(fs, "role")) {
      if (!rf->value.IsScalar()) {
        r.fail(rf->value_line, rf->path +
                                   " must be participant or observer, not " +
                                   describe(rf->value));
      } else if (rf->value.Scalar() == "participant") {
        s.r = role::participant;
      } else if (rf->value.Scalar() == "observer") {
        s.r = role::observer;
      } else {
        r.fail(rf->value_line, rf->path + ": unknown role '" +
                                   rf->value.Scalar() +
                                   "'; a server is a participant or an "
                                   "observer");
      }
    }
    if (r.errors.size() != errors_before) {
      all_read = false;
      continue;
    }
    c.servers.push_back(std::move(s));
    lines.push_back(std::move(sl));
  }
  // Cross-checks need every server; half-read entries would only add noise.
  if (!all_read)
    return;

  std::map<uint64_t, size_t> by_id;
  for (size_t i = 0; i < c.servers.size(); ++i) {
    auto& s = c.servers[i];
    if (auto [it, fresh] = by_id.emplace(s.id, i); !fresh)
      r.fail(lines[i].at("id"),
             "duplicate server id " + std::to_string(s.id) + " (also on line " +
                 std::to_string(lines[it->second].at("id")) + ")");
  }
  for (auto& cl :
       detail::find_clashes(c.servers, c.admin.enabled, c.admin.address,
                            detail::clash_scope::all)) {
    auto& a = c.servers[cl.first];
    auto& b = c.servers[cl.second];
    std::string msg;
    if (cl.first == cl.second)
      msg = "server " + std::to_string(b.id) + " uses port " +
            std::to_string(cl.port) + " twice: as " + cl.first_what +
            " and as " + cl.second_what;
    else
      msg = "server " + std::to_string(b.id) + "'s " + cl.second_what + " " +
            cl.address + ":" + std::to_string(cl.port) + " is already server " +
            std::to_string(a.id) + "'s " + cl.first_what +
            " (both run on host " + b.host + ")";
    r.fail(lines[cl.second].at(cl.second_what), msg);
  }
  // Two nodes writing one directory would corrupt each other's log.
  for (size_t i = 0; i < c.servers.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      auto& a = c.servers[j];
      auto& b = c.servers[i];
      if (a.host != b.host)
        continue;
      auto dir = [&](const server& s) {
        return s.data_dir.empty() ? c.data_dir : s.data_dir;
      };
      if (dir(a) == dir(b)) {
        r.fail(lines[i].at("data_dir"),
               "servers " + std::to_string(a.id) + " and " +
                   std::to_string(b.id) + " both run on host " + b.host +
                   " and would share data_dir " + dir(b) +
                   ": give each its own data_dir");
        break;
      }
    }
  }
  size_t participants =
      std::count_if(c.servers.begin(), c.servers.end(),
                    [](const server& s) { return s.r == role::participant; });
  if (!c.servers.empty() && participants == 0)
    r.fail(f.key_line, "servers has no participant: observers need a quorum "
                       "of participants to follow");
  else if (participants == 2)
    r.warn(f.key_line, "2 participants tolerate no failure: 3 tolerate one");
  else if (participants > 2 && participants % 2 == 0)
    r.warn(f.key_line, std::to_string(participants) +
                           " participants tolerate no more failures than " +
                           std::to_string(participants - 1) +
                           ": an odd number is better");
}

bool by_line(const diagnostic& x, const diagnostic& y) {
  return x.line < y.line;
}

} // namespace

result<cluster> parse_yaml(std::string_view text,
                           const std::string& file_name) {
  result<cluster> out;
  reader r(file_name);
  cluster c;
  c.origin.file = file_name;
  try {
    auto docs = YAML::LoadAll(std::string{text});
    if (docs.size() > 1) {
      r.fail(line_of(docs[1]), "the file holds more than one YAML document "
                               "(a second '---'): one configuration per file");
    } else if (!docs.empty() && !docs[0].IsNull()) {
      auto top = r.read_map(docs[0], "", "", top_keys, 1);
      read_top(r, top, c);
      if (auto f = r.find(top, "servers"))
        read_servers(r, *f, c);
    }
  } catch (const YAML::ParserException& e) {
    r.fail(e.mark.line < 0 ? 0 : e.mark.line + 1,
           "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    r.fail(e.mark.line < 0 ? 0 : e.mark.line + 1, "YAML error: " + e.msg);
  }
  std::stable_sort(r.errors.begin(), r.errors.end(), by_line);
  std::stable_sort(r.warnings.begin(), r.warnings.end(), by_line);
  out.errors = std::move(r.errors);
  out.warnings = std::move(r.warnings);
  if (out.errors.empty())
    out.value = std::move(c);
  return out;
}

result<cluster> load_yaml_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    result<cluster> out;
    out.errors.push_back(
        {path, 0,
         "cannot read the configuration file (missing or unreadable)"});
    return out;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_yaml(text.str(), path);
}

// --- to_yaml -----------------------------------------------------------------

namespace {

// Whether YAML (1.1 or 1.2) could read a plain scalar as a number: decimal,
// 0x/0o/0b integers, or a float. "127.0.0.1" is not one.
bool looks_numeric(const std::string& s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-'))
    ++i;
  if (s.compare(i, 2, "0x") == 0 || s.compare(i, 2, "0o") == 0 ||
      s.compare(i, 2, "0b") == 0)
    return true;
  size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    ++i;
    ++digits;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ++i;
      ++digits;
    }
  }
  if (digits == 0)
    return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-'))
      ++i;
    size_t exponent = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ++i;
      ++exponent;
    }
    if (exponent == 0)
      return false;
  }
  return i == s.size();
}

// A scalar that reads back as the same string: plain when that is safe,
// double-quoted otherwise.
std::string quote(const std::string& s) {
  static const std::set<std::string> special = {
      "true",  "false", "yes",   "no",  "on",  "off",  "null", "~",    "y",
      "n",     "True",  "False", "Yes", "No",  "On",   "Off",  "Null", "TRUE",
      "FALSE", "YES",   "NO",    "ON",  "OFF", "NULL", "Y",    "N",
  };
  bool plain = !s.empty() && !special.count(s);
  for (char ch : s) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '/' || ch == '_' ||
              ch == '-';
    if (!ok)
      plain = false;
  }
  // Something that would read as a number, or begins like an indicator.
  if (plain && (s[0] == '-' || s[0] == '.' || looks_numeric(s)))
    plain = false;
  if (plain)
    return s;
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\r':
      out += "\\r";
      break;
    default:
      if (ch < 0x20) {
        static const char* hex = "0123456789abcdef";
        out += "\\x";
        out += hex[ch >> 4];
        out += hex[ch & 0xf];
      } else {
        out += static_cast<char>(ch);
      }
    }
  }
  out += "\"";
  return out;
}

std::string flow_list(const std::vector<std::string>& words) {
  std::string out = "[";
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0)
      out += ", ";
    out += quote(words[i]);
  }
  return out + "]";
}

const char* boolean(bool b) {
  return b ? "true" : "false";
}

} // namespace

std::string to_yaml(const cluster& c, std::string_view header) {
  std::ostringstream o;
  if (!header.empty()) {
    std::istringstream lines{std::string{header}};
    std::string line;
    while (std::getline(lines, line))
      o << (line.empty() ? "#" : "# " + line) << "\n";
  }
  o << "tick_ms: " << c.tick_ms << "\n";
  o << "init_limit_ticks: " << c.init_limit_ticks << "\n";
  o << "sync_limit_ticks: " << c.sync_limit_ticks << "\n";
  o << "min_session_timeout_ms: " << c.min_session_timeout_ms << "\n";
  o << "max_session_timeout_ms: " << c.max_session_timeout_ms << "\n";
  o << "max_client_connections: " << c.max_client_connections << "\n";
  o << "max_frame_bytes: " << c.max_frame_bytes << "\n";
  if (c.four_letter_words == known_four_letter_words())
    o << "four_letter_words: \"*\"\n";
  else
    o << "four_letter_words: " << flow_list(c.four_letter_words) << "\n";
  o << "extended_types: " << boolean(c.extended_types) << "\n";
  o << "container_check_interval_ms: " << c.container_check_interval_ms << "\n";
  o << "fsync: " << boolean(c.fsync) << "\n";
  o << "snapshot_count: " << c.snapshot_count << "\n";
  o << "snapshot_bytes: " << c.snapshot_bytes << "\n";
  o << "snapshot_tree_percent: " << c.snapshot_tree_percent << "\n";
  o << "snapshot_retain: " << c.snapshot_retain << "\n";
  o << "enforce_quota: " << boolean(c.enforce_quota) << "\n";
  o << "data_dir: " << quote(c.data_dir) << "\n";
  o << "data_log_dir: " << quote(c.data_log_dir) << "\n";
  o << "client:\n";
  o << "  address: " << quote(c.client.address) << "\n";
  o << "  port: " << c.client.port << "\n";
  o << "admin:\n";
  o << "  enabled: " << boolean(c.admin.enabled) << "\n";
  o << "  address: " << quote(c.admin.address) << "\n";
  o << "  port: " << c.admin.port << "\n";
  o << "log:\n";
  o << "  level: " << c.log.level << "\n";
  o << "  file: " << quote(c.log.file) << "\n";
  if (c.log.levels.empty()) {
    o << "  levels: {}\n";
  } else {
    o << "  levels:\n";
    for (auto& [name, level] : c.log.levels)
      o << "    " << name << ": " << level << "\n";
  }
  o << "trace:\n";
  o << "  file: " << quote(c.trace.file) << "\n";
  o << "  actors: " << flow_list(c.trace.actors) << "\n";
  o << "super_digest: " << quote(c.super_digest) << "\n";
  if (c.servers.empty()) {
    o << "servers: []  # standalone\n";
  } else {
    o << "servers:\n";
    for (auto& s : c.servers) {
      o << "  - id: " << s.id << "\n";
      o << "    host: " << quote(s.host) << "\n";
      o << "    quorum_port: " << s.quorum_port << "\n";
      o << "    election_port: " << s.election_port << "\n";
      o << "    client_port: " << s.client_port << "\n";
      o << "    client_address: " << quote(s.client_address) << "\n";
      o << "    role: " << to_string(s.r) << "\n";
      if (!s.data_dir.empty())
        o << "    data_dir: " << quote(s.data_dir) << "\n";
      if (!s.data_log_dir.empty())
        o << "    data_log_dir: " << quote(s.data_log_dir) << "\n";
      if (s.admin_port != c.admin.port)
        o << "    admin_port: " << s.admin_port << "\n";
    }
  }
  return o.str();
}

} // namespace zkd::config
