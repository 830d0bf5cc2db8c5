"""Crash safety: clients write continuously (creates, setData with versions,
multi, ephemerals) while the server is SIGKILLed at random moments, ROUNDS
times. After each restart every acknowledged write must be there, a multi is
all or nothing, versions never go back, and ephemerals of sessions that
survived are still there.

A write whose reply was lost with the connection is "uncertain": it may or
may not have been applied, and the checks allow both, but never half of one.

Runs against zkd (ROUNDS kills) and, to check the test itself, against Apache
ZooKeeper 3.8 (fewer rounds: each restart of the JVM takes seconds).
"""

import os
import random
import sys
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (ConnectionLoss, NodeExistsError, OperationTimeoutError,
                              SessionExpiredError)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import ZkdServer, ReferenceServer, zkd_is_reference  # noqa: E402

ROUNDS = {"zkd": 20, "zookeeper": 3}
WRITERS = 4
UNCERTAIN = (ConnectionLoss, OperationTimeoutError)


class Writer:
    """One session writing its own part of the tree, remembering what was
    acknowledged and what is uncertain."""

    def __init__(self, hostport, idx, seed):
        self.idx = idx
        self.rng = random.Random(seed)
        self.client = KazooClient(hosts=hostport, timeout=20.0, connection_retry=dict(
            max_tries=-1, delay=0.05, max_delay=0.2))
        self.client.start(timeout=20)
        self.session_id = self.client.client_id[0]
        self.root = "/w%d" % idx
        self.client.ensure_path(self.root + "/c")
        self.client.ensure_path(self.root + "/m")
        self.client.ensure_path(self.root + "/e")
        self.client.create(self.root + "/v", b"0")
        self.acked_creates = {}  # path -> data
        self.uncertain_creates = set()
        self.version = 0  # last acknowledged version of root/v (data == str(version))
        self.version_uncertain = False
        self.acked_multis = []  # indexes
        self.uncertain_multis = []
        self.acked_ephemerals = set()
        self.uncertain_ephemerals = set()
        self.counter = 0
        self.errors = []
        self.ops = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            self.counter += 1
            n = self.counter
            r = self.rng.random()
            try:
                if r < 0.4:
                    self.do_create(n)
                elif r < 0.7:
                    self.do_set()
                elif r < 0.85:
                    self.do_multi(n)
                else:
                    self.do_ephemeral(n)
                self.ops += 1
            except SessionExpiredError as e:
                self.errors.append("session expired: %r" % e)
                return
            except UNCERTAIN:
                self.wait_connected()
            except Exception as e:  # anything else is a wrong answer
                self.errors.append("%s: %r" % (type(e).__name__, e))
                return

    def wait_connected(self):
        deadline = time.monotonic() + 30
        while not self.client.connected and time.monotonic() < deadline \
                and not self.stop.is_set():
            time.sleep(0.01)

    def do_create(self, n):
        path = "%s/c/%d" % (self.root, n)
        data = ("c%d" % n).encode()
        self.uncertain_creates.add(path)
        self.client.create(path, data)
        self.uncertain_creates.discard(path)
        self.acked_creates[path] = data

    def do_set(self):
        if self.version_uncertain:
            # Learn where the uncertain setData left the node.
            data, stat = self.client.get(self.root + "/v")
            assert data == str(stat.version).encode(), (data, stat.version)
            assert self.version <= stat.version <= self.version + 1, (self.version, stat)
            self.version = stat.version
            self.version_uncertain = False
        self.version_uncertain = True
        stat = self.client.set(self.root + "/v", str(self.version + 1).encode(),
                               version=self.version)
        assert stat.version == self.version + 1
        self.version = stat.version
        self.version_uncertain = False

    def do_multi(self, n):
        t = self.client.transaction()
        t.create("%s/m/%d-a" % (self.root, n), b"a")
        t.create("%s/m/%d-b" % (self.root, n), b"b")
        self.uncertain_multis.append(n)
        results = t.commit()
        if any(isinstance(x, Exception) for x in results):
            raise AssertionError("multi %d failed: %r" % (n, results))
        self.uncertain_multis.remove(n)
        self.acked_multis.append(n)

    def do_ephemeral(self, n):
        path = "%s/e/%d" % (self.root, n)
        self.uncertain_ephemerals.add(path)
        try:
            self.client.create(path, b"", ephemeral=True)
        except NodeExistsError:
            # A retried create whose first attempt was applied: kazoo does not
            # retry on its own, so this is a wrong answer.
            raise
        self.uncertain_ephemerals.discard(path)
        self.acked_ephemerals.add(path)

    def check(self, reader):
        """Checks this writer's part of the tree through another session."""
        problems = []
        present = set(reader.get_children(self.root + "/c"))
        for path, data in self.acked_creates.items():
            name = path.rsplit("/", 1)[1]
            if name not in present:
                problems.append("acknowledged create %s lost" % path)
            elif reader.get(path)[0] != data:
                problems.append("%s has the wrong data" % path)
        allowed = {p.rsplit("/", 1)[1] for p in self.acked_creates} | \
            {p.rsplit("/", 1)[1] for p in self.uncertain_creates}
        for extra in present - allowed:
            problems.append("%s/c/%s exists but was never sent" % (self.root, extra))
        data, stat = reader.get(self.root + "/v")
        if data != str(stat.version).encode():
            problems.append("%s/v: data %r at version %d" % (self.root, data, stat.version))
        hi = self.version + (1 if self.version_uncertain else 0)
        if not self.version <= stat.version <= hi:
            problems.append("%s/v at version %d, acknowledged %d" %
                            (self.root, stat.version, self.version))
        multis = set(reader.get_children(self.root + "/m"))
        for n in self.acked_multis + self.uncertain_multis:
            a, b = "%d-a" % n, "%d-b" % n
            if (a in multis) != (b in multis):
                problems.append("multi %d half applied" % n)
            if n in self.acked_multis and a not in multis:
                problems.append("acknowledged multi %d lost" % n)
        cid = self.client.client_id
        if cid and cid[0] == self.session_id and self.client.connected:
            eph = set(reader.get_children(self.root + "/e"))
            for path in self.acked_ephemerals:
                if path.rsplit("/", 1)[1] not in eph:
                    problems.append("ephemeral %s of a live session lost" % path)
        return problems


