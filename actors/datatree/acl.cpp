#include "actors/datatree/acl.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <string_view>

#include <arpa/inet.h>

#include "actors/datatree/sha1.hpp"

namespace zkd::datatree {

namespace {

// Java's Integer.parseInt for the ASCII forms ZooKeeper users write: an
// optional sign and decimal digits, no overflow. (Java also accepts
// non-ASCII Unicode digits; nobody writes IP addresses with those.)
std::optional<int64_t> parse_int(std::string_view s) {
  if (s.empty())
    return std::nullopt;
  bool neg = false;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
    if (s.size() == 1)
      return std::nullopt;
  }
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9')
      return std::nullopt;
    v = v * 10 + (s[i] - '0');
    if (v > (int64_t{1} << 31))
      return std::nullopt;
  }
  v = neg ? -v : v;
  if (v > INT32_MAX || v < INT32_MIN)
    return std::nullopt;
  return v;
}

// IPAuthenticationProvider.v4addr2Bytes: exactly four dot-separated parts
// (empty parts kept, so "1.2.3." fails), each 0..255.
std::optional<std::array<uint8_t, 4>> v4_bytes(std::string_view addr) {
  std::array<uint8_t, 4> b{};
  size_t part = 0;
  size_t start = 0;
  while (true) {
    auto dot = addr.find('.', start);
    auto piece = addr.substr(start, dot == std::string_view::npos
                                        ? std::string_view::npos
                                        : dot - start);
    if (part == 4)
      return std::nullopt;
    auto v = parse_int(piece);
    if (!v || *v < 0 || *v > 255)
      return std::nullopt;
    b[part++] = static_cast<uint8_t>(*v);
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  if (part != 4)
    return std::nullopt;
  return b;
}

// An ip ACL expression: "a.b.c.d" or "a.b.c.d/bits", bits in 0..32.
struct ip_expr {
  std::array<uint8_t, 4> addr;
  int bits;
};

std::optional<ip_expr> parse_ip_expr(std::string_view expr) {
  auto slash = expr.find('/');
  auto addr = v4_bytes(expr.substr(0, slash));
  if (!addr)
    return std::nullopt;
  int bits = 32;
  if (slash != std::string_view::npos) {
    auto v = parse_int(expr.substr(slash + 1));
    if (!v || *v < 0 || *v > 32)
      return std::nullopt;
    bits = static_cast<int>(*v);
  }
  return ip_expr{*addr, bits};
}

void mask(std::array<uint8_t, 4>& b, int bits) {
  size_t start = static_cast<size_t>(bits / 8);
  int start_mask = ~((1 << (8 - bits % 8)) - 1);
  for (; start < b.size(); ++start) {
    b[start] = static_cast<uint8_t>(b[start] & start_mask);
    start_mask = 0;
  }
}

bool ip_matches(std::string_view id, std::string_view acl_expr) {
  auto e = parse_ip_expr(acl_expr);
  if (!e)
    return false;
  auto remote = v4_bytes(id);
  if (!remote)
    return false;
  mask(e->addr, e->bits);
  mask(*remote, e->bits);
  return e->addr == *remote;
}

// DigestAuthenticationProvider.isValid: String.split(":") yields exactly two
// parts, and Java's split drops trailing empty parts ("u:" is one part,
// "u:p:" two).
bool valid_digest(std::string_view id) {
  size_t parts = 0;
  size_t nonempty_upto = 0; // parts up to the last non-empty one
  size_t start = 0;
  while (true) {
    auto colon = id.find(':', start);
    auto piece = id.substr(start, colon == std::string_view::npos
                                      ? std::string_view::npos
                                      : colon - start);
    ++parts;
    if (!piece.empty())
      nonempty_upto = parts;
    if (colon == std::string_view::npos)
      break;
    start = colon + 1;
  }
  // "" splits into one empty part (Java returns the input itself).
  if (id.empty())
    return false;
  return nonempty_upto == 2;
}

bool is_world_anyone(const wire::id& id) {
  return id.scheme == "world" && id.ident == "anyone";
}

constexpr uint32_t replacement_char = 0xfffd;

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

bool is_continuation(uint8_t b) {
  return (b & 0xc0) == 0x80;
}

// ConcurrentHashMap.spread: the bits that pick a bin.
int32_t spread(int32_t h) {
  auto u = static_cast<uint32_t>(h);
  return static_cast<int32_t>((u ^ (u >> 16)) & 0x7fffffffu);
}

} // namespace

