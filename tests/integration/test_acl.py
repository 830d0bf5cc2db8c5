"""ACLs and authentication, differentially: each scenario runs against Apache
ZooKeeper 3.8 and against zkd (both with the same super digest) over raw jute
connections, and the two transcripts of error codes and reply bodies must be
equal.

Covered: addauth digest (and ip, and unknown schemes: AUTHFAILED, then the
connection closes while the session lives on), create with world / digest / ip /
auth ACLs, NoAuth on every checked operation, getACL with and without ADMIN,
setACL and its ACL version, InvalidACL cases, the super digest, whoami (including
the order ZooKeeper lists auth ids in), multiRead with failing ops, multi with a
NoAuth op, and auth ids being per connection.

What a transcript keeps: per request its error code and decoded body. Zxids in
Stats and in successful write replies are ranked (Z1, Z2, ...) over the transcript,
ctime/mtime are dropped, session ids become the session's name. The header zxid of
reads and failed writes is left out: ZooKeeper logs a failed write as an error txn
with a zxid of its own, zkd does not log it.

Run with ZKD_BIN=zookeeper to check the scenarios against ZooKeeper on both sides.
"""

import struct

import pytest

from harness import ZkdServer, ZooKeeperServer, require_zkd, zkd_is_reference
from rawclient import (RawClient, Reader, create_body, jute_acl, jute_bool, jute_buffer,
                       jute_int, jute_string)

SUPER_PASSWORD = "super:test"
SUPER_DIGEST = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
BOB_DIGEST = "bob:ikIaKsbtGweaHnb/jKn7OHqbunM="  # bob:pw

READ, WRITE, CREATE, DELETE, ADMIN, ALL = 1, 2, 4, 8, 16, 31
OPEN = [(ALL, "world", "anyone")]

OP_CREATE, OP_DELETE, OP_EXISTS, OP_GET_DATA, OP_SET_DATA = 1, 2, 3, 4, 5
OP_GET_ACL, OP_SET_ACL, OP_GET_CHILDREN, OP_GET_CHILDREN2 = 6, 7, 8, 12
OP_CHECK, OP_MULTI, OP_CREATE2, OP_MULTI_READ = 13, 14, 15, 22
OP_AUTH, OP_GET_ALL_CHILDREN_NUMBER, OP_WHOAMI = 100, 104, 107
XID_AUTH = -4
ZAUTHFAILED = -115


# -- servers -----------------------------------------------------------------------

def _reference():
    return ZooKeeperServer(extra_cfg={"DigestAuthenticationProvider.superDigest": SUPER_DIGEST})


@pytest.fixture(scope="module")
def zookeeper():
    srv = _reference()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def zkd():
    require_zkd()
    srv = _reference() if zkd_is_reference() else ZkdServer(config={"super_digest": SUPER_DIGEST})
    yield srv
    srv.close()


# -- a raw client with every op the scenarios use -------------------------------------

class Z:
    """A zxid, ranked when the transcript is rendered."""
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v


def read_stat(r):
    st = r.stat()
    return ("Stat(czxid=", Z(st["czxid"]), " mzxid=", Z(st["mzxid"]), " pzxid=",
            Z(st["pzxid"]), " v=%d cv=%d av=%d owner=" % (st["version"], st["cversion"],
                                                        st["aversion"]),
            ("owner", st["ephemeralOwner"]),
            " len=%d children=%d)" % (st["dataLength"], st["numChildren"]))


def read_strings(r):
    n = r.int()
    return [] if n < 0 else [r.string() for _ in range(n)]


def read_acl(r):
    n = r.int()
    return [(r.int(), r.string(), r.string()) for _ in range(n)]


