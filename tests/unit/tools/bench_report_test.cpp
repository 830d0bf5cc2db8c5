#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bin/tools/bench_engine.hpp"
#include "bin/tools/bench_proto.hpp"
#include "bin/tools/bench_report.hpp"
#include "messages/wire/reply.hpp"

using namespace zkd::tools::bench;
namespace wire = zkd::wire;

namespace {

// A MultiResponse body as the server side of messages/wire writes it.
std::string multi_body(const std::vector<wire::multi_result>& results) {
  std::vector<char> out;
  wire::writer w{out};
  wire::write_multi_response(w, results);
  return std::string(out.begin(), out.end());
}

} // namespace

TEST_CASE("code names are KeeperException.Code's") {
  CHECK(code_name(0) == "OK");
  CHECK(code_name(-4) == "CONNECTIONLOSS");
  CHECK(code_name(-7) == "OPERATIONTIMEOUT");
  CHECK(code_name(-101) == "NONODE");
  CHECK(code_name(-110) == "NODEEXISTS");
  CHECK(code_name(-111) == "NOTEMPTY");
  CHECK(code_name(-127) == "THROTTLEDOP");
  CHECK(code_name(-9999) == "UNKNOWN(-9999)");
}

TEST_CASE("a multi's outcome is the code of the op that failed") {
  wire::stat st;
  CHECK(multi_outcome(multi_body({wire::multi_set_data_result(st),
                                  wire::multi_create_result("/a"),
                                  wire::multi_empty_result(wire::op::remove),
                                  wire::multi_create2_result("/b", st)})) == 0);
  // ZooKeeper: OK before the failed op, its code, then RUNTIMEINCONSISTENCY.
  CHECK(multi_outcome(multi_body({wire::multi_error_result(0),
                                  wire::multi_error_result(-110),
                                  wire::multi_error_result(-2)})) == -110);
  CHECK(multi_outcome(multi_body({wire::multi_error_result(-101),
                                  wire::multi_error_result(-2)})) == -101);
  CHECK(multi_outcome(multi_body({})) == 0);
  auto cut = multi_body({wire::multi_create_result("/a")});
  cut.resize(cut.size() - 3);
  CHECK(multi_outcome(cut) == -5);
  CHECK(multi_outcome("") == -5);
}

TEST_CASE("a reply header parses and leaves the body") {
  std::vector<char> out;
  wire::get_data_response body;
  body.data = std::string("xyz");
  wire::append_reply(out, wire::reply_header{7, 0x100000002, 0}, &body);
  reply r;
  REQUIRE(parse_reply(std::string_view(out.data() + 4, out.size() - 4), r));
  CHECK(r.xid == 7);
  CHECK(r.zxid == 0x100000002);
  CHECK(r.err == 0);
  wire::get_data_response back;
  REQUIRE(wire::decode(r.body, back));
  CHECK(back.data == std::string("xyz"));
  CHECK_FALSE(parse_reply(std::string_view(out.data() + 4, 10), r));
}

TEST_CASE("requests are framed as ZooKeeper's clients frame them") {
  std::vector<char> out;
  wire::get_data_request rq{"/k", true};
  append_request(out, 5, wire::op::get_data, rq);
  std::string_view frame(out.data(), out.size());
  REQUIRE(out.size() > 4);
  wire::request back;
  REQUIRE(wire::decode_request(frame.substr(4), back) ==
          wire::decode_status::ok);
  CHECK(back.hdr.xid == 5);
  CHECK(back.hdr.type == wire::op::get_data);
  CHECK(std::get<wire::get_data_request>(back.body).path == "/k");
  CHECK(std::get<wire::get_data_request>(back.body).watch);
  // The length prefix counts what follows it.
  auto len = (static_cast<unsigned char>(out[2]) << 8) |
             static_cast<unsigned char>(out[3]);
  CHECK(static_cast<size_t>(len) == out.size() - 4);
}

TEST_CASE("node names are unique per session and sequence") {
  CHECK(node_name("/p/create", "ab12", 3, 17) == "/p/create/ab12-3-17");
  CHECK(node_name("/p", "t", 0, 0) != node_name("/p", "t", 0, 1));
  CHECK(node_name("/p", "t", 1, 11) != node_name("/p", "t", 11, 1));
}

TEST_CASE("the JSON line carries the counts, percentiles and errors") {
  report r;
  r.opts.load = workload::create;
  r.successes = 98;
  r.errors["NODEEXISTS"] = 2;
  r.elapsed_s = 2.0;
  for (uint64_t v = 1; v <= 20; ++v)
    r.latency.record(v * 100); // 0.1 .. 2.0 us, recorded exactly
  r.dir = "/zkd-bench/create";
  r.created = 98;
  auto js = format_json(r);
  CHECK(js.find('\n') == std::string::npos);
  CHECK(js.find("\"workload\":\"create\"") != std::string::npos);
  CHECK(js.find("\"ops\":100,") != std::string::npos);
  CHECK(js.find("\"successes\":98,") != std::string::npos);
  CHECK(js.find("\"errors_total\":2,") != std::string::npos);
  CHECK(js.find("\"ops_per_s\":50.0,") != std::string::npos);
  CHECK(js.find("\"p50_us\":1.0,") != std::string::npos);
  CHECK(js.find("\"p90_us\":1.8,") != std::string::npos);
  CHECK(js.find("\"p99_us\":2.0,") != std::string::npos);
  CHECK(js.find("\"max_us\":2.0,") != std::string::npos);
  CHECK(js.find("\"errors\":{\"NODEEXISTS\":2}") != std::string::npos);
  CHECK(js.find("\"dir\":\"/zkd-bench/create\",\"created\":98") !=
        std::string::npos);
  auto text = format_text(r);
  CHECK(text.find("NODEEXISTS: 2") != std::string::npos);
  CHECK(text.find("100 in 2.00 s = 50 ops/s") != std::string::npos);
}
