"""Failover of a 3-node ensemble under a continuous write stream: SIGKILL of
the leader, of a follower, of two of three nodes, a node that misses many
writes (and snapshots) while down, and a leader frozen with SIGSTOP past the
sync and session timeouts. One kazoo writer per node (each lists every node,
its own first, so it fails over like a real client) records which creates
were acknowledged; afterwards every acknowledged create must be on every
node, nothing that was never sent may be, and all nodes must hold the same
data (read from each node after a sync).

A create whose reply was lost with its connection (or did not come in time)
is "uncertain": it may or may not have been applied.

The server is zkd, or Apache ZooKeeper 3.8 with ZKD_BIN=zookeeper, which is
how these expectations were checked against the reference:

    ZKD_BIN=zookeeper /usr/bin/python3 -m pytest -q tests/fault/test_failover.py

Both run with the same tick (500 ms), initLimit 10 and syncLimit 5
(harness.ENSEMBLE_DEFAULTS): a follower notices a silent leader after 2.5 s.
"""

import glob
import os
import sys
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, OperationTimeoutError, SessionExpiredError
from kazoo.handlers.threading import KazooTimeoutError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import new_ensemble, stop_quietly, wait_until  # noqa: E402
from rawclient import RawClient  # noqa: E402

SESSION_TIMEOUT_S = 10.0
OP_TIMEOUT_S = 5.0
UNCERTAIN = (ConnectionLoss, OperationTimeoutError, KazooTimeoutError)
ROOT = "/failover"


class Writer:
    """One session creating ROOT/w<idx>/<n> one at a time, remembering for
    each create when it was sent and, if acknowledged, when."""

    def __init__(self, ens, home, idx):
        self.idx = idx
        self.home = home
        self.dir = "%s/w%d" % (ROOT, idx)
        others = [n for n in ens.nodes if n is not home]
        self.client = KazooClient(hosts=ens.connect_string([home] + others),
                                  randomize_hosts=False, timeout=SESSION_TIMEOUT_S,
                                  connection_retry=dict(max_tries=-1, delay=0.05,
                                                        max_delay=0.25))
        self.client.start(timeout=30)
        self.session_id = self.client.client_id[0]
        self.client.ensure_path(self.dir)
        self.ephemeral = "%s/eph-w%d" % (ROOT, idx)
        self.client.create(self.ephemeral, b"", ephemeral=True)
        self.acked = {}  # path -> (sent, acked) monotonic times
        self.uncertain = {}  # path -> sent
        self.errors = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            path = "%s/%06d" % (self.dir, n)
            sent = time.monotonic()
            self.uncertain[path] = sent
            try:
                self.client.create_async(path, path.encode()).get(timeout=OP_TIMEOUT_S)
            except UNCERTAIN:
                self.wait_connected()
                continue
            except SessionExpiredError as e:
                self.errors.append("session expired: %r" % e)
                return
            except Exception as e:  # anything else is a wrong answer
                self.errors.append("%s: %r" % (type(e).__name__, e))
                return
            del self.uncertain[path]
            self.acked[path] = (sent, time.monotonic())

    def wait_connected(self):
        deadline = time.monotonic() + 60
        while not self.client.connected and time.monotonic() < deadline \
                and not self.stop.is_set():
            time.sleep(0.01)

    def acked_after(self, t):
        return [p for p, (_, acked) in self.acked.items() if acked > t]

    def finish(self):
        self.stop.set()
        self.thread.join(OP_TIMEOUT_S + 5)

    def close(self):
        self.stop.set()
        stop_quietly(self.client)


def read_tree(client, root):
    """{path: data} below root (two levels: root/w<i>/<n>, root/eph-*), after
    a sync; the leaves are read with pipelined getData."""
    client.sync(root)
    out = {}
    level = [root]
    while level:
        children = [(p, client.get_children_async(p)) for p in level]
        paths = []
        for p, res in children:
            paths += ["%s/%s" % (p, c) for c in res.get(timeout=30)]
        datas = [(p, client.get_async(p)) for p in paths]
        for p, res in datas:
            out[p] = res.get(timeout=30)[0]
        level = [p for p in paths if not p.rsplit("/", 1)[1].isdigit()]
    return out


