// Reading trace lines back: a small JSON parser and the record a line
// holds. Used by `zkd trace render` and by tests that check what was traced.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zkd::tracer {

// A parsed JSON value. Numbers keep their text, so 64-bit integers survive.
struct json {
  enum class type { null, boolean, number, string, array, object };
  type t = type::null;
  bool b = false;
  std::string text; // number as written, or the decoded string
  std::vector<json> items;
  std::vector<std::pair<std::string, json>> members; // in document order

  // The member named `key`, or nullptr (also for non-objects).
  const json* find(std::string_view key) const;
};

// Parses one JSON document (surrounding white space allowed). On failure
// returns nullopt and, if `why` is given, says where and what.
std::optional<json> parse_json(std::string_view text,
                               std::string* why = nullptr);

// Writes `v` back as compact JSON.
void append_json(std::string& out, const json& v);

// An integer in decimal or 0x-hex (optionally negative), as used in traces
// and on `zkd trace` command lines.
std::optional<int64_t> parse_integer(std::string_view s);

// One trace line.
struct record {
  int64_t mono_ns = 0;
  int64_t wall_ns = 0;
  uint64_t node = 0;
  std::string from; // "kind#id"
  std::string to;
  uint64_t from_node = 0; // 0: the record's node
  uint64_t to_node = 0;   // 0: the record's node
  std::string type;
  // Field name -> value, in line order. Strings are decoded; numbers,
  // booleans and anything nested keep their JSON text.
  std::vector<std::pair<std::string, json>> fields;

  uint64_t sender_node() const { return from_node != 0 ? from_node : node; }
  uint64_t receiver_node() const { return to_node != 0 ? to_node : node; }

  // The field's value as text (strings decoded, numbers as written), or
  // nullopt when absent.
  std::optional<std::string> field_text(std::string_view name) const;
};

// Parses a trace line. A line that is not a JSON object with the required
// members (mono_ns, wall_ns, node, from, to, type) is rejected with a reason.
std::optional<record> parse_record(std::string_view line,
                                   std::string* why = nullptr);

// "kind" of "kind#id" (the whole string when it has no '#').
std::string_view actor_kind(std::string_view actor);

} // namespace zkd::tracer