std::string java_string(std::string_view in) {
  // The JDK 17 String(byte[], UTF_8) decoder, case by case; where it differs
  // from "one U+FFFD per maximal invalid subpart" it is kept as it is.
  std::string out;
  out.reserve(in.size());
  auto at = [&](size_t i) {
    return static_cast<uint8_t>(in[i]);
  };
  size_t sp = 0;
  const size_t sl = in.size();
  while (sp < sl) {
    uint8_t b1 = at(sp++);
    if (b1 < 0x80) {
      out.push_back(static_cast<char>(b1));
    } else if (b1 >= 0xc2 && b1 <= 0xdf) {
      if (sp >= sl) {
        put_utf8(out, replacement_char);
        break;
      }
      uint8_t b2 = at(sp);
      if (!is_continuation(b2)) {
        put_utf8(out, replacement_char);
        continue; // b2 starts the next character
      }
      ++sp;
      put_utf8(out, (uint32_t{b1 & 0x1fu} << 6) | (b2 & 0x3fu));
    } else if ((b1 & 0xf0) == 0xe0) {
      auto bad_second = [&](uint8_t b2) {
        return (b1 == 0xe0 && (b2 & 0xe0) == 0x80) || !is_continuation(b2);
      };
      if (sp + 1 < sl) {
        uint8_t b2 = at(sp);
        uint8_t b3 = at(sp + 1);
        if (bad_second(b2)) {
          put_utf8(out, replacement_char);
          continue;
        }
        if (!is_continuation(b3)) {
          put_utf8(out, replacement_char);
          sp += 1;
          continue;
        }
        sp += 2;
        uint32_t c = (uint32_t{b1 & 0x0fu} << 12) |
                     (uint32_t{b2 & 0x3fu} << 6) | (b3 & 0x3fu);
        // A surrogate in three bytes: one U+FFFD for all three.
        put_utf8(out, c >= 0xd800 && c <= 0xdfff ? replacement_char : c);
        continue;
      }
      put_utf8(out, replacement_char);
      if (sp < sl && bad_second(at(sp)))
        continue;
      break; // a truncated sequence ends the text
    } else if ((b1 & 0xf8) == 0xf0) {
      auto bad_second = [&](uint8_t b2) {
        return (b1 == 0xf0 && (b2 < 0x90 || b2 > 0xbf)) ||
               (b1 == 0xf4 && (b2 & 0xf0) != 0x80) || !is_continuation(b2);
      };
      if (sp + 2 < sl) {
        uint8_t b2 = at(sp);
        uint8_t b3 = at(sp + 1);
        uint8_t b4 = at(sp + 2);
        uint32_t uc = (uint32_t{b1 & 0x07u} << 18) |
                      (uint32_t{b2 & 0x3fu} << 12) |
                      (uint32_t{b3 & 0x3fu} << 6) | (b4 & 0x3fu);
        if (!is_continuation(b2) || !is_continuation(b3) ||
            !is_continuation(b4) || uc < 0x10000 || uc > 0x10ffff) {
          put_utf8(out, replacement_char);
          if (b1 > 0xf4 || bad_second(b2))
            continue;
          sp += is_continuation(b3) ? 2 : 1;
          continue;
        }
        sp += 3;
        put_utf8(out, uc);
        continue;
      }
      if (b1 > 0xf4 || (sp < sl && bad_second(at(sp)))) {
        put_utf8(out, replacement_char);
        continue;
      }
      ++sp;
      put_utf8(out, replacement_char);
      if (sp < sl && !is_continuation(at(sp)))
        continue;
      break;
    } else {
      put_utf8(out, replacement_char);
    }
  }
  return out;
}

