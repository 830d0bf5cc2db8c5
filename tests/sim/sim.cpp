#include "tests/sim/sim.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "actors/election/election.hpp"
#include "actors/follower/learner.hpp"
#include "actors/leader/zab_leader.hpp"
#include "messages/quorum/quorum.hpp"

namespace zkd::sim {

namespace {

using quorum::epoch_of;
using quorum::make_zxid;
using quorum::server_id;
using txn = std::pair<int64_t, std::string>;

// Thrown by a checker; run() turns it into a failed result.
struct sim_failure {
  std::string what;
};

std::string hex(int64_t zxid) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%x/%x", epoch_of(zxid),
                quorum::counter_of(zxid));
  return buf;
}

// The recovery rule (actors/snapshotter/recovery.cpp): a record continues
// the previous one in its epoch, or starts a later epoch at counter 1.
bool zxid_follows(int64_t prev, int64_t next) {
  if (epoch_of(next) == epoch_of(prev))
    return next == prev + 1;
  return epoch_of(next) > epoch_of(prev) && quorum::counter_of(next) == 1;
}

// A snapshot file's bytes: the tree as of its zxid.
std::string encode_tree(const std::vector<txn>& t) {
  std::string out;
  for (auto& [z, p] : t) {
    out += std::to_string(z);
    out += ' ';
    out += p;
    out += '\n';
  }
  return out;
}

bool decode_tree(const std::string& s, std::vector<txn>& t) {
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.find(' ');
    if (sp == std::string::npos)
      return false;
    t.emplace_back(std::stoll(line.substr(0, sp)), line.substr(sp + 1));
  }
  return true;
}

// One direction of a connection: messages arrive in the order sent, each
// no earlier than its delivery time, and not while a blackhole holds the
// link (TCP retransmits them afterwards).
struct channel {
  int from = 0;
  int to = 0;
  std::deque<std::pair<int64_t, std::function<void()>>> q;
  int64_t last_at = 0;
  bool pumping = false;
};

// A learner's connection to a leader role (one TCP connection carrying
// both directions). Each side is one role instance of its node.
struct conn {
  uint64_t id = 0;
  int learner = 0;
  int leader = 0;
  uint64_t learner_round = 0;
  uint64_t leader_round = 0;
  bool learner_open = true;
  bool leader_open = true;
  channel up;   // learner -> leader
  channel down; // leader -> learner
};

// Between two nodes: the faults on their link and the election link.
struct pair_state {
  bool cut = false;       // connections reset and refused
  int64_t hole_until = 0; // packets dropped until then
  uint64_t cut_gen = 0;   // which cut a heal ends
  bool el_up = false;     // the election actors reach each other
  uint64_t el_gen = 0;    // bumped when the election link goes down
};

struct disk_state {
  std::vector<txn> log; // what the files hold
  uint32_t accepted_epoch = 0;
  uint32_t current_epoch = 0;
  std::map<int64_t, std::vector<txn>> snapshots; // zxid -> tree
};

enum class role { down, looking, leading, learning, ending };

const char* to_string(role r) {
  switch (r) {
  case role::down:
    return "down";
  case role::looking:
    return "looking";
  case role::leading:
    return "leading";
  case role::learning:
    return "learning";
  case role::ending:
    return "ending";
  }
  return "?";
}

struct event {
  int64_t at = 0;
  uint64_t seq = 0;
  int target = -1; // a node index: deferred while that node is paused
  std::function<void()> fn;
};

struct later {
  bool operator()(const event& x, const event& y) const {
    return std::tie(x.at, x.seq) > std::tie(y.at, y.seq);
  }
};

struct node {
  int idx = 0;
  server_id id = 0;
  bool observer = false;
  bool alive = true;
  bool paused = false;
  int64_t slow_disk_until = 0;
  uint64_t incarnation = 0;
  uint64_t round = 0;
  disk_state disk;
  std::vector<event> deferred; // while paused, in arrival order

  // --- volatile: lost in a crash --------------------------------------------
  std::unique_ptr<election::core> el;
  std::optional<int64_t> el_timer_at;
  role r = role::down;
  std::unique_ptr<leader::zab_leader> ld;
  std::unique_ptr<follower::learner> ln;
  server_id leader_id = 0;     // whom this round follows (or self)
  server_id rejoin_leader = 0; // next round skips the election
  leader::zab_history history; // this round's, from recovery
  std::vector<txn> tree;       // applied txns
  std::deque<txn> inflight;    // proposals waiting for their commit
  int64_t next_zxid = 0;       // the leader's datatree, once established
  bool serving = false;
  size_t verified = 0; // tree[0, verified) checked against the global one
  // The round's log writer.
  std::vector<txn> pending; // appended, not yet durable
  size_t syncing = 0;       // how many of them the running fsync covers
  uint64_t writer_gen = 0;
  // Learner: its connection, or the attempt to make one.
  uint64_t conn = 0;
  uint64_t attempt = 0;
  bool attempt_pending = false;
  // Leader: the connection each learner spoke from, and every connection
  // of this role (closed when the role ends).
  std::map<server_id, uint64_t> learner_conns;
  std::vector<uint64_t> role_conns;
  // How the round ends (the role's last effects).
  int64_t end_trunc = -1;
  int64_t end_snap_zxid = -1;
  std::string end_snap;
  bool end_rejoin = false;
  std::string end_reason;
};

class world {
public:
  explicit world(const options& o) : opt_(o), rng_(o.seed) {
    int total = o.nodes + o.observers;
    for (int i = 0; i < total; ++i) {
      node n;
      n.idx = i;
      n.id = static_cast<server_id>(i + 1);
      n.observer = i >= o.nodes;
      if (!n.observer)
        voters_.insert(n.id);
      else
        observers_.insert(n.id);
      nodes_.push_back(std::move(n));
    }
    pairs_.resize(static_cast<size_t>(total * total));
    el_ch_.resize(static_cast<size_t>(total * total));
    for (int i = 0; i < total; ++i)
      for (int j = 0; j < total; ++j) {
        el_ch_[idx(i, j)].from = i;
        el_ch_[idx(i, j)].to = j;
      }
  }

  result run();

private:
  // --- plumbing
  // ---------------------------------------------------------------

  size_t idx(int i, int j) const {
    return static_cast<size_t>(i * static_cast<int>(nodes_.size()) + j);
  }
  pair_state& pair(int i, int j) {
    return pairs_[idx(std::min(i, j), std::max(i, j))];
  }
  node& by_id(server_id id) { return nodes_.at(static_cast<size_t>(id - 1)); }

  int64_t uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool chance(double p) {
    return std::uniform_real_distribution<>(0, 1)(rng_) < p;
  }

