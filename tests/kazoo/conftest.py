"""Runs kazoo's own test suite (Debian python3-kazoo 2.8) against ONE zkd.

kazoo's harness (kazoo/testing/harness.py) gets its servers from
get_global_cluster(), which normally builds a 3-node Java ZooKeeper ensemble
from ZOOKEEPER_* environment variables. This plugin replaces that function
with one returning a single-server "cluster" backed by a server object from
tests/integration/harness.py (ZkdServer, or ZooKeeperServer to check the
adaptation itself against the reference).

It is loaded by run_kazoo_suite.py as a pytest plugin (kazoo's tests live in
/usr/lib/python3/dist-packages, so no conftest.py next to them would be
found). The runner starts the server and calls install(server) before pytest
runs. Used on its own (pytest -p conftest with this folder on sys.path), the
plugin starts a zkd itself and stops it at the end.

Tests that need what one standalone server cannot give (a 3-node ensemble,
read-only mode, SASL/JAAS) are skipped with a reason; see SKIPS.
"""

import fnmatch
import os
import signal
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness as zkd_harness  # noqa: E402  (tests/integration/harness.py)

# kazoo's tests import the `mock` backport, which Debian's python3-kazoo does
# not pull in; the standard library's unittest.mock is the same API.
try:
    import mock  # noqa: F401
except ImportError:
    import unittest.mock

    sys.modules["mock"] = unittest.mock

# test_cache.py uses objgraph.count(type name) (not packaged in Debian):
# the number of live objects tracked by gc whose type has that name.
try:
    import objgraph  # noqa: F401
except ImportError:
    import gc
    import types

    def _count(typename, objects=None):
        objs = gc.get_objects() if objects is None else objects
        return sum(1 for o in objs if type(o).__name__ == typename)

    objgraph = types.ModuleType("objgraph")
    objgraph.count = _count
    sys.modules["objgraph"] = objgraph

# The harness of kazoo expects 3.5+ features to be available; the version is
# also what kazoo's test_build compares server_version() with.
ZOOKEEPER_VERSION = "3.8.0"

# super:test, the superuser kazoo's harness configures on ZooKeeper >= 3.5.
SUPER_DIGEST = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="

# fnmatch pattern on "test_file.py::Class::test" -> reason. Only tests that
# cannot work against one standalone server without SASL; everything else
# runs. (TestClient is subclassed by the gevent and eventlet test classes.)
SKIPS = {
    "test_sasl.py::*": "needs SASL (JAAS DigestLoginModule / Kerberos), which zkd does not offer",
    "test_connection.py::TestReadOnlyMode::*":
        "needs a 3-server ensemble losing quorum (read-only mode)",
    "*::test_update_host_list":
        "needs a 3-server ensemble (stops server 0 and expects to stay connected)",
}

# Only when the server is Apache ZooKeeper (run_kazoo_suite.py --reference):
# a standalone ZooKeeperServerMain never answers reconfig, so each of these
# would only wait for the hang timeout. (zkd answers them: they run there.)
REFERENCE_SKIPS = {
    "test_client.py::TestReconfig::*":
        "standalone ZooKeeper does not answer reconfig (kazoo's harness uses a quorum)",
}


class FakeServer:
    """One member of the fake cluster, with the attributes kazoo's tests use
    on ManagedZooKeeper: address, running, run(), stop(), reset(), destroy()."""

    def __init__(self, server):
        self._srv = server

    @property
    def host(self):
        return self._srv.host

    @property
    def client_port(self):
        return self._srv.port

    @property
    def address(self):
        return self._srv.hostport

    @property
    def running(self):
        return self._srv.running()

    @property
    def pid(self):
        return self._srv.pid

    def run(self):
        if not self._srv.running():
            self._srv.start()

    def stop(self):
        # Same port and data directory survive: run() brings it back.
        if self._srv.running():
            self._srv.stop()

    def reset(self):
        self.stop()

    def destroy(self):
        # The runner owns the process; kazoo's atexit hook must not touch it.
        pass


class FakeCluster:
    def __init__(self, server):
        self._servers = [FakeServer(server)]

    def __getitem__(self, k):
        return self._servers[k]

    def __iter__(self):
        return iter(self._servers)

    def __len__(self):
        return len(self._servers)

    def start(self):
        for s in self._servers:
            s.run()

    def stop(self):
        for s in self._servers:
            s.stop()

    def terminate(self):
        pass

    def reset(self):
        pass


_cluster = None
_own_server = None
_reference = False


def zkd_config():
    """The settings kazoo's harness gives ZooKeeper, in zkd's terms."""
    return {
        "tick_ms": 2000,  # tickTime=2000: session timeouts between 4 s and 40 s
        "max_client_connections": 0,  # maxClientCnxns=0
        "super_digest": SUPER_DIGEST,
    }


def zookeeper_cfg():
    """The same for the reference server (unknown zoo.cfg keys become
    zookeeper.* system properties, which is how superDigest is set)."""
    return {
        "tickTime": 2000,
        "maxClientCnxns": 0,
        "DigestAuthenticationProvider.superDigest": SUPER_DIGEST,
    }


def install(server):
    """Makes kazoo's KazooTestHarness use `server` (an integration-harness
    server object) as its whole cluster."""
    global _cluster, _reference
    import kazoo.testing.harness as kh

    _reference = getattr(server, "kind", "zkd") != "zkd"
    os.environ["ZOOKEEPER_VERSION"] = ZOOKEEPER_VERSION
    _cluster = FakeCluster(server)
    kh.get_global_cluster = lambda: _cluster
    kh.CLUSTER = _cluster


def pytest_configure(config):
    global _own_server
    if _cluster is None:
        _own_server = zkd_harness.ZkdServer(config=zkd_config())
        install(_own_server)


def pytest_unconfigure(config):
    global _own_server
    if _own_server is not None:
        _own_server.close()
        _own_server = None


def _test_key(item):
    # "test_file.py::Class::test" whatever the rootdir makes of the nodeid.
    parts = [os.path.basename(str(item.fspath))]
    if getattr(item, "cls", None) is not None:
        parts.append(item.cls.__name__)
    parts.append(item.name)
    return "::".join(parts)


def pytest_collection_modifyitems(config, items):
    for item in items:
        key_of_item = _test_key(item)
        skips = dict(SKIPS, **(REFERENCE_SKIPS if _reference else {}))
        for key, reason in skips.items():
            if fnmatch.fnmatchcase(key_of_item, key):
                item.add_marker(pytest.mark.skip(reason="zkd-kazoo: " + reason))
                break


@pytest.fixture(autouse=True)
def _server_alive(request):
    """A test that stopped the server and failed before run() would break
    every later test; bring it back and say so."""
    yield
    if _cluster is not None:
        for s in _cluster:
            if not s.running:
                sys.stderr.write("zkd-kazoo: server was down after %s; restarting\n"
                                 % request.node.nodeid)
                s.run()


# No pytest-timeout in Debian's set: a hang (e.g. a reply the server never
# sends) would stop the whole run. SIGALRM interrupts the main thread's
# blocking waits, turning a hang into a failure that says so.
TEST_TIMEOUT_S = int(os.environ.get("ZKD_KAZOO_TEST_TIMEOUT", "120"))


class TestHang(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestHang("zkd-kazoo: test still running after %d s (hang)" % TEST_TIMEOUT_S)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(TEST_TIMEOUT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
