// The write-ahead transaction log: segment files of checksummed records, a
// writer that appends in batches with one write + fdatasync per batch, and a
// reader that replays records in zxid order and tells a torn tail (a crash
// during the last write, safe to cut off) from corruption (stop the node).
// No CAF in here; txn_log_actor.hpp is the shell that does group commit.
//
// On-disk format, every integer little-endian:
//
//   segment file  log.<first zxid as 16 lowercase hex digits>
//   file header   "ZKDL"  u32 version (=1)  u64 first zxid          16 bytes
//   record        u32 payload length  u32 crc  u64 zxid  payload    16 + n
//                 crc = CRC32C over the 8 zxid bytes then the payload
//   end of log    a record header of 16 zero bytes (segments are
//                 preallocated, so the unused tail of a segment is zero)
//
// A valid record never has an all-zero header: zxids are > 0. Zxids strictly
// increase through the whole log; gaps are fine (a new epoch restarts the
// counter half of the zxid, and a new leader may skip proposals it never
// committed). A segment's name is the zxid of its first record.
//
// Torn tail or corruption: only the newest segment can be torn, since a
// segment is synced in full before the next one is created. There the first
// bad record (CRC mismatch, impossible length, zero header followed by data)
// is a torn tail if no valid record follows it, or if a zero 512-byte sector
// lies between it and the next valid record (the last batch reached the disk
// out of order and was never acknowledged). Anything else, and any bad record
// in an older segment, is corruption. A record whose CRC checks out but whose
// zxid does not increase is always corruption.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zkd::txn_log {

constexpr uint32_t format_version = 1;
constexpr size_t file_header_bytes = 16;
constexpr size_t record_header_bytes = 16;

// Larger payloads are refused on append and treated as garbage on read. Far
// above jute.maxbuffer (1 MiB by default) so that a big multi still fits.
constexpr uint32_t max_payload_bytes = 256u << 20;

enum class errc : uint8_t {
  io_error,     // a system call failed; sys_errno says which error
  corrupt,      // bad data in the log that is not a torn tail
  bad_argument, // zxid not increasing, payload too large
  not_open,     // the writer has no open log
};

struct log_error {
  errc code = errc::io_error;
  int sys_errno = 0;   // errno of the failed call, 0 if none
  std::string message; // names the file and byte offset where it applies
};

// The segments of a log directory, oldest first.
struct segment_info {
  std::string path;
  int64_t first_zxid = 0;
};

// Segments in `dir` sorted by first zxid; files not named log.<16 hex> are
// ignored. A missing directory is an empty log.
std::vector<segment_info>
list_segments(const std::string& dir, std::optional<log_error>* err = nullptr);

// "log.00000001000000a3".
std::string segment_file_name(int64_t first_zxid);

// ---- reading ---------------------------------------------------------------

enum class scan_status {
  clean,     // read up to the end of the log
  torn_tail, // the last segment ends in a partial or bad record (a crash
             // during a write); everything before it was delivered
  corrupt,   // bad data that a crash cannot explain; stop the node
  io_error,  // could not read the log
};

struct scan_result {
  scan_status status = scan_status::clean;
  // Empty when clean. For torn_tail a warning, otherwise the error; both name
  // the file and the byte offset.
  std::string message;
  std::string file;       // the file of the torn tail or corruption
  uint64_t offset = 0;    // byte offset in `file` of the bad record
  int64_t last_zxid = 0;  // last valid zxid seen (0 if none)
  uint64_t delivered = 0; // records handed to the callback
  bool stopped = false;   // the callback asked to stop early
  int sys_errno = 0;      // for io_error

  // The records before the problem (if any) can be trusted.
  bool ok() const {
    return status == scan_status::clean || status == scan_status::torn_tail;
  }
};

// Called once per record in zxid order; the payload view is valid only
// during the call. Return false to stop reading.
using scan_callback =
    std::function<bool(int64_t zxid, std::string_view payload)>;

// Replays every record with zxid >= from_zxid, up to and including
// until_zxid. Every record read is checked (CRC, length, strictly increasing
// zxid); segments that end before from_zxid are skipped without reading.
// Never modifies the log: a torn tail is reported and log_writer::open() cuts
// it off.
//
// An unbounded scan also checks that the unused part of each segment is zero,
// which is right at start-up but not while a writer appends (it would see the
// write in progress). Reading a live log, pass a zxid known durable (a
// log_durable ack, log_writer::durable_zxid()) as until_zxid: the scan then
// stops right after that record and never looks further.
scan_result scan(const std::string& dir, int64_t from_zxid,
                 const scan_callback& callback, int64_t until_zxid = INT64_MAX);

// Where a record lies: its segment file and the byte offset of its header.
struct record_position {
  const std::string& file;
  uint64_t offset;
};

// As scan(), telling the callback where each record is (for messages that
// must name the file and offset of a record the caller rejects).
using positioned_callback = std::function<bool(
    int64_t zxid, std::string_view payload, const record_position& where)>;

scan_result scan_positioned(const std::string& dir, int64_t from_zxid,
                            const positioned_callback& callback,
                            int64_t until_zxid = INT64_MAX);

// Reads one segment file on its own (`zkd inspect log FILE`), checked as if
// it were the newest of its log: a bad last record is a torn tail. A file
// not named log.<16 hex> takes its first zxid from its header.
scan_result scan_file(const std::string& path,
                      const positioned_callback& callback);