def read_multi(r):
    """A MultiResponse as a list of (type, err, body) tuples."""
    out = []
    while True:
        typ, done, err = r.int(), r.data[r.pos] != 0, None
        r.pos += 1
        err = r.int()
        if done:
            return out
        if typ == OP_CREATE:
            out.append(("create", r.string()))
        elif typ == OP_CREATE2:
            out.append(("create2", r.string()) + read_stat(r))
        elif typ in (OP_DELETE, OP_CHECK):
            out.append(("delete" if typ == OP_DELETE else "check",))
        elif typ == OP_SET_DATA:
            out.append(("setData",) + read_stat(r))
        elif typ == OP_GET_DATA:
            out.append(("getData", r.buffer()) + read_stat(r))
        elif typ == OP_GET_CHILDREN:
            out.append(("getChildren", sorted(read_strings(r))))
        elif typ == -1:
            out.append(("error", r.int(), "header err %d" % err))
        else:
            out.append(("unknown type %d" % typ,))


def multi_ops(ops):
    """Encodes (op, body bytes) pairs as a MultiOperationRecord."""
    out = b""
    for op, body in ops:
        out += jute_int(op) + jute_bool(False) + jute_int(-1) + body
    return out + jute_int(-1) + jute_bool(True) + jute_int(-1)


class Client(RawClient):
    def auth(self, scheme, cred, xid=XID_AUTH):
        self.send(OP_AUTH, jute_int(0) + jute_string(scheme) +
                  jute_buffer(cred.encode() if isinstance(cred, str) else cred), xid=xid)
        return self.read_reply()


class Transcript:
    def __init__(self, server):
        self.server = server
        self.lines = []
        self.clients = {}
        self.names = {}

    def session(self, name):
        c = Client(self.server)
        c.connect(timeout_ms=10000)
        self.clients[name] = c
        self.names[c.session_id] = name
        return Session(self, name, c)

    def reconnect(self, name):
        """A new connection for the session `name` (the old one is dropped
        without closeSession)."""
        old = self.clients[name]
        sid, pw = old.session_id, old.passwd
        old.close()
        c = Client(self.server)
        resp = c.connect(timeout_ms=10000, session_id=sid, passwd=pw)
        assert resp["session_id"] == sid, resp
        self.clients[name] = c
        self.line("%s: reconnected" % name)
        return Session(self, name, c)

    def line(self, *tokens):
        self.lines.append(tokens)

    def close(self):
        for c in self.clients.values():
            c.close()

    def render(self):
        zxids = sorted({z.v for line in self.lines for z in _zxids(line) if z.v > 0})
        rank = {v: i + 1 for i, v in enumerate(zxids)}

        def value(v):
            if isinstance(v, Z):
                return "Z%d" % rank[v.v] if v.v > 0 else str(v.v)
            if isinstance(v, tuple) and len(v) == 2 and v[0] == "owner":
                return "0" if v[1] == 0 else "sess:" + self.names.get(v[1], "?")
            if isinstance(v, (list, tuple)):
                # Stats are tuples of text pieces and values, rendered as one.
                if any(isinstance(x, str) and x.startswith(("Stat(", " ")) for x in v):
                    return "".join(x if isinstance(x, str) else value(x) for x in v)
                inner = ", ".join(value(x) for x in v)
                return "[%s]" % inner if isinstance(v, list) else "(%s)" % inner
            return repr(v)

        return ["".join(t if isinstance(t, str) else value(t) for t in line)
                for line in self.lines]


def _zxids(v):
    if isinstance(v, Z):
        yield v
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from _zxids(x)


