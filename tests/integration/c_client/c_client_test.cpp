// Drives the real ZooKeeper C client (libzookeeper_mt) against the server
// named by ZK_HOSTS. Every expectation here was first checked against Apache
// ZooKeeper 3.8, so a failure means zkd differs from what C clients rely on.
//
// Each TEST_CASE works under its own root znode so cases do not see each
// other's nodes, and every wait has a deadline.

#include <catch2/catch.hpp>

#include <zookeeper/zookeeper.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr auto wait_limit = 10s;

std::string zk_hosts() {
  const char* env = std::getenv("ZK_HOSTS");
  return env != nullptr ? env : "127.0.0.1:2181";
}

// A TCP relay between a client handle and the server. Cutting it drops the
// handle's connection without a closeSession, which is how a network
// failure looks to the server; the handle then keeps retrying the port.
class tcp_proxy {
public:
  tcp_proxy() {
    auto hosts = zk_hosts();
    auto first = hosts.substr(0, hosts.find(','));
    auto colon = first.rfind(':');
    REQUIRE(colon != std::string::npos);
    target_host_ = first.substr(0, colon);
    target_port_ = std::stoi(first.substr(colon + 1));
    listen_on(0);
  }

  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  ~tcp_proxy() { cut(); }

  std::string hostport() const { return "127.0.0.1:" + std::to_string(port_); }

  // Closes the listener and every relayed connection.
  void cut() {
    stop_ = true;
    for (auto& t : threads_)
      t.join();
    threads_.clear();
    std::lock_guard<std::mutex> guard{mutex_};
    for (int fd : fds_)
      ::close(fd);
    fds_.clear();
  }

  // Listens again on the same port.
  void resume() {
    stop_ = false;
    listen_on(port_);
  }

private:
  void listen_on(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    track(fd);
    threads_.emplace_back([this, fd] { accept_loop(fd); });
  }

  void track(int fd) {
    std::lock_guard<std::mutex> guard{mutex_};
    fds_.push_back(fd);
  }

