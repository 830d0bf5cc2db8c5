// `zkd trace render`: reads the trace files of one or more nodes, puts
// their lines on one time line, keeps those a filter and a time window
// select, and draws them as a Mermaid sequence diagram or a Chrome/Perfetto
// trace. Everything here is pure (strings in, strings out) so it is tested
// without files.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/tracer/record.hpp"

namespace zkd::tools::trace {

// The lines of one file that parsed, and how many did not.
struct source {
  std::string name;
  std::vector<tracer::record> records;
  size_t bad_lines = 0;
  std::string first_error; // why the first bad line was rejected
};

// Parses the text of a trace file. Blank lines are ignored; any other line
// that is not a trace record counts as bad.
source parse_source(std::string name, std::string_view text);

// A record placed on the merged time line.
struct entry {
  int64_t t_ns = 0; // wall-clock ns; see merge()
  const tracer::record* r = nullptr;
};

// Orders the records of every source on one time line. Within a node the
// monotonic clock orders (it does not jump); across nodes the wall clock
// does: each (source, node) gets the offset wall - mono that is the median
// over its records, and t = mono + offset. Ties keep file order.
std::vector<entry> merge(const std::vector<source>& sources);

// Which records to keep. Terms with different keys must all match; several
// terms with one key match if any does. Keys:
//   actor  the sender or the receiver: "leader" (a kind), "leader#7" (one
//          actor), either optionally prefixed by a node: "2:leader"
//   node   the node that traced the line, or the sender's or receiver's
//   type   the message type
//   other  a field of the line (zxid, session, xid, path, op, epoch...).
//          Integers compare by value whether written 0x-hex or decimal; a
//          field FOO with a companion FOO_last (a batch) matches any value
//          in [FOO, FOO_last].
class filter {
public:
  // Adds the terms of "k=v,k=v". Returns "" or what is wrong.
  std::string add(std::string_view spec);

  bool empty() const { return terms_.empty(); }
  bool matches(const tracer::record& r) const;

private:
  std::map<std::string, std::vector<std::string>> terms_;
};

// A --from / --to argument as wall-clock ns: "+1.5s" / "+250ms" / "+80us" /
// "+100ns" (after `origin_ns`, the first record), seconds since the epoch
// ("1700000000.25"), or an ISO 8601 UTC time ("2024-05-01T12:00:00.123Z";
// without a zone it is UTC as well). nullopt if unreadable.
std::optional<int64_t> parse_time(std::string_view s, int64_t origin_ns);

// Keeps the entries in [from_ns, to_ns] that `f` matches.
std::vector<entry> select(const std::vector<entry>& in, const filter& f,
                          std::optional<int64_t> from_ns,
                          std::optional<int64_t> to_ns);

// A Mermaid sequenceDiagram: one participant per actor (in order of first
// appearance), one arrow per message labelled "type(field=value, ...)".
std::string render_mermaid(const std::vector<entry>& entries);

// Chrome trace-event JSON (loads in Perfetto and chrome://tracing): one
// process per node, one track (thread) per actor, each message a short
// slice on the sender's and on the receiver's track joined by a flow arrow.
// Times are microseconds after the first entry; its wall-clock time is in
// otherData.
std::string render_perfetto(const std::vector<entry>& entries);

} // namespace zkd::tools::trace
