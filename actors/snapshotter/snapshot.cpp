#include "actors/snapshotter/snapshot.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/txn_log/byte_order.hpp"
#include "actors/txn_log/crc32c.hpp"

namespace zkd::snapshotter {

namespace {

using txn_log::crc32c;
using txn_log::crc32c_extend;

constexpr char header_magic[4] = {'Z', 'K', 'D', 'S'};
constexpr char trailer_magic[4] = {'Z', 'K', 'D', 'E'};
constexpr std::string_view temp_suffix = ".tmp";
constexpr std::string_view name_prefix = "snapshot.";
// Records are read from whole blocks; the read buffer for the file itself.
constexpr size_t read_chunk_bytes = 4u << 20;

// Fixed part of a znode record after its path and data: 4 x i64, 3 x i32,
// 2 x i64, u32 ACL id.
constexpr size_t node_fixed_bytes = 4 * 8 + 3 * 4 + 2 * 8 + 4;

void put_u32(std::string& out, uint32_t v) {
  char b[4];
  txn_log::store_le32(b, v);
  out.append(b, 4);
}

void put_u64(std::string& out, uint64_t v) {
  char b[8];
  txn_log::store_le64(b, v);
  out.append(b, 8);
}

void put_i32(std::string& out, int32_t v) {
  put_u32(out, static_cast<uint32_t>(v));
}

void put_i64(std::string& out, int64_t v) {
  put_u64(out, static_cast<uint64_t>(v));
}

void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s.data(), s.size());
}

uint32_t get_u32(const char* p) {
  return txn_log::load_le32(p);
}
uint64_t get_u64(const char* p) {
  return txn_log::load_le64(p);
}

std::string hex(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, static_cast<uint64_t>(v));
  return buf;
}

std::string sys_error(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

int sync_fd(int fd) {
  while (::fsync(fd) != 0)
    if (errno != EINTR)
      return errno;
  return 0;
}

ssize_t read_full(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    auto r = ::read(fd, buf + got, n - got);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0)
      break;
    got += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(got);
}

std::string encode_header(const snapshot_header& h) {
  std::string out;
  out.append(header_magic, 4);
  put_u32(out, h.version);
  put_i64(out, h.zxid);
  put_i64(out, h.digest);
  put_i64(out, h.time_ms);
  put_u32(out, 0);
  put_u32(out, crc32c(out));
  return out;
}

// Bounds-checked reads over one block's payload.
class cursor {
public:
  cursor(const char* p, size_t n) : p_(p), n_(n) {}

  size_t pos() const { return pos_; }
  bool done() const { return pos_ == n_; }

  bool u8(char& v) {
    if (n_ - pos_ < 1)
      return false;
    v = p_[pos_++];
    return true;
  }
  bool u32(uint32_t& v) {
    if (n_ - pos_ < 4)
      return false;
    v = get_u32(p_ + pos_);
    pos_ += 4;
    return true;
  }
  bool i32(int32_t& v) {
    uint32_t u;
    if (!u32(u))
      return false;
    v = static_cast<int32_t>(u);
    return true;
  }
  bool i64(int64_t& v) {
    if (n_ - pos_ < 8)
      return false;
    v = static_cast<int64_t>(get_u64(p_ + pos_));
    pos_ += 8;
    return true;
  }
  bool bytes(size_t len, std::string_view& v) {
    if (n_ - pos_ < len)
      return false;
    v = std::string_view(p_ + pos_, len);
    pos_ += len;
    return true;
  }
  bool str(std::string_view& v) {
    uint32_t len;
    return u32(len) && bytes(len, v);
  }

private:
  const char* p_;
  size_t n_;
  size_t pos_ = 0;
};

} // namespace

// ---- names -----------------------------------------------------------------

std::string snapshot_file_name(int64_t zxid) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "snapshot.%016" PRIx64,
                static_cast<uint64_t>(zxid));
  return buf;
}

std::optional<int64_t> parse_snapshot_name(std::string_view name) {
  if (name.size() != name_prefix.size() + 16 ||
      name.substr(0, name_prefix.size()) != name_prefix)
    return std::nullopt;
  uint64_t v = 0;
  for (auto c : name.substr(name_prefix.size())) {
    unsigned d;
    if (c >= '0' && c <= '9')
      d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else
      return std::nullopt;
    v = (v << 4) | d;
  }
  if (v > static_cast<uint64_t>(INT64_MAX))
    return std::nullopt;
  return static_cast<int64_t>(v);
}