  int connect_target() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(target_port_));
    ::inet_pton(AF_INET, target_host_.c_str(), &addr.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  // Polls with a short timeout so cut() can stop the thread by a flag
  // instead of closing a descriptor another thread is blocked on.
  void accept_loop(int listen_fd) {
    std::vector<std::thread> pumps;
    while (!stop_) {
      pollfd p{listen_fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      int client_fd = ::accept(listen_fd, nullptr, nullptr);
      if (client_fd < 0)
        continue;
      track(client_fd);
      int server_fd = connect_target();
      if (server_fd < 0) {
        ::shutdown(client_fd, SHUT_RDWR);
        continue;
      }
      track(server_fd);
      pumps.emplace_back(
          [this, client_fd, server_fd] { pump(client_fd, server_fd); });
    }
    for (auto& t : pumps)
      t.join();
  }

  void pump(int a, int b) {
    char buf[65536];
    while (!stop_) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(p, 2, 50) <= 0)
        continue;
      for (int i = 0; i < 2; ++i) {
        if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
          continue;
        int from = i == 0 ? a : b;
        int to = i == 0 ? b : a;
        auto n = ::recv(from, buf, sizeof(buf), 0);
        if (n <= 0 ||
            ::send(to, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) {
          ::shutdown(a, SHUT_RDWR);
          ::shutdown(b, SHUT_RDWR);
          return;
        }
      }
    }
    // Reset rather than FIN so the peers see the link die at once.
    linger hard{1, 0};
    ::setsockopt(a, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    ::setsockopt(b, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  }

  std::string target_host_;
  int target_port_ = 0;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
};

struct event {
  int type;
  int state;
  std::string path;
};

// Collects every callback of one watcher (session events and node events)
// so a test can wait for a given one with a deadline.
class event_sink {
public:
  void push(int type, int state, const char* path) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      events_.push_back({type, state, path != nullptr ? path : ""});
    }
    cv_.notify_all();
  }

  // Waits for an event matching `type` (and `path` if not empty) and removes
  // it from the queue. Returns false when the deadline passes.
  bool wait_for(int type, const std::string& path,
                std::chrono::milliseconds limit = wait_limit) {
    std::unique_lock<std::mutex> lock{mutex_};
    return cv_.wait_for(lock, limit, [&] { return take_locked(type, path); });
  }

  bool wait_for_state(int state, std::chrono::milliseconds limit = wait_limit) {
    std::unique_lock<std::mutex> lock{mutex_};
    return cv_.wait_for(lock, limit, [&] {
      for (auto i = events_.begin(); i != events_.end(); ++i) {
        if (i->type == ZOO_SESSION_EVENT && i->state == state) {
          events_.erase(i);
          return true;
        }
      }
      return false;
    });
  }

  // Node events seen so far (session events excluded), without waiting.
  std::vector<event> node_events() {
    std::lock_guard<std::mutex> guard{mutex_};
    std::vector<event> out;
    for (const auto& e : events_)
      if (e.type != ZOO_SESSION_EVENT)
        out.push_back(e);
    return out;
  }

private:
  bool take_locked(int type, const std::string& path) {
    for (auto i = events_.begin(); i != events_.end(); ++i) {
      if (i->type == type && (path.empty() || i->path == path)) {
        events_.erase(i);
        return true;
      }
    }
    return false;
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<event> events_;
};

void sink_watcher(zhandle_t*, int type, int state, const char* path,
                  void* ctx) {
  static_cast<event_sink*>(ctx)->push(type, state, path);
}

// One client handle plus the sink of its default watcher. Closing the
// handle ends the session (zookeeper_close sends closeSession).
class client {
public:
  explicit client(const clientid_t* id = nullptr, int timeout_ms = 10000,
                  const std::string& hosts = zk_hosts()) {
    zh_ = zookeeper_init(hosts.c_str(), sink_watcher, timeout_ms, id, &session_,
                         0);
    REQUIRE(zh_ != nullptr);
  }

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  ~client() { close(); }

  bool wait_connected() { return session_.wait_for_state(ZOO_CONNECTED_STATE); }

  void close() {
    if (zh_ != nullptr) {
      zookeeper_close(zh_);
      zh_ = nullptr;
    }
  }

  zhandle_t* get() const { return zh_; }
  event_sink& session() { return session_; }
  int64_t session_id() const { return zoo_client_id(zh_)->client_id; }
  clientid_t client_id() const { return *zoo_client_id(zh_); }

private:
  event_sink session_;
  zhandle_t* zh_ = nullptr;
};

std::unique_ptr<client> connect() {
  auto c = std::make_unique<client>();
  REQUIRE(c->wait_connected());
  return c;
}

// A root for one test case, unique across processes and cases; removed
// (recursively) at the end so reruns against one server stay clean.
std::string unique_root(const std::string& name) {
  static int counter = 0;
  return "/ctest-" + name + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(++counter);
}

void delete_tree(zhandle_t* zh, const std::string& path) {
  String_vector children{};
  if (zoo_get_children(zh, path.c_str(), 0, &children) == ZOK) {
    for (int i = 0; i < children.count; ++i)
      delete_tree(zh, path + "/" + children.data[i]);
    deallocate_String_vector(&children);
  }
  zoo_delete(zh, path.c_str(), -1);
}

int create(zhandle_t* zh, const std::string& path, const std::string& data,
           int mode = ZOO_PERSISTENT, std::string* created = nullptr,
           Stat* stat = nullptr) {
  char buf[512] = {0};
  int rc =
      zoo_create2(zh, path.c_str(), data.data(), static_cast<int>(data.size()),
                  &ZOO_OPEN_ACL_UNSAFE, mode, buf, sizeof(buf), stat);
  if (created != nullptr)
    *created = buf;
  return rc;
}

struct get_result {
  int rc;
  std::string data;
  Stat stat;
};

get_result get(zhandle_t* zh, const std::string& path) {
  get_result r{};
  std::vector<char> buf(1 << 16);
  int len = static_cast<int>(buf.size());
  r.rc = zoo_get(zh, path.c_str(), 0, buf.data(), &len, &r.stat);
  if (r.rc == ZOK && len > 0)
    r.data.assign(buf.data(), static_cast<size_t>(len));
  return r;
}

std::vector<std::string> children_of(zhandle_t* zh, const std::string& path,
                                     Stat* stat = nullptr, int* rc = nullptr) {
  String_vector sv{};
  Stat local{};
  int result = zoo_get_children2(zh, path.c_str(), 0, &sv,
                                 stat != nullptr ? stat : &local);
  if (rc != nullptr)
    *rc = result;
  std::vector<std::string> out;
  if (result == ZOK) {
    for (int i = 0; i < sv.count; ++i)
      out.emplace_back(sv.data[i]);
    deallocate_String_vector(&sv);
  }
  // ZooKeeper does not promise an order for children.
  std::sort(out.begin(), out.end());
  return out;
}

// Quiets the C client's INFO chatter so test output stays readable.
struct log_level_setup {
  log_level_setup() { zoo_set_debug_level(ZOO_LOG_LEVEL_WARN); }
} log_level_setup_instance;

} // namespace