  void schedule(int64_t at, int target, std::function<void()> fn) {
    heap_.push_back(event{at, ++seq_, target, std::move(fn)});
    std::push_heap(heap_.begin(), heap_.end(), later{});
  }
  void after(int64_t delay, int target, std::function<void()> fn) {
    schedule(now_ + delay, target, std::move(fn));
  }

  void trace(const std::string& line) {
    char head[48];
    std::snprintf(head, sizeof head, "%8lld ", static_cast<long long>(now_));
    auto s = head + line;
    if (opt_.trace)
      std::printf("%s\n", s.c_str());
    trace_.push_back(std::move(s));
    if (trace_.size() > 400)
      trace_.pop_front();
  }
  std::string who(const node& n) const {
    return "n" + std::to_string(n.id) + (n.observer ? "(obs)" : "");
  }
  [[noreturn]] void fail(const std::string& what) { throw sim_failure{what}; }

  // Usually a LAN round trip, sometimes a slow one.
  int64_t net_delay() {
    if (chance(0.9))
      return uniform(0, 3);
    if (chance(0.9))
      return uniform(3, 40);
    return uniform(40, 400);
  }

  void transmit(channel* ch, std::function<void()> fn) {
    auto at = std::max(now_ + net_delay(), ch->last_at);
    ch->last_at = at;
    ch->q.emplace_back(at, std::move(fn));
    if (!ch->pumping) {
      ch->pumping = true;
      schedule(at, ch->to, [this, ch] { pump(ch); });
    }
  }

  // Delivers the head of the channel when it is due; at most one pump is
  // needed, a spare one is harmless (it only ever takes the head).
  void pump(channel* ch) {
    ch->pumping = false;
    if (ch->q.empty())
      return;
    auto hole = pair(ch->from, ch->to).hole_until;
    int64_t due = ch->q.front().first;
    if (hole > now_)
      due = std::max(due, hole + uniform(0, 3));
    if (due > now_) {
      ch->pumping = true;
      schedule(due, ch->to, [this, ch] { pump(ch); });
      return;
    }
    auto fn = std::move(ch->q.front().second);
    ch->q.pop_front();
    if (!ch->q.empty()) {
      ch->pumping = true;
      schedule(std::max(now_, ch->q.front().first), ch->to,
               [this, ch] { pump(ch); });
    }
    fn();
  }

  // Drops what is in flight. The pump event may be gone too (deferred
  // events of a crashed node are lost), so the next send starts a new one.
  void clear(channel* ch) {
    ch->q.clear();
    ch->last_at = now_;
    ch->pumping = false;
  }

  // A one-off message outside any FIFO (a connect request and its answer):
  // lost if the link is cut or either end is down, late across a blackhole.
  void send_once(int from, int to, std::function<void()> fn) {
    schedule(now_ + net_delay(), to,
             [this, from, to, fn = std::move(fn)]() mutable {
               once_arrive(from, to, std::move(fn));
             });
  }
  void once_arrive(int from, int to, std::function<void()> fn) {
    auto& p = pair(from, to);
    if (p.cut || !nodes_[from].alive || !nodes_[to].alive)
      return;
    if (p.hole_until > now_) {
      schedule(p.hole_until + uniform(0, 3), to,
               [this, from, to, fn = std::move(fn)]() mutable {
                 once_arrive(from, to, std::move(fn));
               });
      return;
    }
    fn();
  }

  // --- checkers
  // ---------------------------------------------------------------

  // Every txn of a serving node's tree must be the committed one at its
  // position; a leader's commit extends the global sequence.
  void check_tree(node& n, bool extend) {
    for (size_t i = n.verified; i < n.tree.size(); ++i) {
      if (i < committed_.size()) {
        if (n.tree[i] != committed_[i])
          fail(who(n) + " holds " + hex(n.tree[i].first) + " '" +
               n.tree[i].second + "' at position " + std::to_string(i) +
               " where the committed sequence has " + hex(committed_[i].first) +
               " '" + committed_[i].second + "'");
      } else if (extend) {
        committed_.push_back(n.tree[i]);
      } else {
        fail(who(n) + " serves " + hex(n.tree[i].first) +
             " which no leader committed");
      }
    }
    n.verified = n.tree.size();
  }

  void check_log_append(node& n, const txn& t) {
    int64_t last = n.pending.empty()
                       ? (n.disk.log.empty() ? 0 : n.disk.log.back().first)
                       : n.pending.back().first;
    if (t.first <= last)
      fail(who(n) + " logs " + hex(t.first) + " after " + hex(last) +
           ": zxids must increase in a log");
  }

  // --- the log writer (txn_log) -------------------------------------------

  void log_append(node& n, txn t) {
    check_log_append(n, t);
    n.pending.push_back(std::move(t));
    if (n.syncing == 0)
      start_sync(n);
  }

  void start_sync(node& n) {
    n.syncing = n.pending.size();
    auto delay = now_ < n.slow_disk_until ? uniform(100, 1500) : uniform(1, 15);
    auto gen = n.writer_gen;
    after(delay, n.idx, [this, &n, gen] {
      if (!n.alive || n.writer_gen != gen)
        return;
      auto k = n.syncing;
      n.syncing = 0;
      for (size_t i = 0; i < k; ++i)
        n.disk.log.push_back(std::move(n.pending[i]));
      n.pending.erase(n.pending.begin(),
                      n.pending.begin() + static_cast<std::ptrdiff_t>(k));
      auto last = n.disk.log.back().first;
      if (n.r == role::leading && n.ld) {
        n.ld->local_durable(last);
        flush_leader(n);
      } else if (n.r == role::learning && n.ln) {
        n.ln->durable(last);
        flush_learner(n);
      }
      if (n.alive && n.writer_gen == gen && !n.pending.empty() &&
          n.syncing == 0)
        start_sync(n);
    });
  }

  // The writer stops (round over, or crash): records it wrote may have
  // reached the disk, in order, the rest is gone.
  void settle_writer(node& n) {
    auto keep =
        static_cast<size_t>(uniform(0, static_cast<int64_t>(n.pending.size())));
    for (size_t i = 0; i < keep; ++i)
      n.disk.log.push_back(std::move(n.pending[i]));
    n.pending.clear();
    n.syncing = 0;
    ++n.writer_gen;
  }

  // --- epochs on disk
  // ---------------------------------------------------------

  void persist_accepted(node& n, uint32_t e) {
    if (e < n.disk.accepted_epoch)
      fail(who(n) + " writes accepted epoch " + std::to_string(e) + " over " +
           std::to_string(n.disk.accepted_epoch));
    n.disk.accepted_epoch = e;
  }

