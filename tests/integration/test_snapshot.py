"""Snapshots, purge and recovery from snapshot + log, end to end.

zkd runs with a small snapshot_count, so a few thousand writes take many
snapshots; then:
- the data directory holds exactly snapshot_retain snapshots, and only the
  log segments a kept snapshot may need;
- `zkd inspect` verifies every file and prints what it holds;
- after a restart every znode has the same data and Stat (every field);
- a damaged snapshot stops the node with exit code 3 and a message naming
  the file and byte offset; moved away, the node starts from the older
  snapshot and the log, with the same tree;
- kill -9 in the middle of writes (and so, often, of a snapshot) loses
  nothing acknowledged.
zkd only: ZooKeeper's files are another format.
"""

import json
import os
import random
import re
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ServerError, ZkdServer, require_zkd, wait_until, zkd_bin, zkd_is_reference  # noqa: E402

SNAPSHOT_RE = re.compile(r"^snapshot\.([0-9a-f]{16})$")
LOG_RE = re.compile(r"^log\.([0-9a-f]{16})$")


@pytest.fixture(autouse=True)
def _zkd_only():
    require_zkd()
    if zkd_is_reference():
        pytest.skip("zkd's snapshot files; ZooKeeper has its own")


def snapshots(data_dir):
    return sorted(int(m.group(1), 16) for m in map(SNAPSHOT_RE.match, os.listdir(data_dir)) if m)


def segments(data_dir):
    return sorted(int(m.group(1), 16) for m in map(LOG_RE.match, os.listdir(data_dir)) if m)


def inspect(*args):
    return subprocess.run([zkd_bin(), "inspect"] + list(args), capture_output=True, text=True,
                          timeout=120)


def log_count(srv, pattern):
    with open(srv.stderr_path, errors="replace") as f:
        return len(re.findall(pattern, f.read()))


def snapshots_written(srv):
    return log_count(srv, r"snapshot \S+ written")


def unfinished_snapshots(srv):
    # Only snapshots: the log's spare segment (log.spare.tmp) comes and goes.
    return [n for n in os.listdir(srv.data_dir)
            if n.startswith("snapshot.") and n.endswith(".tmp")]


def snapshots_settled(srv):
    """No snapshot is being taken: every one started has finished."""
    return (log_count(srv, r"snapshot of zxid \S+ started") ==
            log_count(srv, r"datatree: snapshot \S+ done") and
            not unfinished_snapshots(srv))


def read_all(client, path="/"):
    """{path: (data, stat)} of the whole tree but /zookeeper's internals."""
    out = {}
    stack = [path]
    while stack:
        p = stack.pop()
        data, stat = client.get(p)
        out[p] = (data, stat)
        for child in client.get_children(p):
            if p == "/" and child == "zookeeper":
                continue
            stack.append(("" if p == "/" else p) + "/" + child)
    return out


def write_load(client, eph_client, rng, rounds):
    """Creates, setData, setACL and deletes, plus ephemerals of a second session."""
    from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE

    live = []
    for r in range(rounds):
        base = "/load/r%d" % r
        client.ensure_path(base)
        batch = [client.create_async("%s/n%03d" % (base, i), os.urandom(rng.randrange(0, 300)))
                 for i in range(100)]
        for b in batch:
            live.append(b.get(timeout=30))
        for p in rng.sample(live, 40):
            client.set(p, os.urandom(rng.randrange(0, 500)))
        for p in rng.sample(live, 10):
            client.set_acls(p, [make_digest_acl("u", "p", all=True)] + list(OPEN_ACL_UNSAFE))
        for p in rng.sample(live, 20):
            client.delete(p)
            live.remove(p)
        eph_client.create("%s/eph" % base, b"mine", ephemeral=True)
        client.create("%s/seq-" % base, b"", sequence=True)
        client.create("%s/empty" % base, b"")


