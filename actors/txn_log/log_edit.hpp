// Edits of a closed transaction log, for Zab's sync: a learner told TRUNC
// drops the records its leader never committed. The log must not be open in
// a log_writer meanwhile (the peer stops the round's txn_log actor first);
// log_writer::truncate_after is the same edit for an open writer.
#pragma once

#include <cstdint>
#include <string>

namespace zkd::txn_log {

// Removes every record with a zxid above `zxid` from the log in `log_dir`:
// segments whose first zxid is above it are deleted (newest first, each
// deletion made durable before the next, so a crash leaves a prefix of the
// log), and the segment holding the rest is cut right after its last record
// <= zxid (the file ends there; a writer that opens the log appends after
// it). A torn tail after the kept records goes too. Files and directory are
// fsynced. A missing directory or nothing above `zxid` changes nothing;
// `zxid` 0 empties the log. Returns "" or an error naming the file. The
// segment to cut is read before anything is deleted, so bad data among the
// records it keeps fails the call with the log untouched.
std::string truncate_after(const std::string& log_dir, int64_t zxid);

// fsync of a directory, so that creates, renames and deletes in it are
// durable. Returns an error text naming the directory, or "".
std::string fsync_dir(const std::string& dir);

// fsync(2) of `fd`, retried on EINTR. Returns 0 or the errno.
int fsync_fd(int fd);

} // namespace zkd::txn_log
