#include "watch_manager.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace zkd::watch_dispatcher {

namespace {

void require(bool ok, const char* table, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "watch_manager invariant violated (%s table): %s\n",
                 table, what);
    std::abort();
  }
}

// The next path up, as ZooKeeper's PathParentIterator computes it: "/a/b" ->
// "/a" -> "/" -> "" (the end). Only called on paths that contain a '/'.
std::string parent_of(const std::string& path) {
  if (path == "/")
    return {};
  auto slash = path.rfind('/');
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

// PathParentIterator.next() takes the substring up to the last '/', which
// throws on a non-empty path without one; the request then fails with
// ZMARSHALLINGERROR.
bool iterator_throws_on(const std::string& path) {
  return !path.empty() && path.find('/') == std::string::npos;
}

watch_mode mode_of_kind(watch_kind kind) {
  switch (kind) {
  case watch_kind::persistent:
    return watch_mode::persistent;
  case watch_kind::persistent_recursive:
    return watch_mode::persistent_recursive;
  default:
    return watch_mode::standard;
  }
}

} // namespace

// -- table --------------------------------------------------------------------

bool watch_manager::table::add(int64_t session, const std::string& path,
                               watch_mode mode) {
  auto& sessions = by_path[path];
  auto [i, inserted] = sessions.emplace(session, mode);
  if (inserted) {
    ++watch_count;
  } else {
    // WatcherModeManager.setWatcherMode: the new mode replaces the old one.
    if (i->second == watch_mode::persistent_recursive)
      --recursive_count;
    i->second = mode;
  }
  if (mode == watch_mode::persistent_recursive)
    ++recursive_count;
  return by_session[session].insert(path).second;
}

bool watch_manager::table::remove(int64_t session, const std::string& path) {
  auto s = by_session.find(session);
  // The session's (possibly emptied) entry stays, as in WatchManager.
  if (s == by_session.end() || s->second.erase(path) == 0)
    return false;
  auto p = by_path.find(path);
  auto w = p->second.find(session);
  if (w->second == watch_mode::persistent_recursive)
    --recursive_count;
  p->second.erase(w);
  if (p->second.empty())
    by_path.erase(p);
  --watch_count;
  return true;
}

std::optional<watch_mode>
watch_manager::table::mode_of(int64_t session, const std::string& path) const {
  auto p = by_path.find(path);
  if (p == by_path.end())
    return std::nullopt;
  auto w = p->second.find(session);
  if (w == p->second.end())
    return std::nullopt;
  return w->second;
}

void watch_manager::table::fire_at(const std::string& path, bool at_parent,
                                   wire::event_type type,
                                   std::set<int64_t>& out) {
  auto p = by_path.find(path);
  if (p == by_path.end())
    return;
  auto& sessions = p->second;
  for (auto w = sessions.begin(); w != sessions.end();) {
    auto [session, mode] = *w;
    if (mode == watch_mode::persistent_recursive) {
      if (type != wire::event_type::node_children_changed)
        out.insert(session);
    } else if (!at_parent) {
      out.insert(session);
      if (mode == watch_mode::standard) {
        // One-shot: gone once fired. Like ZooKeeper, an emptied session
        // entry stays until the connection closes.
        by_session[session].erase(path);
        --watch_count;
        w = sessions.erase(w);
        continue;
      }
    }
    ++w;
  }
  if (sessions.empty())
    by_path.erase(p);
}

void watch_manager::table::trigger(const std::string& path,
                                   wire::event_type type,
                                   std::set<int64_t>& out) {
  fire_at(path, false, type, out);
  if (recursive_count == 0)
    return;
  // Changes always come with valid paths, so the walk ends at "/".
  for (auto p = path.find('/') == std::string::npos ? std::string{}
                                                    : parent_of(path);
       !p.empty(); p = parent_of(p))
    fire_at(p, true, type, out);
}

check_result watch_manager::table::check(const std::string& path) const {
  // WatchManager.containsWatcher walks a PathParentIterator: an empty path
  // yields nothing; the first step looks at `path` itself, where any
  // watcher counts; the parents (walked only while this table has a
  // recursive watch) never match but are still computed, which throws on a
  // segment without '/'. The caller's own mode only matters for a
  // recursive watch on `path`, which the first step already found.
  if (path.empty())
    return check_result::not_found;
  if (iterator_throws_on(path))
    return check_result::bad_path;
  if (by_path.count(path) != 0)
    return check_result::found;
  if (recursive_count == 0)
    return check_result::not_found;
  for (auto p = parent_of(path); !p.empty(); p = parent_of(p))
    if (iterator_throws_on(p))
      return check_result::bad_path;
  return check_result::not_found;
}

void watch_manager::table::remove_session(int64_t session) {
  auto s = by_session.find(session);
  if (s == by_session.end())
    return;
  for (auto& path : s->second) {
    auto p = by_path.find(path);
    auto w = p->second.find(session);
    if (w->second == watch_mode::persistent_recursive)
      --recursive_count;
    p->second.erase(w);
    if (p->second.empty())
      by_path.erase(p);
  }
  watch_count -= s->second.size();
  by_session.erase(s);
}

