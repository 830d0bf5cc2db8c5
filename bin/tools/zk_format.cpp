#include "bin/tools/zk_format.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <unordered_map>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/snapshotter/recovery.hpp"
#include "messages/txn/txn.hpp"
#include "messages/wire/jute.hpp"
#include "messages/wire/protocol.hpp"

namespace zkd::tools::zk {

namespace {

constexpr size_t stat_persisted_bytes = 8 * 4 + 4 * 3 + 8 * 2;
// The bytes string "/" is written as: what every section ends with.
constexpr char slash_marker[] = {0, 0, 0, 1, '/'};

std::string hex(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, static_cast<uint64_t>(v));
  return buf;
}

void put_int(std::string& out, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>(u >> shift));
}

void put_long(std::string& out, int64_t v) {
  put_int(out, static_cast<int32_t>(static_cast<uint64_t>(v) >> 32));
  put_int(out, static_cast<int32_t>(static_cast<uint64_t>(v)));
}

void put_string(std::string& out, std::string_view s) {
  put_int(out, static_cast<int32_t>(s.size()));
  out.append(s);
}

void put_buffer(std::string& out, const wire::opt_bytes& b) {
  if (b)
    put_string(out, *b);
  else
    put_int(out, -1);
}

// Appends a seal: the checksum of everything so far and the "/" marker.
void put_seal(std::string& out) {
  put_long(out, adler32(out));
  put_string(out, "/");
}

uint64_t count_nonzero(std::string_view bytes) {
  return static_cast<uint64_t>(
      std::count_if(bytes.begin(), bytes.end(), [](char c) { return c != 0; }));
}

// A file mapped read-only for the duration of its parse.
class mapped_file {
public:
  mapped_file() = default;
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file() {
    if (addr_ != nullptr)
      ::munmap(addr_, size_);
  }