def test_snapshots_purge_inspect_and_restart(server_factory, kazoo_factory):
    # Sessions long enough to outlive the restarts below: their ephemerals
    # are part of what must come back.
    srv = server_factory(ZkdServer, config={"snapshot_count": 60, "snapshot_retain": 3,
                                            "snapshot_tree_percent": 0,
                                            "max_session_timeout_ms": 120000})
    client = kazoo_factory(srv)
    eph = kazoo_factory(srv, timeout=120.0)
    write_load(client, eph, random.Random(1), 12)

    # Many snapshots were taken; wait for the last one to finish.
    assert wait_until(lambda: snapshots_written(srv) >= 10 and snapshots_settled(srv), 30), \
        srv.logs()
    taken = snapshots_written(srv)
    snaps = snapshots(srv.data_dir)
    segs = segments(srv.data_dir)
    assert len(snaps) == 3, (snaps, taken)
    assert not unfinished_snapshots(srv)
    # The log reaches back to the oldest kept snapshot, and no further than
    # the segment that holds the txn right after it.
    assert segs[0] <= snaps[0] + 1, (segs, snaps)
    assert len(segs) == 1 or segs[1] > snaps[0] + 1, (segs, snaps)
    assert len(segs) < taken

    before = read_all(client)
    assert len(before) > 12 * 80
    last_zxid = max(max(stat.mzxid, stat.pzxid) for _, stat in before.values())
    # The ephemerals' session stays open (its client reconnects after the
    # restart); the other one closes, which changes no znode.
    client.stop()
    assert srv.stop() == 0
    # Closing that session is a txn, and can be the one that makes the next
    # snapshot due (and purges the oldest): look again.
    snaps = snapshots(srv.data_dir)
    assert len(snaps) == 3, snaps

    # Every file checks out, and inspect shows what is in it.
    for z in snaps:
        path = os.path.join(srv.data_dir, "snapshot.%016x" % z)
        r = inspect("snapshot", path)
        assert r.returncode == 0, r.stderr
        assert "zxid 0x%x" % z in r.stdout
        assert ": verified" in r.stdout
    newest = os.path.join(srv.data_dir, "snapshot.%016x" % snaps[-1])
    r = inspect("snapshot", newest, "--json")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines[0]["type"] == "header" and int(lines[0]["zxid"], 16) == snaps[-1]
    nodes = {n["path"]: n for n in lines if n.get("type") == "node"}
    assert lines[-1]["status"] == "verified"
    assert lines[-1]["nodes"] == len(nodes)
    # A znode untouched since the snapshot has the same Stat in both.
    for path, (data, stat) in before.items():
        n = nodes.get(path)
        if n and stat.mzxid <= snaps[-1] and stat.pzxid <= snaps[-1]:
            assert int(n["czxid"], 16) == stat.czxid, path
            assert int(n["mzxid"], 16) == stat.mzxid, path
            assert n["version"] == stat.version, path
            assert n["data_length"] == len(data), path
    r = inspect("log", srv.data_dir, "--json")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    zxids = [int(rec["zxid"], 16) for rec in records if "zxid" in rec and "type" in rec]
    assert zxids == sorted(zxids) and len(set(zxids)) == len(zxids)
    assert zxids[0] <= snaps[0] + 1 and zxids[-1] >= last_zxid
    assert records[-1]["status"] == "verified"
    assert {rec["type"] for rec in records if "type" in rec} >= {
        "create", "setData", "setACL", "delete"}
    r = inspect("log", srv.data_dir)
    assert r.returncode == 0 and "verified" in r.stdout

    # Restart: snapshot + log give back every znode with its Stat.
    srv.start()
    client = kazoo_factory(srv)
    after = read_all(client)
    assert set(after) == set(before)
    for path in before:
        assert after[path] == before[path], path
    with open(srv.stderr_path) as f:
        assert "loaded snapshot" in f.read()
    client.create("/after-restart", b"")
    assert client.exists("/after-restart").czxid > last_zxid
    client.delete("/after-restart")
    before = read_all(client)
    client.stop()
    assert wait_until(lambda: snapshots_settled(srv), 30)
    srv.stop()

    # A damaged newest snapshot stops the node: exit 3, file and offset.
    snaps = snapshots(srv.data_dir)
    assert len(snaps) >= 2
    newest = os.path.join(srv.data_dir, "snapshot.%016x" % snaps[-1])
    good = open(newest, "rb").read()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x40
    with open(newest, "wb") as f:
        f.write(bad)
    with pytest.raises(ServerError):
        srv.start()
    assert srv.proc.returncode == 3
    with open(srv.stderr_path) as f:
        err = f.read().split("==== start #")[-1]
    m = re.search(re.escape(newest) + r" at byte (\d+)", err)
    assert m, err
    assert int(m.group(1)) <= len(bad) // 2
    r = inspect("snapshot", newest)
    assert r.returncode == 3
    assert newest + " at byte " + m.group(1) in r.stderr
    # The operator moves it away: the older snapshot and the log still hold
    # everything.
    os.rename(newest, os.path.join(srv.workdir, "damaged-snapshot"))
    srv.start()
    client = kazoo_factory(srv)
    again = read_all(client)
    assert set(again) == set(before)
    for path in before:
        assert again[path] == before[path], path


def test_kill9_during_snapshots_loses_nothing_acknowledged(server_factory, kazoo_factory):
    srv = server_factory(ZkdServer, config={"snapshot_count": 20,
                                            "snapshot_tree_percent": 0})
    rng = random.Random(7)
    acked = {}
    for round_ in range(4):
        client = kazoo_factory(srv, timeout=30.0)
        client.ensure_path("/k%d" % round_)
        pending = []
        deadline = time.monotonic() + rng.uniform(0.3, 1.0)
        i = 0
        while time.monotonic() < deadline:
            path = "/k%d/n%05d" % (round_, i)
            data = os.urandom(rng.randrange(0, 200))
            pending.append((path, data, client.create_async(path, data)))
            i += 1
            if len(pending) >= 64:
                p, d, a = pending.pop(0)
                a.get(timeout=30)
                acked[p] = d
        srv.kill9()
        for p, d, a in pending:
            try:
                a.get(timeout=0)
                acked[p] = d
            except Exception:
                pass
        client.stop()
        srv.start()
        check = kazoo_factory(srv, timeout=30.0)
        for p, d in acked.items():
            data, _ = check.get(p)
            assert data == d, p
        check.stop()
    assert snapshots_written(srv) > 0
    assert len(snapshots(srv.data_dir)) <= 3
