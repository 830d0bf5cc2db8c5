// Snapshots of the datatree: the file format, the encoder the datatree fills
// while it walks the tree, the file writer (run on the snapshotter's own
// thread) and the reader (start-up recovery, `zkd inspect snapshot`).
// No CAF in here; snapshotter_actor.hpp is the shell.
//
// == Design: copy-on-write capture, not ZooKeeper's fuzzy snapshot ==========
//
// The tree lives in the datatree actor, single-threaded on the I/O thread,
// and a snapshot must not stop it. So the walk is incremental: a few thousand
// znodes per actor turn (tree::capture_step), with client reads and committed
// writes handled between turns, and the bytes go to the snapshotter's thread,
// which checksums and writes them.
//
// ZooKeeper lets the writes show through such a walk (a "fuzzy" snapshot:
// each znode as it was when the walk reached it) and repairs it at recovery
// by replaying the log from the zxid the walk started at, relying on every
// txn being harmless when its effect is already there. That argument has
// needed patch after patch: the parent's cversion on a replayed create
// (parentCVersion in CreateTxn), the pzxid on a replayed delete
// (ZOOKEEPER-3145), cversion and pzxid going backwards (ZOOKEEPER-3249), an
// ACL missing from the cache after reload (ZOOKEEPER-4846, 2025). Proving
// "fuzzy image + replay == live tree" means reasoning about every
// interleaving of every txn type (and side effect: quota stat nodes, the
// ACL cache, ephemerals) with the walk.
//
// zkd takes (b), copy-on-write at node level, which makes the snapshot an
// exact image of the tree at one zxid Z (capture_zxid):
//   - capture_begin flips a one-bit mark that every znode carries, making
//     every znode "not yet visited", and remembers Z = last applied zxid;
//   - the walk (a preorder cursor kept valid across mutations: see tree.cpp)
//     hands each unvisited znode it reaches to the encoder and marks it;
//   - every change to a stored field of a znode, and every delete, calls
//     tree::touch first, which hands an unvisited znode's current state to
//     the encoder (after its unvisited ancestors, so parents still come
//     first) and marks it. Current state == state at Z, because this is the
//     znode's first change since Z;
//   - znodes created during the capture are born marked: they are not in
//     the image.
// Each znode of the tree at Z is therefore emitted exactly once, with its
// state at Z, parents before children. The sessions are copied at Z (a map
// of id -> timeout, small). Recovery then loads the image and replays the
// log from Z + 1: every txn meets exactly the tree it was applied to the
// first time, so replay is deterministic and needs no idempotence; the
// tree digest at Z is stored in the header and checked after loading.
// The cost is one branch per write while no capture runs, and during one a
// copy of each touched znode's pre-image (each at most once), which is
// bounded by the number of znodes, not by the write rate.
// tests/unit/snapshotter/capture_test.cpp checks the claim: random writes
// between chunks, then image == tree at Z and image + replay == live tree.
//
// == File format (integers little-endian) ====================================
//
//   name     snapshot.<Z as 16 lowercase hex digits>  (written as .tmp first,
//            fsynced, renamed, directory fsynced)
//   header   "ZKDS"  u32 version=1  u64 zxid Z  u64 tree digest at Z
//            i64 wall-clock ms when taken  u32 0  u32 CRC32C(previous 36)
//   blocks   u32 length (1 .. max_block_bytes)  u32 CRC32C(payload)  payload
//   trailer  "ZKDE"  u32 0  u64 znodes  u64 sessions  u32 ACL lists
//            u32 CRC32C of every byte of the file before this field
//
// A payload is a sequence of whole records, each a tag byte then fields:
//   'A' ACL list   u32 id  u32 count  count x (i32 perms, str scheme, str id)
//   'N' znode      str path  i32 data length (-1: null)  data
//                  i64 czxid  i64 mzxid  i64 ctime  i64 mtime  i32 version
//                  i32 cversion (stored, i.e. child creates)  i32 aversion
//                  i64 ephemeralOwner  i64 pzxid  u32 ACL list id
//   'S' session    i64 id  i32 timeout ms
// where str is u32 length then bytes. An ACL list comes before the first
// znode that uses it; znodes come parents first; sessions come last. A
// length field can never read "ZKDE" (that value is above max_block_bytes).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/datatree/tree.hpp"