  // "" or why the file cannot be read.
  std::string open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return "cannot open " + path + ": " + std::strerror(errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      auto err = "cannot stat " + path + ": " + std::strerror(errno);
      ::close(fd);
      return err;
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      addr_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (addr_ == MAP_FAILED) {
        addr_ = nullptr;
        auto err = "cannot map " + path + ": " + std::strerror(errno);
        ::close(fd);
        return err;
      }
      ::madvise(addr_, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
    return {};
  }

  std::string_view bytes() const noexcept {
    return {static_cast<const char*>(addr_), addr_ ? size_ : 0};
  }

private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

// A jute reader that knows its offset in the whole file.
struct cursor {
  std::string_view all;
  wire::reader r;
  explicit cursor(std::string_view bytes) : all(bytes), r(bytes) {}
  uint64_t offset() const noexcept { return all.size() - r.remaining(); }
};

bool read_stat(wire::reader& r, datatree::stat_persisted& s) {
  return r.read_long(s.czxid) && r.read_long(s.mzxid) && r.read_long(s.ctime) &&
         r.read_long(s.mtime) && r.read_int(s.version) &&
         r.read_int(s.cversion) && r.read_int(s.aversion) &&
         r.read_long(s.ephemeral_owner) && r.read_long(s.pzxid);
}

void put_stat(std::string& out, const datatree::stat_persisted& s) {
  put_long(out, s.czxid);
  put_long(out, s.mzxid);
  put_long(out, s.ctime);
  put_long(out, s.mtime);
  put_int(out, s.version);
  put_int(out, s.cversion);
  put_int(out, s.aversion);
  put_long(out, s.ephemeral_owner);
  put_long(out, s.pzxid);
}

} // namespace

uint32_t adler32(std::string_view bytes, uint32_t adler) noexcept {
  constexpr uint32_t mod = 65521;
  // The largest n with 255 n (n + 1) / 2 + (n + 1) (mod - 1) < 2^32: sums
  // of that many bytes cannot overflow before the reduction.
  constexpr size_t nmax = 5552;
  uint32_t a = adler & 0xffff;
  uint32_t b = adler >> 16;
  auto p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  while (n > 0) {
    size_t k = std::min(n, nmax);
    n -= k;
    for (size_t i = 0; i < k; ++i) {
      a += p[i];
      b += a;
    }
    p += k;
    a %= mod;
    b %= mod;
  }
  return (b << 16) | a;
}

std::optional<int64_t> zxid_from_name(std::string_view name,
                                      std::string_view prefix,
                                      std::string* suffix) {
  if (name.size() <= prefix.size() + 1 ||
      name.substr(0, prefix.size()) != prefix || name[prefix.size()] != '.')
    return std::nullopt;
  auto rest = name.substr(prefix.size() + 1);
  auto dot = rest.find('.');
  auto digits = rest.substr(0, dot);
  if (digits.empty() || digits.size() > 16)
    return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  // Long.parseLong(.., 16) refuses what does not fit a signed long.
  if (v > static_cast<uint64_t>(INT64_MAX))
    return std::nullopt;
  if (suffix != nullptr)
    *suffix = dot == std::string_view::npos ? std::string{}
                                            : std::string{rest.substr(dot + 1)};
  return static_cast<int64_t>(v);
}

// -- snapshots
// ------------------------------------------------------------------

snapshot_result read_snapshot(std::string_view bytes,
                              const snapshot_visitor& visitor) {
  snapshot_result res;
  auto fail = [&](read_status st, uint64_t offset, std::string message) {
    res.status = st;
    res.offset = offset;
    res.message = std::move(message);
    return res;
  };
  // SnapStream.isValidSnapshot: a snapshot ZooKeeper finished ends with the
  // "/" of its last seal; anything else is one it was still writing.
  if (bytes.size() < 10 ||
      bytes.substr(bytes.size() - 5) != std::string_view(slash_marker, 5))
    return fail(read_status::corrupt, bytes.size(),
                "the file does not end with the marker of a complete "
                "snapshot (ZooKeeper was still writing it, or it is "
                "truncated)");
  cursor c{bytes};
  auto& r = c.r;
  auto& h = res.info.header;
  if (!r.read_int(h.magic) || !r.read_int(h.version) || !r.read_long(h.dbid))
    return fail(read_status::corrupt, 0, "shorter than a file header");
  if (h.magic != snapshot_magic)
    return fail(read_status::corrupt, 0,
                "not a ZooKeeper snapshot (magic " + hex(uint32_t(h.magic)) +
                    ", expected " + hex(snapshot_magic) + " \"ZKSN\")");
  auto truncated = [&](uint64_t at, const std::string& what) {
    return fail(read_status::corrupt, at, "truncated or malformed " + what);
  };

  // Sessions. ZooKeeper loops while the count is positive, so a negative
  // count is no sessions; the checksum at the end catches a damaged one.
  auto at = c.offset();
  int32_t count = 0;
  if (!r.read_int(count))
    return truncated(at, "session count");
  for (int32_t i = 0; i < count; ++i) {
    at = c.offset();
    int64_t id = 0;
    int32_t timeout = 0;
    if (!r.read_long(id) || !r.read_int(timeout))
      return truncated(at, "session");
    if (visitor.on_session)
      if (auto why = visitor.on_session(at, id, timeout); !why.empty())
        return fail(read_status::refused, at, why);
    ++res.info.sessions;
  }

  // The ACL cache (ReferenceCountedACLCache.deserialize); a reference that
  // appears twice keeps its last list, as a map put does.
  std::unordered_map<int64_t, std::vector<wire::acl>> acls;
  at = c.offset();
  if (!r.read_int(count))
    return truncated(at, "ACL cache size");
  for (int32_t i = 0; i < count; ++i) {
    at = c.offset();
    int64_t ref = 0;
    int32_t n = 0;
    if (!r.read_long(ref) || !r.read_int(n))
      return truncated(at, "ACL cache entry");
    if (n == -1)
      return fail(read_status::corrupt, at,
                  "ACL list " + std::to_string(ref) + " is null");
    std::vector<wire::acl> list;
    for (int32_t j = 0; j < n; ++j) {
      wire::acl a;
      if (!r.read_int(a.perms) || !r.read_string(a.id.scheme) ||
          !r.read_string(a.id.ident))
        return truncated(at, "ACL list");
      list.push_back(std::move(a));
    }
    acls[ref] = std::move(list);
    ++res.info.acl_lists;
  }
  const std::vector<wire::acl> open_acl{
      wire::acl{wire::perm::all, wire::id{"world", "anyone"}}};

  // The nodes, until the "/" that ends them.
  for (;;) {
    at = c.offset();
    snapshot_node n;
    bool null_path = false;
    if (!r.read_view(n.path, null_path) || null_path)
      return truncated(at, "node path");
    if (n.path == "/")
      break;
    if (!r.read_view(n.data, n.null_data) || !r.read_long(n.acl_ref) ||
        !read_stat(r, n.stat))
      return truncated(at, "node " + std::string(n.path));
    if (n.acl_ref == open_acl_ref) {
      n.acl = &open_acl;
    } else {
      auto i = acls.find(n.acl_ref);
      if (i == acls.end())
        return fail(read_status::corrupt, at,
                    "node " + std::string(n.path) + " refers to ACL list " +
                        std::to_string(n.acl_ref) +
                        ", which the ACL cache does not hold");
      n.acl = &i->second;
    }
    if (visitor.on_node)
      if (auto why = visitor.on_node(at, n); !why.empty())
        return fail(read_status::refused, at, why);
    ++res.info.nodes;
  }

  // The seal (SnapStream.checkSealIntegrity): the Adler32 of every byte
  // before it, then a "/" that is read and ignored.
  at = c.offset();
  uint32_t sum = adler32(bytes.substr(0, at));
  int64_t stored = 0;
  std::string_view marker;
  bool null_marker = false;
  if (!r.read_long(stored) || !r.read_view(marker, null_marker))
    return truncated(at, "checksum");
  if (stored != int64_t{sum})
    return fail(read_status::corrupt, at,
                "checksum mismatch: the file says " + hex(stored) +
                    ", its bytes give " + hex(sum));

  // The digest section is optional: too few bytes for it means none
  // (DataTree.deserializeZxidDigest stops at EOF), but once read it must be
  // sealed too.
  constexpr size_t digest_bytes = 8 + 4 + 8;
  if (r.remaining() >= digest_bytes) {
    // The running checksum goes on over the first seal too.
    auto summed_to = at;
    zxid_digest d;
    r.read_long(d.zxid);
    r.read_int(d.version);
    r.read_long(d.digest);
    at = c.offset();
    sum = adler32(bytes.substr(summed_to, at - summed_to), sum);
    if (!r.read_long(stored) || !r.read_view(marker, null_marker))
      return truncated(at, "checksum of the digest");
    if (stored != int64_t{sum})
      return fail(read_status::corrupt, at,
                  "checksum mismatch after the digest: the file says " +
                      hex(stored) + ", its bytes give " + hex(sum));
    res.info.digest = d;
  }
  return res;
}

std::string encode_file_header(const file_header& h) {
  std::string out;
  put_int(out, h.magic);
  put_int(out, h.version);
  put_long(out, h.dbid);
  return out;
}

std::string encode_snapshot(const snapshot_image& image) {
  auto out = encode_file_header(image.header);
  put_int(out, static_cast<int32_t>(image.sessions.size()));
  for (auto& [id, timeout] : image.sessions) {
    put_long(out, id);
    put_int(out, timeout);
  }
  put_int(out, static_cast<int32_t>(image.acls.size()));
  for (auto& [ref, list] : image.acls) {
    put_long(out, ref);
    put_int(out, static_cast<int32_t>(list.size()));
    for (auto& a : list) {
      put_int(out, a.perms);
      put_string(out, a.id.scheme);
      put_string(out, a.id.ident);
    }
  }
  for (auto& n : image.nodes) {
    put_string(out, n.path);
    put_buffer(out, n.data);
    put_long(out, n.acl_ref);
    put_stat(out, n.stat);
  }
  put_string(out, "/");
  put_seal(out);
  if (image.digest) {
    put_long(out, image.digest->zxid);
    put_int(out, image.digest->version);
    put_long(out, image.digest->digest);
    put_seal(out);
  }
  return out;
}

snapshot_image image_of(const datatree::tree& t, bool with_digest) {
  snapshot_image img;
  img.sessions.assign(t.sessions().begin(), t.sessions().end());
  std::map<std::vector<std::string>, int64_t> refs; // flattened list -> ref
  t.for_each([&](std::string_view path, const wire::opt_bytes& data,
                 const datatree::stat_persisted& s,
                 const std::vector<wire::acl>& acl) {
    std::vector<std::string> key;
    for (auto& a : acl) {
      key.push_back(std::to_string(a.perms));
      key.push_back(a.id.scheme);
      key.push_back(a.id.ident);
    }
    auto [it, fresh] =
        refs.emplace(std::move(key), static_cast<int64_t>(refs.size() + 1));
    if (fresh)
      img.acls.emplace_back(it->second, acl);
    image_node n;
    n.path = path == "/" ? std::string{} : std::string{path};
    n.data = data;
    n.acl_ref = it->second;
    n.stat = s;
    img.nodes.push_back(std::move(n));
  });
  if (with_digest)
    img.digest = zxid_digest{t.last_zxid(), 2, t.digest()};
  return img;
}

// -- logs
// -----------------------------------------------------------------------

std::string encode_log_entry(std::string_view payload) {
  std::string out;
  put_long(out, adler32(payload));
  put_string(out, payload);
  out.push_back(end_of_record);
  return out;
}

log_result
scan_log(std::string_view bytes,
         const std::function<std::string(const log_entry&)>& on_entry) {
  log_result res;
  auto fail = [&](read_status st, uint64_t offset, std::string message) {
    res.status = st;
    res.offset = offset;
    res.message = std::move(message);
    return res;
  };
  if (bytes.size() < file_header_bytes) {
    // A log created by a crash before its header reached the disk.
    res.torn = true;
    res.trailing_nonzero = count_nonzero(bytes);
    res.message = "shorter than a file header";
    return res;
  }
  wire::reader hr{bytes};
  hr.read_int(res.header.magic);
  hr.read_int(res.header.version);
  hr.read_long(res.header.dbid);
  if (res.header.magic != log_magic)
    return fail(read_status::corrupt, 0,
                "not a ZooKeeper transaction log (magic " +
                    hex(uint32_t(res.header.magic)) + ", expected " +
                    hex(log_magic) + " \"ZKLG\")");
  size_t pos = file_header_bytes;
  auto end_here = [&](bool torn, std::string message) {
    res.offset = pos;
    res.torn = torn;
    res.message = std::move(message);
    res.trailing_nonzero = count_nonzero(bytes.substr(pos));
    return res;
  };
  for (;;) {
    auto rest = bytes.size() - pos;
    if (rest == 0)
      return end_here(false, {});
    if (rest < 12)
      return count_nonzero(bytes.substr(pos)) == 0
                 ? end_here(false, {})
                 : end_here(true, "partial entry header");
    wire::reader r{bytes.substr(pos)};
    int64_t stored = 0;
    int32_t len = 0;
    r.read_long(stored);
    r.read_int(len);
    // The preallocated zeros: a zero length is the end (Util.readTxnBytes).
    if (len == 0)
      return end_here(false, {});
    if (len < 0)
      return fail(read_status::corrupt, pos,
                  "entry length " + std::to_string(len) + " is negative");
    if (static_cast<size_t>(len) + 13 > rest)
      return end_here(true, "entry of " + std::to_string(len) +
                                " bytes runs past the end of the file");
    auto payload = bytes.substr(pos + 12, static_cast<size_t>(len));
    if (bytes[pos + 12 + static_cast<size_t>(len)] != end_of_record)
      return end_here(true, "entry of " + std::to_string(len) +
                                " bytes lacks its end-of-record byte");
    uint32_t sum = adler32(payload);
    if (stored != int64_t{sum})
      return fail(read_status::corrupt, pos,
                  "entry checksum mismatch: the file says " + hex(stored) +
                      ", the " + std::to_string(len) + " bytes give " +
                      hex(sum));
    if (on_entry)
      if (auto why = on_entry(log_entry{pos, payload}); !why.empty())
        return fail(read_status::refused, pos, why);
    ++res.entries;
    pos += 12 + static_cast<size_t>(len) + 1;
  }
}

// -- a whole data directory ---------------------------------------------------

namespace {

struct data_file {
  int64_t zxid = 0;
  std::string path;
  std::string suffix;
};

// Files "<prefix>.<hex>[.<suffix>]" in `dir`, oldest first.
std::vector<data_file> list_files(const std::string& dir,
                                  std::string_view prefix, std::string& error) {
  namespace fs = std::filesystem;
  std::vector<data_file> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    error = "cannot list " + dir + ": " + ec.message();
    return out;
  }
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string suffix;
    auto name = it->path().filename().string();
    if (auto z = zxid_from_name(name, prefix, &suffix))
      out.push_back(data_file{*z, it->path().string(), suffix});
  }
  if (ec)
    error = "cannot list " + dir + ": " + ec.message();
  std::sort(out.begin(), out.end(), [](const data_file& a, const data_file& b) {
    return a.zxid != b.zxid ? a.zxid < b.zxid : a.path < b.path;
  });
  return out;
}

