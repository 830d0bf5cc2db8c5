"""The client protocol by hand: jute encoders and decoders, the op and error
codes, and `RawClient`, one TCP connection on which a test controls every byte
(including not sending pings). Every read has a deadline.

    with RawClient(srv) as c:          # srv: a server object or "host:port"
        c.connect(timeout_ms=3000)
        rep = c.create("/a", b"x")     # Reply(xid, zxid, err, body)
        rep.reader().string()
"""

import socket
import struct
import time

from harness import hostport_of

# Op codes and error codes of the client protocol (zookeeper.jute / ZooDefs).
OP_NOTIFICATION = 0
OP_CREATE = 1
OP_DELETE = 2
OP_EXISTS = 3
OP_GET_DATA = 4
OP_SET_DATA = 5
OP_GET_CHILDREN = 8
OP_PING = 11
OP_GET_CHILDREN2 = 12
OP_CREATE2 = 15
OP_SET_WATCHES = 101
OP_CLOSE_SESSION = -11

XID_NOTIFICATION = -1
XID_PING = -2
XID_SET_WATCHES = -8

ZOK = 0
ZUNIMPLEMENTED = -6
ZMARSHALLINGERROR = -5
ZNONODE = -101
ZNODEEXISTS = -110
ZSESSIONEXPIRED = -112

EVENT_CREATED = 1
EVENT_DELETED = 2
EVENT_DATA_CHANGED = 3
EVENT_CHILDREN_CHANGED = 4

# ACL world:anyone with all permissions.
OPEN_ACL = [(31, "world", "anyone")]

STAT = struct.Struct("!qqqqiiiqiiq")
STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
               "ephemeralOwner", "dataLength", "numChildren", "pzxid")


def jute_int(v):
    return struct.pack("!i", v)


def jute_long(v):
    return struct.pack("!q", v)


def jute_bool(v):
    return b"\x01" if v else b"\x00"


def jute_buffer(b):
    return jute_int(-1) if b is None else jute_int(len(b)) + b


def jute_string(s):
    """A jute ustring; "" is length 0 and None is -1 (bytes are taken as they are)."""
    return jute_buffer(s.encode() if isinstance(s, str) else s)


def jute_strings(items):
    return jute_int(len(items)) + b"".join(jute_string(s) for s in items)


def jute_acl(acl):
    return jute_int(len(acl)) + b"".join(
        jute_int(perms) + jute_string(scheme) + jute_string(ident)
        for perms, scheme, ident in acl)


def connect_request(timeout_ms, session_id=0, passwd=b"\0" * 16, last_zxid=0,
                    read_only=False):
    return (jute_int(0) + jute_long(last_zxid) + jute_int(timeout_ms) + jute_long(session_id) +
            jute_buffer(passwd) + jute_bool(read_only))


def frame(body):
    return jute_int(len(body)) + body


def create_body(path, data=b"", flags=0, acl=OPEN_ACL):
    """The body of a create (and create2) request."""
    return jute_string(path) + jute_buffer(data) + jute_acl(acl) + jute_int(flags)


def create_packet_length(path, data_len):
    """Length of a create request frame as ZooKeeper checks it against
    jute.maxbuffer (everything after the 4-byte length prefix)."""
    return 8 + len(create_body(path)) + data_len


def reset_on_close(sock):
    """Makes close() send RST instead of FIN, as a crashed peer would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class Reader:
    """Decodes jute fields from a reply body."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def int(self):
        v = struct.unpack_from("!i", self.data, self.pos)[0]
        self.pos += 4
        return v

    def long(self):
        v = struct.unpack_from("!q", self.data, self.pos)[0]
        self.pos += 8
        return v

    def buffer(self):
        n = self.int()
        if n < 0:
            return None
        v = self.data[self.pos:self.pos + n]
        self.pos += n
        return v

    def string(self):
        b = self.buffer()
        return None if b is None else b.decode()

    def stat(self):
        v = STAT.unpack_from(self.data, self.pos)
        self.pos += STAT.size
        return dict(zip(STAT_FIELDS, v))

    def rest(self):
        return self.data[self.pos:]


class Reply:
    def __init__(self, xid, zxid, err, body):
        self.xid, self.zxid, self.err, self.body = xid, zxid, err, body

    def reader(self):
        return Reader(self.body)

    def event(self):
        """(type, state, path) of a watch notification."""
        r = self.reader()
        return r.int(), r.int(), r.string()

    def __repr__(self):
        return "Reply(xid=%d, zxid=%#x, err=%d, %d body bytes)" % (
            self.xid, self.zxid, self.err, len(self.body))


