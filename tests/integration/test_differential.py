"""Differential tests: the same operations against zkd and Apache ZooKeeper 3.8,
comparing replies, Stats, errors and watch events (see zk_transcript.py for how
values that may legitimately differ are normalised).

Run with ZKD_BIN=zookeeper to check the suite itself against ZooKeeper on both sides.
"""

import os

import pytest
from kazoo.protocol.serialization import CheckVersion, Create, Delete, SetData, Sync
from kazoo.security import OPEN_ACL_UNSAFE

from harness import ZooKeeperServer, multi_supported
from rawclient import create_body, create_packet_length, jute_int, jute_string
from zk_transcript import assert_same, run_scenario

PERSISTENT, EPHEMERAL, PERSISTENT_SEQ, EPHEMERAL_SEQ = 0, 1, 2, 3


@pytest.fixture
def pair(zkd, zookeeper):
    zookeeper.wipe()
    return zkd, zookeeper


@pytest.fixture
def fresh_pair(zkd, server_factory):
    """For scenarios that look at the Stats of / and /zookeeper, which keep the
    history of every earlier test on a shared server."""
    return zkd, server_factory(ZooKeeperServer)


def differential(pair, scenario):
    zkd, zookeeper = pair
    ref = run_scenario(zookeeper, scenario)
    got = run_scenario(zkd, scenario)
    if os.environ.get("ZKD_SHOW_TRANSCRIPT"):
        print("\n".join(ref.render()))
    assert_same(ref, got)
    return ref, got


# -- create ------------------------------------------------------------------------

def test_create_modes_and_stats(pair):
    def scenario(r):
        a = r.session("A")
        a.create("/t", b"parent")
        a.exists("/t")
        a.create("/t/p", b"persistent", PERSISTENT)
        a.create("/t/e", b"ephemeral", EPHEMERAL)
        a.create("/t/ps-", b"pseq", PERSISTENT_SEQ)
        a.create("/t/es-", b"eseq", EPHEMERAL_SEQ)
        for p in ["/t", "/t/p", "/t/e", "/t/ps-0000000002", "/t/es-0000000003"]:
            a.get(p)
        a.children2("/t")
        a.create2("/t/c2", b"with stat")
        a.create2("/t/c2e", b"", EPHEMERAL)
        a.create2("/t/c2s-", b"x", PERSISTENT_SEQ)
        a.get("/t/c2")
        a.exists("/t")

    differential(pair, scenario)


def test_create_errors(pair):
    def scenario(r):
        a = r.session("A")
        a.create("/t", b"")
        a.create("/t", b"again")                       # NodeExists
        a.create("/missing/child", b"")                # NoNode
        a.create("/t/e", b"", EPHEMERAL)
        a.create("/t/e/child", b"")                    # NoChildrenForEphemerals
        a.create("/t/e/seq-", b"", PERSISTENT_SEQ)
        a.create("/t/e/eph", b"", EPHEMERAL)
        a.create2("/t", b"")
        a.create2("/missing/x", b"")
        a.create("/t/x", b"", 7)                       # invalid flags
        a.create("/t/acl", b"", PERSISTENT, acl=[])    # empty ACL -> InvalidACL
        a.exists("/t")

    differential(pair, scenario)


