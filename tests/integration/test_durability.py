"""Acknowledged writes survive kill -9.

One raw session streams creates, setData and deletes (pipelined, up to WINDOW
in flight) while the server is killed with SIGKILL at a random moment. The
server restarts on the same data directory, and the tree must equal the
result of applying the first K writes of the stream, for some K between the
number acknowledged and the number sent: nothing acknowledged is lost, nothing
is reordered, and a write that was never sent does not appear. The server's
zxids must also keep growing across the restart.

Runs against zkd (default config, so fsync must be on by default) and
against Apache ZooKeeper 3.8 (forceSync=yes by default), which passes it.
"""

import os
import random
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import KINDS, start_server  # noqa: E402
from rawclient import (OP_CREATE, OP_DELETE, OP_SET_DATA, ZOK, RawClient,  # noqa: E402
                       create_body, jute_buffer, jute_int, jute_string)

WINDOW = 64
OPS_PER_ROUND = 20000


def make_ops(rng, root, count):
    """A valid sequence of writes under `root`: ("create"|"set"|"delete", name, data)."""
    live = []
    ops = []
    next_id = 0
    for _ in range(count):
        r = rng.random()
        if r < 0.6 or len(live) < 5:
            name = "n%06d" % next_id
            next_id += 1
            live.append(name)
            ops.append(("create", name, os.urandom(rng.randrange(0, 1500))))
        elif r < 0.85:
            ops.append(("set", rng.choice(live), os.urandom(rng.randrange(0, 1500))))
        else:
            name = live.pop(rng.randrange(len(live)))
            ops.append(("delete", name, None))
    return ops


def encode(root, op):
    kind, name, data = op
    path = root + "/" + name
    if kind == "create":
        return OP_CREATE, create_body(path, data)
    if kind == "set":
        return OP_SET_DATA, jute_string(path) + jute_buffer(data) + jute_int(-1)
    return OP_DELETE, jute_string(path) + jute_int(-1)


def apply(state, op):
    kind, name, data = op
    if kind == "delete":
        del state[name]
    else:
        state[name] = data


class Stream:
    """Pipelines `ops` on one raw session until the connection dies."""

    def __init__(self, srv, root, ops):
        self.client = RawClient(srv, timeout=30.0)
        self.client.connect(timeout_ms=30000)
        self.root = root
        self.ops = ops
        self.sent = 0
        self.acked = 0
        self.max_zxid = 0
        self.errors = []
        self.first_ack = threading.Event()
        self.window = threading.Semaphore(WINDOW)
        self.done = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.writer = threading.Thread(target=self._write, daemon=True)

    def start(self):
        self.reader.start()
        self.writer.start()

    def _write(self):
        try:
            for i, op in enumerate(self.ops):
                while not self.window.acquire(timeout=0.1):
                    if self.done.is_set():
                        return
                if self.done.is_set():
                    return
                code, body = encode(self.root, op)
                _, data = self.client.request_bytes(code, body, xid=i + 1)
                # Count before sending: a write that may have reached the
                # server is "sent" even if sendall fails half-way.
                self.sent = i + 1
                self.client.send_raw(data)
        except OSError:
            pass
        finally:
            self.done.set()

    def _read(self):
        try:
            while True:
                try:
                    rep = self.client.read_reply(timeout=30.0)
                except (TimeoutError, OSError):
                    rep = None
                if rep is None:
                    return
                if rep.xid != self.acked + 1:
                    self.errors.append("reply xid %d, expected %d" % (rep.xid, self.acked + 1))
                    return
                if rep.err != ZOK:
                    self.errors.append("op %d %r failed with %d" %
                                       (rep.xid, self.ops[rep.xid - 1][:2], rep.err))
                    return
                self.acked = rep.xid
                self.max_zxid = max(self.max_zxid, rep.zxid)
                self.first_ack.set()
                self.window.release()
        finally:
            self.done.set()

    def drain(self, timeout=30.0):
        """Stops sending and waits until every sent write is acknowledged."""
        self.done.set()
        self.writer.join(timeout)
        deadline = time.monotonic() + timeout
        while self.acked < self.sent and time.monotonic() < deadline and self.reader.is_alive():
            time.sleep(0.01)

    def join(self, timeout=30.0):
        self.writer.join(timeout)
        self.reader.join(timeout)
        self.client.close()