TEST_CASE("create, get, set and delete report ZooKeeper's results and Stat",
          "[c_client]") {
  auto c = connect();
  auto zh = c->get();
  auto root = unique_root("crud");

  Stat root_stat{};
  std::string created;
  REQUIRE(create(zh, root, "", ZOO_PERSISTENT, &created, &root_stat) == ZOK);
  CHECK(created == root);
  CHECK(root_stat.version == 0);
  CHECK(root_stat.cversion == 0);
  CHECK(root_stat.numChildren == 0);
  CHECK(root_stat.dataLength == 0);
  CHECK(root_stat.czxid == root_stat.mzxid);
  CHECK(root_stat.czxid == root_stat.pzxid);

  Stat st{};
  const std::string path = root + "/a";
  REQUIRE(create(zh, path, "hello", ZOO_PERSISTENT, &created, &st) == ZOK);
  CHECK(created == path);
  CHECK(st.version == 0);
  CHECK(st.dataLength == 5);
  CHECK(st.ephemeralOwner == 0);
  CHECK(st.czxid > root_stat.czxid);
  CHECK(st.ctime == st.mtime);
  CHECK(st.ctime > 0);

  SECTION("get returns the data and the same Stat as create") {
    auto r = get(zh, path);
    REQUIRE(r.rc == ZOK);
    CHECK(r.data == "hello");
    CHECK(r.stat.czxid == st.czxid);
    CHECK(r.stat.mzxid == st.mzxid);
    CHECK(r.stat.version == 0);
    CHECK(r.stat.dataLength == 5);
  }

  SECTION("the parent's cversion, pzxid and numChildren follow the child") {
    Stat parent{};
    REQUIRE(zoo_exists(zh, root.c_str(), 0, &parent) == ZOK);
    CHECK(parent.numChildren == 1);
    CHECK(parent.cversion == 1);
    CHECK(parent.pzxid == st.czxid);
    // A child's creation is not a change of the parent's data.
    CHECK(parent.version == 0);
    CHECK(parent.mzxid == root_stat.mzxid);
  }

  SECTION("set bumps version and mzxid, keeps czxid") {
    REQUIRE(zoo_set(zh, path.c_str(), "world!", 6, 0) == ZOK);
    auto r = get(zh, path);
    REQUIRE(r.rc == ZOK);
    CHECK(r.data == "world!");
    CHECK(r.stat.version == 1);
    CHECK(r.stat.dataLength == 6);
    CHECK(r.stat.czxid == st.czxid);
    CHECK(r.stat.mzxid > st.mzxid);
    CHECK(r.stat.mtime >= st.mtime);
    CHECK(r.stat.ctime == st.ctime);

    // Version -1 matches any version.
    REQUIRE(zoo_set(zh, path.c_str(), "x", 1, -1) == ZOK);
    r = get(zh, path);
    CHECK(r.stat.version == 2);

    // An empty value and a null value both read back as zero bytes.
    REQUIRE(zoo_set(zh, path.c_str(), nullptr, -1, 2) == ZOK);
    r = get(zh, path);
    CHECK(r.rc == ZOK);
    CHECK(r.data.empty());
    CHECK(r.stat.dataLength == 0);
  }

  SECTION("delete removes the node and bumps the parent's cversion") {
    REQUIRE(zoo_delete(zh, path.c_str(), 0) == ZOK);
    Stat gone{};
    CHECK(zoo_exists(zh, path.c_str(), 0, &gone) == ZNONODE);
    Stat parent{};
    REQUIRE(zoo_exists(zh, root.c_str(), 0, &parent) == ZOK);
    CHECK(parent.numChildren == 0);
    CHECK(parent.cversion == 2);
    CHECK(parent.pzxid > st.czxid);
  }

  SECTION("get_children2 lists children with the parent's Stat") {
    REQUIRE(create(zh, root + "/b", "") == ZOK);
    REQUIRE(create(zh, root + "/c", "") == ZOK);
    Stat parent{};
    int rc = 0;
    auto kids = children_of(zh, root, &parent, &rc);
    REQUIRE(rc == ZOK);
    CHECK(kids == std::vector<std::string>{"a", "b", "c"});
    CHECK(parent.numChildren == 3);
    CHECK(parent.cversion == 3);

    auto none = children_of(zh, path, nullptr, &rc);
    CHECK(rc == ZOK);
    CHECK(none.empty());
  }

  SECTION("large values round-trip") {
    std::string big(60000, 'z');
    for (size_t i = 0; i < big.size(); ++i)
      big[i] = static_cast<char>('a' + i % 26);
    REQUIRE(create(zh, root + "/big", big) == ZOK);
    auto r = get(zh, root + "/big");
    REQUIRE(r.rc == ZOK);
    CHECK(r.data == big);
    CHECK(r.stat.dataLength == 60000);
  }

  delete_tree(zh, root);
}

