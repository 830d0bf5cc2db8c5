"""Records what a server answers to a sequence of client operations as a transcript
that can be compared between zkd and Apache ZooKeeper.

Operations go through kazoo's low-level request layer (no retries, no client-side
path normalisation), and every reply header and watch event is captured on the
connection thread in the order it came off the socket. A transcript line is written
when an operation completes, preceded by the events that arrived before its reply;
so "event before reply" is part of what gets compared.

Values that legitimately differ between servers are rendered structurally:
  zxids          -> Z1, Z2, ... ranked over every zxid seen in the transcript
                    (0 stays 0): equal stays equal, order is kept, values are not
  ctime/mtime    -> T (0 stays 0); separately checked to be consistent with zxids
  session ids    -> sess:A, sess:B (by the session that owns them)
"""

import difflib
import hashlib
import threading
import time
from collections import deque

from kazoo.client import KazooClient
from kazoo.exceptions import (ConnectionClosedError, ConnectionLoss, KazooException,
                              SessionExpiredError)
from kazoo.protocol.serialization import (Create, Create2, Delete, Exists, GetChildren,
                                          GetChildren2, GetData, SetData, Sync,
                                          Transaction, Watch)
from kazoo.protocol.states import ZnodeStat
from kazoo.security import OPEN_ACL_UNSAFE

import harness

EVENT_NAMES = {1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged",
               4: "NodeChildrenChanged", -1: "None"}
STATE_NAMES = {3: "SyncConnected", 0: "Disconnected", -112: "Expired", 5: "ConnectedReadOnly"}
FLAG_NAMES = {0: "persistent", 1: "ephemeral", 2: "persistent_sequential",
              3: "ephemeral_sequential", 4: "container"}
# Outcomes after which the scenario cannot go on meaningfully.
TRANSPORT_ERRORS = (ConnectionLoss, ConnectionClosedError, SessionExpiredError)
WRITE_TYPES = {Create.type, Create2.type, Delete.type, SetData.type, Transaction.type}


class ScenarioAborted(Exception):
    pass


class RawRequest:
    """A request whose bytes are given verbatim (for paths kazoo cannot encode,
    such as a zero-length string, which kazoo sends as null)."""

    def __init__(self, type_, payload, deserialize=None, path="?"):
        self.type = type_
        self.payload = bytes(payload)
        self._deserialize = deserialize
        self.path = path
        self.watcher = None

    def serialize(self):
        return self.payload

    def deserialize(self, buf, offset):
        return self._deserialize(buf, offset) if self._deserialize else True


# -- placeholders, resolved when the whole transcript is known ----------------------

class Zxid:
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v


class Time:
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v


class Owner:
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v


def _fmt_data(data):
    if data is None:
        return "null"
    if len(data) > 48:
        return "bytes(len=%d,sha1=%s)" % (len(data), hashlib.sha1(data).hexdigest()[:12])
    return repr(bytes(data))


def _fmt_stat(st):
    return ["Stat(czxid=", Zxid(st.czxid), " mzxid=", Zxid(st.mzxid), " pzxid=",
            Zxid(st.pzxid), " ctime=", Time(st.ctime), " mtime=", Time(st.mtime),
            " version=%d cversion=%d aversion=%d ephemeralOwner=" %
            (st.version, st.cversion, st.aversion), Owner(st.ephemeralOwner),
            " dataLength=%d numChildren=%d)" % (st.dataLength, st.numChildren)]


def fmt_value(v):
    """Tokens for a reply value."""
    if isinstance(v, ZnodeStat):
        return _fmt_stat(v)
    if isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], ZnodeStat):
        first = v[0]
        if isinstance(first, (bytes, type(None))):
            head = [_fmt_data(first)]
        elif isinstance(first, list):
            head = [repr(sorted(first))]
        else:
            head = [repr(first)]
        return ["("] + head + [", "] + _fmt_stat(v[1]) + [")"]
    if isinstance(v, list):
        if all(isinstance(x, str) for x in v):
            return [repr(sorted(v))]
        out = ["["]
        for i, x in enumerate(v):
            if i:
                out.append(", ")
            if isinstance(x, Exception):
                out.append(type(x).__name__)
            else:
                out += fmt_value(x)
        return out + ["]"]
    if isinstance(v, (bytes, type(None))):
        return [_fmt_data(v)] if v is not None else ["None"]
    return [repr(v)]