// ---- writing ---------------------------------------------------------------

enum class prealloc {
  none,      // grow the file with each write
  fallocate, // reserve the segment with posix_fallocate (cheap to create)
  zero_fill, // write zeros: slow to create, faster fdatasync afterwards
  // zero_fill done ahead, on a thread of the writer's own: the next segment
  // waits in the log directory as a zero-filled, synced spare file
  // ("log.spare", which no reader takes for a segment). Each fdatasync then
  // costs what zero_fill's does (on ext4, 100 us rather than fallocate's
  // 160 us for 10 KiB: no unwritten extents to convert), and a new segment
  // costs a rename. When the spare is not ready, fallocate.
  zero_fill_ahead,
};

struct writer_options {
  // false skips fdatasync and every directory fsync. Tests only: nothing
  // the writer reports as synced is durable then.
  bool fsync = true;
  // A new segment starts when the next record would not fit in this size
  // (a single larger record gets a segment of its own).
  uint64_t segment_bytes = 64u << 20;
  prealloc preallocate = prealloc::fallocate;
};

struct writer_stats {
  uint64_t appends = 0;       // records accepted
  uint64_t writes = 0;        // batches handed to the kernel
  uint64_t fsyncs = 0;        // fdatasync calls on segment data
  uint64_t bytes_written = 0; // record bytes written
  uint64_t segments_created = 0;
  uint64_t spares_used = 0; // segments made from a zero_fill_ahead spare
};

// Appends records to the newest segment. Not thread-safe: one owner (the
// txn_log actor). After any failed write or fdatasync the writer refuses all
// further work and returns that error again: the kernel may have dropped the
// dirty pages, so retrying could acknowledge data that is not on disk.
class log_writer {
public:
  log_writer() = default;
  ~log_writer();
  log_writer(const log_writer&) = delete;
  log_writer& operator=(const log_writer&) = delete;

  // Opens (creating if needed) the log in `dir` and positions after its last
  // valid record. A torn tail of the last segment is cut off, leaving a
  // warning in recovery_warning(); corruption fails the open. Only the newest
  // segment is read; scan() checks the others.
  [[nodiscard]] std::optional<log_error> open(const std::string& dir,
                                              const writer_options& opts = {});

  // Buffers one record (no system call unless a new segment is due). The
  // zxid must be greater than last_zxid(). A refused append changes nothing.
  [[nodiscard]] std::optional<log_error> append(int64_t zxid,
                                                std::string_view payload);

  // Writes everything buffered with one write and makes it durable with one
  // fdatasync. On success durable_zxid() == last_zxid().
  [[nodiscard]] std::optional<log_error> sync();

  // Syncs what is buffered and closes the current segment, cut to its last
  // record (no preallocated tail), so that the next append starts a new one
  // (ZooKeeper's rollLog when a snapshot starts: old segments then end at
  // snapshot boundaries and can be purged whole). No-op on an empty segment.
  [[nodiscard]] std::optional<log_error> roll();

  // Removes every record with a zxid above `zxid` (ZAB TRUNC). Buffered
  // records are synced first. Durable on return.
  [[nodiscard]] std::optional<log_error> truncate_after(int64_t zxid);

  // Closes the files; buffered records are dropped.
  void close();

  bool is_open() const { return open_; }

  // The error that stopped the writer, if any.
  const std::optional<log_error>& failure() const { return failed_; }

  // Last zxid appended (buffered or not); 0 for an empty log.
  int64_t last_zxid() const { return last_zxid_; }

  // Last zxid known to be on disk.
  int64_t durable_zxid() const { return durable_zxid_; }

  size_t buffered_bytes() const { return buf_.size(); }

  // What open() repaired (torn tail cut, empty segment removed); empty if
  // nothing. Meant for a warning line in the node's log.
  const std::string& recovery_warning() const { return recovery_warning_; }

  const writer_stats& stats() const { return stats_; }

  const std::string& current_segment() const { return seg_path_; }

private:
  std::optional<log_error> fail(log_error err);
  std::optional<log_error> create_segment(int64_t first_zxid);
  std::optional<log_error> open_segment_at(const segment_info& seg,
                                           uint64_t end_offset,
                                           int64_t last_zxid, uint64_t records,
                                           bool tail_is_zero);
  std::optional<log_error> write_buffer();
  std::optional<log_error> sync_dir();
  std::optional<log_error> remove_segment(const std::string& path);
  void close_segment();
  prealloc inline_preallocation() const;
  bool spare_exists() const;
  void prepare_spare();
  bool take_spare(const std::string& path);
  void finish_spare();

  bool open_ = false;
  writer_options opts_;
  std::string dir_;
  int dir_fd_ = -1;
  int fd_ = -1; // the current segment; -1 before the first
  std::string seg_path_;
  uint64_t file_offset_ = 0; // where the buffer goes in the segment
  uint64_t seg_records_ = 0; // records in the segment, buffered included
  std::string buf_;          // encoded records not yet written
  int64_t last_zxid_ = 0;
  int64_t durable_zxid_ = 0;
  std::optional<log_error> failed_;
  std::string recovery_warning_;
  writer_stats stats_;
  // zero_fill_ahead: the spare being made (its result: 0 or an errno).
  std::future<int> spare_;
};

} // namespace zkd::txn_log
