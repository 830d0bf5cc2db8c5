// Reading Apache ZooKeeper 3.8's zoo.cfg. The expectations were checked
// against ZooKeeper 3.8.0's own QuorumPeerConfig.parse on the same files.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"

using namespace zkd::config;
namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed at the end of the test.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "zkd-config-XXXXXX");
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    auto p = path / name;
    std::ofstream out(p, std::ios::binary);
    out << text;
    return p.string();
  }
  std::string str() const { return path.string(); }
};

// The diagnostic at `line` whose message contains `words`, if any.
const diagnostic* find(const std::vector<diagnostic>& ds, int line,
                       const std::string& words) {
  for (auto& d : ds)
    if (d.line == line && d.message.find(words) != std::string::npos)
      return &d;
  return nullptr;
}

void dump(const std::vector<diagnostic>& ds) {
  for (auto& d : ds)
    UNSCOPED_INFO(d.to_string());
}

// A zoo.cfg that must be rejected, with an error at `line` about `words`.
void check_error(const std::string& text, int line, const std::string& words) {
  auto r = parse_zoo_cfg_text(text, "zoo.cfg");
  INFO(text);
  dump(r.errors);
  REQUIRE_FALSE(r.ok());
  CHECK(find(r.errors, line, words) != nullptr);
}

zoo_cfg ok(const std::string& text) {
  auto r = parse_zoo_cfg_text(text, "zoo.cfg");
  INFO(text);
  dump(r.errors);
  REQUIRE(r.ok());
  return *r.value;
}

} // namespace

TEST_CASE("a realistic ensemble zoo.cfg with myid") {
  temp_dir dir;
  dir.write("myid", "2\n");
  auto text = std::string{R"(# The number of milliseconds of each tick
tickTime=2000
# The number of ticks that the initial
# synchronization phase can take
initLimit=10
syncLimit=5
dataDir=)"} + dir.str() +
              R"(
dataLogDir=/var/log/zookeeper
clientPort=2181
maxClientCnxns=100
minSessionTimeout=3000
maxSessionTimeout=30000
4lw.commands.whitelist=ruok, stat,mntr , srvr
admin.enableServer=false
autopurge.snapRetainCount=3
autopurge.purgeInterval=24
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpPort=7000
standaloneEnabled=false
reconfigEnabled=false
quorumListenOnAllIPs=true
extendedTypesEnabled=true
snapCount=50000
forceSync=no
DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
someCompletelyUnknownKey=1
server.1=zk1.example.com:2888:3888
server.2=zk2.example.com:2888:3888;2181
server.3=zk3.example.com:2888:3888:participant;10.0.0.3:2183
server.4=zk4.example.com:2888:3888:observer
)";
  auto path = dir.write("zoo.cfg", text);
  auto r = parse_zoo_cfg(path);
  dump(r.errors);
  dump(r.warnings);
  REQUIRE(r.ok());
  auto& z = *r.value;
  auto& c = z.c;
  CHECK(z.myid == 2u);
  CHECK(c.tick_ms == 2000);
  CHECK(c.init_limit_ticks == 10);
  CHECK(c.sync_limit_ticks == 5);
  CHECK(c.data_dir == dir.str());
  CHECK(c.data_log_dir == "/var/log/zookeeper");
  CHECK(c.client.port == 2181);
  CHECK(c.client.address == "0.0.0.0"); // ZooKeeper's default: every address
  CHECK(c.max_client_connections == 100);
  CHECK(c.min_session_timeout_ms == 3000);
  CHECK(c.max_session_timeout_ms == 30000);
  CHECK(c.four_letter_words ==
        std::vector<std::string>{"mntr", "ruok", "srvr", "stat"});
  CHECK_FALSE(c.admin.enabled);
  CHECK(c.extended_types);
  CHECK(c.snapshot_count == 50000);
  CHECK_FALSE(c.fsync);
  CHECK(c.super_digest == "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");

  REQUIRE(c.servers.size() == 4);
  auto& s1 = c.servers[0];
  CHECK(s1.id == 1);
  CHECK(s1.host == "zk1.example.com");
  CHECK(s1.quorum_port == 2888);
  CHECK(s1.election_port == 3888);
  CHECK(s1.client_port == 2181); // from clientPort
  CHECK(s1.client_address == "0.0.0.0");
  CHECK(s1.r == role::participant);
  CHECK(c.servers[1].client_port == 2181);
  CHECK(c.servers[1].client_address == "0.0.0.0");
  CHECK(c.servers[2].client_port == 2183);
  CHECK(c.servers[2].client_address == "10.0.0.3");
  CHECK(c.servers[2].r == role::participant);
  CHECK(c.servers[3].r == role::observer);

  // Keys zkd does not act on are warnings at their line.
  auto& w = r.warnings;
  CHECK(find(w, 15, "autopurge.snapRetainCount") != nullptr);
  CHECK(find(w, 16, "autopurge.purgeInterval") != nullptr);
  CHECK(find(w, 17, "metricsProvider.className") != nullptr);
  CHECK(find(w, 18, "metricsProvider.httpPort") != nullptr);
  CHECK(find(w, 21, "quorumListenOnAllIPs") != nullptr);
  CHECK(find(w, 26, "someCompletelyUnknownKey") != nullptr);
  CHECK(find(w, 26, "zookeeper.someCompletelyUnknownKey") != nullptr);
  for (auto& d : w)
    CHECK(d.file == path);

  // This node is server 2 (myid).
  auto n = resolve(z);
  dump(n.errors);
  REQUIRE(n.ok());
  CHECK(n.value->id == 2);
  CHECK(n.value->self.host == "zk2.example.com");
  CHECK(n.value->self.client_port == 2181);
  CHECK(n.value->data_dir == dir.str());
  CHECK(n.value->data_log_dir == "/var/log/zookeeper");
}

