#include "actors/tracer/record.hpp"

#include <cstdlib>

#include "actors/tracer/tracer.hpp"

namespace zkd::tracer {

const json* json::find(std::string_view key) const {
  if (t != type::object)
    return nullptr;
  for (auto& [k, v] : members)
    if (k == key)
      return &v;
  return nullptr;
}

namespace {

constexpr int max_depth = 64;

class parser {
public:
  explicit parser(std::string_view s) : s_(s) {}

  std::optional<json> document(std::string* why) {
    json v;
    skip_ws();
    if (!parse_value(v, 0) || (skip_ws(), pos_ != s_.size())) {
      if (error_.empty())
        error_ = "unexpected text";
      if (why)
        *why = error_ + " at offset " + std::to_string(pos_);
      return std::nullopt;
    }
    return v;
  }

private:
  bool fail(const char* what) {
    if (error_.empty())
      error_ = what;
    return false;
  }

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word)
      return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool parse_value(json& v, int depth) {
    if (depth > max_depth)
      return fail("nested too deeply");
    if (pos_ >= s_.size())
      return fail("unexpected end");
    switch (s_[pos_]) {
    case '{':
      return parse_object(v, depth);
    case '[':
      return parse_array(v, depth);
    case '"':
      v.t = json::type::string;
      return parse_string(v.text);
    case 't':
      v.t = json::type::boolean;
      v.b = true;
      return literal("true");
    case 'f':
      v.t = json::type::boolean;
      v.b = false;
      return literal("false");
    case 'n':
      v.t = json::type::null;
      return literal("null");
    default:
      v.t = json::type::number;
      return parse_number(v.text);
    }
  }

  bool parse_object(json& v, int depth) {
    v.t = json::type::object;
    ++pos_; // {
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"')
        return fail("expected a member name");
      std::string key;
      if (!parse_string(key))
        return false;
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':')
        return fail("expected ':'");
      ++pos_;
      skip_ws();
      json member;
      if (!parse_value(member, depth + 1))
        return false;
      v.members.emplace_back(std::move(key), std::move(member));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool parse_array(json& v, int depth) {
    v.t = json::type::array;
    ++pos_; // [
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      json item;
      if (!parse_value(item, depth + 1))
        return false;
      v.items.push_back(std::move(item));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool hex4(uint32_t& out) {
    if (pos_ + 4 > s_.size())
      return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        out |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        out |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return fail("invalid \\u escape");
    }
    return true;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  bool parse_string(std::string& out) {
    ++pos_; // opening quote
    for (;;) {
      if (pos_ >= s_.size())
        return fail("unterminated string");
      auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20)
        return fail("control character in string");
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      if (++pos_ >= s_.size())
        return fail("unterminated string");
      char e = s_[pos_++];
      switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp = 0;
        if (!hex4(cp))
          return false;
        if (cp >= 0xd800 && cp < 0xdc00) {
          uint32_t lo = 0;
          if (s_.substr(pos_, 2) != "\\u")
            return fail("lone high surrogate");
          pos_ += 2;
          if (!hex4(lo))
            return false;
          if (lo < 0xdc00 || lo >= 0xe000)
            return fail("invalid low surrogate");
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp < 0xe000) {
          return fail("lone low surrogate");
        }
        append_utf8(out, cp);
        break;
      }
      default:
        return fail("invalid escape");
      }
    }
  }

  bool parse_number(std::string& out) {
    auto start = pos_;
    auto digit = [&] {
      return pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9';
    };
    if (pos_ < s_.size() && s_[pos_] == '-')
      ++pos_;
    if (!digit())
      return fail("invalid value");
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (digit())
        ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digit())
        return fail("invalid number");
      while (digit())
        ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-'))
        ++pos_;
      if (!digit())
        return fail("invalid number");
      while (digit())
        ++pos_;
    }
    out.assign(s_.data() + start, pos_ - start);
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

