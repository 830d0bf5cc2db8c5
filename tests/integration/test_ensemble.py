"""The ensemble through its clients: 3-node, 3+1-observer and 5-node ensembles
of real processes on 127.0.0.1, driven by kazoo and the raw jute client.

The server is zkd (`zkd --config ENSEMBLE.yaml --id N`, harness.ZkdEnsemble), or
Apache ZooKeeper 3.8 with ZKD_BIN=zookeeper (harness.ZkEnsemble), which is how
these expectations were checked against the reference:

    ZKD_BIN=zookeeper /usr/bin/python3 -m pytest -q tests/integration/test_ensemble.py

Each ensemble is shared by the tests of this module; a test that kills or
freezes nodes leaves the restoring to the next test's fixture, which restarts
every node and waits until all serve. Both servers run with the same tick
(harness.ENSEMBLE_DEFAULTS: 500 ms, initLimit 10, syncLimit 5).
"""

import os
import re
import subprocess
import sys
import threading
import time

import pytest
from kazoo.client import KazooState
from kazoo.exceptions import (BadVersionError, NoNodeError, NodeExistsError, NotEmptyError,
                              RolledBackError, RuntimeInconsistency)
from kazoo.protocol.states import EventType

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Events, new_ensemble, restore_ensemble, tree_of, wait_until  # noqa: E402
from rawclient import (EVENT_CHILDREN_CHANGED, EVENT_CREATED, EVENT_DATA_CHANGED,  # noqa: E402
                       OP_GET_CHILDREN, OP_SET_DATA, ZOK, RawClient, jute_bool, jute_buffer,
                       jute_int, jute_string)
from tcpproxy import TcpProxy  # noqa: E402

# A kazoo client that follows the ensemble through failures quickly.
FAILOVER_RETRY = dict(max_tries=-1, delay=0.05, max_delay=0.5)
EPHEMERAL = 1  # create flag


# ---------------------------------------------------------------------------------
# Fixtures: one ensemble of each shape per module, restored before each test
# ---------------------------------------------------------------------------------

def _module_ensemble(n, observers=0):
    @pytest.fixture(scope="module")
    def fixture():
        ens = new_ensemble(n=n, observers=observers)
        yield ens
        ens.close()
    return fixture


_ens3 = _module_ensemble(3)
_ens_obs = _module_ensemble(3, observers=1)
_ens5 = _module_ensemble(5)


@pytest.fixture
def ens3(_ens3, request):
    return restore_ensemble(_ens3, request)


@pytest.fixture
def ens_obs(_ens_obs, request):
    return restore_ensemble(_ens_obs, request)


@pytest.fixture
def ens5(_ens5, request):
    return restore_ensemble(_ens5, request)


@pytest.fixture
def root(request):
    """A path of this test's own (the ensemble is shared by the module)."""
    return "/" + re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)


@pytest.fixture
def pinned(kazoo_factory):
    """pinned(node, **kw): a kazoo client connected to that node only."""
    def make(node, **kwargs):
        return kazoo_factory(node.hostport, **kwargs)
    return make


def _leader_and_followers(ens):
    leader = ens.wait_leader(30)
    followers = [n for n in ens.participants() if n is not leader]
    return leader, followers


def _wait_refused(client, path, timeout=10.0):
    """A create through `client` must fail (any error, or no answer within
    `timeout`): returns the exception."""
    try:
        client.create_async(path, b"refused").get(timeout=timeout)
    except Exception as e:  # ConnectionLoss, SessionExpired, a timeout ...
        return e
    pytest.fail("create %s was acknowledged without a quorum" % path)


# ---------------------------------------------------------------------------------
# 3 nodes
# ---------------------------------------------------------------------------------

