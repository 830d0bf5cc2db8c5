// Expected texts are ZooKeeper 3.8.0's answers captured from running
// servers (a standalone one with two kazoo clients, and a three-node
// ensemble), with our inputs set to the values ZooKeeper reported.
#include "actors/connection/four_letter.hpp"

#include "messages/wire/protocol.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace zkd::connection;
namespace wire = zkd::wire;

namespace {

const std::string zk_version =
    "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC";

uint32_t code_of(const char* w) {
  auto b = reinterpret_cast<const unsigned char*>(w);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
         (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

latency_stats latency(int64_t count, int64_t total, int64_t min, int64_t max) {
  latency_stats l;
  l.count = count;
  l.total_ms = total;
  l.min_ms = min;
  l.max_ms = max;
  return l;
}

connection_stats brief_conn(std::string addr, int32_t ops, int64_t recved,
                            int64_t sent) {
  connection_stats c;
  c.remote_address = std::move(addr);
  c.interest_ops = ops;
  c.packets_received = recved;
  c.packets_sent = sent;
  return c;
}

// The standalone server with two sessions, as captured.
server_stats standalone_stats() {
  server_stats s;
  s.version = zk_version;
  s.server_state = "standalone";
  // 56 ms over 13 requests: 4.307692... -> 4.3077
  s.latency = latency(13, 56, 1, 27);
  s.packets_received = 38;
  s.packets_sent = 43;
  s.num_alive_connections = 3;
  s.outstanding_requests = 0;
  s.last_processed_zxid = 6;
  s.node_count = 9;
  return s;
}

} // namespace

TEST_CASE("four-letter words are recognised from the first four bytes") {
  CHECK(four_letter_from_code(code_of("ruok")) == four_letter_word::ruok);
  CHECK(four_letter_from_code(code_of("srvr")) == four_letter_word::srvr);
  CHECK(four_letter_from_code(code_of("mntr")) == four_letter_word::mntr);
  CHECK(four_letter_from_code(code_of("hash")) == four_letter_word::hash);
  CHECK(four_letter_from_code(0xfff4fffdU) == four_letter_word::telnet_close);
  CHECK(is_four_letter_word(code_of("wchp")));
  CHECK_FALSE(is_four_letter_word(code_of("RUOK")));
  CHECK_FALSE(is_four_letter_word(code_of("xxxx")));
  // A real frame length (a ConnectRequest is 44-48 bytes) is not a word.
  CHECK_FALSE(is_four_letter_word(45));
  CHECK(four_letter_name(four_letter_word::telnet_close) == "telnet close");
  CHECK(four_letter_from_name("cons") == four_letter_word::cons);
  CHECK_FALSE(four_letter_from_name("nope").has_value());
  for (auto name : {"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk",
                    "hash", "isro", "mntr", "ruok", "srst", "srvr", "stat",
                    "stmk", "wchc", "wchp", "wchs"}) {
    auto w = four_letter_from_name(name);
    REQUIRE(w);
    CHECK(four_letter_name(*w) == name);
    CHECK(four_letter_code(*w) == code_of(name));
    CHECK(four_letter_from_code(code_of(name)) == w);
  }
}

TEST_CASE("the whitelist follows 4lw.commands.whitelist") {
  four_letter_whitelist defaults;
  CHECK(defaults.enabled(four_letter_word::srvr));
  CHECK_FALSE(defaults.enabled(four_letter_word::ruok));
  CHECK_FALSE(defaults.enabled(four_letter_word::isro));

  four_letter_whitelist some{"ruok, stat"};
  CHECK(some.enabled(four_letter_word::ruok));
  CHECK(some.enabled(four_letter_word::stat));
  CHECK(some.enabled(four_letter_word::srvr));
  CHECK_FALSE(some.enabled(four_letter_word::cons));
  CHECK_FALSE(some.enabled(four_letter_word::telnet_close));

  four_letter_whitelist all{"*"};
  CHECK(all.enabled(four_letter_word::mntr));
  CHECK(all.enabled(four_letter_word::hash));
  CHECK(all.enabled(four_letter_word::telnet_close));

  four_letter_whitelist star_later{" mntr , *"};
  CHECK(star_later.enabled(four_letter_word::dump));

  four_letter_whitelist ro{"", true};
  CHECK(ro.enabled(four_letter_word::isro));
}

TEST_CASE("refusals print ZooKeeper's whitelist sentence") {
  // Captured with 4lw.commands.whitelist=ruok, stat.
  four_letter_whitelist wl{"ruok, stat"};
  server_stats s = standalone_stats();
  CHECK(answer(four_letter_word::cons, wl, s) ==
        "cons is not executed because it is not in the whitelist.\n");
  CHECK(answer(four_letter_word::isro, wl, s) ==
        "isro is not executed because it is not in the whitelist.\n");
  CHECK(answer(four_letter_word::telnet_close, wl, s) ==
        "telnet close is not executed because it is not in the whitelist.\n");
  CHECK(answer(four_letter_word::ruok, wl, s) == "imok");
  // srvr answers whatever the list says.
  CHECK(answer(four_letter_word::srvr, wl, s) == flw::srvr(s));
  // An enabled telnet close writes nothing (ZooKeeper closes).
  CHECK(answer(four_letter_word::telnet_close, four_letter_whitelist{"*"}, s)
            .empty());
}

TEST_CASE("srvr on a standalone server") {
  CHECK(flw::srvr(standalone_stats()) ==
        "Zookeeper version: " + zk_version +
            "\n"
            "Latency min/avg/max: 1/4.3077/27\n"
            "Received: 38\n"
            "Sent: 43\n"
            "Connections: 3\n"
            "Outstanding: 0\n"
            "Zxid: 0x6\n"
            "Mode: standalone\n"
            "Node count: 9\n");
}

TEST_CASE("srvr on a fresh server: no samples, zxid 0") {
  server_stats s;
  s.version = zk_version;
  s.packets_received = 2;
  s.packets_sent = 1;
  s.num_alive_connections = 1;
  s.node_count = 5;
  CHECK(flw::srvr(s) == "Zookeeper version: " + zk_version +
                            "\n"
                            "Latency min/avg/max: 0/0.0/0\n"
                            "Received: 2\n"
                            "Sent: 1\n"
                            "Connections: 1\n"
                            "Outstanding: 0\n"
                            "Zxid: 0x0\n"
                            "Mode: standalone\n"
                            "Node count: 5\n");
}

TEST_CASE("stat lists the clients briefly") {
  auto s = standalone_stats();
  s.packets_received = 39;
  s.packets_sent = 44;
  s.connections = {brief_conn("/127.0.0.1:41882", 1, 4, 4),
                   brief_conn("/127.0.0.1:41866", 1, 9, 9),
                   brief_conn("/127.0.0.1:41908", 0, 1, 0)};
  // Sessions do not show in the brief form.
  s.connections[0].session_id = 0x10000054b350001LL;
  CHECK(flw::stat(s) == "Zookeeper version: " + zk_version +
                            "\n"
                            "Clients:\n"
                            " /127.0.0.1:41882[1](queued=0,recved=4,sent=4)\n"
                            " /127.0.0.1:41866[1](queued=0,recved=9,sent=9)\n"
                            " /127.0.0.1:41908[0](queued=0,recved=1,sent=0)\n"
                            "\n"
                            "Latency min/avg/max: 1/4.3077/27\n"
                            "Received: 39\n"
                            "Sent: 44\n"
                            "Connections: 3\n"
                            "Outstanding: 0\n"
                            "Zxid: 0x6\n"
                            "Mode: standalone\n"
                            "Node count: 9\n");
}

TEST_CASE("srvr and stat on a leader add the proposal sizes") {
  server_stats s;
  s.version = zk_version;
  s.server_state = "leader";
  s.latency = latency(4, 71, 7, 28); // 17.75
  s.packets_received = 13;
  s.packets_sent = 14;
  s.num_alive_connections = 1;
  s.last_processed_zxid = 0x100000004LL;
  s.node_count = 6;
  leader_stats ld;
  ld.last_proposal_size = 48;
  ld.min_proposal_size = 48;
  ld.max_proposal_size = 186;
  s.leader = ld;
  s.connections = {brief_conn("/127.0.0.1:36616", 0, 1, 0)};
  CHECK(flw::stat(s) == "Zookeeper version: " + zk_version +
                            "\n"
                            "Clients:\n"
                            " /127.0.0.1:36616[0](queued=0,recved=1,sent=0)\n"
                            "\n"
                            "Latency min/avg/max: 7/17.75/28\n"
                            "Received: 13\n"
                            "Sent: 14\n"
                            "Connections: 1\n"
                            "Outstanding: 0\n"
                            "Zxid: 0x100000004\n"
                            "Mode: leader\n"
                            "Node count: 6\n"
                            "Proposal sizes last/min/max: 48/48/186\n");
  // Before any proposal BufferStats shows -1/-1/-1.
  s.leader = leader_stats{};
  CHECK(flw::srvr(s).find("Proposal sizes last/min/max: -1/-1/-1\n") !=
        std::string::npos);
  // A follower has no such line.
  s.server_state = "follower";
  CHECK(flw::srvr(s).find("Proposal") == std::string::npos);
  CHECK(flw::srvr(s).find("Mode: follower\n") != std::string::npos);
}

TEST_CASE("a read-only server says so") {
  auto s = standalone_stats();
  s.read_only = true;
  s.server_state = "read-only";
  auto text = flw::srvr(s);
  CHECK(text.rfind("Zookeeper version: " + zk_version +
                       "\nREAD-ONLY mode; serving only read-only clients\n"
                       "Latency",
                   0) == 0);
  CHECK(flw::isro(s) == "ro");
  s.read_only = false;
  CHECK(flw::isro(s) == "rw");
}

TEST_CASE("cons prints every detail of a connection with a session") {
  server_stats s;
  connection_stats b;
  b.remote_address = "/127.0.0.1:41882";
  b.interest_ops = 1;
  b.packets_received = 4;
  b.packets_sent = 4;
  b.session_id = 0x10000054b350001LL;
  b.last_operation = std::string{last_operation_name(wire::op::get_children)};
  b.established_ms = 1795304776229;
  b.session_timeout_ms = 10000;
  b.last_cxid = 3;
  b.last_zxid = 6;
  b.last_response_ms = 385637;
  b.last_latency_ms = 1;
  b.latency = latency(3, 3, 0, 1); // avg is integer division: 1
  connection_stats a = b;
  a.remote_address = "/127.0.0.1:41866";
  a.packets_received = 9;
  a.packets_sent = 9;
  a.session_id = 0x10000054b350000LL;
  a.established_ms = 1795304776206;
  a.last_cxid = 8;
  a.last_response_ms = 385626;
  a.last_latency_ms = 2;
  a.latency = latency(8, 47, 0, 27); // 47 / 8 = 5
  s.connections = {b, a, brief_conn("/127.0.0.1:41914", 0, 1, 0)};
  CHECK(flw::cons(s) ==
        " /127.0.0.1:41882[1](queued=0,recved=4,sent=4,sid=0x10000054b350001,"
        "lop=GETC,est=1795304776229,to=10000,lcxid=0x3,lzxid=0x6,"
        "lresp=385637,llat=1,minlat=0,avglat=1,maxlat=1)\n"
        " /127.0.0.1:41866[1](queued=0,recved=9,sent=9,sid=0x10000054b350000,"
        "lop=GETC,est=1795304776206,to=10000,lcxid=0x8,lzxid=0x6,"
        "lresp=385626,llat=2,minlat=0,avglat=5,maxlat=27)\n"
        " /127.0.0.1:41914[0](queued=0,recved=1,sent=0)\n"
        "\n");
}

TEST_CASE("cons hides lcxid before the first request and shows lzxid -1") {
  server_stats s;
  connection_stats c;
  c.remote_address = "/127.0.0.1:1";
  c.session_id = 1;
  c.session_timeout_ms = 4000;
  s.connections = {c};
  CHECK(flw::cons(s) ==
        " /127.0.0.1:1[1](queued=0,recved=0,sent=0,sid=0x1,lop=NA,est=0,"
        "to=4000,lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,avglat=0,"
        "maxlat=0)\n\n");
  s.connections.clear();
  CHECK(flw::cons(s) == "\n");
}

TEST_CASE("conf on a standalone server") {
  server_stats s;
  auto& c = s.conf;
  c.client_port = 51783;
  c.data_dir = "/tmp/cores-zk/data/version-2";
  c.data_dir_size = 457;
  c.data_log_dir = "/tmp/cores-zk/data/version-2";
  c.data_log_size = 457;
  c.server_id = 0;
  CHECK(flw::conf(s) == "clientPort=51783\n"
                        "secureClientPort=-1\n"
                        "dataDir=/tmp/cores-zk/data/version-2\n"
                        "dataDirSize=457\n"
                        "dataLogDir=/tmp/cores-zk/data/version-2\n"
                        "dataLogSize=457\n"
                        "tickTime=2000\n"
                        "maxClientCnxns=60\n"
                        "minSessionTimeout=4000\n"
                        "maxSessionTimeout=40000\n"
                        "clientPortListenBacklog=-1\n"
                        "serverId=0\n");
}

TEST_CASE("conf on a quorum member ends with the membership") {
  server_stats s;
  auto& c = s.conf;
  c.client_port = 51367;
  c.data_dir = "/tmp/cores-zk/q1/data/version-2";
  c.data_dir_size = 597;
  c.data_log_dir = c.data_dir;
  c.data_log_size = 597;
  c.server_id = 1;
  quorum_conf q;
  q.election_port = 43967;
  q.quorum_port = 54021;
  q.members = {{1, "127.0.0.1", 54021, 43967, false, ""},
               {2, "127.0.0.1", 42833, 57361, false, ""},
               {3, "127.0.0.1", 59021, 37275, false, ""}};
  c.quorum_mode = true;
  c.quorum = q;
  const std::string head = "clientPort=51367\n"
                           "secureClientPort=-1\n"
                           "dataDir=/tmp/cores-zk/q1/data/version-2\n"
                           "dataDirSize=597\n"
                           "dataLogDir=/tmp/cores-zk/q1/data/version-2\n"
                           "dataLogSize=597\n"
                           "tickTime=2000\n"
                           "maxClientCnxns=60\n"
                           "minSessionTimeout=4000\n"
                           "maxSessionTimeout=40000\n"
                           "clientPortListenBacklog=-1\n"
                           "serverId=1\n"
                           "initLimit=10\n"
                           "syncLimit=5\n"
                           "electionAlg=3\n"
                           "electionPort=43967\n"
                           "quorumPort=54021\n"
                           "peerType=0\n";
  // No newline after the version line: ZooKeeper prints it that way.
  CHECK(flw::conf(s) == head + "membership: \n"
                               "server.1=127.0.0.1:54021:43967:participant\n"
                               "server.2=127.0.0.1:42833:57361:participant\n"
                               "server.3=127.0.0.1:59021:37275:participant\n"
                               "version=0");

  // Observers, dynamic client addresses, IPv6 and a config version.
  s.conf.quorum.members = {{4, "::1", 1, 2, true, "127.0.0.1:2181"}};
  s.conf.quorum.config_version = 0x100000003LL;
  CHECK(flw::conf(s) == head + "membership: \n"
                               "server.4=[::1]:1:2:observer;127.0.0.1:2181\n"
                               "version=100000003");

  // A read-only server prints no membership.
  s.read_only = true;
  CHECK(flw::conf(s) == head);
}

TEST_CASE("envi lists the environment in order") {
  server_stats s;
  s.environment = {{"zookeeper.version", zk_version},
                   {"host.name", "localhost"},
                   {"os.name", "Linux"}};
  CHECK(flw::envi(s) == "Environment:\n"
                        "zookeeper.version=" +
                            zk_version +
                            "\n"
                            "host.name=localhost\n"
                            "os.name=Linux\n");
  // envi answers even when the server is not serving.
  s.serving = false;
  CHECK(flw::envi(s).rfind("Environment:\n", 0) == 0);
}

TEST_CASE("mntr on a standalone server") {
  auto s = standalone_stats();
  s.packets_received = 45;
  s.packets_sent = 50;
  s.ephemerals_count = 2;
  s.global_sessions = 2;
  s.last_client_response_size = 20;
  s.max_client_response_size = 93;
  s.min_client_response_size = 16;
  s.watch_count = 5;
  s.max_file_descriptor_count = 20000;
  s.approximate_data_size = 68;
  s.open_file_descriptor_count = 268;
  s.uptime_ms = 38826;
  s.extra_metrics = {{"proposal_count", "0"}, {"watch_bytes", "0"}};
  CHECK(flw::mntr(s) == "zk_version\t" + zk_version +
                            "\n"
                            "zk_server_state\tstandalone\n"
                            "zk_ephemerals_count\t2\n"
                            "zk_num_alive_connections\t3\n"
                            "zk_avg_latency\t4.3077\n"
                            "zk_outstanding_requests\t0\n"
                            "zk_znode_count\t9\n"
                            "zk_global_sessions\t2\n"
                            "zk_non_mtls_remote_conn_count\t0\n"
                            "zk_last_client_response_size\t20\n"
                            "zk_packets_sent\t50\n"
                            "zk_packets_received\t45\n"
                            "zk_max_client_response_size\t93\n"
                            "zk_connection_drop_probability\t0.0\n"
                            "zk_watch_count\t5\n"
                            "zk_auth_failed_count\t0\n"
                            "zk_min_latency\t1\n"
                            "zk_max_file_descriptor_count\t20000\n"
                            "zk_approximate_data_size\t68\n"
                            "zk_open_file_descriptor_count\t268\n"
                            "zk_local_sessions\t0\n"
                            "zk_uptime\t38826\n"
                            "zk_max_latency\t27\n"
                            "zk_outstanding_tls_handshake\t0\n"
                            "zk_min_client_response_size\t16\n"
                            "zk_non_mtls_local_conn_count\t0\n"
                            "zk_proposal_count\t0\n"
                            "zk_watch_bytes\t0\n");
}

TEST_CASE("mntr on a leader and on a follower") {
  server_stats s;
  s.version = zk_version;
  s.server_state = "leader";
  s.peer_state = "leading - broadcast";
  s.num_alive_connections = 1;
  s.node_count = 5;
  s.packets_sent = 3;
  s.packets_received = 4;
  s.max_file_descriptor_count = 20000;
  s.approximate_data_size = 182;
  s.open_file_descriptor_count = 271;
  s.uptime_ms = 10423;
  s.quorum_size = 3;
  leader_stats ld;
  ld.synced_followers = 2;
  ld.learners = 2;
  ld.leader_uptime_ms = 10254;
  s.leader = ld;
  CHECK(flw::mntr(s) == "zk_version\t" + zk_version +
                            "\n"
                            "zk_server_state\tleader\n"
                            "zk_peer_state\tleading - broadcast\n"
                            "zk_ephemerals_count\t0\n"
                            "zk_num_alive_connections\t1\n"
                            "zk_avg_latency\t0.0\n"
                            "zk_min_proposal_size\t-1\n"
                            "zk_outstanding_requests\t0\n"
                            "zk_znode_count\t5\n"
                            "zk_global_sessions\t0\n"
                            "zk_non_mtls_remote_conn_count\t0\n"
                            "zk_last_client_response_size\t-1\n"
                            "zk_packets_sent\t3\n"
                            "zk_packets_received\t4\n"
                            "zk_max_proposal_size\t-1\n"
                            "zk_max_client_response_size\t-1\n"
                            "zk_synced_followers\t2\n"
                            "zk_connection_drop_probability\t0.0\n"
                            "zk_watch_count\t0\n"
                            "zk_synced_non_voting_followers\t0\n"
                            "zk_synced_observers\t0\n"
                            "zk_auth_failed_count\t0\n"
                            "zk_min_latency\t0\n"
                            "zk_max_file_descriptor_count\t20000\n"
                            "zk_approximate_data_size\t182\n"
                            "zk_open_file_descriptor_count\t271\n"
                            "zk_last_proposal_size\t-1\n"
                            "zk_pending_syncs\t0\n"
                            "zk_leader_uptime\t10254\n"
                            "zk_local_sessions\t0\n"
                            "zk_uptime\t10423\n"
                            "zk_max_latency\t0\n"
                            "zk_outstanding_tls_handshake\t0\n"
                            "zk_learners\t2\n"
                            "zk_min_client_response_size\t-1\n"
                            "zk_non_mtls_local_conn_count\t0\n"
                            "zk_quorum_size\t3\n");

  s.server_state = "follower";
  s.peer_state = "following - broadcast";
  s.leader.reset();
  s.open_file_descriptor_count = 269;
  s.uptime_ms = 10294;
  CHECK(flw::mntr(s) == "zk_version\t" + zk_version +
                            "\n"
                            "zk_server_state\tfollower\n"
                            "zk_peer_state\tfollowing - broadcast\n"
                            "zk_ephemerals_count\t0\n"
                            "zk_num_alive_connections\t1\n"
                            "zk_avg_latency\t0.0\n"
                            "zk_outstanding_requests\t0\n"
                            "zk_znode_count\t5\n"
                            "zk_global_sessions\t0\n"
                            "zk_non_mtls_remote_conn_count\t0\n"
                            "zk_last_client_response_size\t-1\n"
                            "zk_packets_sent\t3\n"
                            "zk_packets_received\t4\n"
                            "zk_max_client_response_size\t-1\n"
                            "zk_connection_drop_probability\t0.0\n"
                            "zk_watch_count\t0\n"
                            "zk_auth_failed_count\t0\n"
                            "zk_min_latency\t0\n"
                            "zk_max_file_descriptor_count\t20000\n"
                            "zk_approximate_data_size\t182\n"
                            "zk_open_file_descriptor_count\t269\n"
                            "zk_local_sessions\t0\n"
                            "zk_uptime\t10294\n"
                            "zk_max_latency\t0\n"
                            "zk_outstanding_tls_handshake\t0\n"
                            "zk_min_client_response_size\t-1\n"
                            "zk_non_mtls_local_conn_count\t0\n"
                            "zk_quorum_size\t3\n");
}

TEST_CASE("mntr on an observer names the leader it syncs with") {
  // Captured from a 3.8.0 observer (server 4) of a leader with id 3: the
  // observer_master_id gauge follows peer_state, the rest is a follower's.
  server_stats s;
  s.version = zk_version;
  s.server_state = "observer";
  s.peer_state = "observing - broadcast";
  s.observer_master_id = 3;
  s.quorum_size = 3;
  auto text = flw::mntr(s);
  CHECK(text.find("zk_server_state\tobserver\n"
                  "zk_peer_state\tobserving - broadcast\n"
                  "zk_observer_master_id\t3\n"
                  "zk_ephemerals_count\t0\n") != std::string::npos);
  CHECK(text.find("zk_synced_observers") == std::string::npos);
  CHECK(text.find("zk_learners") == std::string::npos);
  const std::string last = "\nzk_quorum_size\t3\n";
  REQUIRE(text.size() > last.size());
  CHECK(text.substr(text.size() - last.size()) == last);
  // Not serving (syncing again): the refusal, as for every other mode.
  s.serving = false;
  CHECK(flw::mntr(s) ==
        "This ZooKeeper instance is not currently serving requests\n");
  CHECK(flw::srvr(s) ==
        "This ZooKeeper instance is not currently serving requests\n");
  CHECK(flw::isro(s) == "null");
  CHECK(flw::ruok() == "imok");
}

TEST_CASE("watch summaries and dumps") {
  // Captured: session ...01 watches /w/x and /w/missing, ...00 /w/x.
  server_stats s;
  s.watching_connections = 2;
  s.watched_paths = 2;
  s.total_watches = 3;
  CHECK(flw::wchs(s) == "2 connections watching 2 paths\nTotal watches:3\n");
  s.watches_by_session_list = {{0x10000054b350001LL, {"/w/x", "/w/missing"}},
                               {0x10000054b350000LL, {"/w/x"}}};
  CHECK(flw::wchc(s) == "0x10000054b350001\n"
                        "\t/w/x\n"
                        "\t/w/missing\n"
                        "0x10000054b350000\n"
                        "\t/w/x\n"
                        "\n");
  s.watches_by_path_list = {
      {"/w/x", {0x10000054b350000LL, 0x10000054b350001LL}},
      {"/w/missing", {0x10000054b350001LL}}};
  CHECK(flw::wchp(s) == "/w/x\n"
                        "\t0x10000054b350000\n"
                        "\t0x10000054b350001\n"
                        "/w/missing\n"
                        "\t0x10000054b350001\n"
                        "\n");
  // With no watches ZooKeeper prints a lone newline for wchc and wchp.
  server_stats empty;
  CHECK(flw::wchs(empty) == "0 connections watching 0 paths\n"
                            "Total watches:0\n");
  CHECK(flw::wchc(empty) == "\n");
  CHECK(flw::wchp(empty) == "\n");
}

TEST_CASE("dump on a standalone server") {
  server_stats s;
  // Sat Nov 21 23:46:26 UTC 2026 and four seconds later.
  s.session_buckets = {
      {1795304786000, {0x10000054b350001LL, 0x10000054b350000LL}}};
  s.ephemerals = {{0x10000054b350000LL, {"/w/eph", "/w/eph2"}}};
  s.connection_buckets = {{1795304790000,
                           {{"/127.0.0.1:41882", 0x10000054b350001LL},
                            {"/127.0.0.1:41866", 0x10000054b350000LL},
                            {"/127.0.0.1:41944", 0}}}};
  CHECK(flw::dump(s) == "SessionTracker dump:\n"
                        "Session Sets (1)/(2):\n"
                        "2 expire at Sat Nov 21 23:46:26 UTC 2026:\n"
                        "\t0x10000054b350001\n"
                        "\t0x10000054b350000\n"
                        "ephemeral nodes dump:\n"
                        "Sessions with Ephemerals (1):\n"
                        "0x10000054b350000:\n"
                        "\t/w/eph\n"
                        "\t/w/eph2\n"
                        "Connections dump:\n"
                        "Connections Sets (1)/(3):\n"
                        "3 expire at Sat Nov 21 23:46:30 UTC 2026:\n"
                        "\tip: /127.0.0.1:41882 sessionId: 0x10000054b350001\n"
                        "\tip: /127.0.0.1:41866 sessionId: 0x10000054b350000\n"
                        "\tip: /127.0.0.1:41944 sessionId: 0x0\n");
}

TEST_CASE("dump on a follower lists global sessions with timeouts") {
  server_stats s;
  s.learner_dump = true;
  s.connection_buckets = {{1795304830000, {{"/127.0.0.1:48874", 0}}}};
  CHECK(flw::dump(s) == "SessionTracker dump:\n"
                        "Global Sessions(0):\n"
                        "ephemeral nodes dump:\n"
                        "Sessions with Ephemerals (0):\n"
                        "Connections dump:\n"
                        "Connections Sets (1)/(1):\n"
                        "1 expire at Sat Nov 21 23:47:10 UTC 2026:\n"
                        "\tip: /127.0.0.1:48874 sessionId: 0x0\n");
  s.learner_sessions.emplace_back(0x30000a1b2c30001LL, 30000);
  s.learner_sessions.emplace_back(0x10000a1b2c30000LL, 10000);
  auto text = flw::dump(s);
  CHECK(text.find("Global Sessions(2):\n"
                  "0x10000a1b2c30000\t10000ms\n"
                  "0x30000a1b2c30001\t30000ms\n"
                  "ephemeral nodes dump:\n") != std::string::npos);
}

TEST_CASE("a server that is not serving says so") {
  // Captured from the last member of a quorum whose peers were stopped.
  server_stats s;
  s.serving = false;
  const std::string line =
      "This ZooKeeper instance is not currently serving requests\n";
  four_letter_whitelist all{"*"};
  for (auto w :
       {four_letter_word::srvr, four_letter_word::stat, four_letter_word::cons,
        four_letter_word::conf, four_letter_word::mntr, four_letter_word::wchs,
        four_letter_word::wchc, four_letter_word::wchp, four_letter_word::dump,
        four_letter_word::dirs, four_letter_word::crst, four_letter_word::srst})
    CHECK(answer(w, all, s) == line);
  CHECK(answer(four_letter_word::isro, all, s) == "null");
  CHECK(answer(four_letter_word::ruok, all, s) == "imok");
  // hash alone prints it without the newline.
  CHECK(answer(four_letter_word::hash, all, s) ==
        "This ZooKeeper instance is not currently serving requests");
}

TEST_CASE("small answers") {
  server_stats s;
  s.conf.data_dir_size = 67109337;
  s.conf.data_log_size = 67109337;
  CHECK(flw::dirs(s) == "datadir_size: 67109337\nlogdir_size: 67109337\n");
  CHECK(flw::crst(s) == "Connection stats reset.\n");
  CHECK(flw::srst(s) == "Server stats reset.\n");
  CHECK(flw::gtmk(s) == "306");
  s.trace_mask = 0;
  CHECK(flw::stmk(s) == "0");
  CHECK(flw::ruok() == "imok");
  CHECK(flw::hash(s).empty());
  s.digests = {{0x100000004LL, 1234567890123LL}, {0x100000005LL, -5}};
  CHECK(flw::hash(s) == "100000004: 1234567890123\n100000005: -5\n");
}

TEST_CASE("last operation names follow FinalRequestProcessor") {
  CHECK(last_operation_name(wire::op::ping) == "PING");
  CHECK(last_operation_name(wire::op::create_session) == "SESS");
  CHECK(last_operation_name(wire::op::create2) == "CREA");
  CHECK(last_operation_name(wire::op::create_container) == "CREA");
  CHECK(last_operation_name(wire::op::remove) == "DELE");
  CHECK(last_operation_name(wire::op::get_data) == "GETD");
  CHECK(last_operation_name(wire::op::get_children2) == "GETC");
  CHECK(last_operation_name(wire::op::get_all_children_number) == "GETACN");
  CHECK(last_operation_name(wire::op::whoami) == "HOMI");
  CHECK(last_operation_name(wire::op::set_watches2) == "STW2");
  CHECK(last_operation_name(wire::op::auth) == "NA");
}

TEST_CASE("Java formatting helpers") {
  CHECK(java_socket_address("127.0.0.1", 2181) == "/127.0.0.1:2181");
  CHECK(java_socket_address("0:0:0:0:0:0:0:1", 5) == "/[0:0:0:0:0:0:0:1]:5");
  CHECK(java_date_utc(0) == "Thu Jan 01 00:00:00 UTC 1970");
  CHECK(java_date_utc(1795304786999) == "Sat Nov 21 23:46:26 UTC 2026");
  CHECK(java_date_utc(-1) == "Wed Dec 31 23:59:59 UTC 1969");
  CHECK(java_hex(0) == "0");
  CHECK(java_hex(-1) == "ffffffffffffffff");
  CHECK(java_hex(0x100000004LL) == "100000004");

  CHECK(java_double(0.0) == "0.0");
  CHECK(java_double(4.3077) == "4.3077");
  CHECK(java_double(17.75) == "17.75");
  CHECK(java_double(1.0) == "1.0");
  CHECK(java_double(100.0) == "100.0");
  CHECK(java_double(0.001) == "0.001");
  CHECK(java_double(0.0001) == "1.0E-4");
  CHECK(java_double(0.00025) == "2.5E-4");
  CHECK(java_double(1234567.5) == "1234567.5");
  CHECK(java_double(1e7) == "1.0E7");
  CHECK(java_double(12345678.9) == "1.23456789E7");
  CHECK(java_double(0.1) == "0.1");
  CHECK(java_double(-2.5) == "-2.5");

  CHECK(java_avg_latency(latency_stats{}) == "0.0");
  CHECK(java_avg_latency(latency(13, 56, 1, 27)) == "4.3077");
  CHECK(java_avg_latency(latency(3, 1, 0, 1)) == "0.3333");
  CHECK(java_avg_latency(latency(3, 2, 0, 1)) == "0.6667");
  // 1/32 = 0.03125 is a tie: HALF_UP gives 0.0313.
  CHECK(java_avg_latency(latency(32, 1, 0, 1)) == "0.0313");
  // Below 1e-3 Java switches to scientific notation.
  CHECK(java_avg_latency(latency(10000, 1, 0, 1)) == "1.0E-4");
  CHECK(java_avg_latency(latency(2, 10, 5, 5)) == "5.0");

  latency_stats l;
  l.record(5);
  l.record(2);
  l.record(9);
  CHECK(l.count == 3);
  CHECK(l.min_ms == 2);
  CHECK(l.max_ms == 9);
  CHECK(l.total_ms == 16);
}
