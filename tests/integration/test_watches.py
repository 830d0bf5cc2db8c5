"""Watches of ZooKeeper 3.8, differentially: the same scenario against zkd and
Apache ZooKeeper, comparing every reply code and the exact sequence of watch
events each session receives.

Scenarios speak the protocol by hand (kazoo 2.8 has neither addWatch nor
setWatches), so addWatch (106), removeWatches (18), checkWatches (17) and
setWatches2 (105) are exercised byte for byte. Events are collected without
sleeping: a session's pending notifications are all in before the reply to a
request it sends after the change's own reply (both servers send a change's
events before its reply, and a session's replies in order).

Also here: kazoo's TreeCache (one-shot watches all over a subtree) against
zkd, and the watch counts of wchs / wchc / wchp / mntr.

Run with ZKD_BIN=zookeeper to check the scenarios against ZooKeeper on both
sides.
"""

import hashlib
import base64
import re
import threading

import pytest

from harness import ZkdServer, ZooKeeperServer, wait_until, zkd_is_reference
from rawclient import (OP_CLOSE_SESSION, OP_CREATE, OP_EXISTS, OP_GET_CHILDREN, OP_GET_DATA,
                       OPEN_ACL, XID_NOTIFICATION, XID_SET_WATCHES, RawClient, create_body,
                       jute_bool, jute_buffer, jute_int, jute_long, jute_string, jute_strings)
from tcpproxy import TcpProxy

OP_DELETE = 2
OP_SET_DATA = 5
OP_SET_ACL = 7
OP_CHECK_WATCHES = 17
OP_REMOVE_WATCHES = 18
OP_AUTH = 100
OP_SET_WATCHES = 101
OP_SET_WATCHES2 = 105
OP_ADD_WATCH = 106
XID_AUTH = -4

PERSISTENT, PERSISTENT_RECURSIVE = 0, 1
CHILDREN, DATA, ANY = 1, 2, 3

ZOK, ZMARSHALLINGERROR, ZNONODE, ZNOWATCHER = 0, -5, -101, -121

EVENT_NAMES = {1: "Created", 2: "Deleted", 3: "DataChanged", 4: "ChildrenChanged"}


@pytest.fixture(scope="module")
def reference():
    # A longer tick than the suite's default: the raw clients here do not
    # ping, and a session must outlive a slow JVM's pause (max timeout is 20
    # ticks).
    srv = ZooKeeperServer(tick_ms=1000)
    yield srv
    srv.close()


@pytest.fixture
def pair(server_factory, reference):
    reference.wipe()
    return server_factory(ZkdServer, tick_ms=1000), reference


class Session:
    """A raw client that records what a scenario compares: reply codes (with
    the body where it is fixed, as for addWatch) and watch events, in order."""

    def __init__(self, name, target, log):
        self.name = name
        self.log = log
        self.c = RawClient(target)
        self.c.connect(timeout_ms=30000)

    # -- recording ---------------------------------------------------------------
    def _call(self, what, op, body, keep_body=False):
        rep = self.c.call(op, body)
        self._take_events()
        entry = (self.name, what, rep.err)
        if keep_body:
            entry += (rep.body,)
        self.log.append(entry)
        return rep

    def _take_events(self):
        for typ, state, path in self.c.events:
            self.log.append((self.name, "event", EVENT_NAMES.get(typ, typ), state, path))
        self.c.events.clear()

    def events(self):
        """Records every event sent to this session so far: a round trip puts
        them all in front of its reply."""
        self.c.call(OP_EXISTS, jute_string("/") + jute_bool(False))
        self._take_events()

    # -- requests ----------------------------------------------------------------
    def add_watch(self, path, mode):
        return self._call("addWatch %r %d" % (path, mode), OP_ADD_WATCH,
                          jute_string(path) + jute_int(mode), keep_body=True)

    def add_watch_null(self, mode):
        return self._call("addWatch null %d" % mode, OP_ADD_WATCH,
                          jute_int(-1) + jute_int(mode), keep_body=True)

    def remove_watches(self, path, typ):
        return self._call("removeWatches %r %d" % (path, typ), OP_REMOVE_WATCHES,
                          jute_string(path) + jute_int(typ))

    def check_watches(self, path, typ):
        return self._call("checkWatches %r %d" % (path, typ), OP_CHECK_WATCHES,
                          jute_string(path) + jute_int(typ))

    def check_watches_null(self, typ):
        return self._call("checkWatches null %d" % typ, OP_CHECK_WATCHES,
                          jute_int(-1) + jute_int(typ))

    def create(self, path, data=b"", flags=0, acl=OPEN_ACL):
        return self._call("create %s" % path, OP_CREATE, create_body(path, data, flags, acl))

    def set(self, path, data=b"x"):
        return self._call("set %s" % path, OP_SET_DATA,
                          jute_string(path) + jute_buffer(data) + jute_int(-1))

    def delete(self, path):
        return self._call("delete %s" % path, OP_DELETE, jute_string(path) + jute_int(-1))

    def exists(self, path, watch=True):
        return self._call("exists %s" % path, OP_EXISTS, jute_string(path) + jute_bool(watch))

    def get(self, path, watch=True):
        return self._call("get %s" % path, OP_GET_DATA, jute_string(path) + jute_bool(watch))

    def children(self, path, watch=True):
        return self._call("children %s" % path, OP_GET_CHILDREN,
                          jute_string(path) + jute_bool(watch))

    def set_acl(self, path, acl):
        body = jute_string(path) + jute_int(len(acl))
        for perms, scheme, ident in acl:
            body += jute_int(perms) + jute_string(scheme) + jute_string(ident)
        return self._call("setACL %s" % path, OP_SET_ACL, body + jute_int(-1))

    def add_auth(self, user, password):
        self.c.send(OP_AUTH, jute_int(0) + jute_string("digest") +
                    jute_buffer(("%s:%s" % (user, password)).encode()), xid=XID_AUTH)
        rep = self.c.read_reply()
        self.log.append((self.name, "auth", rep.err))

    def close(self):
        if self.c.sock is not None:
            self.c.call(OP_CLOSE_SESSION)
            self.c.close()


