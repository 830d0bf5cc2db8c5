#include "actors/watch_dispatcher/watch_manager.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string>
#include <vector>

using zkd::watch_dispatcher::fired;
using zkd::watch_dispatcher::watch_kind;
using zkd::watch_dispatcher::watch_manager;
namespace wire = zkd::wire;

namespace {

std::vector<int64_t> sessions_of(const std::vector<fired>& events) {
  std::vector<int64_t> out;
  for (auto& f : events)
    out.push_back(f.session);
  return out;
}

} // namespace

TEST_CASE("NodeCreated fires data and exist watches on the path") {
  watch_manager w;
  CHECK(w.add(1, "/a", watch_kind::exist)); // exists() on a missing node
  CHECK(w.add(2, "/a", watch_kind::data));
  CHECK(w.add(3, "/a", watch_kind::child));
  CHECK(w.add(4, "/b", watch_kind::exist));
  auto ev = w.trigger("/a", wire::event_type::node_created);
  REQUIRE(sessions_of(ev) == std::vector<int64_t>{1, 2});
  CHECK(ev[0].event.type ==
        static_cast<int32_t>(wire::event_type::node_created));
  CHECK(ev[0].event.state ==
        static_cast<int32_t>(wire::keeper_state::sync_connected));
  CHECK(ev[0].event.path == "/a");
  // One-shot: gone after firing; the child watch and /b are untouched.
  CHECK(w.trigger("/a", wire::event_type::node_created).empty());
  CHECK(w.child_watch_count() == 1);
  CHECK(w.data_watch_count() == 1);
  w.check_invariants();
}

TEST_CASE("NodeDataChanged fires data watches only") {
  watch_manager w;
  w.add(1, "/a", watch_kind::data);
  w.add(2, "/a", watch_kind::child);
  auto ev = w.trigger("/a", wire::event_type::node_data_changed);
  CHECK(sessions_of(ev) == std::vector<int64_t>{1});
  CHECK(ev[0].event.type ==
        static_cast<int32_t>(wire::event_type::node_data_changed));
  CHECK(w.contains(2, "/a", wire::watcher_type::children));
  CHECK_FALSE(w.contains(1, "/a", wire::watcher_type::data));
  w.check_invariants();
}

TEST_CASE("NodeDeleted fires data and child watches, one event per session") {
  watch_manager w;
  w.add(1, "/a", watch_kind::data);
  w.add(1, "/a", watch_kind::child); // both kinds: still one event
  w.add(2, "/a", watch_kind::child);
  w.add(3, "/a", watch_kind::exist);
  w.add(4, "/a/b", watch_kind::data); // other path: untouched
  auto ev = w.trigger("/a", wire::event_type::node_deleted);
  CHECK(sessions_of(ev) == std::vector<int64_t>{1, 2, 3});
  for (auto& f : ev) {
    CHECK(f.event.type == static_cast<int32_t>(wire::event_type::node_deleted));
    CHECK(f.event.path == "/a");
  }
  CHECK(w.watch_count() == 1);
  CHECK(w.contains(4, "/a/b", wire::watcher_type::any));
  w.check_invariants();
}

TEST_CASE("NodeChildrenChanged fires child watches only") {
  watch_manager w;
  w.add(1, "/p", watch_kind::child);
  w.add(2, "/p", watch_kind::data);
  auto ev = w.trigger("/p", wire::event_type::node_children_changed);
  CHECK(sessions_of(ev) == std::vector<int64_t>{1});
  CHECK(ev[0].event.type ==
        static_cast<int32_t>(wire::event_type::node_children_changed));
  CHECK(w.watch_count() == 1);
  w.check_invariants();
}

TEST_CASE("create then delete: the datatree's two calls per change") {
  // create /p/c: NodeCreated on /p/c, NodeChildrenChanged on /p.
  watch_manager w;
  w.add(1, "/p/c", watch_kind::exist);
  w.add(2, "/p", watch_kind::child);
  w.add(3, "/p", watch_kind::data); // parent data watch: not fired
  CHECK(sessions_of(w.trigger("/p/c", wire::event_type::node_created)) ==
        std::vector<int64_t>{1});
  CHECK(sessions_of(w.trigger("/p", wire::event_type::node_children_changed)) ==
        std::vector<int64_t>{2});
  CHECK(w.watch_count() == 1);
}

TEST_CASE("other event types fire nothing") {
  watch_manager w;
  w.add(1, "/a", watch_kind::data);
  w.add(1, "/a", watch_kind::child);
  CHECK(w.trigger("/a", wire::event_type::none).empty());
  CHECK(w.trigger("/a", wire::event_type::data_watch_removed).empty());
  CHECK(w.watch_count() == 2);
}

TEST_CASE("adding the same watch twice is one watch") {
  watch_manager w;
  CHECK(w.add(1, "/a", watch_kind::data));
  CHECK_FALSE(w.add(1, "/a", watch_kind::data));
  // exist and data share ZooKeeper's data-watch table.
  CHECK_FALSE(w.add(1, "/a", watch_kind::exist));
  CHECK(w.add(1, "/a", watch_kind::child));
  CHECK(w.watch_count() == 2);
  CHECK(w.trigger("/a", wire::event_type::node_data_changed).size() == 1);
}