def read_tree(client, root):
    names = client.get_children(root)
    results = [(n, client.get_async(root + "/" + n)) for n in names]
    return {n: r.get(timeout=30)[0] for n, r in results}


def check_prefix(tree, ops, acked, sent):
    """The K in [acked, sent] for which applying ops[:K] gives `tree`, or a
    description of the first difference from ops[:acked]."""
    state = {}
    for op in ops[:acked]:
        apply(state, op)
    for k in range(acked, sent + 1):
        if state == tree:
            return k, None
        if k < sent:
            apply(state, ops[k])
    # Describe the difference against what was acknowledged.
    state = {}
    for op in ops[:acked]:
        apply(state, op)
    missing = sorted(set(state) - set(tree))[:5]
    extra = sorted(set(tree) - set(state))[:5]
    wrong = sorted(n for n in set(state) & set(tree) if state[n] != tree[n])[:5]
    return None, ("acked %d, sent %d: missing %s, unexpected %s, wrong data %s" %
                  (acked, sent, missing, extra, wrong))


def restart_and_read(srv, kazoo_factory, root):
    srv.start()
    k = kazoo_factory(srv, timeout=30.0, start_timeout=30.0)
    try:
        return k, read_tree(k, root)
    except Exception:
        k.stop()
        raise


@pytest.mark.parametrize("kind", KINDS)
def test_acknowledged_writes_survive_kill9(kind, server_factory, kazoo_factory):
    srv = start_server(kind, server_factory)
    setup = kazoo_factory(srv)
    rounds = [("drained", 0), ("random", 11), ("random", 12), ("random", 13)]
    for sub in range(len(rounds)):
        setup.ensure_path("/dur/r%d" % sub)
    setup.stop()
    last_zxid = 0
    verified = {}

    for sub, (mode, seed) in enumerate(rounds):
        rng = random.Random(seed * 1000 + sub)
        root = "/dur/r%d" % sub
        ops = make_ops(rng, root, OPS_PER_ROUND)
        stream = Stream(srv, root, ops)
        stream.start()
        assert stream.first_ack.wait(20.0), "no write acknowledged: %r" % stream.errors
        if mode == "drained":
            # Everything acknowledged, then killed at once: all of it must be
            # on disk (nothing may be acknowledged before it is durable).
            time.sleep(0.3)
            stream.drain()
            assert stream.acked == stream.sent, (stream.acked, stream.sent)
        else:
            time.sleep(rng.uniform(0.05, 0.6))
        srv.kill9()
        stream.join()
        assert stream.errors == [], stream.errors
        acked, sent = stream.acked, stream.sent
        assert acked > 0

        k, tree = restart_and_read(srv, kazoo_factory, root)
        k_found, diff = check_prefix(tree, ops, acked, sent)
        assert diff is None, "round %d (%s): %s" % (sub, mode, diff)
        assert acked <= k_found <= sent
        print("round %d (%s): acked %d, sent %d, durable %d" % (sub, mode, acked, sent, k_found))

        # zxids go on from where the log ended.
        path = k.create(root + "/after-restart", b"")
        stat = k.exists(path)
        assert stat.czxid > stream.max_zxid
        assert stat.czxid > last_zxid
        last_zxid = stat.czxid
        k.delete(path)
        k.stop()
        verified[root] = tree

    # Earlier rounds are intact after the later crashes and recoveries.
    k = kazoo_factory(srv)
    for root, tree in verified.items():
        assert read_tree(k, root) == tree, root
