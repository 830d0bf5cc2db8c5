// Server-side registry of watches, after ZooKeeper 3.8's WatchManager (with
// its WatcherMode per watcher and path) plus the rules DataTree applies when
// it registers and triggers them.
//
// Pure core: no CAF, no clock. The dispatcher calls trigger() for each change
// the datatree applied and hands the returned events to the owners'
// connections, in the order of the txns.
//
// ZooKeeper keeps two tables: data watches (getData, and exists() -- an
// exist watch on a missing node lives in the same table, so a later create
// fires it) and child watches (getChildren). addWatch puts a persistent or
// persistent-recursive watch in both. Within one table a session has at most
// one watch per path, with one mode: registering again replaces the mode, so
// getData(watch) on a path with a persistent watch turns the data-table half
// into a one-shot (ZooKeeper 3.8 behaves so; 3.9 keeps both). A watcher is a
// session here (ZooKeeper: a connection, which serves one session at a time).
#pragma once

#include "messages/wire/protocol.hpp"
#include "messages/wire/records.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace zkd::watch_dispatcher {

enum class watch_kind : uint8_t {
  data,                 // getData(watch=true)
  exist,                // exists(watch=true); same table as data
  child,                // getChildren(watch=true)
  persistent,           // addWatch PERSISTENT: both tables
  persistent_recursive, // addWatch PERSISTENT_RECURSIVE: both tables
};

// ZooKeeper's WatcherMode: how a watch in one table behaves when it fires.
enum class watch_mode : uint8_t {
  standard,             // fires once, then is gone
  persistent,           // stays; fires for its own path only
  persistent_recursive, // stays; fires for its path and every descendant,
                        // but never NodeChildrenChanged
};

// One event to deliver: a WatcherEvent with state SyncConnected.
struct fired {
  int64_t session = 0;
  wire::watcher_event event;
};

// ZooKeeper's answer to checkWatches. `bad_path` is ZMARSHALLINGERROR: its
// PathParentIterator throws on a path with no '/' (see watch_manager::check).
enum class check_result { found, not_found, bad_path };

// wchs: connections that have a data-table entry, watched paths, total
// watches.
struct watch_summary {
  size_t connections = 0;
  size_t paths = 0;
  size_t total = 0;
};

// wchc / wchp dumps: sorted by session / path, inner lists sorted too
// (ZooKeeper prints hash-map order; sorting keeps our output stable).
using watches_by_session =
    std::vector<std::pair<int64_t, std::vector<std::string>>>;
using watches_by_path =
    std::vector<std::pair<std::string, std::vector<int64_t>>>;

class watch_manager {
public:
  // Registers a watch. One-shot kinds go to one table, persistent ones to
  // both; an existing watch of the session on the path in the same table
  // takes the new mode. Returns true if the path is new to the session in
  // some table it was added to (ZooKeeper's addWatch result).
  bool add(int64_t session, const std::string& path, watch_kind kind);

  // Applies ZooKeeper's rules for one change at `path`:
  //   node_created, node_data_changed: the data table;
  //   node_deleted: the data table, then the child table (one event per
  //     session across both, as DataTree.deleteNode suppresses repeats);
  //   node_children_changed: the child table.
  // In each table, a watch on `path` fires (one-shots are removed), and so
  // does a recursive watch on any ancestor unless the event is
  // node_children_changed. A change touches the parent too (created/deleted
  // -> children_changed on the parent); that is a second call by the
  // datatree, as in ZooKeeper. Events are sorted by session id.
  std::vector<fired> trigger(const std::string& path, wire::event_type type);

  // Drops every watch of a closed or expired session (its connection went).
  void remove_session(int64_t session);

  // removeWatches: removes the session's watch on `path` from the tables
  // `type` names, whatever its mode. True if any was there.
  bool remove(int64_t session, const std::string& path,
              wire::watcher_type type);

  // checkWatches, as ZooKeeper 3.8 answers it: found when *any* session has
  // a watch on exactly `path` in a table `type` names (WatchManager.
  // containsWatcher looks at the path's entry, not at the caller's watch);
  // recursive watches on ancestors do not count.
  check_result check(const std::string& path, wire::watcher_type type) const;

  // True if `session` itself holds a watch on `path` in a table `type`
  // names (tests and diagnostics; checkWatches uses check()).
  bool contains(int64_t session, const std::string& path,
                wire::watcher_type type) const;

  // The mode of the session's watch on `path` in the data (child) table,
  // if it has one there.
  std::optional<watch_mode> data_mode(int64_t session,
                                      const std::string& path) const {
    return data_.mode_of(session, path);
  }
  std::optional<watch_mode> child_mode(int64_t session,
                                       const std::string& path) const {
    return child_.mode_of(session, path);
  }

  // Counts. watch_count() is mntr's zk_watch_count (both tables, a
  // persistent watch counting twice, as ZooKeeper's DataTree.getWatchCount).
  size_t data_watch_count() const { return data_.watch_count; }
  size_t child_watch_count() const { return child_.watch_count; }
  size_t watch_count() const { return data_.watch_count + child_.watch_count; }

  // The 4lw views. ZooKeeper 3.8's wchs, wchc and wchp report the data-watch
  // table only (DataTree.dumpWatches* use dataWatches); child watches show
  // in zk_watch_count alone. Like ZooKeeper, a session stays listed (with no
  // paths) once its last data watch fired or was removed, until its
  // connection closes: WatchManager keeps the emptied watch2Paths entry.
  watch_summary summary() const;
  watches_by_session by_session() const;
  watches_by_path by_path() const;

  // Aborts if the two directions of a table disagree or a count is off.
  void check_invariants() const;

private:
  // One WatchManager: path -> (session -> mode) and session -> paths.
  struct table {
    std::unordered_map<std::string, std::unordered_map<int64_t, watch_mode>>
        by_path;
    // Entries may be empty: see summary().
    std::unordered_map<int64_t, std::unordered_set<std::string>> by_session;
    size_t watch_count = 0;
    // Recursive watches in this table. While there are none, a trigger
    // looks at its own path only (ZooKeeper's PathParentIterator.forPathOnly),
    // which also decides whether checkWatches walks the parents.
    size_t recursive_count = 0;

    bool add(int64_t session, const std::string& path, watch_mode mode);
    bool remove(int64_t session, const std::string& path);
    std::optional<watch_mode> mode_of(int64_t session,
                                      const std::string& path) const;
    // Adds the sessions `type` at `path` fires to `out`, removing one-shots.
    void trigger(const std::string& path, wire::event_type type,
                 std::set<int64_t>& out);
    check_result check(const std::string& path) const;
    void remove_session(int64_t session);
    void check_invariants(const char* name) const;

  private:
    void fire_at(const std::string& path, bool at_parent, wire::event_type type,
                 std::set<int64_t>& out);
  };

  table data_;
  table child_;
};

} // namespace zkd::watch_dispatcher
