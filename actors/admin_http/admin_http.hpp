// The admin endpoint's pure core: HTTP/1.1 request parsing, routing, and the
// rendering of ZooKeeper AdminServer's JSON commands and of Prometheus
// metrics. No CAF, no sockets, no clock: the shell (admin_http_actor.cpp)
// feeds it bytes and a connection::server_stats snapshot (the one the
// four-letter words print) and writes what it returns.
//
// ZooKeeper 3.8's AdminServer (Jetty, admin.serverPort, default 8080) answers
// GET /commands/<name> with a JSON object: the command's own keys, then
// "command" (the primary name) and "error" (null, or a sentence). Names and
// aliases, keys and value types follow org.apache.zookeeper.server.admin.
// Commands as a running 3.8.0 answers them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/admin_http/histogram.hpp"
#include "actors/connection/four_letter.hpp"

namespace zkd::admin_http {

// ---- HTTP requests ----------------------------------------------------------

struct limits {
  // The request line and headers together, terminating blank line included.
  // Jetty's default request header size is 8 KiB too.
  size_t max_header_bytes = 8192;
};

struct request {
  std::string method;    // as sent, e.g. "GET"
  std::string target;    // as sent, e.g. "/commands/ruok?x=1"
  std::string path;      // percent-decoded, without the query
  std::string query;     // after '?', not decoded
  int minor_version = 1; // HTTP/1.<minor_version>
  // After this request's response: HTTP/1.1 keeps the connection unless the
  // client sent "Connection: close"; HTTP/1.0 closes unless it sent
  // "Connection: keep-alive".
  bool keep_alive = true;
};

enum class parse_status {
  incomplete, // no complete request head yet, still within the limits
  complete,   // `req` holds it; `consumed` bytes of the input were used
  error,      // answer error_status and close the connection
};

struct parse_result {
  parse_status status = parse_status::incomplete;
  size_t consumed = 0;
  request req;
  int error_status = 0;     // 400, 405, 431, 501 or 505
  std::string error_reason; // a short sentence for the response body
};

// Parses the request at the start of `in`. Accepts GET and HEAD without a
// body; anything else is an error (see error_status). Never reads past the
// first max_header_bytes bytes.
parse_result parse_request(std::string_view in, const limits& lim = {});

// Decodes %XX escapes. False on a malformed escape.
bool percent_decode(std::string_view in, std::string& out);

// ---- HTTP responses ---------------------------------------------------------

struct response {
  int status = 200;
  std::string content_type; // omitted when empty
  std::string body;
  // Extra header lines, e.g. {"Allow", "GET, HEAD"}.
  std::vector<std::pair<std::string, std::string>> headers;
};

// "OK", "Bad Request", ... for the codes this server sends.
std::string_view reason_phrase(int status);

// The bytes of `r`: status line, Date (`date`, see http_date), Server,
// Content-Type, Content-Length, Connection when `keep_alive` differs from
// the protocol's default for `minor_version` (always "close" when closing),
// then the body unless `head_only`.
std::string serialize(const response& r, std::string_view date, bool keep_alive,
                      int minor_version, bool head_only);

// RFC 7231's IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(int64_t epoch_ms);

// A small text/plain response for an error status.
response error_response(int status, std::string_view reason);

// ---- commands ---------------------------------------------------------------

enum class command_id {
  configuration,
  connection_stat_reset,
  connections,
  dirs,
  dump,
  environment,
  get_trace_mask,
  hash,
  is_read_only,
  monitor,
  ruok,
  server_stats,
  stat_reset,
  stats,
  watch_summary,
  watches,
  watches_by_path,
};

struct command_info {
  command_id id;
  std::string_view primary;              // what "command" shows
  std::vector<std::string_view> aliases; // besides the primary name
  // The four-letter word whose data it shows: the shell gathers and resets
  // exactly as for that word (four_letter_gather, reset_*_stats).
  connection::four_letter_word word;
  // ZooKeeper answers "not currently serving" for these while it has no
  // running server; environment, get_trace_mask and monitor answer anyway.
  bool server_required = true;
};

// Every command, sorted by primary name.
const std::vector<command_info>& commands();
// By primary name or alias (case-sensitive, as ZooKeeper).
const command_info* find_command(std::string_view name);

// ---- routing ----------------------------------------------------------------

enum class route_kind {
  command_list,    // GET /commands, /commands/
  command,         // GET /commands/<known name>
  unknown_command, // GET /commands/<anything else>
  metrics,         // GET /metrics
  not_found,
};

struct route {
  route_kind kind = route_kind::not_found;
  const command_info* cmd = nullptr; // for route_kind::command
  std::string name;                  // the name as requested
};

route route_request(const request& r);

// ---- rendering --------------------------------------------------------------

// The JSON answer of `cmd` from a snapshot (the shell has gathered what the
// command's word needs). When the snapshot is not serving and the command
// needs a server: ZooKeeper's error answer, naming the command as
// `requested` (ZooKeeper echoes the alias there).
std::string command_json(const command_info& cmd, std::string_view requested,
                         const connection::server_stats& s);

// ZooKeeper's answer for a name it does not know ("Unknown command: x").
std::string unknown_command_json(std::string_view name);

// A command that failed (e.g. an actor did not answer): `error` set.
std::string error_json(std::string_view name, std::string_view error);

// The links page ZooKeeper serves at /commands.
std::string command_list_html();

// What /metrics renders besides the snapshot.
struct op_metrics {
  std::string op; // "getData", ...
  metrics::histogram_snapshot latency;
  uint64_t errors = 0;
};

struct metrics_input {
  connection::server_stats stats; // four_letter_snapshot
  std::vector<op_metrics> ops;    // ops with no request yet may be left out
  metrics::histogram_snapshot fsync;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
};

// Prometheus text exposition format 0.0.4.
extern const std::string_view prometheus_content_type;
std::string prometheus_text(const metrics_input& in);

// ---- JSON -------------------------------------------------------------------

// Writes JSON laid out as ZooKeeper's (Jackson's default pretty printer):
// two-space indents per object level, `"key" : value`, arrays inline.
class json_writer {
public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view k);
  json_writer& value(std::string_view v);
  json_writer& value(const char* v) { return value(std::string_view{v}); }
  json_writer& value(const std::string& v) {
    return value(std::string_view{v});
  }
  json_writer& value(int64_t v);
  json_writer& value(int32_t v) { return value(static_cast<int64_t>(v)); }
  json_writer& value(uint64_t v);
  json_writer& value(double v);
  json_writer& value(bool v);
  json_writer& null();

  std::string take() { return std::move(out_); }

private:
  void before_value();
  void newline_indent();

  struct level {
    bool object;
    bool empty = true;
  };
  std::string out_;
  std::vector<level> stack_;
  bool after_key_ = false;
  int objects_ = 0; // open objects: the indent depth
};

// A JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD.
std::string json_string(std::string_view s);

} // namespace zkd::admin_http
