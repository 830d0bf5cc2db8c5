#include "bin/tools/trace_render.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <tuple>

#include "actors/tracer/tracer.hpp"

namespace zkd::tools::trace {

using tracer::record;

source parse_source(std::string name, std::string_view text) {
  source out;
  out.name = std::move(name);
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    auto line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos)
      continue;
    std::string why;
    if (auto r = tracer::parse_record(line, &why)) {
      out.records.push_back(std::move(*r));
    } else {
      if (out.bad_lines == 0)
        out.first_error = "line " + std::to_string(line_no) + ": " + why;
      ++out.bad_lines;
    }
  }
  return out;
}

std::vector<entry> merge(const std::vector<source>& sources) {
  // Offsets per (source, node): the median is robust against a wall clock
  // that stepped while the node ran.
  std::map<std::pair<size_t, uint64_t>, std::vector<int64_t>> diffs;
  for (size_t s = 0; s < sources.size(); ++s)
    for (auto& r : sources[s].records)
      diffs[{s, r.node}].push_back(r.wall_ns - r.mono_ns);
  std::map<std::pair<size_t, uint64_t>, int64_t> offset;
  for (auto& [key, d] : diffs) {
    auto mid = d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2);
    std::nth_element(d.begin(), mid, d.end());
    offset[key] = *mid;
  }
  std::vector<entry> out;
  for (size_t s = 0; s < sources.size(); ++s)
    for (auto& r : sources[s].records)
      out.push_back(entry{r.mono_ns + offset[{s, r.node}], &r});
  std::stable_sort(out.begin(), out.end(), [](const entry& a, const entry& b) {
    return a.t_ns < b.t_ns;
  });
  return out;
}

// --- filter ------------------------------------------------------------------

std::string filter::add(std::string_view spec) {
  size_t pos = 0;
  while (pos <= spec.size()) {
    auto end = spec.find(',', pos);
    if (end == std::string_view::npos)
      end = spec.size();
    auto term = spec.substr(pos, end - pos);
    pos = end + 1;
    if (term.empty())
      continue;
    auto eq = term.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == term.size())
      return "filter term '" + std::string{term} +
             "' is not KEY=VALUE (keys: actor, node, type, or a field name "
             "such as zxid, session, xid, path)";
    terms_[std::string{term.substr(0, eq)}].emplace_back(term.substr(eq + 1));
  }
  return {};
}

namespace {

// "2:leader#7" -> node 2, "leader#7"; no prefix -> node 0 (any).
std::pair<uint64_t, std::string_view> split_node(std::string_view v) {
  auto colon = v.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return {0, v};
  auto n = tracer::parse_integer(v.substr(0, colon));
  if (!n || *n <= 0)
    return {0, v};
  return {static_cast<uint64_t>(*n), v.substr(colon + 1)};
}

bool actor_matches(std::string_view actor, uint64_t node,
                   std::string_view want) {
  auto [want_node, who] = split_node(want);
  if (want_node != 0 && want_node != node)
    return false;
  if (who.find('#') != std::string_view::npos)
    return actor == who;
  return tracer::actor_kind(actor) == who;
}

bool field_matches(const record& r, const std::string& key,
                   std::string_view want) {
  auto have = r.field_text(key);
  if (!have)
    return false;
  auto want_n = tracer::parse_integer(want);
  auto have_n = tracer::parse_integer(*have);
  if (want_n && have_n) {
    if (*want_n == *have_n)
      return true;
    // A batch: the line covers [key, key_last].
    if (auto last = r.field_text(key + "_last")) {
      auto last_n = tracer::parse_integer(*last);
      return last_n && *have_n <= *want_n && *want_n <= *last_n;
    }
    return false;
  }
  return *have == want;
}

bool term_matches(const record& r, const std::string& key,
                  std::string_view want) {
  if (key == "actor")
    return actor_matches(r.from, r.sender_node(), want) ||
           actor_matches(r.to, r.receiver_node(), want);
  if (key == "node") {
    auto n = tracer::parse_integer(want);
    if (!n)
      return false;
    auto u = static_cast<uint64_t>(*n);
    return r.node == u || r.sender_node() == u || r.receiver_node() == u;
  }
  if (key == "type")
    return r.type == want;
  return field_matches(r, key, want);
}

} // namespace

bool filter::matches(const record& r) const {
  for (auto& [key, wants] : terms_) {
    bool any = false;
    for (auto& w : wants)
      if (term_matches(r, key, w)) {
        any = true;
        break;
      }
    if (!any)
      return false;
  }
  return true;
}

// --- time --------------------------------------------------------------------

