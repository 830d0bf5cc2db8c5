"""Container and TTL nodes deleted by the server (ZooKeeper's ContainerManager):
when, which, and that the deletion fires watches like a client's delete. Each test
runs against zkd and Apache ZooKeeper 3.8 configured alike (check interval 100 ms,
extended types on), so the expectation is the reference's.
"""

import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import KINDS, start_server  # noqa: E402
from rawclient import (EVENT_CHILDREN_CHANGED, EVENT_DELETED, OP_CREATE, OP_DELETE,  # noqa: E402
                       OP_GET_CHILDREN, ZNONODE, ZOK, ZUNIMPLEMENTED, RawClient, create_body,
                       jute_bool, jute_int, jute_long, jute_string)

OP_CREATE_CONTAINER = 19
OP_CREATE_TTL = 21
CONTAINER = 4
PERSISTENT_WITH_TTL = 5
PERSISTENT_SEQUENTIAL_WITH_TTL = 6

CONFIG = dict(extended_types=True, container_check_interval_ms=100)


def create_container(c, path):
    return c.call(OP_CREATE_CONTAINER, create_body(path, b"", CONTAINER))


def create_ttl(c, path, ttl_ms, flags=PERSISTENT_WITH_TTL):
    return c.call(OP_CREATE_TTL, create_body(path, b"", flags) + jute_long(ttl_ms))


def delete(c, path):
    return c.call(OP_DELETE, jute_string(path) + jute_int(-1))


def gone_within(c, path, seconds):
    """Polls exists (which also keeps the session alive) until `path` is gone."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if c.exists(path).err == ZNONODE:
            return True
        time.sleep(0.05)
    return False


def events(c, seconds):
    out = []
    deadline = time.monotonic() + seconds
    while True:
        e = c.read_event(max(0.0, deadline - time.monotonic()))
        if e is None:
            return out
        out.append(e)


@pytest.mark.parametrize("kind", KINDS)
def test_container_reaped_after_last_child_with_watch_events(kind, server_factory):
    srv = start_server(kind, server_factory, **CONFIG)
    with RawClient(srv) as c, RawClient(srv) as w:
        c.connect()
        w.connect()
        assert create_container(c, "/c").err == ZOK
        assert create_container(c, "/unused").err == ZOK
        assert c.create("/c/k").err == ZOK
        # The watcher sees the deletion as any delete: NodeDeleted on the node,
        # NodeChildrenChanged on its parent.
        assert w.exists("/c", watch=True).err == ZOK
        assert w.call(OP_GET_CHILDREN, jute_string("/") + jute_bool(True)).err == ZOK
        time.sleep(0.5)  # several check intervals: a container with a child stays
        assert c.exists("/c").err == ZOK
        assert delete(c, "/c/k").err == ZOK
        assert gone_within(c, "/c", 10)
        got = sorted(events(w, 1.0))
        assert got == sorted([(EVENT_DELETED, 3, "/c"), (EVENT_CHILDREN_CHANGED, 3, "/")])
        # Never had a child: kept (ZooKeeper's default maxNeverUsedIntervalMs 0).
        assert c.exists("/unused").err == ZOK


@pytest.mark.parametrize("kind", KINDS)
def test_ttl_nodes_reaped_when_unmodified_and_childless(kind, server_factory):
    srv = start_server(kind, server_factory, **CONFIG)
    with RawClient(srv) as c:
        c.connect()
        assert create_ttl(c, "/t", 300).err == ZOK
        rep = create_ttl(c, "/s-", 300, PERSISTENT_SEQUENTIAL_WITH_TTL)
        assert rep.err == ZOK
        seq = rep.reader().string()
        assert create_ttl(c, "/parent", 300).err == ZOK
        assert c.create("/parent/k").err == ZOK
        assert create_ttl(c, "/long", 600000).err == ZOK
        assert gone_within(c, "/t", 10)
        assert gone_within(c, seq, 10)
        time.sleep(0.5)
        assert c.exists("/parent").err == ZOK  # has a child
        assert c.exists("/long").err == ZOK  # TTL not over
        assert delete(c, "/parent/k").err == ZOK
        assert gone_within(c, "/parent", 10)


@pytest.mark.parametrize("kind", KINDS)
def test_ttl_refused_without_extended_types(kind, server_factory):
    srv = start_server(kind, server_factory, container_check_interval_ms=100)
    with RawClient(srv) as c:
        c.connect()
        assert create_ttl(c, "/t", 1000).err == ZUNIMPLEMENTED
        assert c.exists("/t").err == ZNONODE
        # Containers need no flag.
        assert create_container(c, "/c").err == ZOK
        assert OP_CREATE  # plain creates unaffected
        assert c.create("/p").err == ZOK
