"""zkd's command line and configuration files, end to end through the binary:

- a bad YAML file stops start-up with exit code 2 and `FILE:LINE: sentence`;
- `zkd --zoo-cfg zoo.cfg` runs from an unchanged ZooKeeper zoo.cfg (the same
  file is first checked to start Apache ZooKeeper, so it is a real one);
- `zkd config convert zoo.cfg` prints YAML that `zkd --config` runs with the
  same settings;
- zoo.cfg keys zkd does not act on are reported with their line, and values
  ZooKeeper rejects are errors with their line.

Every zkd started here is stopped by PID; every wait has a deadline.
"""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import (ZooKeeperServer, free_port, four_letter_word,  # noqa: E402
                     kazoo_session, require_zkd)

EXIT_BAD_CONFIG = 2


@pytest.fixture
def zkd_bin():
    if harness.zkd_is_reference():
        pytest.skip("zkd's own command line: nothing to check against ZooKeeper")
    require_zkd()
    return harness.zkd_bin()


def run_zkd(binary, args, cwd, timeout=20):
    """Runs zkd to completion (for commands that must exit)."""
    try:
        return subprocess.run([binary] + args, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        # A config that should have been refused started a server: the
        # child was killed by subprocess.run.
        pytest.fail("zkd %s did not exit within %ds (output: %r)" % (args, timeout, e.stderr))


class Running:
    """A zkd process started with arbitrary arguments, stopped by PID."""

    def __init__(self, binary, args, cwd, port, timeout=20.0):
        self.port = port
        self.out_path = os.path.join(cwd, "zkd-%d.log" % port)
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen([binary] + args, cwd=cwd, stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("zkd %s exited with %s:\n%s" %
                                     (args, self.proc.returncode, self.output()))
            try:
                # srvr is always answered, whatever the whitelist says.
                if "Mode: standalone" in four_letter_word("127.0.0.1", port, "srvr", 1.0):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("zkd %s not serving on %d after %.0fs:\n%s" %
                                     (args, port, timeout, self.output()))
            time.sleep(0.05)

    def output(self):
        self.out.flush()
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def kazoo_round_trip(port):
    with kazoo_session("127.0.0.1:%d" % port) as k:
        k.create("/cli-check", b"v", ephemeral=True)
        assert k.get("/cli-check")[0] == b"v"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def line_of(text, needle, occurrence=1):
    """1-based number of the line holding the n-th occurrence of `needle`."""
    seen = 0
    for n, line in enumerate(text.split("\n"), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return n
    raise AssertionError("%r not in %r" % (needle, text))


# ---------------------------------------------------------------------------------
# Bad YAML
# ---------------------------------------------------------------------------------

GOOD_HEAD = """\
# a comment, so line numbers are not all off by one
tick_ms: 2000
data_dir: ./data
client:
  address: 127.0.0.1
  port: {port}
"""

BAD_FILES = {
    # name: (text, [needles whose line may be reported], words the message must hold)
    "unknown_key": (GOOD_HEAD + "tcik_ms: 2000\n", ["tcik_ms"], ["tcik_ms"]),
    "unknown_nested_key": (GOOD_HEAD.replace("  port: {port}", "  prot: {port}"), ["prot:"],
                           ["prot"]),
    "wrong_type_string": (GOOD_HEAD + 'max_session_timeout_ms: "40000"\n',
                          ["max_session_timeout_ms"], ["max_session_timeout_ms"]),
    "wrong_type_word": (GOOD_HEAD.replace("tick_ms: 2000", "tick_ms: fast"), ["tick_ms"],
                        ["tick_ms"]),
    "wrong_type_map": (GOOD_HEAD + "fsync: {a: 1}\n", ["fsync"], ["fsync"]),
    "port_too_big": (GOOD_HEAD.replace("port: {port}", "port: 70000"), ["port: 70000"],
                     ["port"]),
    "port_zero": (GOOD_HEAD.replace("port: {port}", "port: 0"), ["port: 0"], ["port"]),
    "port_negative": (GOOD_HEAD.replace("port: {port}", "port: -5"), ["port: -5"], ["port"]),
    "min_above_max": (GOOD_HEAD + "min_session_timeout_ms: 9000\nmax_session_timeout_ms: 5000\n",
                      ["min_session_timeout_ms", "max_session_timeout_ms"], ["timeout"]),
    # Otherwise valid: each server has its own ports and data directory.
    "duplicate_server_ids": (GOOD_HEAD + """servers:
  - id: 1
    quorum_port: 12888
    election_port: 13888
    client_port: 12181
    data_dir: ./d1
  - id: 2
    quorum_port: 12889
    election_port: 13889
    client_port: 12182
    data_dir: ./d2
  - id: 1
    quorum_port: 12890
    election_port: 13890
    client_port: 12183
    data_dir: ./d3
""", ["- id: 1|2"], ["id"]),
    "yaml_syntax": (GOOD_HEAD + "tick_ms: [1, 2\n", ["tick_ms: [1, 2", ""], []),
}


def reported_lines(out, name):
    return [int(m.group(1)) for m in re.finditer(r"^%s:(\d+): \S" % re.escape(name), out, re.M)]


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_yaml_exits_2_with_file_and_line(zkd_bin, tmp_path, case):
    text, needles, words = BAD_FILES[case]
    text = text.replace("{port}", str(free_port()))
    write(tmp_path / "bad.yaml", text)
    p = run_zkd(zkd_bin, ["--config", "bad.yaml"], cwd=tmp_path)
    out = p.stdout + p.stderr
    assert p.returncode == EXIT_BAD_CONFIG, out
    lines = reported_lines(out, "bad.yaml")
    assert lines, "no 'bad.yaml:LINE: ...' in %r" % out
    allowed = set()
    for needle in needles:
        if "|" in needle:  # "text|n": the n-th occurrence of text
            t, n = needle.split("|")
            allowed.add(line_of(text, t, int(n)))
        elif needle:
            allowed.add(line_of(text, needle))
        else:  # end of file (a parser may only notice there)
            allowed.update({text.count("\n"), text.count("\n") + 1})
    assert set(lines) & allowed, "reported lines %s, expected one of %s:\n%s" % (
        lines, sorted(allowed), out)
    for w in words:
        assert w in out, out
    # Nothing was left listening.
    assert not os.path.exists(tmp_path / "data" / "zkd.pid")


def test_id_not_in_the_file(zkd_bin, tmp_path):
    text = """servers:
  - id: 1
    quorum_port: 12888
    election_port: 13888
    client_port: {p1}
    data_dir: ./d1
  - id: 2
    quorum_port: 12889
    election_port: 13889
    client_port: {p2}
    data_dir: ./d2
  - id: 3
    quorum_port: 12890
    election_port: 13890
    client_port: {p3}
    data_dir: ./d3
""".format(p1=free_port(), p2=free_port(), p3=free_port())
    write(tmp_path / "bad.yaml", text)
    p = run_zkd(zkd_bin, ["--config", "bad.yaml", "--id", "7"], cwd=tmp_path)
    out = p.stdout + p.stderr
    assert p.returncode == EXIT_BAD_CONFIG, out
    assert re.search(r"^bad\.yaml(:\d+)?: .*\b7\b", out, re.M), out


def test_bad_command_lines_exit_2(zkd_bin, tmp_path):
    for args in (["--id", "x"], ["--config"], ["--frobnicate"], ["config", "convert"],
                 ["--config", "missing.yaml"]):
        p = run_zkd(zkd_bin, args, cwd=tmp_path)
        assert p.returncode == EXIT_BAD_CONFIG, (args, p.stdout + p.stderr)
        assert (p.stdout + p.stderr).strip(), args


def test_every_problem_is_listed_not_just_the_first(zkd_bin, tmp_path):
    text = GOOD_HEAD.replace("{port}", "70000") + "tcik_ms: 1\nfsync: maybe\n"
    write(tmp_path / "bad.yaml", text)
    p = run_zkd(zkd_bin, ["--config", "bad.yaml"], cwd=tmp_path)
    out = p.stdout + p.stderr
    assert p.returncode == EXIT_BAD_CONFIG, out
    lines = set(reported_lines(out, "bad.yaml"))
    assert {line_of(text, "port: 70000"), line_of(text, "tcik_ms"),
            line_of(text, "fsync")} <= lines, out


# ---------------------------------------------------------------------------------
# zoo.cfg
# ---------------------------------------------------------------------------------

ZOO_CFG = """\
# The number of milliseconds of each tick
tickTime=500
# The number of ticks that the initial
# synchronization phase can take
initLimit=10
# The number of ticks that can pass between
# sending a request and getting an acknowledgement
syncLimit=5
# the directory where the snapshot is stored.
dataDir={data_dir}
# the port at which the clients will connect
clientPort={port}
clientPortAddress=127.0.0.1
4lw.commands.whitelist=ruok, srvr, conf, mntr
maxClientCnxns=60
admin.enableServer=false
# Purge task interval in hours; set to "0" to disable auto purge feature
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
"""


def zoo_cfg(tmp_path, extra=""):
    port = free_port()
    data = tmp_path / "zkdata"
    data.mkdir(exist_ok=True)
    text = ZOO_CFG.format(data_dir=data, port=port) + extra
    write(tmp_path / "zoo.cfg", text)
    return port, text


def test_the_zoo_cfg_used_here_starts_zookeeper(tmp_path):
    """Keeps the zoo.cfg tests honest: the very same file runs ZooKeeper."""
    port, _ = zoo_cfg(tmp_path, extra="someUnknownKey=1\n")
    srv = ZooKeeperServer(port=port, workdir=str(tmp_path), start=False)
    assert srv.config_path == str(tmp_path / "zoo.cfg")
    srv._write_config = lambda: None  # run the file as written
    try:
        srv.start()
        assert srv.four_letter_word("ruok") == "imok"
        assert "tickTime=500" in srv.four_letter_word("conf")
        assert "is not executed" in srv.four_letter_word("stat")
        kazoo_round_trip(port)
    finally:
        srv.close()


def test_zoo_cfg_runs_unchanged(zkd_bin, tmp_path):
    port, text = zoo_cfg(tmp_path)
    with Running(zkd_bin, ["--zoo-cfg", "zoo.cfg"], cwd=tmp_path, port=port) as z:
        assert four_letter_word("127.0.0.1", port, "ruok") == "imok"
        conf = four_letter_word("127.0.0.1", port, "conf")
        assert "tickTime=500" in conf
        assert "clientPort=%d" % port in conf
        # 2 and 20 ticks, as ZooKeeper derives them.
        assert "minSessionTimeout=1000" in conf
        assert "maxSessionTimeout=10000" in conf
        assert four_letter_word("127.0.0.1", port, "stat") == (
            "stat is not executed because it is not in the whitelist.\n")
        kazoo_round_trip(port)
        # Data went where dataDir says.
        assert os.listdir(tmp_path / "zkdata")
        out = z.output()
    # autopurge.* is read by ZooKeeper but not acted on by zkd: a warning with
    # its line, not an error.
    assert re.search(r"zoo\.cfg:%d: .*autopurge" % line_of(text, "autopurge.snapRetainCount"),
                     out), out


def test_unknown_zoo_cfg_key_is_reported_with_its_line(zkd_bin, tmp_path):
    port, text = zoo_cfg(tmp_path, extra="frobnicateLevel=11\n")
    n = line_of(text, "frobnicateLevel")
    # ZooKeeper accepts any key (it becomes a system property), so zkd runs,
    # and says which line it ignored.
    with Running(zkd_bin, ["--zoo-cfg", "zoo.cfg"], cwd=tmp_path, port=port) as z:
        kazoo_round_trip(port)
        out = z.output()
    assert re.search(r"zoo\.cfg:%d: .*frobnicateLevel" % n, out), out
    p = run_zkd(zkd_bin, ["config", "convert", "zoo.cfg"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert re.search(r"zoo\.cfg:%d: .*frobnicateLevel" % n, p.stderr), p.stderr


@pytest.mark.parametrize("bad,needle", [
    ("clientPort=abc", "clientPort=abc"),
    ("tickTime=0", "tickTime=0"),
    ("minSessionTimeout=9000\nmaxSessionTimeout=4000", "maxSessionTimeout=4000"),
], ids=["port_not_a_number", "tick_zero", "min_above_max"])
def test_zoo_cfg_values_zookeeper_rejects_are_errors(zkd_bin, tmp_path, bad, needle):
    port, text = zoo_cfg(tmp_path)
    key = bad.split("=")[0]
    # Replace the key if the template has it, else append.
    lines = [l for l in text.split("\n") if not l.startswith(key + "=")]
    text = "\n".join(lines).rstrip("\n") + "\n" + bad + "\n"
    write(tmp_path / "zoo.cfg", text)
    p = run_zkd(zkd_bin, ["--zoo-cfg", "zoo.cfg"], cwd=tmp_path)
    out = p.stdout + p.stderr
    assert p.returncode == EXIT_BAD_CONFIG, out
    allowed = {line_of(text, needle), line_of(text, bad.split("\n")[0])}
    assert set(reported_lines(out, "zoo.cfg")) & allowed, out


def test_config_convert_prints_yaml_that_runs_the_same_server(zkd_bin, tmp_path):
    port, _ = zoo_cfg(tmp_path)
    p = run_zkd(zkd_bin, ["config", "convert", "zoo.cfg"], cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    # Diagnostics (the autopurge warnings) go to stderr: stdout is the file.
    yaml_text = p.stdout
    assert "tick_ms: 500" in yaml_text
    assert re.search(r"port: %d\b" % port, yaml_text), yaml_text
    write(tmp_path / "converted.yaml", yaml_text)

    with Running(zkd_bin, ["--zoo-cfg", "zoo.cfg"], cwd=tmp_path, port=port):
        from_zoo = four_letter_word("127.0.0.1", port, "conf")
    with Running(zkd_bin, ["--config", "converted.yaml"], cwd=tmp_path, port=port) as z:
        from_yaml = four_letter_word("127.0.0.1", port, "conf")
        assert four_letter_word("127.0.0.1", port, "ruok") == "imok"
        assert "is not executed" in four_letter_word("127.0.0.1", port, "stat")
        kazoo_round_trip(port)
        out = z.output()
    assert "autopurge" not in out, out

    def steady(conf):
        return sorted(l for l in conf.split("\n") if not re.match(r"^\w+Size=", l))

    assert steady(from_yaml) == steady(from_zoo)