bool is_temp_snapshot_name(std::string_view name) {
  return name.size() > temp_suffix.size() &&
         name.substr(name.size() - temp_suffix.size()) == temp_suffix &&
         parse_snapshot_name(name.substr(0, name.size() - temp_suffix.size()))
             .has_value();
}

// ---- encoder ---------------------------------------------------------------

snapshot_encoder::snapshot_encoder(size_t block_bytes)
    : block_bytes_(block_bytes == 0 ? 1 : block_bytes) {
  open_.reserve(block_bytes_ + 4096);
}

void snapshot_encoder::begin_record(size_t bytes) {
  // Close the open block if this record would take it past the target; a
  // record larger than a block then starts one of its own.
  if (!open_.empty() && open_.size() + bytes > block_bytes_) {
    done_bytes_ += open_.size();
    done_.push_back(std::move(open_));
    open_ = std::string();
    open_.reserve(block_bytes_ + 4096);
  }
}

void snapshot_encoder::node(const datatree::captured_node& n) {
  uint32_t acl_id;
  auto it = acl_ids_.find(n.acl_key);
  if (it != acl_ids_.end()) {
    acl_id = it->second;
  } else {
    acl_id = static_cast<uint32_t>(acl_ids_.size());
    acl_ids_.emplace(n.acl_key, acl_id);
    size_t bytes = 1 + 8;
    for (auto& a : *n.acl)
      bytes += 12 + a.id.scheme.size() + a.id.ident.size();
    begin_record(bytes);
    open_.push_back(tag_acl);
    put_u32(open_, acl_id);
    put_u32(open_, static_cast<uint32_t>(n.acl->size()));
    for (auto& a : *n.acl) {
      put_i32(open_, a.perms);
      put_str(open_, a.id.scheme);
      put_str(open_, a.id.ident);
    }
    ++counts_.acls;
  }
  begin_record(1 + 4 + n.path.size() + 4 + n.data.size() + node_fixed_bytes);
  open_.push_back(tag_node);
  put_str(open_, n.path);
  put_i32(open_, n.null_data ? -1 : static_cast<int32_t>(n.data.size()));
  open_.append(n.data.data(), n.data.size());
  auto& s = n.stat;
  put_i64(open_, s.czxid);
  put_i64(open_, s.mzxid);
  put_i64(open_, s.ctime);
  put_i64(open_, s.mtime);
  put_i32(open_, s.version);
  put_i32(open_, s.cversion);
  put_i32(open_, s.aversion);
  put_i64(open_, s.ephemeral_owner);
  put_i64(open_, s.pzxid);
  put_u32(open_, acl_id);
  ++counts_.nodes;
}

void snapshot_encoder::session(int64_t id, int32_t timeout_ms) {
  begin_record(13);
  open_.push_back(tag_session);
  put_i64(open_, id);
  put_i32(open_, timeout_ms);
  ++counts_.sessions;
}

std::vector<std::string> snapshot_encoder::take_blocks(bool all) {
  auto out = std::move(done_);
  done_ = {};
  done_bytes_ = 0;
  if (all && !open_.empty()) {
    out.push_back(std::move(open_));
    open_ = std::string();
  }
  return out;
}

size_t snapshot_encoder::pending_bytes() const noexcept {
  return done_bytes_ + open_.size();
}

// ---- writer ----------------------------------------------------------------

snapshot_writer::~snapshot_writer() {
  abort();
}

std::optional<std::string> snapshot_writer::fail(std::string what) {
  failed_ = what;
  return what;
}

