// Apache ZooKeeper 3.8's data directory, read for `zkd import`: its snapshot
// files (snapshot.<zxid>), its transaction logs (log.<zxid>), and the whole
// directory turned into a datatree::tree the way ZooKeeper's own start-up
// does it (FileTxnSnapLog.restore: the newest valid snapshot, then every
// logged txn after it). The encoders are the inverse, for tests and fuzzers.
//
// == Formats (jute: integers big-endian, buffers and strings as an int
//    length then the bytes, -1 for null) ====================================
//
// Both files start with a FileHeader: int magic ("ZKSN" for snapshots,
// "ZKLG" for logs), int version (2), long dbid (-1).
//
// snapshot.<zxid>, where zxid is the last txn applied when the snapshot
// *began* (ZooKeeper's snapshots are fuzzy: nodes written later may show
// later txns, and the log from zxid + 1 on is replayed over them):
//   header
//   int n, then n x (long session id, int timeout ms)
//   int m, then m x (long ACL reference, vector<ACL>)      the ACL cache
//   per node, parents first: string path ("" for the root),
//     buffer data, long ACL reference (-1: world:anyone ALL),
//     StatPersisted (czxid mzxid ctime mtime version cversion aversion
//     ephemeralOwner pzxid)
//   string "/"                                 end of the nodes
//   long Adler32 of every byte before it, string "/"
//   optionally (zookeeper.digest.enabled): long zxid, int digest version,
//     long tree digest at that zxid, then again long Adler32 of every byte
//     before it and string "/"
// A file that does not end in the bytes of string "/" is incomplete (a
// snapshot ZooKeeper was still writing) and skipped
// (SnapStream.isValidSnapshot). Snapshots compressed with
// zookeeper.snapshot.compression.method (names ending in .gz or .snappy) are
// not read.
//
// log.<zxid>, where zxid is the first txn in the file:
//   header, then entries: long Adler32 of the payload, int payload length,
//   payload (TxnHeader, the txn record, optionally a TxnDigest: what
//   txn::decode reads), byte 'B'. The file is preallocated with zeros, so a
//   length of 0 marks the end. An entry that runs past the end of the file
//   or lacks the 'B' is a write torn by a crash: ZooKeeper ends the file
//   there (Util.readTxnBytes) and so do we; an entry whose checksum does not
//   match is corruption and stops the import.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/datatree/tree.hpp"
#include "messages/wire/records.hpp"

