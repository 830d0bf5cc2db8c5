#include "actors/watch_dispatcher/watch_manager.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string>
#include <vector>

using zkd::watch_dispatcher::check_result;
using zkd::watch_dispatcher::fired;
using zkd::watch_dispatcher::watch_kind;
using zkd::watch_dispatcher::watch_manager;
using zkd::watch_dispatcher::watch_mode;
namespace wire = zkd::wire;

namespace {

std::vector<int64_t> sessions_of(const std::vector<fired>& events) {
  std::vector<int64_t> out;
  for (auto& f : events)
    out.push_back(f.session);
  return out;
}

using ids = std::vector<int64_t>;
using wire::event_type;
using wire::watcher_type;

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
  // ZooKeeper then reported zk_watch_count 1 and 1 path with 1 watch, and
  // still counted A as a connection, with an empty path set.
  CHECK(w.watch_count() == 1);
  s = w.summary();
  CHECK(s.paths == 1);
  CHECK(s.total == 1);
  CHECK(s.connections == 2);
  bs = w.by_session();
  REQUIRE(bs.size() == 2);
  CHECK(bs[0].first == a);
  CHECK(bs[0].second.empty());
  // Until A's connection goes.
  w.remove_session(a);
  CHECK(w.summary().connections == 1);
  w.check_invariants();
}

// -- persistent and recursive watches (addWatch, ZooKeeper 3.6+) -------------
// The expected sequences below were captured from ZooKeeper 3.8 (see
// tests/integration/test_watches.py, which replays them against both).

TEST_CASE("a persistent watch fires for every change on its path and stays") {
  watch_manager w;
  CHECK(w.add(1, "/p", watch_kind::persistent)); // on a missing node
  CHECK(w.watch_count() == 2);                   // one in each table
  CHECK(sessions_of(w.trigger("/p", event_type::node_created)) == ids{1});
  CHECK(sessions_of(w.trigger("/p", event_type::node_data_changed)) == ids{1});
  CHECK(sessions_of(w.trigger("/p", event_type::node_data_changed)) == ids{1});
  // A child's create and delete: NodeChildrenChanged on /p, each time. The
  // child's own events do not reach a non-recursive watch.
  CHECK(w.trigger("/p/c", event_type::node_created).empty());
  CHECK(sessions_of(w.trigger("/p", event_type::node_children_changed)) ==
        ids{1});
  CHECK(w.trigger("/p/c", event_type::node_data_changed).empty());
  CHECK(sessions_of(w.trigger("/p", event_type::node_children_changed)) ==
        ids{1});
  // Deleted: both tables hold it, one event; it survives the node.
  CHECK(sessions_of(w.trigger("/p", event_type::node_deleted)) == ids{1});
  CHECK(sessions_of(w.trigger("/p", event_type::node_created)) == ids{1});
  CHECK(w.watch_count() == 2);
  CHECK(w.data_mode(1, "/p") == watch_mode::persistent);
  CHECK(w.child_mode(1, "/p") == watch_mode::persistent);
  w.check_invariants();
}

TEST_CASE(
    "a recursive watch fires for its subtree, never NodeChildrenChanged") {
  watch_manager w;
  w.add(1, "/t", watch_kind::persistent_recursive);
  w.add(2, "/t/a", watch_kind::persistent); // not recursive: own path only
  CHECK(sessions_of(w.trigger("/t/a", event_type::node_created)) == ids{1, 2});
  CHECK(w.trigger("/t", event_type::node_children_changed).empty());
  CHECK(sessions_of(w.trigger("/t/a/b", event_type::node_created)) == ids{1});
  CHECK(sessions_of(w.trigger("/t/a", event_type::node_children_changed)) ==
        ids{2});
  CHECK(sessions_of(w.trigger("/t/a/b/c/d", event_type::node_data_changed)) ==
        ids{1});
  CHECK(sessions_of(w.trigger("/t", event_type::node_data_changed)) == ids{1});
  CHECK(sessions_of(w.trigger("/t/a/b", event_type::node_deleted)) == ids{1});
  CHECK(sessions_of(w.trigger("/t/a", event_type::node_deleted)) == ids{1, 2});
  // Siblings and prefixes that are not ancestors stay quiet.
  CHECK(w.trigger("/tx", event_type::node_created).empty());
  CHECK(w.trigger("/", event_type::node_data_changed).empty());
  w.check_invariants();
}

