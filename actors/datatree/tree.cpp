#include "actors/datatree/tree.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <tuple>

#include "actors/datatree/crc32.hpp"
#include "actors/datatree/path.hpp"

namespace zkd::datatree {

namespace op = wire::op;

namespace {

// What a trigger carries for the READ check on its watchers: nothing when
// world:anyone may read, which is the common case and costs no copy.
std::shared_ptr<const std::vector<wire::acl>>
read_guard(const std::vector<wire::acl>& acl) {
  static const auth_ids nobody;
  if (acl_permits(acl, wire::perm::read, nobody))
    return nullptr;
  return std::make_shared<const std::vector<wire::acl>>(acl);
}

[[noreturn]] void violated(const char* what, std::string_view path = {}) {
  std::fprintf(stderr, "zkd::datatree invariant violated: %s %.*s\n", what,
               static_cast<int>(path.size()), path.data());
  std::abort();
}

#define TREE_REQUIRE(cond, what, path)                                         \
  do {                                                                         \
    if (!(cond))                                                               \
      violated(what, path);                                                    \
  } while (false)

uint32_t hash_path(std::string_view path) noexcept {
  auto h = std::hash<std::string_view>{}(path);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

// 16 bits of the hash kept in the unused top bits of a slot's pointer, so a
// probe rarely dereferences a node that is not the one looked for.
uintptr_t tag_of(uint32_t h) noexcept {
  return uintptr_t{(h * 0x9E3779B1u) >> 16} << 48;
}

constexpr uintptr_t ptr_mask = (uintptr_t{1} << 48) - 1;

// Java's int arithmetic for the visible cversion (stored * 2 - children).
int32_t wrap_i32(int64_t v) noexcept {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
}

void put_i64(unsigned char*& p, int64_t v) noexcept {
  auto u = static_cast<uint64_t>(v);
  for (int i = 7; i >= 0; --i)
    *p++ = static_cast<unsigned char>(u >> (8 * i));
}

void put_i32(unsigned char*& p, int32_t v) noexcept {
  auto u = static_cast<uint32_t>(v);
  for (int i = 3; i >= 0; --i)
    *p++ = static_cast<unsigned char>(u >> (8 * i));
}

std::string_view trim_java(std::string_view s) noexcept {
  // String.trim(): strips code units <= ' ' at both ends.
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ')
    s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ')
    s.remove_suffix(1);
  return s;
}

// id.replaceAll(":.*", ":x") as Java's regex does it: '.' stops at line
// terminators, and a later line may match again.
std::string redact_digest(std::string_view id) {
  std::string out;
  size_t i = 0;
  while (i < id.size()) {
    auto colon = id.find(':', i);
    if (colon == std::string_view::npos) {
      out.append(id.substr(i));
      break;
    }
    out.append(id.substr(i, colon - i));
    out.append(":x");
    size_t j = colon + 1;
    while (j < id.size()) {
      unsigned char c = static_cast<unsigned char>(id[j]);
      if (c == '\n' || c == '\r')
        break;
      if (c == 0xC2 && j + 1 < id.size() &&
          static_cast<unsigned char>(id[j + 1]) == 0x85)
        break; // U+0085
      if (c == 0xE2 && j + 2 < id.size() &&
          static_cast<unsigned char>(id[j + 1]) == 0x80 &&
          (static_cast<unsigned char>(id[j + 2]) == 0xA8 ||
           static_cast<unsigned char>(id[j + 2]) == 0xA9))
        break; // U+2028, U+2029
      ++j;
    }
    i = j;
  }
  return out;
}

} // namespace

// -- znode --------------------------------------------------------------------

// One allocation per znode: this header, then the path bytes, then the data
// bytes. Children are a doubly linked list through their siblings, so a leaf
// carries no container and unlinking is O(1).
struct tree::znode {
  int64_t czxid;
  int64_t mzxid;
  int64_t ctime;
  int64_t mtime;
  int64_t ephemeral_owner;
  int64_t pzxid;
  int32_t version;
  int32_t cversion; // child creates, as ZooKeeper stores it
  int32_t aversion;
  int32_t num_children;
  uint32_t acl;  // index into the ACL cache
  uint32_t hash; // hash_path(path)
  uint32_t path_len : 31;
  // Visited by the running capture iff equal to tree::mark_ (a spare bit of
  // path_len's word).
  uint32_t mark : 1;
  int32_t data_len; // -1: null data
  // node_digest of the current state, kept as ZooKeeper's DataNode keeps
  // its digest: a change subtracts the old one without recomputing it.
  uint32_t digest;
  znode* first_child;
  znode* next_sibling;
  znode* prev_sibling;

  char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
  const char* bytes() const noexcept {
    return reinterpret_cast<const char*>(this + 1);
  }
  std::string_view path() const noexcept { return {bytes(), path_len}; }
  std::string_view data_view() const noexcept {
    return {bytes() + path_len, data_len < 0 ? 0 : size_t(data_len)};
  }
  wire::opt_bytes data() const {
    if (data_len < 0)
      return std::nullopt;
    return std::string{data_view()};
  }
  int32_t data_length() const noexcept { return data_len < 0 ? 0 : data_len; }
  stat_persisted stat() const noexcept {
    stat_persisted s;
    s.czxid = czxid;
    s.mzxid = mzxid;
    s.ctime = ctime;
    s.mtime = mtime;
    s.version = version;
    s.cversion = cversion;
    s.aversion = aversion;
    s.ephemeral_owner = ephemeral_owner;
    s.pzxid = pzxid;
    return s;
  }
  wire::stat client() const noexcept {
    return client_stat(stat(), data_length(), num_children);
  }

  static size_t alloc_size(size_t path_len, int64_t data_len) noexcept {
    return sizeof(znode) + path_len + (data_len < 0 ? 0 : size_t(data_len));
  }

  static znode* make(std::string_view path, const wire::opt_bytes& data) {
    return data ? make(path, data->data(), int64_t(data->size()))
                : make(path, nullptr, -1);
  }

  // dlen -1: null data.
  static znode* make(std::string_view path, const char* data, int64_t dlen) {
    if (path.size() >= (size_t{1} << 31) || dlen > INT32_MAX)
      throw std::bad_alloc{};
    void* mem = std::malloc(alloc_size(path.size(), dlen));
    if (mem == nullptr)
      throw std::bad_alloc{};
    auto n = new (mem) znode{};
    n->path_len = static_cast<uint32_t>(path.size());
    n->hash = hash_path(path);
    n->data_len = static_cast<int32_t>(dlen);
    std::memcpy(n->bytes(), path.data(), path.size());
    if (dlen > 0)
      std::memcpy(n->bytes() + path.size(), data, size_t(dlen));
    return n;
  }

  static void destroy(znode* n) noexcept {
    n->~znode();
    std::free(n);
  }
};

static_assert(sizeof(tree::znode) == 112, "znode header layout");

// -- capture state ------------------------------------------------------------

struct tree::capture_state {
  capture_sink* sink = nullptr;
  znode* next = nullptr; // the next znode in preorder; nullptr: done
  int64_t zxid = 0;
};

// -- index: path -> znode -----------------------------------------------------

// Open addressing with linear probing over tagged pointers; deletion by
// backward shift, so there are no tombstones. 8 bytes per slot, load <= 3/4.
class tree::index {
public:
  index() : slots_(16, 0), mask_(15) {
    // nop
  }