class Session:
    def __init__(self, tr, name, client):
        self.tr, self.name, self.c = tr, name, client

    def _call(self, desc, op, body, parse=None, write=False):
        rep = self.c.call(op, body)
        tokens = ["%s: %s -> err %d" % (self.name, desc, rep.err)]
        if rep.err == 0:
            if write:
                tokens += [" @", Z(rep.zxid)]
            if parse is not None:
                tokens += [" ", parse(Reader(rep.body))]
        self.tr.line(*tokens)
        return rep

    # -- auth ------------------------------------------------------------------
    def auth(self, scheme, cred):
        rep = self.c.auth(scheme, cred)
        assert rep is not None, "no reply to addauth"
        self.tr.line("%s: addauth %s %r -> xid %d zxid %d err %d" % (
            self.name, scheme, cred, rep.xid, rep.zxid, rep.err))
        return rep

    def whoami(self):
        return self._call("whoami", OP_WHOAMI, b"",
                          lambda r: [(r.string(), r.string()) for _ in range(r.int())])

    # -- reads -----------------------------------------------------------------
    def get(self, path):
        return self._call("getData(%r)" % path, OP_GET_DATA, jute_string(path) + jute_bool(False),
                          lambda r: (r.buffer(),) + read_stat(r))

    def exists(self, path):
        return self._call("exists(%r)" % path, OP_EXISTS, jute_string(path) + jute_bool(False),
                          read_stat)

    def children(self, path):
        return self._call("getChildren(%r)" % path, OP_GET_CHILDREN,
                          jute_string(path) + jute_bool(False),
                          lambda r: sorted(read_strings(r)))

    def children2(self, path):
        return self._call("getChildren2(%r)" % path, OP_GET_CHILDREN2,
                          jute_string(path) + jute_bool(False),
                          lambda r: (sorted(read_strings(r)),) + read_stat(r))

    def count(self, path):
        return self._call("getAllChildrenNumber(%r)" % path, OP_GET_ALL_CHILDREN_NUMBER,
                          jute_string(path), lambda r: r.int())

    def get_acl(self, path):
        return self._call("getACL(%r)" % path, OP_GET_ACL, jute_string(path),
                          lambda r: (read_acl(r),) + read_stat(r))

    def multi_read(self, desc, ops):
        return self._call("multiRead(%s)" % desc, OP_MULTI_READ, multi_ops(ops), read_multi)

    # -- writes ----------------------------------------------------------------
    def create(self, path, data=b"", acl=OPEN, flags=0):
        return self._call("create(%r, acl=%r)" % (path, acl), OP_CREATE,
                          create_body(path, data, flags, acl), lambda r: r.string(), write=True)

    def delete(self, path, version=-1):
        return self._call("delete(%r)" % path, OP_DELETE, jute_string(path) + jute_int(version),
                          write=True)

    def set(self, path, data, version=-1):
        return self._call("setData(%r)" % path, OP_SET_DATA,
                          jute_string(path) + jute_buffer(data) + jute_int(version),
                          read_stat, write=True)

    def set_acl(self, path, acl, version=-1):
        return self._call("setACL(%r, %r, v=%d)" % (path, acl, version), OP_SET_ACL,
                          jute_string(path) + jute_acl(acl) + jute_int(version), read_stat,
                          write=True)

    def multi(self, desc, ops):
        rep = self.c.call(OP_MULTI, multi_ops(ops))
        tokens = ["%s: multi(%s) -> err %d " % (self.name, desc, rep.err)]
        if rep.body:
            tokens.append(read_multi(Reader(rep.body)))
        self.tr.line(*tokens)
        return rep


def get_op(path):
    return (OP_GET_DATA, jute_string(path) + jute_bool(False))


def children_op(path):
    return (OP_GET_CHILDREN, jute_string(path) + jute_bool(False))


def create_op(path, acl=OPEN):
    return (OP_CREATE, create_body(path, b"", 0, acl))


def set_op(path, data=b"x", version=-1):
    return (OP_SET_DATA, jute_string(path) + jute_buffer(data) + jute_int(version))


def check_op(path, version):
    return (OP_CHECK, jute_string(path) + jute_int(version))


def run(server, scenario):
    tr = Transcript(server)
    try:
        scenario(tr)
    finally:
        tr.close()
    return tr.render()


def differential(zookeeper, zkd, scenario):
    want = run(zookeeper, scenario)
    got = run(zkd, scenario)
    if want != got:
        import difflib
        diff = "\n".join(difflib.unified_diff(want, got, "zookeeper", "zkd", lineterm=""))
        raise AssertionError("transcripts differ:\n%s\n\nzookeeper:\n%s" % (diff, "\n".join(want)))
    return want


@pytest.fixture
def root(request):
    """A top-level path of the test's own, so the module's servers can be shared."""
    return "/" + request.node.name.replace("[", "_").replace("]", "")


# -- scenarios ---------------------------------------------------------------------