  void persist_current(node& n, uint32_t e) {
    if (e < n.disk.current_epoch)
      fail(who(n) + " writes current epoch " + std::to_string(e) + " over " +
           std::to_string(n.disk.current_epoch));
    if (e > n.disk.accepted_epoch)
      fail(who(n) + " makes epoch " + std::to_string(e) +
           " current without accepting it (accepted " +
           std::to_string(n.disk.accepted_epoch) + ")");
    n.disk.current_epoch = e;
  }

  // --- rounds (actors/peer/peer_actor.cpp)
  // ------------------------------------

  // recover(): the newest snapshot, then every log record after it.
  void recover(node& n) {
    n.tree.clear();
    n.inflight.clear();
    auto& h = n.history;
    h = leader::zab_history{};
    int64_t prev = 0;
    if (!n.disk.snapshots.empty()) {
      auto& [z, content] = *n.disk.snapshots.rbegin();
      prev = z;
      n.tree = content;
      h.snapshot_zxid = z;
      h.snapshot_path = std::to_string(z);
    }
    for (auto& rec : n.disk.log) {
      if (rec.first <= h.snapshot_zxid)
        continue;
      if (!zxid_follows(prev, rec.first))
        fail(who(n) + " cannot recover: log record " + hex(rec.first) +
             " after " + hex(prev) + " (a gap)");
      if (prev != 0 && epoch_of(prev) != epoch_of(rec.first))
        h.epoch_ends.push_back(prev);
      prev = rec.first;
      n.tree.push_back(rec);
      h.window.push_back(rec);
    }
    if (prev != 0)
      h.epoch_ends.push_back(prev);
    h.last_zxid = prev;
    h.current_epoch = std::max(n.disk.current_epoch, epoch_of(prev));
    h.accepted_epoch = std::max(n.disk.accepted_epoch, h.current_epoch);
  }

  void begin_round(node& n) {
    ++n.round;
    recover(n);
    n.verified = 0;
    n.serving = false;
    n.next_zxid = 0;
    n.conn = 0;
    n.attempt_pending = false;
    n.learner_conns.clear();
    n.role_conns.clear();
    n.end_trunc = -1;
    n.end_snap_zxid = -1;
    n.end_snap.clear();
    n.end_rejoin = false;
    n.end_reason.clear();
    if (n.rejoin_leader != 0) {
      auto l = n.rejoin_leader;
      n.rejoin_leader = 0;
      trace(who(n) + " round " + std::to_string(n.round) + ": rejoins n" +
            std::to_string(l) + " (last " + hex(n.history.last_zxid) + ")");
      follow(n, l);
      return;
    }
    n.r = role::looking;
    trace(who(n) + " round " + std::to_string(n.round) + ": LOOKING (last " +
          hex(n.history.last_zxid) + ", epoch " +
          std::to_string(n.history.current_epoch) + ", accepted " +
          std::to_string(n.history.accepted_epoch) + ")");
    n.el->start_round(now_, election::local_state{n.history.last_zxid,
                                                  n.history.current_epoch});
    flush_election(n);
  }

  void end_round(node& n, const std::string& reason) {
    if (n.r != role::leading && n.r != role::learning)
      return;
    trace(who(n) + " round " + std::to_string(n.round) + " over (" +
          to_string(n.r) + "): " + reason);
    if (n.r == role::leading) {
      for (auto cid : n.role_conns)
        close_side(cid, true);
    } else if (n.conn != 0) {
      close_side(n.conn, false);
    }
    settle_writer(n);
    n.ld.reset();
    n.ln.reset();
    n.r = role::ending;
    n.serving = false;
    n.inflight.clear();
    n.learner_conns.clear();
    n.role_conns.clear();
    n.conn = 0;
    n.attempt_pending = false;
    auto round = n.round;
    // The peer waits for the log writer to stop, edits the files, recovers.
    after(uniform(1, 20), n.idx, [this, &n, round] {
      if (n.alive && n.round == round && n.r == role::ending)
        next_round(n);
    });
  }

  void next_round(node& n) {
    if (n.end_trunc >= 0) {
      auto t = n.end_trunc;
      ++truncs_;
      if (!n.disk.snapshots.empty() && n.disk.snapshots.rbegin()->first > t)
        fail(who(n) + " is told to TRUNC to " + hex(t) +
             " below its snapshot of " + hex(n.disk.snapshots.rbegin()->first) +
             ": recovery would bring the dropped txns back");
      auto& log = n.disk.log;
      log.erase(std::find_if(log.begin(), log.end(),
                             [t](const txn& x) { return x.first > t; }),
                log.end());
    }
    if (n.end_snap_zxid >= 0) {
      ++snaps_;
      auto z = n.end_snap_zxid;
      std::vector<txn> content;
      if (!decode_tree(n.end_snap, content) ||
          (content.empty() ? 0 : content.back().first) != z)
        fail(who(n) + " got a snapshot that does not end at " + hex(z));
      // snapshotter::install_snapshot: the snapshot in place, newer ones
      // and the whole log gone.
      auto& snaps = n.disk.snapshots;
      snaps.erase(snaps.upper_bound(z), snaps.end());
      snaps[z] = std::move(content);
      n.disk.log.clear();
    }
    n.rejoin_leader = n.end_rejoin ? n.leader_id : 0;
    begin_round(n);
  }

  void on_elected(node& n, const election::outcome& o) {
    if (n.r != role::looking)
      return;
    trace(who(n) + " elected: " + std::string(quorum::to_string(o.state)) +
          " n" + std::to_string(o.v.leader) + " (zxid " + hex(o.v.zxid) +
          ", peer epoch " + std::to_string(o.v.peer_epoch) + ", round " +
          std::to_string(o.v.election_epoch) + ")");
    if (o.state == quorum::peer_state::leading)
      lead(n);
    else
      follow(n, o.v.leader);
  }

  // --- election
  // ---------------------------------------------------------------

  election::settings election_settings(const node& n) const {
    election::settings s;
    s.self = n.id;
    s.participants.assign(voters_.begin(), voters_.end());
    s.finalize_wait_ms = 100; // as the peer sets it
    s.skip_unreached = true;  // likewise
    return s;
  }

