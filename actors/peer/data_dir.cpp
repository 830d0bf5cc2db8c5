#include "actors/peer/data_dir.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace zkd::data_dir {

namespace {

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0)
    return errno_text("cannot open", path);
  if (::fsync(fd) != 0) {
    auto err = errno_text("cannot fsync", path);
    ::close(fd);
    return err;
  }
  ::close(fd);
  return {};
}

} // namespace

std::string ensure(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return "cannot create data directory " + dir + ": " + ec.message();
  return {};
}

std::string write_atomically(const std::string& path,
                             const std::string& content) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return errno_text("cannot create", tmp);
  size_t off = 0;
  while (off < content.size()) {
    auto n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto err = errno_text("cannot write", tmp);
      ::close(fd);
      return err;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto err = errno_text("cannot fsync", tmp);
    ::close(fd);
    return err;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return errno_text("cannot rename to", path);
  auto dir = std::filesystem::path(path).parent_path().string();
  return fsync_path(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);
}

std::optional<std::string> read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t read_epoch(const std::string& path, std::string* error) {
  auto fail = [&](const std::string& why) -> int64_t {
    if (error != nullptr)
      *error = why;
    return -1;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return 0;
    return fail(errno_text("cannot open epoch file", path));
  }
  // An epoch file is a few bytes; a longer one is not an epoch anyway.
  char buf[64];
  size_t len = 0;
  while (len < sizeof(buf)) {
    auto n = ::read(fd, buf + len, sizeof(buf) - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = errno_text("cannot read epoch file", path);
      ::close(fd);
      return fail(err);
    }
    if (n == 0)
      break;
    len += static_cast<size_t>(n);
  }
  ::close(fd);
  std::string text(buf, len);
  auto digits = text;
  if (!digits.empty() && digits.back() == '\n')
    digits.pop_back();
  if (digits.empty() || digits.size() > 18 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return fail("epoch file " + path + " does not hold an epoch: \"" +
                (text.size() > 32 ? text.substr(0, 32) + "..." : text) + "\"");
  int64_t v = 0;
  for (char c : digits)
    v = v * 10 + (c - '0');
  return v;
}

std::string write_epoch(const std::string& path, int64_t epoch) {
  if (epoch < 0)
    return "refused to write the negative epoch " + std::to_string(epoch) +
           " to " + path;
  return write_atomically(path, std::to_string(epoch) + "\n");
}

} // namespace zkd::data_dir