void watch_manager::table::check_invariants(const char* name) const {
  size_t forward = 0;
  size_t recursive = 0;
  for (auto& [path, sessions] : by_path) {
    require(!sessions.empty(), name, "no path entry without sessions");
    for (auto& [session, mode] : sessions) {
      auto s = by_session.find(session);
      require(s != by_session.end() && s->second.count(path) != 0, name,
              "path -> session has its session -> path");
      if (mode == watch_mode::persistent_recursive)
        ++recursive;
    }
    forward += sessions.size();
  }
  size_t backward = 0;
  for (auto& [session, paths] : by_session)
    backward += paths.size();
  require(forward == backward, name, "both directions hold the same watches");
  require(forward == watch_count, name, "watch_count is exact");
  require(recursive == recursive_count, name, "recursive_count is exact");
}

// -- watch_manager ------------------------------------------------------------

bool watch_manager::add(int64_t session, const std::string& path,
                        watch_kind kind) {
  auto mode = mode_of_kind(kind);
  switch (kind) {
  case watch_kind::child:
    return child_.add(session, path, mode);
  case watch_kind::persistent:
  case watch_kind::persistent_recursive: {
    // DataTree.addWatch: the data table first, then the child table.
    bool added = data_.add(session, path, mode);
    return child_.add(session, path, mode) || added;
  }
  default:
    return data_.add(session, path, mode);
  }
}

std::vector<fired> watch_manager::trigger(const std::string& path,
                                          wire::event_type type) {
  // An ordered set: one event per session (ZooKeeper collects the watchers
  // of a trigger in a set), and the delivery order does not depend on
  // hashing.
  std::set<int64_t> sessions;
  switch (type) {
  case wire::event_type::node_created:
  case wire::event_type::node_data_changed:
    data_.trigger(path, type, sessions);
    break;
  case wire::event_type::node_deleted:
    // DataTree.deleteNode fires the data table, then the child table with
    // the sessions already notified suppressed: the union, once each.
    data_.trigger(path, type, sessions);
    child_.trigger(path, type, sessions);
    break;
  case wire::event_type::node_children_changed:
    child_.trigger(path, type, sessions);
    break;
  default:
    // None and the *_watch_removed types are not produced by tree
    // changes (the Java client makes the latter up itself).
    break;
  }
  std::vector<fired> result;
  result.reserve(sessions.size());
  for (auto session : sessions) {
    fired f;
    f.session = session;
    f.event.type = static_cast<int32_t>(type);
    f.event.state = static_cast<int32_t>(wire::keeper_state::sync_connected);
    f.event.path = path;
    result.push_back(std::move(f));
  }
  return result;
}

void watch_manager::remove_session(int64_t session) {
  data_.remove_session(session);
  child_.remove_session(session);
}

bool watch_manager::remove(int64_t session, const std::string& path,
                           wire::watcher_type type) {
  bool removed = false;
  if (type == wire::watcher_type::children || type == wire::watcher_type::any)
    removed |= child_.remove(session, path);
  if (type == wire::watcher_type::data || type == wire::watcher_type::any)
    removed |= data_.remove(session, path);
  return removed;
}

check_result watch_manager::check(const std::string& path,
                                  wire::watcher_type type) const {
  // DataTree.containsWatcher asks the child table, then the data table; a
  // throw from either fails the request.
  bool found = false;
  if (type == wire::watcher_type::children || type == wire::watcher_type::any) {
    auto r = child_.check(path);
    if (r == check_result::bad_path)
      return r;
    found = r == check_result::found;
  }
  if (type == wire::watcher_type::data || type == wire::watcher_type::any) {
    auto r = data_.check(path);
    if (r == check_result::bad_path)
      return r;
    found = found || r == check_result::found;
  }
  return found ? check_result::found : check_result::not_found;
}

bool watch_manager::contains(int64_t session, const std::string& path,
                             wire::watcher_type type) const {
  if ((type == wire::watcher_type::children ||
       type == wire::watcher_type::any) &&
      child_.mode_of(session, path))
    return true;
  return (type == wire::watcher_type::data ||
          type == wire::watcher_type::any) &&
         data_.mode_of(session, path).has_value();
}

watch_summary watch_manager::summary() const {
  return {data_.by_session.size(), data_.by_path.size(), data_.watch_count};
}

watches_by_session watch_manager::by_session() const {
  watches_by_session result;
  result.reserve(data_.by_session.size());
  for (auto& [session, paths] : data_.by_session) {
    std::vector<std::string> sorted(paths.begin(), paths.end());
    std::sort(sorted.begin(), sorted.end());
    result.emplace_back(session, std::move(sorted));
  }
  std::sort(result.begin(), result.end());
  return result;
}

watches_by_path watch_manager::by_path() const {
  watches_by_path result;
  result.reserve(data_.by_path.size());
  for (auto& [path, sessions] : data_.by_path) {
    std::vector<int64_t> sorted;
    sorted.reserve(sessions.size());
    for (auto& entry : sessions)
      sorted.push_back(entry.first);
    std::sort(sorted.begin(), sorted.end());
    result.emplace_back(path, std::move(sorted));
  }
  std::sort(result.begin(), result.end());
  return result;
}

void watch_manager::check_invariants() const {
  data_.check_invariants("data");
  child_.check_invariants("child");
}

} // namespace zkd::watch_dispatcher
