// The admin endpoint's core: the HTTP/1.1 request parser (complete,
// incomplete, oversized and malformed input), routing, responses, and the
// JSON and Prometheus renderers. Expected JSON texts are ZooKeeper 3.8.0's
// AdminServer answers captured from a running server, with our inputs set
// to the values it reported.
#include "actors/admin_http/admin_http.hpp"
#include "actors/admin_http/histogram.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>

using namespace zkd::admin_http;
namespace conn = zkd::connection;
namespace metrics = zkd::metrics;

namespace {

const std::string zk_version =
    "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC";

parse_result parse(std::string_view text, limits lim = {}) {
  return parse_request(text, lim);
}

void require_error(std::string_view text, int status) {
  auto r = parse(text);
  INFO(text);
  REQUIRE(r.status == parse_status::error);
  CHECK(r.error_status == status);
  CHECK_FALSE(r.error_reason.empty());
}

conn::server_stats standalone() {
  conn::server_stats s;
  s.version = zk_version;
  s.server_state = "standalone";
  s.latency.count = 14;
  s.latency.total_ms = 27;
  s.latency.min_ms = 0;
  s.latency.max_ms = 12;
  s.packets_received = 14;
  s.packets_sent = 14;
  s.num_alive_connections = 1;
  s.last_processed_zxid = 3;
  s.node_count = 7;
  s.uptime_ms = 11147;
  s.last_client_response_size = 88;
  s.min_client_response_size = 16;
  s.max_client_response_size = 88;
  s.conf.client_port = 35179;
  s.conf.data_dir = "/tmp/zkadm/data/version-2";
  s.conf.data_log_dir = "/tmp/zkadm/data/version-2";
  s.conf.data_dir_size = 67109337;
  s.conf.data_log_size = 67109337;
  s.conf.tick_time = 200;
  s.conf.max_client_cnxns = 0;
  s.conf.min_session_timeout = 400;
  s.conf.max_session_timeout = 4000;
  s.conf.server_id = 0;
  s.conf.client_port_listen_backlog = -1;
  conn::connection_stats c;
  c.remote_address = "/127.0.0.1:37542";
  c.packets_received = 14;
  c.packets_sent = 14;
  c.session_id = 72058298063060992;
  c.last_operation = "GETD";
  c.established_ms = 1795315143781;
  c.session_timeout_ms = 4000;
  c.last_cxid = 13;
  c.last_zxid = 3;
  c.last_response_ms = 10753168;
  c.last_latency_ms = 0;
  c.latency.count = 14;
  c.latency.total_ms = 27;
  c.latency.min_ms = 0;
  c.latency.max_ms = 12;
  s.connections.push_back(c);
  return s;
}

const command_info& cmd(std::string_view name) {
  auto c = find_command(name);
  REQUIRE(c != nullptr);
  return *c;
}

} // namespace

// ---- parser -----------------------------------------------------------------

TEST_CASE("a plain GET parses") {
  std::string text = "GET /commands/ruok HTTP/1.1\r\nHost: x\r\n\r\n";
  auto r = parse(text);
  REQUIRE(r.status == parse_status::complete);
  CHECK(r.consumed == text.size());
  CHECK(r.req.method == "GET");
  CHECK(r.req.target == "/commands/ruok");
  CHECK(r.req.path == "/commands/ruok");
  CHECK(r.req.query.empty());
  CHECK(r.req.minor_version == 1);
  CHECK(r.req.keep_alive);
}

TEST_CASE("keep-alive follows the version and the Connection header") {
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                  .req.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nHost: x\r\nconnection: Upgrade, "
                    "CLOSE\r\n\r\n")
                  .req.keep_alive);
  // HTTP/1.0 needs no Host and closes unless asked not to.
  auto old = parse("GET / HTTP/1.0\r\n\r\n");
  REQUIRE(old.status == parse_status::complete);
  CHECK(old.req.minor_version == 0);
  CHECK_FALSE(old.req.keep_alive);
  CHECK(
      parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").req.keep_alive);
}