class Run:
    """One scenario's sessions and log on one server."""

    def __init__(self, target):
        self.target = target
        self.log = []
        self.sessions = []

    def session(self, name, target=None):
        s = Session(name, target or self.target, self.log)
        self.sessions.append(s)
        return s

    def note(self, *entry):
        self.log.append(entry)

    def close(self):
        for s in self.sessions:
            try:
                s.close()
            except Exception:
                pass


def run_on(server, scenario):
    r = Run(server)
    try:
        scenario(r, server)
    finally:
        r.close()
    return r.log


def differential(pair, scenario):
    zkd, zookeeper = pair
    ref = run_on(zookeeper, scenario)
    got = run_on(zkd, scenario)
    if ref != got:
        lines = []
        for i in range(max(len(ref), len(got))):
            a = ref[i] if i < len(ref) else "-"
            b = got[i] if i < len(got) else "-"
            lines.append("%s %-70r %r" % ("  " if a == b else "!!", a, b))
        pytest.fail("zkd differs from ZooKeeper (left ZooKeeper, right zkd):\n" +
                    "\n".join(lines))
    return ref


# -- persistent watches --------------------------------------------------------------

def test_persistent_watch_across_changes(pair):
    def scenario(r, srv):
        a, b = r.session("A"), r.session("B")
        a.add_watch("/p", PERSISTENT)        # on a node that does not exist yet
        b.create("/p")
        a.events()
        b.set("/p")
        b.set("/p")
        a.events()
        b.create("/p/c")
        b.set("/p/c")                        # a child's data: not /p's business
        b.create("/p/c/g")                   # a grandchild: neither
        b.delete("/p/c/g")
        b.delete("/p/c")
        a.events()
        b.delete("/p")
        a.events()
        b.create("/p")                       # the watch outlives the node
        b.set("/p")
        a.events()
        a.check_watches("/p", ANY)
        a.check_watches("/p", DATA)
        a.check_watches("/p", CHILDREN)

    log = differential(pair, scenario)
    # The reference itself: nothing removed the watch.
    assert sum(1 for e in log if e[:2] == ("A", "event")) == 8