def check_nodes(ens, writers, nodes=None, ephemerals=True):
    """Every acknowledged create on each of `nodes` (default: every running
    node), nothing never sent, data right, the same tree on all of them."""
    nodes = ens.running() if nodes is None else nodes
    trees = {}
    for node in nodes:
        c = KazooClient(hosts=node.hostport, timeout=20.0)
        c.start(timeout=30)
        try:
            trees[node.id] = read_tree(c, ROOT)
        finally:
            stop_quietly(c)
    problems = []
    for sid, tree in trees.items():
        for w in writers:
            present = {p for p in tree if p.startswith(w.dir + "/")}
            for p in w.acked:
                if p not in present:
                    problems.append("node %d: acknowledged %s missing" % (sid, p))
                elif tree[p] != p.encode():
                    problems.append("node %d: %s holds %r" % (sid, p, tree[p]))
            for p in present - set(w.acked) - set(w.uncertain):
                problems.append("node %d: %s exists but was never sent" % (sid, p))
            alive = not any("expired" in e for e in w.errors)
            if ephemerals and alive and w.ephemeral not in tree:
                problems.append("node %d: ephemeral of live session %#x gone" %
                                (sid, w.session_id))
    first = next(iter(trees))
    for sid, tree in trees.items():
        if tree != trees[first]:
            diff = set(tree.items()) ^ set(trees[first].items())
            problems.append("node %d and node %d differ in %d entries, e.g. %s" % (
                sid, first, len(diff), sorted(diff)[:5]))
    assert not problems, "\n".join(problems[:40])
    return trees


@pytest.fixture
def ensemble(request):
    """ensemble(**config): a fresh started 3-node ensemble, closed (and its
    writers stopped) after the test."""
    made = []
    writers = []

    def make(**config):
        ens = new_ensemble(n=3, config=config)
        made.append(ens)
        request.node._servers_used = getattr(request.node, "_servers_used", []) + ens.nodes
        return ens

    make.writers = writers
    yield make
    for w in writers:
        w.close()
    for ens in made:
        ens.close()


def start_writers(ensemble, ens):
    writers = [Writer(ens, node, i) for i, node in enumerate(ens.nodes)]
    ensemble.writers.extend(writers)
    for w in writers:
        w.start()
    return writers


def assert_progress(writers, since, timeout=30.0):
    """Every writer gets creates acknowledged after `since`."""
    assert wait_until(lambda: all(w.acked_after(since) or w.errors for w in writers),
                      timeout, interval=0.05), \
        "writers stuck: %s" % [(w.idx, len(w.acked_after(since)), w.errors) for w in writers]
    for w in writers:
        assert not w.errors, "writer %d: %s" % (w.idx, w.errors)


def first_ack_after(writers, t):
    acks = [a for w in writers for (_, a) in w.acked.values() if a > t]
    return min(acks) - t if acks else None


def test_sigkill_leader_mid_write_stream(ensemble):
    ens = ensemble()
    writers = start_writers(ensemble, ens)
    assert_progress(writers, time.monotonic())
    time.sleep(1.0)
    old = ens.wait_leader(10)
    t_kill = time.monotonic()
    old.kill9()
    new = ens.wait_leader(60, exclude=[old])
    assert new is not old
    assert_progress(writers, time.monotonic())
    sys.stderr.write("leader SIGKILL -> first acknowledged write %.3f s\n" %
                     first_ack_after(writers, t_kill))
    time.sleep(1.0)
    for w in writers:
        w.finish()
        assert not w.errors, "writer %d: %s" % (w.idx, w.errors)
    check_nodes(ens, writers)
    # The old leader rejoins as a follower and catches up.
    old.start()
    assert old.mode() == "follower"
    ens.wait_same_zxid(30)
    check_nodes(ens, writers)


def test_sigkill_follower_service_goes_on(ensemble):
    ens = ensemble()
    writers = start_writers(ensemble, ens)
    assert_progress(writers, time.monotonic())
    time.sleep(1.0)
    leader = ens.wait_leader(10)
    victim = [n for n in ens.nodes if n is not leader][0]
    t_kill = time.monotonic()
    victim.kill9()
    assert_progress(writers, t_kill)
    # No election: the leader stays; writes kept flowing through the others.
    assert ens.leader() is leader
    others = [w for w in writers if w.home is not victim]
    gap = max(first_ack_after([w], t_kill) for w in others)
    assert gap < 3.0, "writers on the surviving nodes waited %.2f s" % gap
    time.sleep(1.0)
    for w in writers:
        w.finish()
    check_nodes(ens, writers)
    victim.start()
    ens.wait_same_zxid(30)
    check_nodes(ens, writers)


