#include "bin/tools/inspect.hpp"

#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <variant>

#include "actors/datatree/tree.hpp"
#include "actors/snapshotter/snapshot.hpp"
#include "actors/txn_log/txn_log.hpp"
#include "bin/tools/tools.hpp"
#include "messages/txn/txn.hpp"
#include "messages/wire/protocol.hpp"

namespace zkd::tools {

namespace {

constexpr const char* usage = R"(usage:
  zkd inspect log DIR|FILE [--json]    print and verify a transaction log
  zkd inspect snapshot FILE [--json]   print and verify a snapshot
Exit codes: 0 verified, 1 torn log tail, 3 corrupt, 2 usage or I/O error.
)";

std::string hex(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, static_cast<uint64_t>(v));
  return buf;
}

// "2026-11-22 03:21:47.881 UTC".
std::string time_text(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (::gmtime_r(&secs, &tm) == nullptr)
    return std::to_string(ms);
  char buf[64];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03d UTC",
                static_cast<int>(((ms % 1000) + 1000) % 1000));
  return buf;
}

// A JSON string literal. Paths and ids are bytes from clients: valid UTF-8
// passes through, anything else becomes U+FFFD so that the line stays JSON.
std::string json_str(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      size_t len = c >= 0xf0 && c <= 0xf4   ? 4
                   : c >= 0xe0              ? 3
                   : c >= 0xc2 && c <= 0xdf ? 2
                                            : 0;
      bool ok = len > 0 && i + len <= s.size();
      for (size_t k = 1; ok && k < len; ++k)
        ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
      if (ok && len == 3) {
        auto c1 = static_cast<unsigned char>(s[i + 1]);
        ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
      }
      if (ok && len == 4) {
        auto c1 = static_cast<unsigned char>(s[i + 1]);
        ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
      }
      if (ok) {
        out.append(s.substr(i, len));
        i += len;
      } else {
        out += "\\ufffd";
        ++i;
      }
    }
  }
  return out + "\"";
}

