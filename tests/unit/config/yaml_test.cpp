// The YAML configuration: defaults, every class of error with its line, the
// example files, resolve and the to_yaml round trip.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "config/config.hpp"

using namespace zkd::config;

namespace {

std::string repo_file(const std::string& relative) {
  // This file is tests/unit/config/yaml_test.cpp.
  auto root =
      std::filesystem::path{__FILE__}.parent_path() / ".." / ".." / "..";
  return (root / relative).lexically_normal().string();
}

// Parses text that must be rejected and returns its first error.
error first_error(const std::string& text) {
  auto r = parse_yaml(text, "test.yaml");
  INFO(text);
  REQUIRE_FALSE(r.ok());
  REQUIRE_FALSE(r.value.has_value());
  return r.errors.front();
}

// The single error of text, which must be at `line` and mention `words`.
void check_error(const std::string& text, int line, const std::string& words) {
  auto r = parse_yaml(text, "test.yaml");
  INFO(text);
  REQUIRE(r.errors.size() == 1);
  auto& e = r.errors.front();
  INFO(e.to_string());
  CHECK(e.file == "test.yaml");
  CHECK(e.line == line);
  CHECK_THAT(e.message, Catch::Contains(words));
}

cluster ok(const std::string& text) {
  auto r = parse_yaml(text, "test.yaml");
  for (auto& e : r.errors)
    UNSCOPED_INFO(e.to_string());
  REQUIRE(r.ok());
  return *r.value;
}

const char* three = R"(servers:
  - id: 1
    host: 127.0.0.1
    quorum_port: 2888
    election_port: 3888
    client_port: 2181
    data_dir: d1
  - id: 2
    host: 127.0.0.1
    quorum_port: 2889
    election_port: 3889
    client_port: 2182
    data_dir: d2
  - id: 3
    host: 127.0.0.1
    quorum_port: 2890
    election_port: 3890
    client_port: 2183
    data_dir: d3
)";

} // namespace

TEST_CASE("an empty file is a standalone node with every default") {
  for (auto text : {"", "# only a comment\n", "\n\n", "---\n"}) {
    auto c = ok(text);
    CHECK(c == cluster{});
    CHECK(c.standalone());
    CHECK(c.tick_ms == 2000);
    CHECK(c.init_limit_ticks == 10);
    CHECK(c.sync_limit_ticks == 5);
    CHECK(c.min_session_timeout_ms == 4000);
    CHECK(c.max_session_timeout_ms == 40000);
    CHECK(c.max_client_connections == 60);
    CHECK(c.max_frame_bytes == 1048575);
    CHECK(c.four_letter_words == std::vector<std::string>{"srvr"});
    CHECK_FALSE(c.extended_types);
    CHECK(c.container_check_interval_ms == 60000);
    CHECK(c.fsync);
    CHECK(c.snapshot_count == 100000);
    CHECK(c.snapshot_tree_percent == 100);
    CHECK(c.data_dir == "./data");
    CHECK(c.data_log_dir.empty());
    CHECK(c.client.address == "127.0.0.1");
    CHECK(c.client.port == 2181);
    CHECK_FALSE(c.admin.enabled);
    CHECK(c.admin.port == 8080);
    CHECK(c.log.level == "info");
    CHECK(c.super_digest.empty());
  }
}

TEST_CASE("the standalone node resolves to id 1 on the client address") {
  auto c = ok("client: {address: 127.0.0.1, port: 3000}\ndata_dir: /tmp/x\n");
  auto n = resolve(c, std::nullopt);
  REQUIRE(n.ok());
  CHECK(n.value->id == 1);
  CHECK(n.value->self.client_port == 3000);
  CHECK(n.value->self.client_address == "127.0.0.1");
  CHECK(n.value->data_dir == "/tmp/x");
  CHECK(n.value->data_log_dir == "/tmp/x");
  CHECK(resolve(c, 1).ok());
  auto wrong = resolve(c, 2);
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.errors[0].message, Catch::Contains("standalone"));
}

TEST_CASE("session timeouts default to 2 and 20 ticks") {
  auto c = ok("tick_ms: 100\n");
  CHECK(c.min_session_timeout_ms == 200);
  CHECK(c.max_session_timeout_ms == 2000);
  c = ok("tick_ms: 100\nmax_session_timeout_ms: 500\n");
  CHECK(c.min_session_timeout_ms == 200);
  CHECK(c.max_session_timeout_ms == 500);
}