TEST_CASE("errors come back as ZooKeeper's codes", "[c_client]") {
  auto c = connect();
  auto zh = c->get();
  auto root = unique_root("err");
  REQUIRE(create(zh, root, "") == ZOK);
  const std::string node = root + "/n";
  REQUIRE(create(zh, node, "v") == ZOK);

  SECTION("ZNONODE") {
    CHECK(get(zh, root + "/missing").rc == ZNONODE);
    CHECK(zoo_set(zh, (root + "/missing").c_str(), "x", 1, -1) == ZNONODE);
    CHECK(zoo_delete(zh, (root + "/missing").c_str(), -1) == ZNONODE);
    int rc = 0;
    children_of(zh, root + "/missing", nullptr, &rc);
    CHECK(rc == ZNONODE);
    // Creating under a missing parent is ZNONODE too.
    CHECK(create(zh, root + "/missing/child", "") == ZNONODE);
    Stat st{};
    CHECK(zoo_exists(zh, (root + "/missing").c_str(), 0, &st) == ZNONODE);
  }

  SECTION("ZNODEEXISTS") {
    CHECK(create(zh, node, "again") == ZNODEEXISTS);
    // The failed create changed nothing.
    auto r = get(zh, node);
    CHECK(r.data == "v");
    CHECK(r.stat.version == 0);
    CHECK(create(zh, "/", "") == ZNODEEXISTS);
  }

  SECTION("ZBADVERSION") {
    CHECK(zoo_set(zh, node.c_str(), "x", 1, 5) == ZBADVERSION);
    CHECK(zoo_delete(zh, node.c_str(), 3) == ZBADVERSION);
    auto r = get(zh, node);
    CHECK(r.rc == ZOK);
    CHECK(r.data == "v");
    REQUIRE(zoo_set(zh, node.c_str(), "x", 1, 0) == ZOK);
    CHECK(zoo_set(zh, node.c_str(), "y", 1, 0) == ZBADVERSION);
    CHECK(zoo_delete(zh, node.c_str(), 1) == ZOK);
  }

  SECTION("ZNOTEMPTY") {
    REQUIRE(create(zh, node + "/kid", "") == ZOK);
    CHECK(zoo_delete(zh, node.c_str(), -1) == ZNOTEMPTY);
    Stat st{};
    CHECK(zoo_exists(zh, node.c_str(), 0, &st) == ZOK);
    CHECK(st.numChildren == 1);
  }

  SECTION("ZNOCHILDRENFOREPHEMERALS") {
    const std::string eph = root + "/eph";
    REQUIRE(create(zh, eph, "", ZOO_EPHEMERAL) == ZOK);
    CHECK(create(zh, eph + "/kid", "") == ZNOCHILDRENFOREPHEMERALS);
    CHECK(create(zh, eph + "/kid", "", ZOO_EPHEMERAL) ==
          ZNOCHILDRENFOREPHEMERALS);
    REQUIRE(zoo_delete(zh, eph.c_str(), -1) == ZOK);
  }

  SECTION("ZBADARGUMENTS") {
    // Malformed paths are refused by the C client itself before sending.
    CHECK(create(zh, "no-slash", "") == ZBADARGUMENTS);
    CHECK(create(zh, root + "/", "") == ZBADARGUMENTS);
    CHECK(create(zh, root + "//x", "") == ZBADARGUMENTS);
    CHECK(create(zh, root + "/./x", "") == ZBADARGUMENTS);
    // A sequential create may end in '/': the server appends the counter.
    std::string seq;
    CHECK(create(zh, node + "/", "", ZOO_PERSISTENT_SEQUENTIAL, &seq) == ZOK);
    CHECK(seq == node + "/0000000000");
    // Deleting the root is refused by the server.
    CHECK(zoo_delete(zh, "/", -1) == ZBADARGUMENTS);
  }

  delete_tree(zh, root);
}

