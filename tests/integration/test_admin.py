"""The admin endpoint (cluster.admin): ZooKeeper AdminServer's JSON commands
and Prometheus metrics over HTTP/1.1.

zkd and Apache ZooKeeper 3.8 (with its Jetty AdminServer on) get the same
workload: one session holding two ephemerals and two data watches plus a child
watch. Then each command's JSON is compared with ZooKeeper's: the same keys
with values of the same JSON types (where a map's keys are data, such as
session ids or expiry times, only the value types), and equal values where
both servers must agree. /metrics is parsed as Prometheus text, its counters
must move by exactly the requests made, and malformed HTTP gets a 4xx and a
closed connection without disturbing clients.

With ZKD_BIN=zookeeper both sides are the reference (the /metrics tests are
skipped: ZooKeeper has no such page on its admin port).
"""

import http.client
import json
import math
import os
import re
import socket
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import HOST, ZkdServer, ZooKeeperServer, free_port, require_zkd  # noqa: E402
from rawclient import RawClient  # noqa: E402

# What ZooKeeper's AdminServer needs besides zookeeper.jar (Debian's jars).
ADMIN_JARS = ["jetty9-server", "jetty9-servlet", "jetty9-http", "jetty9-io", "jetty9-util",
              "jetty9-security", "jetty9-util-ajax", "servlet-api", "jackson-databind",
              "jackson-core", "jackson-annotations"]


def admin_classpath():
    jars = ["/usr/share/java/%s.jar" % j for j in ADMIN_JARS]
    missing = [j for j in jars if not os.path.exists(j)]
    return jars, missing


class ZooKeeperWithAdmin(ZooKeeperServer):
    """Apache ZooKeeper with its AdminServer on `admin_port`."""

    def __init__(self, admin_port, **kwargs):
        self.admin_port = admin_port
        cfg = {"admin.enableServer": "true", "admin.serverAddress": HOST,
               "admin.serverPort": admin_port, "minSessionTimeout": 1000,
               "maxSessionTimeout": 9000}
        super().__init__(extra_cfg=cfg, **kwargs)

    def _command(self):
        cmd = super()._command()
        i = cmd.index("-cp") + 1
        cmd[i] += ":" + ":".join(admin_classpath()[0])
        # The harness turns the AdminServer off with a system property; the
        # zoo.cfg key above turns it back on, but say it here as well.
        return [c for c in cmd if c != "-Dzookeeper.admin.enableServer=false"]


def zkd_with_admin():
    port = free_port()
    if harness.zkd_is_reference():
        return ZooKeeperWithAdmin(port)
    srv = ZkdServer(config={"admin": {"enabled": True, "address": HOST, "port": port},
                            "min_session_timeout_ms": 1000, "max_session_timeout_ms": 9000})
    srv.admin_port = port
    return srv


class Setup:
    """A server, its admin port, and the workload the comparisons rely on."""

    def __init__(self, srv):
        from kazoo.client import KazooClient

        self.srv = srv
        self.client = KazooClient(hosts=srv.hostport, timeout=5.0)
        self.client.start(timeout=10.0)
        self.client.create("/app", b"x")
        self.client.create("/app/e1", b"", ephemeral=True)
        self.client.create("/app/e2", b"", ephemeral=True)
        self.client.exists("/app/e1", watch=lambda ev: None)
        self.client.get("/app", watch=lambda ev: None)
        self.client.get_children("/app", watch=lambda ev: None)
        self.sid = self.client.client_id[0]

    def get(self, path, **kw):
        return http_get(self.srv.admin_port, path, **kw)

    def command(self, name):
        status, headers, body = self.get("/commands/" + name)
        assert status == 200, (name, status, body)
        assert headers.get("content-type", "").startswith("application/json"), headers
        return json.loads(body)

    def close(self):
        self.client.stop()
        self.client.close()
        self.srv.close()


def http_get(port, path, timeout=10.0):
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read().decode("utf-8")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


@pytest.fixture(scope="module")
def ref():
    jars, missing = admin_classpath()
    if missing:
        pytest.skip("ZooKeeper's AdminServer needs %s" % ", ".join(missing))
    s = Setup(ZooKeeperWithAdmin(free_port()))
    yield s
    s.close()