// Readable: printable ASCII as is, everything else escaped.
std::string text_str(std::string_view s) {
  std::string out;
  for (auto ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// One key field of a record, rendered both ways.
struct field {
  std::string key;
  std::string json; // a JSON value
  std::string text; // readable
};

field f_str(std::string key, std::string_view v) {
  return {std::move(key), json_str(v), text_str(v)};
}

field f_int(std::string key, int64_t v) {
  return {std::move(key), std::to_string(v), std::to_string(v)};
}

field f_hex(std::string key, int64_t v) {
  return {std::move(key), json_str(hex(v)), hex(v)};
}

field f_bool(std::string key, bool v) {
  return {std::move(key), v ? "true" : "false", v ? "true" : "false"};
}

field f_data(const wire::opt_bytes& d) {
  if (!d)
    return {"data_length", "null", "null"};
  return f_int("data_length", static_cast<int64_t>(d->size()));
}

field f_acl(const std::vector<wire::acl>& acl) {
  std::string json = "[", text;
  for (size_t i = 0; i < acl.size(); ++i) {
    auto& a = acl[i];
    if (i > 0) {
      json += ",";
      text += ",";
    }
    json += "{\"perms\":" + std::to_string(a.perms) +
            ",\"scheme\":" + json_str(a.id.scheme) +
            ",\"id\":" + json_str(a.id.ident) + "}";
    // zkCli's getAcl letters: c d r w a.
    std::string perms;
    if (a.perms & wire::perm::create)
      perms += 'c';
    if (a.perms & wire::perm::remove)
      perms += 'd';
    if (a.perms & wire::perm::read)
      perms += 'r';
    if (a.perms & wire::perm::write)
      perms += 'w';
    if (a.perms & wire::perm::admin)
      perms += 'a';
    text += text_str(a.id.scheme) + ":" + text_str(a.id.ident) + ":" + perms;
  }
  return {"acl", json + "]", "[" + text + "]"};
}

template <class Body>
std::vector<field> body_fields(const Body& body) {
  std::vector<field> out;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, txn::create>) {
          out = {f_str("path", x.path), f_data(x.data), f_acl(x.acl),
                 f_bool("ephemeral", x.ephemeral),
                 f_int("parent_cversion", x.parent_cversion)};
        } else if constexpr (std::is_same_v<T, txn::create_container>) {
          out = {f_str("path", x.path), f_data(x.data), f_acl(x.acl),
                 f_int("parent_cversion", x.parent_cversion)};
        } else if constexpr (std::is_same_v<T, txn::create_ttl>) {
          out = {f_str("path", x.path), f_data(x.data), f_acl(x.acl),
                 f_int("parent_cversion", x.parent_cversion),
                 f_int("ttl_ms", x.ttl_ms)};
        } else if constexpr (std::is_same_v<T, txn::remove>) {
          out = {f_str("path", x.path)};
        } else if constexpr (std::is_same_v<T, txn::set_data>) {
          out = {f_str("path", x.path), f_data(x.data),
                 f_int("version", x.version)};
        } else if constexpr (std::is_same_v<T, txn::check_version>) {
          out = {f_str("path", x.path), f_int("version", x.version)};
        } else if constexpr (std::is_same_v<T, txn::set_acl>) {
          out = {f_str("path", x.path), f_acl(x.acl),
                 f_int("version", x.version)};
        } else if constexpr (std::is_same_v<T, txn::create_session>) {
          out = {f_int("timeout_ms", x.timeout_ms)};
        } else if constexpr (std::is_same_v<T, txn::close_session>) {
          std::string json = "[", text;
          for (size_t i = 0; i < x.paths_to_delete.size(); ++i) {
            json += (i ? "," : "") + json_str(x.paths_to_delete[i]);
            text += (i ? "," : "") + text_str(x.paths_to_delete[i]);
          }
          out = {{"ephemerals", json + "]", "[" + text + "]"}};
        } else if constexpr (std::is_same_v<T, txn::error>) {
          auto name =
              std::string(wire::err_name(static_cast<wire::err>(x.err)));
          out = {f_int("err", x.err), f_str("err_name", name)};
        } else if constexpr (std::is_same_v<T, txn::multi>) {
          std::string json = "[", text;
          for (size_t i = 0; i < x.ops.size(); ++i) {
            auto& o = x.ops[i];
            auto type = std::string(wire::op_name(o.type));
            auto sub = body_fields(o.body);
            json += std::string(i ? "," : "") + "{\"type\":" + json_str(type);
            text += std::string(i ? "; " : "") + type;
            for (auto& f : sub) {
              json += "," + json_str(f.key) + ":" + f.json;
              text += " " + f.key + "=" + f.text;
            }
            json += "}";
          }
          out = {{"ops", json + "]", "[" + text + "]"}};
        }
      },
      body);
  return out;
}

std::string json_object(const std::vector<field>& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i)
    out += (i ? "," : "") + json_str(fields[i].key) + ":" + fields[i].json;
  return out + "}";
}

// Prints a bad record's report; returns the exit code it means.
int report(std::ostream& out, std::ostream& err, bool json, int code,
           const std::string& message, const std::string& file,
           uint64_t offset) {
  err << "zkd inspect: " << message << "\n";
  if (json)
    out << json_object(
               {f_str("error", message), f_str("file", file),
                f_int("offset", static_cast<int64_t>(offset)),
                f_str("status", code == inspect_torn      ? "torn_tail"
                                : code == inspect_corrupt ? "corrupt"
                                                          : "io_error")})
        << "\n";
  return code;
}