TEST_CASE("a recursive watch on / sees every node") {
  watch_manager w;
  w.add(7, "/", watch_kind::persistent_recursive);
  CHECK(sessions_of(w.trigger("/u", event_type::node_created)) == ids{7});
  CHECK(sessions_of(w.trigger("/u/v/w", event_type::node_deleted)) == ids{7});
  CHECK(sessions_of(w.trigger("/", event_type::node_data_changed)) == ids{7});
  CHECK(w.trigger("/", event_type::node_children_changed).empty());
}

TEST_CASE("one event per session per trigger, whatever matches") {
  // exists() on /t/z/q plus a recursive watch on /t: NodeCreated once.
  watch_manager w;
  w.add(1, "/t", watch_kind::persistent_recursive);
  w.add(1, "/t/z/q", watch_kind::exist);
  w.add(1, "/t/z", watch_kind::persistent_recursive);
  CHECK(sessions_of(w.trigger("/t/z/q", event_type::node_created)) == ids{1});
  // The one-shot fired (and went) even though the session heard it once.
  CHECK_FALSE(w.contains(1, "/t/z/q", watcher_type::any));
  w.check_invariants();
}

TEST_CASE("getData(watch) after addWatch turns the data half into a one-shot") {
  // ZooKeeper 3.8 keeps one mode per session, path and table.
  watch_manager w;
  w.add(1, "/p", watch_kind::persistent);
  w.add(1, "/p", watch_kind::data);
  CHECK(w.data_mode(1, "/p") == watch_mode::standard);
  CHECK(w.child_mode(1, "/p") == watch_mode::persistent);
  CHECK(sessions_of(w.trigger("/p", event_type::node_data_changed)) == ids{1});
  CHECK(w.trigger("/p", event_type::node_data_changed).empty());
  CHECK(sessions_of(w.trigger("/p", event_type::node_children_changed)) ==
        ids{1});
  CHECK(w.check("/p", watcher_type::data) == check_result::not_found);
  CHECK(w.check("/p", watcher_type::children) == check_result::found);
  // And the other way round: the persistent mode wins.
  w.add(1, "/r", watch_kind::data);
  w.add(1, "/r", watch_kind::persistent);
  CHECK(sessions_of(w.trigger("/r", event_type::node_data_changed)) == ids{1});
  CHECK(sessions_of(w.trigger("/r", event_type::node_data_changed)) == ids{1});
  // getChildren(watch) over a recursive watch: the child half becomes a
  // one-shot, the data half stays recursive.
  w.add(1, "/t", watch_kind::persistent_recursive);
  w.add(1, "/t", watch_kind::child);
  CHECK(sessions_of(w.trigger("/t/z", event_type::node_created)) == ids{1});
  CHECK(sessions_of(w.trigger("/t", event_type::node_children_changed)) ==
        ids{1});
  CHECK(w.trigger("/t", event_type::node_children_changed).empty());
  CHECK(sessions_of(w.trigger("/t/z", event_type::node_data_changed)) ==
        ids{1});
  w.check_invariants();
}

TEST_CASE("addWatch again with another mode replaces the mode") {
  watch_manager w;
  w.add(1, "/x/y", watch_kind::persistent);
  CHECK_FALSE(w.add(1, "/x/y", watch_kind::persistent_recursive));
  CHECK(sessions_of(w.trigger("/x/y/k", event_type::node_created)) == ids{1});
  CHECK(w.trigger("/x/y", event_type::node_children_changed).empty());
  w.add(1, "/x/y", watch_kind::persistent);
  CHECK(w.trigger("/x/y/k2", event_type::node_created).empty());
  CHECK(sessions_of(w.trigger("/x/y", event_type::node_children_changed)) ==
        ids{1});
  CHECK(w.watch_count() == 2);
  w.check_invariants();
}

