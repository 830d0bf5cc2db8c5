"""Actor tracing: zkd started with trace.file and some actor kinds writes one JSON
line per message between those actors; `zkd trace render` turns the file into a
Mermaid sequence diagram or a Perfetto trace.

The workload is a few kazoo writes. The trace must show the leader logging and
committing exactly the zxids kazoo saw in its Stats, the txn_log making them
durable, the session being created, and the client being accepted. zkd only:
Apache ZooKeeper has no such trace.
"""

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ServerError, ZkdServer, wait_until, zkd_bin, zkd_is_reference  # noqa: E402

TRACED = ["leader", "txn_log", "session_tracker", "client_listener", "peer"]

pytestmark = pytest.mark.skipif(zkd_is_reference(), reason="zkd's own tracing")


def read_trace(path):
    records = []
    if not os.path.exists(path):
        return records
    with open(path, encoding="utf-8") as f:
        for line in f:
            records.append(json.loads(line))
    return records


def render(*args):
    return subprocess.run([zkd_bin(), "trace", "render"] + list(args),
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def traced(server_factory, tmp_path):
    path = str(tmp_path / "trace.jsonl")
    srv = server_factory(ZkdServer, config={"trace": {"file": path, "actors": TRACED}})
    return srv, path


def test_writes_are_traced_with_their_zxids(traced, kazoo_factory):
    srv, path = traced
    c = kazoo_factory(srv)
    session = c.client_id[0]
    c.create("/traced", b"v0")
    created = c.exists("/traced").czxid
    changed = c.set("/traced", b"v1").mzxid
    seq_path = c.create("/traced/seq-", b"", sequence=True)
    seq = c.exists(seq_path).czxid
    zxids = [created, changed, seq]
    assert len(set(zxids)) == 3

    def appended():
        return {int(r["fields"]["zxid"], 16) for r in read_trace(path)
                if r["type"] == "log_append"}

    # The writer thread appends within tens of milliseconds.
    assert wait_until(lambda: set(zxids) <= appended(), 10.0), \
        "zxids %s not all in %s" % ([hex(z) for z in zxids], read_trace(path))
    assert wait_until(lambda: {z for z in zxids if any(
        r["type"] == "commit" and int(r["fields"]["zxid"], 16) >= z
        for r in read_trace(path))} == set(zxids), 10.0)
    records = read_trace(path)
    for r in records:
        assert r["node"] == 1
        assert isinstance(r["mono_ns"], int) and isinstance(r["wall_ns"], int)
        assert r["from"].split("#")[0] in TRACED + ["client", "datatree", "connection"]

    by_zxid = {}
    for r in records:
        if r["type"] == "log_append" and r["fields"].get("n") == 1:
            by_zxid[int(r["fields"]["zxid"], 16)] = r
    # One proposal per write (kazoo waits for each reply), with what it does.
    assert by_zxid[created]["fields"]["op"] == "create"
    assert by_zxid[created]["fields"]["path"] == "/traced"
    assert by_zxid[changed]["fields"]["op"] == "setData"
    assert by_zxid[seq]["fields"]["path"] == seq_path
    for z in zxids:
        f = by_zxid[z]["fields"]
        assert int(f["session"], 16) == session
        assert f["xid"] > 0
        assert by_zxid[z]["from"].startswith("leader#")
        assert by_zxid[z]["to"].startswith("txn_log#")
        # The log made it durable and the leader committed it.
        assert any(r["type"] == "log_durable" and r["from"].startswith("txn_log#") and
                   r["to"].startswith("leader#") and int(r["fields"]["zxid"], 16) >= z and
                   r["fields"]["records"] >= 1 for r in records)
        assert any(r["type"] == "commit" and r["to"].startswith("datatree#") and
                   int(r["fields"]["after"], 16) < z <= int(r["fields"]["zxid"], 16)
                   for r in records)

    # The session: created through the write path, then handed to the connection.
    writes = [r for r in records if r["type"] == "session_write"]
    assert any(int(r["fields"]["session"], 16) == session and
               r["fields"]["op"] == "createSession" for r in writes)
    established = [r for r in records if r["type"] == "session_established" and
                   int(r["fields"]["session"], 16) == session]
    assert len(established) == 1
    assert established[0]["to"].startswith("connection#")
    assert established[0]["fields"]["resumed"] is False
    conn = established[0]["to"]
    # The listener accepted the client and forked that connection.
    assert any(r["type"] == "fork" and r["to"] == conn for r in records)
    assert any(r["type"] == "accept" and r["from"] == "client#" + conn.split("#")[1]
               for r in records)
    # Start-up: the peer made the datatree lead an epoch.
    lead = [r for r in records if r["type"] == "lead"]
    assert len(lead) == 1 and lead[0]["fields"]["epoch"] == created >> 32

    # Time goes forward on the monotonic clock in every line's order of
    # sending from one actor.
    durable = [r["mono_ns"] for r in records if r["type"] == "log_durable"]
    assert durable == sorted(durable)


def test_render_names_the_messages(traced, kazoo_factory, tmp_path):
    srv, path = traced
    c = kazoo_factory(srv)
    c.create("/r", b"")
    zxid = c.exists("/r").czxid
    assert wait_until(lambda: any(r["type"] == "commit" and
                                  int(r["fields"]["zxid"], 16) >= zxid
                                  for r in read_trace(path)), 10.0)
    # A copy with a line that is not a record: skipped and counted.
    dirty = str(tmp_path / "dirty.jsonl")
    with open(path) as src, open(dirty, "w") as dst:
        dst.write(src.read())
        dst.write("not a trace line\n")

    out = render(dirty)
    assert out.returncode == 0, out.stderr
    assert "skipped 1 line" in out.stderr
    text = out.stdout
    assert text.startswith("sequenceDiagram\n")
    assert "log_append(zxid=%s" % hex(zxid) in text
    assert "commit(zxid=" in text
    assert "session_established(session=" in text
    participants = [l.split()[1] for l in text.splitlines()
                    if l.strip().startswith("participant ")]
    assert any(p.startswith("n1_leader_") for p in participants)
    assert any(p.startswith("n1_txn_log_") for p in participants)
    # Every arrow joins two declared participants.
    for l in text.splitlines():
        if "->>" in l:
            a, rest = l.strip().split("->>", 1)
            assert a in participants and rest.split(":", 1)[0] in participants

    # A filter on the zxid keeps that write's proposal, durability and commit.
    out = render(path, "--filter", "zxid=%d" % zxid)
    assert out.returncode == 0, out.stderr
    arrows = [l for l in out.stdout.splitlines() if "->>" in l]
    assert any("log_append(" in l for l in arrows)
    assert any("commit(" in l for l in arrows)
    assert all("zxid=" in l for l in arrows)
    out = render(path, "--filter", "actor=client_listener")
    assert out.returncode == 0, out.stderr
    assert all("fork" in l or "accept" in l or "down" in l
               for l in out.stdout.splitlines() if "->>" in l)
    # An empty window selects nothing and says so.
    out = render(path, "--from", "+1000s")
    assert out.returncode == 0
    assert "no message selected" in out.stderr

    perfetto = str(tmp_path / "trace.json")
    out = render(path, "--format", "perfetto", "-o", perfetto)
    assert out.returncode == 0, out.stderr
    with open(perfetto) as f:
        doc = json.load(f)
    events = doc["traceEvents"]
    names = {e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    assert any(n.startswith("leader#") for n in names)
    assert any(e["ph"] == "X" and e["name"] == "log_append" for e in events)
    flows = [e for e in events if e["ph"] in ("s", "f")]
    assert flows and len(flows) == 2 * len([e for e in events if e.get("cat") == "send"])

    bad = render(path, "--format", "svg")
    assert bad.returncode == 2
    bad = render(str(tmp_path / "missing.jsonl"))
    assert bad.returncode == 1


def test_untraced_kinds_write_nothing(server_factory, kazoo_factory, tmp_path):
    path = str(tmp_path / "trace.jsonl")
    srv = server_factory(ZkdServer, config={"trace": {"file": path, "actors": ["snapshotter"]}})
    c = kazoo_factory(srv)
    c.create("/quiet", b"")
    c.stop()
    # Nothing traced is expected, so give the writer a moment to prove it wrong.
    assert not wait_until(lambda: read_trace(path), 0.5)
    assert os.path.exists(path)


def test_kinds_without_a_file_stop_start_up(tmp_path):
    srv = ZkdServer(config={"trace": {"actors": ["leader"]}}, start=False)
    try:
        with pytest.raises(ServerError) as e:
            srv.start()
        assert "trace.file is empty" in str(e.value)
        assert srv.proc.returncode != 0
    finally:
        srv.close()


def test_log_levels_per_actor_kind(server_factory, kazoo_factory):
    """log.levels gives an actor kind its own level: txn_log at warn drops its
    "opened" line, session_tracker at debug adds the resumed-session line, and
    the rest stays at log.level."""

    def stderr_of(srv):
        with open(srv.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    plain = server_factory(ZkdServer)
    tuned = server_factory(ZkdServer, config={
        "log": {"level": "info", "levels": {"txn_log": "warn", "session_tracker": "debug"}}})
    for srv in (plain, tuned):
        c = kazoo_factory(srv)
        c.create("/x", b"")
        # A second client resuming the first one's session.
        session_id, password = c.client_id
        c2 = kazoo_factory(srv, client_id=(session_id, password))
        c2.exists("/x")
    assert "txn_log:" in stderr_of(plain) and "opened" in stderr_of(plain)
    assert not any("txn_log:" in l and "opened" in l for l in stderr_of(tuned).splitlines())
    assert "serving on" in stderr_of(tuned)
    assert wait_until(lambda: "resumed from" in stderr_of(tuned), 10.0)
    assert "resumed from" not in stderr_of(plain)


def test_a_client_request_is_traced_through_connection_and_dispatcher(server_factory,
                                                                       kazoo_factory, tmp_path):
    path = str(tmp_path / "conn.trace")
    srv = server_factory(ZkdServer, config={"trace": {"file": path,
                                                      "actors": ["connection",
                                                                 "watch_dispatcher",
                                                                 "datatree"]}})
    zk = kazoo_factory(srv)
    zk.create("/traced-read", b"x")
    zk.get("/traced-read")
    sid = "0x%x" % zk.client_id[0]
    zk.stop()
    srv.stop()
    recs = read_trace(path)
    types = [(r["from"].split("#")[0], r["to"].split("#")[0], r["type"]) for r in recs]
    # ConnectRequest in, to the tracker, the response out; then each request in,
    # batched to the datatree, its reply back through the dispatcher and out.
    for t in [("client", "connection", "connect_request"),
              ("connection", "session_tracker", "connect_session"),
              ("connection", "client", "connect_response"),
              ("connection", "watch_dispatcher", "attach"),
              ("client", "connection", "request"),
              ("connection", "datatree", "request_batch"),
              ("datatree", "leader", "propose"),
              ("datatree", "watch_dispatcher", "dispatch_batch"),
              ("datatree", "session_tracker", "session_applied"),
              ("watch_dispatcher", "connection", "outbound"),
              ("connection", "client", "reply")]:
        assert t in types, (t, types)
    ops = [r["fields"].get("op") for r in recs if r["type"] == "request"]
    assert "create" in ops and "getData" in ops, ops
    assert any(r["type"] == "reply" and r["fields"].get("session") == sid for r in recs)


def test_tracing_switched_at_run_time_through_the_admin_endpoint(server_factory, kazoo_factory,
                                                                 tmp_path):
    import urllib.request
    from harness import free_port
    admin = free_port()
    srv = server_factory(ZkdServer, config={"admin": {"enabled": True, "port": admin}})
    path = str(tmp_path / "runtime.trace")

    def switch(query):
        url = "http://127.0.0.1:%d/trace%s" % (admin, query)
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())

    assert switch("") == {"file": "", "kinds": [], "error": None}
    # No file yet: refused, nothing changes.
    assert switch("?kinds=leader")["error"]
    assert switch("?kinds=leader&file=" + path) == {"file": path, "kinds": ["leader"],
                                                    "error": None}
    zk = kazoo_factory(srv)
    zk.create("/on", b"")
    assert switch("?kinds=bogus")["error"] == "unknown actor kind 'bogus'"
    assert switch("?kinds=")["kinds"] == []
    zk.create("/off", b"")
    zk.stop()
    srv.stop()
    paths = [r["fields"].get("path") for r in read_trace(path) if r["type"] == "log_append"]
    assert "/on" in paths and "/off" not in paths, paths