namespace zkd::tools::zk {

constexpr int32_t snapshot_magic = 0x5a4b534e; // "ZKSN"
constexpr int32_t log_magic = 0x5a4b4c47;      // "ZKLG"
constexpr int32_t file_version = 2;
constexpr size_t file_header_bytes = 16;
constexpr char end_of_record = 'B';
// The ACL reference ZooKeeper writes for a null ACL list; it reads back as
// world:anyone ALL (ReferenceCountedACLCache.OPEN_UNSAFE_ACL_ID).
constexpr int64_t open_acl_ref = -1;

// java.util.zip.Adler32, continuing from `adler` (1 for a fresh checksum).
uint32_t adler32(std::string_view bytes, uint32_t adler = 1) noexcept;

struct file_header {
  int32_t magic = 0;
  int32_t version = file_version;
  int64_t dbid = -1;
};

// "<prefix>.<hex zxid>[.<suffix>]" -> the zxid, and the suffix ("" if none)
// in `suffix`. nullopt for any other name (Util.getZxidFromName, without
// its leniencies: no sign, at most 16 hex digits).
std::optional<int64_t> zxid_from_name(std::string_view name,
                                      std::string_view prefix,
                                      std::string* suffix = nullptr);

enum class read_status {
  ok,
  corrupt, // the bytes do not check out; `offset` says where
  refused, // a callback refused the record at `offset`
};

// -- snapshots
// ------------------------------------------------------------------

struct zxid_digest {
  int64_t zxid = 0;    // the txn after which the tree had this digest
  int32_t version = 0; // DigestCalculator version (2 in 3.8)
  int64_t digest = 0;
};

// One node as read; the views point into the file's bytes.
struct snapshot_node {
  std::string_view path; // "" for the root
  std::string_view data; // empty when null_data
  bool null_data = false;
  int64_t acl_ref = 0;
  const std::vector<wire::acl>* acl = nullptr; // what acl_ref stands for
  datatree::stat_persisted stat;
};

struct snapshot_info {
  file_header header;
  uint64_t sessions = 0;
  uint64_t acl_lists = 0;
  uint64_t nodes = 0;
  std::optional<zxid_digest> digest;
};

struct snapshot_result {
  read_status status = read_status::ok;
  uint64_t offset = 0;
  std::string message; // what is wrong at `offset` (no file name)
  snapshot_info info;
  bool ok() const noexcept { return status == read_status::ok; }
};

// Callbacks return "" to go on or a sentence saying why the record cannot be
// used (the read then stops with status refused). Records are handed out
// before the file's checksum is checked at its end: do not trust what they
// built unless read_snapshot returns ok.
struct snapshot_visitor {
  std::function<std::string(uint64_t offset, int64_t id, int32_t timeout_ms)>
      on_session;
  std::function<std::string(uint64_t offset, const snapshot_node&)> on_node;
};

snapshot_result read_snapshot(std::string_view bytes,
                              const snapshot_visitor& visitor);

// -- logs
// -----------------------------------------------------------------------

struct log_entry {
  uint64_t offset = 0;      // of the entry's checksum field
  std::string_view payload; // what txn::decode reads
};

struct log_result {
  read_status status = read_status::ok;
  // ok: where the entries end (the end of the file, the zero length that
  // ends them, or the torn entry); otherwise the entry at fault.
  uint64_t offset = 0;
  std::string message;
  file_header header;
  uint64_t entries = 0; // handed to the callback and accepted
  // ok only: the file ends in a partial entry at `offset` (or is shorter
  // than its header), which ZooKeeper also ignores.
  bool torn = false;
  // ok only: non-zero bytes after `offset` (none after a clean end).
  uint64_t trailing_nonzero = 0;
  bool ok() const noexcept { return status == read_status::ok; }
};

log_result
scan_log(std::string_view bytes,
         const std::function<std::string(const log_entry&)>& on_entry);

// -- encoders (tests, fuzzers) ------------------------------------------------

struct image_node {
  std::string path; // "" for the root
  wire::opt_bytes data;
  int64_t acl_ref = open_acl_ref;
  datatree::stat_persisted stat;
};

// Everything a snapshot file holds, in file order.
struct snapshot_image {
  file_header header{snapshot_magic, file_version, -1};
  std::vector<std::pair<int64_t, int32_t>> sessions;
  std::vector<std::pair<int64_t, std::vector<wire::acl>>> acls;
  std::vector<image_node> nodes;
  std::optional<zxid_digest> digest;
};

// The bytes ZooKeeper writes for `image`, checksums included.
std::string encode_snapshot(const snapshot_image& image);

// `t` as ZooKeeper would serialize it: every node in preorder (root as ""),
// ACL lists numbered from 1 in order of first use, the tree's sessions, and
// the digest at t.last_zxid() if `with_digest`.
snapshot_image image_of(const datatree::tree& t, bool with_digest = true);

std::string encode_file_header(const file_header& h);
// One log entry: checksum, length, payload, 'B'.
std::string encode_log_entry(std::string_view payload);

// -- a whole data directory ---------------------------------------------------

// Exit codes of `zkd import` for load failures.
constexpr int exit_io = 1;      // a file could not be read
constexpr int exit_usage = 2;   // nothing importable, or not supported
constexpr int exit_corrupt = 3; // data that does not check out

struct load_result {
  int exit_code = 0; // 0: `t` is ZooKeeper's tree
  std::string error; // names the file and byte offset where it applies
  std::vector<std::string> warnings;
  std::unique_ptr<datatree::tree> t;
  std::string snapshot; // the file loaded
  int64_t snapshot_zxid = 0;
  uint64_t snapshot_nodes = 0;
  uint64_t logs_read = 0;
  uint64_t replayed = 0;      // txns applied after the snapshot
  uint64_t digest_checks = 0; // tree digests compared with ZooKeeper's
  uint64_t dead_sessions = 0; // owners of ephemerals without a session
  // The highest epoch ZooKeeper used or promised: currentEpoch and
  // acceptedEpoch (quorum mode), and the epoch of every zxid seen.
  int64_t max_epoch = 0;
};

// The directories holding ZooKeeper's files: `snap_dir` its dataDir's
// version-2 (snapshots, currentEpoch, acceptedEpoch), `log_dir` its
// dataLogDir's version-2 (the same unless dataLogDir was set).
//
// Like ZooKeeper: the newest snapshot that checks out (older ones after a
// warning for each newer one that does not), then every txn after its zxid
// from the logs in zxid order, each entry's checksum verified; a torn entry
// ends its file with a warning. Beyond ZooKeeper: the zxids after the
// snapshot must follow each other without a gap (the next counter, or
// counter 1 of a later epoch), every entry of the logs read must decode, and
// the tree digests ZooKeeper recorded (in the snapshot and in each txn) are
// compared once the tree is past the snapshot's fuzzy range, a mismatch
// being a warning (ZooKeeper only logs it too). Finally, as ZooKeeper's
// start-up does, ephemerals whose session is gone are deleted.
load_result load_zookeeper(const std::string& snap_dir,
                           const std::string& log_dir);

} // namespace zkd::tools::zk
