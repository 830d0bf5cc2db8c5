"""Quotas as ZooKeeper 3.8 keeps them: /zookeeper/quota/<path>/zookeeper_stats follows
the subtree, and with enforce_quota (zookeeper.enforceQuota) a create or setData that
would take a subtree past a hard limit fails with ZQUOTAEXCEEDED, before the version
is checked; soft limits never fail a request. Same scenario against zkd and Apache
ZooKeeper 3.8.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import KINDS, start_server  # noqa: E402
from rawclient import (OP_GET_DATA, OP_SET_DATA, RawClient, jute_bool, jute_buffer,  # noqa: E402
                       jute_int, jute_string)

ZQUOTAEXCEEDED = -125
ZBADVERSION = -103


def set_data(c, path, data, version=-1):
    return c.call(OP_SET_DATA, jute_string(path) + jute_buffer(data) + jute_int(version)).err


def get(c, path):
    rep = c.call(OP_GET_DATA, jute_string(path) + jute_bool(False))
    assert rep.err == 0, (path, rep)
    return rep.reader().buffer()


def set_quota(c, path, limits):
    """What zkCli's setquota does: the limits node, then the stats node."""
    parts = path.strip("/").split("/")
    for i in range(len(parts)):
        c.create("/zookeeper/quota/" + "/".join(parts[:i + 1]))
    assert c.create("/zookeeper/quota%s/zookeeper_limits" % path, limits.encode()).err == 0
    assert c.create("/zookeeper/quota%s/zookeeper_stats" % path, b"count=0,bytes=0").err == 0


@pytest.mark.parametrize("kind", KINDS)
def test_hard_limits_enforced(kind, server_factory):
    srv = start_server(kind, server_factory, enforce_quota=True)
    results = []
    with RawClient(srv) as c:
        c.connect()
        assert c.create("/q", b"12345").err == 0
        set_quota(c, "/q", "count=-1,bytes=-1,countHardLimit=3,byteHardLimit=20")
        # The stats node was recounted from the subtree: /q itself, 5 bytes.
        results.append(get(c, "/zookeeper/quota/q/zookeeper_stats"))
        for path in ["/q/a", "/q/b", "/q/c", "/q/a/deep"]:
            results.append((path, c.create(path, b"").err))
        results.append(("set 30", set_data(c, "/q/a", b"x" * 30)))
        results.append(("set 30 bad version", set_data(c, "/q/a", b"x" * 30, version=7)))
        results.append(("set 10", set_data(c, "/q/a", b"x" * 10)))
        results.append(("set 5 more", set_data(c, "/q/b", b"x" * 5)))
        results.append(("set 6 more", set_data(c, "/q/b", b"x" * 6)))
        results.append(("shrink", set_data(c, "/q", b"")))
        results.append(("delete frees", c.call(2, jute_string("/q/b") + jute_int(-1)).err))
        results.append(("create again", c.create("/q/c", b"").err))
        results.append(get(c, "/zookeeper/quota/q/zookeeper_stats"))
        # Outside the quota: unlimited.
        results.append(("outside", c.create("/free", b"x" * 100).err))
    assert results == [
        b"count=1,bytes=5",
        ("/q/a", 0), ("/q/b", 0), ("/q/c", ZQUOTAEXCEEDED), ("/q/a/deep", ZQUOTAEXCEEDED),
        ("set 30", ZQUOTAEXCEEDED), ("set 30 bad version", ZQUOTAEXCEEDED),
        ("set 10", 0), ("set 5 more", 0), ("set 6 more", ZQUOTAEXCEEDED),
        ("shrink", 0), ("delete frees", 0), ("create again", 0),
        b"count=3,bytes=10",
        ("outside", 0),
    ], results


@pytest.mark.parametrize("kind", KINDS)
def test_soft_limits_and_enforcement_off_never_fail(kind, server_factory):
    for enforce, limits in [(True, "count=1,bytes=1"),
                            (False, "count=-1,bytes=-1,countHardLimit=1,byteHardLimit=1")]:
        srv = start_server(kind, server_factory, enforce_quota=enforce)
        with RawClient(srv) as c:
            c.connect()
            assert c.create("/s").err == 0
            set_quota(c, "/s", limits)
            assert c.create("/s/a", b"xx").err == 0
            assert set_data(c, "/s/a", b"x" * 50) == 0
            assert get(c, "/zookeeper/quota/s/zookeeper_stats") == b"count=2,bytes=50"