  void flush_election(node& n) {
    n.el->check_invariants();
    auto out = n.el->take_output();
    for (auto& a : out.send) {
      auto& to = by_id(a.to);
      if (!pair(n.idx, to.idx).el_up)
        continue; // unreachable: connected() catches it up later
      auto msg = a.n;
      auto ti = to.idx;
      transmit(&el_ch_[idx(n.idx, ti)], [this, ti, msg] {
        auto& t = nodes_[static_cast<size_t>(ti)];
        if (!t.alive || !t.el)
          return;
        if (opt_.trace_votes)
          trace(who(t) + " <- n" + std::to_string(msg.sender) + " " +
                std::string(quorum::to_string(msg.state)) + " n" +
                std::to_string(msg.v.leader) + " zxid " + hex(msg.v.zxid) +
                " round " + std::to_string(msg.v.election_epoch) + " epoch " +
                std::to_string(msg.v.peer_epoch));
        t.el->receive(now_, msg);
        flush_election(t);
      });
    }
    if (out.decided) {
      auto o = *out.decided;
      auto round = n.round;
      after(0, n.idx, [this, &n, o, round] {
        if (n.alive && n.round == round)
          on_elected(n, o);
      });
    }
    if (auto at = n.el->next_deadline_ms();
        at && (!n.el_timer_at || *at < *n.el_timer_at)) {
      n.el_timer_at = at;
      auto inc = n.incarnation;
      auto when = *at;
      schedule(std::max(now_, when) + uniform(0, 2), n.idx,
               [this, &n, inc, when] {
                 if (!n.alive || n.incarnation != inc)
                   return;
                 if (n.el_timer_at == when)
                   n.el_timer_at.reset();
                 n.el->tick(now_);
                 flush_election(n);
               });
    }
  }

  bool link_possible(int i, int j) {
    return nodes_[i].alive && nodes_[j].alive && !pair(i, j).cut;
  }

  void link_down(int i, int j) {
    auto& p = pair(i, j);
    bool was_up = p.el_up;
    p.el_up = false;
    ++p.el_gen;
    clear(&el_ch_[idx(i, j)]);
    clear(&el_ch_[idx(j, i)]);
    // Both election actors see the DOWN, as in the node.
    if (was_up)
      for (auto [a, b] : {std::pair{i, j}, std::pair{j, i}}) {
        auto& n = nodes_[static_cast<size_t>(a)];
        if (!n.alive || !n.el)
          continue;
        n.el->disconnected(now_, nodes_[static_cast<size_t>(b)].id);
        flush_election(n);
      }
  }

  // Each side's election actor reconnects after its backoff and tells its
  // core; the link carries messages from the first success on.
  void link_up_later(int i, int j) {
    auto gen = pair(i, j).el_gen;
    for (auto [a, b] : {std::pair{i, j}, std::pair{j, i}}) {
      after(uniform(1, 800), a, [this, a, b, gen] {
        auto& p = pair(a, b);
        if (p.el_gen != gen || !link_possible(a, b))
          return;
        p.el_up = true;
        auto& n = nodes_[static_cast<size_t>(a)];
        if (opt_.trace_votes)
          trace(who(n) + " election link to n" + std::to_string(b + 1) + " up");
        n.el->connected(now_, nodes_[static_cast<size_t>(b)].id);
        flush_election(n);
      });
    }
  }

  // --- connections between learners and leaders
  // -------------------------------

  conn& new_conn(node& learner, node& leader) {
    auto id = ++conn_seq_;
    auto& c = conns_[id];
    c.id = id;
    c.learner = learner.idx;
    c.leader = leader.idx;
    c.learner_round = learner.round;
    c.leader_round = leader.round;
    c.up.from = learner.idx;
    c.up.to = leader.idx;
    c.down.from = leader.idx;
    c.down.to = learner.idx;
    open_conns_.insert(id);
    return c;
  }

  // One side's actor is gone: the other hears of it after what was sent
  // before (a DOWN message travels like any other).
  void close_side(uint64_t cid, bool leader_side) {
    auto& c = conns_.at(cid);
    if (leader_side) {
      if (!c.leader_open)
        return;
      c.leader_open = false;
      clear(&c.up);
      transmit(&c.down, [this, cid] { learner_hears_close(cid); });
    } else {
      if (!c.learner_open)
        return;
      c.learner_open = false;
      clear(&c.down);
      transmit(&c.up, [this, cid] { leader_hears_close(cid); });
    }
    if (!c.leader_open && !c.learner_open)
      open_conns_.erase(cid);
  }

  // The connection is reset: what was in flight is lost, both sides learn.
  void cut_conn(uint64_t cid) {
    auto& c = conns_.at(cid);
    clear(&c.up);
    clear(&c.down);
    if (c.learner_open && nodes_[c.learner].alive)
      transmit(&c.down, [this, cid] { learner_hears_close(cid); });
    else
      c.learner_open = false;
    if (c.leader_open && nodes_[c.leader].alive)
      transmit(&c.up, [this, cid] { leader_hears_close(cid); });
    else
      c.leader_open = false;
    if (!c.learner_open && !c.leader_open)
      open_conns_.erase(cid);
  }

  void learner_hears_close(uint64_t cid) {
    auto& c = conns_.at(cid);
    auto& n = nodes_[c.learner];
    if (!c.learner_open)
      return;
    c.learner_open = false;
    if (!c.leader_open)
      open_conns_.erase(cid);
    if (!n.alive || n.round != c.learner_round || n.conn != cid || !n.ln)
      return;
    n.ln->leader_lost("connection closed");
    flush_learner(n);
  }

  void leader_hears_close(uint64_t cid) {
    auto& c = conns_.at(cid);
    auto& l = nodes_[c.leader];
    if (!c.leader_open)
      return;
    c.leader_open = false;
    if (!c.learner_open)
      open_conns_.erase(cid);
    if (!l.alive || l.round != c.leader_round || l.r != role::leading || !l.ld)
      return;
    auto sid = nodes_[c.learner].id;
    auto i = l.learner_conns.find(sid);
    if (i == l.learner_conns.end() || i->second != cid)
      return; // dropped, or replaced by a newer connection
    l.learner_conns.erase(i);
    l.ld->learner_lost(now_, sid);
    flush_leader(l);
  }

  template <class M>
  void to_learner(conn& c, M m) {
    auto cid = c.id;
    transmit(&c.down, [this, cid, m = std::move(m)] {
      auto& c = conns_.at(cid);
      auto& n = nodes_[c.learner];
      if (!c.learner_open || !n.alive || n.round != c.learner_round ||
          n.conn != cid || !n.ln)
        return;
      n.ln->on(now_, m);
      flush_learner(n);
    });
  }

  void to_leader(conn& c, follower::leader_message m) {
    auto cid = c.id;
    transmit(&c.up, [this, cid, m = std::move(m)] { at_leader(cid, m); });
  }