TEST_CASE("four-letter words: a list, a comma string, or *") {
  auto c = ok("four_letter_words: [ruok, stat]\n");
  CHECK(c.four_letter_words ==
        std::vector<std::string>{"ruok", "srvr", "stat"});
  CHECK(c.four_letter_word_enabled("srvr"));
  CHECK(c.four_letter_word_enabled("ruok"));
  CHECK_FALSE(c.four_letter_word_enabled("dump"));
  c = ok("four_letter_words: \"*\"\n");
  CHECK(c.four_letter_words == known_four_letter_words());
  c = ok("four_letter_words: ruok, mntr\n");
  CHECK(c.four_letter_words ==
        std::vector<std::string>{"mntr", "ruok", "srvr"});
  c = ok("four_letter_words: []\n");
  CHECK(c.four_letter_words == std::vector<std::string>{"srvr"});
}

TEST_CASE("every setting is read") {
  auto c = ok(R"(tick_ms: 500
init_limit_ticks: 7
sync_limit_ticks: 3
min_session_timeout_ms: 1000
max_session_timeout_ms: 9000
max_client_connections: 0
max_frame_bytes: 4096
extended_types: true
container_check_interval_ms: 250
fsync: false
snapshot_count: 10
data_dir: /var/lib/zkd
data_log_dir: /fast/zkd
client: {address: 0.0.0.0, port: 12181}
admin: {enabled: yes, address: 127.0.0.2, port: 18080}
log: {level: debug, file: zkd.log, levels: {connection: trace, leader: info}}
trace: {file: trace.log, actors: [election, leader]}
super_digest: "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
)");
  CHECK(c.tick_ms == 500);
  CHECK(c.init_limit_ticks == 7);
  CHECK(c.sync_limit_ticks == 3);
  CHECK(c.min_session_timeout_ms == 1000);
  CHECK(c.max_session_timeout_ms == 9000);
  CHECK(c.max_client_connections == 0);
  CHECK(c.max_frame_bytes == 4096);
  CHECK(c.extended_types);
  CHECK(c.container_check_interval_ms == 250);
  CHECK_FALSE(c.fsync);
  CHECK(c.snapshot_count == 10);
  CHECK(c.data_dir == "/var/lib/zkd");
  CHECK(c.data_log_dir == "/fast/zkd");
  CHECK(c.client.address == "0.0.0.0");
  CHECK(c.client.port == 12181);
  CHECK(c.admin.enabled);
  CHECK(c.admin.address == "127.0.0.2");
  CHECK(c.admin.port == 18080);
  CHECK(c.log.level == "debug");
  CHECK(c.log.file == "zkd.log");
  CHECK(c.log.levels == std::map<std::string, std::string>{
                            {"connection", "trace"}, {"leader", "info"}});
  CHECK(c.trace.file == "trace.log");
  CHECK(c.trace.actors == std::vector<std::string>{"election", "leader"});
  CHECK(c.super_digest == "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
}

TEST_CASE("servers take their defaults from client and admin") {
  auto c = ok(R"(client: {address: 10.0.0.9, port: 3181}
admin: {port: 9090}
servers:
  - id: 1
    host: a.example
  - id: 2
    host: b.example
    role: observer
  - id: 3
    host: c.example
  - id: 4
    host: d.example
)");
  REQUIRE(c.servers.size() == 4);
  auto& s = c.servers[1];
  CHECK(s.id == 2);
  CHECK(s.host == "b.example");
  CHECK(s.quorum_port == 2888);
  CHECK(s.election_port == 3888);
  CHECK(s.client_port == 3181);
  CHECK(s.client_address == "10.0.0.9");
  CHECK(s.admin_port == 9090);
  CHECK(s.r == role::observer);
  CHECK_FALSE(c.standalone());
  auto n = resolve(c, 2);
  REQUIRE(n.ok());
  CHECK(n.value->self.r == role::observer);
  CHECK(n.value->data_dir == "./data");
}

TEST_CASE("an even number of participants is a warning") {
  auto r = parse_yaml("servers:\n  - {id: 1, host: a}\n  - {id: 2, host: b}\n",
                      "test.yaml");
  REQUIRE(r.ok());
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].line == 1);
}