TEST_CASE("sequential nodes get a ten digit counter from the parent",
          "[c_client]") {
  auto c = connect();
  auto zh = c->get();
  auto root = unique_root("seq");
  REQUIRE(create(zh, root, "") == ZOK);

  std::string name;
  REQUIRE(create(zh, root + "/n-", "", ZOO_PERSISTENT_SEQUENTIAL, &name) ==
          ZOK);
  CHECK(name == root + "/n-0000000000");
  REQUIRE(create(zh, root + "/n-", "", ZOO_PERSISTENT_SEQUENTIAL, &name) ==
          ZOK);
  CHECK(name == root + "/n-0000000001");

  // The counter is the number of children ever created under the parent:
  // a plain create bumps it, a delete does not, and prefixes share it.
  // ZooKeeper stores that count and reports cversion as
  // 2 * creates - numChildren (one change per create and per delete).
  REQUIRE(create(zh, root + "/plain", "") == ZOK);
  REQUIRE(zoo_delete(zh, (root + "/plain").c_str(), -1) == ZOK);
  Stat st{};
  REQUIRE(zoo_exists(zh, root.c_str(), 0, &st) == ZOK);
  CHECK(st.cversion == 4);
  CHECK(st.numChildren == 2);
  REQUIRE(create(zh, root + "/m-", "x", ZOO_EPHEMERAL_SEQUENTIAL, &name) ==
          ZOK);
  CHECK(name == root + "/m-0000000003");
  REQUIRE(zoo_exists(zh, root.c_str(), 0, &st) == ZOK);
  CHECK(st.cversion == 5);

  REQUIRE(zoo_exists(zh, name.c_str(), 0, &st) == ZOK);
  CHECK(st.ephemeralOwner == c->session_id());

  // A plain node may take the name the next sequential create will get
  // (its own create moves the counter to 5). That create then fails, and
  // as a failed create changes nothing it fails again, until another
  // create moves the counter on.
  REQUIRE(create(zh, root + "/n-0000000005", "") == ZOK);
  CHECK(create(zh, root + "/n-", "", ZOO_PERSISTENT_SEQUENTIAL, &name) ==
        ZNODEEXISTS);
  CHECK(create(zh, root + "/n-", "", ZOO_PERSISTENT_SEQUENTIAL, &name) ==
        ZNODEEXISTS);
  REQUIRE(create(zh, root + "/other", "") == ZOK);
  REQUIRE(create(zh, root + "/n-", "", ZOO_PERSISTENT_SEQUENTIAL, &name) ==
          ZOK);
  CHECK(name == root + "/n-0000000006");

  delete_tree(zh, root);
}