@pytest.fixture(scope="module")
def zkd():
    require_zkd()
    s = Setup(zkd_with_admin())
    yield s
    s.close()


@pytest.fixture
def zkd_only(zkd):
    if harness.zkd_is_reference():
        pytest.skip("ZooKeeper has no /metrics on its admin port")
    return zkd


# ---- comparing JSON shapes ------------------------------------------------------

def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return "list"
    return "object"


def same_shape(ref, ours, where, data_maps=(), subset=()):
    """Asserts that `ours` has the keys and value types of `ref`, recursively.
    At the paths in `data_maps` an object's keys are data: only the values'
    types are compared. At the paths in `subset` ours may lack keys."""
    assert json_type(ours) == json_type(ref), "%s: %s vs ZooKeeper's %s (%r vs %r)" % (
        where, json_type(ours), json_type(ref), ours, ref)
    if isinstance(ref, dict):
        if where in data_maps:
            values = list(ref.values()) + list(ours.values())
            for a in values:
                for b in values:
                    same_shape(a, b, where + ".*")
            return
        if where in subset:
            assert set(ours) <= set(ref), "%s: keys ZooKeeper lacks: %s" % (
                where, sorted(set(ours) - set(ref)))
        else:
            assert set(ours) == set(ref), "%s: missing %s, extra %s" % (
                where, sorted(set(ref) - set(ours)), sorted(set(ours) - set(ref)))
        for k in ours:
            same_shape(ref[k], ours[k], where + "." + k, data_maps, subset)
    elif isinstance(ref, list):
        items = ref + ours
        for a in items:
            for b in items:
                same_shape(a, b, where + "[]", data_maps, subset)


# Commands whose results both servers must answer (ZooKeeper's primary name).
COMMANDS = {
    "ruok": "ruok", "srvr": "server_stats", "server_stats": "server_stats",
    "stat": "stats", "stats": "stats", "conf": "configuration",
    "configuration": "configuration", "cons": "connections", "connections": "connections",
    "mntr": "monitor", "monitor": "monitor", "wchs": "watch_summary",
    "watch_summary": "watch_summary", "dump": "dump", "dirs": "dirs",
    "envi": "environment", "isro": "is_read_only", "gtmk": "get_trace_mask",
    "wchc": "watches", "wchp": "watches_by_path", "hash": "hash",
}

DATA_MAPS = {
    "dump": {"$.expiry_time_to_session_ids", "$.session_id_to_ephemeral_paths"},
    "wchc": {"$.session_id_to_watched_paths"},
    "wchp": {"$.path_to_session_ids"},
}