TEST_CASE("the converted YAML reads back to the same cluster") {
  temp_dir dir;
  auto c = ok("tickTime=1000\ninitLimit=5\nsyncLimit=2\ndataDir=" + dir.str() +
              "\nclientPort=2181\nclientPortAddress=127.0.0.1\n"
              "4lw.commands.whitelist=*\n"
              "server.1=a:2888:3888\nserver.2=b:2888:3888\n"
              "server.3=c:2888:3888:observer;2190\nserver.5=d:2888:3888\n"
              "server.7=e:2888:3888\n")
               .c;
  auto text = to_yaml(c, "converted from zoo.cfg");
  auto back = parse_yaml(text, "converted.yaml");
  dump(back.errors);
  INFO(text);
  REQUIRE(back.ok());
  CHECK(*back.value == c);
  CHECK_THAT(text, Catch::Contains("four_letter_words: \"*\"\n"));
  CHECK_THAT(text, Catch::Contains("host: a\n"));
  CHECK_THAT(text, Catch::Contains("client_address: 127.0.0.1\n"));
  CHECK(back.value->min_session_timeout_ms == 2000);
  CHECK(back.value->max_session_timeout_ms == 20000);
}

TEST_CASE("a standalone zoo.cfg takes ZooKeeper's defaults") {
  temp_dir dir;
  auto z = ok("dataDir=" + dir.str() + "\nclientPort=2191\n");
  auto& c = z.c;
  CHECK(c.standalone());
  CHECK_FALSE(z.myid);
  CHECK(c.tick_ms == 3000); // ZooKeeperServer.DEFAULT_TICK_TIME
  CHECK(c.min_session_timeout_ms == 6000);
  CHECK(c.max_session_timeout_ms == 60000);
  CHECK(c.max_client_connections == 60);
  CHECK(c.four_letter_words == std::vector<std::string>{"srvr"});
  CHECK(c.admin.enabled); // on unless admin.enableServer=false
  CHECK(c.admin.address == "0.0.0.0");
  CHECK(c.admin.port == 8080);
  CHECK(c.client.address == "0.0.0.0");
  CHECK(c.client.port == 2191);
  CHECK(c.data_log_dir.empty());
  CHECK(c.fsync);
  auto n = resolve(z);
  REQUIRE(n.ok());
  CHECK(n.value->id == 1);
  CHECK(n.value->self.client_port == 2191);
}

TEST_CASE("one server line with standaloneEnabled runs standalone") {
  temp_dir dir;
  auto r = parse_zoo_cfg_text("dataDir=" + dir.str() +
                                  "\nclientPort=2181\nserver.1=h:2888:3888\n",
                              "zoo.cfg");
  REQUIRE(r.ok());
  CHECK(r.value->c.standalone());
  CHECK(find(r.warnings, 3, "only one server line") != nullptr);
  // standaloneEnabled=false makes it an ensemble of one.
  auto z = ok("dataDir=" + dir.str() +
              "\nclientPort=2181\ninitLimit=5\nsyncLimit=2\n"
              "standaloneEnabled=false\nserver.1=h:2888:3888\n");
  CHECK(z.c.servers.size() == 1);
}