TEST_CASE("unknown keys are errors at their line, at every level") {
  check_error("tick_ms: 10\ntick_time: 5\n", 2, "unknown key 'tick_time'");
  check_error("tick_ms: 10\ntick_time: 5\n", 2, "did you mean 'tick_ms'");
  check_error("client:\n  address: 127.0.0.1\n  prot: 1\n", 3,
              "unknown key 'prot' in client");
  check_error("admin:\n  enable: true\n", 2, "did you mean 'enabled'");
  check_error("log:\n  levels:\n    conection: debug\n", 3,
              "unknown key 'conection' in log.levels");
  check_error("trace:\n  actor: [leader]\n", 2, "unknown key 'actor'");
  check_error("servers:\n  - id: 1\n    hots: x\n", 3,
              "unknown key 'hots' in servers[0]");
  check_error("bogus: 1\n", 1, "README.md (Configuration)");
}

TEST_CASE("wrong types are errors at their line") {
  check_error("tick_ms: 10\ntick_ms2: 1\n", 2, "unknown key");
  check_error("fsync: true\ntick_ms: abc\n", 2,
              "tick_ms must be a positive number of milliseconds, not abc");
  check_error("tick_ms: \"2000\"\n", 1, "not the string \"2000\"");
  check_error("tick_ms: 2000.5\n", 1, "not 2000.5");
  check_error("tick_ms: [1]\n", 1, "not a list");
  check_error("tick_ms:\n", 1, "not empty");
  check_error("fsync: maybe\n", 1, "fsync must be true or false, not maybe");
  check_error("\nclient: 5\n", 2, "client must be a mapping");
  check_error("servers:\n  a: 1\n", 2, "servers must be a list");
  check_error("servers:\n  - 5\n", 2, "servers[0] must be a mapping");
  check_error("four_letter_words: {a: 1}\n", 1,
              "four_letter_words must be a list");
  check_error("data_dir: [a, b]\n", 1, "data_dir must be a string");
  check_error("data_dir: \"\"\n", 1, "data_dir must not be empty");
  check_error("- a\n- b\n", 1, "the top level must be a mapping");
  check_error("snapshot_count: 1\n", 1, "from 2 up");
  check_error("snapshot_tree_percent: 10001\n", 1,
              "snapshot_tree_percent must be a percentage from 0 (off) to "
              "10000, not 10001");
  check_error("max_client_connections: -1\n", 1, "0 = unlimited");
}

TEST_CASE("impossible ports are errors at their line") {
  check_error("client:\n  port: 0\n", 2,
              "client.port must be a port number from 1 to 65535, not 0");
  check_error("client:\n  port: 65536\n", 2, "not 65536");
  check_error("admin: {port: -1}\n", 1, "admin.port");
  check_error("servers:\n  - id: 1\n    quorum_port: 99999\n", 3,
              "servers[0].quorum_port must be a port number");
}

TEST_CASE("tick_ms must be positive") {
  check_error("tick_ms: 0\n", 1, "tick_ms must be a positive");
  check_error("\n\ntick_ms: -2000\n", 3, "not -2000");
}

TEST_CASE("a minimum session timeout above the maximum is an error") {
  check_error("min_session_timeout_ms: 9000\nmax_session_timeout_ms: 8000\n", 1,
              "min_session_timeout_ms (9000) must not be larger than "
              "max_session_timeout_ms (8000)");
  // Against the default maximum (20 x tick_ms = 40000).
  check_error("tick_ms: 2000\nmin_session_timeout_ms: 50000\n", 2,
              "the default maximum is 20 x tick_ms");
  check_error("tick_ms: 2000\nmax_session_timeout_ms: 3000\n", 2,
              "the default minimum is 2 x tick_ms");
}

TEST_CASE("duplicate server ids are an error at the second id") {
  check_error(R"(servers:
  - id: 1
    host: a
  - id: 2
    host: b
  - id: 1
    host: c
)",
              6, "duplicate server id 1 (also on line 2)");
}

TEST_CASE("two servers on one host:port are an error at the second port") {
  check_error(R"(servers:
  - id: 1
    host: 127.0.0.1
    client_port: 2181
    data_dir: d1
  - id: 2
    host: 127.0.0.1
    client_port: 2182
    quorum_port: 2888
    election_port: 3889
    data_dir: d2
)",
              9,
              "server 2's quorum_port 127.0.0.1:2888 is already server 1's "
              "quorum_port");
  // Defaults collide too: the line is then the start of the entry.
  check_error(R"(servers:
  - id: 1
    host: 127.0.0.1
    quorum_port: 2888
    election_port: 3888
    data_dir: d1
  - id: 2
    host: 127.0.0.1
    quorum_port: 2889
    election_port: 3889
    data_dir: d2
)",
              7,
              "client_port 127.0.0.1:2181 is already server 1's client_port");
  // A wildcard client address collides with any address on the host.
  check_error(R"(servers:
  - {id: 1, host: h, client_address: 0.0.0.0, data_dir: d1}
  - {id: 2, host: h, quorum_port: 2181, election_port: 3889, client_port: 2182, data_dir: d2}
)",
              3, "quorum_port");
  // The same ports on different hosts are fine.
  auto c = ok("servers:\n  - {id: 1, host: a}\n  - {id: 2, host: b}\n"
              "  - {id: 3, host: c}\n");
  CHECK(c.servers.size() == 3);
}