namespace {

// "12.5" in units of `unit_ns` -> ns. Digits only, one optional point.
std::optional<int64_t> decimal_ns(std::string_view s, int64_t unit_ns) {
  if (s.empty())
    return std::nullopt;
  __int128 whole = 0;
  __int128 frac = 0;
  __int128 scale = 1;
  bool point = false;
  bool any_digit = false;
  for (char c : s) {
    if (c == '.' && !point) {
      point = true;
      continue;
    }
    if (c < '0' || c > '9')
      return std::nullopt;
    any_digit = true;
    if (!point) {
      whole = whole * 10 + (c - '0');
      if (whole > INT64_MAX)
        return std::nullopt;
    } else if (scale < 1'000'000'000'000'000LL) {
      frac = frac * 10 + (c - '0');
      scale *= 10;
    }
  }
  if (!any_digit)
    return std::nullopt;
  __int128 ns = whole * unit_ns + frac * unit_ns / scale;
  if (ns > INT64_MAX)
    return std::nullopt;
  return static_cast<int64_t>(ns);
}

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int64_t> parse_iso(std::string_view s) {
  auto num = [&](size_t off, size_t len) -> std::optional<int> {
    if (off + len > s.size())
      return std::nullopt;
    int v = 0;
    for (size_t i = off; i < off + len; ++i) {
      if (s[i] < '0' || s[i] > '9')
        return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  // YYYY-MM-DDTHH:MM:SS
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':')
    return std::nullopt;
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2),
       mi = num(14, 2), sec = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !sec || *mo < 1 || *mo > 12 || *d < 1 ||
      *d > 31 || *h > 23 || *mi > 59 || *sec > 60)
    return std::nullopt;
  int64_t ns = 0;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100'000'000;
    size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ns += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++digits;
    }
    if (digits == 0)
      return std::nullopt;
  }
  int64_t zone_s = 0;
  if (pos < s.size()) {
    if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
      ++pos;
    } else if ((s[pos] == '+' || s[pos] == '-') && s.size() == pos + 6 &&
               s[pos + 3] == ':') {
      auto zh = num(pos + 1, 2), zm = num(pos + 4, 2);
      if (!zh || !zm)
        return std::nullopt;
      zone_s = (*zh * 3600 + *zm * 60) * (s[pos] == '+' ? 1 : -1);
      pos += 6;
    } else {
      return std::nullopt;
    }
  }
  auto days = days_from_civil(*y, static_cast<unsigned>(*mo),
                              static_cast<unsigned>(*d));
  int64_t secs = days * 86400 + *h * 3600 + *mi * 60 + *sec - zone_s;
  return secs * 1'000'000'000 + ns;
}

std::string iso_time(int64_t wall_ns) {
  auto secs = static_cast<std::time_t>(wall_ns / 1'000'000'000);
  auto ns = wall_ns % 1'000'000'000;
  if (ns < 0) {
    ns += 1'000'000'000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<long long>(ns));
  return buf;
}

} // namespace

std::optional<int64_t> parse_time(std::string_view s, int64_t origin_ns) {
  if (s.empty())
    return std::nullopt;
  if (s[0] == '+') {
    s.remove_prefix(1);
    int64_t unit = 1'000'000'000;
    static const std::pair<std::string_view, int64_t> units[] = {
        {"ns", 1}, {"us", 1'000}, {"ms", 1'000'000}, {"s", 1'000'000'000}};
    for (auto& [suffix, ns] : units) {
      if (s.size() > suffix.size() &&
          s.substr(s.size() - suffix.size()) == suffix) {
        s.remove_suffix(suffix.size());
        unit = ns;
        break;
      }
    }
    auto d = decimal_ns(s, unit);
    if (!d)
      return std::nullopt;
    return origin_ns + *d;
  }
  if (s.size() >= 10 && s[4] == '-')
    return parse_iso(s);
  return decimal_ns(s, 1'000'000'000);
}

std::vector<entry> select(const std::vector<entry>& in, const filter& f,
                          std::optional<int64_t> from_ns,
                          std::optional<int64_t> to_ns) {
  std::vector<entry> out;
  for (auto& e : in) {
    if (from_ns && e.t_ns < *from_ns)
      continue;
    if (to_ns && e.t_ns > *to_ns)
      continue;
    if (!f.empty() && !f.matches(*e.r))
      continue;
    out.push_back(e);
  }
  return out;
}

// --- rendering ---------------------------------------------------------------

namespace {

// One actor of one node.
struct participant_key {
  uint64_t node;
  std::string actor;
  bool operator<(const participant_key& o) const {
    return std::tie(node, actor) < std::tie(o.node, o.actor);
  }
};

// Participants in order of first appearance.
struct participants {
  std::map<participant_key, size_t> index;
  std::vector<participant_key> keys;

  size_t of(uint64_t node, const std::string& actor) {
    participant_key k{node, actor};
    auto [i, fresh] = index.emplace(k, keys.size());
    if (fresh)
      keys.push_back(std::move(k));
    return i->second;
  }
};

participants collect(const std::vector<entry>& entries) {
  participants p;
  for (auto& e : entries) {
    p.of(e.r->sender_node(), e.r->from);
    p.of(e.r->receiver_node(), e.r->to);
  }
  return p;
}

// Text Mermaid shows as written. Its lexer ends a message at '#', ';' and
// a newline and treats "%%" as a comment, so those (and the HTML-sensitive
// characters) go as Mermaid's entity codes.
std::string mermaid_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '#':
      out += "#35;";
      break;
    case ';':
      out += "#59;";
      break;
    case '%':
      out += "#37;";
      break;
    case '&':
      out += "#38;";
      break;
    case '<':
      out += "#lt;";
      break;
    case '>':
      out += "#gt;";
      break;
    default:
      out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
  }
  return out;
}

// A field value short enough for an arrow label.
std::string short_value(std::string v) {
  constexpr size_t max_len = 48;
  if (v.size() > max_len) {
    v.resize(max_len);
    // Do not leave half a UTF-8 sequence behind.
    while (!v.empty() && (static_cast<unsigned char>(v.back()) & 0xc0) == 0x80)
      v.pop_back();
    if (!v.empty() && static_cast<unsigned char>(v.back()) >= 0xc0)
      v.pop_back();
    v += "...";
  }
  return v;
}

std::string label(const record& r) {
  std::string out = r.type;
  if (r.fields.empty())
    return out;
  out += '(';
  bool first = true;
  for (auto& [k, v] : r.fields) {
    if (!first)
      out += ", ";
    first = false;
    out += k;
    out += '=';
    if (v.t == tracer::json::type::string || v.t == tracer::json::type::number)
      out += short_value(v.text);
    else {
      std::string j;
      tracer::append_json(j, v);
      out += short_value(j);
    }
  }
  out += ')';
  return out;
}

} // namespace