TEST_CASE("zoo.cfg values ZooKeeper rejects are errors at their line") {
  const std::string base = "dataDir=/tmp/zkd-no-such-dir\n";
  check_error(base + "clientPort=abc\n", 2, "clientPort must be an integer");
  check_error(base + "clientPort=2181\ntickTime=2s\n", 3, "tickTime");
  check_error(base + "clientPort=2181\nsyncEnabled=yes\n", 3,
              "syncEnabled must be true or false");
  check_error(base + "clientPort=2181\nautopurge.purgeInterval=x\n", 3,
              "autopurge.purgeInterval must be an integer");
  check_error(base + "clientPort=2181\nelectionAlg=1\n", 3,
              "only 3 (fast leader election)");
  check_error(base + "clientPort=2181\npeerType=witness\n", 3,
              "peerType must be participant or observer");
  check_error(base + "clientPort=2181\ntickTime=0\n", 3, "tickTime is not set");
  check_error(base + "clientPort=2181\nminSessionTimeout=50000\n"
                     "maxSessionTimeout=40000\n",
              3, "must not be larger than maxSessionTimeout");
  check_error(base + "clientPortAddress=127.0.0.1\n", 2,
              "clientPortAddress is set but clientPort is not");
  check_error("clientPort=2181\n", 0, "dataDir is not set");
  check_error(base, 0, "clientPort is not set");
}

TEST_CASE("malformed server lines are errors at their line") {
  const std::string base =
      "dataDir=/tmp/zkd-no-such-dir\nclientPort=2181\ninitLimit=5\n"
      "syncLimit=2\nserver.1=a:2888:3888\n";
  check_error(base + "server.2=b:2888\n", 6, "does not have the form");
  check_error(base + "server.2=b:x:3888\n", 6, "port 'x' of b is not a number");
  check_error(base + "server.2=b:70000:3888\n", 6, "out of range");
  check_error(base + "server.2=b:2888:3888:boss\n", 6, "unknown role 'boss'");
  check_error(base + "server.2=b:2888:2888\n", 6,
              "quorum and election ports must be different");
  check_error(base + "server.x=b:2888:3888\n", 6, "must be a number");
  check_error(base + "server.2=b:2888:3888;c:2181:1\n", 6,
              "does not have the form");
  check_error(base + "server.2=b:2888:3888;2181;1\n", 6,
              "does not have the form");
  check_error(base + "server.2=b:2888:3888|c:2888:3888\n", 6,
              "multiAddress.enabled");
  // ZooKeeper does not trim server lines: a trailing blank breaks the port.
  check_error(base + "server.2=b:2888:3888 \n", 6, "ends in whitespace");
  check_error(base + "server.01=b:2888:3888\n", 6, "already defined on line 5");
  check_error(base + "server.2=a:2888:3889\n", 6, "as server.1 does");
  check_error(base + "group.1=1:2\n", 6, "hierarchical quorums");
}

TEST_CASE("ensemble rules of QuorumPeerConfig") {
  const std::string base = "dataDir=/tmp/zkd-no-such-dir\nclientPort=2181\n";
  check_error(base +
                  "syncLimit=2\nserver.1=a:2888:3888\nserver.2=b:2888:3888\n",
              0, "initLimit is not set");
  check_error(base +
                  "initLimit=2\nserver.1=a:2888:3888\nserver.2=b:2888:3888\n",
              0, "syncLimit is not set");
  check_error(base + "server.1=a:2888:3888:observer\n", 3,
              "observers without participants");
  check_error(base + "server.1=a:2888:3888\nserver.2=b:2888:3888:observer\n", 4,
              "observers need a quorum");
}