TEST_CASE("a server's quorum and election ports must differ") {
  check_error("servers:\n  - id: 1\n    quorum_port: 2888\n"
              "    election_port: 2888\n",
              4,
              "server 1 uses port 2888 twice: as quorum_port and as "
              "election_port");
}

TEST_CASE("servers on one host need their own data directories") {
  check_error(R"(servers:
  - {id: 1, host: h, client_port: 1}
  - {id: 2, host: h, quorum_port: 2, election_port: 3, client_port: 4}
)",
              3, "would share data_dir ./data");
}

TEST_CASE("every server needs an id") {
  check_error("servers:\n  - host: a\n", 2, "servers[0].id is missing");
}

TEST_CASE("an id not in the file is an error at the servers line") {
  auto c = ok(std::string{"tick_ms: 2000\n"} + three);
  auto r = resolve(c, 7);
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors[0].file == "test.yaml");
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[0].to_string() ==
        "test.yaml:2: id 7 is not in the servers list (ids 1, 2, 3)");
  auto none = resolve(c, std::nullopt);
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.errors[0].message, Catch::Contains("--id"));
  auto two = resolve(c, 2);
  REQUIRE(two.ok());
  CHECK(two.value->self.client_port == 2182);
  CHECK(two.value->data_dir == "d2");
  CHECK(two.value->data_log_dir == "d2");
}

TEST_CASE("an ensemble needs a participant") {
  check_error(R"(tick_ms: 2000
servers:
  - {id: 1, host: a, role: observer}
  - {id: 2, host: b, role: observer}
)",
              2, "no participant");
}

TEST_CASE("an unknown role is an error at its line") {
  check_error("servers:\n  - id: 1\n    role: leader\n", 3,
              "unknown role 'leader'");
}

TEST_CASE("an unknown log level is an error at its line") {
  check_error("log:\n  level: verbose\n", 2, "unknown log level 'verbose'");
  check_error("log:\n  level: wrn\n", 2, "did you mean 'warn'");
  CHECK(ok("log: {level: warning}\n").log.level == "warn");
  check_error("log:\n  levels:\n    leader: loud\n", 3,
              "log.levels.leader: unknown log level 'loud'");
}

TEST_CASE("an unknown four-letter word or actor kind is an error") {
  check_error("four_letter_words:\n  - ruok\n  - ruko\n", 3,
              "unknown four-letter word 'ruko'");
  check_error("four_letter_words: [stat, xxxx]\n", 1,
              "unknown four-letter word 'xxxx'");
  check_error("trace:\n  actors: [leader, elektion]\n", 2,
              "unknown actor kind 'elektion' (did you mean 'election'?)");
}

TEST_CASE("a YAML syntax error is reported at its line") {
  auto e = first_error("tick_ms: 1\nclient: {port: 1\nfsync: true\n");
  CHECK(e.line >= 2);
  CHECK_THAT(e.message, Catch::StartsWith("YAML syntax error"));
  e = first_error("a: 1\n  b: 2\n");
  CHECK(e.line == 2);
  CHECK(e.to_string().rfind("test.yaml:2: YAML syntax error", 0) == 0);
}

TEST_CASE("a key given twice is an error at the second") {
  check_error("tick_ms: 1\nfsync: true\ntick_ms: 2\n", 3,
              "appears twice (first on line 1)");
}

TEST_CASE("more than one document is an error") {
  check_error("tick_ms: 1\n---\ntick_ms: 2\n", 3,
              "more than one YAML document");
}

TEST_CASE("a super digest must have a user") {
  check_error("super_digest: abc\n", 1, "user:base64digest");
}

TEST_CASE("all errors are reported, in line order") {
  auto r = parse_yaml("tick_ms: x\nfsync: 3\nclient: {port: 0}\n", "f.yaml");
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0].line == 1);
  CHECK(r.errors[1].line == 2);
  CHECK(r.errors[2].line == 3);
}