namespace zkd::snapshotter {

constexpr uint32_t format_version = 1;
constexpr size_t header_bytes = 40;
constexpr size_t block_header_bytes = 8;
constexpr size_t trailer_bytes = 32;
constexpr uint32_t max_block_bytes = 1u << 30;

constexpr char tag_acl = 'A';
constexpr char tag_node = 'N';
constexpr char tag_session = 'S';

// "snapshot.00000001000000a3".
std::string snapshot_file_name(int64_t zxid);

// The zxid of a file named snapshot.<16 lowercase hex>; nullopt for any
// other name (temporary files included).
std::optional<int64_t> parse_snapshot_name(std::string_view name);

// True for the temporary name a snapshot is written under.
bool is_temp_snapshot_name(std::string_view name);

struct snapshot_header {
  uint32_t version = format_version;
  int64_t zxid = 0;   // the last txn the image includes
  int64_t digest = 0; // tree::digest() of the image
  int64_t time_ms = 0;
};

struct snapshot_trailer {
  uint64_t nodes = 0;
  uint64_t sessions = 0;
  uint32_t acls = 0;
};

// ---- encoding (on the datatree's thread) -----------------------------------

// Turns captured znodes and sessions into block payloads. It is the capture's
// sink, so all it does per znode is append bytes; checksums and I/O happen on
// the writer's thread.
class snapshot_encoder : public datatree::capture_sink {
public:
  // A block is closed once it holds `block_bytes` or more (a single larger
  // record gets a block of its own).
  explicit snapshot_encoder(size_t block_bytes = 256 * 1024);

  void node(const datatree::captured_node& n) override;
  // The datatree stops a capture step once a block is complete.
  bool want_more() const override { return done_.empty(); }
  void session(int64_t id, int32_t timeout_ms);

  // Completed blocks, plus the open one if `all`.
  std::vector<std::string> take_blocks(bool all);
  // Bytes waiting in take_blocks(true).
  size_t pending_bytes() const noexcept;

  snapshot_trailer counts() const noexcept { return counts_; }

private:
  void begin_record(size_t bytes);

  size_t block_bytes_;
  std::string open_;
  std::vector<std::string> done_;
  size_t done_bytes_ = 0;
  std::unordered_map<uint64_t, uint32_t> acl_ids_; // capture key -> id
  snapshot_trailer counts_;
};

// ---- writing (on the snapshotter's thread) ---------------------------------

struct write_options {
  bool fsync = true; // false: tests only, nothing is durable
  // With fsync: start writing back every this many bytes as they are
  // written, and wait for the step before, so that at most two steps are
  // dirty. A snapshot of 100 MB then never lands on the disk in one burst
  // that the log's fdatasync (every acknowledged write) has to queue
  // behind; 0 leaves writeback to the kernel and the final fsync.
  uint64_t writeback_step_bytes = 4u << 20;
};

// Writes one snapshot file. Every error names the file; after one, the
// writer refuses further work, and abort() removes the temporary file.
class snapshot_writer {
public:
  snapshot_writer() = default;
  ~snapshot_writer();
  snapshot_writer(const snapshot_writer&) = delete;
  snapshot_writer& operator=(const snapshot_writer&) = delete;

  // Creates <dir>/snapshot.<zxid>.tmp and writes the header.
  std::optional<std::string> open(const std::string& dir,
                                  const snapshot_header& h,
                                  write_options opts = {});
  std::optional<std::string> append_block(std::string_view payload);
  // Writes the trailer, syncs, renames to the final name and syncs the
  // directory: on success the snapshot is durable under path().
  std::optional<std::string> finish(const snapshot_trailer& t);
  // Closes and removes the temporary file (if not finished).
  void abort();

  bool is_open() const noexcept { return fd_ >= 0; }
  const std::string& path() const noexcept { return final_; }
  uint64_t bytes_written() const noexcept { return offset_; }

private:
  std::optional<std::string> write(const void* data, size_t n);
  std::optional<std::string> fail(std::string what);

  int fd_ = -1;
  std::string dir_;
  std::string temp_;
  std::string final_;
  write_options opts_;
  uint64_t offset_ = 0;
  uint64_t writeback_started_ = 0; // bytes handed to sync_file_range
  uint64_t writeback_waited_ = 0;  // bytes known written back
  uint32_t file_crc_ = 0;
  std::optional<std::string> failed_;
};

// ---- reading ---------------------------------------------------------------

enum class read_status {
  ok,
  corrupt,  // the file does not check out; `offset` is where
  io_error, // could not read it
  refused,  // a callback returned an error for the record at `offset`
};

struct read_result {
  read_status status = read_status::ok;
  std::string file;
  uint64_t offset = 0;
  std::string message; // names the file and the byte offset
  snapshot_header header;
  snapshot_trailer trailer; // as counted while reading
  uint64_t bytes = 0;       // file size

  bool ok() const noexcept { return status == read_status::ok; }
};

// Callbacks for the records in file order; each returns "" to go on or a
// sentence saying why the record cannot be used (the read then stops with
// status refused). Unset callbacks accept everything. Every record handed
// out has passed its block's checksum; the file's own checksum and the
// trailer are checked at the end, so a caller must not trust the whole until
// read_snapshot returns ok. In a node, acl_key is the file's ACL list id.
struct snapshot_visitor {
  std::function<std::string(const snapshot_header&)> on_header;
  std::function<std::string(uint64_t offset, const datatree::captured_node&)>
      on_node;
  std::function<std::string(uint64_t offset, int64_t id, int32_t timeout_ms)>
      on_session;
};

read_result read_snapshot(const std::string& path,
                          const snapshot_visitor& visitor);

} // namespace zkd::snapshotter