TEST_CASE("queries, percent escapes, absolute targets, bare LF") {
  auto r = parse("GET /commands/%72uok?a=%41&b HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(r.status == parse_status::complete);
  CHECK(r.req.path == "/commands/ruok");
  CHECK(r.req.query == "a=%41&b");
  auto abs = parse("GET http://127.0.0.1:8080/metrics HTTP/1.1\r\nHost: "
                   "127.0.0.1\r\n\r\n");
  REQUIRE(abs.status == parse_status::complete);
  CHECK(abs.req.path == "/metrics");
  auto lf = parse("GET /metrics HTTP/1.1\nHost: x\n\n");
  REQUIRE(lf.status == parse_status::complete);
  CHECK(lf.req.path == "/metrics");
  // Empty lines before a request are skipped (RFC 7230 3.5).
  auto lead = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(lead.status == parse_status::complete);
  CHECK(
      parse("HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").status ==
      parse_status::complete);
  std::string out;
  CHECK(percent_decode("a%2Fb%20c", out));
  CHECK(out == "a/b c");
  CHECK_FALSE(percent_decode("%4", out));
  CHECK_FALSE(percent_decode("%zz", out));
}

TEST_CASE("every proper prefix of a request is incomplete") {
  std::string text = "GET /commands/stat?x=1 HTTP/1.1\r\nHost: "
                     "localhost:8080\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n";
  for (size_t n = 0; n < text.size(); ++n) {
    auto r = parse(std::string_view{text}.substr(0, n));
    INFO(n);
    CHECK(r.status == parse_status::incomplete);
  }
  CHECK(parse(text).status == parse_status::complete);
}

TEST_CASE("pipelined requests parse one at a time") {
  std::string a = "GET /commands/ruok HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string b =
      "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string both = a + b + "GET /part";
  auto r1 = parse(both);
  REQUIRE(r1.status == parse_status::complete);
  CHECK(r1.consumed == a.size());
  auto rest = std::string_view{both}.substr(r1.consumed);
  auto r2 = parse(rest);
  REQUIRE(r2.status == parse_status::complete);
  CHECK(r2.req.path == "/metrics");
  CHECK_FALSE(r2.req.keep_alive);
  CHECK(parse(rest.substr(r2.consumed)).status == parse_status::incomplete);
}

TEST_CASE("oversized heads are refused with 431") {
  limits lim;
  std::string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                     std::string(lim.max_header_bytes, 'a');
  auto r = parse(head);
  REQUIRE(r.status == parse_status::error);
  CHECK(r.error_status == 431);
  // Complete, but longer than the limit.
  auto full = parse(head + "\r\n\r\n");
  REQUIRE(full.status == parse_status::error);
  CHECK(full.error_status == 431);
  // A long request line.
  auto line = parse("GET /" + std::string(lim.max_header_bytes, 'a'));
  CHECK(line.error_status == 431);
  // Within a small limit: the same request is fine with a larger one.
  std::string ok = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK(parse(ok, limits{ok.size()}).status == parse_status::complete);
  CHECK(parse(ok, limits{ok.size() - 1}).error_status == 431);
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 101; ++i)
    many += "A: b\r\n";
  CHECK(parse(many + "\r\n").error_status == 431);
}