std::string render_mermaid(const std::vector<entry>& entries) {
  auto parts = collect(entries);
  bool one_node = true;
  for (auto& k : parts.keys)
    one_node = one_node && k.node == parts.keys.front().node;
  std::vector<std::string> ids;
  std::map<std::string, int> used;
  for (auto& k : parts.keys) {
    std::string id = "n" + std::to_string(k.node) + "_";
    for (char c : k.actor)
      id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    if (int n = used[id]++; n > 0)
      id += "_" + std::to_string(n + 1);
    ids.push_back(std::move(id));
  }
  std::string out = "sequenceDiagram\n";
  if (!entries.empty())
    out += "    %% " + std::to_string(entries.size()) + " messages from " +
           iso_time(entries.front().t_ns) + " to " +
           iso_time(entries.back().t_ns) + "\n";
  for (size_t i = 0; i < parts.keys.size(); ++i) {
    auto& k = parts.keys[i];
    std::string name =
        one_node ? k.actor : "n" + std::to_string(k.node) + " " + k.actor;
    out += "    participant " + ids[i] + " as " + mermaid_text(name) + "\n";
  }
  for (auto& e : entries) {
    auto from = parts.index[{e.r->sender_node(), e.r->from}];
    auto to = parts.index[{e.r->receiver_node(), e.r->to}];
    out += "    " + ids[from] + "->>" + ids[to] + ": " +
           mermaid_text(label(*e.r)) + "\n";
  }
  return out;
}

namespace {

// Microseconds with three decimals (Chrome's unit), from ns.
std::string micros(int64_t ns) {
  std::string out;
  if (ns < 0) {
    out += '-';
    ns = -ns;
  }
  out += std::to_string(ns / 1000);
  auto frac = ns % 1000;
  if (frac != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(frac));
    out += buf;
  }
  return out;
}

struct slice {
  int64_t t_ns;   // merged time of the message
  size_t order;   // position in the entries, to keep ties stable
  bool is_send;   // sender's or receiver's slice
  int64_t ts = 0; // adjusted start, strictly increasing on its track
  int64_t dur = 0;
};

} // namespace

