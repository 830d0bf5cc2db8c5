"""Four-letter words: zkd's answers have the lines and keys of Apache ZooKeeper
3.8's (values aside, except the few both must agree on), a word left out of the
whitelist gets ZooKeeper's refusal sentence, and ZooKeeper's own
`zkServer.sh status` recognises zkd as a standalone server.

Both servers get the same workload (one session holding two ephemerals and
two data watches) and the same explicit configuration, then the answers are
compared. With ZKD_BIN=zookeeper both sides are the reference.
"""

import os
import re
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import KINDS, new_server, start_server  # noqa: E402

ZKSERVER_SH = "/usr/share/zookeeper/bin/zkServer.sh"
CONFIG = {"tick_ms": 200, "min_session_timeout_ms": 1000, "max_session_timeout_ms": 9000,
          "four_letter_words": "*"}


class Setup:
    """A server plus the workload every comparison relies on."""

    def __init__(self, srv):
        from kazoo.client import KazooClient

        self.srv = srv
        self.fresh_srvr = srv.four_letter_word("srvr")
        self.client = KazooClient(hosts=srv.hostport, timeout=5.0)
        self.client.start(timeout=10.0)
        self.client.create("/app", b"x")
        self.client.create("/app/e1", b"", ephemeral=True)
        self.client.create("/app/e2", b"", ephemeral=True)
        # Two data watches (exists, getData) on two paths, from one connection.
        self.client.exists("/app/e1", watch=lambda ev: None)
        self.client.get("/app", watch=lambda ev: None)
        self.sid = self.client.client_id[0]

    def close(self):
        self.client.stop()
        self.client.close()
        self.srv.close()


@pytest.fixture(scope="module")
def ref():
    s = Setup(new_server("zookeeper", CONFIG))
    yield s
    s.close()


@pytest.fixture(scope="module")
def zkd():
    s = Setup(new_server("zkd", CONFIG))
    yield s
    s.close()


def ask(setup, word):
    return setup.srv.four_letter_word(word)


def colon_lines(text):
    """[(key, value)] of "Key: value" lines."""
    out = []
    for line in text.rstrip("\n").split("\n"):
        key, sep, value = line.partition(":")
        assert sep, "line without ':' %r in\n%s" % (line, text)
        out.append((key, value.strip()))
    return out


SRVR_KEYS = ["Zookeeper version", "Latency min/avg/max", "Received", "Sent", "Connections",
             "Outstanding", "Zxid", "Mode", "Node count"]


def check_srvr_block(pairs):
    assert [k for k, _ in pairs] == SRVR_KEYS
    v = dict(pairs)
    assert re.match(r"^\d+/[\d.]+/\d+$", v["Latency min/avg/max"]), v
    for key in ("Received", "Sent", "Connections", "Outstanding", "Node count"):
        assert re.match(r"^\d+$", v[key]), (key, v[key])
    assert re.match(r"^0x[0-9a-f]+$", v["Zxid"]), v["Zxid"]
    assert v["Mode"] == "standalone"
    return v


CLIENT_LINE = re.compile(r"^ /(\d+\.\d+\.\d+\.\d+):(\d+)\[(\d+)\]\((.*)\)$")


def client_lines(lines):
    """{frozenset(keys)} of the "/ip:port[n](k=v,...)" lines."""
    keysets = []
    for line in lines:
        m = CLIENT_LINE.match(line)
        assert m, "not a client line: %r" % line
        keys = [kv.split("=", 1)[0] for kv in m.group(4).split(",")]
        assert all(re.match(r"^[a-z]+$", k) for k in keys), line
        keysets.append(tuple(keys))
    return keysets


# ---------------------------------------------------------------------------------


def test_ruok(ref, zkd):
    assert ask(ref, "ruok") == "imok"
    assert ask(zkd, "ruok") == "imok"