def test_exactly_one_leader_as_zkserver_sh_reports_it(ens3):
    modes = ens3.modes()
    assert sorted(modes.values()) == ["follower", "follower", "leader"], modes
    leader = ens3.leader()
    for node in ens3.nodes:
        # zkServer.sh status reads clientPort(Address) from a zoo.cfg and asks srvr.
        cfg = os.path.join(node.workdir, "status.cfg")
        with open(cfg, "w") as f:
            f.write("clientPort=%d\nclientPortAddress=%s\ndataDir=%s\n" % (
                node.port, node.host, node.data_dir))
        out = subprocess.run([os.path.join(harness.ZK_HOME, "bin", "zkServer.sh"), "status", cfg],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "Mode: %s" % modes[node.id] in out.stdout, out.stdout
        stat = harness.parse_srvr(node.four_letter_word("stat"))
        assert stat.get("Mode") == modes[node.id]
        mntr = dict(line.split("\t", 1) for line in node.four_letter_word("mntr").splitlines()
                    if "\t" in line)
        assert mntr.get("zk_server_state") == modes[node.id], mntr
        if node is leader:
            assert mntr.get("zk_synced_followers") == "2", mntr


def test_writes_through_each_node_visible_on_all(ens3, pinned, root):
    clients = {n.id: pinned(n) for n in ens3.nodes}
    clients[1].create(root, b"r")
    for sid, c in clients.items():
        c.create("%s/from-%d" % (root, sid), ("written via %d" % sid).encode())
    expected = {root: b"r"}
    expected.update({"%s/from-%d" % (root, sid): ("written via %d" % sid).encode()
                     for sid in clients})
    for sid, c in clients.items():
        assert tree_of(c, root) == expected, "node %d" % sid


def test_reads_on_followers_match_the_leader(ens3, pinned, root):
    leader, followers = _leader_and_followers(ens3)
    lc = pinned(leader)
    lc.create(root, b"parent")
    for i in range(5):
        lc.create("%s/c%d" % (root, i), b"x" * i)
    lc.set(root, b"parent v1")
    ldata, lstat = lc.get(root)
    for f in followers:
        fc = pinned(f)
        assert harness.parse_srvr(f.four_letter_word("srvr"))["Mode"] == "follower"
        # Without sync a follower may lag, but not for long.
        assert wait_until(lambda: fc.exists(root + "/c4") is not None, 10)
        fc.sync(root)
        data, stat = fc.get(root)
        # The stat is the leader's: same zxids, times and versions everywhere.
        assert (data, stat) == (ldata, lstat)
        assert sorted(fc.get_children(root)) == ["c%d" % i for i in range(5)]
        assert fc.get(root + "/c3")[0] == b"xxx"


def test_sequential_nodes_through_different_nodes(ens3, pinned, root):
    clients = [pinned(n) for n in ens3.nodes]
    clients[0].create(root)
    # One at a time, round robin: each number is larger than the one before.
    seqs = []
    for i in range(30):
        path = clients[i % 3].create(root + "/s-", b"", sequence=True)
        seqs.append(int(path[-10:]))
    assert seqs == list(range(30)), seqs
    # All at once from three threads: 60 distinct numbers, none skipped.
    got = [[] for _ in clients]
    errors = []

    def run(i):
        try:
            for _ in range(20):
                got[i].append(int(clients[i].create(root + "/s-", b"", sequence=True)[-10:]))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    for g in got:
        assert g == sorted(g), g  # one session's creates are applied in its order
    assert sorted(sum(got, [])) == list(range(30, 90))
    for c in clients:
        c.sync(root)
        assert len(c.get_children(root)) == 90


def test_multi_through_a_follower(ens3, pinned, root):
    leader, followers = _leader_and_followers(ens3)
    fc, lc = pinned(followers[0]), pinned(leader)
    fc.create(root)
    t = fc.transaction()
    t.create(root + "/m1", b"1")
    t.create(root + "/m2", b"2")
    t.set_data(root + "/m1", b"one")
    t.check(root + "/m2", 0)
    results = t.commit()
    assert results[:2] == [root + "/m1", root + "/m2"], results
    assert results[2].version == 1 and results[3] is True, results
    lc.sync(root)
    assert lc.get(root + "/m1")[0] == b"one"
    # A failing multi changes nothing, on any node.
    t = fc.transaction()
    t.create(root + "/m3", b"3")
    t.set_data(root + "/m1", b"nope", version=99)
    t.delete(root + "/m2")
    results = t.commit()
    assert isinstance(results[0], RolledBackError), results
    assert isinstance(results[1], BadVersionError), results
    # ZooKeeper: ops before the failing one RolledBack, after it RuntimeInconsistency.
    assert isinstance(results[2], RuntimeInconsistency), results
    for c in (lc, fc, pinned(followers[1])):
        c.sync(root)
        assert c.exists(root + "/m3") is None
        assert c.get(root + "/m1")[0] == b"one"
        assert c.exists(root + "/m2") is not None


def test_failing_writes_through_a_follower_get_their_errors_in_order(ens3, pinned, root):
    leader, followers = _leader_and_followers(ens3)
    fc = pinned(followers[0])
    fc.create(root + "/a", b"a", makepath=True)
    # Pipelined: good and bad writes interleaved; each reply in order, right error.
    ops = [
        (fc.create_async(root + "/missing/child"), NoNodeError),
        (fc.create_async(root + "/b", b"b"), None),
        (fc.set_async(root + "/a", b"x", version=7), BadVersionError),
        (fc.set_async(root + "/a", b"y", version=0), None),
        (fc.delete_async(root + "/missing"), NoNodeError),
        (fc.create_async(root + "/a", b"again"), NodeExistsError),
        (fc.delete_async(root), NotEmptyError),
        (fc.set_async(root + "/b", b"bb", version=0), None),
    ]
    for i, (res, err) in enumerate(ops):
        if err is None:
            res.get(timeout=10)
        else:
            with pytest.raises(err):
                res.get(timeout=10)
            assert res.exception is not None, i
    lc = pinned(leader)
    lc.sync(root)
    assert tree_of(lc, root) == {root: b"", root + "/a": b"y", root + "/b": b"bb"}


def test_watch_on_a_follower_fires_for_a_write_through_the_leader(ens3, pinned, root):
    leader, followers = _leader_and_followers(ens3)
    lc, fc = pinned(leader), pinned(followers[1])
    lc.create(root + "/w", b"0", makepath=True)
    fc.sync(root)
    events = Events()
    fc.get(root + "/w", watch=events)
    fc.get_children(root, watch=events)
    assert fc.exists(root + "/new", watch=events) is None
    lc.set(root + "/w", b"1")
    lc.create(root + "/new", b"n")
    assert events.wait_for(lambda items: len(items) >= 3, 10), events.items
    got = sorted((e.type, e.path) for e in events.items)
    assert got == sorted([(EventType.CHANGED, root + "/w"), (EventType.CHILD, root),
                          (EventType.CREATED, root + "/new")]), got
    # The event comes after the follower applied the change.
    assert fc.get(root + "/w")[0] == b"1"
    assert fc.get(root + "/new")[0] == b"n"


def _raw_session_with_watches(node, root):
    """A raw session on `node` that owns root/eph and watches root/w (data),
    root/new (exists) and root (children); its connection is then dropped
    without closeSession. Returns (session_id, passwd, last_zxid)."""
    raw = RawClient(node)
    # Long enough to outlive a restart of a JVM on a busy machine.
    resp = raw.connect(timeout_ms=30000)
    assert resp["timeout"] > 0, resp
    assert raw.create(root + "/eph", b"mine", flags=EPHEMERAL).err == ZOK
    assert raw.get_data(root + "/w", watch=True).err == ZOK
    assert raw.exists(root + "/new", watch=True).err != ZOK  # NoNode, watch set
    assert raw.call(OP_GET_CHILDREN, jute_string(root) + jute_bool(True)).err == ZOK
    last = raw.last_zxid
    raw.close()
    return resp["session_id"], resp["passwd"], last


def _resume_with_watches(node, root, sid, passwd, last_zxid):
    """Reattaches the session on `node` as a client library does after losing
    its server: ConnectRequest with the id, password and last zxid seen, then
    SetWatches for what it watched."""
    raw = RawClient(node)
    resp = raw.connect(timeout_ms=30000, session_id=sid, passwd=passwd, last_zxid=last_zxid)
    assert resp["timeout"] > 0 and resp["session_id"] == sid, resp
    raw.set_watches(last_zxid, data=[root + "/w"], exist=[root + "/new"], child=[root])
    return raw


def _check_moved_session(raw, lc, root, sid):
    """The change made while the session was away fires at once; later changes
    fire the other watches; the ephemeral is still the session's."""
    assert raw.read_event(10) == (EVENT_DATA_CHANGED, 3, root + "/w")
    lc.create(root + "/new", b"n")
    got = {raw.read_event(10), raw.read_event(10)}
    assert got == {(EVENT_CREATED, 3, root + "/new"), (EVENT_CHILDREN_CHANGED, 3, root)}, got
    data, stat = lc.get(root + "/eph")
    assert data == b"mine" and stat.ephemeralOwner == sid
    # Writes of the session go on through its new server.
    assert raw.call(OP_SET_DATA, jute_string(root + "/eph") + jute_buffer(b"moved") +
                    jute_int(-1)).err == ZOK
    lc.sync(root)
    assert lc.get(root + "/eph")[0] == b"moved"


def test_session_moves_to_another_node_with_its_ephemerals_and_watches(ens3, pinned, root):
    """A session made on one follower, its client gone without closeSession,
    continues on the other follower with the same id and password: its
    ephemeral stays, SetWatches brings its watches along (firing at once for
    a change made meanwhile); a wrong password gets no session. kazoo with a
    single host (a relay whose target moves between followers) keeps its
    session and ephemeral the same way."""
    leader, (f1, f2) = _leader_and_followers(ens3)
    lc = pinned(leader)
    lc.create(root + "/w", b"0", makepath=True)
    sid, passwd, last = _raw_session_with_watches(f1, root)
    lc.set(root + "/w", b"1")  # while the client is away
    bad = RawClient(f2)
    wrong = bytes(b ^ 0xFF for b in passwd)
    # ZooKeeper answers a wrong password like an expired session: timeout 0.
    assert bad.connect(timeout_ms=10000, session_id=sid, passwd=wrong)["timeout"] == 0
    bad.close()
    raw = _resume_with_watches(f2, root, sid, passwd, last)
    try:
        _check_moved_session(raw, lc, root, sid)
    finally:
        raw.close()
    # kazoo through a relay that moves from f1 to f2.
    states = Events()
    with TcpProxy(f1) as proxy:
        c = pinned(proxy, connection_retry=FAILOVER_RETRY)
        c.add_listener(states)
        ksid = c.client_id[0]
        c.create(root + "/keph", b"k", ephemeral=True)
        proxy.cut()
        assert states.wait_for(lambda s: KazooState.SUSPENDED in s, 10)
        proxy.target = (f2.host, f2.port)
        proxy.resume()
        assert states.wait_for(lambda s: s[-1] == KazooState.CONNECTED, 30), states.items
        assert KazooState.LOST not in states.items
        assert c.client_id[0] == ksid
        assert lc.get(root + "/keph")[1].ephemeralOwner == ksid
        c.set(root + "/keph", b"moved")
        c.stop()


def test_client_with_all_hosts_survives_its_node_killed(ens3, kazoo_factory, pinned, root):
    """Clients of the leader when it is SIGKILLed: kazoo with all hosts
    reconnects elsewhere with the same session, and a session resumed on a
    follower keeps its ephemeral and (with SetWatches) its watches across the
    leader change."""
    leader, followers = _leader_and_followers(ens3)
    pinned(leader).create(root + "/w", b"0", makepath=True)
    sid, passwd, last = _raw_session_with_watches(leader, root)
    states = Events()
    c = kazoo_factory(ens3.connect_string([leader] + followers), randomize_hosts=False,
                      connection_retry=FAILOVER_RETRY)
    c.add_listener(states)
    ksid = c.client_id[0]
    c.create(root + "/keph", b"k", ephemeral=True)
    leader.kill9()
    assert states.wait_for(lambda s: KazooState.SUSPENDED in s, 10)
    assert states.wait_settled(KazooState.CONNECTED, 60), states.items
    assert KazooState.LOST not in states.items, states.items
    assert c.client_id[0] == ksid
    c.create(root + "/after", b"a")  # writes go on through the new server
    lc = pinned(ens3.wait_leader(30))
    assert lc.get(root + "/keph")[1].ephemeralOwner == ksid
    lc.set(root + "/w", b"1")
    raw = _resume_with_watches(followers[1], root, sid, passwd, last)
    try:
        _check_moved_session(raw, lc, root, sid)
    finally:
        raw.close()
    # The old leader comes back as a follower with everything.
    leader.start()
    assert leader.mode() == "follower"
    assert tree_of(pinned(leader), root) == {
        root: b"", root + "/w": b"1", root + "/eph": b"moved", root + "/new": b"n",
        root + "/keph": b"k", root + "/after": b"a"}


def test_sessions_expire_ensemble_wide(ens3, pinned, root):
    """A session on a follower lives past its timeout while its client pings
    (the follower tells the leader), and expires after its timeout once the
    client is gone: its ephemeral disappears on every node."""
    leader, (f1, f2) = _leader_and_followers(ens3)
    lc = pinned(leader)
    lc.create(root)
    # Kept alive by pings through a follower for three timeouts.
    states = Events()
    alive = pinned(f1, timeout=2.0)
    alive.add_listener(states)
    alive.create(root + "/alive", b"", ephemeral=True)
    time.sleep(6.0)  # three session timeouts: what is measured is that nothing happens
    assert states.items == [], states.items
    assert alive.client_id is not None and alive.connected
    lc.sync(root)
    assert lc.exists(root + "/alive") is not None
    # Gone without closeSession: expires after its 2 s timeout.
    raw = RawClient(f2)
    resp = raw.connect(timeout_ms=2000)
    assert resp["timeout"] == 2000, resp
    assert raw.create(root + "/gone", b"", flags=EPHEMERAL).err == ZOK
    raw.close()
    t0 = time.monotonic()
    clients = [lc, pinned(f1), pinned(f2)]
    for c in clients:
        c.sync(root)
        assert c.exists(root + "/gone") is not None  # not ended by the disconnect
    for c in clients:
        assert wait_until(lambda: c.exists(root + "/gone") is None, 15), \
            "ephemeral of an expired session still there"
    elapsed = time.monotonic() - t0
    assert elapsed >= 1.0, elapsed  # not before (most of) its timeout
    # The session is gone for good, on any node.
    again = RawClient(leader)
    assert again.connect(timeout_ms=2000, session_id=resp["session_id"],
                         passwd=resp["passwd"])["timeout"] == 0
    again.close()
    assert lc.exists(root + "/alive") is not None


# ---------------------------------------------------------------------------------
# 3 participants + 1 observer
# ---------------------------------------------------------------------------------

def test_observer_serves_reads_forwards_writes_and_does_not_vote(ens_obs, pinned, root):
    modes = ens_obs.modes()
    obs = ens_obs.observers()[0]
    assert modes[obs.id] == "observer", modes
    assert sorted(m for i, m in modes.items() if i != obs.id) == [
        "follower", "follower", "leader"], modes
    leader, followers = _leader_and_followers(ens_obs)
    mntr = dict(line.split("\t", 1) for line in leader.four_letter_word("mntr").splitlines()
                if "\t" in line)
    assert mntr.get("zk_synced_followers") == "2", mntr
    assert mntr.get("zk_synced_observers") == "1", mntr
    oc = pinned(obs, connection_retry=FAILOVER_RETRY)
    lc = pinned(leader)
    # A write through the observer is forwarded, committed and visible everywhere.
    oc.create(root + "/from-observer", b"o", makepath=True)
    for n in ens_obs.participants():
        c = pinned(n)
        c.sync(root)
        assert c.get(root + "/from-observer")[0] == b"o"
    # Reads on the observer, and its watches fire for the leader's writes.
    events = Events()
    oc.get(root + "/from-observer", watch=events)
    lc.set(root + "/from-observer", b"changed")
    lc.create(root + "/from-leader", b"l")
    assert events.wait_for(lambda items: len(items) >= 1, 10), events.items
    assert events.items[0].type == EventType.CHANGED
    assert oc.get(root + "/from-observer")[0] == b"changed"
    oc.sync(root)
    assert oc.get(root + "/from-leader")[0] == b"l"
    # The observer does not count toward the quorum: with both followers down,
    # the leader and the observer make two of four, and writes stop.
    for f in followers:
        f.kill9()
    _wait_refused(oc, root + "/no-quorum")
    assert wait_until(lambda: leader.mode() is None, 20), leader.srvr()
    for f in followers:
        f.start(wait=False)
    ens_obs.wait_serving(90)
    assert wait_until(lambda: oc.connected, 30)
    oc.create(root + "/back", b"")
    lc2 = pinned(ens_obs.wait_leader(30))
    lc2.sync(root)
    assert lc2.exists(root + "/back") is not None


# ---------------------------------------------------------------------------------
# 5 nodes
# ---------------------------------------------------------------------------------

def test_five_nodes_write_with_two_down_and_refuse_with_three_down(ens5, pinned,
                                                                   kazoo_factory, root):
    leader, followers = _leader_and_followers(ens5)
    c = kazoo_factory(ens5.connect_string(), connection_retry=FAILOVER_RETRY)
    c.create(root + "/before", b"b", makepath=True)
    # The leader and one follower down: three of five elect a new leader.
    leader.kill9()
    followers[0].kill9()
    survivors = followers[1:]
    new_leader = ens5.wait_leader(60)
    assert new_leader in survivors
    ens5.wait_serving(60)
    assert wait_until(lambda: c.connected, 30)
    c.create(root + "/with-two-down", b"2")
    for n in survivors:
        assert tree_of(pinned(n), root) == {root: b"", root + "/before": b"b",
                                            root + "/with-two-down": b"2"}
    # A third down: two of five cannot write.
    victim = [n for n in survivors if n is not new_leader][0]
    left = [n for n in survivors if n is not victim]
    lc = pinned(left[0], connection_retry=FAILOVER_RETRY)
    victim.kill9()
    _wait_refused(lc, root + "/with-three-down")
    assert wait_until(lambda: all(n.mode() is None for n in left), 20), ens5.modes()
    # A fresh client gets no session from either of the two.
    for n in left:
        raw = None
        try:
            raw = RawClient(n, timeout=2.0)
            resp = raw.connect(timeout_ms=4000)
            refused = resp["timeout"] <= 0
        except (OSError, AssertionError, TimeoutError):
            refused = True
        finally:
            if raw is not None:
                raw.close()
        assert refused, "node %d gave a session without a quorum" % n.id