std::optional<std::string> snapshot_writer::write(const void* data, size_t n) {
  auto p = static_cast<const char*>(data);
  size_t done = 0;
  while (done < n) {
    auto r = ::write(fd_, p + done, n - done);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return fail(sys_error("cannot write " + temp_ + " at byte " +
                                std::to_string(offset_ + done),
                            errno));
    }
    done += static_cast<size_t>(r);
  }
  file_crc_ = crc32c_extend(file_crc_, p, n);
  offset_ += n;
  auto step = opts_.writeback_step_bytes;
  if (opts_.fsync && step != 0 && offset_ - writeback_started_ >= step) {
    // Wait for the previous step (it has had a whole step's time), then
    // start this one. Advice only: an error here shows in the final fsync.
    if (writeback_started_ > writeback_waited_)
      ::sync_file_range(
          fd_, static_cast<off_t>(writeback_waited_),
          static_cast<off_t>(writeback_started_ - writeback_waited_),
          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
              SYNC_FILE_RANGE_WAIT_AFTER);
    writeback_waited_ = writeback_started_;
    ::sync_file_range(fd_, static_cast<off_t>(writeback_started_),
                      static_cast<off_t>(offset_ - writeback_started_),
                      SYNC_FILE_RANGE_WRITE);
    writeback_started_ = offset_;
  }
  return std::nullopt;
}

std::optional<std::string> snapshot_writer::open(const std::string& dir,
                                                 const snapshot_header& h,
                                                 write_options opts) {
  abort();
  failed_.reset();
  opts_ = opts;
  dir_ = dir;
  final_ = dir + "/" + snapshot_file_name(h.zxid);
  temp_ = final_ + std::string(temp_suffix);
  offset_ = 0;
  writeback_started_ = writeback_waited_ = 0;
  file_crc_ = 0;
  // O_TRUNC: a temporary file of an earlier attempt at the same zxid is
  // garbage.
  fd_ = ::open(temp_.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd_ < 0)
    return fail(sys_error("cannot create " + temp_, errno));
  auto head = encode_header(h);
  return write(head.data(), head.size());
}

std::optional<std::string>
snapshot_writer::append_block(std::string_view payload) {
  if (failed_)
    return failed_;
  if (fd_ < 0)
    return fail("snapshot writer is not open");
  if (payload.empty())
    return std::nullopt;
  if (payload.size() > max_block_bytes)
    return fail("snapshot block of " + std::to_string(payload.size()) +
                " bytes is over the limit");
  std::string head;
  put_u32(head, static_cast<uint32_t>(payload.size()));
  put_u32(head, crc32c(payload));
  if (auto e = write(head.data(), head.size()))
    return e;
  return write(payload.data(), payload.size());
}

std::optional<std::string> snapshot_writer::finish(const snapshot_trailer& t) {
  if (failed_)
    return failed_;
  if (fd_ < 0)
    return fail("snapshot writer is not open");
  std::string tail;
  tail.append(trailer_magic, 4);
  put_u32(tail, 0);
  put_u64(tail, t.nodes);
  put_u64(tail, t.sessions);
  put_u32(tail, t.acls);
  if (auto e = write(tail.data(), tail.size()))
    return e;
  std::string crc;
  put_u32(crc, file_crc_);
  if (auto e = write(crc.data(), crc.size()))
    return e;
  // Data first, then the name: a crash leaves either no snapshot.<zxid> or a
  // complete one.
  if (opts_.fsync)
    if (int rc = sync_fd(fd_))
      return fail(sys_error("fsync of " + temp_, rc));
  if (::close(fd_) != 0) {
    fd_ = -1;
    return fail(sys_error("cannot close " + temp_, errno));
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), final_.c_str()) != 0)
    return fail(sys_error("cannot rename " + temp_ + " to " + final_, errno));
  temp_.clear();
  if (opts_.fsync) {
    int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
      return fail(sys_error("cannot open directory " + dir_, errno));
    int rc = sync_fd(dfd);
    ::close(dfd);
    if (rc != 0)
      return fail(sys_error("fsync of directory " + dir_, rc));
  }
  return std::nullopt;
}

void snapshot_writer::abort() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_.empty()) {
    ::unlink(temp_.c_str());
    temp_.clear();
  }
}

// ---- reader ----------------------------------------------------------------

namespace {

class snapshot_reader {
public:
  snapshot_reader(const std::string& path, const snapshot_visitor& v)
      : path_(path), v_(v) {}

  read_result run() {
    res_.file = path_;
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return io(0, sys_error("cannot open " + path_, errno));
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      auto e = errno;
      ::close(fd);
      return io(0, sys_error("cannot stat " + path_, e));
    }
    fd_ = fd;
    size_ = static_cast<uint64_t>(st.st_size);
    res_.bytes = size_;
    read_file();
    ::close(fd);
    return std::move(res_);
  }

private:
  read_result& io(uint64_t off, std::string msg) {
    res_.status = read_status::io_error;
    res_.offset = off;
    res_.message = std::move(msg);
    return res_;
  }