def test_sequential_numbering(pair):
    def scenario(r):
        a = r.session("A")
        a.create("/s", b"")
        a.create("/s/n-", b"", PERSISTENT_SEQ)
        a.create("/s/n-", b"", PERSISTENT_SEQ)
        a.delete("/s/n-0000000000")
        a.exists("/s")
        a.create("/s/n-", b"", PERSISTENT_SEQ)         # deletes do not advance the counter
        a.create("/s/plain", b"")
        a.delete("/s/plain")
        a.exists("/s")
        a.create("/s/n-", b"", EPHEMERAL_SEQ)          # non-sequential siblings do
        a.create("/s/", b"", PERSISTENT_SEQ)           # empty prefix
        a.create("/s/plain", b"")
        a.create("/s/plain", b"")                      # failed create: no advance
        a.delete("/s/nothing")
        a.create("/s/n-", b"", PERSISTENT_SEQ)
        a.create("/s/n-0000000009", b"")               # collides with the next name
        a.create("/s/n-", b"", PERSISTENT_SEQ)
        a.children2("/s")
        a.create("/s2", b"")
        a.create("/s2/x-", b"", PERSISTENT_SEQ)        # counters are per parent
        a.create("/s/sub", b"")
        a.create("/s/sub/y", b"", PERSISTENT_SEQ)
        a.create("/s/sub/.", b"", PERSISTENT_SEQ)      # "." plus suffix is a valid name

    differential(pair, scenario)


INVALID_PATHS = ["a", "/a/", "//a", "/a/./b", "/a/../b", "/.", "/..", "/a/.", "/a/..",
                 "/a//b", "/a/b/", "/a\x00b", "/a\x01", "/a\u007f", "/a\ud7ff",
                 "/a\uf8ff", "/a\ufff0"]


def test_invalid_paths(pair):
    def scenario(r):
        a = r.session("A")
        # Where the parent is missing ZooKeeper reports NoNode before looking at the
        # rest of the path; with /a present it reaches the path check.
        for present in (False, True):
            if present:
                a.create("/a", b"")
                a.create("/a/b", b"")
            for p in INVALID_PATHS:
                a.create(p, b"")
                a.delete(p)
                a.set(p, b"x")
                a.exists(p)
                a.get(p)
                a.children(p)
        # A zero-length path (kazoo itself would send "" as null).
        a.raw("create(<zero-length path>)", Create.type, create_body(""))
        a.raw("delete(<zero-length path>)", Delete.type, jute_string("") + jute_int(-1))
        a.raw("create(<null path>)", Create.type, create_body(None))
        a.children("/")

    differential(pair, scenario)


def test_system_nodes(fresh_pair):
    def scenario(r):
        a = r.session("A")
        a.children("/")
        a.children("/zookeeper")
        for p in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"]:
            a.get(p)
        a.delete("/")
        a.delete("/zookeeper")
        a.delete("/zookeeper/quota")
        a.delete("/zookeeper/config")
        a.create("/zookeeper", b"")
        a.create("/zookeeper/config", b"")
        a.create("/zookeeper/config/x", b"")
        a.set("/zookeeper/config", b"x")
        a.create("/zookeeper/mine", b"data")
        a.get("/zookeeper/mine")
        a.delete("/zookeeper/mine")
        a.sync("/zookeeper")
        a.get("/")
        a.get("/zookeeper")

    differential(fresh_pair, scenario)


# -- delete, exists, data ----------------------------------------------------------

def test_delete_versions(pair):
    def scenario(r):
        a = r.session("A")
        a.create("/d", b"")
        a.create("/d/c", b"")
        a.delete("/d")                                 # NotEmpty
        a.delete("/d/c", 5)                            # BadVersion
        a.set("/d/c", b"1")
        a.delete("/d/c", 0)                            # BadVersion (now 1)
        a.delete("/d/c", 1)
        a.delete("/d/c")                               # NoNode
        a.delete("/nope", 3)                           # NoNode wins over the version
        a.exists("/d")
        a.delete("/d", 0)
        a.exists("/d")
        a.children("/")

    differential(pair, scenario)