def test_two_of_three_down_refuses_writes_then_they_catch_up(ensemble):
    ens = ensemble()
    writers = start_writers(ensemble, ens)
    assert_progress(writers, time.monotonic())
    time.sleep(1.0)
    leader = ens.wait_leader(10)
    down = [n for n in ens.nodes if n is not leader]
    for n in down:
        n.kill9()
    t_down = time.monotonic()
    # The survivor stops serving ...
    assert wait_until(lambda: leader.mode() is None, 20), leader.srvr()
    # ... gives no new session ...
    raw = None
    try:
        raw = RawClient(leader, timeout=2.0)
        refused = raw.connect(timeout_ms=10000)["timeout"] <= 0
    except (OSError, AssertionError, TimeoutError):
        refused = True
    finally:
        if raw is not None:
            raw.close()
    assert refused, "a lone node gave a new session"
    # ... and acknowledges nothing sent after the kills (writers keep trying).
    time.sleep(4.0)
    t_restart = time.monotonic()
    tried = 0
    for w in writers:
        sends = [sent for sent, _ in w.acked.values()] + list(w.uncertain.values())
        tried += len([t for t in sends if t_down < t < t_restart])
        bad = [p for p, (sent, acked) in w.acked.items() if sent > t_down and acked < t_restart]
        assert not bad, "writer %d: acknowledged without a quorum: %s" % (w.idx, bad[:5])
    # ZooKeeper's lone leader keeps its sessions until sync_limit runs out,
    # so writes reach it and must go unacknowledged. zkd drops every client
    # connection as soon as the quorum is gone (the kills close the quorum
    # links at once): then nothing can even be sent, which the refused
    # session above and the disconnected writers show.
    assert tried > 0 or all(w.client.state != "CONNECTED" for w in writers), \
        "no write was attempted during the outage, yet writers were connected"
    for n in down:
        n.start(wait=False)
    ens.wait_serving(60)
    assert_progress(writers, time.monotonic(), timeout=60)
    time.sleep(1.0)
    for w in writers:
        w.finish()
        assert not w.errors, "writer %d: %s" % (w.idx, w.errors)
    ens.wait_same_zxid(30)
    check_nodes(ens, writers)


def snapshot_files(node):
    return set(glob.glob(os.path.join(node.data_dir, "**", "snapshot.*"), recursive=True))


def test_restarted_node_catches_up_after_many_writes_and_snapshots(ensemble):
    # ZooKeeper's snapshot rule alone (zkd's tree percent would space the
    # snapshots of this few-thousand-znode tree out).
    ens = ensemble(snapshot_count=100, snapshot_tree_percent=0)
    leader = ens.wait_leader(10)
    victim = [n for n in ens.nodes if n is not leader][0]
    c = KazooClient(hosts=leader.hostport, timeout=20.0)
    c.start(timeout=30)
    try:
        c.ensure_path(ROOT + "/many")
        c.create(ROOT + "/counter", b"0")
        victim.kill9()
        before = snapshot_files(leader)
        # 3000 creates, 600 setData and 500 deletes, 200 in flight at a time.
        pending = []

        def flush():
            for r in pending:
                r.get(timeout=60)
            del pending[:]

        for i in range(3000):
            pending.append(c.create_async("%s/many/%05d" % (ROOT, i), b"v%d" % i))
            if i % 5 == 0:
                pending.append(c.set_async(ROOT + "/counter", b"%d" % i))
            if len(pending) >= 200:
                flush()
        flush()
        for i in range(0, 1000, 2):
            pending.append(c.delete_async("%s/many/%05d" % (ROOT, i)))
        flush()
        assert len(snapshot_files(leader) - before) >= 1, "no snapshot during the writes"
        victim.start()
        ens.wait_same_zxid(60)
        trees = check_nodes(ens, [], ephemerals=False)
        tree = trees[victim.id]
        assert len([p for p in tree if p.startswith(ROOT + "/many/")]) == 2500
        assert tree[ROOT + "/counter"] == b"2995"
        # It serves reads and forwards writes again.
        vc = KazooClient(hosts=victim.hostport, timeout=20.0)
        vc.start(timeout=30)
        try:
            vc.create(ROOT + "/after", b"a")
            assert vc.get(ROOT + "/many/02999")[0] == b"v2999"
        finally:
            stop_quietly(vc)
    finally:
        stop_quietly(c)


def test_sigstop_leader_steps_down_and_rejoins(ensemble):
    """The leader frozen (SIGSTOP) longer than the sync limit and the writers'
    session timeout: the others elect a new leader and go on; thawed, the old
    leader steps down without acknowledging or expiring anything, and rejoins
    as a follower with the same data."""
    ens = ensemble()
    writers = start_writers(ensemble, ens)
    assert_progress(writers, time.monotonic())
    time.sleep(1.0)
    old = ens.wait_leader(10)
    t_stop = time.monotonic()
    old.sigstop()
    new = ens.wait_leader(60, exclude=[old])
    assert new is not old
    t_new = time.monotonic()
    sys.stderr.write("leader SIGSTOP -> new leader %.2f s\n" % (t_new - t_stop))
    # The writer whose home is the frozen node moves once its client gives up.
    assert_progress(writers, t_new, timeout=SESSION_TIMEOUT_S + 20)
    freeze = SESSION_TIMEOUT_S + 2.0
    time.sleep(max(0.0, t_stop + freeze - time.monotonic()))
    old.sigcont()
    t_cont = time.monotonic()
    assert wait_until(lambda: old.mode() == "follower", 60), ens.modes()
    assert ens.leader() is not old
    assert_progress(writers, time.monotonic())
    time.sleep(1.0)
    for w in writers:
        w.finish()
        assert not w.errors, "writer %d: %s" % (w.idx, w.errors)
    assert t_cont - t_stop >= freeze
    ens.wait_same_zxid(30)
    check_nodes(ens, writers)