  void at_leader(uint64_t cid, const follower::leader_message& m) {
    auto& c = conns_.at(cid);
    auto& l = nodes_[c.leader];
    if (!c.leader_open || !l.alive || l.round != c.leader_round ||
        l.r != role::leading || !l.ld)
      return;
    // The leader shell knows a learner by the actor it spoke from.
    auto current = [&](server_id sid) {
      auto i = l.learner_conns.find(sid);
      return i != l.learner_conns.end() && i->second == cid;
    };
    std::visit(
        [&](auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, quorum::follower_info> ||
                        std::is_same_v<T, quorum::observer_info>) {
            // A reconnecting learner gets a fresh handler; the old one
            // goes and takes its link down (leader_actor learner_hello).
            auto old = l.learner_conns.find(x.sid);
            if (old != l.learner_conns.end() && old->second != cid)
              close_side(old->second, true);
            l.learner_conns[x.sid] = cid;
            l.ld->learner_info(now_, x.sid, x.accepted_epoch,
                               std::is_same_v<T, quorum::observer_info>);
          } else if constexpr (std::is_same_v<T, quorum::ack_epoch>) {
            if (current(x.sid))
              l.ld->ack_epoch(now_, x);
          } else if constexpr (std::is_same_v<T, quorum::ack>) {
            if (current(x.sid))
              l.ld->ack(now_, x.sid, x.zxid);
          } else if constexpr (std::is_same_v<T, quorum::ping>) {
            auto sid = nodes_[c.learner].id;
            if (current(sid))
              l.ld->heard(now_, sid);
          }
        },
        m);
    flush_leader(l);
  }

  // The follower actor asks the leader node's peer for its leader actor,
  // retrying every 50 ms (follower_actor.cpp connect()).
  void try_connect(node& n) {
    if (n.r != role::learning || !n.ln || n.ln->is_over() || n.conn != 0 ||
        n.attempt_pending)
      return;
    auto& l = by_id(n.leader_id);
    auto att = ++n.attempt;
    n.attempt_pending = true;
    auto round = n.round;
    auto retry = [this, &n, round, att] {
      if (!n.alive || n.round != round || !n.attempt_pending ||
          n.attempt != att)
        return;
      n.attempt_pending = false;
      after(50, n.idx, [this, &n, round] {
        if (n.alive && n.round == round)
          try_connect(n);
      });
    };
    after(2000, n.idx, retry); // the request's timeout
    if (!l.alive || pair(n.idx, l.idx).cut || &l == &n) {
      after(uniform(1, 5), n.idx, retry); // refused
      return;
    }
    auto li = l.idx;
    send_once(n.idx, li, [this, &n, li, round, att, retry] {
      auto& l = nodes_[static_cast<size_t>(li)];
      if (l.r != role::leading || !l.ld) {
        send_once(li, n.idx, retry);
        return;
      }
      auto& c = new_conn(n, l);
      l.role_conns.push_back(c.id);
      auto cid = c.id;
      send_once(li, n.idx, [this, &n, round, att, cid] {
        if (!n.alive || n.round != round || n.r != role::learning ||
            !n.attempt_pending || n.attempt != att || !n.ln) {
          close_side(cid, false); // nobody wants it any more
          return;
        }
        n.attempt_pending = false;
        n.conn = cid;
        n.ln->connected(now_);
        flush_learner(n);
      });
    });
  }

  // --- roles
  // ------------------------------------------------------------------

  void lead(node& n) {
    n.r = role::leading;
    n.leader_id = n.id;
    trace(who(n) + " LEADING");
    leader::zab_settings s;
    s.self = n.id;
    s.voters = voters_;
    s.observers = observers_;
    s.tick_ms = opt_.tick_ms;
    s.init_limit_ticks = 10;
    s.sync_limit_ticks = 5;
    s.keep_window = true;
    n.ld = std::make_unique<leader::zab_leader>(s, n.history);
    n.ld->start(now_);
    flush_leader(n);
    leader_tick(n, n.round);
  }

  void leader_tick(node& n, uint64_t round) {
    auto every = std::max<int64_t>(50, opt_.tick_ms / 2);
    after(every + uniform(0, 3), n.idx, [this, &n, round] {
      if (!n.alive || n.round != round || n.r != role::leading || !n.ld)
        return;
      n.ld->tick(now_);
      flush_leader(n);
      leader_tick(n, round);
    });
  }

  void follow(node& n, server_id leader_id) {
    n.r = role::learning;
    n.leader_id = leader_id;
    trace(who(n) + (n.observer ? " OBSERVING n" : " FOLLOWING n") +
          std::to_string(leader_id));
    follower::learner_settings s;
    s.self = n.id;
    s.observer = n.observer;
    s.tick_ms = opt_.tick_ms;
    s.init_limit_ticks = 10;
    s.sync_limit_ticks = 5;
    follower::learner_history h;
    h.accepted_epoch = n.history.accepted_epoch;
    h.current_epoch = n.history.current_epoch;
    h.last_zxid = n.history.last_zxid;
    h.snapshot_zxid = n.history.snapshot_zxid;
    h.epoch_ends = n.history.epoch_ends;
    n.history.window.clear(); // only a leader replays it
    n.ln = std::make_unique<follower::learner>(s, h);
    n.ln->start(now_);
    flush_learner(n);
    learner_tick(n, n.round);
    try_connect(n);
  }

  void learner_tick(node& n, uint64_t round) {
    auto every = std::max<int64_t>(50, opt_.tick_ms / 4);
    after(every + uniform(0, 3), n.idx, [this, &n, round] {
      if (!n.alive || n.round != round || n.r != role::learning || !n.ln)
        return;
      n.ln->tick(now_);
      flush_learner(n);
      learner_tick(n, round);
    });
  }

  void apply_upto(node& n, int64_t zxid, bool leader) {
    while (!n.inflight.empty() && n.inflight.front().first <= zxid) {
      n.tree.push_back(std::move(n.inflight.front()));
      n.inflight.pop_front();
      if (leader)
        ++acked_;
    }
  }

  void flush_leader(node& n) {
    n.ld->check_invariants();
    auto effects = n.ld->take_effects();
    std::optional<std::string> stepped;
    for (auto& e : effects) {
      std::visit(
          [&](auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, leader::to_learner>) {
              auto i = n.learner_conns.find(x.sid);
              if (i == n.learner_conns.end())
                return;
              auto& c = conns_.at(i->second);
              std::visit([&](auto& m) { to_learner(c, m); }, x.msg);
            } else if constexpr (std::is_same_v<
                                     T, leader::persist_accepted_epoch>) {
              persist_accepted(n, x.epoch);
            } else if constexpr (std::is_same_v<
                                     T, leader::persist_current_epoch>) {
              persist_current(n, x.epoch);
            } else if constexpr (std::is_same_v<T, leader::send_snapshot>) {
              auto i = n.learner_conns.find(x.sid);
              if (i == n.learner_conns.end())
                return;
              auto s = n.disk.snapshots.find(x.zxid);
              if (s == n.disk.snapshots.end() ||
                  x.path != std::to_string(x.zxid))
                fail(who(n) + " sends snapshot " + x.path +
                     " which it does not have");
              trace(who(n) + " sends n" + std::to_string(x.sid) +
                    " its snapshot of " + hex(x.zxid));
              auto& c = conns_.at(i->second);
              auto bytes = encode_tree(s->second);
              to_learner(c, quorum::snap{x.zxid, bytes.size()});
              // In pieces, as the learner handler streams the file; its
              // window of unacknowledged chunks changes timing, not order,
              // so the learner's chunk acks are not modelled.
              uint64_t seq = 0;
              size_t at = 0;
              do {
                auto len = static_cast<size_t>(uniform(1, 200));
                quorum::snap_chunk ch;
                ch.seq = seq++;
                ch.bytes = bytes.substr(at, len);
                at += ch.bytes.size();
                ch.last = at >= bytes.size();
                to_learner(c, std::move(ch));
                if (at >= bytes.size())
                  break;
              } while (true);
            } else if constexpr (std::is_same_v<T, leader::commit_local>) {
              apply_upto(n, x.zxid, true);
              if (!n.serving)
                fail(who(n) + " commits " + hex(x.zxid) +
                     " before it is established");
              check_tree(n, newest_epoch(n));
            } else if constexpr (std::is_same_v<T, leader::established>) {
              on_established(n, x.epoch);
            } else if constexpr (std::is_same_v<T, leader::drop_learner>) {
              trace(who(n) + " drops n" + std::to_string(x.sid) + ": " +
                    x.reason);
              // The shell stops the learner's handler: its link drops.
              if (auto i = n.learner_conns.find(x.sid);
                  i != n.learner_conns.end()) {
                close_side(i->second, true);
                n.learner_conns.erase(i);
              }
            } else if constexpr (std::is_same_v<T, leader::step_down>) {
              stepped = x.reason;
            }
          },
          e);
    }
    if (stepped)
      end_round(n, "steps down: " + *stepped);
  }

  void on_established(node& n, uint32_t epoch) {
    trace(who(n) + " established epoch " + std::to_string(epoch) +
          " with history up to " + hex(n.history.last_zxid) + " (" +
          std::to_string(n.tree.size()) + " txns)");
    ++elections_;
    auto [i, fresh] = epoch_leader_.emplace(epoch, n.id);
    if (!fresh && i->second != n.id)
      fail("epoch " + std::to_string(epoch) + " established by n" +
           std::to_string(i->second) + " and by " + who(n));
    if (!fresh)
      fail(who(n) + " establishes epoch " + std::to_string(epoch) + " twice");
    // Every txn committed in an earlier epoch must be in the new leader's
    // history (Zab's primary order).
    for (size_t k = 0;
         k < committed_.size() && epoch_of(committed_[k].first) < epoch; ++k)
      if (k >= n.tree.size() || n.tree[k] != committed_[k])
        fail("committed txn " + hex(committed_[k].first) + " '" +
             committed_[k].second + "' (position " + std::to_string(k) +
             ") is missing from the history of " + who(n) +
             ", new leader of epoch " + std::to_string(epoch));
    n.verified = 0;
    n.serving = true;
    // Its whole history is committed now. A leader of an epoch older than
    // the newest established one (it was frozen holding its NEWLEADER acks
    // while its followers moved on) adds nothing: the later leader's
    // history holds its own, and it can never commit again.
    check_tree(n, newest_epoch(n));
    n.next_zxid = make_zxid(epoch, 1);
    n.el->set_peer_epoch(epoch);
  }

  // Is n the leader of the newest established epoch? Only that one's
  // commits extend the global sequence.
  bool newest_epoch(const node& n) const {
    return n.ld && !epoch_leader_.empty() &&
           epoch_leader_.rbegin()->first == n.ld->epoch() &&
           epoch_leader_.rbegin()->second == n.id;
  }

  void flush_learner(node& n) {
    auto effects = n.ln->take_effects();
    std::optional<follower::role_over> over;
    for (auto& e : effects) {
      std::visit(
          [&](auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, follower::to_leader>) {
              if (n.conn != 0)
                to_leader(conns_.at(n.conn), x.msg);
            } else if constexpr (std::is_same_v<
                                     T, follower::persist_accepted_epoch>) {
              persist_accepted(n, x.epoch);
            } else if constexpr (std::is_same_v<
                                     T, follower::persist_current_epoch>) {
              persist_current(n, x.epoch);
            } else if constexpr (std::is_same_v<T, follower::log_txn>) {
              log_append(n, txn{x.zxid, x.txn});
            } else if constexpr (std::is_same_v<T, follower::apply_proposal>) {
              int64_t last = n.inflight.empty()
                                 ? (n.tree.empty() ? 0 : n.tree.back().first)
                                 : n.inflight.back().first;
              if (x.zxid <= last)
                fail(who(n) + " is handed proposal " + hex(x.zxid) + " after " +
                     hex(last));
              n.inflight.emplace_back(x.zxid, x.txn);
            } else if constexpr (std::is_same_v<T, follower::apply_commit>) {
              apply_upto(n, x.zxid, false);
              if (n.serving)
                check_tree(n, false);
            } else if constexpr (std::is_same_v<T, follower::truncate_log>) {
              n.end_trunc = x.zxid;
              trace(who(n) + " TRUNC to " + hex(x.zxid));
            } else if constexpr (std::is_same_v<T,
                                                follower::install_snapshot>) {
              n.end_snap_zxid = x.zxid;
              n.end_snap = std::move(x.bytes);
              trace(who(n) + " installs the snapshot of " + hex(x.zxid));
            } else if constexpr (std::is_same_v<T, follower::serving>) {
              on_learner_serving(n, x.epoch);
            } else if constexpr (std::is_same_v<T, follower::role_over>) {
              over = x;
            }
          },
          e);
    }
    if (over) {
      n.end_rejoin = over->rejoin;
      end_round(n, over->reason + (over->rejoin ? " (rejoin)" : ""));
    }
  }

  void on_learner_serving(node& n, uint32_t epoch) {
    auto i = epoch_leader_.find(epoch);
    if (i == epoch_leader_.end() || i->second != n.leader_id)
      fail(who(n) + " serves in epoch " + std::to_string(epoch) + " under n" +
           std::to_string(n.leader_id) + ", which did not establish it");
    trace(who(n) + " serving in epoch " + std::to_string(epoch) + " (" +
          std::to_string(n.tree.size()) + " txns applied)");
    n.serving = true;
    n.verified = 0;
    check_tree(n, false);
    n.el->set_peer_epoch(epoch);
  }

  // --- the outside world: clients, snapshots, faults -----------------------

  void client_writes() {
    if (!writes_on_)
      return;
    after(uniform(2, 40), -1, [this] {
      std::vector<node*> leaders;
      for (auto& n : nodes_)
        if (n.alive && !n.paused && n.r == role::leading && n.ld &&
            n.ld->is_established())
          leaders.push_back(&n);
      if (!leaders.empty()) {
        auto& n = *leaders[static_cast<size_t>(
            uniform(0, static_cast<int64_t>(leaders.size()) - 1))];
        auto k = uniform(1, 4);
        std::vector<txn> batch;
        for (int64_t i = 0; i < k; ++i)
          batch.emplace_back(n.next_zxid++, "w" + std::to_string(++writes_));
        std::vector<std::pair<int64_t, std::string_view>> view;
        for (auto& t : batch) {
          n.inflight.push_back(t);
          view.emplace_back(t.first, n.inflight.back().second);
        }
        n.ld->propose(view);
        for (auto& t : batch)
          log_append(n, t);
        flush_leader(n);
      }
      client_writes();
    });
  }

  // The snapshot trigger fires at random moments and captures what the
  // tree holds: only while serving, or (snapshot_any_time) also right after
  // recovery and during a sync.
  void snapshots(node& n) {
    after(uniform(200, 4000), n.idx, [this, &n] {
      bool may = opt_.snapshot_any_time
                     ? (n.r == role::looking || n.r == role::leading ||
                        n.r == role::learning)
                     : n.serving;
      if (n.alive && !n.tree.empty() && may) {
        auto z = n.tree.back().first;
        if (n.disk.snapshots.empty() || n.disk.snapshots.rbegin()->first < z) {
          n.disk.snapshots[z] = n.tree;
          trace(who(n) + " snapshot of " + hex(z));
          if (n.r == role::leading && n.ld)
            n.ld->snapshot_taken(z, std::to_string(z));
        }
      }
      snapshots(n);
    });
  }

  void crash(node& n) {
    if (!n.alive)
      return;
    trace(who(n) + " CRASH (" + to_string(n.r) + ", " +
          std::to_string(n.pending.size()) + " records not durable)");
    settle_writer(n);
    n.alive = false;
    n.paused = false;
    n.deferred.clear();
    ++n.incarnation;
    for (auto cid :
         std::vector<uint64_t>(open_conns_.begin(), open_conns_.end())) {
      auto& c = conns_.at(cid);
      if (c.learner == n.idx || c.leader == n.idx)
        cut_conn(cid);
    }
    for (auto& o : nodes_)
      if (o.idx != n.idx)
        link_down(n.idx, o.idx);
    n.el.reset();
    n.el_timer_at.reset();
    n.ld.reset();
    n.ln.reset();
    n.r = role::down;
    n.serving = false;
    n.tree.clear();
    n.inflight.clear();
    n.conn = 0;
    n.attempt_pending = false;
    n.learner_conns.clear();
    n.role_conns.clear();
    n.rejoin_leader = 0;
  }

  void start(node& n) {
    n.alive = true;
    ++n.incarnation;
    n.el = std::make_unique<election::core>(election_settings(n));
    n.el_timer_at.reset();
    n.rejoin_leader = 0;
    trace(who(n) + " START");
    begin_round(n);
    for (auto& o : nodes_)
      if (o.idx != n.idx && link_possible(n.idx, o.idx))
        link_up_later(n.idx, o.idx);
  }

  void pause(node& n, int64_t ms) {
    if (!n.alive || n.paused)
      return;
    trace(who(n) + " PAUSE for " + std::to_string(ms) + " ms");
    n.paused = true;
    after(ms, -1, [this, &n] { resume(n); });
  }

  void resume(node& n) {
    if (!n.paused)
      return;
    trace(who(n) + " RESUME (" + std::to_string(n.deferred.size()) +
          " events waited)");
    n.paused = false;
    auto waiting = std::move(n.deferred);
    n.deferred.clear();
    for (auto& e : waiting) {
      if (n.paused || !n.alive)
        break;
      e.fn();
    }
  }

  // Two groups that cannot talk: every pair across is cut (connections
  // reset, refused) or blackholed (packets dropped, TCP waits).
  void partition(bool cut, int64_t ms) {
    std::vector<int> side(nodes_.size());
    if (chance(0.5)) {
      auto lone =
          static_cast<int>(uniform(0, static_cast<int64_t>(nodes_.size()) - 1));
      // Often the leader.
      for (auto& n : nodes_)
        if (n.alive && n.r == role::leading && chance(0.7))
          lone = n.idx;
      side[static_cast<size_t>(lone)] = 1;
    } else {
      for (auto& s : side)
        s = chance(0.5) ? 1 : 0;
    }
    std::string desc;
    for (size_t i = 0; i < side.size(); ++i)
      desc += (side[i] ? "B" : "A");
    trace(std::string(cut ? "CUT " : "BLACKHOLE ") + desc + " for " +
          std::to_string(ms) + " ms");
    for (size_t i = 0; i < side.size(); ++i)
      for (size_t j = i + 1; j < side.size(); ++j) {
        if (side[i] == side[j])
          continue;
        auto a = static_cast<int>(i);
        auto b = static_cast<int>(j);
        if (cut)
          cut_pair(a, b, ms);
        else
          pair(a, b).hole_until = std::max(pair(a, b).hole_until, now_ + ms);
      }
  }

  void cut_pair(int a, int b, int64_t ms) {
    auto& p = pair(a, b);
    p.cut = true;
    link_down(a, b);
    for (auto cid :
         std::vector<uint64_t>(open_conns_.begin(), open_conns_.end())) {
      auto& c = conns_.at(cid);
      if ((c.learner == a && c.leader == b) ||
          (c.learner == b && c.leader == a))
        cut_conn(cid);
    }
    auto gen = ++p.cut_gen; // a heal of an earlier cut must not end this one
    after(ms, -1, [this, a, b, gen] {
      auto& p = pair(a, b);
      if (p.cut_gen != gen || !p.cut)
        return;
      heal_pair(a, b);
    });
  }

  void heal_pair(int a, int b) {
    auto& p = pair(a, b);
    p.cut = false;
    if (link_possible(a, b) && !p.el_up)
      link_up_later(a, b);
  }

  void fault() {
    if (!chaos_)
      return;
    after(uniform(200, 2500), -1, [this] {
      if (!chaos_)
        return;
      ++faults_;
      auto pick = [&]() -> node& {
        if (chance(0.4))
          for (auto& n : nodes_)
            if (n.alive && n.r == role::leading)
              return n;
        return nodes_[static_cast<size_t>(
            uniform(0, static_cast<int64_t>(nodes_.size()) - 1))];
      };
      auto dice = uniform(0, 99);
      if (dice < 25) {
        auto& n = pick();
        if (n.alive) {
          crash(n);
          after(uniform(50, 5000), -1, [this, &n] {
            if (!n.alive && chaos_)
              start(n);
          });
        }
      } else if (dice < 40) {
        pause(pick(), uniform(50, 3000));
      } else if (dice < 60) {
        partition(true, uniform(100, 5000));
      } else if (dice < 75) {
        partition(false, uniform(100, 3000));
      } else if (dice < 85) {
        // One connection reset, at once reconnected.
        auto a = static_cast<int>(
            uniform(0, static_cast<int64_t>(nodes_.size()) - 1));
        auto b = static_cast<int>(
            uniform(0, static_cast<int64_t>(nodes_.size()) - 1));
        if (a != b) {
          trace("RESET n" + std::to_string(a + 1) + "-n" +
                std::to_string(b + 1));
          cut_pair(a, b, uniform(0, 50));
        }
      } else {
        auto& n = pick();
        auto ms = uniform(500, 4000);
        trace(who(n) + " SLOW DISK for " + std::to_string(ms) + " ms");
        n.slow_disk_until = now_ + ms;
      }
      fault();
    });
  }

  void heal_all() {
    trace("HEAL: faults stop");
    chaos_ = false;
    for (auto& n : nodes_)
      n.slow_disk_until = 0;
    for (int a = 0; a < static_cast<int>(nodes_.size()); ++a)
      for (int b = a + 1; b < static_cast<int>(nodes_.size()); ++b) {
        auto& p = pair(a, b);
        p.hole_until = std::min(p.hole_until, now_);
        if (p.cut)
          heal_pair(a, b);
      }
    for (auto& n : nodes_) {
      if (n.paused)
        resume(n);
      if (!n.alive)
        start(n);
    }
  }

  bool step() {
    if (heap_.empty())
      return false;
    std::pop_heap(heap_.begin(), heap_.end(), later{});
    auto e = std::move(heap_.back());
    heap_.pop_back();
    now_ = e.at;
    ++events_;
    if (e.target >= 0 && nodes_[static_cast<size_t>(e.target)].paused) {
      nodes_[static_cast<size_t>(e.target)].deferred.push_back(std::move(e));
      return true;
    }
    e.fn();
    return true;
  }

  void run_until(int64_t t) {
    while (!heap_.empty() && heap_.front().at <= t)
      step();
    now_ = std::max(now_, t);
  }

  void check_final();

  options opt_;
  std::mt19937_64 rng_;
  std::vector<node> nodes_;
  std::set<server_id> voters_;
  std::set<server_id> observers_;
  std::vector<pair_state> pairs_;
  std::vector<channel> el_ch_;
  std::map<uint64_t, conn> conns_;
  std::set<uint64_t> open_conns_;
  uint64_t conn_seq_ = 0;
  std::vector<event> heap_;
  uint64_t seq_ = 0;
  int64_t now_ = 0;
  uint64_t events_ = 0;
  std::deque<std::string> trace_;
  bool chaos_ = true;
  bool writes_on_ = true;
  uint64_t writes_ = 0;
  // Checkers' state.
  std::vector<txn> committed_; // the global committed sequence
  std::map<uint32_t, server_id> epoch_leader_;
  uint64_t acked_ = 0;
  uint64_t elections_ = 0;
  uint64_t faults_ = 0;
  uint64_t truncs_ = 0;
  uint64_t snaps_ = 0;
};