class RawClient:
    """One TCP connection speaking jute by hand, so a test controls every byte,
    including not sending pings. Every read has a deadline."""

    def __init__(self, target, timeout=5.0):
        host, port = hostport_of(target).rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.session_id = 0
        self.passwd = b"\0" * 16
        self.negotiated_timeout = None
        self.last_zxid = 0
        self.next_xid = 1
        # Watch notifications that arrived while call() waited for a reply.
        self.events = []

    # -- connection ------------------------------------------------------------
    def connect(self, timeout_ms=10000, session_id=0, passwd=b"\0" * 16, last_zxid=0):
        """Sends a ConnectRequest; returns the ConnectResponse as a dict."""
        self.send_raw(frame(connect_request(timeout_ms, session_id, passwd, last_zxid)))
        body = self.read_frame()
        assert body is not None, "server closed the connection instead of answering connect"
        r = Reader(body)
        resp = {"protocol_version": r.int(), "timeout": r.int(), "session_id": r.long(),
                "passwd": r.buffer()}
        rest = r.rest()
        resp["read_only"] = rest[:1] == b"\x01" if rest else None
        if resp["timeout"] > 0:
            self.session_id = resp["session_id"]
            self.passwd = resp["passwd"]
            self.negotiated_timeout = resp["timeout"]
        return resp

    def close(self, reset=False):
        """Drops the TCP connection without closeSession (reset=True sends RST)."""
        if self.sock is None:
            return
        if reset:
            reset_on_close(self.sock)
        self.sock.close()
        self.sock = None

    # -- framing ---------------------------------------------------------------
    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete frame within the deadline (have %d bytes)" %
                                   len(self.buf))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return False
            self.buf += chunk
        return True

    def read_frame(self, timeout=None):
        """The next frame's body, or None when the server closed the connection."""
        deadline = time.monotonic() + (timeout or self.timeout)
        if not self._fill(4, deadline):
            return None
        n = struct.unpack_from("!i", self.buf)[0]
        if not self._fill(4 + n, deadline):
            return None
        body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return body

    def read_reply(self, timeout=None):
        body = self.read_frame(timeout)
        if body is None:
            return None
        xid, zxid, err = struct.unpack_from("!iqi", body)
        if zxid > 0:
            self.last_zxid = max(self.last_zxid, zxid)
        return Reply(xid, zxid, err, body[16:])

    def wait_closed(self, timeout):
        """True when the server closes the connection within `timeout` seconds
        (any frames arriving meanwhile are dropped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.read_frame(timeout=max(0.01, deadline - time.monotonic())) is None:
                    return True
            except TimeoutError:
                return False
            except OSError:
                return True
        return False

    # -- requests --------------------------------------------------------------
    def request_bytes(self, op, body=b"", xid=None):
        if xid is None:
            xid = self.next_xid
            self.next_xid += 1
        return xid, frame(jute_int(xid) + jute_int(op) + body)

    def send(self, op, body=b"", xid=None):
        xid, data = self.request_bytes(op, body, xid)
        self.send_raw(data)
        return xid

    def call(self, op, body=b"", timeout=None):
        """Sends one request and returns its reply; notifications that arrive first
        are kept in self.events."""
        xid = self.send(op, body)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            rep = self.read_reply(max(0.01, deadline - time.monotonic()))
            assert rep is not None, "connection closed while waiting for xid %d" % xid
            if rep.xid == XID_NOTIFICATION:
                self.events.append(rep.event())
                continue
            assert rep.xid == xid, "reply xid %d, expected %d" % (rep.xid, xid)
            return rep

    def ping(self):
        self.send(OP_PING, xid=XID_PING)
        rep = self.read_reply()
        assert rep is not None and rep.xid == XID_PING, rep
        return rep

    def create(self, path, data=b"", flags=0):
        return self.call(OP_CREATE, create_body(path, data, flags))

    def exists(self, path, watch=False):
        return self.call(OP_EXISTS, jute_string(path) + jute_bool(watch))

    def get_data(self, path, watch=False):
        return self.call(OP_GET_DATA, jute_string(path) + jute_bool(watch))

    def set_watches(self, relative_zxid, data=(), exist=(), child=()):
        body = (jute_long(relative_zxid) + jute_strings(list(data)) + jute_strings(list(exist)) +
                jute_strings(list(child)))
        self.send(OP_SET_WATCHES, body, xid=XID_SET_WATCHES)

    def read_event(self, timeout):
        """The next watch notification (type, state, path), or None on timeout."""
        if self.events:
            return self.events.pop(0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                rep = self.read_reply(max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                return None
            if rep is None:
                return None
            if rep.xid == XID_NOTIFICATION:
                return rep.event()
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