int inspect_log(const std::string& path, bool json, std::ostream& out,
                std::ostream& err) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    err << "zkd inspect: cannot read " << path << "\n";
    return inspect_usage;
  }
  uint64_t records = 0;
  int64_t first = 0, last = 0;
  std::string bad;
  std::string bad_file;
  uint64_t bad_offset = 0;
  auto on_record = [&](int64_t zxid, std::string_view payload,
                       const txn_log::record_position& at) {
    txn::record r;
    if (!txn::decode(payload, r) || !txn::well_formed(r)) {
      bad = "record " + hex(zxid) + " in " + at.file + " at byte " +
            std::to_string(at.offset) +
            " passes its checksum but does not "
            "decode as a txn";
      bad_file = at.file;
      bad_offset = at.offset;
      return false;
    }
    ++records;
    if (first == 0)
      first = zxid;
    last = zxid;
    auto& h = r.hdr;
    auto type = std::string(wire::op_name(h.type));
    auto fields = body_fields(r.b);
    if (json) {
      std::vector<field> all = {
          f_hex("zxid", zxid),
          f_int("time_ms", h.time_ms),
          f_str("time", time_text(h.time_ms)),
          f_hex("session", h.session_id),
          f_int("cxid", h.cxid),
          f_str("type", type),
          f_str("file", at.file),
          f_int("offset", static_cast<int64_t>(at.offset)),
      };
      all.insert(all.end(), fields.begin(), fields.end());
      if (r.dig)
        all.push_back(f_hex("digest", r.dig->tree_digest));
      out << json_object(all) << "\n";
    } else {
      out << time_text(h.time_ms) << " zxid " << hex(zxid) << " session "
          << hex(h.session_id) << " cxid " << hex(h.cxid) << " " << type;
      for (auto& f : fields)
        out << " " << f.key << "=" << f.text;
      out << "\n";
    }
    return true;
  };
  auto res = S_ISDIR(st.st_mode) ? txn_log::scan_positioned(path, 0, on_record)
                                 : txn_log::scan_file(path, on_record);
  auto summary = [&](const std::string& status) {
    if (json)
      out << json_object({f_str("summary", "log"), f_str("path", path),
                          f_int("records", static_cast<int64_t>(records)),
                          f_hex("first_zxid", first), f_hex("last_zxid", last),
                          f_str("status", status)})
          << "\n";
    else
      out << "---- " << records << " records, zxid " << hex(first) << " to "
          << hex(last) << ": " << status << "\n";
  };
  if (!bad.empty()) {
    summary("corrupt");
    return report(out, err, json, inspect_corrupt, bad, bad_file, bad_offset);
  }
  switch (res.status) {
  case txn_log::scan_status::clean:
    summary("verified");
    return inspect_ok;
  case txn_log::scan_status::torn_tail:
    summary("torn tail");
    return report(out, err, json, inspect_torn, res.message, res.file,
                  res.offset);
  case txn_log::scan_status::corrupt:
    summary("corrupt");
    return report(out, err, json, inspect_corrupt, res.message, res.file,
                  res.offset);
  case txn_log::scan_status::io_error:
    break;
  }
  summary("unreadable");
  return report(out, err, json, inspect_usage, res.message, res.file,
                res.offset);
}

std::vector<field> stat_fields(const datatree::stat_persisted& s) {
  return {f_hex("czxid", s.czxid),
          f_int("ctime", s.ctime),
          f_hex("mzxid", s.mzxid),
          f_int("mtime", s.mtime),
          f_hex("pzxid", s.pzxid),
          f_int("cversion", s.cversion),
          f_int("version", s.version),
          f_int("aversion", s.aversion),
          f_hex("ephemeral_owner", s.ephemeral_owner)};
}