TEST_CASE("a missing file is an error naming it") {
  auto r = load_yaml_file("/nonexistent/zkd.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors[0].file == "/nonexistent/zkd.yaml");
  CHECK(r.errors[0].to_string().rfind("/nonexistent/zkd.yaml: ", 0) == 0);
}

TEST_CASE("the example files load") {
  auto standalone = load_yaml_file(repo_file("config/standalone.yaml"));
  for (auto& e : standalone.errors)
    UNSCOPED_INFO(e.to_string());
  REQUIRE(standalone.ok());
  CHECK(standalone.warnings.empty());
  CHECK(*standalone.value == cluster{});

  for (int n : {3, 5}) {
    auto path = repo_file("config/cluster" + std::to_string(n) + ".yaml");
    auto r = load_yaml_file(path);
    for (auto& e : r.errors)
      UNSCOPED_INFO(e.to_string());
    REQUIRE(r.ok());
    CHECK(r.warnings.empty());
    auto& c = *r.value;
    REQUIRE(c.servers.size() == static_cast<size_t>(n));
    CHECK(c.four_letter_word_enabled("ruok"));
    CHECK(c.four_letter_word_enabled("mntr"));
    for (int id = 1; id <= n; ++id) {
      auto node = resolve(c, id);
      REQUIRE(node.ok());
      CHECK(node.value->self.client_port == 2180 + id);
      CHECK(node.value->data_dir == "./data/" + std::to_string(id));
      CHECK(node.value->self.r == role::participant);
    }
    CHECK_FALSE(resolve(c, n + 1).ok());
  }
}

TEST_CASE("to_yaml round-trips through parse_yaml") {
  SECTION("defaults") {
    auto text = to_yaml(cluster{});
    auto r = parse_yaml(text, "round.yaml");
    REQUIRE(r.ok());
    CHECK(*r.value == cluster{});
  }
  SECTION("every setting changed") {
    cluster c;
    c.tick_ms = 333;
    c.init_limit_ticks = 4;
    c.sync_limit_ticks = 2;
    c.min_session_timeout_ms = 700;
    c.max_session_timeout_ms = 7000;
    c.max_client_connections = 0;
    c.max_frame_bytes = 123456;
    c.four_letter_words = {"conf", "ruok", "srvr"};
    c.extended_types = true;
    c.container_check_interval_ms = 5;
    c.fsync = false;
    c.snapshot_count = 77;
    c.snapshot_bytes = 12345;
    c.snapshot_tree_percent = 0;
    c.snapshot_retain = 5;
    c.enforce_quota = true;
    c.data_dir = "/data dir/with \"quotes\" and: colon";
    c.data_log_dir = "yes"; // a word YAML would read as a boolean
    c.log.file = "1e5";     // and one it would read as a number
    c.client = {"0.0.0.0", 2999};
    c.admin = {true, "::1", 8181};
    c.log.level = "warn";
    c.trace.file = "#not a comment";
    c.log.levels = {{"leader", "trace"}, {"txn_log", "off"}};
    c.trace.actors = {"election", "peer"};
    c.super_digest = "super:abc/def+=";
    for (uint64_t id : {1, 2, 3}) {
      server s;
      s.id = id;
      s.host = "10.0.0." + std::to_string(id);
      s.quorum_port = 2000;
      s.election_port = 3000;
      s.client_port = 4000;
      s.client_address = "0.0.0.0";
      s.admin_port = id == 2 ? 9999 : 8181;
      s.data_dir = id == 3 ? "/d3" : id == 1 ? "0x1F" : "";
      s.data_log_dir = id == 3 ? "0123" : "";
      s.r = id == 3 ? role::observer : role::participant;
      c.servers.push_back(s);
    }
    c.servers.push_back(c.servers[0]);
    c.servers.back().id = 4;
    c.servers.back().host = "10.0.0.4";
    c.servers.push_back(c.servers[0]);
    c.servers.back().id = 5;
    c.servers.back().host = "10.0.0.5";
    auto text = to_yaml(c, "a header\nof two lines");
    CHECK(text.rfind("# a header\n# of two lines\n", 0) == 0);
    auto r = parse_yaml(text, "round.yaml");
    for (auto& e : r.errors)
      UNSCOPED_INFO(e.to_string());
    INFO(text);
    REQUIRE(r.ok());
    CHECK(*r.value == c);
    // And once more: the text is stable.
    CHECK(to_yaml(*r.value, "a header\nof two lines") == text);
  }
}
