"""Fixtures shared by the integration tests.

    zkd             a fresh zkd per test (skipped when the binary is missing and ZKD_BIN
                    is not set; fails when ZKD_BIN is set but wrong)
    zookeeper       one Apache ZooKeeper per test module (JVM start-up is slow)
    both            parametrized: the test runs once against zkd, once against ZooKeeper
                    (the shared ZooKeeper is wiped of everything but /zookeeper first)
    kazoo_factory   kazoo_factory(server_or_hostport, **KazooClient kwargs) -> a started
                    KazooClient; every client is stopped and closed after the test
    server_factory  server_factory(ZkdServer, **kwargs) -> a started server, stopped and
                    removed after the test (for tests that need several or special ones)

On a failing test the logs of every server it used are added to the report.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import (ZkdServer, ZooKeeperServer, hostport_of, require_zkd,  # noqa: E402
                     stop_quietly)


def _failed(item):
    return any(getattr(getattr(item, "rep_" + when, None), "failed", False)
               for when in ("setup", "call"))


@pytest.fixture
def zkd(request):
    require_zkd()
    srv = ZkdServer()
    request.node._servers_used = getattr(request.node, "_servers_used", []) + [srv]
    yield srv
    srv.close(keep=_failed(request.node))


@pytest.fixture(scope="module")
def zookeeper():
    srv = ZooKeeperServer()
    yield srv
    srv.close()


@pytest.fixture(params=["zkd", "zookeeper"])
def both(request):
    if request.param == "zkd":
        srv = request.getfixturevalue("zkd")
    else:
        srv = request.getfixturevalue("zookeeper")
        srv.wipe()
        request.node._servers_used = getattr(request.node, "_servers_used", []) + [srv]
    return srv


@pytest.fixture
def server_factory(request):
    made = []

    def make(cls=ZkdServer, **kwargs):
        if cls is ZkdServer:
            require_zkd()
        srv = cls(**kwargs)
        made.append(srv)
        request.node._servers_used = getattr(request.node, "_servers_used", []) + [srv]
        return srv

    yield make
    for srv in made:
        srv.close(keep=_failed(request.node))


@pytest.fixture
def kazoo_factory():
    from kazoo.client import KazooClient

    clients = []

    def make(target, timeout=10.0, start_timeout=10.0, **kwargs):
        c = KazooClient(hosts=hostport_of(target), timeout=timeout, **kwargs)
        clients.append(c)
        c.start(timeout=start_timeout)
        return c

    yield make
    for c in clients:
        stop_quietly(c)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
    if report.failed:
        seen = set()
        servers = list(getattr(item, "_servers_used", []))
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, harness._Server):
                servers.append(value)
        for srv in servers:
            if id(srv) in seen:
                continue
            seen.add(id(srv))
            report.sections.append(("%s %s logs" % (srv.kind, srv.hostport), srv.logs()))