def test_recursive_watch_over_a_subtree(pair):
    def scenario(r, srv):
        a, b = r.session("A"), r.session("B")
        b.create("/t")
        a.add_watch("/t", PERSISTENT_RECURSIVE)
        for p in ["/t/a", "/t/a/b", "/t/a/b/c", "/t/x"]:
            b.create(p)
        b.set("/t/a/b/c")
        b.set("/t/a")
        b.set("/t")
        a.events()
        b.create("/tx")                      # a sibling sharing the prefix
        b.set("/tx")
        b.delete("/tx")
        a.events()
        b.delete("/t/a/b/c")
        b.delete("/t/a/b")
        b.delete("/t/a")
        a.events()
        # Several sessions, one of them recursive on / too.
        c = r.session("C")
        c.add_watch("/", PERSISTENT_RECURSIVE)
        b.create("/t/y")
        b.set("/t/y")
        b.create("/u")
        b.delete("/u")
        a.events()
        c.events()
        a.check_watches("/t/y", ANY)         # ancestors' recursive watches do not count
        a.check_watches("/t", CHILDREN)
        # Ephemerals going with their session fire too.
        e = r.session("E")
        e.create("/t/eph", flags=1)
        e.close()
        a.events()
        c.events()

    differential(pair, scenario)


def test_one_shot_and_persistent_on_the_same_path(pair):
    """ZooKeeper 3.8 keeps one mode per session, path and watch table: the
    last registration wins."""
    def scenario(r, srv):
        a, b = r.session("A"), r.session("B")
        b.create("/p")
        a.add_watch("/p", PERSISTENT)
        a.get("/p")                          # the data half becomes one-shot
        b.set("/p")
        b.set("/p")
        b.create("/p/c")
        a.events()
        a.check_watches("/p", DATA)
        a.check_watches("/p", CHILDREN)
        b.create("/r")
        a.get("/r")
        a.add_watch("/r", PERSISTENT)        # now persistent again
        b.set("/r")
        b.set("/r")
        a.events()
        b.create("/t")
        a.add_watch("/t", PERSISTENT_RECURSIVE)
        a.children("/t")                     # the child half becomes one-shot
        b.create("/t/z")
        b.create("/t/z2")
        b.set("/t/z")
        a.events()
        a.exists("/t/z/q")                   # a one-shot under a recursive watch
        b.create("/t/z/q")                   # one event, not two
        b.set("/t/z/q")
        a.events()
        a.add_watch("/t", PERSISTENT)        # recursive -> persistent
        b.create("/t/k")
        b.set("/t/k")
        a.events()

    differential(pair, scenario)


# -- removeWatches / checkWatches --------------------------------------------------

def test_remove_watches_of_each_type(pair):
    def scenario(r, srv):
        a, b = r.session("A"), r.session("B")
        b.create("/r")
        a.remove_watches("/r", ANY)          # nothing there: ZNOWATCHER
        a.add_watch("/r", PERSISTENT)
        b.remove_watches("/r", ANY)          # another session's: ZNOWATCHER
        a.remove_watches("/r", DATA)
        a.remove_watches("/r", DATA)
        b.set("/r")                          # the child half is left
        b.create("/r/x")
        b.delete("/r/x")
        a.events()
        b.delete("/r")                       # ... and it hears NodeDeleted
        a.events()
        a.remove_watches("/r", CHILDREN)
        a.remove_watches("/r", CHILDREN)
        b.create("/r")
        a.add_watch("/r", PERSISTENT_RECURSIVE)
        a.remove_watches("/r", ANY)
        a.remove_watches("/r", ANY)
        b.create("/r/y")
        a.events()
        # One-shots: exists on a missing node is a data watch.
        a.exists("/m")
        a.remove_watches("/m", CHILDREN)
        a.remove_watches("/m", ANY)
        a.get("/r")
        a.children("/r")
        a.remove_watches("/r", CHILDREN)
        b.create("/r/z")
        a.events()
        a.remove_watches("/r", DATA)
        b.set("/r")
        a.events()
        # A fired one-shot is gone.
        a.get("/r")
        b.set("/r")
        a.events()
        a.remove_watches("/r", DATA)
        # A watcher type ZooKeeper does not know.
        a.remove_watches("/r", 0)
        a.remove_watches("/r", 4)

    differential(pair, scenario)