TEST_CASE("malformed requests are refused") {
  require_error("GARBAGE\r\n\r\n", 400);
  require_error("GET commands HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  require_error("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  require_error("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400);
  require_error("GET / HTTP/1.1\r\n\r\n", 400); // no Host
  require_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
  require_error("GET / HTTP/1.1x\r\nHost: x\r\n\r\n", 400);
  require_error("GET / FTP/1.1\r\nHost: x\r\n\r\n", 400);
  require_error("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
  require_error("GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505);
  require_error("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  require_error("GET / HTTP/1.1\r\nHost x\r\n\r\n", 400);   // no colon
  require_error("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400); // space
  require_error("GET / HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n", 400);
  require_error("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400);
  require_error("GET / HTTP/1.1\r\nHost: x\x01y\r\n\r\n", 400);
  require_error("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  require_error("GET /a%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  require_error("GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  require_error("GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  require_error("GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  require_error("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  require_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
                400);
  require_error("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400);
  require_error(
      "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
  require_error("\r\rGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  // Methods other than GET and HEAD.
  require_error("POST /commands/ruok HTTP/1.1\r\nHost: x\r\n\r\n", 405);
  require_error("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 405);
}

TEST_CASE("input that cannot be HTTP is refused before its line ends") {
  // A ZooKeeper client or a 4lw sent to the admin port.
  std::string connect("\0\0\0\x2c\0\0\0\0", 8);
  require_error(connect, 400);
  require_error("GET /\x01", 400);
  require_error("{json", 400);
  // Still possible: wait.
  CHECK(parse("GE").status == parse_status::incomplete);
  CHECK(parse("GET /commands/ru").status == parse_status::incomplete);
  CHECK(parse("GET / HTTP/1.1\r").status == parse_status::incomplete);
  CHECK(parse("\r").status == parse_status::incomplete);
}

TEST_CASE("random input never crashes the parser") {
  std::mt19937 rng{12345};
  const std::string seeds[] = {
      "GET /commands/ruok HTTP/1.1\r\nHost: x\r\n\r\n",
      "HEAD /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  };
  for (int round = 0; round < 20000; ++round) {
    std::string text = seeds[round % 2];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      auto pos = rng() % (text.size() + 1);
      switch (rng() % 3) {
      case 0:
        if (pos < text.size())
          text[pos] = static_cast<char>(rng() & 0xff);
        break;
      case 1:
        text.insert(pos, 1, static_cast<char>(rng() & 0xff));
        break;
      default:
        if (pos < text.size())
          text.erase(pos, 1);
      }
    }
    auto r = parse(text, limits{64});
    if (r.status == parse_status::complete) {
      CHECK(r.consumed <= text.size());
      CHECK(r.consumed <= 64);
    } else if (r.status == parse_status::error) {
      CHECK(r.error_status >= 400);
    }
  }
}

// ---- responses and routing --------------------------------------------------

TEST_CASE("responses carry length, date and the connection's fate") {
  response r;
  r.content_type = "application/json";
  r.body = "{}";
  auto date = http_date(784111777000);
  CHECK(date == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(serialize(r, date, true, 1, false) ==
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        "Server: zkd\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\n\r\n{}");
  CHECK(serialize(r, date, false, 1, false).find("Connection: close\r\n") !=
        std::string::npos);
  CHECK(serialize(r, date, true, 0, false).find("Connection: keep-alive\r\n") !=
        std::string::npos);
  // HEAD: the same head, no body.
  auto head = serialize(r, date, true, 1, true);
  CHECK(head.find("Content-Length: 2\r\n") != std::string::npos);
  CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
  auto e = error_response(405, "only GET and HEAD are served");
  CHECK(e.status == 405);
  auto text = serialize(e, date, false, 1, false);
  CHECK(text.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
  CHECK(text.find("Allow: GET, HEAD\r\n") != std::string::npos);
  CHECK(reason_phrase(431) == "Request Header Fields Too Large");
}

TEST_CASE("routes") {
  auto route_of = [](std::string path) {
    request rq;
    rq.path = std::move(path);
    return route_request(rq);
  };
  CHECK(route_of("/commands").kind == route_kind::command_list);
  CHECK(route_of("/commands/").kind == route_kind::command_list);
  CHECK(route_of("/metrics").kind == route_kind::metrics);
  CHECK(route_of("/").kind == route_kind::not_found);
  CHECK(route_of("/metrics/").kind == route_kind::not_found);
  CHECK(route_of("/commandsx").kind == route_kind::not_found);
  auto srvr = route_of("/commands/srvr");
  REQUIRE(srvr.kind == route_kind::command);
  CHECK(srvr.cmd->primary == "server_stats");
  CHECK(srvr.name == "srvr");
  CHECK(route_of("/commands/stat").cmd->primary == "stats");
  CHECK(route_of("/commands/config").cmd->primary == "configuration");
  CHECK(route_of("/commands/mntr").cmd->primary == "monitor");
  // Jetty's path info: a trailing slash or a sub-path is another name.
  CHECK(route_of("/commands/srvr/").kind == route_kind::unknown_command);
  CHECK(route_of("/commands/ruok/x").name == "ruok/x");
  CHECK(route_of("/commands/RUOK").kind == route_kind::unknown_command);
}

TEST_CASE("the command table has ZooKeeper's names and aliases") {
  std::map<std::string, std::string> alias_of = {
      {"ruok", "ruok"},
      {"srvr", "server_stats"},
      {"server_stats", "server_stats"},
      {"stat", "stats"},
      {"conf", "configuration"},
      {"cons", "connections"},
      {"mntr", "monitor"},
      {"wchs", "watch_summary"},
      {"dump", "dump"},
      {"wchc", "watches"},
      {"wchp", "watches_by_path"},
      {"envi", "environment"},
      {"env", "environment"},
      {"isro", "is_read_only"},
      {"gtmk", "get_trace_mask"},
      {"crst", "connection_stat_reset"},
      {"srst", "stat_reset"},
      {"dirs", "dirs"},
      {"hash", "hash"}};
  for (auto& [alias, primary] : alias_of) {
    INFO(alias);
    auto c = find_command(alias);
    REQUIRE(c != nullptr);
    CHECK(c->primary == primary);
  }
  CHECK(find_command("nosuch") == nullptr);
  std::string previous;
  for (auto& c : commands()) {
    CHECK(std::string{c.primary} > previous);
    previous = std::string{c.primary};
  }
  auto html = command_list_html();
  CHECK(html.find("<a href=\"/commands/configuration\">configuration</a>\n"
                  "<br/>\n") == 0);
}

// ---- JSON -------------------------------------------------------------------

TEST_CASE("JSON strings are escaped, invalid UTF-8 replaced") {
  CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json_string("\n\t\r\b\f") == "\"\\n\\t\\r\\b\\f\"");
  CHECK(json_string(std::string("\x01\0", 2)) == "\"\\u0001\\u0000\"");
  CHECK(json_string("/caf\xc3\xa9/\xe2\x82\xac") ==
        "\"/caf\xc3\xa9/\xe2\x82\xac\"");
  CHECK(json_string("x\xff") == "\"x\\ufffd\"");
  CHECK(json_string("\xc3") == "\"\\ufffd\"");
  CHECK(json_string("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");
}

TEST_CASE("the JSON layout is Jackson's default pretty printer") {
  json_writer w;
  w.begin_object();
  w.key("a").value(int64_t{1});
  w.key("list").begin_array().value(int64_t{2}).value(int64_t{3}).end_array();
  w.key("empty").begin_array().end_array();
  w.key("obj").begin_object().end_object();
  w.key("objs").begin_array();
  w.begin_object().key("x").value(true).end_object();
  w.begin_object().key("y").value(0.5).end_object();
  w.end_array();
  w.key("n").null();
  w.end_object();
  CHECK(w.take() == "{\n"
                    "  \"a\" : 1,\n"
                    "  \"list\" : [ 2, 3 ],\n"
                    "  \"empty\" : [ ],\n"
                    "  \"obj\" : { },\n"
                    "  \"objs\" : [ {\n"
                    "    \"x\" : true\n"
                    "  }, {\n"
                    "    \"y\" : 0.5\n"
                    "  } ],\n"
                    "  \"n\" : null\n"
                    "}");
}

TEST_CASE("ruok, unknown commands and errors as ZooKeeper writes them") {
  auto s = standalone();
  CHECK(command_json(cmd("ruok"), "ruok", s) ==
        "{\n  \"command\" : \"ruok\",\n  \"error\" : null\n}");
  CHECK(unknown_command_json("nosuch") ==
        "{\n  \"command\" : \"nosuch\",\n  \"error\" : \"Unknown command: "
        "nosuch\"\n}");
  s.serving = false;
  CHECK(command_json(cmd("srvr"), "srvr", s) ==
        "{\n  \"command\" : \"srvr\",\n  \"error\" : \"This ZooKeeper "
        "instance is not currently serving requests\"\n}");
  // Commands that need no running server still answer.
  CHECK(command_json(cmd("gtmk"), "gtmk", s) ==
        "{\n  \"tracemask\" : 306,\n  \"command\" : \"get_trace_mask\",\n"
        "  \"error\" : null\n}");
}

TEST_CASE("configuration as captured") {
  CHECK(command_json(cmd("conf"), "conf", standalone()) ==
        R"({
  "client_port" : 35179,
  "data_dir" : "/tmp/zkadm/data/version-2",
  "data_log_dir" : "/tmp/zkadm/data/version-2",
  "tick_time" : 200,
  "max_client_cnxns" : 0,
  "min_session_timeout" : 400,
  "max_session_timeout" : 4000,
  "server_id" : 0,
  "client_port_listen_backlog" : -1,
  "command" : "configuration",
  "error" : null
})");
}

TEST_CASE("server_stats and stats as captured") {
  auto s = standalone();
  const std::string stats_part = R"({
  "version" : "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC",
  "read_only" : false,
  "server_stats" : {
    "packets_sent" : 14,
    "packets_received" : 14,
    "fsync_threshold_exceed_count" : 0,
    "client_response_stats" : {
      "last_buffer_size" : 88,
      "min_buffer_size" : 16,
      "max_buffer_size" : 88
    },
    "data_dir_size" : 67109337,
    "log_dir_size" : 67109337,
    "provider_null" : false,
    "server_state" : "standalone",
    "last_processed_zxid" : 3,
    "outstanding_requests" : 0,
    "avg_latency" : 1.9286,
    "max_latency" : 12,
    "min_latency" : 0,
    "num_alive_client_connections" : 1,
    "uptime" : 11147,
    "auth_failed_count" : 0,
    "non_mtlsremote_conn_count" : 0,
    "non_mtlslocal_conn_count" : 0
  },
  "client_response" : {
    "last_buffer_size" : 88,
    "min_buffer_size" : 16,
    "max_buffer_size" : 88
  },
  "node_count" : 7,
)";
  CHECK(command_json(cmd("srvr"), "srvr", s) ==
        stats_part + "  \"command\" : \"server_stats\",\n"
                     "  \"error\" : null\n}");
  CHECK(command_json(cmd("stat"), "stat", s) ==
        stats_part + R"(  "connections" : [ {
    "remote_socket_address" : "127.0.0.1:37542",
    "interest_ops" : 1,
    "outstanding_requests" : 0,
    "packets_received" : 14,
    "packets_sent" : 14
  } ],
  "secure_connections" : [ ],
  "command" : "stats",
  "error" : null
})");
  // A leader adds its proposal sizes.
  s.server_state = "leader";
  s.leader = conn::leader_stats{};
  s.leader->last_proposal_size = 10;
  auto leader = command_json(cmd("srvr"), "srvr", s);
  CHECK(leader.find("\"proposal_stats\" : {\n    \"last_buffer_size\" : 10,") !=
        std::string::npos);
}

TEST_CASE("connections as captured") {
  CHECK(command_json(cmd("cons"), "cons", standalone()) == R"({
  "connections" : [ {
    "remote_socket_address" : "127.0.0.1:37542",
    "interest_ops" : 1,
    "outstanding_requests" : 0,
    "packets_received" : 14,
    "packets_sent" : 14,
    "session_id" : 72058298063060992,
    "last_operation" : "GETD",
    "established" : 1795315143781,
    "session_timeout" : 4000,
    "last_cxid" : 13,
    "last_zxid" : 3,
    "last_response_time" : 10753168,
    "last_latency" : 0,
    "min_latency" : 0,
    "avg_latency" : 1,
    "max_latency" : 12
  } ],
  "secure_connections" : [ ],
  "command" : "connections",
  "error" : null
})");
}

TEST_CASE("dump, watches, watch_summary as captured") {
  auto s = standalone();
  s.session_buckets = {{10757200, {72058298063060992}}};
  s.ephemerals = {{72058298063060992, {"/app/e1"}}};
  CHECK(command_json(cmd("dump"), "dump", s) == R"({
  "expiry_time_to_session_ids" : {
    "10757200" : [ 72058298063060992 ]
  },
  "session_id_to_ephemeral_paths" : {
    "72058298063060992" : [ "/app/e1" ]
  },
  "command" : "dump",
  "error" : null
})");
  s.watching_connections = 1;
  s.watched_paths = 2;
  s.total_watches = 2;
  CHECK(command_json(cmd("wchs"), "wchs", s) == R"({
  "num_connections" : 1,
  "num_paths" : 2,
  "num_total_watches" : 2,
  "command" : "watch_summary",
  "error" : null
})");
  s.watches_by_session_list = {{72058298063060993, {"/app/e1", "/app"}}};
  CHECK(command_json(cmd("wchc"), "wchc", s) == R"({
  "session_id_to_watched_paths" : {
    "72058298063060993" : [ "/app/e1", "/app" ]
  },
  "command" : "watches",
  "error" : null
})");
  s.watches_by_path_list = {{"/app/e1", {72058298063060993}},
                            {"/app", {72058298063060993}}};
  CHECK(command_json(cmd("wchp"), "wchp", s) == R"({
  "path_to_session_ids" : {
    "/app/e1" : [ 72058298063060993 ],
    "/app" : [ 72058298063060993 ]
  },
  "command" : "watches_by_path",
  "error" : null
})");
  CHECK(command_json(cmd("dump"), "dump", conn::server_stats{}) == R"({
  "expiry_time_to_session_ids" : { },
  "session_id_to_ephemeral_paths" : { },
  "command" : "dump",
  "error" : null
})");
}

TEST_CASE("the small commands") {
  auto s = standalone();
  CHECK(command_json(cmd("dirs"), "dirs", s) == R"({
  "datadir_size" : 67109337,
  "logdir_size" : 67109337,
  "command" : "dirs",
  "error" : null
})");
  CHECK(command_json(cmd("isro"), "isro", s) == R"({
  "read_only" : false,
  "command" : "is_read_only",
  "error" : null
})");
  CHECK(command_json(cmd("hash"), "hash", s) == R"({
  "digests" : [ ],
  "command" : "hash",
  "error" : null
})");
  s.digests = {{5, -42}};
  CHECK(command_json(cmd("hash"), "hash", s)
            .find("\"digests\" : [ {\n    \"zxid\" : 5,\n    \"digest\" : "
                  "-42\n  } ]") != std::string::npos);
  CHECK(command_json(cmd("crst"), "crst", s) ==
        "{\n  \"command\" : \"connection_stat_reset\",\n  \"error\" : null\n}");
  CHECK(command_json(cmd("srst"), "srst", s) ==
        "{\n  \"command\" : \"stat_reset\",\n  \"error\" : null\n}");
  s.environment = {{"zookeeper.version", zk_version}, {"os.name", "Linux"}};
  CHECK(command_json(cmd("envi"), "envi", s) ==
        "{\n  \"zookeeper.version\" : \"" + zk_version +
            "\",\n  \"os.name\" : \"Linux\",\n  \"command\" : "
            "\"environment\",\n  \"error\" : null\n}");
}

TEST_CASE("monitor types its values as ZooKeeper's JSON does") {
  auto s = standalone();
  conn::latency_stats fsync;
  fsync.count = 3;
  fsync.total_ms = 2;
  fsync.min_ms = 0;
  fsync.max_ms = 2;
  s.counters.push_back(
      conn::monitor_value::of_integer("bytes_received_count", 396));
  conn::add_summary(s.counters, "fsynctime", fsync);
  s.extra_metrics = {
      {"proposal_count", "0"}, {"ratio", "0.25"}, {"label", "abc"}};
  auto j = command_json(cmd("mntr"), "mntr", s);
  CHECK(j.rfind("{\n  \"version\" : \"" + zk_version +
                    "\",\n  \"server_state\" : \"standalone\",\n",
                0) == 0);
  for (auto part :
       {"\"avg_latency\" : 1.9286,", "\"znode_count\" : 7,",
        "\"connection_drop_probability\" : 0.0,",
        "\"bytes_received_count\" : 396,", "\"avg_fsynctime\" : 0.6667,",
        "\"min_fsynctime\" : 0,", "\"max_fsynctime\" : 2,",
        "\"cnt_fsynctime\" : 3,", "\"sum_fsynctime\" : 2,",
        "\"proposal_count\" : 0,", "\"ratio\" : 0.25,", "\"label\" : \"abc\",",
        "\"command\" : \"monitor\","}) {
    INFO(part);
    CHECK(j.find(part) != std::string::npos);
  }
  // mntr prints the same entries.
  auto text = conn::flw::mntr(s);
  CHECK(text.find("zk_avg_fsynctime\t0.6667\n") != std::string::npos);
  CHECK(text.find("zk_bytes_received_count\t396\n") != std::string::npos);
  CHECK(text.find("zk_ratio\t0.25\nzk_label\tabc\n") != std::string::npos);
}

// ---- histograms and Prometheus ----------------------------------------------

TEST_CASE("histogram buckets, snapshots and op slots") {
  CHECK(metrics::bucket_of(0) == 0);
  CHECK(metrics::bucket_of(50) == 0);
  CHECK(metrics::bucket_of(51) == 1);
  CHECK(metrics::bucket_of(1000) == 4);
  CHECK(metrics::bucket_of(10000000) == metrics::latency_bound_count - 1);
  CHECK(metrics::bucket_of(10000001) == metrics::latency_bound_count);
  metrics::latency_histogram h;
  CHECK(h.snapshot().count == 0);
  CHECK(h.snapshot().min_us == 0);
  for (int64_t us : {40, 700, 700, 20000000, -5})
    h.record(us);
  auto s = h.snapshot();
  CHECK(s.count == 5);
  CHECK(s.sum_us == 40 + 700 + 700 + 20000000);
  CHECK(s.min_us == 0);
  CHECK(s.max_us == 20000000);
  CHECK(s.buckets[0] == 2);
  CHECK(s.buckets[4] == 2);
  CHECK(s.buckets[metrics::latency_bound_count] == 1);
  metrics::histogram_snapshot m;
  m.merge(s);
  m.merge(s);
  CHECK(m.count == 10);
  CHECK(m.max_us == 20000000);
  CHECK(metrics::slot_name(metrics::op_slot(zkd::wire::op::get_data)) ==
        "getData");
  CHECK(metrics::slot_name(metrics::op_slot(zkd::wire::op::remove)) ==
        "delete");
  CHECK(metrics::op_slot(12345) == metrics::unknown_op_slot);
  CHECK(metrics::slot_name(metrics::unknown_op_slot) == "unknown");
  metrics::request_metrics rm;
  rm.record(zkd::wire::op::create, 100, true);
  rm.record(zkd::wire::op::create, 100, false);
  CHECK(rm.latency[metrics::op_slot(zkd::wire::op::create)].snapshot().count ==
        2);
  CHECK(rm.errors[metrics::op_slot(zkd::wire::op::create)].get() == 1);
}

TEST_CASE("Prometheus text exposition") {
  metrics_input in;
  in.stats = standalone();
  in.stats.counters.push_back(
      conn::monitor_value::of_integer("bytes_received_count", 396));
  metrics::latency_histogram get, fsync;
  for (int64_t us : {30, 80, 80, 1500, 3000000})
    get.record(us);
  fsync.record(1234);
  in.ops.push_back({"getData", get.snapshot(), 2});
  in.ops.push_back({"create", metrics::histogram_snapshot{}, 0});
  in.fsync = fsync.snapshot();
  in.bytes_received = 1000;
  in.bytes_sent = 2000;
  auto text = prometheus_text(in);

  // Every line is a comment or a sample; families are declared once, before
  // their samples, and not interleaved.
  std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$)");
  std::regex type_line(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|histogram|summary|untyped)$)");
  std::map<std::string, std::string> types;
  std::string current;
  std::istringstream lines(text);
  std::string line;
  std::map<std::string, double> values;
  while (std::getline(lines, line)) {
    INFO(line);
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0)
      continue;
    if (std::regex_match(line, m, type_line)) {
      CHECK(types.count(m[1]) == 0);
      types[m[1]] = m[2];
      current = m[1];
      continue;
    }
    REQUIRE(std::regex_match(line, m, sample));
    std::string name = m[1];
    auto base = current;
    bool belongs = name == base || name == base + "_bucket" ||
                   name == base + "_sum" || name == base + "_count";
    CHECK(belongs);
    auto key = line.substr(0, line.rfind(' '));
    values[key] = std::stod(line.substr(line.rfind(' ') + 1));
  }
  CHECK(types["zkd_request_latency_ms"] == "histogram");
  CHECK(types["zkd_requests_total"] == "counter");
  CHECK(types["znode_count"] == "gauge");
  CHECK(values["znode_count"] == 7);
  CHECK(values["watch_count"] == 0);
  CHECK(values["avg_latency"] == 1.9286);
  CHECK(values["bytes_received_count"] == 396);
  CHECK(values["zkd_requests_total{op=\"getData\"}"] == 5);
  CHECK(values["zkd_requests_total{op=\"create\"}"] == 0);
  CHECK(values["zkd_request_errors_total{op=\"getData\"}"] == 2);
  CHECK(values["zkd_request_latency_ms_bucket{op=\"getData\",le=\"0.05\"}"] ==
        1);
  CHECK(values["zkd_request_latency_ms_bucket{op=\"getData\",le=\"0.1\"}"] ==
        3);
  CHECK(values["zkd_request_latency_ms_bucket{op=\"getData\",le=\"2.5\"}"] ==
        4);
  CHECK(values["zkd_request_latency_ms_bucket{op=\"getData\",le=\"+Inf\"}"] ==
        5);
  CHECK(values["zkd_request_latency_ms_count{op=\"getData\"}"] == 5);
  CHECK(values["zkd_request_latency_ms_sum{op=\"getData\"}"] ==
        Approx(3001.69));
  CHECK(values["zkd_fsync_time_ms_bucket{le=\"2.5\"}"] == 1);
  CHECK(values["zkd_fsync_time_ms_bucket{le=\"1\"}"] == 0);
  CHECK(values["zkd_fsync_time_ms_sum"] == Approx(1.234));
  CHECK(values["zkd_bytes_received_total"] == 1000);
  CHECK(values["zkd_bytes_sent_total"] == 2000);
  CHECK(values["zkd_serving"] == 1);
  CHECK(text.find("zkd_info{version=\"3.8.0-${mvngit.commit.id}, built on "
                  "2024-12-29 17:54 UTC\",server_state=\"standalone\"} 1\n") !=
        std::string::npos);
  CHECK(text.back() == '\n');
}

