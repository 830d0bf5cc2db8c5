#include "actors/snapshotter/purge.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include <unistd.h>

#include "actors/snapshotter/snapshot.hpp"

namespace zkd::snapshotter {

namespace {

std::optional<int64_t> parse_log_name(const std::string& name) {
  // The same shape as a snapshot name: "log." and 16 lowercase hex digits.
  if (name.size() != 20 || name.compare(0, 4, "log.") != 0)
    return std::nullopt;
  return parse_snapshot_name("snapshot." + name.substr(4));
}

using named = std::pair<int64_t, std::string>;

std::vector<named> parse_all(const std::vector<std::string>& names, bool logs) {
  std::vector<named> out;
  for (auto& n : names) {
    auto z = logs ? parse_log_name(n) : parse_snapshot_name(n);
    if (z)
      out.emplace_back(*z, n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> list_names(const std::string& dir,
                                    std::vector<std::string>& errors) {
  std::vector<std::string> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    if (ec != std::errc::no_such_file_or_directory)
      errors.push_back("cannot list " + dir + ": " + ec.message());
    return out;
  }
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) {
      errors.push_back("cannot list " + dir + ": " + ec.message());
      break;
    }
    out.push_back(it->path().filename().string());
  }
  return out;
}

} // namespace

purge_plan plan_purge(const std::vector<std::string>& snapshots,
                      const std::vector<std::string>& logs, size_t retain) {
  purge_plan plan;
  retain = std::max(retain, min_snapshot_retain);
  auto snaps = parse_all(snapshots, false);
  if (snaps.empty())
    return plan;
  size_t drop = snaps.size() > retain ? snaps.size() - retain : 0;
  for (size_t i = 0; i < drop; ++i)
    plan.snapshots.push_back(snaps[i].second);
  plan.oldest_kept_zxid = snaps[drop].first;
  auto segs = parse_all(logs, true);
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    // The next segment starts at or before the first txn replay needs.
    if (segs[i + 1].first > plan.oldest_kept_zxid + 1)
      break;
    plan.logs.push_back(segs[i].second);
  }
  return plan;
}

purge_result purge(const std::string& data_dir, const std::string& log_dir,
                   size_t retain) {
  purge_result res;
  auto snaps = list_names(data_dir, res.errors);
  auto logs = list_names(log_dir, res.errors);
  if (!res.errors.empty())
    return res;
  res.plan = plan_purge(snaps, logs, retain);
  auto remove = [&](const std::string& dir, const std::string& name) {
    auto path = dir + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      res.errors.push_back("cannot delete " + path + ": " +
                           std::strerror(errno));
  };
  for (auto& n : res.plan.snapshots)
    remove(data_dir, n);
  for (auto& n : res.plan.logs)
    remove(log_dir, n);
  return res;
}

} // namespace zkd::snapshotter