def test_data_versions_and_stats(pair):
    def scenario(r):
        a = r.session("A")
        a.exists("/v")
        a.create("/v", b"zero")
        a.exists("/v")
        a.set("/v", b"one")                            # -1: any version
        a.set("/v", b"two", 1)                         # exact
        a.set("/v", b"bad", 1)                         # BadVersion
        a.set("/v", b"bad", 7)
        a.get("/v")
        a.set("/missing", b"x")                        # NoNode
        a.set("/missing", b"x", 3)
        a.set("/v", b"", 2)                            # empty
        a.get("/v")
        a.set("/v", None)                              # null
        a.get("/v")
        a.create("/nul", None)
        a.get("/nul")
        a.create("/empty", b"")
        a.get("/empty")
        a.set("/v", bytes(range(256)))
        a.get("/v")
        a.create("/v/c1", b"")
        a.create("/v/c2", b"")
        a.delete("/v/c1")
        a.get("/v")                                    # cversion, pzxid, numChildren
        a.children2("/v")
        a.children("/v")
        a.children("/missing")
        a.children2("/missing")
        a.get("/missing")

    differential(pair, scenario)


def test_large_data(pair):
    big = bytes((i * 7) & 0xFF for i in range(1000 * 1000))
    # A create frame of exactly jute.maxbuffer (1048575) bytes is still accepted.
    at_limit = 1048575 - create_packet_length("/big/limit", 0)

    def scenario(r):
        a = r.session("A")
        a.create("/big", b"")
        a.create("/big/one", big)
        a.get("/big/one")
        a.set("/big/one", big[:500000])
        a.get("/big/one")
        a.create("/big/limit", b"y" * at_limit)
        a.exists("/big/limit")

    differential(pair, scenario)


def test_sync(pair):
    def scenario(r):
        a = r.session("A")
        a.sync("/")
        a.sync("/nonexistent")
        a.sync("relative")
        a.create("/x", b"")
        a.sync("/x")
        a.raw("sync(<zero-length path>)", Sync.type, jute_string(""),
              lambda buf, off: repr(buf[off:off + 4]))

    differential(pair, scenario)


def test_ephemeral_owner_and_close(pair):
    def scenario(r):
        a = r.session("A")
        b = r.session("B")
        a.create("/o", b"")
        a.create("/o/a", b"", EPHEMERAL)
        b.create("/o/b", b"", EPHEMERAL)
        b.create("/o/bs-", b"", EPHEMERAL_SEQ)
        a.exists("/o/a")
        a.exists("/o/b")
        b.get("/o/a")
        a.children2("/o")
        b.close()
        a.children2("/o")
        a.exists("/o/b")
        a.delete("/o/a")                               # the owner may delete it early
        a.create("/o/a", b"", EPHEMERAL)
        a.exists("/o/a")

    differential(pair, scenario)


# -- multi -------------------------------------------------------------------------

def test_multi_with_check(pair):
    if not multi_supported(pair[0]):
        pytest.xfail("zkd does not support multi yet")

    def scenario(r):
        a = r.session("A")
        a.create("/m", b"")
        a.multi("create+set+check ok", [
            Create("/m/a", b"1", OPEN_ACL_UNSAFE, 0),
            SetData("/m", b"p", 0),
            CheckVersion("/m", 1)])
        a.multi("check fails -> rollback", [
            Create("/m/b", b"", OPEN_ACL_UNSAFE, 0),
            CheckVersion("/m", 0)])
        a.children2("/m")
        a.multi("delete + create seq", [
            Delete("/m/a", 0),
            Create("/m/s-", b"", OPEN_ACL_UNSAFE, PERSISTENT_SEQ)])
        a.multi("empty", [])
        a.children2("/m")

    differential(pair, scenario)


# -- watches -----------------------------------------------------------------------

def test_exists_watch_fires_created(pair):
    def scenario(r):
        a = r.session("A")
        b = r.session("B")
        a.exists("/w", watch=True)
        b.create("/w", b"")
        a.barrier()
        b.set("/w", b"again")                          # the watch was one-shot
        b.delete("/w")
        a.barrier()
        a.exists("/w", watch=True)
        a.create("/w", b"")                            # own write: event before reply
        a.exists("/w", watch=True)                     # exists watch on a present node
        b.set("/w", b"x")
        a.barrier()

    differential(pair, scenario)


