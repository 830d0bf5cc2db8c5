#include "actors/datatree/acl.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>

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

} // namespace

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