TEST_CASE("Prometheus text while the node looks for a leader") {
  // Between rounds mntr has no values; the scrape still names the version
  // and the state, and says it does not serve.
  metrics_input in;
  in.stats = standalone();
  in.stats.serving = false;
  in.stats.server_state = "looking";
  auto text = prometheus_text(in);
  CHECK(text.find("zkd_info{version=\"3.8.0-${mvngit.commit.id}, built on "
                  "2024-12-29 17:54 UTC\",server_state=\"looking\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("\nzkd_serving 0\n") != std::string::npos);
  CHECK(text.find("\nznode_count ") == std::string::npos);
}

TEST_CASE("server_stats of a leader and a follower") {
  // Captured from a 3.8.0 ensemble: a leader adds proposal_stats after
  // client_response; a follower has none.
  auto s = standalone();
  s.server_state = "leader";
  conn::leader_stats ld;
  ld.last_proposal_size = 36;
  ld.min_proposal_size = 36;
  ld.max_proposal_size = 75;
  s.leader = ld;
  const auto* cmd = find_command("srvr");
  REQUIRE(cmd != nullptr);
  auto json = command_json(*cmd, "srvr", s);
  CHECK(json.find("\"server_state\" : \"leader\"") != std::string::npos);
  CHECK(json.find("  \"proposal_stats\" : {\n"
                  "    \"last_buffer_size\" : 36,\n"
                  "    \"min_buffer_size\" : 36,\n"
                  "    \"max_buffer_size\" : 75\n"
                  "  },\n"
                  "  \"node_count\" : ") != std::string::npos);
  s.server_state = "follower";
  s.leader.reset();
  json = command_json(*cmd, "srvr", s);
  CHECK(json.find("\"server_state\" : \"follower\"") != std::string::npos);
  CHECK(json.find("proposal_stats") == std::string::npos);
  // Not serving: ZooKeeper's error, under the name asked for.
  s.serving = false;
  CHECK(command_json(*cmd, "srvr", s) ==
        "{\n  \"command\" : \"srvr\",\n  \"error\" : \"This ZooKeeper "
        "instance is not currently serving requests\"\n}");
}