void world::check_final() {
  if (opt_.trace_votes)
    for (auto& c : el_ch_)
      trace("el channel n" + std::to_string(c.from + 1) + "->n" +
            std::to_string(c.to + 1) + ": " + std::to_string(c.q.size()) +
            " queued, pumping " + std::to_string(c.pumping) + ", last_at " +
            std::to_string(c.last_at));
  // One leader, of the newest epoch, everyone else serving under it with
  // the same tree.
  node* leader = nullptr;
  for (auto& n : nodes_)
    if (n.r == role::leading && n.ld && n.ld->is_established()) {
      if (leader)
        fail("after the quiet period both " + who(*leader) + " and " + who(n) +
             " lead");
      leader = &n;
    }
  if (!leader)
    fail("no leader established after the quiet period");
  auto epoch = leader->ld->epoch();
  if (epoch_leader_.rbegin()->first != epoch)
    fail("the leader's epoch " + std::to_string(epoch) +
         " is not the newest established one");
  for (auto& n : nodes_) {
    if (&n == leader)
      continue;
    if (n.r != role::learning || !n.ln || !n.ln->is_serving() ||
        n.leader_id != leader->id)
      fail(who(n) + " is not serving under " + who(*leader) +
           " after the quiet period (" + to_string(n.r) + ")");
  }
  for (auto& n : nodes_) {
    if (n.tree.size() != committed_.size() || n.verified != n.tree.size() ||
        !n.inflight.empty())
      fail(who(n) + " has " + std::to_string(n.tree.size()) +
           " txns applied (" + std::to_string(n.inflight.size()) +
           " in flight), the ensemble committed " +
           std::to_string(committed_.size()));
  }
}

