"""`zkd bench` against a zkd started here: every workload for about a second,
checking that the counts add up (ops = successes + errors, no errors on a clean
run, every node the create workloads report exists), that errors are counted by
ZooKeeper's code names, and that tests/bench/compare.py still runs end to end in
its --short (CI) mode. No speed is asserted anywhere."""

import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import kazoo_session  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMPARE = os.path.join(REPO, "tests", "bench", "compare.py")
WORKLOADS = ["create", "set", "get", "exists", "mixed", "ephemeral", "multi", "watch"]


@pytest.fixture(autouse=True)
def real_zkd():
    if harness.zkd_is_reference():
        pytest.skip("zkd bench is part of the zkd binary; ZKD_BIN=zookeeper has none")
    harness.require_zkd()


def bench(server, *args, timeout=60, expect_rc=0):
    """Runs `zkd bench ARGS --hosts SERVER --json`; returns (json, stderr)."""
    cmd = [harness.zkd_bin(), "bench"] + [str(a) for a in args] + [
        "--hosts", server.hostport, "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == expect_rc, (cmd, proc.returncode, proc.stdout, proc.stderr)
    if expect_rc != 0:
        return None, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0]), proc.stderr


def check_counts(res):
    assert res["ops"] > 0, res
    assert res["ops"] == res["successes"] + res["errors_total"], res
    assert res["errors_total"] == sum(res["errors"].values()), res
    assert res["errors"] == {}, res
    # Percentiles are ordered and bounded by the maximum.
    assert 0 < res["p50_us"] <= res["p90_us"] <= res["p99_us"] <= res["p999_us"] <= \
        res["max_us"], res


@pytest.mark.parametrize("workload", WORKLOADS)
def test_each_workload_counts_add_up(zkd, workload):
    sessions = 4
    res, err = bench(zkd, workload, "--seconds", 1, "--sessions", sessions,
                     "--outstanding", 4, "--nodes", 100, "--multi-size", 5)
    assert res["workload"] == workload
    check_counts(res)
    assert "zkd bench: measuring" in err and "zkd bench: measured" in err
    with kazoo_session(zkd) as c:
        if workload == "create":
            children = c.get_children(res["dir"])
            assert res["created"] == res["successes"]
            assert len(children) == res["created"]
            data, stat = c.get(res["dir"] + "/" + children[0])
            assert stat.dataLength == 128 and len(data) == 128
        elif workload == "ephemeral":
            # Every create was followed by its delete, and the sessions are
            # closed: nothing is left.
            assert c.get_children("/zkd-bench/eph") == []
        elif workload == "watch":
            # Each measured round notifies every watcher exactly once.
            assert res["rounds"] > 0
            assert res["successes"] == res["rounds"] * (sessions - 1)
            assert res["fanout_p50_us"] > 0 and res["write_p50_us"] > 0
        else:
            assert len(c.get_children("/zkd-bench/keys")) == 100


def test_multi_create_leaves_every_node(zkd):
    res, _ = bench(zkd, "multi", "--multi-op", "create", "--multi-size", 3,
                   "--seconds", 1, "--sessions", 2, "--outstanding", 2)
    check_counts(res)
    assert res["created"] == 3 * res["successes"]
    with kazoo_session(zkd) as c:
        assert len(c.get_children(res["dir"])) == res["created"]


def test_ops_mode_runs_exactly_that_many_with_two_threads(zkd):
    res, _ = bench(zkd, "create", "--ops", 3000, "--sessions", 4, "--threads", 2,
                   "--outstanding", 16, "--warmup", 0.3)
    check_counts(res)
    assert res["ops"] == 3000
    assert res["threads"] == 2
    with kazoo_session(zkd) as c:
        # Warm-up creates are not measured but do exist.
        assert len(c.get_children(res["dir"])) == res["created"] >= 3000


def test_cleanup_removes_the_prefix(zkd):
    res, _ = bench(zkd, "create", "--seconds", 0.5, "--prefix", "/tmp-bench/x",
                   "--cleanup", "--sessions", 2)
    check_counts(res)
    with kazoo_session(zkd) as c:
        assert c.exists("/tmp-bench/x") is None
        assert c.exists("/tmp-bench") is not None  # not the bench's to remove


def test_errors_are_counted_by_code_name(zkd):
    # Keys that exist but may not be read: setup accepts them (NODEEXISTS),
    # and every getData of the run answers NOAUTH.
    from kazoo.security import make_acl
    no_read = [make_acl("world", "anyone", create=True, delete=True, write=True)]
    with kazoo_session(zkd) as c:
        for i in range(10):
            c.create("/zkd-bench/keys/k%d" % i, b"x", acl=no_read, makepath=True)
    res, _ = bench(zkd, "get", "--nodes", 10, "--seconds", 0.5, "--sessions", 2)
    assert res["ops"] > 0
    assert res["successes"] == 0
    assert res["errors"] == {"NOAUTH": res["ops"]}
    assert res["errors_total"] == res["ops"]


def test_setup_failure_is_reported(zkd):
    # An ephemeral prefix cannot have children.
    with kazoo_session(zkd) as c:
        c.create("/eph-prefix", b"", ephemeral=True)
        _, err = bench(zkd, "create", "--prefix", "/eph-prefix", "--seconds", 0.5,
                       expect_rc=1)
    assert "NOCHILDRENFOREPHEMERALS" in err


def test_unreachable_server_fails_fast():
    srv = type("S", (), {"hostport": "127.0.0.1:%d" % harness.free_port()})()
    t0 = time.monotonic()
    _, err = bench(srv, "get", "--seconds", 1, expect_rc=1)
    assert time.monotonic() - t0 < 10
    assert "setup" in err


def test_compare_script_short_mode(tmp_path):
    """The CI mode of the comparison: a second per workload on each server,
    a small RSS load, no ensembles. Checks that it runs and prints its tables,
    not what they say."""
    out_json = tmp_path / "compare.json"
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, COMPARE, "--short", "--quiet", "--json-out", str(out_json)],
        capture_output=True, text=True, timeout=240,
        env=dict(os.environ, ZKD_BIN=harness.zkd_bin()))
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    table = proc.stdout
    for workload in WORKLOADS:
        k = "–" if workload == "watch" else "8"
        assert "| standalone | %s | %s |" % (workload, k) in table, table
    assert "start to serving" in table and "RSS after 10000 znodes" in table, table
    data = json.loads(out_json.read_text())
    servers = {(r["workload"], r["server"]) for r in data["results"]}
    assert servers == {(w, k) for w in WORKLOADS for k in ("zkd", "zookeeper")}
    for r in data["results"]:
        for run in r["runs"]:
            assert run["ops"] == run["successes"] + run["errors_total"]
            assert run["server_cpu_s"] is not None
    assert data["fresh"]["zkd"]["rss_created"] == 10000
    assert data["fresh"]["zookeeper"]["rss_created"] == 10000
    sys.stderr.write("compare.py --short took %.0f s\n" % elapsed)