def test_srvr(ref, zkd):
    r = check_srvr_block(colon_lines(ask(ref, "srvr")))
    z = check_srvr_block(colon_lines(ask(zkd, "srvr")))
    # The workload made 3 nodes; the counts start wherever each server starts.
    for s, v in ((ref, r), (zkd, z)):
        fresh = dict(colon_lines(s.fresh_srvr))
        assert int(v["Node count"]) - int(fresh["Node count"]) == 3
        assert int(v["Connections"]) >= 1
    assert ask(zkd, "srvr").endswith("\n")


def split_stat(text):
    lines = text.rstrip("\n").split("\n")
    assert lines[0].startswith("Zookeeper version: ")
    assert lines[1] == "Clients:"
    blank = lines.index("")
    return lines[2:blank], [lines[0]] + lines[blank + 1:]


def test_stat(ref, zkd):
    ref_clients, ref_rest = split_stat(ask(ref, "stat"))
    zkd_clients, zkd_rest = split_stat(ask(zkd, "stat"))
    check_srvr_block(colon_lines("\n".join(ref_rest)))
    check_srvr_block(colon_lines("\n".join(zkd_rest)))
    # The workload's connection plus the one asking.
    assert len(zkd_clients) == len(ref_clients) == 2
    assert sorted(client_lines(zkd_clients)) == sorted(client_lines(ref_clients))


def test_cons(ref, zkd):
    for s in (ref, zkd):
        text = ask(s, "cons")
        assert text.endswith("\n\n"), repr(text)
    ref_sets = client_lines(ask(ref, "cons").rstrip("\n").split("\n"))
    zkd_lines = ask(zkd, "cons").rstrip("\n").split("\n")
    zkd_sets = client_lines(zkd_lines)
    assert sorted(zkd_sets) == sorted(ref_sets)
    for s in (ref, zkd):
        full = [l for l in ask(s, "cons").split("\n") if "sid=" in l]
        assert len(full) == 1, full
        assert "sid=0x%x," % s.sid in full[0]
        stats = dict(kv.split("=", 1) for kv in CLIENT_LINE.match(full[0]).group(4).split(","))
        # The workload sent 5 requests on that connection (xids 1 to 5).
        assert int(stats["recved"]) >= 5 and int(stats["sent"]) >= 5, full[0]
        assert stats["lcxid"] == "0x5", full[0]
        assert stats["to"] == "5000", full[0]


def conf_pairs(text):
    out = {}
    for line in text.rstrip("\n").split("\n"):
        key, sep, value = line.partition("=")
        assert sep, "not key=value: %r" % line
        out[key] = value
    return out


def test_conf(ref, zkd):
    r = conf_pairs(ask(ref, "conf"))
    z = conf_pairs(ask(zkd, "conf"))
    assert sorted(z) == sorted(r)
    assert list(z) == list(r), "same keys, different order"
    for s, v in ((ref, r), (zkd, z)):
        assert v["clientPort"] == str(s.srv.port)
        assert v["tickTime"] == "200"
        assert v["minSessionTimeout"] == "1000"
        assert v["maxSessionTimeout"] == "9000"


ENVI_KEYS = {"zookeeper.version", "host.name", "os.name", "os.arch", "os.version", "user.name",
             "user.home", "user.dir"}


def test_envi(ref, zkd):
    for s in (ref, zkd):
        lines = ask(s, "envi").rstrip("\n").split("\n")
        assert lines[0] == "Environment:"
        keys = set()
        for line in lines[1:]:
            key, sep, _ = line.partition("=")
            assert sep and key, "not key=value: %r" % line
            keys.add(key)
        assert ENVI_KEYS <= keys, ENVI_KEYS - keys


# The keys monitoring tools read (the 3.4-era set, still first in 3.8's list).
MNTR_KEYS = {"zk_version", "zk_avg_latency", "zk_max_latency", "zk_min_latency",
             "zk_packets_received", "zk_packets_sent", "zk_num_alive_connections",
             "zk_outstanding_requests", "zk_server_state", "zk_znode_count", "zk_watch_count",
             "zk_ephemerals_count", "zk_approximate_data_size",
             "zk_open_file_descriptor_count", "zk_max_file_descriptor_count"}