def test_digest_acl_on_every_operation(zookeeper, zkd, root):
    def scenario(tr):
        a = tr.session("A")
        b = tr.session("B")
        a.auth("digest", "bob:pw")
        a.create(root)
        p = root + "/bob"
        a.create(p, b"secret", [(ALL, "digest", BOB_DIGEST)])
        a.create(p + "/c", b"", OPEN)
        for s in (b, a):
            s.get(p)
            s.exists(p)
            s.children(p)
            s.children2(p)
            s.count(p)
            s.get_acl(p)
            s.get(p + "/missing")
            s.set(p, b"changed by " + s.name.encode())
            s.create(p + "/new-" + s.name)
            s.delete(p + "/c")
            s.create(p + "/c")
        b.auth("digest", "bob:wrong")
        b.get(p)
        b.auth("digest", "bob:pw")
        b.get(p)
        b.set_acl(p, OPEN)
        a.get(p)
        b.whoami()

    differential(zookeeper, zkd, scenario)


def test_permissions_one_bit_at_a_time(zookeeper, zkd, root):
    def scenario(tr):
        a = tr.session("A")
        a.create(root)
        for name, perms in (("r", READ), ("w", WRITE), ("c", CREATE), ("d", DELETE),
                            ("a", ADMIN), ("none", 0)):
            p = "%s/%s" % (root, name)
            a.create(p, b"data")
            a.create(p + "/child")
            a.set_acl(p, [(perms, "world", "anyone")])
            a.get(p)
            a.children(p)
            a.set(p, b"new")
            a.create(p + "/x")
            a.delete(p + "/child")
            a.get_acl(p)
            a.set_acl(p, [(perms | READ, "world", "anyone")])
            a.exists(p)

    differential(zookeeper, zkd, scenario)


def test_get_acl_without_admin_hides_digests(zookeeper, zkd, root):
    def scenario(tr):
        a = tr.session("A")
        a.create(root)
        acl = [(READ, "world", "anyone"), (ALL, "digest", BOB_DIGEST),
               (READ, "ip", "127.0.0.1"), (ADMIN, "digest", "x:y")]
        a.create(root + "/r", b"", acl)
        a.get_acl(root + "/r")
        a.auth("digest", "bob:pw")
        a.get_acl(root + "/r")

    differential(zookeeper, zkd, scenario)


def test_set_acl_versions_and_errors(zookeeper, zkd, root):
    def scenario(tr):
        a = tr.session("A")
        b = tr.session("B")
        a.create(root)
        p = root + "/v"
        a.create(p)
        a.set_acl(p, OPEN, 3)                              # BadVersion
        a.set_acl(p, [(READ | ADMIN, "world", "anyone")], 0)
        a.set_acl(p, OPEN, 0)                              # BadVersion: now 1
        a.set_acl(root + "/missing", OPEN)                 # NoNode
        a.set_acl(root + "/missing", [])                   # InvalidACL before NoNode
        a.auth("digest", "bob:pw")
        a.set_acl(p, [(ALL, "digest", BOB_DIGEST)], 1)
        b.set_acl(p, OPEN, 2)                              # NoAuth before the version
        b.set_acl(p, OPEN, 7)
        b.set_acl(p, [(ALL, "auth", "")])                  # InvalidACL: no digest id
        a.set_acl(p, OPEN, 2)
        a.get_acl(p)
        a.exists(p)

    differential(zookeeper, zkd, scenario)