def test_data_watches(pair):
    def scenario(r):
        a = r.session("A")
        b = r.session("B")
        a.create("/d", b"0")
        a.get("/d", watch=True)
        b.set("/d", b"1")
        a.barrier()
        a.get("/d", watch=True)
        b.set("/d", b"2")
        b.set("/d", b"3")                              # fires once only
        a.barrier()
        a.get("/d", watch=True)
        a.exists("/d", watch=True)                     # same path, second kind
        b.delete("/d")
        a.barrier()
        a.get("/d", watch=True)                        # NoNode: no watch is left
        b.create("/d", b"")
        a.barrier()
        a.get("/d", watch=True)
        a.set("/d", b"own")                            # event before own reply
        a.get("/d")
        a.get("/d", watch=True)
        a.set("/d", b"x", 99)                          # failed write: no event
        a.barrier()

    differential(pair, scenario)


def test_child_watches(pair):
    def scenario(r):
        a = r.session("A")
        b = r.session("B")
        a.create("/c", b"")
        a.children("/c", watch=True)
        b.create("/c/1", b"")
        a.barrier()
        a.children2("/c", watch=True)
        b.create("/c/2", b"")
        b.create("/c/3", b"")
        a.barrier()
        a.children("/c", watch=True)
        b.delete("/c/1")
        a.barrier()
        a.children("/c", watch=True)
        b.set("/c", b"data change does not fire a child watch")
        b.set("/c/2", b"nor does a child's data")
        a.barrier()
        b.create("/c/4", b"")
        a.barrier()
        a.children("/c/2", watch=True)
        a.get("/c/2", watch=True)
        a.children("/c", watch=True)
        b.delete("/c/2")                               # child watch on the deleted node
        a.barrier()
        a.children("/c", watch=True)
        a.children("/c", watch=True)                   # registered twice: fires once
        a.create("/c/5", b"")
        a.barrier()
        a.children("/nope", watch=True)                # NoNode: no watch
        b.create("/nope", b"")
        a.barrier()

    differential(pair, scenario)


def test_event_before_later_reply(pair):
    """An event must reach the client before the reply to any request the client
    sent after the change; and in the order the changes happened."""
    def scenario(r):
        a = r.session("A")
        b = r.session("B")
        a.create("/q", b"")
        a.create("/q/x", b"")
        a.get("/q/x", watch=True)
        a.children("/q", watch=True)
        a.exists("/q/new", watch=True)
        b.set("/q/x", b"1")
        b.create("/q/new", b"")
        a.get("/q")                                    # all three events precede this
        a.get("/q/x", watch=True)
        a.exists("/q/new", watch=True)
        a.children("/q", watch=True)
        b.delete("/q/new")                             # NodeDeleted then ChildrenChanged
        a.sync("/q")
        b.delete("/q/x")
        a.children("/q")

    differential(pair, scenario)


def test_watches_on_ephemerals_fire_on_close(pair):
    def scenario(r):
        a = r.session("A")
        b = r.session("B")
        a.create("/e", b"")
        b.create("/e/owned", b"", EPHEMERAL)
        a.exists("/e/owned", watch=True)
        a.get("/e/owned", watch=True)
        a.children("/e", watch=True)
        b.close()
        a.barrier()
        a.exists("/e/owned")
        a.children2("/e")

    differential(pair, scenario)


def test_close_fires_watches_of_several_sessions(pair):
    """A second session's ephemerals, watched by getData and exists from two
    sessions, vanish with one event per session and watch kind."""
    def scenario(r):
        a = r.session("A")
        b = r.session("B")
        c = r.session("C")
        a.create("/f", b"")
        c.create("/f/c", b"", EPHEMERAL)
        a.get("/f/c", watch=True)
        b.exists("/f/c", watch=True)
        b.children("/f", watch=True)
        c.close()
        a.barrier()
        b.barrier()
        a.children("/f")

    differential(pair, scenario)