def test_check_watches(pair):
    def scenario(r, srv):
        a, b = r.session("A"), r.session("B")
        b.create("/p")
        a.check_watches("/p", ANY)
        a.get("/p")
        a.check_watches("/p", DATA)
        a.check_watches("/p", CHILDREN)
        # ZooKeeper 3.8 answers for the path, not for the caller.
        b.check_watches("/p", DATA)
        b.check_watches("/p", ANY)
        b.check_watches("/p", CHILDREN)
        a.check_watches("/p", 0)
        a.check_watches("/p", 7)
        # Paths its watch tables walk with PathParentIterator.
        a.check_watches("", ANY)
        a.check_watches("abc", ANY)
        a.check_watches("abc/x", ANY)
        a.add_watch("abc/x", PERSISTENT)     # addWatch checks no path
        a.add_watch("", PERSISTENT)
        a.check_watches("abc/x", ANY)
        a.check_watches("", ANY)
        a.add_watch("/x/y", PERSISTENT_RECURSIVE)  # the walk goes up from now on
        a.check_watches("abc/x", ANY)
        a.check_watches("abc/q", ANY)
        a.check_watches("abc/q", CHILDREN)
        a.check_watches("/q/", ANY)
        a.remove_watches("/x/y", CHILDREN)
        a.check_watches("abc/q", CHILDREN)
        a.check_watches("abc/q", DATA)
        a.remove_watches("abc/x", ANY)
        a.remove_watches("", ANY)
        a.remove_watches("abc", ANY)
        a.check_watches_null(ANY)

    differential(pair, scenario)


def test_add_watch_bad_input(pair):
    def scenario(r, srv):
        a, b = r.session("A"), r.session("B")
        a.add_watch("/p", 2)
        a.add_watch("/p", -1)
        a.add_watch("abc", PERSISTENT)
        a.add_watch("/q/", PERSISTENT_RECURSIVE)
        b.create("/q")
        b.create("/q/w")                     # "/q/" is not "/q": nothing fires
        a.events()
        a.check_watches("/p", ANY)
        a.remove_watches("abc", DATA)
        a.remove_watches("/q/", ANY)

    differential(pair, scenario)


def test_add_watch_null_path_is_refused(zkd):
    """A null path (length -1) is refused with ZMARSHALLINGERROR, as
    checkWatches refuses it. ZooKeeper's answer depends on hash codes: its
    WatcherModeManager compares the null path with a colliding key and throws
    only when the connection already holds a persistent watch on a path whose
    String.hashCode() is 0 ("" for one), else it registers a watch on "null"
    that may never be cleaned up. No client sends it (they validate paths)."""
    if zkd_is_reference():
        pytest.skip("zkd's own answer; ZooKeeper's depends on hash codes")
    log = []
    a = Session("A", zkd, log)
    try:
        a.add_watch_null(PERSISTENT)
        a.check_watches_null(ANY)
        a.remove_watches("", ANY)
        assert log == [("A", "addWatch null 0", ZMARSHALLINGERROR, b""),
                       ("A", "checkWatches null 3", ZMARSHALLINGERROR),
                       ("A", "removeWatches '' 3", ZNOWATCHER)]
        assert zkd.four_letter_word("wchs") == "0 connections watching 0 paths\nTotal watches:0\n"
    finally:
        a.close()


# -- setWatches / setWatches2 after a reconnect ------------------------------------

def _set_watches2_body(rel, data=(), exist=(), child=(), persistent=(), recursive=()):
    return (jute_long(rel) + jute_strings(list(data)) + jute_strings(list(exist)) +
            jute_strings(list(child)) + jute_strings(list(persistent)) +
            jute_strings(list(recursive)))


def test_reconnect_with_set_watches2(pair):
    """The connection is cut (TcpProxy); meanwhile nodes change; the client
    comes back on the same session and re-sends its watches with setWatches2,
    as the Java client does. What fires at once, what the reply carries and
    what fires afterwards must match."""
    def scenario(r, srv):
        b = r.session("B")
        for p in ["/t", "/same", "/gone", "/t/old"]:
            b.create(p)
        with TcpProxy(srv) as proxy:
            a = r.session("A", proxy.hostport)
            a.add_watch("/t", PERSISTENT_RECURSIVE)
            a.add_watch("/pp", PERSISTENT)
            a.get("/same")
            a.get("/t")
            a.exists("/s1")
            a.exists("/s2")
            a.children("/")
            a.children("/same")
            a.children("/gone")
            a.get("/gone")
            sid, passwd, last = a.c.session_id, a.c.passwd, a.c.last_zxid
            proxy.cut()
            # The server notices the closed connection; its watches go.
            b.set("/t")
            b.create("/s1")
            b.create("/t/n")
            b.delete("/gone")
            b.create("/pp")
            proxy.resume()
            a2 = RawClient(proxy.hostport)
            resp = a2.connect(timeout_ms=30000, session_id=sid, passwd=passwd, last_zxid=last)
            r.note("A", "reconnected", resp["timeout"] > 0, resp["session_id"] == sid)
            _send_and_collect(r, "A", a2, OP_SET_WATCHES2, _set_watches2_body(
                last, data=["/same", "/t", "/gone"], exist=["/s1", "/s2"],
                child=["/", "/same", "/gone"], persistent=["/pp"], recursive=["/t"]),
                XID_SET_WATCHES)
            a.c = a2
            b.create("/t/n2")
            b.set("/pp")
            b.set("/same")
            b.create("/s2")
            b.create("/same/c")
            a.events()
            b.create("/t/n3")
            b.set("/same")
            a.events()

    differential(pair, scenario)