int inspect_snapshot(const std::string& path, bool json, std::ostream& out,
                     std::ostream& err) {
  // Ephemerals per session owner, for the session lines (ZooKeeper's
  // SnapshotFormatter prints sid, timeout, ephemeral count).
  std::map<int64_t, uint64_t> ephemerals;
  bool nodes_started = false;
  snapshotter::snapshot_visitor v;
  v.on_header = [&](const snapshotter::snapshot_header& h) -> std::string {
    if (json)
      out << json_object({f_str("type", "header"), f_str("file", path),
                          f_int("version", h.version), f_hex("zxid", h.zxid),
                          f_hex("digest", h.digest),
                          f_int("time_ms", h.time_ms),
                          f_str("time", time_text(h.time_ms))})
          << "\n";
    else
      out << "Snapshot " << path << "\n  format version " << h.version
          << ", zxid " << hex(h.zxid) << ", tree digest " << hex(h.digest)
          << ", taken " << time_text(h.time_ms) << "\n";
    return {};
  };
  v.on_node = [&](uint64_t at,
                  const datatree::captured_node& n) -> std::string {
    auto owner = n.stat.ephemeral_owner;
    if (owner != 0 && owner != datatree::container_owner &&
        !datatree::is_ttl_owner(owner))
      ++ephemerals[owner];
    auto data_len =
        n.null_data ? std::string("null") : std::to_string(n.data.size());
    if (json) {
      std::vector<field> f = {f_str("type", "node"), f_str("path", n.path),
                              f_int("offset", static_cast<int64_t>(at))};
      auto s = stat_fields(n.stat);
      f.insert(f.end(), s.begin(), s.end());
      f.push_back({"data_length", data_len, data_len});
      f.push_back(f_acl(*n.acl));
      out << json_object(f) << "\n";
      return {};
    }
    if (!nodes_started) {
      out << "ZNode Details:\n";
      nodes_started = true;
    }
    auto& s = n.stat;
    out << "----\n"
        << text_str(n.path) << "\n"
        << "  cZxid = " << hex(s.czxid) << "\n"
        << "  ctime = " << time_text(s.ctime) << "\n"
        << "  mZxid = " << hex(s.mzxid) << "\n"
        << "  mtime = " << time_text(s.mtime) << "\n"
        << "  pZxid = " << hex(s.pzxid) << "\n"
        << "  cversion = " << s.cversion << " (child creates, as stored)\n"
        << "  dataVersion = " << s.version << "\n"
        << "  aclVersion = " << s.aversion << "\n"
        << "  ephemeralOwner = " << hex(s.ephemeral_owner) << "\n"
        << "  dataLength = " << data_len << "\n"
        << "  acl = " << f_acl(*n.acl).text << "\n";
    return {};
  };
  bool sessions_started = false;
  v.on_session = [&](uint64_t at, int64_t id, int32_t timeout) -> std::string {
    auto count = ephemerals.count(id) ? ephemerals[id] : 0;
    if (json) {
      out << json_object({f_str("type", "session"), f_hex("id", id),
                          f_int("timeout_ms", timeout),
                          f_int("ephemerals", static_cast<int64_t>(count)),
                          f_int("offset", static_cast<int64_t>(at))})
          << "\n";
      return {};
    }
    if (!sessions_started) {
      out << "----\nSession Details (sid, timeout, ephemeralCount):\n";
      sessions_started = true;
    }
    out << hex(id) << ", " << timeout << ", " << count << "\n";
    return {};
  };
  auto res = snapshotter::read_snapshot(path, v);
  auto& t = res.trailer;
  auto status = res.ok() ? std::string("verified")
                : res.status == snapshotter::read_status::io_error
                    ? std::string("unreadable")
                    : std::string("corrupt");
  if (json)
    out << json_object({f_str("summary", "snapshot"), f_str("path", path),
                        f_hex("zxid", res.header.zxid),
                        f_int("nodes", static_cast<int64_t>(t.nodes)),
                        f_int("sessions", static_cast<int64_t>(t.sessions)),
                        f_int("acl_lists", t.acls),
                        f_int("bytes", static_cast<int64_t>(res.bytes)),
                        f_str("status", status)})
        << "\n";
  else
    out << "----\n"
        << t.nodes << " znodes, " << t.sessions << " sessions, " << t.acls
        << " ACL lists, " << res.bytes << " bytes; last zxid "
        << hex(res.header.zxid) << ": " << status << "\n";
  if (res.ok())
    return inspect_ok;
  return report(out, err, json,
                res.status == snapshotter::read_status::io_error
                    ? inspect_usage
                    : inspect_corrupt,
                res.message, res.file, res.offset);
}

} // namespace

int inspect(const std::vector<std::string>& args, std::ostream& out,
            std::ostream& err) {
  bool json = false;
  std::vector<std::string> rest;
  for (auto& a : args) {
    if (a == "--json")
      json = true;
    else if (a == "-h" || a == "--help") {
      out << usage;
      return inspect_ok;
    } else
      rest.push_back(a);
  }
  if (rest.size() != 2 || (rest[0] != "log" && rest[0] != "snapshot")) {
    err << usage;
    return inspect_usage;
  }
  if (rest[0] == "log")
    return inspect_log(rest[1], json, out, err);
  return inspect_snapshot(rest[1], json, out, err);
}

int inspect_main(const std::vector<std::string>& args) {
  std::ios::sync_with_stdio(false);
  return inspect(args, std::cout, std::cerr);
}

} // namespace zkd::tools