// currentEpoch / acceptedEpoch: a decimal number (quorum mode only).
std::optional<int64_t> read_epoch_file(const std::string& path,
                                       std::string& error) {
  std::ifstream in(path);
  if (!in)
    return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  auto text = ss.str();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.pop_back();
  errno = 0;
  char* end = nullptr;
  auto v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || errno != 0 || *end != '\0' || v < 0) {
    error = path + " does not hold an epoch number: \"" + text + "\"";
    return std::nullopt;
  }
  return v;
}

int64_t epoch_of(int64_t zxid) {
  return static_cast<int64_t>(static_cast<uint64_t>(zxid) >> 32);
}

// Loads one snapshot into a fresh tree in res.t; "" or the reason it is
// unusable (`io_error` telling a read failure from damage).
std::string load_one(const data_file& f, load_result& res,
                     std::optional<zxid_digest>& digest, bool& io_error) {
  io_error = false;
  mapped_file m;
  if (auto err = m.open(f.path); !err.empty()) {
    io_error = true;
    return err;
  }
  auto t = std::make_unique<datatree::tree>();
  std::unordered_map<int64_t, int64_t> hints; // ACL ref -> tree's hint
  snapshot_visitor v;
  v.on_session = [&](uint64_t, int64_t id, int32_t timeout) -> std::string {
    t->restore_session(id, timeout);
    return {};
  };
  v.on_node = [&](uint64_t, const snapshot_node& n) -> std::string {
    // ZooKeeper's root is "" in its node map ("/" is an alias).
    auto path = n.path.empty() ? std::string_view("/") : n.path;
    auto& hint = hints[n.acl_ref];
    auto h = t->restore_node(path, n.data, n.null_data, n.stat, *n.acl, hint);
    if (h < 0)
      return "node \"" + std::string(n.path) +
             "\" has an invalid path or comes before its parent";
    hint = h;
    return {};
  };
  auto r = read_snapshot(m.bytes(), v);
  if (!r.ok())
    return f.path + " at byte " + std::to_string(r.offset) + ": " + r.message;
  t->finish_restore(f.zxid);
  res.t = std::move(t);
  res.snapshot = f.path;
  res.snapshot_zxid = f.zxid;
  res.snapshot_nodes = r.info.nodes;
  digest = r.info.digest;
  return {};
}

} // namespace