  znode* find(std::string_view path, uint32_t h) const noexcept {
    auto tag = tag_of(h);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      auto s = slots_[i];
      if (s == 0)
        return nullptr;
      if ((s & ~ptr_mask) == tag) {
        auto n = reinterpret_cast<znode*>(s & ptr_mask);
        if (n->hash == h && n->path() == path)
          return n;
      }
    }
  }

  void insert(znode* n) {
    if ((size_ + 1) * 4 > slots_.size() * 3)
      grow();
    place(n);
    ++size_;
  }

  void erase(const znode* n) noexcept {
    auto i = slot_of(reinterpret_cast<uintptr_t>(n), n->hash);
    // Backward shift: pull later entries of the cluster into the hole
    // unless their home slot lies cyclically after the hole.
    for (size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      auto s = slots_[j];
      if (s == 0)
        break;
      auto home = reinterpret_cast<znode*>(s & ptr_mask)->hash & mask_;
      bool stays = ((j - home) & mask_) < ((j - i) & mask_);
      if (!stays) {
        slots_[i] = s;
        i = j;
      }
    }
    slots_[i] = 0;
    --size_;
  }

  // `now` replaces the node that was at address `old` (same path) before a
  // reallocation.
  void replace(uintptr_t old, znode* now) noexcept {
    auto i = slot_of(old, now->hash);
    slots_[i] = reinterpret_cast<uintptr_t>(now) | tag_of(now->hash);
  }

  size_t size() const noexcept { return size_; }
  size_t capacity() const noexcept { return slots_.size(); }

  template <class F>
  void for_each(F&& f) const {
    for (auto s : slots_)
      if (s != 0)
        f(reinterpret_cast<znode*>(s & ptr_mask));
  }

  // Every node sits in the cluster of its home slot, with its tag.
  void check() const {
    size_t n = 0;
    for (size_t i = 0; i < slots_.size(); ++i) {
      auto s = slots_[i];
      if (s == 0)
        continue;
      ++n;
      auto node = reinterpret_cast<znode*>(s & ptr_mask);
      TREE_REQUIRE((s & ~ptr_mask) == tag_of(node->hash), "index tag",
                   node->path());
      TREE_REQUIRE(node->hash == hash_path(node->path()), "stored hash",
                   node->path());
      for (size_t k = node->hash & mask_; k != i; k = (k + 1) & mask_)
        TREE_REQUIRE(slots_[k] != 0, "index cluster", node->path());
    }
    TREE_REQUIRE(n == size_, "index size", "");
  }

private:
  size_t slot_of(uintptr_t want, uint32_t hash) const noexcept {
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      if ((slots_[i] & ptr_mask) == want)
        return i;
      if (slots_[i] == 0)
        violated("index: node not found");
    }
  }

  void place(znode* n) noexcept {
    auto p = reinterpret_cast<uintptr_t>(n);
    if ((p & ~ptr_mask) != 0)
      violated("index: pointer beyond 48 bits", n->path());
    size_t i = n->hash & mask_;
    while (slots_[i] != 0)
      i = (i + 1) & mask_;
    slots_[i] = p | tag_of(n->hash);
  }

  void grow() {
    std::vector<uintptr_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (auto s : old)
      if (s != 0)
        place(reinterpret_cast<znode*>(s & ptr_mask));
  }

  std::vector<uintptr_t> slots_;
  size_t mask_;
  size_t size_ = 0;
};

// -- ACL cache ----------------------------------------------------------------

// ZooKeeper's ReferenceCountedACLCache: each distinct ACL list once, shared
// by index. Entry 0 is world:anyone/ALL (ZooKeeper's -1), never released.
class tree::acl_cache {
public:
  acl_cache() {
    auto open = std::vector<wire::acl>{
        wire::acl{wire::perm::all, wire::id{"world", "anyone"}}};
    add(open);
  }

  uint32_t add(const std::vector<wire::acl>& acl) {
    auto k = key(acl);
    auto i = by_key_.find(k);
    if (i != by_key_.end()) {
      ++entries_[i->second].refs;
      return i->second;
    }
    uint32_t idx;
    if (!free_.empty()) {
      idx = free_.back();
      free_.pop_back();
      ++entries_[idx].generation;
    } else {
      idx = static_cast<uint32_t>(entries_.size());
      entries_.emplace_back();
    }
    entries_[idx].acl = acl;
    entries_[idx].refs = 1;
    by_key_.emplace(std::move(k), idx);
    return idx;
  }

  void add_ref(uint32_t idx) noexcept { ++entries_[idx].refs; }

  void release(uint32_t idx) {
    auto& e = entries_[idx];
    TREE_REQUIRE(e.refs > 0, "acl refcount", "");
    if (--e.refs == 0 && idx != 0) {
      by_key_.erase(key(e.acl));
      e.acl.clear();
      e.acl.shrink_to_fit();
      free_.push_back(idx);
    }
  }

  const std::vector<wire::acl>& get(uint32_t idx) const noexcept {
    return entries_[idx].acl;
  }

  // Differs for two lists that ever occupied the same slot.
  uint64_t key_of(uint32_t idx) const noexcept {
    return (uint64_t{idx} << 32) | entries_[idx].generation;
  }

  size_t size() const noexcept { return by_key_.size(); }

  // Reference counts must equal the uses counted by the caller (plus the
  // permanent one of entry 0).
  void check(const std::vector<uint64_t>& uses) const {
    for (size_t i = 0; i < entries_.size(); ++i) {
      auto expect = (i < uses.size() ? uses[i] : 0) + (i == 0 ? 1 : 0);
      TREE_REQUIRE(entries_[i].refs == expect, "acl refcount mismatch", "");
    }
  }

  size_t entries() const noexcept { return entries_.size(); }

  size_t memory_bytes() const noexcept {
    size_t n = entries_.capacity() * sizeof(entry);
    for (auto& e : entries_)
      for (auto& a : e.acl)
        n += sizeof(a) + a.id.scheme.capacity() + a.id.ident.capacity();
    return n + by_key_.size() * 64;
  }

private:
  struct entry {
    std::vector<wire::acl> acl;
    uint64_t refs = 0;
    uint32_t generation = 0; // bumped when a freed slot is reused
  };

  static std::string key(const std::vector<wire::acl>& acl) {
    std::string k;
    for (auto& a : acl) {
      k.append(reinterpret_cast<const char*>(&a.perms), sizeof(a.perms));
      auto put = [&](const std::string& s) {
        auto n = static_cast<uint32_t>(s.size());
        k.append(reinterpret_cast<const char*>(&n), sizeof(n));
        k.append(s);
      };
      put(a.id.scheme);
      put(a.id.ident);
    }
    return k;
  }

  std::vector<entry> entries_;
  std::vector<uint32_t> free_;
  std::unordered_map<std::string, uint32_t> by_key_;
};

// -- free functions -----------------------------------------------------------

bool stat_persisted::operator==(const stat_persisted& o) const {
  return std::tie(czxid, mzxid, ctime, mtime, version, cversion, aversion,
                  ephemeral_owner, pzxid) ==
         std::tie(o.czxid, o.mzxid, o.ctime, o.mtime, o.version, o.cversion,
                  o.aversion, o.ephemeral_owner, o.pzxid);
}