int32_t java_string_hash(std::string_view utf8) {
  uint32_t h = 0;
  auto unit = [&](uint32_t u) {
    h = h * 31u + u;
  };
  size_t i = 0;
  while (i < utf8.size()) {
    auto b = static_cast<uint8_t>(utf8[i]);
    uint32_t cp;
    size_t len;
    if (b < 0x80) {
      cp = b;
      len = 1;
    } else if ((b & 0xe0) == 0xc0) {
      cp = b & 0x1fu;
      len = 2;
    } else if ((b & 0xf0) == 0xe0) {
      cp = b & 0x0fu;
      len = 3;
    } else {
      cp = b & 0x07u;
      len = 4;
    }
    if (i + len > utf8.size()) {
      // Not well-formed (callers pass java_string() output): hash the rest
      // as Java would after replacing it.
      return java_string_hash(java_string(utf8.substr(0, i)) +
                              java_string(utf8.substr(i)));
    }
    for (size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<uint8_t>(utf8[i + k]) & 0x3fu);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xd800 + (cp >> 10));
      unit(0xdc00 + (cp & 0x3ff));
    } else {
      unit(cp);
    }
  }
  return static_cast<int32_t>(h);
}

std::string base64_encode(const uint8_t* bytes, size_t n) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    if (i + 1 < n)
      v |= uint32_t{bytes[i + 1]} << 8;
    if (i + 2 < n)
      v |= bytes[i + 2];
    out.push_back(alphabet[(v >> 18) & 0x3f]);
    out.push_back(alphabet[(v >> 12) & 0x3f]);
    out.push_back(i + 1 < n ? alphabet[(v >> 6) & 0x3f] : '=');
    out.push_back(i + 2 < n ? alphabet[v & 0x3f] : '=');
  }
  return out;
}

std::string generate_digest(std::string_view user_password) {
  auto text = java_string(user_password);
  auto d = sha1::of(text);
  auto colon = text.find(':');
  auto user = colon == std::string::npos ? text : text.substr(0, colon);
  return user + ":" + base64_encode(d.data(), d.size());
}

std::string java_host_address(std::string_view addr) {
  std::string s{addr};
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    char buf[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &v4, buf, sizeof(buf)) != nullptr)
      return buf;
    return s;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) != 1)
    return s;
  auto* b = v6.s6_addr;
  // Java turns an IPv4-mapped address into an Inet4Address.
  static constexpr uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
                                         0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(b, b + 12, mapped)) {
    char buf[INET_ADDRSTRLEN];
    std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
    return buf;
  }
  std::string out;
  for (int g = 0; g < 8; ++g) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), g == 0 ? "%x" : ":%x",
                  (unsigned{b[2 * g]} << 8) | b[2 * g + 1]);
    out += buf;
  }
  return out;
}

int32_t java_id_hash(const wire::id& id) {
  uint32_t r = 17;
  r = 37u * r + static_cast<uint32_t>(java_string_hash(id.scheme));
  r = 37u * r + static_cast<uint32_t>(java_string_hash(id.ident));
  return static_cast<int32_t>(r);
}

bool auth_set::add(const wire::id& id) {
  if (bins_.empty())
    bins_.resize(16);
  entry e{spread(java_id_hash(id)), id};
  auto& bin = bins_[static_cast<size_t>(e.hash) & (bins_.size() - 1)];
  for (auto& x : bin)
    if (x.id == id)
      return false;
  bin.push_back(std::move(e));
  size_t count = ordered_.size() + 1;
  // addCount: grow when the count reaches sizeCtl, 3/4 of the table.
  while (count >= bins_.size() - bins_.size() / 4)
    resize();
  reorder();
  return true;
}