  void corrupt(uint64_t off, const std::string& why) {
    res_.status = read_status::corrupt;
    res_.offset = off;
    res_.message = "corrupt snapshot " + path_ + " at byte " +
                   std::to_string(off) + ": " + why;
  }

  void refused(uint64_t off, const std::string& why) {
    res_.status = read_status::refused;
    res_.offset = off;
    res_.message =
        "snapshot " + path_ + " at byte " + std::to_string(off) + ": " + why;
  }

  // Reads n bytes at the current offset, or reports why not.
  bool take(char* out, size_t n) {
    auto got = read_full(fd_, out, n);
    if (got < 0) {
      io(pos_,
         sys_error("cannot read " + path_ + " at byte " + std::to_string(pos_),
                   errno));
      return false;
    }
    if (static_cast<size_t>(got) < n) {
      corrupt(pos_, "the file ends inside a " + std::to_string(n) +
                        "-byte field (truncated)");
      return false;
    }
    crc_ = crc32c_extend(crc_, out, n);
    pos_ += n;
    return true;
  }

  void read_file() {
    char head[header_bytes];
    if (size_ < header_bytes) {
      corrupt(0, "file of " + std::to_string(size_) +
                     " bytes is too short for a snapshot header");
      return;
    }
    if (!take(head, header_bytes))
      return;
    if (std::memcmp(head, header_magic, 4) != 0) {
      corrupt(0, "not a zkd snapshot (bad magic)");
      return;
    }
    if (crc32c(head, 36) != get_u32(head + 36)) {
      corrupt(0, "header checksum mismatch");
      return;
    }
    auto& h = res_.header;
    h.version = get_u32(head + 4);
    h.zxid = static_cast<int64_t>(get_u64(head + 8));
    h.digest = static_cast<int64_t>(get_u64(head + 16));
    h.time_ms = static_cast<int64_t>(get_u64(head + 24));
    if (h.version != format_version) {
      corrupt(4, "unsupported format version " + std::to_string(h.version));
      return;
    }
    if (auto name = path_.substr(path_.find_last_of('/') + 1);
        parse_snapshot_name(name) && *parse_snapshot_name(name) != h.zxid) {
      corrupt(8, "header says zxid " + hex(h.zxid) +
                     " but the file name says " +
                     hex(*parse_snapshot_name(name)));
      return;
    }
    if (v_.on_header) {
      auto why = v_.on_header(h);
      if (!why.empty())
        return refused(0, why);
    }
    std::string block;
    for (;;) {
      uint64_t at = pos_;
      if (size_ - pos_ < 4) {
        corrupt(at, "the file ends without the end marker (truncated)");
        return;
      }
      char bh[block_header_bytes];
      if (!take(bh, 4))
        return;
      if (std::memcmp(bh, trailer_magic, 4) == 0)
        return read_trailer(at);
      uint32_t len = get_u32(bh);
      if (len == 0 || len > max_block_bytes || len > size_ - pos_) {
        corrupt(at, "block length " + std::to_string(len) +
                        " is impossible here (" + std::to_string(size_ - pos_) +
                        " bytes left)");
        return;
      }
      if (!take(bh + 4, 4))
        return;
      block.resize(len);
      if (!take(block.data(), len))
        return;
      if (crc32c(block) != get_u32(bh + 4)) {
        corrupt(at, "block checksum mismatch (block of " + std::to_string(len) +
                        " bytes)");
        return;
      }
      if (!read_records(block, at + block_header_bytes))
        return;
    }
  }

  bool read_records(const std::string& block, uint64_t base) {
    cursor c(block.data(), block.size());
    while (!c.done()) {
      uint64_t at = base + c.pos();
      char tag;
      c.u8(tag);
      bool ok = false;
      if (tag == tag_acl)
        ok = read_acl(c, at);
      else if (tag == tag_node)
        ok = read_node(c, at);
      else if (tag == tag_session)
        ok = read_session(c, at);
      else {
        corrupt(at, "unknown record tag " + std::to_string(int(tag)));
        return false;
      }
      if (!ok) {
        if (res_.status == read_status::ok)
          corrupt(at, "record runs past the end of its block");
        return false;
      }
    }
    return true;
  }

