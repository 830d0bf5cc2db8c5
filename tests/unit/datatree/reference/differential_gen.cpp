// Random workload through prep + tree; writes the txns (length-prefixed) and
// prints the digest after each txn plus a final dump, for comparison with
// ZooKeeper's DataTree fed the same txns.
#include "actors/datatree/prep.hpp"
#include "actors/datatree/tree.hpp"
#include "messages/txn/txn.hpp"
#include <cstdio>
#include <fstream>
#include <random>
using namespace zkd;
using namespace zkd::datatree;
namespace op = wire::op;

int main(int argc, char** argv) {
  unsigned seed = argc > 1 ? atoi(argv[1]) : 1;
  int n = argc > 2 ? atoi(argv[2]) : 2000;
  std::mt19937 rng(seed);
  tree t;
  prep p(t);
  std::ofstream out("txns.bin", std::ios::binary);
  int64_t zxid = 1;
  std::vector<std::string> paths{"/",
                                 "/a",
                                 "/b",
                                 "/a/b",
                                 "/a/b",
                                 "/a/b/c",
                                 "/a/c",
                                 "/zookeeper/quota",
                                 "/zookeeper/quota/a"};
  std::vector<int64_t> sessions{0x101, 0x102, 0x103};
  auto pick = [&]() {
    return paths[rng() % paths.size()];
  };
  std::vector<wire::acl> open{{31, {"world", "anyone"}}};
  std::vector<txn::record> inflight;
  auto emit = [&](prep_result r) {
    if (!r.ok())
      return;
    inflight.push_back(*r.txn);
    ++zxid;
  };
  for (auto s : sessions)
    emit(p.create_session(s, 30000, zxid, 1000 + zxid));
  for (auto path :
       {"/a", "/zookeeper/quota/a", "/zookeeper/quota/a/zookeeper_limits",
        "/zookeeper/quota/a/zookeeper_stats", "/a/b", "/zookeeper/quota/a/b",
        "/zookeeper/quota/a/b/zookeeper_limits",
        "/zookeeper/quota/a/b/zookeeper_stats"}) {
    wire::request rq;
    rq.hdr.type = op::create;
    rq.body =
        wire::create_request{path, std::string("count=0,bytes=0"), open, 0};
    emit(p.prepare(0x101, 0, rq, zxid, 1000 + zxid));
  }
  for (int i = 0; i < n; ++i) {
    wire::request rq;
    auto s = sessions[rng() % sessions.size()];
    int k = rng() % 100;
    if (k < 40) {
      auto parent = pick();
      auto name = std::string(1, char('a' + rng() % 4));
      if (rng() % 10 == 0)
        name = "zookeeper_stats";
      // Two ways to crash ZooKeeper 3.8.0 (its DataTree throws): a limits
      // node right under /zookeeper/quota, and deleting one under a
      // 16-byte parent starting with "/zookeeper" ("/zookeeper_stats").
      else if (rng() % 10 == 0 && parent != "/zookeeper/quota" &&
               !(parent.size() == 16 && parent.rfind("/zookeeper", 0) == 0))
        name = "zookeeper_limits";
      auto path = (parent == "/" ? "" : parent) + "/" + name;
      int flags = rng() % 5;
      wire::opt_bytes data;
      if (rng() % 4)
        data = std::string(rng() % 20, 'x');
      if (name == "zookeeper_stats")
        data = "count=0,bytes=0";
      rq.hdr.type = rng() % 3 == 0
                        ? op::create2
                        : (flags == 4 ? op::create_container : op::create);
      rq.body = wire::create_request{path, data, open, flags};
      auto r = p.prepare(s, i, rq, zxid, 1000 + zxid);
      if (r.ok()) {
        auto& b = r.txn->b;
        std::string created;
        std::visit(
            [&](auto& x) {
              using T = std::decay_t<decltype(x)>;
              if constexpr (std::is_same_v<T, txn::create> ||
                            std::is_same_v<T, txn::create_container>)
                created = x.path;
            },
            b);
        if (!created.empty())
          paths.push_back(created);
      }
      emit(std::move(r));
    } else if (k < 60) {
      rq.hdr.type = op::remove;
      rq.body = wire::delete_request{pick(), rng() % 5 == 0 ? 0 : -1};
      emit(p.prepare(s, i, rq, zxid, 1000 + zxid));
    } else if (k < 80) {
      rq.hdr.type = op::set_data;
      wire::opt_bytes data;
      if (rng() % 4)
        data = std::string(rng() % 30, 'y');
      auto target = pick();
      if (target.size() >= 15 &&
          target.substr(target.size() - 15) == "zookeeper_stats")
        data = "count=1,bytes=2";
      rq.body = wire::set_data_request{target, data, rng() % 5 == 0 ? 1 : -1};
      emit(p.prepare(s, i, rq, zxid, 1000 + zxid));
    } else if (k < 85) {
      rq.hdr.type = op::set_acl;
      rq.body = wire::set_acl_request{
          pick(),
          rng() % 2 ? open
                    : std::vector<wire::acl>{{31, {"world", "anyone"}},
                                             {1, {"ip", "1.2.3.4"}}},
          -1};
      emit(p.prepare(s, i, rq, zxid, 1000 + zxid));
    } else if (k < 92) {
      wire::multi_request m;
      for (int j = 0; j < 3; ++j) {
        wire::multi_op o;
        int kind = rng() % 4;
        auto parent = pick();
        if (kind == 0) {
          o.type = op::create;
          o.body = wire::create_request{
              (parent == "/" ? "" : parent) + "/m" + std::to_string(rng() % 3),
              std::string("m"), open, int32_t(rng() % 4)};
        } else if (kind == 1) {
          o.type = op::remove;
          o.body = wire::delete_request{parent, -1};
        } else if (kind == 2) {
          o.type = op::set_data;
          o.body = wire::set_data_request{parent, std::string("s"), -1};
        } else {
          o.type = op::check;
          o.body = wire::check_version_request{parent, -1};
        }
        m.ops.push_back(o);
      }
      rq.hdr.type = op::multi;
      rq.body = m;
      auto r = p.prepare(s, i, rq, zxid, 1000 + zxid);
      if (r.ok())
        for (auto& o : std::get<txn::multi>(r.txn->b).ops)
          if (auto* c = std::get_if<txn::create>(&o.body))
            paths.push_back(c->path);
      emit(std::move(r));
    } else if (k < 95) {
      emit(p.close_session(s, i, zxid, 1000 + zxid));
      emit(p.create_session(s, 30000, zxid, 1000 + zxid));
    }
    // apply some of the in-flight txns
    if (rng() % 3 == 0 || inflight.size() > 6) {
      size_t m = rng() % (inflight.size() + 1);
      for (size_t j = 0; j < m; ++j) {
        auto r = inflight.front();
        inflight.erase(inflight.begin());
        auto res = t.apply(r);
        if (res.err != wire::err::ok && r.hdr.type != op::multi) {
          fprintf(stderr, "apply error %d zxid %lld\n", (int)res.err,
                  (long long)r.hdr.zxid);
          return 1;
        }
        p.applied(r.hdr.zxid);
        auto bytes = txn::encode(r);
        uint32_t len = bytes.size();
        unsigned char l[4] = {uint8_t(len >> 24), uint8_t(len >> 16),
                              uint8_t(len >> 8), uint8_t(len)};
        out.write((char*)l, 4);
        out.write(bytes.data(), bytes.size());
        printf("zxid=%lld digest=%lld nodes=%zu\n", (long long)r.hdr.zxid,
               (long long)t.digest(), t.node_count() + 1);
      }
      t.check_invariants();
      p.check_invariants();
    }
  }
  for (auto& r : inflight) {
    t.apply(r);
    p.applied(r.hdr.zxid);
    auto bytes = txn::encode(r);
    uint32_t len = bytes.size();
    unsigned char l[4] = {uint8_t(len >> 24), uint8_t(len >> 16),
                          uint8_t(len >> 8), uint8_t(len)};
    out.write((char*)l, 4);
    out.write(bytes.data(), bytes.size());
    printf("zxid=%lld digest=%lld nodes=%zu\n", (long long)r.hdr.zxid,
           (long long)t.digest(), t.node_count() + 1);
  }
  t.check_invariants();
  std::vector<std::string> lines;
  t.for_each([&](std::string_view path, const wire::opt_bytes& data,
                 const stat_persisted& s, const std::vector<wire::acl>& acl) {
    auto st = t.exists(path).stat;
    char buf[512];
    snprintf(buf, sizeof buf,
             "node %.*s data=%s "
             "stat=%lld,%lld,%lld,%lld,%d,%d,%d,%lld,%d,%d,%lld acl=%zu",
             (int)path.size(), path.data(), data ? data->c_str() : "<null>",
             (long long)st.czxid, (long long)st.mzxid, (long long)st.ctime,
             (long long)st.mtime, st.version, st.cversion, st.aversion,
             (long long)st.ephemeral_owner, st.data_length, st.num_children,
             (long long)st.pzxid, acl.size());
    lines.push_back(buf);
  });
  std::sort(lines.begin(), lines.end());
  for (auto& l : lines)
    printf("%s\n", l.c_str());
  printf("ephemerals %zu\n", t.ephemeral_count());
}