class Session:
    """One client session of a Recorder."""

    def __init__(self, rec, name, hostport, timeout):
        self.rec = rec
        self.name = name
        self.q = deque()
        self.cond = threading.Condition()
        self.client = KazooClient(hosts=hostport, timeout=timeout, connection_retry=None,
                                  command_retry=None)
        conn = self.client._connection
        orig_response, orig_watch = conn._read_response, conn._read_watch_event

        def read_response(header, buf, offset):
            self._push(("reply", header.xid, header.err, header.zxid))
            return orig_response(header, buf, offset)

        def read_watch_event(buf, offset):
            w, _ = Watch.deserialize(buf, offset)
            self._push(("event", w.type, w.state, w.path))
            return orig_watch(buf, offset)

        conn._read_response = read_response
        conn._read_watch_event = read_watch_event
        try:
            self.client.start(timeout=15)
        except Exception as e:
            self.client.stop()
            self.client.close()
            raise ScenarioAborted("session %s could not connect: %r" % (name, e))
        self.session_id = self.client.client_id[0]
        self.closed = False

    def _push(self, item):
        with self.cond:
            self.q.append(item)
            self.cond.notify_all()

    def _noop_watch(self, event):
        pass

    def _take_through_reply(self, timeout=10.0):
        """Events that arrived before the next reply, and that reply."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(i[0] == "reply" for i in self.q):
                left = deadline - time.monotonic()
                if left <= 0:
                    return list(self.q), None
                self.cond.wait(left)
            events = []
            while True:
                item = self.q.popleft()
                if item[0] == "reply":
                    return events, item
                events.append(item)

    def _emit_events(self, events):
        for _, etype, state, path in events:
            self.rec.line(["  %s <- event %s %s %r" % (
                self.name, EVENT_NAMES.get(etype, etype), STATE_NAMES.get(state, state), path)])

    def call(self, desc, request, render=fmt_value):
        """Sends one request, records its events, outcome and (for writes) the
        reply's zxid. Returns the result, or the exception instance."""
        ar = self.client.handler.async_result()
        self.client._call(request, ar)
        try:
            result = ar.get(timeout=15)
            outcome = ["ok "] + render(result)
        except KazooException as e:
            result = e
            outcome = ["ERR " + type(e).__name__]
        except Exception as e:  # e.g. the handler's timeout
            result = e
            outcome = ["FAILED %s %s" % (type(e).__name__, e)]
        broken = isinstance(result, TRANSPORT_ERRORS) or (
            isinstance(result, Exception) and not isinstance(result, KazooException))
        events, reply = self._take_through_reply(0.5 if broken else 10.0)
        self._emit_events(events)
        zx = []
        if reply is not None and request.type in WRITE_TYPES and not isinstance(result,
                                                                                  Exception):
            zx = [" @", Zxid(reply[3])]
        self.rec.line(["%s: %s -> " % (self.name, desc)] + outcome + zx)
        if broken:
            raise ScenarioAborted("%s: %s -> %s" % (self.name, desc, outcome[0]))
        if isinstance(result, ZnodeStat):
            self.rec.stats.append(result)
        elif isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], ZnodeStat):
            self.rec.stats.append(result[1])
        return result

    # -- operations ---------------------------------------------------------------
    def create(self, path, data=b"", flags=0, acl=None):
        return self.call("create(%r, %s, %s)" % (path, _fmt_data(data), FLAG_NAMES.get(flags, flags)),
                         Create(path, data, OPEN_ACL_UNSAFE if acl is None else acl, flags))

    def create2(self, path, data=b"", flags=0):
        return self.call("create2(%r, %s, %s)" % (path, _fmt_data(data), FLAG_NAMES.get(flags, flags)),
                         Create2(path, data, OPEN_ACL_UNSAFE, flags))

    def delete(self, path, version=-1):
        return self.call("delete(%r, v=%d)" % (path, version), Delete(path, version))

    def exists(self, path, watch=False):
        return self.call("exists(%r%s)" % (path, ", watch" if watch else ""),
                         Exists(path, self._noop_watch if watch else None))

    def get(self, path, watch=False):
        return self.call("getData(%r%s)" % (path, ", watch" if watch else ""),
                         GetData(path, self._noop_watch if watch else None))

    def set(self, path, data, version=-1):
        return self.call("setData(%r, %s, v=%d)" % (path, _fmt_data(data), version),
                         SetData(path, data, version))

    def children(self, path, watch=False):
        return self.call("getChildren(%r%s)" % (path, ", watch" if watch else ""),
                         GetChildren(path, self._noop_watch if watch else None))

    def children2(self, path, watch=False):
        return self.call("getChildren2(%r%s)" % (path, ", watch" if watch else ""),
                         GetChildren2(path, self._noop_watch if watch else None))

    def sync(self, path):
        return self.call("sync(%r)" % path, Sync(path))

    def multi(self, desc, ops):
        return self.call("multi(%s)" % desc, Transaction(ops))

    def raw(self, desc, type_, payload, deserialize=None):
        return self.call(desc, RawRequest(type_, payload, deserialize))

    def barrier(self):
        """A read whose reply must come after every event caused by writes that
        completed before it; records those events."""
        ar = self.client.handler.async_result()
        self.client._call(Exists("/", None), ar)
        try:
            ar.get(timeout=15)
        except Exception as e:
            self.rec.line(["%s: barrier -> FAILED %s" % (self.name, type(e).__name__)])
            raise ScenarioAborted("%s: barrier failed: %r" % (self.name, e))
        events, _ = self._take_through_reply()
        self._emit_events(events)
        self.rec.line(["%s: barrier" % self.name])

    def close(self):
        """Closes the session (its ephemerals go away)."""
        if self.closed:
            return
        self.closed = True
        with self.cond:
            leftover = [i for i in self.q if i[0] == "event"]
            self.q.clear()
        self._emit_events(leftover)
        self.client.stop()
        self.client.close()
        self.rec.line(["%s: close" % self.name])

    def stop_quietly(self):
        if not self.closed:
            self.closed = True
            harness.stop_quietly(self.client)


