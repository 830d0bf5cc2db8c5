"""A full disk at run time: zkd stops acknowledging writes at once, says why in
its log and exits; nothing it acknowledged is lost, and once there is room again
it starts and serves everything it acknowledged.

The data directory is a small tmpfs mounted in a private mount namespace that
the test creates (so nothing is mounted on the host) and keeps alive with a
holder process; zkd runs inside that namespace through nsenter. Skipped where
the machine does not allow mount namespaces.
"""

import os
import shutil
import subprocess
import sys
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, OperationTimeoutError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import ZkdServer, require_zkd, zkd_is_reference  # noqa: E402

SIZE = "6m"


class Namespace:
    """A private mount namespace with a tmpfs of `size` at `path`, alive while
    the holder process runs."""

    def __init__(self, path, size):
        self.path = path
        script = ("mount -t tmpfs -o size=%s tmpfs '%s' && echo ready && exec sleep 1000000"
                  % (size, path))
        self.holder = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh",
                                        "-c", script], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE)
        line = self.holder.stdout.readline()
        if line.strip() != b"ready":
            err = self.holder.stderr.read().decode(errors="replace")
            self.holder.wait()
            pytest.skip("no private mount namespace with a tmpfs here: %s" % err.strip())

    def run(self, *cmd):
        return subprocess.run(["nsenter", "-t", str(self.holder.pid), "-m", "--"] + list(cmd),
                              check=True, capture_output=True)

    def close(self):
        self.holder.kill()
        self.holder.wait()


class NamespacedZkd(ZkdServer):
    def __init__(self, ns, **kwargs):
        self.ns = ns
        super().__init__(**kwargs)

    def _command(self):
        # nsenter execs zkd after entering the namespace: the pid is zkd's.
        return ["nsenter", "-t", str(self.ns.holder.pid), "-m", "--"] + super()._command()


@pytest.fixture
def namespace():
    if zkd_is_reference():
        pytest.skip("zkd only: ZooKeeper's behaviour on a full disk is not the spec")
    require_zkd()
    if not shutil.which("unshare") or not shutil.which("nsenter"):
        pytest.skip("unshare/nsenter missing")
    import tempfile
    path = tempfile.mkdtemp(prefix="zkd-fault-fs-")
    ns = Namespace(path, SIZE)
    yield ns
    ns.close()
    shutil.rmtree(path, ignore_errors=True)


def test_full_disk_stops_acknowledging_and_loses_nothing(namespace, tmp_path):
    srv = NamespacedZkd(namespace, workdir=str(tmp_path))
    # The data directory lives on the small tmpfs.
    srv.stop()
    srv.data_dir = namespace.path
    srv.start()
    acked = {}
    value = os.urandom(200 * 1024)
    client = KazooClient(hosts=srv.hostport, timeout=10.0,
                         connection_retry=dict(max_tries=0))
    client.start(timeout=10)
    failed_with = None
    try:
        for i in range(200):  # 40 MB: several times the file system
            path = "/n%03d" % i
            data = value[:100 * 1024] + str(i).encode()
            try:
                client.create(path, data)
            except (ConnectionLoss, OperationTimeoutError) as e:
                failed_with = e
                break
            acked[path] = data
    finally:
        client.stop()
        client.close()
    assert failed_with is not None, "6 MB took %d writes of 100 KB" % len(acked)
    assert acked, "nothing was acknowledged before the disk filled"
    # The node stopped on its own, with a log line that names the cause.
    deadline = time.monotonic() + 10
    while srv.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not srv.running(), "zkd kept running on a full disk"
    code = srv.proc.returncode
    assert code not in (0, None) and code > 0, code
    logs = srv.logs()
    assert "No space left on device" in logs, logs
    # Room again: every acknowledged write is there.
    namespace.run("mount", "-o", "remount,size=64m", namespace.path)
    srv.start()
    reader = KazooClient(hosts=srv.hostport, timeout=10.0)
    reader.start(timeout=10)
    try:
        for path, data in acked.items():
            assert reader.get(path)[0] == data, path
        # And it takes writes again.
        reader.create("/after", b"x")
    finally:
        reader.stop()
        reader.close()
    srv.stop()