bool is_ttl_owner(int64_t owner) noexcept {
  auto u = static_cast<uint64_t>(owner);
  return (u & 0xff00000000000000ull) == 0xff00000000000000ull &&
         (u & 0x00ffff0000000000ull) == 0;
}

int64_t ttl_owner(int64_t ttl_ms) noexcept {
  return static_cast<int64_t>(0xff00000000000000ull |
                              static_cast<uint64_t>(ttl_ms));
}

namespace {

// EphemeralType.get(owner) == NORMAL: a session's ephemeral.
bool is_session_owner(int64_t owner) noexcept {
  return owner != 0 && owner != container_owner && !is_ttl_owner(owner);
}

} // namespace

wire::stat client_stat(const stat_persisted& s, int32_t data_length,
                       int32_t num_children) {
  wire::stat out;
  out.czxid = s.czxid;
  out.mzxid = s.mzxid;
  out.ctime = s.ctime;
  out.mtime = s.mtime;
  out.version = s.version;
  // ZooKeeper stores child creates; every create but those of the children
  // still present was matched by a delete (DataNode.copyStat).
  out.cversion = wrap_i32(int64_t{s.cversion} * 2 - num_children);
  out.aversion = s.aversion;
  out.ephemeral_owner =
      is_session_owner(s.ephemeral_owner) ? s.ephemeral_owner : 0;
  out.data_length = data_length;
  out.num_children = num_children;
  out.pzxid = s.pzxid;
  return out;
}

// -- tree: construction -------------------------------------------------------

tree::tree()
    : index_(std::make_unique<index>()), acls_(std::make_unique<acl_cache>()) {
  // Every system node starts with a zero stat, empty (not null) data and
  // world:anyone/ALL; their children are linked without a create, hence the
  // negative visible cversions of "/" and "/zookeeper".
  root_ = znode::make("/", std::string{});
  root_->acl = 0;
  acls_->add_ref(0);
  index_->insert(root_);
  count_ = 1;
  data_size_ = 1;
  digest_ += redigest(root_);
  make_system_node(root_, "/zookeeper");
  auto zk = find("/zookeeper");
  make_system_node(zk, "/zookeeper/quota");
  make_system_node(zk, "/zookeeper/config");
  // ZooKeeper 3.5+ protects the config node (ZOOKEEPER-2014) with
  // READ_ACL_UNSAFE through setACL(path, acl, -1), hence aversion -1.
  auto config = find("/zookeeper/config");
  acls_->release(config->acl);
  config->acl =
      acls_->add({wire::acl{wire::perm::read, wire::id{"world", "anyone"}}});
  config->aversion = -1;
}

void tree::make_system_node(znode* parent, std::string_view path) {
  auto n = znode::make(path, std::string{});
  n->acl = 0;
  acls_->add_ref(0);
  n->next_sibling = parent->first_child;
  if (parent->first_child)
    parent->first_child->prev_sibling = n;
  parent->first_child = n;
  ++parent->num_children;
  index_->insert(n);
  ++count_;
  data_size_ += int64_t(path.size());
  digest_ += redigest(n);
}

tree::~tree() {
  std::vector<znode*> all;
  all.reserve(count_);
  index_->for_each([&](znode* n) { all.push_back(n); });
  for (auto n : all)
    znode::destroy(n);
}

tree::znode* tree::find(std::string_view path) const {
  // ZooKeeper's node map holds "/" also under "" (DataTree: "let root have
  // an alias").
  if (path.empty())
    return root_;
  return index_->find(path, hash_path(path));
}

uint64_t tree::redigest(znode* n) const {
  n->digest = static_cast<uint32_t>(node_digest(n));
  return n->digest;
}

// DigestCalculator.calculateDigest (digest version 2).
uint64_t tree::node_digest(const znode* n) const {
  auto path = n->path();
  if (path.size() >= 11 && path.substr(0, 11) == "/zookeeper/")
    return 0;
  if (path == "/")
    path = std::string_view{};
  unsigned char buf[60];
  auto p = buf;
  put_i64(p, n->czxid);
  put_i64(p, n->mzxid);
  put_i64(p, n->pzxid);
  put_i64(p, n->ctime);
  put_i64(p, n->mtime);
  put_i32(p, n->version);
  put_i32(p, n->cversion);
  put_i32(p, n->aversion);
  put_i64(p, n->ephemeral_owner);
  uint32_t crc = crc32_update(0, path.data(), path.size());
  auto d = n->data_view();
  crc = crc32_update(crc, d.data(), d.size());
  crc = crc32_update(crc, buf, sizeof(buf));
  return crc;
}

// -- tree: reads --------------------------------------------------------------

tree::znode* tree::permitted(std::string_view path, int32_t perm,
                             const auth_ids& who, wire::err& e) const {
  auto n = find(path);
  if (n == nullptr)
    e = wire::err::no_node;
  else if (!acl_permits(acls_->get(n->acl), perm, who))
    e = wire::err::no_auth;
  else
    return n;
  return nullptr;
}

data_result tree::get_data(std::string_view path, const auth_ids& who) const {
  data_result r;
  auto n = permitted(path, wire::perm::read, who, r.err);
  if (n == nullptr)
    return r;
  r.data = n->data();
  r.stat = n->client();
  return r;
}

stat_result tree::exists(std::string_view path) const {
  stat_result r;
  if (path.find('\0') != std::string_view::npos) {
    r.err = wire::err::bad_arguments;
    return r;
  }
  auto n = find(path);
  if (n == nullptr) {
    r.err = wire::err::no_node;
    return r;
  }
  r.stat = n->client();
  return r;
}

children_result tree::get_children(std::string_view path,
                                   const auth_ids& who) const {
  children_result r;
  auto n = permitted(path, wire::perm::read, who, r.err);
  if (n == nullptr)
    return r;
  r.children.reserve(size_t(n->num_children));
  for (auto c = n->first_child; c != nullptr; c = c->next_sibling)
    r.children.emplace_back(name_of(c->path()));
  std::sort(r.children.begin(), r.children.end());
  r.stat = n->client();
  return r;
}

acl_result tree::get_acl(std::string_view path, const auth_ids& who) const {
  acl_result r;
  auto n = permitted(path, wire::perm::read | wire::perm::admin, who, r.err);
  if (n == nullptr)
    return r;
  auto& acl = acls_->get(n->acl);
  r.acl = acl;
  r.stat = n->client();
  // Readers without ADMIN do not get the password hashes.
  if (!acl_permits(acl, wire::perm::admin, who))
    for (auto& a : r.acl)
      if (a.id.scheme == "digest")
        a.id.ident = redact_digest(a.id.ident);
  return r;
}

count_result tree::get_all_children_number(std::string_view path,
                                           const auth_ids& who) const {
  count_result r;
  auto n = permitted(path, wire::perm::read, who, r.err);
  if (n == nullptr)
    return r;
  if (path == "/") {
    r.count = static_cast<int32_t>(count_ - 1);
  } else if (path.empty()) {
    // ZooKeeper counts the keys starting with "/" of a map holding "/" and
    // its alias "".
    r.count = static_cast<int32_t>(count_);
  } else {
    size_t total = 0;
    std::vector<const znode*> stack;
    for (auto c = n->first_child; c != nullptr; c = c->next_sibling)
      stack.push_back(c);
    while (!stack.empty()) {
      auto c = stack.back();
      stack.pop_back();
      ++total;
      for (auto g = c->first_child; g != nullptr; g = g->next_sibling)
        stack.push_back(g);
    }
    r.count = static_cast<int32_t>(total);
  }
  return r;
}

