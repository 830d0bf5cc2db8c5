// zkd inspect: prints and verifies the data files, like ZooKeeper's
// TxnLogToolkit and SnapshotFormatter.
//
//   zkd inspect log DIR|FILE [--json]    every record of a log (a directory
//                                        of segments, or one segment)
//   zkd inspect snapshot FILE [--json]   header, every znode, every session
//
// Readable text by default; --json prints one JSON object per line (the
// records, then a summary line). Both read the whole file and check every
// checksum; the first bad record is reported with its file and byte offset
// on stderr (and as a JSON line with --json).
//
// Exit codes: 0 every record checks out; 1 a torn log tail (what start-up
// cuts off); 3 corruption (what would stop the node); 2 bad usage or a file
// that cannot be read.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace zkd::tools {

constexpr int inspect_ok = 0;
constexpr int inspect_torn = 1;
constexpr int inspect_usage = 2;
constexpr int inspect_corrupt = 3;

// inspect_main with the streams given (for tests).
int inspect(const std::vector<std::string>& args, std::ostream& out,
            std::ostream& err);

} // namespace zkd::tools