bool read_i64(const json* v, int64_t& out) {
  if (v == nullptr || v->t != json::type::number)
    return false;
  auto n = parse_integer(v->text);
  if (!n)
    return false;
  out = *n;
  return true;
}

bool read_string(const json* v, std::string& out) {
  if (v == nullptr || v->t != json::type::string)
    return false;
  out = v->text;
  return true;
}

} // namespace

std::optional<json> parse_json(std::string_view text, std::string* why) {
  return parser{text}.document(why);
}

void append_json(std::string& out, const json& v) {
  switch (v.t) {
  case json::type::null:
    out += "null";
    break;
  case json::type::boolean:
    out += v.b ? "true" : "false";
    break;
  case json::type::number:
    out += v.text;
    break;
  case json::type::string:
    append_json_string(out, v.text);
    break;
  case json::type::array: {
    out += '[';
    bool first = true;
    for (auto& i : v.items) {
      if (!first)
        out += ',';
      first = false;
      append_json(out, i);
    }
    out += ']';
    break;
  }
  case json::type::object: {
    out += '{';
    bool first = true;
    for (auto& [k, m] : v.members) {
      if (!first)
        out += ',';
      first = false;
      append_json_string(out, k);
      out += ':';
      append_json(out, m);
    }
    out += '}';
    break;
  }
  }
}

std::optional<int64_t> parse_integer(std::string_view s) {
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty())
    return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    if (v >
        (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base))
      return std::nullopt;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  // Hex spells the 64-bit pattern (session ids use the top bit); decimal
  // must fit a signed value.
  if (base == 10 && v > (negative ? uint64_t{1} << 63 : uint64_t{INT64_MAX}))
    return std::nullopt;
  auto r = static_cast<int64_t>(v);
  return negative ? static_cast<int64_t>(uint64_t{0} - v) : r;
}

std::optional<std::string> record::field_text(std::string_view name) const {
  for (auto& [k, v] : fields) {
    if (k != name)
      continue;
    if (v.t == json::type::string || v.t == json::type::number)
      return v.text;
    std::string out;
    append_json(out, v);
    return out;
  }
  return std::nullopt;
}

std::optional<record> parse_record(std::string_view line, std::string* why) {
  auto doc = parse_json(line, why);
  if (!doc)
    return std::nullopt;
  auto bad = [&](const char* what) -> std::optional<record> {
    if (why)
      *why = what;
    return std::nullopt;
  };
  if (doc->t != json::type::object)
    return bad("not a JSON object");
  record r;
  int64_t node = 0;
  if (!read_i64(doc->find("mono_ns"), r.mono_ns))
    return bad("no integer mono_ns");
  if (!read_i64(doc->find("wall_ns"), r.wall_ns))
    return bad("no integer wall_ns");
  if (!read_i64(doc->find("node"), node) || node < 0)
    return bad("no node id");
  r.node = static_cast<uint64_t>(node);
  if (!read_string(doc->find("from"), r.from) || r.from.empty())
    return bad("no sender (from)");
  if (!read_string(doc->find("to"), r.to) || r.to.empty())
    return bad("no receiver (to)");
  if (!read_string(doc->find("type"), r.type) || r.type.empty())
    return bad("no message type");
  int64_t n = 0;
  if (auto* v = doc->find("from_node")) {
    if (!read_i64(v, n) || n < 0)
      return bad("from_node is not a node id");
    r.from_node = static_cast<uint64_t>(n);
  }
  if (auto* v = doc->find("to_node")) {
    if (!read_i64(v, n) || n < 0)
      return bad("to_node is not a node id");
    r.to_node = static_cast<uint64_t>(n);
  }
  if (auto* f = doc->find("fields")) {
    if (f->t != json::type::object)
      return bad("fields is not an object");
    r.fields = f->members;
  }
  return r;
}

std::string_view actor_kind(std::string_view actor) {
  auto i = actor.find('#');
  return i == std::string_view::npos ? actor : actor.substr(0, i);
}

} // namespace zkd::tracer