TEST_CASE("remove_session drops every watch of the session") {
  watch_manager w;
  w.add(1, "/a", watch_kind::data);
  w.add(1, "/b", watch_kind::child);
  w.add(2, "/a", watch_kind::data);
  w.remove_session(1);
  w.check_invariants();
  CHECK(w.watch_count() == 1);
  CHECK(sessions_of(w.trigger("/a", wire::event_type::node_deleted)) ==
        std::vector<int64_t>{2});
  CHECK(w.trigger("/b", wire::event_type::node_children_changed).empty());
  w.remove_session(99); // unknown: no-op
  CHECK(w.watch_count() == 0);
}

TEST_CASE("remove and contains by watcher type") {
  watch_manager w;
  w.add(1, "/a", watch_kind::data);
  w.add(1, "/a", watch_kind::child);
  CHECK(w.contains(1, "/a", wire::watcher_type::data));
  CHECK(w.contains(1, "/a", wire::watcher_type::children));
  CHECK_FALSE(w.contains(2, "/a", wire::watcher_type::any));
  CHECK(w.remove(1, "/a", wire::watcher_type::children));
  CHECK_FALSE(w.remove(1, "/a", wire::watcher_type::children));
  CHECK(w.contains(1, "/a", wire::watcher_type::any));
  CHECK(w.remove(1, "/a", wire::watcher_type::any));
  CHECK_FALSE(w.contains(1, "/a", wire::watcher_type::any));
  CHECK(w.watch_count() == 0);
  w.check_invariants();
}

TEST_CASE("4lw views cover the data-watch table, as ZooKeeper's do") {
  // The scenario captured from ZooKeeper 3.8: session A has a data watch on
  // /w/x and a child watch on /w; session B an exist watch on /w/missing, a
  // data watch on /w/x and a child watch on /w/x. ZooKeeper answered
  // wchs "2 connections watching 2 paths / Total watches:3" and mntr
  // zk_watch_count 5.
  const int64_t a = 0x10000054b350000LL;
  const int64_t b = 0x10000054b350001LL;
  watch_manager w;
  w.add(a, "/w/x", watch_kind::data);
  w.add(a, "/w", watch_kind::child);
  w.add(b, "/w/missing", watch_kind::exist);
  w.add(b, "/w/x", watch_kind::data);
  w.add(b, "/w/x", watch_kind::child);
  auto s = w.summary();
  CHECK(s.connections == 2);
  CHECK(s.paths == 2);
  CHECK(s.total == 3);
  CHECK(w.watch_count() == 5);

  auto bs = w.by_session();
  REQUIRE(bs.size() == 2);
  CHECK(bs[0].first == a);
  CHECK(bs[0].second == std::vector<std::string>{"/w/x"});
  CHECK(bs[1].first == b);
  CHECK(bs[1].second == std::vector<std::string>{"/w/missing", "/w/x"});

  auto bp = w.by_path();
  REQUIRE(bp.size() == 2);
  CHECK(bp[0].first == "/w/missing");
  CHECK(bp[0].second == std::vector<int64_t>{b});
  CHECK(bp[1].first == "/w/x");
  CHECK(bp[1].second == std::vector<int64_t>{a, b});

  // delete /w/x: A (data), B (data + child, one event); then /w children.
  CHECK(sessions_of(w.trigger("/w/x", wire::event_type::node_deleted)) ==
        std::vector<int64_t>{a, b});
  CHECK(sessions_of(w.trigger("/w", wire::event_type::node_children_changed)) ==
        std::vector<int64_t>{a});
  // ZooKeeper then reported zk_watch_count 1 and 1 path with 1 watch (it
  // still counted A as a connection with an empty path set; we do not).
  CHECK(w.watch_count() == 1);
  s = w.summary();
  CHECK(s.paths == 1);
  CHECK(s.total == 1);
  CHECK(s.connections == 1);
  w.check_invariants();
}

TEST_CASE("random operations keep the tables consistent") {
  std::mt19937 rng(7);
  watch_manager w;
  const char* paths[] = {"/", "/a", "/a/b", "/c", "/c/d/e"};
  const wire::event_type types[] = {wire::event_type::node_created,
                                    wire::event_type::node_deleted,
                                    wire::event_type::node_data_changed,
                                    wire::event_type::node_children_changed};
  for (int step = 0; step < 5000; ++step) {
    int64_t session = rng() % 20;
    std::string path = paths[rng() % 5];
    switch (rng() % 5) {
    case 0:
    case 1:
      w.add(session, path, static_cast<watch_kind>(rng() % 3));
      break;
    case 2: {
      auto ev = w.trigger(path, types[rng() % 4]);
      auto ids = sessions_of(ev);
      std::set<int64_t> unique(ids.begin(), ids.end());
      REQUIRE(unique.size() == ev.size());
      break;
    }
    case 3:
      w.remove(session, path, static_cast<wire::watcher_type>(1 + rng() % 3));
      break;
    default:
      if (rng() % 10 == 0)
        w.remove_session(session);
      break;
    }
    w.check_invariants();
  }
}
