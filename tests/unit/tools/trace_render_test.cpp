// zkd trace render: parsing, merging, filters, time windows and both
// output formats, on traces written out by hand.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>

#include "actors/tracer/record.hpp"
#include "actors/tracer/tracer.hpp"
#include "bin/tools/trace_render.hpp"
#include "config/config.hpp"

using namespace zkd::tools::trace;
using zkd::tracer::json;

namespace {

// wall - mono = 1'700'000'000'000'000'000 on node 1, and a different
// monotonic base (another machine) on node 2.
constexpr int64_t base_wall = 1'700'000'000'000'000'000;

std::string line(int64_t mono, int64_t wall, int node, const char* from,
                 const char* to, const char* type, const char* fields,
                 const char* extra = "") {
  return "{\"mono_ns\":" + std::to_string(mono) +
         ",\"wall_ns\":" + std::to_string(wall) +
         ",\"node\":" + std::to_string(node) + ",\"from\":\"" + from +
         "\",\"to\":\"" + to + "\"" + extra + ",\"type\":\"" + type +
         "\",\"fields\":{" + fields + "}}\n";
}

std::string node1_trace() {
  return line(1000, base_wall + 1000, 1, "connection#12", "datatree#5",
              "request_batch", R"("session":"0x1000","n":1,"xid":1)") +
         line(2000, base_wall + 2000, 1, "datatree#5", "leader#6", "propose",
              R"("zxid":"0x100000001","n":1,"op":"create","path":"/a;b#c")") +
         "this is not json\n" +
         line(3000, base_wall + 3000, 1, "leader#6", "follower#9", "proposal",
              R"("zxid":"0x100000001")", ",\"to_node\":2") +
         "\n" +
         line(6000, base_wall + 6000, 1, "leader#6", "txn_log#3", "log_append",
              R"("zxid":"0x100000001","zxid_last":"0x100000003","n":3)") +
         "{\"mono_ns\":1}\n";
}

std::string node2_trace() {
  // Monotonic clock 10 s apart from node 1's; the wall clock agrees.
  return line(10'000'004'000, base_wall + 4000, 2, "follower#9", "leader#6",
              "ack", R"("zxid":"0x100000001")", ",\"to_node\":1") +
         line(10'000'005'000, base_wall + 5000, 2, "follower#9", "txn_log#4",
              "log_append", R"("zxid":"0x100000001","n":1)");
}

std::vector<source> two_nodes() {
  return {parse_source("n1.jsonl", node1_trace()),
          parse_source("n2.jsonl", node2_trace())};
}

std::vector<std::string> types(const std::vector<entry>& es) {
  std::vector<std::string> out;
  for (auto& e : es)
    out.push_back(e.r->type);
  return out;
}

} // namespace

TEST_CASE("bad lines are skipped and counted, blank ones ignored") {
  auto s = parse_source("n1", node1_trace());
  CHECK(s.records.size() == 4);
  CHECK(s.bad_lines == 2);
  CHECK(s.first_error.rfind("line 3: ", 0) == 0);
  auto empty = parse_source("e", "\n  \r\n");
  CHECK(empty.records.empty());
  CHECK(empty.bad_lines == 0);
}

TEST_CASE("nodes merge on wall time, each node ordered by its own clock") {
  auto srcs = two_nodes();
  auto m = merge(srcs);
  CHECK(types(m) == std::vector<std::string>{"request_batch", "propose",
                                             "proposal", "ack", "log_append",
                                             "log_append"});
  CHECK(m.front().t_ns == base_wall + 1000);
  CHECK(m.back().r->node == 1);
}

TEST_CASE("a stepped wall clock does not reorder one node's lines") {
  // The third line's wall clock jumped back 1 s; its monotonic time did not.
  std::string t =
      line(100, base_wall + 100, 1, "a#1", "b#2", "first", "") +
      line(200, base_wall + 200, 1, "a#1", "b#2", "second", "") +
      line(300, base_wall - 1'000'000'000, 1, "a#1", "b#2", "third", "");
  std::vector<source> srcs{parse_source("t", t)};
  auto m = merge(srcs);
  CHECK(types(m) == std::vector<std::string>{"first", "second", "third"});
  CHECK(m[2].t_ns == base_wall + 300);
}

TEST_CASE("filters select by actor, node, type and fields") {
  auto srcs = two_nodes();
  auto m = merge(srcs);
  auto pick = [&](std::initializer_list<const char*> specs) {
    filter f;
    for (auto s : specs)
      REQUIRE(f.add(s) == "");
    return types(select(m, f, std::nullopt, std::nullopt));
  };
  using v = std::vector<std::string>;
  CHECK(pick({"actor=txn_log"}) == v{"log_append", "log_append"});
  CHECK(pick({"actor=txn_log#4"}) == v{"log_append"});
  // The ack goes from node 2 to the leader on node 1.
  CHECK(pick({"actor=2:leader"}).empty());
  CHECK(pick({"actor=1:leader"}) ==
        v{"propose", "proposal", "ack", "log_append"});
  CHECK(pick({"node=2"}) == v{"proposal", "ack", "log_append"});
  CHECK(pick({"type=ack,type=propose"}) == v{"propose", "ack"});
  // Hex or decimal, and a batch's range.
  CHECK(pick({"zxid=0x100000001"}) ==
        v{"propose", "proposal", "ack", "log_append", "log_append"});
  CHECK(pick({"zxid=4294967298"}) == v{"log_append"});
  CHECK(pick({"zxid=0x100000004"}).empty());
  CHECK(pick({"session=0x1000"}) == v{"request_batch"});
  CHECK(pick({"session=4096"}) == v{"request_batch"});
  CHECK(pick({"path=/a;b#c"}) == v{"propose"});
  // Different keys: all must match; separate --filter options add up.
  CHECK(pick({"actor=follower", "zxid=0x100000001"}) ==
        v{"proposal", "ack", "log_append"});
  CHECK(pick({"actor=follower,type=ack"}) == v{"ack"});
  filter bad;
  CHECK(bad.add("zxid") != "");
  CHECK(bad.add("=1") != "");
  CHECK(bad.add("zxid=") != "");
}

TEST_CASE("times: relative, epoch seconds and ISO 8601") {
  int64_t origin = base_wall;
  CHECK(parse_time("+1.5s", origin) == origin + 1'500'000'000);
  CHECK(parse_time("+2", origin) == origin + 2'000'000'000);
  CHECK(parse_time("+20ms", origin) == origin + 20'000'000);
  CHECK(parse_time("+80us", origin) == origin + 80'000);
  CHECK(parse_time("+100ns", origin) == origin + 100);
  CHECK(parse_time("1700000000.25", 0) == base_wall + 250'000'000);
  CHECK(parse_time("2023-11-14T22:13:20Z", 0) == base_wall);
  CHECK(parse_time("2023-11-14T22:13:20.000000123Z", 0) == base_wall + 123);
  CHECK(parse_time("2023-11-14T22:13:20", 0) == base_wall);
  CHECK(parse_time("2023-11-15T00:13:20+02:00", 0) == base_wall);
  CHECK(parse_time("1970-01-01T00:00:00Z", 5) == 0);
  for (const char* bad :
       {"", "+", "+1.5x", "abc", "2023-13-01T00:00:00Z", "2023-11-14T22:13",
        "2023-11-14T22:13:20Q", "2023-11-14T22:13:20."})
    CHECK_FALSE(parse_time(bad, origin));
}

TEST_CASE("a time window keeps what is inside, both ends included") {
  auto srcs = two_nodes();
  auto m = merge(srcs);
  filter none;
  auto from = parse_time("+2us", m.front().t_ns);
  auto to = parse_time("+4us", m.front().t_ns);
  CHECK(types(select(m, none, from, to)) ==
        std::vector<std::string>{"proposal", "ack", "log_append"});
  CHECK(types(select(m, none, std::nullopt, from)).size() == 3);
}

TEST_CASE("a known trace gives a known Mermaid diagram") {
  auto srcs = two_nodes();
  auto m = merge(srcs);
  auto text = render_mermaid(m);
  CHECK(text ==
        "sequenceDiagram\n"
        "    %% 6 messages from 2023-11-14T22:13:20.000001000Z to "
        "2023-11-14T22:13:20.000006000Z\n"
        "    participant n1_connection_12 as n1 connection#35;12\n"
        "    participant n1_datatree_5 as n1 datatree#35;5\n"
        "    participant n1_leader_6 as n1 leader#35;6\n"
        "    participant n2_follower_9 as n2 follower#35;9\n"
        "    participant n2_txn_log_4 as n2 txn_log#35;4\n"
        "    participant n1_txn_log_3 as n1 txn_log#35;3\n"
        "    n1_connection_12->>n1_datatree_5: request_batch(session=0x1000, "
        "n=1, xid=1)\n"
        "    n1_datatree_5->>n1_leader_6: propose(zxid=0x100000001, n=1, "
        "op=create, path=/a#59;b#35;c)\n"
        "    n1_leader_6->>n2_follower_9: proposal(zxid=0x100000001)\n"
        "    n2_follower_9->>n1_leader_6: ack(zxid=0x100000001)\n"
        "    n2_follower_9->>n2_txn_log_4: log_append(zxid=0x100000001, n=1)\n"
        "    n1_leader_6->>n1_txn_log_3: log_append(zxid=0x100000001, "
        "zxid_last=0x100000003, n=3)\n");
}

TEST_CASE("one node's diagram leaves out the node; text is made safe") {
  std::string t =
      line(1, base_wall, 1, "leader#6", "leader#6", "tick", "") +
      line(
          2, base_wall, 1, "client#3", "connection#3", "request",
          R"("path":"/%%x<y>&z\n","data":"0123456789012345678901234567890123456789012345678901234567890123")");
  std::vector<source> srcs{parse_source("t", t)};
  auto text = render_mermaid(merge(srcs));
  CHECK(text.find("participant n1_leader_6 as leader#35;6\n") !=
        std::string::npos);
  CHECK(text.find("n1_leader_6->>n1_leader_6: tick\n") != std::string::npos);
  CHECK(text.find("request(path=/#37;#37;x#lt;y#gt;#38;z , data="
                  "012345678901234567890123456789012345678901234567...)") !=
        std::string::npos);
  // Nothing the Mermaid lexer stops at is left in a message.
  for (auto pos = text.find("->>"); pos != std::string::npos;
       pos = text.find("->>", pos + 1)) {
    auto colon = text.find(": ", pos);
    auto end = text.find('\n', colon);
    auto msg = text.substr(colon + 2, end - colon - 2);
    for (size_t i = 0; i < msg.size(); ++i) {
      if (msg[i] == '#') {
        auto semi = msg.find(';', i);
        REQUIRE(semi != std::string::npos);
        i = semi;
      } else {
        CHECK(msg[i] != ';');
        CHECK(msg[i] != '%');
      }
    }
  }
  CHECK(render_mermaid({}) == "sequenceDiagram\n");
}

TEST_CASE("the Perfetto trace is valid trace-event JSON") {
  auto srcs = two_nodes();
  auto m = merge(srcs);
  auto text = render_perfetto(m);
  std::string why;
  auto doc = zkd::tracer::parse_json(text, &why);
  INFO(why);
  REQUIRE(doc);
  auto* events = doc->find("traceEvents");
  REQUIRE(events);
  REQUIRE(events->t == json::type::array);
  std::map<std::pair<std::string, std::string>, std::string> thread_names;
  std::set<std::string> processes;
  size_t slices = 0;
  std::map<std::string, int> flow_ends;
  std::map<std::pair<std::string, std::string>, double> last_end;
  for (auto& e : events->items) {
    auto ph = e.find("ph")->text;
    auto pid = e.find("pid")->text;
    if (ph == "M") {
      if (e.find("name")->text == "process_name")
        processes.insert(e.find("args")->find("name")->text);
      if (e.find("name")->text == "thread_name")
        thread_names[{pid, e.find("tid")->text}] =
            e.find("args")->find("name")->text;
      continue;
    }
    auto tid = e.find("tid")->text;
    REQUIRE(thread_names.count({pid, tid}) == 1);
    auto ts = std::stod(e.find("ts")->text);
    CHECK(ts >= 0);
    if (ph == "X") {
      ++slices;
      auto dur = std::stod(e.find("dur")->text);
      CHECK(dur > 0);
      CHECK(dur <= 1.0);
      // Slices of one track never overlap.
      auto& end = last_end[{pid, tid}];
      CHECK(ts + 1e-6 >= end);
      end = ts + dur;
    } else {
      REQUIRE((ph == "s" || ph == "f"));
      auto id = e.find("id")->text;
      flow_ends[id] += ph == "s" ? 1 : 10;
      if (ph == "f")
        CHECK(e.find("bp")->text == "e");
    }
  }
  CHECK(processes == std::set<std::string>{"node 1", "node 2"});
  CHECK(thread_names.size() == 6);
  CHECK(thread_names[{"2", "1"}] == "follower#9");
  CHECK(slices == 2 * m.size());
  CHECK(flow_ends.size() == m.size());
  for (auto& [id, v] : flow_ends)
    CHECK(v == 11);
  // The sender's slice carries the fields.
  CHECK(text.find("\"args\":{\"to\":\"txn_log#3\",\"zxid\":\"0x100000001\","
                  "\"zxid_last\":\"0x100000003\",\"n\":3,") !=
        std::string::npos);
  REQUIRE(doc->find("otherData"));
  CHECK(doc->find("otherData")->find("start")->text ==
        "2023-11-14T22:13:20.000001000Z");
}

TEST_CASE("the tracer knows every actor kind the configuration knows") {
  for (auto& k : zkd::config::actor_kinds()) {
    INFO(k);
    auto parsed = zkd::tracer::kind_from_name(k);
    REQUIRE(parsed);
    CHECK(*parsed != zkd::tracer::kind::client);
  }
  CHECK(zkd::config::actor_kinds().size() ==
        zkd::tracer::switchable_kind_count);
}