load_result load_zookeeper(const std::string& snap_dir,
                           const std::string& log_dir) {
  load_result res;
  auto stop = [&](int code, std::string error) {
    res.exit_code = code;
    res.error = std::move(error);
    res.t.reset();
    return std::move(res);
  };
  std::string error;
  auto snaps = list_files(snap_dir, "snapshot", error);
  if (!error.empty())
    return stop(exit_io, error);
  auto logs = list_files(log_dir, "log", error);
  if (!error.empty())
    return stop(exit_io, error);
  for (auto name : {"currentEpoch", "acceptedEpoch"}) {
    auto e = read_epoch_file(snap_dir + "/" + name, error);
    if (!error.empty())
      return stop(exit_corrupt, error);
    if (e)
      res.max_epoch = std::max(res.max_epoch, *e);
  }
  for (auto& f : snaps)
    res.max_epoch = std::max(res.max_epoch, epoch_of(f.zxid));
  for (auto& f : logs)
    res.max_epoch = std::max(res.max_epoch, epoch_of(f.zxid));

  // FileSnap.deserialize: newest first, the first one that checks out.
  std::vector<std::string> skipped_compressed;
  std::optional<zxid_digest> snap_digest;
  for (auto it = snaps.rbegin(); it != snaps.rend() && !res.t; ++it) {
    if (!it->suffix.empty()) {
      if (it->suffix == "gz" || it->suffix == "snappy")
        skipped_compressed.push_back(it->path);
      res.warnings.push_back("skipped " + it->path +
                             (it->suffix == "gz" || it->suffix == "snappy"
                                  ? ": compressed snapshots are not supported"
                                  : ": not a snapshot name ZooKeeper writes"));
      continue;
    }
    bool io_error = false;
    auto why = load_one(*it, res, snap_digest, io_error);
    if (!why.empty()) {
      if (io_error)
        return stop(exit_io, why);
      res.warnings.push_back("skipped snapshot " + why);
    }
  }
  if (!res.t) {
    if (snaps.empty() && logs.empty())
      return stop(exit_usage,
                  "no ZooKeeper snapshot or log in " + snap_dir +
                      (log_dir == snap_dir ? "" : " or " + log_dir));
    if (!skipped_compressed.empty())
      return stop(exit_usage,
                  "the only snapshots in " + snap_dir +
                      " are compressed (zookeeper.snapshot.compression.method)"
                      ", which zkd import does not read; restart ZooKeeper "
                      "once without that setting so it writes a plain one");
    if (snaps.empty())
      return stop(exit_usage,
                  "no snapshot in " + snap_dir +
                      " but logs exist: ZooKeeper refuses to start from such "
                      "a directory too (zookeeper.snapshot.trust.empty)");
    return stop(exit_corrupt, "no valid snapshot in " + snap_dir + " (" +
                                  res.warnings.back() + ")");
  }
  auto& t = *res.t;

  // The digest check waits until the tree is past the fuzzy range: the
  // snapshot's digest is of the tree at its zxid, which is at or after the
  // snapshot's name.
  bool checking = false;
  uint64_t digest_mismatches = 0;
  std::string first_mismatch;
  // `where` names the record, built only for a mismatch.
  auto check_digest = [&](int64_t zxid, int64_t expected, auto&& where) {
    ++res.digest_checks;
    if (t.digest() != expected && digest_mismatches++ == 0)
      first_mismatch = where() + " (zxid " + hex(zxid) + "): ZooKeeper's " +
                       hex(expected) + ", the imported tree's " +
                       hex(t.digest());
  };
  // A digest of version 2 (DigestCalculator in 3.8) that is not older than
  // the snapshot; ZooKeeper writes zxid 0 when it had none yet.
  if (snap_digest &&
      (snap_digest->version != 2 || snap_digest->zxid < res.snapshot_zxid))
    snap_digest.reset();
  auto reach = [&](int64_t zxid) {
    if (snap_digest && !checking && zxid >= snap_digest->zxid) {
      checking = true;
      if (zxid == snap_digest->zxid)
        check_digest(zxid, snap_digest->digest,
                     [&] { return "snapshot " + res.snapshot; });
    }
  };
  reach(res.snapshot_zxid);

  // FileTxnLog.getLogFiles: the newest log starting at or before the
  // snapshot's zxid, and every later one.
  size_t first = 0;
  for (size_t i = 0; i < logs.size(); ++i)
    if (logs[i].zxid <= res.snapshot_zxid)
      first = i;
  int64_t prev = res.snapshot_zxid;
  for (size_t i = first; i < logs.size(); ++i) {
    auto& f = logs[i];
    mapped_file m;
    if (auto err = m.open(f.path); !err.empty())
      return stop(exit_io, err);
    ++res.logs_read;
    auto scan = scan_log(m.bytes(), [&](const log_entry& e) -> std::string {
      txn::record rec;
      if (!txn::decode(e.payload, rec) || !txn::well_formed(rec))
        return "the entry does not decode as a ZooKeeper txn";
      res.max_epoch = std::max(res.max_epoch, epoch_of(rec.hdr.zxid));
      if (rec.hdr.zxid <= res.snapshot_zxid)
        return {};
      if (!snapshotter::zxid_follows(prev, rec.hdr.zxid))
        return std::string(rec.hdr.zxid > prev ? "gap in the zxids"
                                               : "zxids out of order") +
               ": this txn has zxid " + hex(rec.hdr.zxid) + " but " +
               (prev == res.snapshot_zxid
                    ? "the snapshot " + res.snapshot + " ends at "
                    : std::string("the txn before it has ")) +
               hex(prev) + (rec.hdr.zxid > prev ? " (txns are missing)" : "");
      t.apply(rec);
      prev = rec.hdr.zxid;
      ++res.replayed;
      reach(rec.hdr.zxid);
      if (checking && rec.dig && rec.dig->version == 2)
        check_digest(rec.hdr.zxid, rec.dig->tree_digest, [&] {
          return f.path + " at byte " + std::to_string(e.offset);
        });
      return {};
    });
    if (!scan.ok())
      return stop(exit_corrupt, f.path + " at byte " +
                                    std::to_string(scan.offset) + ": " +
                                    scan.message);
    if (scan.torn)
      res.warnings.push_back(
          f.path + " at byte " + std::to_string(scan.offset) + ": " +
          scan.message +
          "; ignored with the rest of the file, as ZooKeeper "
          "does with a write torn by a crash" +
          (scan.trailing_nonzero > 0
               ? " (" + std::to_string(scan.trailing_nonzero) +
                     " non-zero bytes follow)"
               : std::string{}));
    else if (scan.trailing_nonzero > 0)
      res.warnings.push_back(
          f.path + " at byte " + std::to_string(scan.offset) +
          ": the entries end here but " +
          std::to_string(scan.trailing_nonzero) +
          " non-zero bytes follow; ignored, as ZooKeeper does");
  }
  if (digest_mismatches > 0)
    res.warnings.push_back(
        std::to_string(digest_mismatches) + " of " +
        std::to_string(res.digest_checks) +
        " tree digests recorded by ZooKeeper differ from the imported "
        "tree's; the first at " +
        first_mismatch);

  // ZooKeeperServer.loadData: the ephemerals of sessions that no longer
  // exist are deleted at the last zxid.
  std::set<int64_t> owners;
  t.for_each([&](std::string_view, const wire::opt_bytes&,
                 const datatree::stat_persisted& s,
                 const std::vector<wire::acl>&) {
    auto o = s.ephemeral_owner;
    if (o != 0 && o != datatree::container_owner && !datatree::is_ttl_owner(o))
      owners.insert(o);
  });
  for (auto owner : owners) {
    if (t.has_session(owner))
      continue;
    txn::record kill;
    kill.hdr.session_id = owner;
    kill.hdr.zxid = t.last_zxid();
    kill.hdr.type = wire::op::close_session;
    kill.b = txn::close_session{t.ephemerals_of(owner)};
    t.apply(kill);
    ++res.dead_sessions;
  }
  res.max_epoch = std::max(res.max_epoch, epoch_of(t.last_zxid()));
  return res;
}

} // namespace zkd::tools::zk