class Recorder:
    def __init__(self, server, session_timeout=10.0):
        self.server = server
        self.session_timeout = session_timeout
        self.tokens = []
        self.stats = []
        self.sessions = {}
        self.t_start = time.time()
        self.t_end = None

    def session(self, name):
        s = Session(self, name, self.server.hostport, self.session_timeout)
        self.sessions[name] = s
        return s

    def line(self, tokens):
        self.tokens.append(tokens)

    def note(self, text):
        self.tokens.append(["# " + text])

    def finish(self):
        """Final barrier on every open session, so late events are recorded too."""
        for s in self.sessions.values():
            if not s.closed:
                s.barrier()
        self.t_end = time.time()
        for s in self.sessions.values():
            s.stop_quietly()

    # -- rendering ----------------------------------------------------------------
    def render(self):
        zxids = sorted({t.v for line in self.tokens for t in line
                        if isinstance(t, Zxid) and t.v > 0})
        rank = {v: i + 1 for i, v in enumerate(zxids)}
        owners = {s.session_id: s.name for s in self.sessions.values()}
        out = []
        for line in self.tokens:
            parts = []
            for t in line:
                if isinstance(t, Zxid):
                    parts.append("Z%d" % rank[t.v] if t.v > 0 else str(t.v))
                elif isinstance(t, Time):
                    parts.append("T" if t.v != 0 else "0")
                elif isinstance(t, Owner):
                    parts.append("0" if t.v == 0 else "sess:" + owners.get(t.v, "?%x" % t.v))
                else:
                    parts.append(t)
            out.append("".join(parts))
        return out

    def time_problems(self):
        """ctime/mtime must agree with the zxids they belong to: one time per zxid,
        never going backwards as zxids grow, and close to the wall clock."""
        problems = []
        by_zxid = {}
        for st in self.stats:
            for zx, t, what in ((st.czxid, st.ctime, "ctime"), (st.mzxid, st.mtime, "mtime")):
                if zx <= 0:
                    continue
                by_zxid.setdefault(zx, set()).add(t)
                lo = (self.t_start - 10) * 1000
                hi = ((self.t_end or time.time()) + 10) * 1000
                if not lo <= t <= hi:
                    problems.append("%s %d of zxid %#x is not near the wall clock" % (what, t, zx))
        last = None
        for zx in sorted(by_zxid):
            ts = by_zxid[zx]
            if len(ts) > 1:
                problems.append("zxid %#x has several times %s" % (zx, sorted(ts)))
            if last is not None and min(ts) < last:
                problems.append("time goes backwards at zxid %#x" % zx)
            last = max(ts)
        return problems


def run_scenario(server, scenario, session_timeout=10.0):
    """Runs the scenario; a transport failure (connection lost, session gone,
    no reply) ends it with an "!! aborted" line instead of an exception, so the
    comparison still shows how far it got."""
    rec = Recorder(server, session_timeout)
    try:
        scenario(rec)
        rec.finish()
    except ScenarioAborted as e:
        rec.line(["!! aborted: %s" % e])
    finally:
        for s in rec.sessions.values():
            s.stop_quietly()
    return rec


def assert_same(expected_rec, actual_rec, expected_label="zookeeper", actual_label="zkd"):
    exp, act = expected_rec.render(), actual_rec.render()
    problems = []
    if any(line.startswith("!! aborted") for line in exp):
        # The reference must complete: otherwise the scenario itself is broken.
        raise AssertionError("%s run aborted:\n%s" % (expected_label, "\n".join(exp)))
    for label, rec in ((expected_label, expected_rec), (actual_label, actual_rec)):
        for p in rec.time_problems():
            problems.append("%s: %s" % (label, p))
    if exp != act:
        diff = "\n".join(difflib.unified_diff(exp, act, expected_label, actual_label, lineterm="",
                                              n=3))
        problems.append("transcripts differ:\n" + diff)
    if problems:
        raise AssertionError("\n".join(problems) + "\n\nfull %s transcript:\n%s" %
                             (expected_label, "\n".join(exp)))
