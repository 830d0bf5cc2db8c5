"""zkd import --from-zookeeper: a real Apache ZooKeeper 3.8 data directory in, a zkd
data directory out.

Apache ZooKeeper (snapCount 50, so its history is spread over several snapshots and
logs, most of them fuzzy) is given a varied tree: nested nodes, empty and null data,
sequential nodes, ephemerals of a session that is still alive when the server
stops, digest ACLs, setACL, setData versions, deletes, multis (one failing), a failed
create, containers and TTL nodes. Every node's data, full Stat and ACL are read
from ZooKeeper, which is then stopped with SIGTERM; `zkd import` converts its data
directory, zkd starts on the result and must serve exactly the same. New writes on
zkd must get zxids above ZooKeeper's. A ZooKeeper log damaged in the middle must
stop the import with exit code 3, naming the file and the byte offset; a torn last
entry is tolerated with a warning, as ZooKeeper does.
"""

import glob
import os
import re
import struct
import subprocess

from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError
from kazoo.security import make_acl, make_digest_acl

from harness import ZkdServer, ZooKeeperServer, kazoo_session, require_zkd, stop_quietly, zkd_bin
from rawclient import ZOK, RawClient, create_body, jute_long

OP_CREATE_CONTAINER = 19
OP_CREATE_TTL = 21
OP_CLOSE_SESSION = -11
CONTAINER = 4
PERSISTENT_WITH_TTL = 5
PERSISTENT_SEQUENTIAL_WITH_TTL = 6

AUTH = [("digest", "alice:secret"), ("digest", "bob:pw")]
SESSION_TIMEOUT_S = 60.0


class ZooKeeperWithTTL(ZooKeeperServer):
    """ZooKeeper with extended types (TTL nodes), a system property only."""

    def _command(self):
        cmd = super()._command()
        main = cmd.index("org.apache.zookeeper.server.ZooKeeperServerMain")
        return cmd[:main] + ["-Dzookeeper.extendedTypesEnabled=true"] + cmd[main:]


def walk(client):
    """path -> (data, Stat as a tuple of all its fields, ACL list) for every node."""
    out = {}

    def visit(path):
        data, stat = client.get(path)
        acl, _ = client.get_acls(path)
        out[path] = (data, stat._asdict(),
                     [(a.perms, a.id.scheme, a.id.id) for a in acl])
        for child in sorted(client.get_children(path)):
            visit(("" if path == "/" else path) + "/" + child)

    visit("/")
    return out


def differences(before, after):
    lines = []
    for path in sorted(set(before) | set(after)):
        if path not in after:
            lines.append("missing on zkd: %s" % path)
        elif path not in before:
            lines.append("only on zkd: %s" % path)
        elif before[path] != after[path]:
            lines.append("%s:\n  zookeeper %r\n  zkd       %r" % (path, before[path], after[path]))
    return "\n".join(lines)


def last_zxid(srv):
    m = re.search(r"Zxid: (0x[0-9a-f]+)", srv.four_letter_word("srvr"))
    assert m, "no Zxid in srvr"
    return int(m.group(1), 16)


def run_import(zk_data_dir, to):
    return subprocess.run([zkd_bin(), "import", "--from-zookeeper", zk_data_dir, "--to", to],
                          capture_output=True, text=True, timeout=120)


def raw_close(raw):
    """closeSession, so the raw client's session does not outlive the test."""
    raw.call(OP_CLOSE_SESSION)
    raw.close()