TEST_CASE("myid decides which server this node is") {
  temp_dir dir;
  auto text = "dataDir=" + dir.str() +
              "\ninitLimit=5\nsyncLimit=2\nclientPort=2181\n"
              "server.1=127.0.0.1:2888:3888;2181\n"
              "server.2=127.0.0.1:2889:3889;2182\n"
              "server.3=127.0.0.1:2890:3890;2183\n";
  SECTION("missing myid: convert works, running does not") {
    auto z = ok(text);
    CHECK_FALSE(z.myid);
    auto n = resolve(z);
    REQUIRE_FALSE(n.ok());
    CHECK_THAT(n.errors[0].message, Catch::Contains("myid is missing"));
  }
  SECTION("a myid not in the list") {
    dir.write("myid", "9");
    auto z = ok(text);
    auto n = resolve(z);
    REQUIRE_FALSE(n.ok());
    CHECK_THAT(n.errors[0].message, Catch::Contains("id 9 is not in"));
  }
  SECTION("a myid that is not a number") {
    dir.write("myid", "two\n");
    auto r = parse_zoo_cfg_text(text, "zoo.cfg");
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors[0].file == dir.str() + "/myid");
    CHECK(r.errors[0].line == 1);
  }
  SECTION("a client port that disagrees with this node's line") {
    dir.write("myid", "3");
    // clientPort=2181 (wildcard address) but server.3 says 2183: ZooKeeper
    // refuses to start.
    auto r = parse_zoo_cfg_text(text, "zoo.cfg");
    REQUIRE_FALSE(r.ok());
    CHECK(find(r.errors, 7, "this node, by myid") != nullptr);
  }
  SECTION("this node's line agrees") {
    dir.write("myid", "1");
    auto z = ok(text);
    auto n = resolve(z);
    REQUIRE(n.ok());
    CHECK(n.value->id == 1);
    CHECK(n.value->self.quorum_port == 2888);
  }
}

TEST_CASE("properties syntax: separators, comments, continuations, repeats") {
  temp_dir dir;
  auto r = parse_zoo_cfg_text("! a bang comment\n"
                              "  # an indented comment\n"
                              "dataDir " +
                                  dir.str() +
                                  "\n"
                                  "clientPort : 2181\n"
                                  "tickTime=\\\n"
                                  "    1500\n"
                                  "maxClientCnxns=10\n"
                                  "maxClientCnxns=20\n"
                                  "4lw.commands.whitelist=*\n",
                              "zoo.cfg");
  dump(r.errors);
  REQUIRE(r.ok());
  auto& c = r.value->c;
  CHECK(c.data_dir == dir.str());
  CHECK(c.client.port == 2181);
  CHECK(c.tick_ms == 1500);
  CHECK(c.max_client_connections == 20);
  CHECK(c.four_letter_words == known_four_letter_words());
  CHECK(find(r.warnings, 8, "already set on line 7") != nullptr);
}

TEST_CASE("keys ZooKeeper 3.8 ignores in zoo.cfg are ignored, with a warning") {
  auto r = parse_zoo_cfg_text("dataDir=/d\nclientPort=1\n"
                              "jute.maxbuffer=10\n"
                              "znode.container.checkIntervalMs=5\n"
                              "4lw.commands.whitelist=ruok,bogus\n",
                              "zoo.cfg");
  REQUIRE(r.ok());
  auto& c = r.value->c;
  CHECK(c.max_frame_bytes == cluster{}.max_frame_bytes);
  CHECK(c.container_check_interval_ms == 60000);
  CHECK(c.four_letter_words == std::vector<std::string>{"ruok", "srvr"});
  CHECK(find(r.warnings, 3, "-Djute.maxbuffer") != nullptr);
  CHECK(find(r.warnings, 4, "-Dznode.container.checkIntervalMs") != nullptr);
  CHECK(find(r.warnings, 5, "'bogus'") != nullptr);
}

TEST_CASE("dynamicConfigFile holds the server lines") {
  temp_dir dir;
  auto dynamic =
      dir.write("zoo.cfg.dynamic.100000000", "server.1=a:2888:3888;2181\n"
                                             "server.2=b:2888:3888;2181\n"
                                             "server.3=c:2888:3888;2181\n");
  auto z =
      ok("dataDir=" + dir.str() +
         "\ninitLimit=5\nsyncLimit=2\ndynamicConfigFile=" + dynamic + "\n");
  CHECK(z.c.servers.size() == 3);
  check_error("dataDir=/d\ndynamicConfigFile=" + dynamic +
                  "\nserver.1=a:2888:3888\n",
              3, "must be in the dynamic configuration file");
  auto bad = dir.write("bad.dynamic", "server.1=a:2888:3888\nversion=1\n");
  auto r = parse_zoo_cfg_text(
      "dataDir=/d\nclientPort=1\ndynamicConfigFile=" + bad + "\n", "zoo.cfg");
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors[0].file == bad);
  CHECK(r.errors[0].line == 2);
}

TEST_CASE("a missing zoo.cfg is an error naming it") {
  auto r = parse_zoo_cfg("/nonexistent/zoo.cfg");
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors[0].file == "/nonexistent/zoo.cfg");
}
