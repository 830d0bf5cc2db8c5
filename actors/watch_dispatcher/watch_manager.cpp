#include "watch_manager.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace zkd::watch_dispatcher {

namespace {

void require(bool ok, const char* table, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "watch_manager invariant violated (%s table): %s\n",
                 table, what);
    std::abort();
  }
}

} // namespace

// -- table --------------------------------------------------------------------

bool watch_manager::table::add(int64_t session, const std::string& path) {
  if (!by_session[session].insert(path).second)
    return false;
  by_path[path].insert(session);
  ++watch_count;
  return true;
}

bool watch_manager::table::remove(int64_t session, const std::string& path) {
  auto s = by_session.find(session);
  if (s == by_session.end() || s->second.erase(path) == 0)
    return false;
  if (s->second.empty())
    by_session.erase(s);
  auto p = by_path.find(path);
  p->second.erase(session);
  if (p->second.empty())
    by_path.erase(p);
  --watch_count;
  return true;
}

bool watch_manager::table::contains(int64_t session,
                                    const std::string& path) const {
  auto p = by_path.find(path);
  return p != by_path.end() && p->second.count(session) != 0;
}

std::unordered_set<int64_t>
watch_manager::table::take(const std::string& path) {
  auto p = by_path.find(path);
  if (p == by_path.end())
    return {};
  auto sessions = std::move(p->second);
  by_path.erase(p);
  for (auto session : sessions) {
    // Unlike ZooKeeper, which keeps a watcher with no paths left in
    // watch2Paths until its connection closes (and so counts it in wchs),
    // an emptied session entry goes at once.
    auto s = by_session.find(session);
    s->second.erase(path);
    if (s->second.empty())
      by_session.erase(s);
  }
  watch_count -= sessions.size();
  return sessions;
}

void watch_manager::table::remove_session(int64_t session) {
  auto s = by_session.find(session);
  if (s == by_session.end())
    return;
  for (auto& path : s->second) {
    auto p = by_path.find(path);
    p->second.erase(session);
    if (p->second.empty())
      by_path.erase(p);
  }
  watch_count -= s->second.size();
  by_session.erase(s);
}

void watch_manager::table::check(const char* name) const {
  size_t forward = 0;
  for (auto& [path, sessions] : by_path) {
    require(!sessions.empty(), name, "no path entry without sessions");
    for (auto session : sessions) {
      auto s = by_session.find(session);
      require(s != by_session.end() && s->second.count(path) != 0, name,
              "path -> session has its session -> path");
    }
    forward += sessions.size();
  }
  size_t backward = 0;
  for (auto& [session, paths] : by_session) {
    require(!paths.empty(), name, "no session entry without paths");
    backward += paths.size();
  }
  require(forward == backward, name, "both directions hold the same watches");
  require(forward == watch_count, name, "watch_count is exact");
}

// -- watch_manager ------------------------------------------------------------

bool watch_manager::add(int64_t session, const std::string& path,
                        watch_kind kind) {
  return kind == watch_kind::child ? child_.add(session, path)
                                   : data_.add(session, path);
}

std::vector<fired> watch_manager::trigger(const std::string& path,
                                          wire::event_type type) {
  // An ordered set: a session watching both tables gets one event, and the
  // delivery order does not depend on hashing.
  std::set<int64_t> sessions;
  auto collect = [&sessions](std::unordered_set<int64_t>&& taken) {
    sessions.insert(taken.begin(), taken.end());
  };
  switch (type) {
  case wire::event_type::node_created:
  case wire::event_type::node_data_changed:
    collect(data_.take(path));
    break;
  case wire::event_type::node_deleted:
    // DataTree.deleteNode fires the data watches, then the child watches
    // with the sessions already notified suppressed.
    collect(data_.take(path));
    collect(child_.take(path));
    break;
  case wire::event_type::node_children_changed:
    collect(child_.take(path));
    break;
  default:
    // None and the *_watch_removed types are not produced by tree
    // changes; they go to one session directly.
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

bool watch_manager::contains(int64_t session, const std::string& path,
                             wire::watcher_type type) const {
  if ((type == wire::watcher_type::children ||
       type == wire::watcher_type::any) &&
      child_.contains(session, path))
    return true;
  return (type == wire::watcher_type::data ||
          type == wire::watcher_type::any) &&
         data_.contains(session, path);
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
    std::vector<int64_t> sorted(sessions.begin(), sessions.end());
    std::sort(sorted.begin(), sorted.end());
    result.emplace_back(path, std::move(sorted));
  }
  std::sort(result.begin(), result.end());
  return result;
}

void watch_manager::check_invariants() const {
  data_.check("data");
  child_.check("child");
}

} // namespace zkd::watch_dispatcher