def write_varied_tree(zk):
    """The writes; returns the client whose session is left alive (with ephemerals)."""
    live = KazooClient(hosts=zk.hostport, timeout=SESSION_TIMEOUT_S)
    live.start(timeout=30)
    with kazoo_session(zk, timeout=SESSION_TIMEOUT_S, start_timeout=30, auth_data=AUTH) as c:
        c.create("/app", b"root of the app")
        c.create("/app/a/b/c/d/e", b"deep", makepath=True)
        c.create("/app/empty", b"")
        c.create("/app/null", None)
        for i in range(6):
            c.create("/app/seq/item-", b"%d" % i, sequence=True, makepath=True)
        alice = make_digest_acl("alice", "secret", all=True)
        bob_read = make_digest_acl("bob", "pw", read=True)
        world_read = make_acl("world", "anyone", read=True)
        c.create("/app/secret", b"alice only", acl=[alice])
        c.create("/app/shared", b"two ids", acl=[alice, bob_read, world_read])
        c.create("/app/acl", b"acl versions")
        c.set_acls("/app/acl", [alice, world_read])
        c.set_acls("/app/acl", [alice, bob_read])
        c.create("/app/counter", b"0")
        for i in range(1, 30):
            c.set("/app/counter", b"%d" % i)
        for i in range(20):
            c.create("/app/tmp/x%02d" % i, b"t" * i, makepath=True)
        for i in range(0, 20, 3):
            c.delete("/app/tmp/x%02d" % i)
        t = c.transaction()
        t.create("/app/multi", b"made in a multi")
        t.set_data("/app/counter", b"set in a multi")
        t.delete("/app/tmp/x01")
        t.check("/app/empty", 0)
        results = t.commit()
        assert not any(isinstance(r, Exception) for r in results), results
        t = c.transaction()
        t.create("/app/never", b"")
        t.check("/app/counter", 12345)
        results = t.commit()
        assert any(isinstance(r, Exception) for r in results), results
        try:
            c.create("/app", b"again")
            raise AssertionError("create of an existing node succeeded")
        except NodeExistsError:
            pass
        # Ephemerals: of the session that stays alive, and of one that closes.
        live.create("/app/eph", b"alive", ephemeral=True)
        live.create("/app/seq/eph-", b"alive too", ephemeral=True, sequence=True)
        with kazoo_session(zk, timeout=SESSION_TIMEOUT_S, start_timeout=30) as gone:
            gone.create("/app/gone", b"closed with its session", ephemeral=True)
        # Containers and TTL nodes (no kazoo API for them).
        raw = RawClient(zk)
        raw.connect(timeout_ms=int(SESSION_TIMEOUT_S * 1000))
        assert raw.call(OP_CREATE_CONTAINER, create_body("/app/box", b"", CONTAINER)).err == ZOK
        assert raw.create("/app/box/thing", b"keeps the container").err == ZOK
        assert raw.call(OP_CREATE_CONTAINER, create_body("/app/unused-box", b"box",
                                                         CONTAINER)).err == ZOK
        ttl_ms = 3600 * 1000
        assert raw.call(OP_CREATE_TTL, create_body("/app/ttl", b"lives an hour",
                                                   PERSISTENT_WITH_TTL) + jute_long(ttl_ms)).err == ZOK
        assert raw.call(OP_CREATE_TTL, create_body("/app/ttl-seq-", b"",
                                                   PERSISTENT_SEQUENTIAL_WITH_TTL) +
                        jute_long(ttl_ms)).err == ZOK
        raw_close(raw)
        # Volume, so snapCount 50 gives several snapshots and logs.
        for i in range(150):
            c.create("/app/bulk/n%03d" % i, os.urandom(i % 40), makepath=True)
        for i in range(0, 150, 2):
            c.set("/app/bulk/n%03d" % i, b"second version")
        for i in range(0, 150, 5):
            c.delete("/app/bulk/n%03d" % i)
        c.set("/app", b"last write")
    return live