result world::run() {
  auto& w = *this;
  result res;
  try {
    for (auto& n : w.nodes_)
      w.start(n);
    for (auto& n : w.nodes_)
      w.snapshots(n);
    w.client_writes();
    w.fault();
    while (static_cast<int64_t>(w.events_) < w.opt_.steps && w.step()) {
    }
    w.heal_all();
    auto quiet_from = w.now_;
    auto acked_before = w.acked_;
    auto writes_before = w.writes_;
    // Long enough for init_limit timeouts, a few elections and reconnect
    // backoffs after the worst fault mix.
    w.run_until(quiet_from + 40 * w.opt_.tick_ms + 20000);
    if (w.acked_ == acked_before || w.writes_ == writes_before)
      w.fail("no write committed in the quiet period after the faults");
    w.writes_on_ = false;
    w.run_until(w.now_ + 20 * w.opt_.tick_ms);
    w.check_final();
  } catch (const sim_failure& f) {
    res.ok = false;
    res.failure = f.what;
  }
  res.trace.assign(w.trace_.begin(), w.trace_.end());
  res.events = w.events_;
  res.committed = w.committed_.size();
  res.acked = w.acked_;
  res.elections = w.elections_;
  res.faults = w.faults_;
  res.truncs = w.truncs_;
  res.snaps = w.snaps_;
  res.sim_ms = w.now_;
  return res;
}

} // namespace

result run(const options& o) {
  world w(o);
  return w.run();
}

} // namespace zkd::sim