# The gauges mntr must have (ZooKeeper's zk_* lines of a standalone server).
MNTR_KEYS = {
    "version", "server_state", "ephemerals_count", "num_alive_connections", "avg_latency",
    "outstanding_requests", "znode_count", "global_sessions", "non_mtls_remote_conn_count",
    "last_client_response_size", "packets_sent", "packets_received",
    "max_client_response_size", "connection_drop_probability", "watch_count",
    "auth_failed_count", "min_latency", "max_file_descriptor_count", "approximate_data_size",
    "open_file_descriptor_count", "local_sessions", "uptime", "max_latency",
    "outstanding_tls_handshake", "min_client_response_size", "non_mtls_local_conn_count",
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_shape(ref, zkd, name):
    r = ref.command(name)
    z = zkd.command(name)
    assert r["command"] == COMMANDS[name] and r["error"] is None, r
    assert z["command"] == COMMANDS[name] and z["error"] is None, z
    subset = {"$"} if name in ("mntr", "monitor") else set()
    same_shape(r, z, "$", DATA_MAPS.get(name, ()), subset)


def test_monitor_has_zookeepers_gauges(ref, zkd):
    for s in (ref, zkd):
        m = s.command("monitor")
        assert MNTR_KEYS <= set(m), sorted(MNTR_KEYS - set(m))
        assert m["server_state"] == "standalone"
        assert m["ephemerals_count"] == 2
        assert m["znode_count"] == s.command("srvr")["node_count"]
        # The summaries and counters zkd keeps, with ZooKeeper's types.
        for k in ("bytes_received_count", "cnt_fsynctime", "cnt_readlatency",
                  "cnt_updatelatency"):
            assert isinstance(m[k], int), (k, m.get(k))
        for k in ("avg_fsynctime", "avg_readlatency", "avg_updatelatency", "avg_latency"):
            assert isinstance(m[k], float), (k, m.get(k))
    assert ref.command("monitor")["znode_count"] == zkd.command("monitor")["znode_count"]


def test_values_both_agree_on(ref, zkd):
    for s in (ref, zkd):
        assert s.command("ruok") == {"command": "ruok", "error": None}
        assert s.command("wchs") == {"num_connections": 1, "num_paths": 2,
                                     "num_total_watches": 2, "command": "watch_summary",
                                     "error": None}
        assert s.command("isro")["read_only"] is False
        assert s.command("gtmk")["tracemask"] == 306
        assert s.command("srvr")["server_stats"]["server_state"] == "standalone"
        dump = s.command("dump")
        assert dump["session_id_to_ephemeral_paths"] == {
            str(s.sid): sorted(dump["session_id_to_ephemeral_paths"][str(s.sid)])}
        assert sorted(dump["session_id_to_ephemeral_paths"][str(s.sid)]) == [
            "/app/e1", "/app/e2"]
        assert [s.sid] in dump["expiry_time_to_session_ids"].values()
        wchp = s.command("wchp")["path_to_session_ids"]
        assert wchp == {"/app/e1": [s.sid], "/app": [s.sid]}
        wchc = s.command("wchc")["session_id_to_watched_paths"]
        assert sorted(wchc[str(s.sid)]) == ["/app", "/app/e1"]
        cons = s.command("cons")["connections"]
        assert [c["session_id"] for c in cons] == [s.sid]
        assert re.match(r"^127\.0\.0\.1:\d+$", cons[0]["remote_socket_address"]), cons
        assert cons[0]["session_timeout"] == 5000
        conf = s.command("conf")
        assert conf["client_port"] == s.srv.port
        assert (conf["min_session_timeout"], conf["max_session_timeout"]) == (1000, 9000)
        assert len(s.command("stat")["connections"]) == 1
    assert ref.command("srvr")["node_count"] == zkd.command("srvr")["node_count"]


def test_unknown_command_and_aliases(ref, zkd):
    for s in (ref, zkd):
        for name in ("nosuch", "RUOK", "srvr/", "ruok/x"):
            assert s.command(name) == {"command": name,
                                       "error": "Unknown command: " + name}
        assert s.command("config")["command"] == "configuration"
        assert s.command("env")["command"] == "environment"
        # Query parameters do not change a command.
        assert s.command("ruok?x=1") == {"command": "ruok", "error": None}


def test_command_list(ref, zkd):
    def listed(s):
        status, headers, body = s.get("/commands")
        assert status == 200
        names = re.findall(r'<a href="/commands/([a-z_]+)">\1</a>', body)
        assert names == sorted(names) and names
        assert s.get("/commands/")[2] == body
        return names

    ours = listed(zkd)
    assert set(ours) <= set(listed(ref))
    assert {"ruok", "server_stats", "stats", "configuration", "connections", "monitor",
            "watch_summary", "dump"} <= set(ours)
    for name in ours:
        answer = zkd.command(name)
        assert answer["command"] == name
        # ZooKeeper lists a few that fail without a quorum or arguments
        # (leader, set_trace_mask); zkd lists only what it answers.
        if not harness.zkd_is_reference():
            assert answer["error"] is None, name


def test_reset_commands(zkd):
    for _ in range(10):
        zkd.client.get("/app")
    before = zkd.command("srvr")["server_stats"]["packets_received"]
    assert before >= 10
    assert zkd.command("stat_reset") == {"command": "stat_reset", "error": None}
    # Only the session's pings can have arrived since.
    assert zkd.command("srvr")["server_stats"]["packets_received"] <= 2
    for _ in range(10):
        zkd.client.get("/app")
    assert zkd.command("cons")["connections"][0]["packets_received"] >= 10
    assert zkd.command("crst") == {"command": "connection_stat_reset", "error": None}
    assert zkd.command("cons")["connections"][0]["packets_received"] <= 2


# ---- Prometheus ---------------------------------------------------------------

METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(r"^(%s)(\{(.*)\})? (\S+)( -?\d+)?$" % METRIC_NAME)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"(,|$)')


def parse_prometheus(text):
    """Parses the text exposition format 0.0.4 strictly enough to catch what
    Prometheus would reject. Returns ({(name, labels): value}, {family: type})."""
    assert text.endswith("\n"), "must end with a newline"
    samples, types, helps = {}, {}, set()
    family = None
    for line in text.split("\n")[:-1]:
        assert line, "empty line"
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if parts[1] == "HELP":
                assert re.fullmatch(METRIC_NAME, parts[2]), line
                assert parts[2] not in helps, "HELP twice: " + line
                helps.add(parts[2])
            elif parts[1] == "TYPE":
                assert len(parts) == 4 and parts[3] in (
                    "counter", "gauge", "histogram", "summary", "untyped"), line
                assert parts[2] not in types, "family declared twice: " + line
                types[parts[2]] = parts[3]
                family = parts[2]
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample: %r" % line
        name, labels_text, value = m.group(1), m.group(3) or "", m.group(4)
        labels = []
        rest = labels_text
        while rest:
            lm = LABEL.match(rest)
            assert lm, "bad labels in %r" % line
            labels.append((lm.group(1), lm.group(2)))
            rest = rest[lm.end():]
        if types.get(family) in ("histogram", "summary"):
            assert name in (family, family + "_bucket", family + "_sum", family + "_count"), (
                "sample %s outside its family %s" % (name, family))
        else:
            assert name == family, "sample %s outside its family %s" % (name, family)
        v = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}.get(value)
        samples_key = (name, tuple(labels))
        assert samples_key not in samples, "duplicate series " + line
        samples[samples_key] = v if v is not None else float(value)
    # Histograms: cumulative buckets ending in +Inf == _count.
    for fam, t in types.items():
        if t != "histogram":
            continue
        series = {}
        for (name, labels), v in samples.items():
            if name == fam + "_bucket":
                rest = tuple(l for l in labels if l[0] != "le")
                le = dict(labels)["le"]
                series.setdefault(rest, []).append((float(le), v))
        for rest, buckets in series.items():
            buckets.sort()
            counts = [c for _, c in buckets]
            assert counts == sorted(counts), (fam, rest, buckets)
            assert buckets[-1][0] == math.inf, (fam, rest)
            assert samples[(fam + "_count", rest)] == buckets[-1][1], (fam, rest)
            assert (fam + "_sum", rest) in samples
    return samples, types