def test_import_serves_zookeepers_tree(server_factory, tmp_path):
    require_zkd()
    zk = server_factory(ZooKeeperWithTTL, extra_cfg={
        "snapCount": 50, "maxSessionTimeout": int(SESSION_TIMEOUT_S * 1000)})
    live = write_varied_tree(zk)
    try:
        with kazoo_session(zk, timeout=SESSION_TIMEOUT_S, start_timeout=30,
                           auth_data=AUTH) as reader:
            before = walk(reader)
        zk_last = last_zxid(zk)
        assert before["/app/eph"][1]["ephemeralOwner"] == live.client_id[0]
        assert before["/app/box"][1]["ephemeralOwner"] == 0
        assert before["/app/null"][0] is None and before["/app/empty"][0] == b""
        assert zk.stop() is not None
        v2 = os.path.join(zk.data_dir, "version-2")
        snapshots = glob.glob(os.path.join(v2, "snapshot.*"))
        logs = glob.glob(os.path.join(v2, "log.*"))
        assert len(snapshots) >= 3 and len(logs) >= 3, (snapshots, logs)

        out = str(tmp_path / "zkd-data")
        r = run_import(zk.data_dir, out)
        assert r.returncode == 0, r.stdout + r.stderr
        # ZooKeeper recorded its tree digest in the snapshot and with every txn;
        # the imported tree must have matched each one.
        assert "differ" not in r.stderr, r.stderr
        assert "tree digests compared" in r.stdout, r.stdout
        with open(os.path.join(out, "current_epoch")) as f:
            assert int(f.read()) == zk_last >> 32

        # A non-empty target is refused and left alone.
        again = run_import(zk.data_dir, out)
        assert again.returncode == 2 and "not empty" in again.stderr, again.stderr

        zkd = server_factory(ZkdServer, config={"data_dir": out, "extended_types": True})
        with kazoo_session(zkd, timeout=SESSION_TIMEOUT_S, auth_data=AUTH) as c:
            after = walk(c)
            assert before == after, differences(before, after)
            # New writes continue above ZooKeeper's zxids, in a later epoch.
            _, stat = c.create("/app/after-import", b"new", include_data=True)
            assert stat.czxid > zk_last
            assert stat.czxid >> 32 > zk_last >> 32
            c.set("/app", b"changed on zkd")
            assert c.get("/app")[1].mzxid > stat.czxid
            now = walk(c)
        # zkd recovers the imported snapshot plus its own log after a restart.
        zkd.restart()
        with kazoo_session(zkd, timeout=SESSION_TIMEOUT_S, auth_data=AUTH) as c:
            again = walk(c)
            assert now == again, differences(now, again)
    finally:
        stop_quietly(live)


def log_entries(path):
    """(offset, payload length) of every complete entry of a ZooKeeper log."""
    with open(path, "rb") as f:
        data = f.read()
    pos, out = 16, []
    while pos + 12 <= len(data):
        _, length = struct.unpack_from(">qi", data, pos)
        if length <= 0 or pos + 13 + length > len(data) or data[pos + 12 + length] != 0x42:
            break
        out.append((pos, length))
        pos += 13 + length
    return out


def test_import_stops_on_a_damaged_zookeeper_log(server_factory, tmp_path):
    require_zkd()
    zk = server_factory(ZooKeeperServer)
    with kazoo_session(zk, start_timeout=30) as c:
        for i in range(40):
            c.create("/n%02d" % i, b"value %d" % i)
    zk.stop()
    v2 = os.path.join(zk.data_dir, "version-2")
    logs = sorted(glob.glob(os.path.join(v2, "log.*")))
    assert len(logs) == 1, logs
    log = logs[0]
    entries = log_entries(log)
    assert len(entries) >= 40, len(entries)
    with open(log, "rb") as f:
        pristine = f.read()

    # A flipped byte in the middle of the log: corruption, not a torn write.
    offset, length = entries[len(entries) // 2]
    damaged = bytearray(pristine)
    damaged[offset + 12 + length // 2] ^= 0x20
    with open(log, "wb") as f:
        f.write(damaged)
    out = str(tmp_path / "damaged")
    r = run_import(zk.data_dir, out)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "%s at byte %d" % (log, offset) in r.stderr, r.stderr
    assert not os.path.exists(out)

    # The last entry torn by a crash (its tail never reached the disk): ZooKeeper
    # drops it on restart, and so does the import, with a warning.
    offset, length = entries[-1]
    torn = bytearray(pristine)
    torn[offset + 12 + length // 2: offset + 13 + length] = bytes(length - length // 2 + 1)
    with open(log, "wb") as f:
        f.write(torn)
    out = str(tmp_path / "torn")
    r = run_import(zk.data_dir, out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "%s at byte %d" % (log, offset) in r.stderr, r.stderr
    assert "warning" in r.stderr