TEST_CASE("removeWatches takes persistent watches table by table") {
  watch_manager w;
  w.add(1, "/r", watch_kind::persistent);
  CHECK(w.remove(1, "/r", watcher_type::data));
  CHECK_FALSE(w.remove(1, "/r", watcher_type::data)); // ZNOWATCHER
  // The child half still fires NodeChildrenChanged, and NodeDeleted.
  CHECK(w.trigger("/r", event_type::node_data_changed).empty());
  CHECK(sessions_of(w.trigger("/r", event_type::node_children_changed)) ==
        ids{1});
  CHECK(sessions_of(w.trigger("/r", event_type::node_deleted)) == ids{1});
  CHECK(w.remove(1, "/r", watcher_type::children));
  CHECK_FALSE(w.remove(1, "/r", watcher_type::any));
  // Any takes both halves at once; another session's watch is not ours.
  w.add(1, "/t", watch_kind::persistent_recursive);
  w.add(2, "/t", watch_kind::data);
  CHECK_FALSE(w.remove(3, "/t", watcher_type::any));
  CHECK(w.remove(1, "/t", watcher_type::any));
  CHECK(w.trigger("/t/a", event_type::node_created).empty());
  CHECK(w.watch_count() == 1);
  w.check_invariants();
}

TEST_CASE("checkWatches answers for the path, whoever watches it") {
  watch_manager w;
  w.add(1, "/p", watch_kind::persistent);
  // Session 2 asks: ZooKeeper 3.8 says found (containsWatcher ignores the
  // watcher once the path has an entry).
  CHECK(w.check("/p", watcher_type::any) == check_result::found);
  CHECK(w.check("/p", watcher_type::data) == check_result::found);
  CHECK(w.check("/q", watcher_type::any) == check_result::not_found);
  // exists() on a missing node is a data watch.
  w.add(2, "/m", watch_kind::exist);
  CHECK(w.check("/m", watcher_type::children) == check_result::not_found);
  CHECK(w.check("/m", watcher_type::data) == check_result::found);
  // A recursive watch does not cover its descendants here.
  w.add(1, "/t", watch_kind::persistent_recursive);
  CHECK(w.check("/t/z", watcher_type::any) == check_result::not_found);
  CHECK(w.check("/t", watcher_type::children) == check_result::found);
}

TEST_CASE("checkWatches on paths ZooKeeper's iterator cannot walk") {
  watch_manager w;
  // "" yields nothing to look at, even when watched.
  w.add(1, "", watch_kind::persistent);
  CHECK(w.check("", watcher_type::any) == check_result::not_found);
  // A path without '/' throws at once: ZMARSHALLINGERROR.
  CHECK(w.check("abc", watcher_type::any) == check_result::bad_path);
  // "abc/x": fine while no recursive watch makes the walk go on to "abc".
  CHECK(w.check("abc/x", watcher_type::any) == check_result::not_found);
  w.add(1, "abc/x", watch_kind::persistent);
  w.add(1, "/x/y/z", watch_kind::persistent_recursive);
  CHECK(w.check("abc/x", watcher_type::any) == check_result::found);
  CHECK(w.check("abc/q", watcher_type::any) == check_result::bad_path);
  CHECK(w.check("abc/q", watcher_type::children) == check_result::bad_path);
  CHECK(w.check("/a/", watcher_type::any) == check_result::not_found);
  // The walk depends on the table's own recursive watches.
  CHECK(w.remove(1, "/x/y/z", watcher_type::children));
  CHECK(w.check("abc/q", watcher_type::children) == check_result::not_found);
  CHECK(w.check("abc/q", watcher_type::data) == check_result::bad_path);
  CHECK(w.remove(1, "/x/y/z", watcher_type::data));
  CHECK(w.check("abc/q", watcher_type::any) == check_result::not_found);
  // removeWatches walks nothing: any registered path can be removed.
  CHECK(w.remove(1, "abc/x", watcher_type::any));
  w.check_invariants();
}