std::vector<std::string> tree::get_ephemerals(int64_t session,
                                              std::string_view prefix) const {
  std::vector<std::string> out;
  auto i = ephemerals_.find(session);
  if (i == ephemerals_.end())
    return out;
  auto trimmed = trim_java(prefix);
  bool all = trimmed.empty() || trimmed == "/";
  for (auto& p : i->second)
    if (all || std::string_view{p}.substr(0, prefix.size()) == prefix)
      out.push_back(p);
  return out;
}

std::optional<node_view> tree::lookup(std::string_view path) const {
  auto n = find(path);
  if (n == nullptr)
    return std::nullopt;
  node_view v;
  v.stat = n->stat();
  v.num_children = n->num_children;
  v.data_length = n->data_length();
  v.acl = &acls_->get(n->acl);
  return v;
}

std::vector<std::string> tree::ephemerals_of(int64_t session) const {
  auto i = ephemerals_.find(session);
  if (i == ephemerals_.end())
    return {};
  return {i->second.begin(), i->second.end()};
}

size_t tree::acl_cache_size() const noexcept {
  return acls_->size();
}

// -- tree: index helpers ------------------------------------------------------

void tree::add_ephemeral(int64_t owner, std::string_view path) {
  if (owner == container_owner) {
    containers_.emplace(path);
  } else if (is_ttl_owner(owner)) {
    ttls_.emplace(path);
  } else if (owner != 0) {
    if (ephemerals_[owner].emplace(path).second)
      ++ephemeral_count_;
  }
}

void tree::remove_ephemeral(int64_t owner, std::string_view path) {
  if (owner == container_owner) {
    containers_.erase(std::string{path});
  } else if (is_ttl_owner(owner)) {
    ttls_.erase(std::string{path});
  } else if (owner != 0) {
    // The set stays when it empties: ZooKeeper drops a session's entry only
    // when the session closes.
    auto i = ephemerals_.find(owner);
    if (i != ephemerals_.end() && i->second.erase(std::string{path}) > 0)
      --ephemeral_count_;
  }
}

// -- tree: writes -------------------------------------------------------------

wire::err tree::create_node(std::string_view path, const wire::opt_bytes& data,
                            const std::vector<wire::acl>& acl,
                            int64_t ephemeral_owner, int32_t parent_cversion,
                            int64_t zxid, int64_t time, wire::stat* out,
                            std::vector<trigger>& triggers) {
  auto parent_path = parent_of(path);
  auto name = name_of(path);
  auto parent = find(parent_path);
  if (parent == nullptr || path.find('/') == std::string_view::npos)
    return wire::err::no_node;
  // A txn never names an empty child (prep validated the path); refuse one
  // rather than corrupt the tree.
  if (name.empty())
    return wire::err::bad_arguments;
  if (find(path) != nullptr)
    return wire::err::node_exists;
  touch(parent);
  digest_ -= parent->digest;
  if (parent_cversion == -1)
    parent_cversion = parent->cversion + 1;
  // Replaying over a fuzzy snapshot may see a create whose effect on the
  // parent is already there: only move cversion and pzxid forward.
  if (parent_cversion > parent->cversion) {
    parent->cversion = parent_cversion;
    parent->pzxid = zxid;
  }
  auto n = znode::make(path, data);
  n->mark = mark_; // a capture running now must not see it
  n->czxid = zxid;
  n->mzxid = zxid;
  n->pzxid = zxid;
  n->ctime = time;
  n->mtime = time;
  n->ephemeral_owner = ephemeral_owner;
  n->acl = acls_->add(acl);
  n->next_sibling = parent->first_child;
  if (parent->first_child)
    parent->first_child->prev_sibling = n;
  parent->first_child = n;
  ++parent->num_children;
  digest_ += redigest(parent);
  digest_ += redigest(n);
  index_->insert(n);
  ++count_;
  data_size_ += int64_t(path.size()) + n->data_length();
  add_ephemeral(ephemeral_owner, path);
  if (out)
    *out = n->client();
  int64_t bytes = n->data_length();
  auto node_guard = read_guard(acl);
  auto parent_guard = read_guard(acls_->get(parent->acl));
  // From here on `n` may move (a stats node recounted).
  quota_after_create(path, parent_path, name, bytes);
  triggers.push_back(trigger{std::string{path}, wire::event_type::node_created,
                             std::move(node_guard)});
  triggers.push_back(trigger{
      parent_path.empty() ? std::string{"/"} : std::string{parent_path},
      wire::event_type::node_children_changed, std::move(parent_guard)});
  return wire::err::ok;
}

wire::err tree::delete_node(std::string_view path, int64_t zxid,
                            std::vector<trigger>& triggers) {
  auto parent_path = parent_of(path);
  auto parent = find(parent_path);
  if (parent == nullptr || path.find('/') == std::string_view::npos)
    return wire::err::no_node;
  auto n = find(path);
  if (n == root_)
    return wire::err::bad_arguments;
  // A txn never deletes a node with children (prep checked); refuse one
  // rather than orphan them.
  if (n != nullptr && n->num_children > 0)
    return wire::err::not_empty;
  touch(parent);
  if (n != nullptr) {
    touch(n);
    // A capture about to visit `n` goes on after it (it has no children).
    if (capture_ && capture_->next == n)
      capture_->next = next_after_subtree(n);
  }
  digest_ -= parent->digest;
  if (n != nullptr) {
    if (n->prev_sibling)
      n->prev_sibling->next_sibling = n->next_sibling;
    else
      parent->first_child = n->next_sibling;
    if (n->next_sibling)
      n->next_sibling->prev_sibling = n->prev_sibling;
    --parent->num_children;
  }
  // ZooKeeper raises the parent's pzxid before it finds out whether the
  // child exists (and never lowers it).
  if (zxid > parent->pzxid)
    parent->pzxid = zxid;
  digest_ += redigest(parent);
  if (n == nullptr)
    return wire::err::no_node;
  digest_ -= n->digest;
  index_->erase(n);
  --count_;
  int64_t bytes = n->data_length();
  data_size_ -= int64_t(path.size()) + bytes;
  auto node_guard = read_guard(acls_->get(n->acl));
  auto parent_guard = read_guard(acls_->get(parent->acl));
  acls_->release(n->acl);
  remove_ephemeral(n->ephemeral_owner, path);
  znode::destroy(n);
  quota_after_delete(path, parent_path, name_of(path), bytes);
  triggers.push_back(trigger{std::string{path}, wire::event_type::node_deleted,
                             std::move(node_guard)});
  triggers.push_back(trigger{
      parent_path.empty() ? std::string{"/"} : std::string{parent_path},
      wire::event_type::node_children_changed, std::move(parent_guard)});
  return wire::err::ok;
}

tree::znode* tree::replace_data(znode* n, const wire::opt_bytes& data) {
  return data ? replace_data(n, data->data(), int64_t(data->size()))
              : replace_data(n, nullptr, -1);
}

