// serve_watches: setWatches, setWatches2, addWatch, checkWatches and
// removeWatches turned into reply frames and work for the watch dispatcher.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "actors/datatree/serve_watches.hpp"
#include "harness.hpp"
#include "messages/wire/jute.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/records.hpp"

using namespace zkd;
using namespace zkd::datatree;
using namespace zkd::datatree::test;
using item = local::dispatch_item;

namespace {

wire::watcher_event event_of(const item& i) {
  auto v = decode(i.frame);
  CHECK(v.hdr.xid == wire::xid::notification);
  CHECK(v.hdr.zxid == -1);
  auto r = v.body();
  wire::watcher_event ev;
  REQUIRE(wire::read(r, ev));
  CHECK(ev.state == static_cast<int32_t>(wire::keeper_state::sync_connected));
  return ev;
}

template <class Body>
wire::request request_of(int32_t type, int32_t xid, Body body) {
  wire::request rq;
  rq.hdr.type = type;
  rq.hdr.xid = xid;
  rq.body = std::move(body);
  return rq;
}

read_reply serve(const tree& t, const wire::request& rq) {
  REQUIRE(is_watch_request(rq.hdr.type));
  read_reply out;
  serve_watch_request(t, 5, rq, out);
  return out;
}

int32_t ev(wire::event_type t) {
  return static_cast<int32_t>(t);
}
int32_t kind(local::watch_kind k) {
  return static_cast<int32_t>(k);
}

} // namespace

TEST_CASE("addWatch replies {0} and registers the mode asked for") {
  harness h;
  auto zxid = h.t.last_zxid();
  for (auto [mode, expected] :
       {std::pair{0, local::watch_kind::persistent},
        std::pair{1, local::watch_kind::persistent_recursive}}) {
    // Missing nodes and paths ZooKeeper would never create are fine too.
    for (std::string path : {"/missing", "/", "abc", ""}) {
      auto out = serve(h.t, request_of(op::add_watch, 9,
                                       wire::add_watch_request{path, mode}));
      CHECK(out.watch == expected);
      CHECK(out.watch_path == path);
      CHECK(out.events_before.empty());
      auto v = decode(out.frame);
      CHECK(v.hdr.xid == 9);
      CHECK(v.hdr.zxid == zxid);
      CHECK(v.hdr.err == 0);
      CHECK(v.body().remaining() == 4);
      CHECK(v.bytes.substr(v.body_at) ==
            std::string("\0\0\0\0", 4)); // ErrorResponse{0}
    }
  }
}

TEST_CASE("addWatch with an unknown mode is ZMARSHALLINGERROR, nothing set") {
  harness h;
  for (int mode : {2, -1, 7}) {
    auto out = serve(
        h.t, request_of(op::add_watch, 3, wire::add_watch_request{"/p", mode}));
    CHECK(out.watch == local::watch_kind::none);
    auto v = decode(out.frame);
    CHECK(v.hdr.err == static_cast<int32_t>(wire::err::marshalling_error));
    CHECK(v.body().remaining() == 0);
  }
}

TEST_CASE("checkWatches and removeWatches go to the dispatcher") {
  harness h;
  h.open_session(5);
  h.run(5, create_rq("/a"));
  auto zxid = h.t.last_zxid();
  for (auto [op_code, expected_kind] :
       {std::pair{op::check_watches, item::check_watches},
        std::pair{op::remove_watches, item::remove_watches}}) {
    for (int type : {1, 2, 3}) {
      wire::request rq;
      if (op_code == op::check_watches)
        rq = request_of(op_code, 11, wire::check_watches_request{"/a", type});
      else
        rq = request_of(op_code, 11, wire::remove_watches_request{"/a", type});
      auto out = serve(h.t, rq);
      CHECK(out.frame.empty()); // the dispatcher answers
      REQUIRE(out.events_before.size() == 1);
      auto& i = out.events_before[0];
      CHECK(i.kind == expected_kind);
      CHECK(i.session == 5);
      CHECK(i.type == type);
      CHECK(i.path == "/a");
      CHECK(i.xid == 11);
      CHECK(i.zxid == zxid);
    }
    // WatcherType.fromInt throws: ZMARSHALLINGERROR from here.
    for (int type : {0, 4, -1}) {
      wire::request rq;
      if (op_code == op::check_watches)
        rq = request_of(op_code, 12, wire::check_watches_request{"/a", type});
      else
        rq = request_of(op_code, 12, wire::remove_watches_request{"/a", type});
      auto out = serve(h.t, rq);
      CHECK(out.events_before.empty());
      auto v = decode(out.frame);
      CHECK(v.hdr.xid == 12);
      CHECK(v.hdr.err == static_cast<int32_t>(wire::err::marshalling_error));
    }
  }
}

TEST_CASE("setWatches2 fires what changed, registers the rest, in "
          "ZooKeeper's order") {
  harness h;
  h.open_session(5);
  h.run(5, create_rq("/t"));
  h.run(5, create_rq("/same"));
  auto rel = h.t.last_zxid();
  h.run(5, set_rq("/t", "x"));
  h.run(5, create_rq("/s1"));
  h.run(5, create_rq("/t/n"));
  wire::set_watches2 sw;
  sw.relative_zxid = rel;
  sw.data_watches = {"/t", "/s0", "/same"};
  sw.exist_watches = {"/s1", "/s2"};
  sw.child_watches = {"/t", "/", "/same"};
  sw.persistent_watches = {"/pp"};
  sw.persistent_recursive_watches = {"/t"};
  auto out = serve(h.t, request_of(op::set_watches2, -8, sw));
  auto& items = out.events_before;
  REQUIRE(items.size() == 10);
  CHECK(event_of(items[0]).type == ev(wire::event_type::node_data_changed));
  CHECK(event_of(items[0]).path == "/t");
  CHECK(event_of(items[1]).type == ev(wire::event_type::node_deleted));
  CHECK(event_of(items[1]).path == "/s0");
  CHECK(items[2].type == kind(local::watch_kind::data));
  CHECK(items[2].path == "/same");
  CHECK(items[2].frame.empty());
  CHECK(event_of(items[3]).type == ev(wire::event_type::node_created));
  CHECK(event_of(items[3]).path == "/s1");
  CHECK(items[4].type == kind(local::watch_kind::exist));
  CHECK(items[4].path == "/s2");
  CHECK(event_of(items[5]).type == ev(wire::event_type::node_children_changed));
  CHECK(event_of(items[5]).path == "/t");
  CHECK(event_of(items[6]).type == ev(wire::event_type::node_children_changed));
  CHECK(event_of(items[6]).path == "/");
  CHECK(items[7].type == kind(local::watch_kind::child));
  CHECK(items[7].path == "/same");
  CHECK(items[8].type == kind(local::watch_kind::persistent));
  CHECK(items[8].path == "/pp");
  CHECK(items[9].type == kind(local::watch_kind::persistent_recursive));
  CHECK(items[9].path == "/t");
  for (auto& i : items) {
    CHECK(i.kind == item::reply);
    CHECK(i.session == 5);
  }
  auto v = decode(out.frame);
  CHECK(v.hdr.xid == -8);
  CHECK(v.hdr.zxid == h.t.last_zxid());
  CHECK(v.hdr.err == 0);
  CHECK(v.body().remaining() == 0);
}

TEST_CASE("setWatches answers with the request's own xid") {
  // Clients send -8; ZooKeeper echoes whatever came.
  harness h;
  wire::set_watches sw;
  auto out = serve(h.t, request_of(op::set_watches, 77, sw));
  CHECK(out.events_before.empty());
  CHECK(decode(out.frame).hdr.xid == 77);
}
