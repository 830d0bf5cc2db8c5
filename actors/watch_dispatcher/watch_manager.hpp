// Server-side registry of one-shot watches, after ZooKeeper's WatchManager
// plus the rules DataTree applies when it triggers them.
//
// Pure core: no CAF, no clock. The datatree (or its shell) calls trigger()
// for each change it applies and hands the returned events to the owners'
// connections, in the order of the txns.
//
// ZooKeeper keeps two tables: data watches (getData, and exists() -- an
// exist watch on a missing node lives in the same table, so a later create
// fires it) and child watches (getChildren). A watcher is a session here
// (ZooKeeper: a connection, which serves one session at a time).
//
// Persistent and recursive watches (addWatch, 3.6+) will be a per-entry
// mode in the same tables; trigger() already collects at most one event per
// session, which is what they need as well.
#pragma once

#include "messages/wire/protocol.hpp"
#include "messages/wire/records.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace zkd::watch_dispatcher {

enum class watch_kind : uint8_t {
  data,  // getData(watch=true)
  exist, // exists(watch=true); same table as data
  child, // getChildren(watch=true)
};

// One event to deliver: a WatcherEvent with state SyncConnected.
struct fired {
  int64_t session = 0;
  wire::watcher_event event;
};

// wchs: connections that have a data watch, watched paths, total watches.
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
  // Registers a one-shot watch. Returns false if the session already had
  // the same kind of watch on the path (ZooKeeper's addWatch result).
  bool add(int64_t session, const std::string& path, watch_kind kind);

  // Applies ZooKeeper's rules for one change at `path` and removes every
  // watch it fires:
  //   node_created, node_data_changed: data (and exist) watches on path;
  //   node_deleted: data and child watches on path, one event per session;
  //   node_children_changed: child watches on path.
  // A change touches the parent too (created/deleted -> children_changed on
  // the parent); that is a second call by the datatree, as in ZooKeeper.
  // Events are sorted by session id.
  std::vector<fired> trigger(const std::string& path, wire::event_type type);

  // Drops every watch of a closed or expired session.
  void remove_session(int64_t session);

  // removeWatches / checkWatches support: removes (or tests for) the
  // session's watches of `type` on `path`. True if any was there.
  bool remove(int64_t session, const std::string& path,
              wire::watcher_type type);
  bool contains(int64_t session, const std::string& path,
                wire::watcher_type type) const;

  // Counts. watch_count() is mntr's zk_watch_count (both tables).
  size_t data_watch_count() const { return data_.watch_count; }
  size_t child_watch_count() const { return child_.watch_count; }
  size_t watch_count() const { return data_.watch_count + child_.watch_count; }

  // The 4lw views. ZooKeeper 3.8's wchs, wchc and wchp report the data-watch
  // table only (DataTree.dumpWatches* use dataWatches); child watches show
  // in zk_watch_count alone. We mirror that.
  watch_summary summary() const;
  watches_by_session by_session() const;
  watches_by_path by_path() const;

  // Aborts if the two directions of a table disagree.
  void check_invariants() const;

private:
  // One WatchManager: path -> sessions and session -> paths.
  struct table {
    std::unordered_map<std::string, std::unordered_set<int64_t>> by_path;
    std::unordered_map<int64_t, std::unordered_set<std::string>> by_session;
    size_t watch_count = 0;

    bool add(int64_t session, const std::string& path);
    bool remove(int64_t session, const std::string& path);
    bool contains(int64_t session, const std::string& path) const;
    // Removes and returns every session watching `path`.
    std::unordered_set<int64_t> take(const std::string& path);
    void remove_session(int64_t session);
    void check(const char* name) const;
  };

  table data_;
  table child_;
};

} // namespace zkd::watch_dispatcher