std::string render_perfetto(const std::vector<entry>& entries) {
  auto parts = collect(entries);
  // Thread ids number the actors of each node from 1.
  std::vector<uint64_t> tid(parts.keys.size());
  std::map<uint64_t, uint64_t> next_tid;
  for (size_t i = 0; i < parts.keys.size(); ++i)
    tid[i] = ++next_tid[parts.keys[i].node];
  // Slices per track. A message at one instant gets slices of up to 1 us;
  // on a busy track they are shortened so none overlaps the next, and two
  // at the same nanosecond are set 1 ns apart, so every slice nests cleanly
  // and each flow arrow binds to its own slice.
  std::vector<std::vector<slice>> tracks(parts.keys.size());
  std::vector<std::pair<size_t, size_t>> send_at(entries.size());
  std::vector<std::pair<size_t, size_t>> recv_at(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    auto& r = *entries[i].r;
    auto s = parts.index[{r.sender_node(), r.from}];
    auto d = parts.index[{r.receiver_node(), r.to}];
    tracks[s].push_back(slice{entries[i].t_ns, 2 * i, true});
    tracks[d].push_back(slice{entries[i].t_ns, 2 * i + 1, false});
  }
  int64_t t0 = entries.empty() ? 0 : entries.front().t_ns;
  for (size_t tr = 0; tr < tracks.size(); ++tr) {
    auto& sl = tracks[tr];
    std::sort(sl.begin(), sl.end(), [](const slice& a, const slice& b) {
      return std::tie(a.t_ns, a.order) < std::tie(b.t_ns, b.order);
    });
    for (size_t j = 0; j < sl.size(); ++j) {
      sl[j].ts = j == 0 ? sl[j].t_ns : std::max(sl[j].t_ns, sl[j - 1].ts + 1);
      (sl[j].is_send ? send_at : recv_at)[sl[j].order / 2] = {tr, j};
    }
    for (size_t j = 0; j < sl.size(); ++j)
      sl[j].dur = j + 1 < sl.size()
                      ? std::min<int64_t>(1000, sl[j + 1].ts - sl[j].ts)
                      : 1000;
  }
  std::string out = "{\"traceEvents\":[";
  bool first = true;
  auto begin_event = [&] {
    if (!first)
      out += ",";
    first = false;
    out += "\n{";
  };
  for (auto& [node, count] : next_tid) {
    begin_event();
    out += "\"ph\":\"M\",\"name\":\"process_name\",\"pid\":" +
           std::to_string(node) + ",\"args\":{\"name\":\"node " +
           std::to_string(node) + "\"}}";
    begin_event();
    out += "\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":" +
           std::to_string(node) +
           ",\"args\":{\"sort_index\":" + std::to_string(node) + "}}";
  }
  for (size_t i = 0; i < parts.keys.size(); ++i) {
    auto pid = std::to_string(parts.keys[i].node);
    begin_event();
    out += "\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":" + pid +
           ",\"tid\":" + std::to_string(tid[i]) + ",\"args\":{\"name\":";
    tracer::append_json_string(out, parts.keys[i].actor);
    out += "}}";
    begin_event();
    out += "\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":" + pid +
           ",\"tid\":" + std::to_string(tid[i]) +
           ",\"args\":{\"sort_index\":" + std::to_string(tid[i]) + "}}";
  }
  auto common = [&](const record& r, size_t track, const char* cat,
                    const char* ph, int64_t ts) {
    out += "\"name\":";
    tracer::append_json_string(out, r.type);
    out += ",\"cat\":\"";
    out += cat;
    out += "\",\"ph\":\"";
    out += ph;
    out += "\",\"ts\":" + micros(ts - t0) +
           ",\"pid\":" + std::to_string(parts.keys[track].node) +
           ",\"tid\":" + std::to_string(tid[track]);
  };
  for (size_t i = 0; i < entries.size(); ++i) {
    auto& r = *entries[i].r;
    auto [st, sj] = send_at[i];
    auto [rt, rj] = recv_at[i];
    auto& s = tracks[st][sj];
    auto& d = tracks[rt][rj];
    begin_event();
    common(r, st, "send", "X", s.ts);
    out += ",\"dur\":" + micros(s.dur) + ",\"args\":{\"to\":";
    tracer::append_json_string(out, r.to);
    for (auto& [k, v] : r.fields) {
      out += ',';
      tracer::append_json_string(out, k);
      out += ':';
      tracer::append_json(out, v);
    }
    out += ",\"mono_ns\":" + std::to_string(r.mono_ns) +
           ",\"wall_ns\":" + std::to_string(r.wall_ns) + "}}";
    begin_event();
    common(r, rt, "recv", "X", d.ts);
    out += ",\"dur\":" + micros(d.dur) + ",\"args\":{\"from\":";
    tracer::append_json_string(out, r.from);
    out += "}}";
    begin_event();
    common(r, st, "msg", "s", s.ts);
    out += ",\"id\":" + std::to_string(i + 1) + "}";
    begin_event();
    common(r, rt, "msg", "f", d.ts);
    out += ",\"bp\":\"e\",\"id\":" + std::to_string(i + 1) + "}";
  }
  out += "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{";
  if (!entries.empty())
    out += "\"start_wall_ns\":\"" + std::to_string(t0) + "\",\"start\":\"" +
           iso_time(t0) + "\"";
  out += "}}\n";
  return out;
}

} // namespace zkd::tools::trace