TEST_CASE("ephemerals vanish for other sessions when their owner closes",
          "[c_client]") {
  auto owner = connect();
  auto observer = connect();
  auto root = unique_root("eph");
  REQUIRE(create(observer->get(), root, "") == ZOK);

  const std::string eph = root + "/e";
  std::string seq;
  REQUIRE(create(owner->get(), eph, "mine", ZOO_EPHEMERAL) == ZOK);
  REQUIRE(create(owner->get(), root + "/s-", "", ZOO_EPHEMERAL_SEQUENTIAL,
                 &seq) == ZOK);

  Stat st{};
  REQUIRE(zoo_exists(observer->get(), eph.c_str(), 0, &st) == ZOK);
  CHECK(st.ephemeralOwner == owner->session_id());
  CHECK(owner->session_id() != observer->session_id());

  // The observer watches the ephemeral and the parent's child list.
  event_sink node_watch;
  REQUIRE(zoo_wexists(observer->get(), eph.c_str(), sink_watcher, &node_watch,
                      &st) == ZOK);
  String_vector sv{};
  event_sink child_watch;
  REQUIRE(zoo_wget_children(observer->get(), root.c_str(), sink_watcher,
                            &child_watch, &sv) == ZOK);
  CHECK(sv.count == 2);
  deallocate_String_vector(&sv);

  owner->close();

  CHECK(node_watch.wait_for(ZOO_DELETED_EVENT, eph));
  CHECK(child_watch.wait_for(ZOO_CHILD_EVENT, root));
  // closeSession is synchronous on the server: by the time the close
  // returned, another session reads the nodes as gone.
  CHECK(zoo_exists(observer->get(), eph.c_str(), 0, &st) == ZNONODE);
  CHECK(zoo_exists(observer->get(), seq.c_str(), 0, &st) == ZNONODE);
  CHECK(children_of(observer->get(), root).empty());

  delete_tree(observer->get(), root);
}