def _send_and_collect(r, name, c, op, body, xid):
    """Sends one request and notes the events that come first, then the
    reply's xid and error."""
    c.send(op, body, xid=xid)
    while True:
        rep = c.read_reply()
        assert rep is not None, "connection closed"
        if rep.xid == XID_NOTIFICATION:
            typ, state, path = rep.event()
            r.note(name, "event", EVENT_NAMES.get(typ, typ), state, path)
            continue
        r.note(name, "reply", rep.xid, rep.err, rep.body)
        return rep


def test_set_watches_reply_echoes_the_xid(pair):
    def scenario(r, srv):
        a = r.session("A")
        body = (jute_long(0) + jute_strings([]) + jute_strings(["/missing"]) +
                jute_strings(["/missing"]))
        for op, extra in ((OP_SET_WATCHES, b""),
                          (OP_SET_WATCHES2, jute_strings(["/p"]) + jute_strings([]))):
            _send_and_collect(r, "A", a.c, op, body + extra, 77)
            _send_and_collect(r, "A", a.c, op, body + extra, XID_SET_WATCHES)

    differential(pair, scenario)


# -- counts ------------------------------------------------------------------------

def _watch_figures(srv, names):
    """wchs, the wchc/wchp dumps as sets with session ids replaced by names
    (ZooKeeper prints hash-map order), and mntr's zk_watch_count."""
    def named(text):
        for sid, name in names.items():
            text = text.replace("0x%x" % sid, name)
        return text

    def groups(text):
        out, key = {}, None
        for line in named(text).splitlines():
            if not line:
                continue
            if line.startswith("\t"):
                out[key].add(line[1:])
            else:
                key = line
                out[key] = set()
        return out

    mntr = srv.four_letter_word("mntr")
    count = re.search(r"^zk_watch_count\t(\d+)$", mntr, re.M).group(1)
    return (srv.four_letter_word("wchs"), groups(srv.four_letter_word("wchc")),
            groups(srv.four_letter_word("wchp")), count)


def test_watch_counts_with_persistent_watches(pair):
    def scenario(r, srv):
        a, b = r.session("A"), r.session("B")
        names = {a.c.session_id: "A", b.c.session_id: "B"}
        b.create("/x")
        b.create("/x/y")
        a.add_watch("/x/y", PERSISTENT)
        a.add_watch("/x/y/z", PERSISTENT_RECURSIVE)
        a.add_watch("abc/x", PERSISTENT)
        b.get("/x")
        b.children("/x")
        b.exists("/none")
        r.note("figures 1", _watch_figures(srv, names))
        a.remove_watches("/x/y", DATA)
        b.set("/x")                          # B's one-shot data watch fires
        b.events()
        r.note("figures 2", _watch_figures(srv, names))
        # A session whose data watches all went is still listed, with no
        # paths, until its connection closes.
        a.remove_watches("/x/y/z", DATA)
        a.remove_watches("abc/x", DATA)
        r.note("figures 3", _watch_figures(srv, names))
        a.close()
        assert wait_until(lambda: "A" not in _watch_figures(srv, names)[1], 10)
        r.note("figures 4", _watch_figures(srv, names))

    differential(pair, scenario)


# -- event delivery and ACLs -------------------------------------------------------

def _digest(user, password):
    return "%s:%s" % (user, base64.b64encode(
        hashlib.sha1(("%s:%s" % (user, password)).encode()).digest()).decode())