tree::znode* tree::replace_data(znode* n, const char* data, int64_t new_len) {
  if (new_len > INT32_MAX)
    throw std::bad_alloc{};
  data_size_ -= n->data_length();
  if (std::max<int64_t>(new_len, 0) != n->data_length()) {
    auto old = reinterpret_cast<uintptr_t>(n);
    bool is_root = n == root_;
    void* mem = std::realloc(n, znode::alloc_size(n->path_len, new_len));
    if (mem == nullptr)
      throw std::bad_alloc{};
    n = static_cast<znode*>(mem);
    if (reinterpret_cast<uintptr_t>(n) != old) {
      // The node moved: repoint everything that points at it (the index,
      // its siblings or its parent's first_child); its children do not.
      index_->replace(old, n);
      if (n->prev_sibling)
        n->prev_sibling->next_sibling = n;
      else if (is_root)
        root_ = n;
      else
        find(parent_of(n->path()))->first_child = n;
      if (n->next_sibling)
        n->next_sibling->prev_sibling = n;
      if (capture_ && reinterpret_cast<uintptr_t>(capture_->next) == old)
        capture_->next = n;
    }
  }
  n->data_len = static_cast<int32_t>(new_len);
  if (new_len > 0)
    std::memcpy(n->bytes() + n->path_len, data, size_t(new_len));
  data_size_ += n->data_length();
  return n;
}

wire::err tree::set_data(std::string_view path, const wire::opt_bytes& data,
                         int32_t version, int64_t zxid, int64_t time,
                         wire::stat* out, std::vector<trigger>& triggers) {
  auto n = find(path);
  if (n == nullptr)
    return wire::err::no_node;
  int64_t old_len = n->data_length();
  touch(n);
  digest_ -= n->digest;
  n = replace_data(n, data);
  n->mtime = time;
  n->mzxid = zxid;
  n->version = version;
  digest_ += redigest(n);
  if (out)
    *out = n->client();
  int64_t new_len = n->data_length();
  if (auto prefix = quota_prefix(path))
    quota_update_stat(*prefix, new_len - old_len, 0);
  triggers.push_back(trigger{std::string{path},
                             wire::event_type::node_data_changed,
                             read_guard(acls_->get(n->acl))});
  return wire::err::ok;
}

wire::err tree::set_acl(std::string_view path,
                        const std::vector<wire::acl>& acl, int32_t version,
                        wire::stat* out) {
  auto n = find(path);
  if (n == nullptr)
    return wire::err::no_node;
  touch(n);
  digest_ -= n->digest;
  auto idx = acls_->add(acl);
  acls_->release(n->acl);
  n->acl = idx;
  n->aversion = version;
  digest_ += redigest(n);
  if (out)
    *out = n->client();
  return wire::err::ok;
}

void tree::kill_session(int64_t session, int64_t zxid,
                        const std::vector<std::string>& paths,
                        std::vector<trigger>& triggers) {
  // ZooKeeper deletes what the txn lists (whoever owns it: the leader
  // decided), then warns about and deletes whatever else this replica still
  // had for the session.
  std::set<std::string> local;
  auto i = ephemerals_.find(session);
  if (i != ephemerals_.end()) {
    local = std::move(i->second);
    ephemeral_count_ -= local.size();
    ephemerals_.erase(i);
  }
  for (auto& p : paths) {
    delete_node(p, zxid, triggers);
    local.erase(p);
  }
  for (auto& p : local)
    delete_node(p, zxid, triggers);
  sessions_.erase(session);
}

// -- tree: quotas -------------------------------------------------------------
//
// ZooKeeper keeps quota accounting in the tree itself: a node
// /zookeeper/quota<path>/zookeeper_limits marks <path> (kept in a path trie),
// and /zookeeper/quota<path>/zookeeper_stats holds "count=N,bytes=M" for the
// subtree, recomputed when the stats node is created and then adjusted by
// every create, delete and setData under the deepest marked prefix, without
// touching the stats node's Stat and without a watch event.

namespace {

constexpr std::string_view quota_root = "/zookeeper/quota";
constexpr std::string_view limit_node = "zookeeper_limits";
constexpr std::string_view stat_node = "zookeeper_stats";

// PathTrie.split: '/'-separated components, blank ones dropped.
std::vector<std::string_view> quota_components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    auto end = slash == std::string_view::npos ? path.size() : slash;
    auto part = path.substr(start, end - start);
    if (!trim_java(part).empty())
      out.push_back(part);
    if (slash == std::string_view::npos)
      break;
    start = slash + 1;
  }
  return out;
}

std::string join_components(const std::vector<std::string_view>& parts,
                            size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += '/';
    out += parts[i];
  }
  return out;
}

// Long.parseLong.
std::optional<int64_t> parse_long(std::string_view s) {
  if (s.empty())
    return std::nullopt;
  bool neg = s[0] == '-';
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size())
    return std::nullopt;
  uint64_t v = 0;
  const uint64_t limit = neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9')
      return std::nullopt;
    auto d = uint64_t(s[i] - '0');
    if (v > (limit - d) / 10)
      return std::nullopt;
    v = v * 10 + d;
  }
  return neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

// String.split(regex) as Java does it for a literal separator set: a
// leading empty piece stays, trailing empty pieces go.
std::vector<std::string_view> java_split(std::string_view s,
                                         std::string_view seps, bool runs) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || seps.find(s[i]) != std::string_view::npos) {
      out.push_back(s.substr(start, i - start));
      if (runs)
        while (i + 1 < s.size() &&
               seps.find(s[i + 1]) != std::string_view::npos)
          ++i;
      start = i + 1;
    }
  }
  while (!out.empty() && out.back().empty())
    out.pop_back();
  if (out.empty() && s.empty())
    out.push_back(s); // "".split(x) is [""]
  return out;
}

// StatsTrack(String): nullopt where ZooKeeper's parser throws (and its
// server dies; we leave the stats node alone instead).
std::optional<std::map<std::string, int64_t>> parse_stats(std::string_view s) {
  std::map<std::string, int64_t> out;
  if (s.empty())
    return out;
  for (auto pair : java_split(s, ",;", true)) {
    auto kv = java_split(pair, "=", false);
    if (kv.size() < 2)
      return std::nullopt;
    int64_t v = -1;
    if (!kv[1].empty()) {
      auto parsed = parse_long(kv[1]);
      if (!parsed)
        return std::nullopt;
      v = *parsed;
    }
    out[std::string{kv[0]}] = v;
  }
  return out;
}