void auth_set::resize() {
  // ConcurrentHashMap.transfer: each bin splits into a low bin (same index)
  // and a high one (index + n). The longest tail of nodes that all go the
  // same way moves as it is; the nodes before it are prepended one by one,
  // so they end up reversed in front of it.
  size_t n = bins_.size();
  std::vector<std::vector<entry>> next(2 * n);
  for (size_t i = 0; i < n; ++i) {
    auto& bin = bins_[i];
    if (bin.empty())
      continue;
    auto high = [&](const entry& x) {
      return (static_cast<size_t>(x.hash) & n) != 0;
    };
    size_t last_run = 0;
    bool run_high = high(bin[0]);
    for (size_t p = 1; p < bin.size(); ++p) {
      if (high(bin[p]) != run_high) {
        run_high = high(bin[p]);
        last_run = p;
      }
    }
    auto& lo = next[i];
    auto& hi = next[i + n];
    auto& tail = run_high ? hi : lo;
    tail.assign(bin.begin() + static_cast<std::ptrdiff_t>(last_run), bin.end());
    for (size_t p = 0; p < last_run; ++p) {
      auto& dst = high(bin[p]) ? hi : lo;
      dst.insert(dst.begin(), bin[p]);
    }
  }
  bins_ = std::move(next);
}

void auth_set::reorder() {
  ordered_.clear();
  for (auto& bin : bins_)
    for (auto& x : bin)
      ordered_.push_back(x.id);
}

std::vector<wire::client_info> client_infos(const auth_ids& who) {
  std::vector<wire::client_info> out;
  out.reserve(who.size());
  for (auto& id : who) {
    wire::client_info ci;
    ci.auth_scheme = id.scheme;
    if (id.scheme == "digest")
      ci.user = id.ident.substr(0, id.ident.find(':'));
    else if (id.scheme == "ip")
      ci.user = id.ident;
    out.push_back(std::move(ci));
  }
  return out;
}

const auth_ids& superuser() {
  static const auth_ids ids{wire::id{"super", ""}};
  return ids;
}

bool valid_acl_id(const wire::id& id) {
  if (is_world_anyone(id))
    return true;
  if (id.scheme == "ip")
    return parse_ip_expr(id.ident).has_value();
  if (id.scheme == "digest")
    return valid_digest(id.ident);
  return false;
}

wire::err fixup_acl(const std::vector<wire::acl>& in, const auth_ids& who,
                    std::vector<wire::acl>& out) {
  out.clear();
  std::vector<wire::acl> uniq;
  uniq.reserve(in.size());
  for (auto& a : in)
    if (std::find(uniq.begin(), uniq.end(), a) == uniq.end())
      uniq.push_back(a);
  if (uniq.empty())
    return wire::err::invalid_acl;
  for (auto& a : uniq) {
    if (is_world_anyone(a.id)) {
      out.push_back(a);
    } else if (a.id.scheme == "auth") {
      // Only providers that say isAuthenticated() count: digest does, ip
      // does not, super has no provider.
      bool any = false;
      for (auto& cid : who) {
        if (cid.scheme == "digest") {
          any = true;
          out.push_back(wire::acl{a.perms, cid});
        }
      }
      if (!any)
        return wire::err::invalid_acl;
    } else if (valid_acl_id(a.id)) {
      out.push_back(a);
    } else {
      return wire::err::invalid_acl;
    }
  }
  return wire::err::ok;
}

bool acl_permits(const std::vector<wire::acl>& acl, int32_t perm,
                 const auth_ids& who) {
  if (acl.empty())
    return true;
  for (auto& id : who)
    if (id.scheme == "super")
      return true;
  for (auto& a : acl) {
    if ((a.perms & perm) == 0)
      continue;
    if (is_world_anyone(a.id))
      return true;
    if (a.id.scheme == "ip") {
      for (auto& id : who)
        if (id.scheme == "ip" && ip_matches(id.ident, a.id.ident))
          return true;
    } else if (a.id.scheme == "digest") {
      for (auto& id : who)
        if (id.scheme == "digest" && id.ident == a.id.ident)
          return true;
    }
  }
  return false;
}

} // namespace zkd::datatree