def mntr_pairs(text):
    out = {}
    for line in text.rstrip("\n").split("\n"):
        key, sep, value = line.partition("\t")
        assert sep and re.match(r"^zk_[A-Za-z0-9_.-]+$", key), "bad mntr line %r" % line
        assert key not in out, "duplicate key %s" % key
        out[key] = value
    return out


def test_mntr(ref, zkd):
    r = mntr_pairs(ask(ref, "mntr"))
    z = mntr_pairs(ask(zkd, "mntr"))
    assert MNTR_KEYS <= set(r)
    assert MNTR_KEYS <= set(z), sorted(MNTR_KEYS - set(z))
    for s, v in ((ref, r), (zkd, z)):
        assert v["zk_server_state"] == "standalone"
        assert v["zk_ephemerals_count"] == "2"
        srvr = dict(colon_lines(ask(s, "srvr")))
        assert v["zk_znode_count"] == srvr["Node count"]
        for key in MNTR_KEYS - {"zk_version", "zk_server_state"}:
            assert re.match(r"^\d+(\.\d+)?$", v[key]), (key, v[key])


def test_isro(ref, zkd):
    assert ask(ref, "isro") == "rw"
    assert ask(zkd, "isro") == "rw"


def test_wchs(ref, zkd):
    text = ask(zkd, "wchs")
    assert re.match(r"^\d+ connections watching \d+ paths\nTotal watches:\d+\n$", text), text
    # ZooKeeper counts data watches (exists/getData) here, not child watches;
    # the workload sets two data watches on two paths from one connection.
    assert ask(ref, "wchs") == "1 connections watching 2 paths\nTotal watches:2\n"
    assert text == ask(ref, "wchs")


def test_dump(ref, zkd):
    for s in (ref, zkd):
        lines = ask(s, "dump").rstrip("\n").split("\n")
        assert lines[0] == "SessionTracker dump:"
        assert re.match(r"^Session Sets \(\d+\)/\(\d+\):$", lines[1]), lines[1]
        i = lines.index("ephemeral nodes dump:")
        assert lines[i + 1] == "Sessions with Ephemerals (1):"
        assert lines[i + 2] == "0x%x:" % s.sid
        assert sorted(lines[i + 3:i + 5]) == ["\t/app/e1", "\t/app/e2"]
        # The session's own line in the expiry sets.
        assert "\t0x%x" % s.sid in lines[2:i]
        assert "Connections dump:" in lines[i + 5:]


@pytest.mark.parametrize("kind", KINDS)
def test_words_outside_the_whitelist_are_refused(kind, server_factory):
    srv = start_server(kind, server_factory, four_letter_words=["ruok", "srvr"])
    assert srv.four_letter_word("ruok") == "imok"
    assert "Mode: standalone" in srv.four_letter_word("srvr")
    for word in ("stat", "conf", "mntr", "dump", "cons", "envi", "wchs", "isro"):
        assert srv.four_letter_word(word) == (
            "%s is not executed because it is not in the whitelist.\n" % word)
    # Not a word at all: read as a frame length, the connection just closes.
    assert srv.four_letter_word("xyzw") == ""
    assert srv.four_letter_word("ruok") == "imok"


@pytest.mark.parametrize("kind", KINDS)
def test_zkserver_sh_status_reports_standalone(kind, server_factory):
    srv = start_server(kind, server_factory)
    with tempfile.TemporaryDirectory(prefix="zkd-it-status-") as tmp:
        cfg = os.path.join(tmp, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write("tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=%s\n" %
                    (os.path.join(tmp, "data"), srv.port, srv.host))
        # Debian's zkEnv.sh sets ZOOCFGDIR itself, so the environment variable
        # is ignored; a config path given as the second argument is used as is.
        env = dict(os.environ, ZOO_LOG_DIR=tmp)
        p = subprocess.run([ZKSERVER_SH, "status", cfg], capture_output=True, text=True,
                           timeout=60, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Mode: standalone" in p.stdout, p.stdout + p.stderr
    assert "Client port found: %d" % srv.port in p.stdout