TEST_CASE("watch counts with persistent watches, as ZooKeeper counts them") {
  // Captured from ZooKeeper 3.8: a persistent watch on /x/y, a recursive
  // one on /x/y/z and one on abc/x, from one connection: wchs "1
  // connections watching 3 paths / Total watches:3", zk_watch_count 6.
  const int64_t a = 0x10000a6994f0001LL;
  watch_manager w;
  w.add(a, "/x/y", watch_kind::persistent);
  w.add(a, "/x/y/z", watch_kind::persistent_recursive);
  w.add(a, "abc/x", watch_kind::persistent);
  auto s = w.summary();
  CHECK(s.connections == 1);
  CHECK(s.paths == 3);
  CHECK(s.total == 3);
  CHECK(w.watch_count() == 6);
  CHECK(w.by_session() == zkd::watch_dispatcher::watches_by_session{
                              {a, {"/x/y", "/x/y/z", "abc/x"}}});
  // Removing the data halves leaves the connection listed, with no paths.
  for (auto* p : {"/x/y", "/x/y/z", "abc/x"})
    CHECK(w.remove(a, p, watcher_type::data));
  s = w.summary();
  CHECK(s.connections == 1);
  CHECK(s.paths == 0);
  CHECK(s.total == 0);
  CHECK(w.watch_count() == 3);
  CHECK(w.by_path().empty());
  // The connection closes: everything of it goes.
  w.remove_session(a);
  CHECK(w.summary().connections == 0);
  CHECK(w.watch_count() == 0);
  w.check_invariants();
}

TEST_CASE("a detached session's persistent watches stop firing") {
  watch_manager w;
  w.add(1, "/", watch_kind::persistent_recursive);
  w.add(2, "/a", watch_kind::persistent);
  w.remove_session(1);
  CHECK(sessions_of(w.trigger("/a", event_type::node_created)) == ids{2});
  w.remove_session(2);
  CHECK(w.trigger("/a", event_type::node_deleted).empty());
  CHECK(w.watch_count() == 0);
  // No recursive watch left: a path ZooKeeper cannot walk is only checked
  // at itself again.
  CHECK(w.check("abc/x", watcher_type::any) == check_result::not_found);
  w.check_invariants();
}

namespace {

// A naive model of ZooKeeper 3.8's two WatchManagers: every watch with its
// table and mode in one list, scanned in full.
struct model {
  struct entry {
    int table; // 0 data, 1 child
    int64_t session;
    std::string path;
    watch_mode mode;
  };
  std::vector<entry> entries;
  std::set<int64_t> data_connections; // WatchManager.watch2Paths keys

  entry* find(int table, int64_t session, const std::string& path) {
    for (auto& e : entries)
      if (e.table == table && e.session == session && e.path == path)
        return &e;
    return nullptr;
  }

  void put(int table, int64_t session, const std::string& path,
           watch_mode mode) {
    if (table == 0)
      data_connections.insert(session);
    if (auto* e = find(table, session, path))
      e->mode = mode;
    else
      entries.push_back({table, session, path, mode});
  }

  void add(int64_t session, const std::string& path, watch_kind kind) {
    switch (kind) {
    case watch_kind::data:
    case watch_kind::exist:
      put(0, session, path, watch_mode::standard);
      break;
    case watch_kind::child:
      put(1, session, path, watch_mode::standard);
      break;
    case watch_kind::persistent:
      put(0, session, path, watch_mode::persistent);
      put(1, session, path, watch_mode::persistent);
      break;
    case watch_kind::persistent_recursive:
      put(0, session, path, watch_mode::persistent_recursive);
      put(1, session, path, watch_mode::persistent_recursive);
      break;
    }
  }