def test_events_are_filtered_by_read_permission(pair):
    """Debian's ZooKeeper 3.8.0 carries the CVE-2024-23944 fix: an event is
    delivered only if the watcher may READ the node it is about (the parent
    for NodeChildrenChanged), for every kind of watch; a one-shot is used up
    all the same."""
    secret = [(31, "digest", _digest("u", "p"))]

    def scenario(r, srv):
        a, b = r.session("A"), r.session("B")
        b.add_auth("u", "p")
        a.add_watch("/", PERSISTENT_RECURSIVE)
        a.exists("/sec")
        b.create("/sec", acl=secret)
        b.create("/sec/open")
        b.set("/sec/open")
        b.set("/sec")
        a.events()
        a.add_watch("/sec", PERSISTENT)
        b.create("/sec/d")
        a.get("/sec/open")
        b.set_acl("/sec/open", secret)
        b.set("/sec/open")
        a.events()
        a.check_watches("/sec/open", DATA)
        for p in ["/sec/open", "/sec/d", "/sec"]:
            b.delete(p)
        a.events()

    differential(pair, scenario)


# -- the Java client --------------------------------------------------------------

ZKCLI_SCRIPT = """create /w
addWatch -m PERSISTENT_RECURSIVE /w
create /w/a x
set /w/a y
create /w/a/b
delete /w/a/b
addWatch /w/a
set /w/a z
create /w/a/c
removewatches /w/a -d
set /w/a q
removewatches /w -a
removewatches /w -a
create /w/d
addWatch -m PERSISTENT /w
removewatches /w -c
create /w/e
set /w e
quit
"""


def test_zkcli_add_watch_and_remove_watches(pair):
    """zkCli.sh's addWatch and removewatches: the Java client's own checks,
    its PersistentWatchRemoved and the server's events, line for line."""
    from test_zkcli import normalize, run_zkcli

    zkd, zookeeper = pair
    ref = normalize(run_zkcli(zookeeper, ZKCLI_SCRIPT), zookeeper.hostport)
    got = normalize(run_zkcli(zkd, ZKCLI_SCRIPT), zkd.hostport)
    assert got == ref
    assert "WatchedEvent state:SyncConnected type:NodeCreated path:/w/a/b" in ref[1]


# -- kazoo's TreeCache ---------------------------------------------------------------

def _tree_cache_run(srv, kazoo_factory):
    """Builds a TreeCache over /tc, changes the subtree, and returns the
    cache's final picture and the (event type, path) pairs it reported."""
    from kazoo.recipe.cache import TreeCache, TreeEvent

    client = kazoo_factory(srv)
    client.ensure_path("/tc/a")
    client.create("/tc/a/x", b"1")
    seen = []
    lock = threading.Lock()

    def listener(event):
        with lock:
            path = event.event_data.path if event.event_data is not None else None
            seen.append((event.event_type, path))

    cache = TreeCache(client, "/tc")
    cache.listen(listener)
    cache.start()
    try:
        assert wait_until(lambda: any(t == TreeEvent.INITIALIZED for t, _ in list(seen)), 10)
        client.set("/tc/a/x", b"2")
        client.create("/tc/b", b"b")
        client.create("/tc/b/deep", b"d")
        client.create("/tc/b/deep/er", b"e")
        client.delete("/tc/a/x")
        client.set("/tc", b"root")

        def settled():
            d = cache.get_data("/tc/b/deep/er")
            x = cache.get_data("/tc/a/x")
            root = cache.get_data("/tc")
            return (d is not None and x is None and root is not None and
                    root.data == b"root")

        assert wait_until(settled, 10), seen
        picture = {}
        stack = ["/tc"]
        while stack:
            p = stack.pop()
            node = cache.get_data(p)
            picture[p] = node.data if node is not None else None
            for child in cache.get_children(p) or ():
                stack.append(p + "/" + child)
        with lock:
            events = sorted(set((t, p) for t, p in seen if t != TreeEvent.INITIALIZED))
        return picture, events
    finally:
        cache.close()


def test_kazoo_tree_cache(pair, kazoo_factory):
    zkd, zookeeper = pair
    ref = _tree_cache_run(zookeeper, kazoo_factory)
    got = _tree_cache_run(zkd, kazoo_factory)
    assert got[0] == ref[0]
    assert got[0]["/tc/b/deep/er"] == b"e"
    assert "/tc/a/x" not in got[0]
    assert got[1] == ref[1]
    from kazoo.recipe.cache import TreeEvent
    assert (TreeEvent.NODE_ADDED, "/tc/b/deep/er") in got[1]
    assert (TreeEvent.NODE_UPDATED, "/tc/a/x") in got[1]
    assert (TreeEvent.NODE_REMOVED, "/tc/a/x") in got[1]
