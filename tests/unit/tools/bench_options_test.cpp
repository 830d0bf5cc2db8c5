#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bin/tools/bench_options.hpp"

using namespace zkd::tools::bench;

namespace {

options parse_ok(const std::vector<std::string>& args) {
  auto r = parse_options(args);
  INFO("error: " << r.error);
  REQUIRE(r.value);
  REQUIRE(r.error.empty());
  return *r.value;
}

std::string parse_error(const std::vector<std::string>& args) {
  auto r = parse_options(args);
  REQUIRE_FALSE(r.value);
  REQUIRE_FALSE(r.help);
  REQUIRE_FALSE(r.error.empty());
  return r.error;
}

} // namespace

TEST_CASE("no arguments: the documented defaults") {
  auto o = parse_ok({});
  CHECK(o.hosts == std::vector<endpoint>{{"127.0.0.1", 2181}});
  CHECK(o.load == workload::get);
  CHECK(o.sessions == 4);
  CHECK(o.outstanding == 8);
  CHECK(o.seconds == 10);
  CHECK(o.ops == 0);
  CHECK(o.warmup_seconds == 0);
  CHECK(o.size == 128);
  CHECK(o.nodes == 1000);
  CHECK(o.threads == 1);
  CHECK(o.read_pct == 90);
  CHECK(o.multi_size == 10);
  CHECK(o.multi_op == multi_kind::set);
  CHECK(o.prefix == "/zkd-bench");
  CHECK_FALSE(o.cleanup);
  CHECK_FALSE(o.json);
}

TEST_CASE("every option, in both spellings") {
  auto o = parse_ok({"--workload",
                     "mixed",
                     "--hosts",
                     "127.0.0.1:2181,localhost:2182",
                     "--sessions",
                     "64",
                     "--outstanding=32",
                     "--ops",
                     "5000",
                     "--warmup",
                     "1.5",
                     "--size=0",
                     "--nodes",
                     "100000",
                     "--threads",
                     "2",
                     "--read-pct",
                     "75",
                     "--multi-size",
                     "4",
                     "--multi-op",
                     "create",
                     "--prefix",
                     "/a/b/",
                     "--cleanup",
                     "--json",
                     "--seed",
                     "9",
                     "--session-timeout-ms",
                     "6000"});
  CHECK(o.load == workload::mixed);
  CHECK(o.hosts ==
        std::vector<endpoint>{{"127.0.0.1", 2181}, {"localhost", 2182}});
  CHECK(o.sessions == 64);
  CHECK(o.outstanding == 32);
  CHECK(o.ops == 5000);
  CHECK(o.warmup_seconds == 1.5);
  CHECK(o.size == 0);
  CHECK(o.nodes == 100000);
  CHECK(o.threads == 2);
  CHECK(o.read_pct == 75);
  CHECK(o.multi_size == 4);
  CHECK(o.multi_op == multi_kind::create);
  CHECK(o.prefix == "/a/b"); // trailing slashes dropped
  CHECK(o.cleanup);
  CHECK(o.json);
  CHECK(o.seed == 9);
  CHECK(o.session_timeout_ms == 6000);
}

TEST_CASE("the workload may come first, bare") {
  for (auto name : {"create", "set", "get", "exists", "mixed", "ephemeral",
                    "multi", "watch"}) {
    auto o = parse_ok({name, "--seconds", "1"});
    CHECK(to_string(o.load) == name);
    CHECK(workload_from_string(name) == o.load);
  }
  CHECK_FALSE(workload_from_string("sync"));
  CHECK(parse_error({"sync"}).find("unknown workload") != std::string::npos);
  // Only in first place: elsewhere a bare word is an unknown option.
  CHECK(parse_error({"--seconds", "1", "get"}).find("unknown option") !=
        std::string::npos);
}

TEST_CASE("help wins and is not an error") {
  auto r = parse_options({"get", "--help", "--bogus"});
  CHECK(r.help);
  CHECK_FALSE(r.value);
  CHECK(r.error.empty());
  CHECK(std::string(usage_text).find("--outstanding") != std::string::npos);
}

TEST_CASE("bad values are refused with the option's name") {
  CHECK(parse_error({"--sessions"}).find("--sessions needs a value") !=
        std::string::npos);
  CHECK(parse_error({"--sessions", "0"}).find("--sessions") !=
        std::string::npos);
  CHECK(parse_error({"--sessions", "-3"}).find("--sessions") !=
        std::string::npos);
  CHECK(parse_error({"--outstanding", "8x"}).find("--outstanding") !=
        std::string::npos);
  CHECK(parse_error({"--read-pct", "101"}).find("--read-pct") !=
        std::string::npos);
  CHECK(parse_error({"--seconds", "abc"}).find("--seconds") !=
        std::string::npos);
  CHECK(parse_error({"--seconds", "-1"}).find("--seconds") !=
        std::string::npos);
  CHECK(parse_error({"--seconds", "0"}).find("--seconds") != std::string::npos);
  CHECK(parse_error({"--threads", "1000"}).find("--threads") !=
        std::string::npos);
  CHECK(parse_error({"--multi-op", "delete"}).find("--multi-op") !=
        std::string::npos);
  CHECK(parse_error({"--prefix", "relative"}).find("--prefix") !=
        std::string::npos);
  CHECK(parse_error({"--prefix", "/"}).find("--prefix") != std::string::npos);
  CHECK(parse_error({"--json=yes"}).find("takes no value") !=
        std::string::npos);
  CHECK(parse_error({"--frobnicate"}).find("unknown option '--frobnicate'") !=
        std::string::npos);
}

TEST_CASE("seconds and ops exclude each other") {
  CHECK(parse_error({"--seconds", "2", "--ops", "10"}).find("exclude") !=
        std::string::npos);
  CHECK(parse_ok({"--ops", "10"}).ops == 10);
}

TEST_CASE("watch needs a writer and at least one watcher") {
  CHECK(parse_error({"watch", "--sessions", "1"}).find("watch") !=
        std::string::npos);
  CHECK(parse_ok({"watch", "--sessions", "2"}).sessions == 2);
}

TEST_CASE("more threads than sessions are not started") {
  auto o = parse_ok({"--sessions", "3", "--threads", "8"});
  CHECK(o.threads == 3);
}

TEST_CASE("host lists") {
  std::string err;
  auto h = parse_hosts("[::1]:2181,example:1", err);
  REQUIRE(h);
  CHECK(*h == std::vector<endpoint>{{"::1", 2181}, {"example", 1}});
  for (auto bad : {"", "host", "host:", ":2181", "host:0", "host:65536",
                   "host:12ab", "a:1,", "[::1]2181", "[::1"}) {
    INFO(bad);
    err.clear();
    CHECK_FALSE(parse_hosts(bad, err));
    CHECK_FALSE(err.empty());
  }
  CHECK(parse_error({"--hosts", "nope"}).find("--hosts") != std::string::npos);
}
