#include "actors/datatree/path.hpp"

#include <cstdint>

namespace zkd::datatree {

namespace {

// Decodes one UTF-8 sequence at s[i], advancing i. Returns false on any
// sequence Java's decoder would replace with U+FFFD (truncated, overlong,
// surrogate, beyond U+10FFFF): such a path is invalid anyway.
bool next_code_point(std::string_view s, size_t& i, uint32_t& cp) noexcept {
  auto byte = [&](size_t k) {
    return static_cast<unsigned char>(s[k]);
  };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    cp = b0;
    i += 1;
    return true;
  }
  size_t len;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    return false;
  }
  if (i + len > s.size())
    return false;
  for (size_t k = 1; k < len; ++k) {
    unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80)
      return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return false;
  i += len;
  return true;
}

bool bad_char(uint32_t c) noexcept {
  // Characters beyond U+FFFF are surrogate pairs in Java: rejected.
  return (c > 0x0000 && c <= 0x001F) || (c >= 0x007F && c <= 0x009F) ||
         (c >= 0xD800 && c <= 0xF8FF) || c >= 0xFFF0;
}

} // namespace

bool valid_path(std::string_view path) noexcept {
  if (path.empty() || path[0] != '/')
    return false;
  if (path.size() == 1)
    return true;
  if (path.back() == '/')
    return false;
  // '/' and '.' are ASCII, which never occurs inside a multi-byte UTF-8
  // sequence, so the segment rules can look at neighbouring bytes.
  size_t i = 1;
  while (i < path.size()) {
    char c = path[i];
    char last = path[i - 1];
    if (c == '\0')
      return false;
    if (c == '/' && last == '/')
      return false;
    if (c == '.') {
      bool segment_end = i + 1 == path.size() || path[i + 1] == '/';
      if (segment_end && last == '/')
        return false; // "/."
      if (segment_end && last == '.' && path[i - 2] == '/')
        return false; // "/.."
    }
    uint32_t cp;
    if (!next_code_point(path, i, cp) || bad_char(cp))
      return false;
  }
  return true;
}

std::string_view parent_of(std::string_view path) noexcept {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos)
    return path;
  return path.substr(0, slash);
}

std::string_view name_of(std::string_view path) noexcept {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos)
    return path;
  return path.substr(slash + 1);
}

bool has_parent(std::string_view path) noexcept {
  return path.find('/') != std::string_view::npos &&
         path.find('\0') == std::string_view::npos;
}

bool is_special_path(std::string_view path) noexcept {
  return path == "/" || path == "/zookeeper" || path == "/zookeeper/quota" ||
         path == "/zookeeper/config";
}

} // namespace zkd::datatree