  bool read_acl(cursor& c, uint64_t at) {
    uint32_t id, count;
    if (!c.u32(id) || !c.u32(count))
      return false;
    if (id != acls_.size()) {
      corrupt(at, "ACL list id " + std::to_string(id) + " out of order (" +
                      std::to_string(acls_.size()) + " expected)");
      return false;
    }
    std::vector<wire::acl> list;
    for (uint32_t i = 0; i < count; ++i) {
      wire::acl a;
      std::string_view scheme, ident;
      if (!c.i32(a.perms) || !c.str(scheme) || !c.str(ident))
        return false;
      a.id.scheme = std::string(scheme);
      a.id.ident = std::string(ident);
      list.push_back(std::move(a));
    }
    acls_.push_back(std::move(list));
    ++res_.trailer.acls;
    return true;
  }

  bool read_node(cursor& c, uint64_t at) {
    datatree::captured_node n;
    int32_t dlen;
    if (!c.str(n.path) || !c.i32(dlen))
      return false;
    if (dlen < -1) {
      corrupt(at, "negative data length " + std::to_string(dlen));
      return false;
    }
    n.null_data = dlen < 0;
    if (!c.bytes(n.null_data ? 0 : size_t(dlen), n.data))
      return false;
    auto& s = n.stat;
    uint32_t acl_id;
    if (!c.i64(s.czxid) || !c.i64(s.mzxid) || !c.i64(s.ctime) ||
        !c.i64(s.mtime) || !c.i32(s.version) || !c.i32(s.cversion) ||
        !c.i32(s.aversion) || !c.i64(s.ephemeral_owner) || !c.i64(s.pzxid) ||
        !c.u32(acl_id))
      return false;
    if (acl_id >= acls_.size()) {
      corrupt(at, "znode " + std::string(n.path) + " uses ACL list " +
                      std::to_string(acl_id) + ", which is not defined");
      return false;
    }
    n.acl_key = acl_id;
    n.acl = &acls_[acl_id];
    ++res_.trailer.nodes;
    if (v_.on_node) {
      auto why = v_.on_node(at, n);
      if (!why.empty()) {
        refused(at, why);
        return false;
      }
    }
    return true;
  }

  bool read_session(cursor& c, uint64_t at) {
    int64_t id;
    int32_t timeout;
    if (!c.i64(id) || !c.i32(timeout))
      return false;
    ++res_.trailer.sessions;
    if (v_.on_session) {
      auto why = v_.on_session(at, id, timeout);
      if (!why.empty()) {
        refused(at, why);
        return false;
      }
    }
    return true;
  }

  void read_trailer(uint64_t at) {
    // The magic is read; 24 more bytes are covered by the file checksum,
    // which is the last 4.
    constexpr size_t rest = trailer_bytes - 4;
    if (size_ - pos_ != rest) {
      if (size_ - pos_ < rest)
        corrupt(at, "the end marker is cut short (truncated)");
      else
        corrupt(at + trailer_bytes, std::to_string(size_ - pos_ - rest) +
                                        " bytes after the end marker");
      return;
    }
    char t[rest];
    if (!take(t, rest - 4))
      return;
    uint32_t expect = crc_;
    if (!take(t + rest - 4, 4))
      return;
    auto nodes = get_u64(t + 4);
    auto sessions = get_u64(t + 12);
    auto acls = get_u32(t + 20);
    if (get_u32(t + 24) != expect) {
      corrupt(at, "file checksum mismatch (end marker)");
      return;
    }
    auto& counted = res_.trailer;
    if (nodes != counted.nodes || sessions != counted.sessions ||
        acls != counted.acls) {
      corrupt(at, "the end marker counts " + std::to_string(nodes) +
                      " znodes, " + std::to_string(sessions) + " sessions, " +
                      std::to_string(acls) + " ACL lists; the file has " +
                      std::to_string(counted.nodes) + ", " +
                      std::to_string(counted.sessions) + ", " +
                      std::to_string(counted.acls));
    }
  }

  const std::string& path_;
  const snapshot_visitor& v_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t pos_ = 0;
  uint32_t crc_ = 0;
  std::vector<std::vector<wire::acl>> acls_;
  read_result res_;
};

} // namespace

read_result read_snapshot(const std::string& path,
                          const snapshot_visitor& visitor) {
  return snapshot_reader(path, visitor).run();
}

} // namespace zkd::snapshotter