def test_invalid_acls_and_auth_expansion(zookeeper, zkd, root):
    def scenario(tr):
        a = tr.session("A")
        a.create(root)
        bad = [[], [(ALL, "foo", "bar")], [(ALL, "world", "someone")],
               [(ALL, "world", "anyone"), (ALL, "nope", "x")], [(ALL, "ip", "1.2.3")],
               [(ALL, "ip", "1.2.3.4/33")], [(ALL, "ip", "1.2.3.4/x")],
               [(ALL, "ip", "256.1.1.1")], [(ALL, "ip", "::1")], [(ALL, "digest", "nocolon")],
               [(ALL, "digest", "a:b:c")], [(ALL, "digest", "")], [(ALL, "auth", "")],
               [(ALL, "super", "")], [(ALL, "", "")]]
        for i, acl in enumerate(bad):
            a.create("%s/bad%d" % (root, i), b"", acl)
        a.create(root + "/missing/x", b"", [])             # InvalidACL before NoNode
        good = [[(ALL, "ip", "10.0.0.0/8")], [(ALL, "ip", "1.2.3.4/0")],
                [(ALL, "digest", "a:b")], [(ALL, "digest", ":b")],
                [(READ, "world", "anyone"), (READ, "world", "anyone"), (ALL, "ip", "1.1.1.1")],
                [(0, "world", "anyone")]]
        for i, acl in enumerate(good):
            a.create("%s/good%d" % (root, i), b"", acl)
            a.get_acl("%s/good%d" % (root, i))
        # "auth" expands into every digest id of the connection, in the order
        # ZooKeeper keeps them; ip ids do not count.
        a.auth("digest", "u1:p")
        a.auth("digest", "u2:p")
        a.auth("digest", "alice:x")
        a.create(root + "/auth", b"", [(READ | ADMIN, "auth", "ignored"), (WRITE, "auth", "")])
        a.get_acl(root + "/auth")
        a.set_acl(root + "/auth", [(ALL, "auth", ""), (READ, "world", "anyone")])
        a.get_acl(root + "/auth")

    differential(zookeeper, zkd, scenario)


def test_ip_acls(zookeeper, zkd, root):
    def scenario(tr):
        a = tr.session("A")
        a.create(root)
        for i, expr in enumerate(["127.0.0.1", "127.0.0.0/8", "127.1.2.3/8", "10.0.0.0/8",
                                  "127.0.0.2", "127.0.0.0/31", "0.0.0.0/0"]):
            p = "%s/ip%d" % (root, i)
            a.create(p, b"x", [(READ | ADMIN, "ip", expr)])
            a.get(p)
            a.set(p, b"y")
        a.auth("ip", "10.1.1.1")  # adds the connection's own address, again
        a.get(root + "/ip3")
        a.whoami()

    differential(zookeeper, zkd, scenario)


def test_unknown_scheme_fails_and_closes_the_connection(zookeeper, zkd, root):
    def scenario(tr):
        a = tr.session("A")
        a.create(root)
        a.auth("digest", "bob:pw")
        a.create(root + "/e", b"", OPEN, flags=1)         # ephemeral
        for scheme in ["foo", "world", "auth", "super", "sasl", "x509", ""]:
            rep = a.auth(scheme, "anything")
            tr.line("closed: %s" % a.c.wait_closed(10.0))
            # The session lives on: a new connection resumes it, as only ip.
            a = tr.reconnect("A")
            a.whoami()
        a.exists(root + "/e")

    differential(zookeeper, zkd, scenario)


def test_auth_ids_belong_to_the_connection(zookeeper, zkd, root):
    def scenario(tr):
        a = tr.session("A")
        a.create(root)
        a.auth("digest", "bob:pw")
        a.create(root + "/p", b"x", [(ALL, "digest", BOB_DIGEST)])
        a.get(root + "/p")
        a = tr.reconnect("A")
        a.whoami()
        a.get(root + "/p")
        a.auth("digest", "bob:pw")
        a.get(root + "/p")

    differential(zookeeper, zkd, scenario)


def test_super_digest_passes_every_check(zookeeper, zkd, root):
    def scenario(tr):
        a = tr.session("A")
        s = tr.session("S")
        a.create(root)
        a.auth("digest", "bob:pw")
        p = root + "/locked"
        a.create(p, b"x", [(ALL, "digest", BOB_DIGEST)])
        a.create(p + "/c")
        a.set_acl(p, [(0, "digest", BOB_DIGEST)])
        s.get(p)
        s.auth("digest", "super:wrong")
        s.get(p)
        s.auth("digest", SUPER_PASSWORD)
        s.whoami()
        s.get(p)
        s.get_acl(p)
        s.children(p)
        s.set(p, b"y")
        s.create(p + "/d", b"", [(0, "world", "anyone")])
        s.get(p + "/d")
        s.delete(p + "/d")
        s.delete(p + "/c")
        s.set_acl(p, OPEN, 1)
        a.get(p)

    differential(zookeeper, zkd, scenario)