// StatsTrack.toString: count and bytes first, then "=" and the other keys
// sorted, each as ";key=value".
std::string format_stats(std::map<std::string, int64_t> m) {
  auto get = [&](const char* k) {
    auto i = m.find(k);
    return i == m.end() ? int64_t{-1} : i->second;
  };
  std::string out = "count=" + std::to_string(get("count")) +
                    ",bytes=" + std::to_string(get("bytes"));
  m.erase("count");
  m.erase("bytes");
  if (!m.empty()) {
    out += '=';
    for (auto& [k, v] : m)
      out += ";" + k + "=" + std::to_string(v);
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

} // namespace

std::optional<std::string> tree::quota_prefix(std::string_view path) const {
  if (quotas_.empty())
    return std::nullopt;
  auto parts = quota_components(path);
  for (size_t n = parts.size(); n > 0; --n) {
    auto candidate = join_components(parts, n);
    if (quotas_.count(candidate))
      return candidate;
  }
  return std::nullopt;
}

bool tree::quota_exceeded(std::string_view path, int64_t bytes_diff,
                          int64_t count_diff) const {
  auto prefix = quota_prefix(path);
  if (!prefix)
    return false;
  auto node_stats = [&](std::string_view leaf)
      -> std::optional<std::map<std::string, int64_t>> {
    auto n = find(std::string{quota_root} + *prefix + "/" + std::string{leaf});
    if (n == nullptr)
      return std::nullopt;
    return parse_stats(n->data_view());
  };
  auto limits = node_stats(limit_node);
  if (!limits)
    return false;
  auto get = [](const std::map<std::string, int64_t>& m, const char* k) {
    auto i = m.find(k);
    return i == m.end() ? int64_t{-1} : i->second;
  };
  auto count_hard = get(*limits, "countHardLimit");
  auto bytes_hard = get(*limits, "byteHardLimit");
  bool check_count = count_diff != 0 && count_hard > -1;
  bool check_bytes = bytes_diff != 0 && bytes_hard > -1;
  if (!check_count && !check_bytes)
    return false;
  auto current = node_stats(stat_node);
  if (!current)
    return false;
  if (check_count && get(*current, "count") + count_diff > count_hard)
    return true;
  return check_bytes && get(*current, "bytes") + bytes_diff > bytes_hard;
}

void tree::quota_update_stat(const std::string& prefix, int64_t bytes_diff,
                             int64_t count_diff) {
  auto n =
      find(std::string{quota_root} + prefix + "/" + std::string{stat_node});
  if (n == nullptr)
    return;
  auto stats = parse_stats(n->data_view());
  if (!stats)
    return;
  auto get = [&](const char* k) {
    auto i = stats->find(k);
    return i == stats->end() ? int64_t{-1} : i->second;
  };
  (*stats)["count"] = get("count") + count_diff;
  (*stats)["bytes"] = get("bytes") + bytes_diff;
  touch(n);
  digest_ -= n->digest;
  n = replace_data(n, format_stats(std::move(*stats)));
  digest_ += redigest(n);
}

void tree::quota_recount(std::string_view real_path) {
  auto stat = find(std::string{quota_root} + std::string{real_path} + "/" +
                   std::string{stat_node});
  if (stat == nullptr)
    return;
  int64_t count = 0;
  int64_t bytes = 0;
  if (auto top = find(real_path)) {
    std::vector<const znode*> stack{top};
    while (!stack.empty()) {
      auto c = stack.back();
      stack.pop_back();
      ++count;
      bytes += c->data_length();
      for (auto g = c->first_child; g != nullptr; g = g->next_sibling)
        stack.push_back(g);
    }
  }
  touch(stat);
  digest_ -= stat->digest;
  stat = replace_data(stat, "count=" + std::to_string(count) +
                                ",bytes=" + std::to_string(bytes));
  digest_ += redigest(stat);
}

void tree::quota_after_create(std::string_view path,
                              std::string_view parent_path,
                              std::string_view name, int64_t bytes) {
  if (starts_with(parent_path, quota_root)) {
    auto real = parent_path.substr(quota_root.size());
    if (name == limit_node) {
      // PathTrie.addPath; "" (ZooKeeper throws) and "/" (no effect) are
      // not quotas.
      auto parts = quota_components(real);
      if (!parts.empty())
        quotas_.insert(join_components(parts, parts.size()));
    }
    if (name == stat_node)
      quota_recount(real);
  }
  if (auto prefix = quota_prefix(path))
    quota_update_stat(*prefix, bytes, 1);
}

void tree::quota_after_delete(std::string_view path,
                              std::string_view parent_path,
                              std::string_view name, int64_t bytes) {
  // ZooKeeper tests "/zookeeper" here, not "/zookeeper/quota".
  if (starts_with(parent_path, "/zookeeper") && name == limit_node &&
      parent_path.size() >= quota_root.size()) {
    auto parts = quota_components(parent_path.substr(quota_root.size()));
    if (!parts.empty())
      quotas_.erase(join_components(parts, parts.size()));
  }
  if (auto prefix = quota_prefix(path))
    quota_update_stat(*prefix, -bytes, -1);
}

// -- tree: apply --------------------------------------------------------------

namespace {

// Visitors that turn one txn body into the matching tree operation live in
// tree::apply_one; this tells which op codes carry a Stat in their reply.
bool create_returns_stat(int32_t type) {
  return type == op::create2 || type == op::create_ttl ||
         type == op::create_container;
}

template <class... Ts>
struct overload : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
overload(Ts...) -> overload<Ts...>;

} // namespace

template <class Body>
void tree::apply_one(const txn::header& h, int32_t type, const Body& b,
                     apply_result& out, op_result* sub) {
  wire::err err = wire::err::ok;
  std::string path;
  std::optional<wire::stat> st;
  wire::stat tmp;
  auto& trig = out.triggers;
  std::visit(
      overload{
          [&](const txn::create& x) {
            path = x.path;
            err = create_node(x.path, x.data, x.acl,
                              x.ephemeral ? h.session_id : 0, x.parent_cversion,
                              h.zxid, h.time_ms, &tmp, trig);
            if (err == wire::err::ok && create_returns_stat(type))
              st = tmp;
            // DataTree.processTxn: a create replayed onto a tree that already
            // has the node still moves the parent's cversion and pzxid.
            if (err == wire::err::node_exists && type == op::create) {
              auto parent = find(parent_of(x.path));
              if (parent == nullptr) {
                err = wire::err::no_node;
              } else {
                auto cv = x.parent_cversion == -1 ? parent->cversion + 1
                                                  : x.parent_cversion;
                if (cv > parent->cversion) {
                  touch(parent);
                  digest_ -= parent->digest;
                  parent->cversion = cv;
                  parent->pzxid = h.zxid;
                  digest_ += redigest(parent);
                }
              }
            }
          },
          [&](const txn::create_container& x) {
            path = x.path;
            err = create_node(x.path, x.data, x.acl, container_owner,
                              x.parent_cversion, h.zxid, h.time_ms, &tmp, trig);
            if (err == wire::err::ok)
              st = tmp;
          },
          [&](const txn::create_ttl& x) {
            path = x.path;
            if (x.ttl_ms <= 0 || x.ttl_ms > max_ttl_ms) {
              err = wire::err::bad_arguments;
              return;
            }
            err = create_node(x.path, x.data, x.acl, ttl_owner(x.ttl_ms),
                              x.parent_cversion, h.zxid, h.time_ms, &tmp, trig);
            if (err == wire::err::ok)
              st = tmp;
          },
          [&](const txn::remove& x) {
            path = x.path;
            err = delete_node(x.path, h.zxid, trig);
          },
          [&](const txn::set_data& x) {
            path = x.path;
            err = set_data(x.path, x.data, x.version, h.zxid, h.time_ms, &tmp,
                           trig);
            if (err == wire::err::ok)
              st = tmp;
          },
          [&](const txn::check_version& x) { path = x.path; },
          [&](const txn::set_acl& x) {
            path = x.path;
            err = set_acl(x.path, x.acl, x.version, &tmp);
            if (err == wire::err::ok)
              st = tmp;
          },
          [&](const txn::create_session& x) {
            sessions_[h.session_id] = x.timeout_ms;
          },
          [&](const txn::close_session& x) {
            kill_session(h.session_id, h.zxid, x.paths_to_delete, trig);
          },
          [&](const txn::error& x) { err = static_cast<wire::err>(x.err); },
          [&](const txn::multi& x) { apply_multi(h, x, out); },
      },
      b);
  if (sub != nullptr) {
    sub->type = type;
    sub->err = err;
    sub->path = std::move(path);
    if (st)
      sub->stat = *st;
  } else if (type != op::multi) {
    out.err = err;
    out.path = std::move(path);
    out.stat = st;
  }
}

void tree::apply_multi(const txn::header& h, const txn::multi& m,
                       apply_result& out) {
  // A multi that failed in prep holds an error op; then nothing applies and
  // every op reports an error: ok before the failed one, its code, and
  // ZRUNTIMEINCONSISTENCY after it (DataTree.processTxn).
  bool failed = std::any_of(m.ops.begin(), m.ops.end(),
                            [](auto& o) { return o.type == op::error; });
  bool post_failed = false;
  out.err = wire::err::ok;
  out.multi.reserve(m.ops.size());
  for (auto& o : m.ops) {
    op_result r;
    if (o.type == op::error)
      post_failed = true;
    if (failed && o.type != op::error) {
      r.type = op::error;
      r.err = post_failed ? wire::err::runtime_inconsistency : wire::err::ok;
    } else {
      apply_one(h, o.type, o.body, out, &r);
    }
    if (r.err != wire::err::ok && out.err == wire::err::ok)
      out.err = r.err;
    out.multi.push_back(std::move(r));
  }
}

apply_result tree::apply(const txn::record& r) {
  if (!txn::well_formed(r))
    violated("apply of a txn that is not well formed");
  apply_result out;
  apply_one(r.hdr, r.hdr.type, r.b, out, nullptr);
  if (r.hdr.zxid > last_zxid_)
    last_zxid_ = r.hdr.zxid;
  return out;
}

// -- tree: snapshot restore ---------------------------------------------------

bool tree::restore_node(std::string_view path, const wire::opt_bytes& data,
                        const stat_persisted& stat,
                        const std::vector<wire::acl>& acl) {
  return restore_node(path, data ? std::string_view{*data} : std::string_view{},
                      !data, stat, acl, 0) >= 0;
}

int64_t tree::restore_node(std::string_view path, std::string_view data,
                           bool null_data, const stat_persisted& stat,
                           const std::vector<wire::acl>& acl,
                           int64_t acl_hint) {
  if (!valid_path(path))
    return -1;
  auto dlen = null_data ? int64_t{-1} : int64_t(data.size());
  auto set_fields = [&](znode* n) {
    n->czxid = stat.czxid;
    n->mzxid = stat.mzxid;
    n->ctime = stat.ctime;
    n->mtime = stat.mtime;
    n->version = stat.version;
    n->cversion = stat.cversion;
    n->aversion = stat.aversion;
    n->pzxid = stat.pzxid;
    n->ephemeral_owner = stat.ephemeral_owner;
  };
  // A snapshot names one ACL list for many nodes: with the hint, a node costs
  // a reference count instead of a cache lookup.
  auto take_acl = [&]() -> uint32_t {
    if (acl_hint > 0) {
      auto idx = static_cast<uint32_t>(acl_hint - 1);
#ifndef NDEBUG
      TREE_REQUIRE(acls_->get(idx) == acl, "restore: ACL hint", path);
#endif
      acls_->add_ref(idx);
      return idx;
    }
    return acls_->add(acl);
  };
  auto n = find(path);
  if (n != nullptr) {
    touch(n);
    digest_ -= n->digest;
    remove_ephemeral(n->ephemeral_owner, path);
    n = replace_data(n, data.data(), dlen);
    set_fields(n);
    auto idx = take_acl();
    acls_->release(n->acl);
    n->acl = idx;
  } else {
    auto parent = find(parent_of(path));
    if (parent == nullptr)
      return -1;
    n = znode::make(path, data.data(), dlen);
    n->mark = mark_;
    set_fields(n);
    n->acl = take_acl();
    n->next_sibling = parent->first_child;
    if (parent->first_child)
      parent->first_child->prev_sibling = n;
    parent->first_child = n;
    ++parent->num_children;
    index_->insert(n);
    ++count_;
    data_size_ += int64_t(path.size()) + n->data_length();
  }
  add_ephemeral(n->ephemeral_owner, path);
  digest_ += redigest(n);
  return int64_t{n->acl} + 1;
}

void tree::restore_session(int64_t session, int32_t timeout_ms) {
  sessions_[session] = timeout_ms;
}

void tree::finish_restore(int64_t last_zxid) {
  // DataTree.setupQuota / traverseNode: the zookeeper_limits leaves under
  // /zookeeper/quota mark their path, whose stats node is recounted.
  const auto suffix = "/" + std::string{limit_node};
  std::vector<std::string> limits;
  if (auto q = find(quota_root)) {
    std::vector<const znode*> stack{q};
    while (!stack.empty()) {
      auto n = stack.back();
      stack.pop_back();
      auto p = n->path();
      if (n->first_child == nullptr && p.size() >= suffix.size() &&
          p.substr(p.size() - suffix.size()) == suffix)
        limits.emplace_back(p);
      for (auto c = n->first_child; c != nullptr; c = c->next_sibling)
        stack.push_back(c);
    }
  }
  std::sort(limits.begin(), limits.end());
  for (auto& p : limits) {
    // path.substring(quota root length, path.indexOf("/zookeeper_limits"))
    auto first = p.find(suffix);
    if (first < quota_root.size())
      continue;
    auto real = p.substr(quota_root.size(), first - quota_root.size());
    quota_recount(real);
    auto parts = quota_components(real);
    if (!parts.empty())
      quotas_.insert(join_components(parts, parts.size()));
  }
  last_zxid_ = last_zxid;
}

// -- tree: capture ------------------------------------------------------------
//
// The walk is a preorder over the sibling lists, so parents come before their
// children. Its cursor is one pointer, the next znode to visit, which stays
// valid because the only changes to the links are: a create, which puts the
// new child at the front of its parent's list (before any position the walk
// can be at in that list, and marked visited, so skipped); a delete, which
// moves a cursor on the deleted (childless) znode to its preorder successor;
// and a reallocation (replace_data), which repoints the cursor. A znode that
// exists when the capture begins is therefore either reached by the walk
// unchanged, or handed out by touch() before its first change.

bool tree::n_mark(const znode* n) noexcept {
  return n->mark != 0;
}

void tree::capture_begin(capture_sink& sink) const {
  if (capture_)
    violated("capture_begin during a capture");
  // Every znode carries the old mark: flipping it makes all of them
  // unvisited at once.
  mark_ = !mark_;
  capture_ = std::make_unique<capture_state>();
  capture_->sink = &sink;
  capture_->next = root_;
  capture_->zxid = last_zxid_;
}

int64_t tree::capture_zxid() const noexcept {
  return capture_ ? capture_->zxid : 0;
}

void tree::capture_emit(znode* n) const {
  captured_node c;
  c.path = n->path();
  c.data = n->data_view();
  c.null_data = n->data_len < 0;
  c.stat = n->stat();
  c.acl_key = acls_->key_of(n->acl);
  c.acl = &acls_->get(n->acl);
  n->mark = mark_;
  capture_->sink->node(c);
}

void tree::capture_early(znode* n) const {
  // The unvisited ancestors have not changed since the capture began (their
  // first change would have come through here), so their current state is
  // the captured one; they go first to keep parents before children.
  std::vector<znode*> chain{n};
  for (auto p = n; p != root_;) {
    p = find(parent_of(p->path()));
    if (p == nullptr)
      violated("capture: parent missing", n->path());
    if (n_mark(p) == mark_)
      break;
    chain.push_back(p);
  }
  for (auto i = chain.rbegin(); i != chain.rend(); ++i)
    capture_emit(*i);
}

tree::znode* tree::next_after_subtree(const znode* n) const {
  while (n != root_) {
    if (n->next_sibling != nullptr)
      return n->next_sibling;
    n = find(parent_of(n->path()));
    if (n == nullptr)
      violated("capture: parent missing");
  }
  return nullptr;
}

bool tree::capture_step(size_t max_nodes) const {
  if (!capture_)
    return true;
  auto& c = *capture_;
  for (size_t i = 0; i < max_nodes && c.next != nullptr; ++i) {
    if (!c.sink->want_more())
      break;
    auto n = c.next;
    if (n_mark(n) != mark_)
      capture_emit(n);
    // A visited znode's children may still be unvisited (it was handed out
    // early); only znodes created during the capture have marked subtrees.
    c.next = n->first_child != nullptr ? n->first_child : next_after_subtree(n);
  }
  if (c.next != nullptr)
    return false;
  capture_.reset();
  return true;
}

void tree::capture_abandon() const {
  if (!capture_)
    return;
  // Marks must all agree again before the next capture flips them.
  for (auto n = capture_->next; n != nullptr;
       n = n->first_child != nullptr ? n->first_child : next_after_subtree(n))
    n->mark = mark_;
  capture_.reset();
}

// -- tree: inspection ---------------------------------------------------------

int64_t tree::compute_digest() const {
  uint64_t d = 0;
  index_->for_each([&](const znode* n) { d += node_digest(n); });
  return static_cast<int64_t>(d);
}

std::string tree::dump_ephemerals() const {
  std::string out = "Sessions with Ephemerals (" +
                    std::to_string(ephemerals_.size()) + "):\n";
  std::vector<int64_t> ids;
  for (auto& e : ephemerals_)
    ids.push_back(e.first);
  std::sort(ids.begin(), ids.end());
  char buf[32];
  for (auto id : ids) {
    std::snprintf(buf, sizeof(buf), "0x%llx:\n",
                  static_cast<unsigned long long>(id));
    out += buf;
    for (auto& p : ephemerals_.at(id)) {
      out += '\t';
      out += p;
      out += '\n';
    }
  }
  return out;
}

void tree::for_each(
    const std::function<void(std::string_view, const wire::opt_bytes&,
                             const stat_persisted&,
                             const std::vector<wire::acl>&)>& f) const {
  std::vector<const znode*> stack{root_};
  while (!stack.empty()) {
    auto n = stack.back();
    stack.pop_back();
    f(n->path(), n->data(), n->stat(), acls_->get(n->acl));
    for (auto c = n->first_child; c != nullptr; c = c->next_sibling)
      stack.push_back(c);
  }
}

size_t tree::memory_bytes() const noexcept {
  size_t n = index_->capacity() * sizeof(uintptr_t);
  index_->for_each([&](const znode* z) {
    // glibc: 8 bytes of chunk header, 16-byte granularity, 32 minimum.
    auto sz = znode::alloc_size(z->path_len, z->data_len) + 8;
    n += std::max<size_t>(32, (sz + 15) & ~size_t{15});
  });
  return n + acls_->memory_bytes();
}

void tree::check_invariants() const {
  index_->check();
  TREE_REQUIRE(index_->size() == count_, "count", "");
  TREE_REQUIRE(find("/") == root_, "root indexed", "");
  TREE_REQUIRE(root_->prev_sibling == nullptr && root_->next_sibling == nullptr,
               "root has no siblings", "");
  size_t links = 0;
  int64_t data_size = 0;
  uint64_t digest = 0;
  size_t ephemerals = 0;
  std::vector<uint64_t> acl_uses(acls_->entries(), 0);
  std::set<std::string> containers;
  std::set<std::string> ttls;
  index_->for_each([&](const znode* n) {
    auto path = n->path();
    TREE_REQUIRE(capture_ || n_mark(n) == mark_, "capture marks agree", path);
    data_size += int64_t(path.size()) + n->data_length();
    auto d = node_digest(n);
    TREE_REQUIRE(n->digest == d, "cached digest", path);
    digest += d;
    TREE_REQUIRE(n->acl < acl_uses.size(), "acl index", path);
    ++acl_uses[n->acl];
    if (n != root_) {
      TREE_REQUIRE(valid_path(path), "valid path", path);
      auto parent = find(parent_of(path));
      TREE_REQUIRE(parent != nullptr, "parent exists", path);
      TREE_REQUIRE(!is_session_owner(parent->ephemeral_owner),
                   "no children of ephemerals", path);
      TREE_REQUIRE((n->prev_sibling == nullptr) == (parent->first_child == n),
                   "first child", path);
    }
    int32_t children = 0;
    const znode* prev = nullptr;
    for (auto c = n->first_child; c != nullptr; c = c->next_sibling) {
      ++children;
      TREE_REQUIRE(c->prev_sibling == prev, "sibling links", c->path());
      TREE_REQUIRE(find(c->path()) == c, "child indexed", c->path());
      auto cp = parent_of(c->path());
      TREE_REQUIRE(cp == path || (cp.empty() && n == root_), "child's parent",
                   c->path());
      prev = c;
    }
    TREE_REQUIRE(children == n->num_children, "numChildren", path);
    links += size_t(children);
    auto owner = n->ephemeral_owner;
    if (owner == container_owner) {
      containers.emplace(path);
    } else if (is_ttl_owner(owner)) {
      ttls.emplace(path);
    } else if (owner != 0) {
      ++ephemerals;
      auto e = ephemerals_.find(owner);
      TREE_REQUIRE(e != ephemerals_.end() && e->second.count(std::string{path}),
                   "ephemeral indexed", path);
    }
  });
  TREE_REQUIRE(links + 1 == count_, "every node linked once", "");
  TREE_REQUIRE(data_size == data_size_, "approximate data size", "");
  TREE_REQUIRE(digest == digest_, "digest", "");
  TREE_REQUIRE(containers == containers_, "containers index", "");
  TREE_REQUIRE(ttls == ttls_, "ttl index", "");
  size_t indexed = 0;
  for (auto& e : ephemerals_) {
    indexed += e.second.size();
    for (auto& p : e.second) {
      auto n = find(p);
      TREE_REQUIRE(n != nullptr && n->ephemeral_owner == e.first,
                   "indexed ephemeral exists", p);
    }
  }
  TREE_REQUIRE(indexed == ephemerals && indexed == ephemeral_count_,
               "ephemeral count", "");
  acls_->check(acl_uses);
}

} // namespace zkd::datatree