  static bool ancestor(const std::string& a, const std::string& p) {
    if (a == p)
      return false;
    if (a == "/")
      return p.size() > 1 && p[0] == '/';
    return p.compare(0, a.size(), a) == 0 && p.size() > a.size() &&
           p[a.size()] == '/';
  }

  void fire(int table, const std::string& path, event_type type,
            std::set<int64_t>& out) {
    std::vector<entry> kept;
    for (auto& e : entries) {
      bool keep = true;
      if (e.table == table) {
        if (e.mode == watch_mode::persistent_recursive) {
          if ((e.path == path || ancestor(e.path, path)) &&
              type != event_type::node_children_changed)
            out.insert(e.session);
        } else if (e.path == path) {
          out.insert(e.session);
          keep = e.mode != watch_mode::standard;
        }
      }
      if (keep)
        kept.push_back(e);
    }
    entries = std::move(kept);
  }

  ids trigger(const std::string& path, event_type type) {
    std::set<int64_t> out;
    if (type != event_type::node_children_changed)
      fire(0, path, type, out);
    if (type == event_type::node_children_changed ||
        type == event_type::node_deleted)
      fire(1, path, type, out);
    return ids(out.begin(), out.end());
  }

  bool remove_one(int table, int64_t session, const std::string& path) {
    for (auto i = entries.begin(); i != entries.end(); ++i)
      if (i->table == table && i->session == session && i->path == path) {
        entries.erase(i);
        return true;
      }
    return false;
  }

  bool remove(int64_t session, const std::string& path, watcher_type type) {
    bool removed = false;
    if (type != watcher_type::data)
      removed |= remove_one(1, session, path);
    if (type != watcher_type::children)
      removed |= remove_one(0, session, path);
    return removed;
  }

  // For paths starting with '/', which never make ZooKeeper throw.
  check_result check(const std::string& path, watcher_type type) const {
    for (auto& e : entries)
      if (e.path == path && (type == watcher_type::any ||
                             (type == watcher_type::data) == (e.table == 0)))
        return check_result::found;
    return check_result::not_found;
  }

  void remove_session(int64_t session) {
    std::vector<entry> kept;
    for (auto& e : entries)
      if (e.session != session)
        kept.push_back(e);
    entries = std::move(kept);
    data_connections.erase(session);
  }

  size_t count(int table) const {
    size_t n = 0;
    for (auto& e : entries)
      n += e.table == table;
    return n;
  }
};

} // namespace

TEST_CASE("random operations agree with a naive model of ZooKeeper's tables") {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    watch_manager w;
    model m;
    const char* paths[] = {"/", "/a", "/a/b", "/c", "/c/d/e", "/a/b/c", "/ab"};
    const event_type types[] = {
        event_type::node_created, event_type::node_deleted,
        event_type::node_data_changed, event_type::node_children_changed};
    for (int step = 0; step < 3000; ++step) {
      int64_t session = rng() % 6;
      std::string path = paths[rng() % 7];
      switch (rng() % 6) {
      case 0:
      case 1: {
        auto kind = static_cast<watch_kind>(rng() % 5);
        w.add(session, path, kind);
        m.add(session, path, kind);
        break;
      }
      case 2:
      case 3: {
        auto type = types[rng() % 4];
        REQUIRE(sessions_of(w.trigger(path, type)) == m.trigger(path, type));
        break;
      }
      case 4: {
        auto type = static_cast<watcher_type>(1 + rng() % 3);
        if (rng() % 2 == 0)
          REQUIRE(w.remove(session, path, type) ==
                  m.remove(session, path, type));
        else
          REQUIRE(w.check(path, type) == m.check(path, type));
        break;
      }
      default:
        if (rng() % 8 == 0) {
          w.remove_session(session);
          m.remove_session(session);
        }
        break;
      }
      w.check_invariants();
      REQUIRE(w.data_watch_count() == m.count(0));
      REQUIRE(w.child_watch_count() == m.count(1));
      REQUIRE(w.summary().connections == m.data_connections.size());
    }
  }
}