def run_rounds(srv, rounds, seed):
    rng = random.Random(seed)
    writers = [Writer(srv.hostport, i, seed * 100 + i) for i in range(WRITERS)]
    for w in writers:
        w.thread.start()
    try:
        for rnd in range(rounds):
            time.sleep(rng.uniform(0.15, 0.8))
            srv.kill9()
            time.sleep(rng.uniform(0.0, 0.2))
            srv.start()
            # Let the writers reconnect and write a little before checking.
            time.sleep(0.3)
            for w in writers:
                assert not w.errors, "writer %d: %s\n%s" % (w.idx, w.errors, srv.logs())
    finally:
        for w in writers:
            w.stop.set()
        for w in writers:
            w.thread.join(30)
    reader = KazooClient(hosts=srv.hostport, timeout=20.0)
    reader.start(timeout=20)
    try:
        problems = []
        for w in writers:
            assert not w.errors, "writer %d: %s" % (w.idx, w.errors)
            problems += w.check(reader)
        assert not problems, "\n".join(problems[:50]) + "\n" + srv.logs()
        total = sum(w.ops for w in writers)
        # The writers did make progress between kills.
        assert total > rounds * 5, total
        return total
    finally:
        reader.stop()
        reader.close()
        for w in writers:
            w.client.stop()
            w.client.close()


CONFIG = dict(max_session_timeout_ms=30000, tick_ms=500)


def test_zkd_survives_repeated_sigkill(server_factory):
    cls = ReferenceServer if zkd_is_reference() else ZkdServer
    srv = server_factory(cls, config=CONFIG)
    rounds = ROUNDS["zookeeper" if zkd_is_reference() else "zkd"]
    run_rounds(srv, rounds, seed=int(os.environ.get("ZKD_FAULT_SEED", time.time())))


def test_reference_passes_the_same_test(server_factory):
    srv = server_factory(ReferenceServer, config=CONFIG)
    run_rounds(srv, ROUNDS["zookeeper"], seed=7)