TEST_CASE("watches fire once with the right type and path", "[c_client]") {
  auto watcher = connect();
  auto writer = connect();
  auto wz = watcher->get();
  auto root = unique_root("watch");
  REQUIRE(create(writer->get(), root, "") == ZOK);
  const std::string node = root + "/w";

  SECTION("exists on a missing node fires NodeCreated") {
    event_sink sink;
    Stat st{};
    REQUIRE(zoo_wexists(wz, node.c_str(), sink_watcher, &sink, &st) == ZNONODE);
    REQUIRE(create(writer->get(), node, "1") == ZOK);
    CHECK(sink.wait_for(ZOO_CREATED_EVENT, node));
  }

  SECTION("get fires NodeDataChanged once, then needs re-arming") {
    REQUIRE(create(writer->get(), node, "1") == ZOK);
    event_sink sink;
    std::vector<char> buf(64);
    int len = static_cast<int>(buf.size());
    Stat st{};
    REQUIRE(zoo_wget(wz, node.c_str(), sink_watcher, &sink, buf.data(), &len,
                     &st) == ZOK);
    CHECK(std::string(buf.data(), static_cast<size_t>(len)) == "1");
    REQUIRE(zoo_set(writer->get(), node.c_str(), "2", 1, -1) == ZOK);
    CHECK(sink.wait_for(ZOO_CHANGED_EVENT, node));
    // A second change without re-arming fires nothing; the third set below
    // is ordered after it on the watcher's session by the get that follows.
    REQUIRE(zoo_set(writer->get(), node.c_str(), "3", 1, -1) == ZOK);
    auto r = get(wz, node);
    CHECK(r.data == "3");
    CHECK(sink.node_events().empty());
  }

  SECTION("get and exists watches fire NodeDeleted on delete") {
    REQUIRE(create(writer->get(), node, "1") == ZOK);
    event_sink on_get;
    event_sink on_exists;
    std::vector<char> buf(64);
    int len = static_cast<int>(buf.size());
    Stat st{};
    REQUIRE(zoo_wget(wz, node.c_str(), sink_watcher, &on_get, buf.data(), &len,
                     &st) == ZOK);
    REQUIRE(zoo_wexists(wz, node.c_str(), sink_watcher, &on_exists, &st) ==
            ZOK);
    REQUIRE(zoo_delete(writer->get(), node.c_str(), -1) == ZOK);
    CHECK(on_get.wait_for(ZOO_DELETED_EVENT, node));
    CHECK(on_exists.wait_for(ZOO_DELETED_EVENT, node));
  }

  SECTION("child watch fires NodeChildrenChanged on the parent path") {
    event_sink sink;
    String_vector sv{};
    REQUIRE(zoo_wget_children(wz, root.c_str(), sink_watcher, &sink, &sv) ==
            ZOK);
    CHECK(sv.count == 0);
    deallocate_String_vector(&sv);
    REQUIRE(create(writer->get(), node, "") == ZOK);
    CHECK(sink.wait_for(ZOO_CHILD_EVENT, root));

    // Changing a child's data is not a change of the child list.
    REQUIRE(zoo_wget_children(wz, root.c_str(), sink_watcher, &sink, &sv) ==
            ZOK);
    deallocate_String_vector(&sv);
    REQUIRE(zoo_set(writer->get(), node.c_str(), "x", 1, -1) == ZOK);
    auto r = get(wz, node);
    CHECK(r.data == "x");
    CHECK(sink.node_events().empty());
    REQUIRE(zoo_delete(writer->get(), node.c_str(), -1) == ZOK);
    CHECK(sink.wait_for(ZOO_CHILD_EVENT, root));
  }

  SECTION("the default watcher gets events of watch=1 calls") {
    REQUIRE(create(writer->get(), node, "1") == ZOK);
    auto r = get_result{};
    std::vector<char> buf(64);
    int len = static_cast<int>(buf.size());
    REQUIRE(zoo_get(wz, node.c_str(), 1, buf.data(), &len, &r.stat) == ZOK);
    REQUIRE(zoo_set(writer->get(), node.c_str(), "2", 1, -1) == ZOK);
    CHECK(watcher->session().wait_for(ZOO_CHANGED_EVENT, node));
  }

  SECTION("a write by the watching session itself fires its watch") {
    REQUIRE(create(wz, node, "1") == ZOK);
    event_sink sink;
    Stat st{};
    REQUIRE(zoo_wexists(wz, node.c_str(), sink_watcher, &sink, &st) == ZOK);
    REQUIRE(zoo_set(wz, node.c_str(), "2", 1, -1) == ZOK);
    // The event is sent before the reply of the set that caused it.
    CHECK(sink.wait_for(ZOO_CHANGED_EVENT, node, 1s));
  }

  delete_tree(writer->get(), root);
}