def test_whoami_lists_ids_in_zookeepers_order(zookeeper, zkd, root):
    def scenario(tr):
        a = tr.session("A")
        a.whoami()
        for cred in ["bob:pw", "alice:x", "carol:y", "abc", ":x", "bob:pw", "zz:1", "a:b:c",
                     "\u00fcn\u00ef:c\u00f8d\u00e9", b"\xff\xfeab:c", b"x\xe2\x82:y"]:
            a.auth("digest", cred)
        a.whoami()
        for i in range(20):
            a.auth("digest", "u%d:p" % i)
        a.whoami()

    differential(zookeeper, zkd, scenario)


def test_multi_read_answers_each_op(zookeeper, zkd, root):
    def scenario(tr):
        a = tr.session("A")
        b = tr.session("B")
        a.create(root)
        a.create(root + "/x", b"X")
        a.create(root + "/x/kid")
        a.auth("digest", "bob:pw")
        a.create(root + "/s", b"S", [(ALL, "digest", BOB_DIGEST)])
        ops = [get_op(root + "/x"), children_op(root + "/x"), get_op(root + "/missing"),
               get_op(root + "/s"), children_op(root + "/s"), children_op(root),
               get_op(root + "/x")]
        b.multi_read("mixed outcomes", ops)
        a.multi_read("mixed outcomes", ops)
        b.multi_read("empty", [])
        b.multi_read("reads and a write", [get_op(root + "/x"), create_op(root + "/y")])
        b.multi_read("a write and a read", [create_op(root + "/y"), get_op(root + "/x")])
        b.exists(root + "/y")

    differential(zookeeper, zkd, scenario)


def test_multi_with_a_noauth_op(zookeeper, zkd, root):
    def scenario(tr):
        a = tr.session("A")
        b = tr.session("B")
        a.create(root)
        a.auth("digest", "bob:pw")
        a.create(root + "/s", b"S", [(ALL, "digest", BOB_DIGEST)])
        a.create(root + "/r", b"R", [(READ, "world", "anyone"), (ALL, "digest", BOB_DIGEST)])
        b.multi("create, setData NoAuth", [create_op(root + "/n1"), set_op(root + "/s")])
        b.multi("check NoAuth", [check_op(root + "/s", 0)])
        b.multi("check ok, create under NoAuth", [check_op(root + "/r", 0),
                                                  create_op(root + "/r/kid")])
        b.multi("create with InvalidACL", [create_op(root + "/n2", [])])
        a.multi("all ok", [create_op(root + "/r/kid"), set_op(root + "/s"),
                           check_op(root + "/s", 1)])
        b.exists(root + "/n1")

    differential(zookeeper, zkd, scenario)


# -- the same through kazoo ----------------------------------------------------------

@pytest.mark.parametrize("kind", ["zookeeper", "zkd"])
def test_kazoo_auth_and_acls(kind, zookeeper, zkd, root):
    from kazoo.client import KazooClient
    from kazoo.exceptions import AuthFailedError, InvalidACLError, NoAuthError
    from kazoo.security import make_acl, make_digest_acl

    srv = zookeeper if kind == "zookeeper" else zkd
    owner = KazooClient(hosts=srv.hostport, auth_data=[("digest", "bob:pw")])
    other = KazooClient(hosts=srv.hostport)
    owner.start(timeout=15)
    other.start(timeout=15)
    try:
        acl = [make_digest_acl("bob", "pw", all=True)]
        assert acl[0].id.id == BOB_DIGEST
        owner.create(root, b"x", acl=acl)
        assert owner.get(root)[0] == b"x"
        with pytest.raises(NoAuthError):
            other.get(root)
        with pytest.raises(NoAuthError):
            other.set(root, b"y")
        with pytest.raises(NoAuthError):
            other.get_acls(root)
        with pytest.raises(InvalidACLError):
            other.create(root + "2", acl=[make_acl("auth", "")])
        other.add_auth("digest", "bob:pw")
        assert other.get(root)[0] == b"x"
        assert other.get_acls(root)[0] == acl
        with pytest.raises(AuthFailedError):
            other.add_auth("nosuchscheme", "x")
        owner.delete(root)
    finally:
        for c in (owner, other):
            try:
                c.stop()
                c.close()
            except Exception:
                pass