def metrics(setup):
    status, headers, body = setup.get("/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
    return parse_prometheus(body)


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def op_value(samples, name, op, **labels):
    # Label order as rendered: op first, then le.
    key = (name, (("op", op),) + tuple(labels.items()))
    return samples.get(key, 0.0)


def test_metrics_parse_and_match_mntr(zkd_only):
    s = zkd_only
    samples, types = metrics(s)
    mntr = s.command("mntr")
    for key in ("znode_count", "watch_count", "ephemerals_count", "approximate_data_size",
                "num_alive_connections", "global_sessions", "outstanding_requests"):
        assert types[key] == "gauge"
        assert value(samples, key) == mntr[key], key
    assert value(samples, "ephemerals_count") == 2
    assert value(samples, "num_alive_connections") == 1
    for fam in ("zkd_request_latency_ms", "zkd_fsync_time_ms"):
        assert types[fam] == "histogram"
    for fam in ("zkd_requests_total", "zkd_request_errors_total",
                "zkd_bytes_received_total", "zkd_bytes_sent_total"):
        assert types[fam] == "counter"
    # The workload's three writes were logged: at least one fsync.
    assert value(samples, "zkd_fsync_time_ms_count") >= 1
    assert value(samples, "zkd_bytes_received_total") > 0
    assert value(samples, "zkd_bytes_sent_total") > 0


def test_counters_move_by_exactly_the_requests_made(zkd_only):
    s = zkd_only
    n = 25
    with RawClient(s.srv) as c:
        c.connect(timeout_ms=5000)
        before, _ = metrics(s)
        for i in range(n):
            assert c.create("/count-%d" % i, b"v").err == 0
        for i in range(n):
            assert c.get_data("/count-%d" % i).err == 0
        for i in range(3):
            assert c.get_data("/missing").err != 0
        after, _ = metrics(s)
    total = "zkd_requests_total"
    assert op_value(after, total, "create") - op_value(before, total, "create") == n
    assert op_value(after, total, "getData") - op_value(before, total, "getData") == n + 3
    errors = "zkd_request_errors_total"
    assert op_value(after, errors, "getData") - op_value(before, errors, "getData") == 3
    assert op_value(after, errors, "create") == op_value(before, errors, "create")
    hist = "zkd_request_latency_ms"
    for op, k in (("create", n), ("getData", n + 3)):
        assert (op_value(after, hist + "_count", op) -
                op_value(before, hist + "_count", op)) == k
        assert op_value(after, hist + "_sum", op) > op_value(before, hist + "_sum", op)
        assert (op_value(after, hist + "_bucket", op, le="+Inf") -
                op_value(before, hist + "_bucket", op, le="+Inf")) == k
    # Every write was logged and synced; bytes moved both ways.
    assert value(after, "zkd_fsync_time_ms_count") >= value(before, "zkd_fsync_time_ms_count") + 1
    assert value(after, "znode_count") == value(before, "znode_count") + n
    assert value(after, "zkd_bytes_received_total") > value(before, "zkd_bytes_received_total")
    assert value(after, "packets_received") - value(before, "packets_received") >= 2 * n + 3


# ---- HTTP behaviour -----------------------------------------------------------

def raw_exchange(port, data, timeout=5.0):
    """Sends `data`, then reads until the server closes. Returns (bytes, closed)."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                return b"".join(chunks), False
            except ConnectionResetError:
                return b"".join(chunks), True
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
        return b"".join(chunks), False


BAD_REQUESTS = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /commands/ruok HTTP/1.1\r\n\r\n", 400),            # no Host
    (b"GET /commands/ruok HTTP/1.1\r\nHost x\r\n\r\n", 400),
    (b"GET commands HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"\x00\x00\x00\x2c\x00\x00\x00\x00\x00\x00\x00\x00", 400),  # a ZooKeeper client
    (b"ruok\n", 400),                                            # echo ruok | nc
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431),
    (b"POST /commands/ruok HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
]


def test_bad_requests_get_an_error_and_a_closed_connection(zkd_only):
    s = zkd_only
    with RawClient(s.srv) as c:
        c.connect(timeout_ms=5000)
        session = c.session_id
        assert c.create("/bad-http", b"1").err == 0
        for data, status in BAD_REQUESTS:
            answer, closed = raw_exchange(s.srv.admin_port, data)
            assert answer.startswith(b"HTTP/1.1 %d " % status), (data[:40], answer[:200])
            assert closed, "connection left open after %r" % data[:40]
            head, _, body = answer.partition(b"\r\n\r\n")
            assert b"Connection: close" in head
            length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
            assert len(body) == length
        # A client that sends half a request and goes away.
        with socket.create_connection((HOST, s.srv.admin_port)) as sock:
            sock.sendall(b"GET /commands/ru")
        # The client port's session is untouched and the endpoint still serves.
        assert c.get_data("/bad-http").err == 0
        assert c.session_id == session
    assert s.command("ruok")["error"] is None
    assert s.srv.running()


def test_keep_alive_pipelining_and_close(zkd_only):
    s = zkd_only
    port = s.srv.admin_port
    # Two pipelined requests on one connection, answered in order; the
    # second asks to close.
    data = (b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /commands/wchs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer, closed = raw_exchange(port, data)
    assert closed
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.index(b'"ruok"') < answer.index(b'"watch_summary"')
    # HTTP/1.0 closes by default; HEAD has no body.
    answer, closed = raw_exchange(port, b"GET /commands/ruok HTTP/1.0\r\n\r\n")
    assert closed and answer.startswith(b"HTTP/1.1 200 OK") and b'"ruok"' in answer
    answer, closed = raw_exchange(port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n"
                                        b"Connection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert closed and body == b"" and int(re.search(rb"Content-Length: (\d+)", head).group(1)) > 0
    # A keep-alive connection serves many requests (http.client reuses it).
    c = http.client.HTTPConnection(HOST, port, timeout=5.0)
    try:
        for path in ("/commands/ruok", "/metrics", "/commands/dump", "/nope"):
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            assert r.status == (404 if path == "/nope" else 200), path
            assert not r.will_close
    finally:
        c.close()