TEST_CASE("a second handle can take over a live session by id and password",
          "[c_client]") {
  // Two handles holding one session at the same time fight: ZooKeeper
  // closes the older connection of a session when a newer one arrives, the
  // older handle reconnects and closes the newer one, and so on. So the
  // first handle's link is cut first, as after a network failure.
  tcp_proxy proxy;
  auto first = std::make_unique<client>(nullptr, 10000, proxy.hostport());
  REQUIRE(first->wait_connected());
  auto root = unique_root("reuse");
  REQUIRE(create(first->get(), root, "") == ZOK);
  const std::string eph = root + "/e";
  REQUIRE(create(first->get(), eph, "x", ZOO_EPHEMERAL) == ZOK);
  const clientid_t id = first->client_id();

  proxy.cut();
  REQUIRE(first->session().wait_for_state(ZOO_CONNECTING_STATE));

  auto second = std::make_unique<client>(&id);
  REQUIRE(second->wait_connected());
  CHECK(second->session_id() == id.client_id);
  CHECK(std::memcmp(second->client_id().passwd, id.passwd, sizeof(id.passwd)) ==
        0);

  // The second handle is the same session: it sees the ephemeral as its
  // own and its new ephemerals belong to the same session.
  Stat st{};
  REQUIRE(zoo_exists(second->get(), eph.c_str(), 0, &st) == ZOK);
  CHECK(st.ephemeralOwner == id.client_id);
  REQUIRE(create(second->get(), root + "/e2", "", ZOO_EPHEMERAL) == ZOK);
  REQUIRE(zoo_exists(second->get(), (root + "/e2").c_str(), 0, &st) == ZOK);
  CHECK(st.ephemeralOwner == id.client_id);

  // Closing through the second handle ends the session for both.
  auto observer = connect();
  second->close();
  CHECK(zoo_exists(observer->get(), eph.c_str(), 0, &st) == ZNONODE);
  CHECK(zoo_exists(observer->get(), (root + "/e2").c_str(), 0, &st) == ZNONODE);

  // Once its link is back, the first handle is told its session expired
  // rather than silently given a new one.
  proxy.resume();
  CHECK(first->session().wait_for_state(ZOO_EXPIRED_SESSION_STATE, 15s));
  first->close();

  delete_tree(observer->get(), root);
}

TEST_CASE("a cut connection resumes its session, ephemerals and watches",
          "[c_client]") {
  tcp_proxy proxy;
  client flaky{nullptr, 10000, proxy.hostport()};
  REQUIRE(flaky.wait_connected());
  auto other = connect();
  auto root = unique_root("resume");
  REQUIRE(create(other->get(), root, "") == ZOK);
  const std::string eph = root + "/e";
  REQUIRE(create(flaky.get(), eph, "", ZOO_EPHEMERAL) == ZOK);
  event_sink sink;
  Stat st{};
  REQUIRE(zoo_wexists(flaky.get(), (root + "/later").c_str(), sink_watcher,
                      &sink, &st) == ZNONODE);
  const auto sid = flaky.session_id();

  proxy.cut();
  REQUIRE(flaky.session().wait_for_state(ZOO_CONNECTING_STATE));
  // A node created while the handle is away still fires the watch: the
  // client re-sends its watches (setWatches) with the last zxid it saw.
  REQUIRE(create(other->get(), root + "/later", "") == ZOK);
  proxy.resume();
  REQUIRE(flaky.wait_connected());
  CHECK(flaky.session_id() == sid);
  CHECK(sink.wait_for(ZOO_CREATED_EVENT, root + "/later"));
  REQUIRE(zoo_exists(other->get(), eph.c_str(), 0, &st) == ZOK);
  CHECK(st.ephemeralOwner == sid);

  flaky.close();
  CHECK(zoo_exists(other->get(), eph.c_str(), 0, &st) == ZNONODE);
  delete_tree(other->get(), root);
}

TEST_CASE("a handle given an unknown session id is told it expired",
          "[c_client]") {
  auto live = connect();
  clientid_t bogus = live->client_id();
  bogus.client_id ^= 0x5a5a5a5a;
  client c{&bogus};
  CHECK(c.session().wait_for_state(ZOO_EXPIRED_SESSION_STATE));
  CHECK(zoo_state(c.get()) == ZOO_EXPIRED_SESSION_STATE);
}
