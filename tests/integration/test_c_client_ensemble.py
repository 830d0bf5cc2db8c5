"""The ZooKeeper C client (libzookeeper_mt) against a 3-node ensemble.

Runs the hidden "[ensemble]" cases of tests/integration/c_client/c_client_test.cpp
against one shared ensemble: zkd (`zkd --config cluster.yaml --id N`,
harness.ZkdEnsemble) or, with ZKD_BIN=zookeeper, Apache ZooKeeper 3.8
(harness.ZkEnsemble), which is how the expectations were checked:

    ZKD_BIN=zookeeper /usr/bin/python3 -m pytest -q tests/integration/test_c_client_ensemble.py

The binary is ZKD_C_CLIENT_TEST, else tests/integration/c_client/c_client_test next
to ZKD_BIN (the build directory), else build/'s; the tests are skipped when it is
not built (libzookeeper_mt missing). Each case gets the ensemble's layout in its
environment (ZK_HOSTS, ZK_LEADER, ZK_FOLLOWERS) and a directory ZK_DRIVER_DIR in
which it leaves STEP.request files for what it cannot do itself (killing the
leader); the driver here does the step and answers with STEP.done.
"""

import os
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import new_ensemble, restore_ensemble  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REL_BINARY = os.path.join("tests", "integration", "c_client", "c_client_test")
# One case takes a few seconds; a failover under a busy machine maybe 20.
CASE_DEADLINE_S = 120


def c_client_binary():
    explicit = os.environ.get("ZKD_C_CLIENT_TEST")
    if explicit:
        return explicit
    candidates = []
    if not harness.zkd_is_reference():
        candidates.append(os.path.join(os.path.dirname(os.path.abspath(harness.zkd_bin())),
                                       REL_BINARY))
    candidates.append(os.path.join(os.path.dirname(harness.DEFAULT_ZKD_BIN), REL_BINARY))
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


@pytest.fixture(scope="module")
def binary():
    b = c_client_binary()
    if b is None:
        if os.environ.get("ZKD_C_CLIENT_TEST"):
            pytest.fail("ZKD_C_CLIENT_TEST=%s is not an executable" %
                        os.environ["ZKD_C_CLIENT_TEST"])
        pytest.skip("c_client_test not built (build the c_client_test target, or set "
                    "ZKD_C_CLIENT_TEST)")
    listed = subprocess.run([b, "--list-test-names-only", "[ensemble]"], capture_output=True,
                            text=True, timeout=30)
    if "ensemble:" not in listed.stdout:
        pytest.fail("%s has no [ensemble] cases: rebuild its c_client_test target, or set "
                    "ZKD_C_CLIENT_TEST" % b)
    return b


@pytest.fixture(scope="module")
def _ens3():
    ens = new_ensemble(n=3)
    yield ens
    ens.close()


@pytest.fixture
def ens3(_ens3, request):
    """The shared ensemble with every node running and serving."""
    return restore_ensemble(_ens3, request)


def run_case(binary, ens, tag, handlers=None):
    """Runs the c_client_test cases tagged `tag` with the ensemble's layout;
    `handlers` maps a step a case asks for to a function(ens, leader) that does
    it and returns the answer line. Returns the binary's output."""
    handlers = handlers or {}
    leader = ens.wait_leader(30)
    followers = [n for n in ens.participants() if n is not leader]
    with tempfile.TemporaryDirectory(prefix="c-client-ens-") as driver_dir:
        env = dict(os.environ,
                   ZK_HOSTS=ens.connect_string(),
                   ZK_LEADER=leader.hostport,
                   ZK_FOLLOWERS=ens.connect_string(followers),
                   ZK_DRIVER_DIR=driver_dir)
        out_path = os.path.join(driver_dir, "output.txt")
        answered = set()
        with open(out_path, "wb") as out:
            proc = subprocess.Popen([binary, tag, "--durations", "yes"], env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + CASE_DEADLINE_S
            try:
                while proc.poll() is None:
                    if time.monotonic() > deadline:
                        proc.kill()
                        proc.wait()
                        pytest.fail("c_client_test %s did not finish within %ds:\n%s" % (
                            tag, CASE_DEADLINE_S, _read(out_path)))
                    for name in sorted(os.listdir(driver_dir)):
                        if not name.endswith(".request") or name in answered:
                            continue
                        answered.add(name)
                        step = name[:-len(".request")]
                        if step not in handlers:
                            pytest.fail("c_client_test asked for an unknown step %r" % step)
                        answer = handlers[step](ens, leader)
                        done = os.path.join(driver_dir, step + ".done")
                        with open(done + ".tmp", "w") as f:
                            f.write("%s\n" % answer)
                        os.rename(done + ".tmp", done)
                    time.sleep(0.02)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        output = _read(out_path)
    sys.stdout.write(output)
    assert proc.returncode == 0, "c_client_test %s failed:\n%s" % (tag, output)
    assert "No test cases matched" not in output, output
    return output


def _read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def _kill_leader(ens, leader):
    assert ens.leader() is leader, "the leader changed before the kill: %s" % ens.modes()
    leader.kill9()
    return leader.hostport


def test_reads_and_writes_through_every_node(binary, ens3):
    """A handle with all hosts creates, sets, reads; writes through each
    node's handle are seen with the same Stat through the others after a
    pipelined sync+get; sequential numbers and multis across nodes; a watch
    on one node fires for a write through another."""
    run_case(binary, ens3, "[ens_rw]")


def test_pipelined_writes_through_a_follower_keep_order_and_errors(binary, ens3):
    """Async writes through a follower, failing (ZNONODE, ZBADVERSION,
    ZNODEEXISTS, ZNOTEMPTY, ZNOCHILDRENFOREPHEMERALS, a failed multi) and
    succeeding, interleaved with local reads: completions in order, each with
    its own result; 200 conditional sets in flight alternate OK/BADVERSION;
    the leader then holds exactly the successful writes."""
    run_case(binary, ens3, "[ens_pipeline]")


def test_leader_client_keeps_session_ephemeral_and_watches_when_leader_killed(binary, ens3):
    """A handle on the leader (leader first in its list, deterministic order)
    moves to a follower when the leader is SIGKILLed: same session, no
    expiry, its ephemeral kept; its data, exists and child watches fire for
    writes made afterwards through the other surviving node; it writes on, and
    closing it removes the ephemeral. The killed node is restarted by the next
    test's fixture (or left to the module's teardown)."""
    run_case(binary, ens3, "[ens_failover]", {"kill-leader": _kill_leader})
