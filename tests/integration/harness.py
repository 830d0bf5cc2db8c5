"""Process harness for the integration tests.

Starts zkd (``ZkdServer``) or Apache ZooKeeper 3.8 (``ZooKeeperServer``) on a free
127.0.0.1 port in a private temporary directory, waits until it serves clients, and
stops it by PID. Both classes share one interface so a test can run unchanged against
either server:

    with ZkdServer() as srv:          # or ZooKeeperServer()
        srv.hostport                  # "127.0.0.1:PORT"
        srv.four_letter_word("srvr")
        srv.kill9(); srv.restart()    # the data directory survives a restart

`start_server(kind, server_factory, **zkd_yaml_keys)` (or `new_server`) gives one
test body either server: "zkd" or "zookeeper" (`KINDS`), the latter as a
`ReferenceServer` translating the zkd YAML keys into zoo.cfg and JVM settings.
Ensembles: `ZkdEnsemble(n=3, observers=0, config=...)` (one YAML, `zkd --config FILE
--id N` per node) and `ZkEnsemble` (QuorumPeerMain JVMs, zoo.cfg + myid per node) share
one interface (.nodes with kill9/sigstop/sigcont/start/mode, .leader(), .wait_serving());
`new_ensemble()` picks ZooKeeper when ZKD_BIN=zookeeper, else zkd.
Also here: kazoo helpers (`kazoo_session`, `stop_quietly`, `multi_supported`), `require_zkd` and
the bounded waits `wait_until` and `Events`. The raw jute client is in
rawclient.py, the network-cutting relay in tcpproxy.py.

Environment:
    ZKD_BIN          path of the zkd binary (default /work/main/build/zkd). The special
                     value "zookeeper" makes ZkdServer run Apache ZooKeeper instead, with
                     an equivalent zoo.cfg: that is how the suite itself is checked
                     against the reference on both sides.
    ZK_CLASSPATH     overrides the Java classpath of ZooKeeper (default: from zkEnv.sh).
    ZKD_KEEP_TMP=1   keeps the temporary directories for inspection.
"""

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
DEFAULT_ZKD_BIN = "/work/main/build/zkd"
ZK_HOME = "/usr/share/zookeeper"
ZKCLI = os.path.join(ZK_HOME, "bin", "zkCli.sh")

# Every server still running, so a crashed test run does not leave processes behind.
_live_servers = set()


def zkd_bin():
    return os.environ.get("ZKD_BIN", DEFAULT_ZKD_BIN)


def zkd_is_reference():
    """True when ZKD_BIN=zookeeper: the "zkd" side is Apache ZooKeeper too."""
    return zkd_bin() == "zookeeper"


def zkd_available():
    b = zkd_bin()
    return b == "zookeeper" or (os.path.isfile(b) and os.access(b, os.X_OK))


def require_zkd():
    """Inside a test: skips it when zkd is not built and ZKD_BIN is not set; fails
    it when ZKD_BIN is set but not an executable."""
    import pytest

    if not zkd_available():
        if "ZKD_BIN" in os.environ:
            pytest.fail("ZKD_BIN=%s is not an executable" % zkd_bin())
        pytest.skip("zkd binary %s not built (set ZKD_BIN)" % zkd_bin())


def hostport_of(target):
    """"host:port" of a server object (anything with .hostport) or of the string itself."""
    return target if isinstance(target, str) else target.hostport


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def four_letter_word(host, port, word, timeout=5.0):
    """Sends a 4-letter word and returns the whole answer as text ("" if the server
    closed without answering). Raises OSError if the port does not accept."""
    if isinstance(word, str):
        word = word.encode()
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(word)
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except ConnectionResetError:
                break
            if not c:
                break
            chunks.append(c)
    return b"".join(chunks).decode("utf-8", "replace")


@contextlib.contextmanager
def kazoo_session(target, timeout=10.0, start_timeout=10.0, **kwargs):
    """A started KazooClient for the `with` block; stopped and closed after it."""
    from kazoo.client import KazooClient

    c = KazooClient(hosts=hostport_of(target), timeout=timeout, **kwargs)
    c.start(timeout=start_timeout)
    try:
        yield c
    finally:
        c.stop()
        c.close()


def stop_quietly(client):
    """Stops and closes a KazooClient in a clean-up path, where its errors
    (already stopped, connection gone) no longer matter."""
    try:
        client.stop()
        client.close()
    except Exception:
        pass


def multi_supported(server):
    """Probes multi on a throwaway session: zkd implements it in a later milestone."""
    with kazoo_session(server, timeout=5.0, connection_retry=None, command_retry=None) as c:
        try:
            t = c.transaction()
            t.check("/", -1)
            t.commit()
            return True
        except Exception:
            return False


def wait_until(predicate, timeout, interval=0.02):
    """Polls `predicate` until it is true or `timeout` seconds pass; returns its last
    value. Used only for outcomes that have no event to wait on."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class Events:
    """Thread-safe list of watch events and states with a bounded wait."""

    def __init__(self):
        self.items = []
        self.cond = threading.Condition()

    def __call__(self, item):
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait_for(self, predicate, timeout):
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.items), timeout)

    def wait_settled(self, last, timeout, hold=0.3):
        """Waits until the newest item is `last` and nothing follows it for
        `hold` seconds (e.g. a connection that holds: after a leader dies, a
        follower that has not noticed yet may take a session back and drop it
        a moment later for the election)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not self.cond.wait_for(
                        lambda: self.items and self.items[-1] == last, left):
                    return False
                seen = len(self.items)
                if not self.cond.wait_for(lambda: len(self.items) != seen, hold):
                    return True


def _kazoo_connects(hostport, timeout):
    from kazoo.client import KazooClient

    c = KazooClient(hosts=hostport, timeout=max(timeout, 1.0),
                    connection_retry=None, command_retry=None)
    try:
        c.start(timeout=timeout)
        return True
    except Exception:
        return False
    finally:
        stop_quietly(c)


def _tail(path, max_bytes=20000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read().decode("utf-8", "replace")
        if size > max_bytes:
            data = "...[%d bytes cut]...\n" % (size - max_bytes) + data
        return data
    except OSError as e:
        return "<%s>" % e


def _yaml_scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_yaml(value, indent=0):
    """A small YAML emitter for nested dicts/lists of scalars (no PyYAML needed)."""
    pad = "  " * indent
    lines = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:" % (pad, k))
                lines.append(to_yaml(v, indent + 1))
            elif isinstance(v, dict):
                lines.append("%s%s: {}" % (pad, k))
            elif isinstance(v, list):
                lines.append("%s%s: []" % (pad, k))
            else:
                lines.append("%s%s: %s" % (pad, k, _yaml_scalar(v)))
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, (dict, list)) and v:
                sub = to_yaml(v, indent + 1).lstrip()
                lines.append("%s- %s" % (pad, sub))
            else:
                lines.append("%s- %s" % (pad, _yaml_scalar(v)))
    else:
        lines.append(pad + _yaml_scalar(value))
    return "\n".join(lines)


def _deep_merge(base, extra):
    out = dict(base)
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


class ServerError(RuntimeError):
    pass


class _Server:
    """Common process handling. Subclasses provide _write_config() and _command()."""

    kind = "server"
    start_timeout = 20.0

    def __init__(self, port=None, workdir=None, start=True, start_timeout=None):
        self.host = HOST
        self.port = port or free_port()
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="zkd-it-%s-" % self.kind)
        self.data_dir = os.path.join(self.workdir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.stdout_path = os.path.join(self.workdir, "stdout.log")
        self.stderr_path = os.path.join(self.workdir, "stderr.log")
        if start_timeout is not None:
            self.start_timeout = start_timeout
        self.proc = None
        self.starts = 0
        self.last_exit_code = None
        self._closed = False
        if start:
            try:
                self.start()
            except Exception:
                # The exception carries the logs; nothing will close this server.
                _live_servers.discard(self)
                if self._own_workdir and not os.environ.get("ZKD_KEEP_TMP"):
                    shutil.rmtree(self.workdir, ignore_errors=True)
                raise

    # -- interface ------------------------------------------------------------
    @property
    def hostport(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        if self.running():
            raise ServerError("%s already running (pid %d)" % (self.kind, self.pid))
        self._write_config()
        cmd = self._command()
        self.starts += 1
        # Append: a restart keeps the earlier output next to the new one.
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            banner = ("==== start #%d: %s\n" % (self.starts, " ".join(cmd))).encode()
            out.write(banner)
            err.write(banner)
            out.flush()
            err.flush()
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         cwd=self.workdir, env=self._env())
        _live_servers.add(self)
        try:
            self.wait_ready(self.start_timeout)
        except Exception:
            self._terminate(grace=2.0)
            raise

    def wait_ready(self, timeout):
        """Ready = `ruok` answers `imok`, or (for a server without 4-letter words)
        a kazoo session can be established."""
        deadline = time.monotonic() + timeout
        accepted_without_imok = 0
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError("%s exited with code %s during start-up\n%s" %
                                  (self.kind, self.proc.returncode, self.logs()))
            try:
                answer = four_letter_word(self.host, self.port, "ruok", timeout=1.0)
                # ZooKeeper says imok as soon as it listens, before it serves
                # sessions; srvr tells the difference.
                if answer == "imok" and "not currently serving" not in four_letter_word(
                        self.host, self.port, "srvr", timeout=1.0):
                    return
                accepted_without_imok += 1
                last_error = "ruok answered %r" % answer
                if accepted_without_imok >= 3 and _kazoo_connects(
                        self.hostport, min(3.0, max(0.5, deadline - time.monotonic()))):
                    return
            except OSError as e:
                last_error = e
            time.sleep(0.05)
        raise ServerError("%s on %s not ready after %.1fs (last: %s)\n%s" %
                          (self.kind, self.hostport, timeout, last_error, self.logs()))

    def stop(self, grace=10.0):
        """SIGTERM, then SIGKILL after `grace` seconds. Returns the exit code."""
        return self._terminate(grace)

    def kill9(self):
        """SIGKILL: the process gets no chance to flush or clean up."""
        if not self.running():
            return self.last_exit_code
        os.kill(self.proc.pid, signal.SIGKILL)
        self.last_exit_code = self.proc.wait()
        _live_servers.discard(self)
        return self.last_exit_code

    def restart(self, kill=False):
        """Stops (SIGTERM, or SIGKILL when kill=True) and starts again on the same
        port with the same data directory."""
        if kill:
            self.kill9()
        else:
            self.stop()
        self.start()

    def close(self, keep=False):
        """Stops the server and removes its temporary directory (kept when
        keep=True, e.g. after a failed test, or with ZKD_KEEP_TMP=1)."""
        if self._closed:
            return
        self.stop()
        self._closed = True
        if keep:
            sys.stderr.write("kept %s of %s\n" % (self.workdir, self.kind))
        elif self._own_workdir and not os.environ.get("ZKD_KEEP_TMP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def four_letter_word(self, word, timeout=5.0):
        return four_letter_word(self.host, self.port, word, timeout)

    def logs(self, max_bytes=20000):
        return ("---- %s stdout (%s) ----\n%s\n---- %s stderr (%s) ----\n%s\n" %
                (self.kind, self.stdout_path, _tail(self.stdout_path, max_bytes),
                 self.kind, self.stderr_path, _tail(self.stderr_path, max_bytes)))

    def wipe(self, client=None):
        """Deletes every node except /zookeeper, so a shared server looks new."""
        if client is None:
            with kazoo_session(self) as own:
                return self.wipe(own)
        for child in client.get_children("/"):
            if child != "zookeeper":
                client.delete("/" + child, recursive=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            sys.stderr.write(self.logs())
        self.close()
        return False

    def __repr__(self):
        return "<%s %s pid=%s>" % (self.kind, self.hostport, self.pid)

    # -- internals ------------------------------------------------------------
    def _env(self):
        return dict(os.environ)

    def _terminate(self, grace):
        if not self.running():
            if self.proc is not None:
                self.last_exit_code = self.proc.returncode
            _live_servers.discard(self)
            return self.last_exit_code
        try:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.last_exit_code = self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.last_exit_code = self.proc.wait()
        _live_servers.discard(self)
        return self.last_exit_code


# ---------------------------------------------------------------------------------
# Apache ZooKeeper 3.8 (the reference)
# ---------------------------------------------------------------------------------

def zookeeper_classpath():
    cp = os.environ.get("ZK_CLASSPATH")
    if cp:
        return cp
    try:
        cp = subprocess.run(
            ["bash", "-c", '. %s/bin/zkEnv.sh >/dev/null 2>&1; printf %%s "$CLASSPATH"' % ZK_HOME],
            capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        cp = ""
    if not cp:
        cp = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"
    # A logging backend, so the server's own log lands in stderr.log.
    if os.path.exists("/usr/share/java/slf4j-simple.jar"):
        cp += ":/usr/share/java/slf4j-simple.jar"
    return cp


_JVM_FLAGS = [
    # Start-up time dominates a test run: a small heap, serial GC and C1 only.
    "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xms32m", "-Xmx512m",
    "-Xshare:auto", "-Djava.net.preferIPv4Stack=true",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
    "-Dorg.slf4j.simpleLogger.showDateTime=true",
    "-Dzookeeper.admin.enableServer=false",
]


class ZooKeeperServer(_Server):
    """A standalone Apache ZooKeeper 3.8 from the Debian package."""

    kind = "zookeeper"
    start_timeout = 60.0

    def __init__(self, port=None, workdir=None, tick_ms=200, extra_cfg=None, start=True,
                 start_timeout=None):
        self.tick_ms = tick_ms
        self.extra_cfg = dict(extra_cfg or {})
        super().__init__(port=port, workdir=workdir, start=start, start_timeout=start_timeout)

    @property
    def config_path(self):
        return os.path.join(self.workdir, "zoo.cfg")

    def _write_config(self):
        cfg = {
            "tickTime": self.tick_ms,
            "dataDir": self.data_dir,
            "clientPort": self.port,
            "clientPortAddress": self.host,
            "4lw.commands.whitelist": "*",
            "admin.enableServer": "false",
            "maxClientCnxns": 0,
        }
        cfg.update(self.extra_cfg)
        with open(self.config_path, "w") as f:
            for k, v in cfg.items():
                f.write("%s=%s\n" % (k, v))

    def _command(self):
        return (["java", "-cp", zookeeper_classpath(),
                 "-Dzookeeper.log.dir=%s" % self.workdir] + _JVM_FLAGS +
                ["org.apache.zookeeper.server.ZooKeeperServerMain", self.config_path])


# ---------------------------------------------------------------------------------
# zkd
# ---------------------------------------------------------------------------------

class ZkdServer(_Server):
    """zkd started as `zkd --config FILE.yaml [--id N]`.

    config:      dict merged over the defaults (client address/port, data_dir,
                 four_letter_words "*", tick_ms 200) before it is written as YAML.
    config_text: the YAML file verbatim instead (the client port is still self.port;
                 the text must use it, e.g. via "{port}" and "{data_dir}" placeholders).
    node_id:     passed as --id when not None.
    extra_args:  appended to the command line.
    """

    kind = "zkd"
    start_timeout = 20.0

    def __init__(self, port=None, workdir=None, config=None, config_text=None, node_id=None,
                 extra_args=(), tick_ms=200, start=True, start_timeout=None, binary=None):
        self.binary = binary or zkd_bin()
        self.config = dict(config or {})
        self.config_text = config_text
        self.node_id = node_id
        self.extra_args = list(extra_args)
        self.tick_ms = tick_ms
        self.reference = self.binary == "zookeeper"
        if self.reference:
            self.kind = "zkd-as-zookeeper"
            self.start_timeout = ZooKeeperServer.start_timeout
        elif not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise ServerError("zkd binary %r not found (set ZKD_BIN)" % self.binary)
        super().__init__(port=port, workdir=workdir, start=start, start_timeout=start_timeout)

    @property
    def config_path(self):
        return os.path.join(self.workdir, "zoo.cfg" if self.reference else "zkd.yaml")

    def effective_config(self):
        base = {
            "client": {"address": self.host, "port": self.port},
            "data_dir": self.data_dir,
            "four_letter_words": "*",
            "tick_ms": self.tick_ms,
        }
        return _deep_merge(base, self.config)

    def _write_config(self):
        if self.reference:
            ZooKeeperServer._write_config(self._as_reference())
            return
        if self.config_text is not None:
            text = self.config_text.format(port=self.port, data_dir=self.data_dir,
                                           host=self.host, workdir=self.workdir)
        else:
            text = to_yaml(self.effective_config()) + "\n"
        with open(self.config_path, "w") as f:
            f.write(text)

    def _command(self):
        if self.reference:
            return ZooKeeperServer._command(self._as_reference())
        cmd = [self.binary, "--config", self.config_path]
        if self.node_id is not None:
            cmd += ["--id", str(self.node_id)]
        return cmd + self.extra_args

    def _as_reference(self):
        # A stand-in carrying exactly what ZooKeeperServer's config writer reads.
        ref = ZooKeeperServer.__new__(ZooKeeperServer)
        ref.host, ref.port, ref.workdir = self.host, self.port, self.workdir
        ref.data_dir = self.data_dir
        ref.tick_ms = self.effective_config().get("tick_ms", self.tick_ms)
        ref.extra_cfg = {}
        return ref


# ---------------------------------------------------------------------------------
# One test body, either server
# ---------------------------------------------------------------------------------

class ReferenceServer(ZooKeeperServer):
    """Apache ZooKeeper configured from the same dict of zkd YAML keys, so one test
    body can run against both servers."""

    def __init__(self, config=None, **kwargs):
        cfg = dict(config or {})
        extra = {}
        self.jvm_props = []
        if "min_session_timeout_ms" in cfg:
            extra["minSessionTimeout"] = cfg["min_session_timeout_ms"]
        if "max_session_timeout_ms" in cfg:
            extra["maxSessionTimeout"] = cfg["max_session_timeout_ms"]
        if "four_letter_words" in cfg:
            words = cfg["four_letter_words"]
            extra["4lw.commands.whitelist"] = words if isinstance(words, str) else ",".join(words)
        if "max_frame_bytes" in cfg:
            # ZooKeeper reads jute.maxbuffer as a system property only.
            self.jvm_props.append("-Djute.maxbuffer=%d" % cfg["max_frame_bytes"])
        if "max_client_connections" in cfg:
            extra["maxClientCnxns"] = cfg["max_client_connections"]
        if "fsync" in cfg:
            extra["forceSync"] = "yes" if cfg["fsync"] else "no"
        if cfg.get("enforce_quota"):
            self.jvm_props.append("-Dzookeeper.enforceQuota=true")
        if cfg.get("extended_types"):
            self.jvm_props.append("-Dzookeeper.extendedTypesEnabled=true")
        if "container_check_interval_ms" in cfg:
            # A system property only (ZooKeeperServerMain reads it directly).
            self.jvm_props.append("-Dznode.container.checkIntervalMs=%d" %
                                  cfg["container_check_interval_ms"])
        super().__init__(tick_ms=cfg.get("tick_ms", 200), extra_cfg=extra, **kwargs)

    def _command(self):
        cmd = super()._command()
        main = cmd.index("org.apache.zookeeper.server.ZooKeeperServerMain")
        return cmd[:main] + self.jvm_props + cmd[main:]


KINDS = ["zkd", "zookeeper"]


def server_class(kind):
    """The class that runs `kind` ("zkd" or "zookeeper") from zkd YAML keys;
    ZKD_BIN=zookeeper makes the "zkd" kind the reference as well."""
    if kind == "zookeeper" or zkd_is_reference():
        return ReferenceServer
    return ZkdServer


def new_server(kind, config):
    """A started server of `kind` with the zkd YAML keys in `config`, owned by the
    caller (for module-scoped fixtures; tests use start_server)."""
    cls = server_class(kind)
    if cls is ZkdServer:
        require_zkd()
    return cls(config=config)


def start_server(kind, server_factory, **config):
    """A started server of `kind` ("zkd" or "zookeeper") with the zkd YAML keys in
    `config`, from the server_factory fixture (which stops it after the test)."""
    return server_factory(server_class(kind), config=config)


# ---------------------------------------------------------------------------------
# Ensembles: 3 or 5 participants (+ observers) of zkd or of Apache ZooKeeper
# ---------------------------------------------------------------------------------

# What an ensemble runs with unless the caller says otherwise (zkd YAML keys; the
# ZooKeeper side gets the same values as zoo.cfg keys, see ZooKeeperNode). A short tick keeps
# failure detection (sync_limit ticks) and session expiry quick in tests; both
# servers always get the same values.
ENSEMBLE_DEFAULTS = {
    "tick_ms": 500,
    "init_limit_ticks": 10,
    "sync_limit_ticks": 5,
    "max_session_timeout_ms": 30000,
    "max_client_connections": 0,
    "four_letter_words": "*",
}


def parse_srvr(text):
    """The "Key: value" lines of a srvr/stat answer as a dict (values as text)."""
    out = {}
    for line in text.splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
            out[k.strip()] = v.strip()
    return out


def zookeeper_server_jvm_flags(heap="1000m"):
    """JVM settings of a ZooKeeper run like production (default JIT and GC, a
    zkServer.sh-like heap), for benchmarks; tests use the fast-start _JVM_FLAGS."""
    return ["-Xmx%s" % heap, "-Djava.net.preferIPv4Stack=true",
            "-Dzookeeper.admin.enableServer=false",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
            "-Dorg.slf4j.simpleLogger.showDateTime=true"]


class Member:
    """What one member of an ensemble is: ids from 1, participants first."""

    def __init__(self, sid, role, workdir, ports):
        self.id = sid
        self.role = role  # "participant" or "observer"
        self.workdir = workdir
        self.data_dir = os.path.join(workdir, "data")
        self.client_port, self.quorum_port, self.election_port = ports


def free_ports(count):
    """`count` distinct TCP ports on 127.0.0.1 that nothing listens on right now
    (all held open together, so none is handed out twice)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class _EnsembleNode:
    """Process control of one ensemble member, mixed into the zkd and the
    ZooKeeper server classes (which give .hostport, .pid, .kill9(), .stop(),
    .restart(), .four_letter_word(), .logs()).

    start(wait=True) waits until this node serves (srvr reports a Mode), which
    needs a quorum of its ensemble running; start(wait=False) only execs it.
    """

    serve_timeout = 60.0

    def _member_init(self, ensemble, member):
        self.ensemble = ensemble
        self.member = member
        self.id = member.id
        self.role = member.role
        self.stopped = False  # SIGSTOPped
        self.wanted = False  # started and not stopped or killed since: should run
        self.exec_t0 = None  # time.monotonic() of the latest exec
        self._wait_on_start = True

    # -- process control ----------------------------------------------------------
    def start(self, wait=True, timeout=None):
        self._wait_on_start = wait
        self.stopped = False
        self.wanted = True
        if timeout is not None:
            self.start_timeout = timeout
        try:
            super().start()
        finally:
            self._wait_on_start = True

    def restart(self, kill=False, wait=True):
        if kill:
            self.kill9()
        else:
            self.stop()
        self.start(wait=wait)

    def sigstop(self):
        """Freezes the process (a GC pause or a hung machine, as seen by peers)."""
        os.kill(self.pid, signal.SIGSTOP)
        self.stopped = True

    def sigcont(self):
        if self.running():
            os.kill(self.pid, signal.SIGCONT)
        self.stopped = False

    def kill9(self):
        self.wanted = False
        code = super().kill9()
        self.stopped = False
        return code

    def _terminate(self, grace):
        if self.stopped and self.running():
            # A frozen process would sit on SIGTERM until the grace ran out.
            os.kill(self.pid, signal.SIGCONT)
        self.stopped = False
        self.wanted = False
        return super()._terminate(grace)

    def _command(self):
        cmd = self._member_command()
        self.exec_t0 = time.monotonic()
        return cmd

    # -- state ----------------------------------------------------------------------
    def srvr(self, timeout=2.0):
        """srvr as a dict, {} when the node does not answer (down, frozen)."""
        if not self.running() or self.stopped:
            return {}
        try:
            return parse_srvr(self.four_letter_word("srvr", timeout=timeout))
        except OSError:
            return {}

    def mode(self, timeout=2.0):
        """leader, follower, observer (standalone for a lone server), or None
        while the node does not serve (looking, down, frozen)."""
        return self.srvr(timeout).get("Mode")

    def zxid(self, timeout=2.0):
        """The last zxid srvr reports, or None."""
        z = self.srvr(timeout).get("Zxid")
        return int(z, 16) if z else None

    def wait_ready(self, timeout):
        if not self._wait_on_start:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError("%s exited with code %s during start-up\n%s" %
                                  (self.kind, self.proc.returncode, self.logs()))
            if self.mode(timeout=1.0):
                return
            time.sleep(0.05)
        raise ServerError("%s node %d on %s does not serve after %.1fs\n%s" %
                          (self.kind, self.id, self.hostport, timeout, self.logs()))

    def __repr__(self):
        return "<%s #%d %s pid=%s%s>" % (self.kind, self.id, self.hostport, self.pid,
                                         " STOPPED" if self.stopped else "")


class ZkdNode(_EnsembleNode, ZkdServer):
    """One zkd of a ZkdEnsemble: `zkd --config ENSEMBLE.yaml --id N`."""

    kind = "zkd-node"

    def __init__(self, ensemble, member, binary=None):
        self._member_init(ensemble, member)
        self.start_timeout = self.serve_timeout
        super().__init__(port=member.client_port, workdir=member.workdir,
                         node_id=member.id, start=False, binary=binary)

    @property
    def config_path(self):
        return self.ensemble.config_path

    def _write_config(self):
        pass  # the ensemble wrote the one file every node reads

    def _member_command(self):
        return ZkdServer._command(self)


class ZooKeeperNode(_EnsembleNode, ReferenceServer):
    """One Apache ZooKeeper QuorumPeerMain of a ZkEnsemble: zoo.cfg with every
    server.N line, myid in its data dir."""

    kind = "zookeeper-node"

    def __init__(self, ensemble, member, config, jvm_flags):
        self._member_init(ensemble, member)
        self.jvm_flags = list(jvm_flags)
        super().__init__(config=config, port=member.client_port, workdir=member.workdir,
                         start=False, start_timeout=self.serve_timeout)
        self.extra_cfg.update(ensemble.zk_quorum_cfg(config))
        if member.role == "observer":
            self.extra_cfg["peerType"] = "observer"

    def _write_config(self):
        ReferenceServer._write_config(self)
        with open(os.path.join(self.data_dir, "myid"), "w") as f:
            f.write("%d\n" % self.id)

    def _member_command(self):
        return (["java", "-cp", zookeeper_classpath(),
                 "-Dzookeeper.log.dir=%s" % self.workdir] + self.jvm_flags + self.jvm_props +
                ["org.apache.zookeeper.server.quorum.QuorumPeerMain", self.config_path])


class _Ensemble:
    """n participants and `observers` observers on 127.0.0.1, each with its own
    free ports, data dir and log files under one temporary directory.

        with ZkEnsemble(n=3) as ens:              # or ZkdEnsemble, or new_ensemble()
            ens.connect_string()                  # "127.0.0.1:p1,127.0.0.1:p2,..."
            leader = ens.leader()                 # the node whose srvr says leader
            leader.kill9(); ens.wait_serving(30)  # a new leader among the rest
            leader.start()                        # rejoins (waits until it serves)

    config: zkd YAML keys over ENSEMBLE_DEFAULTS (tick_ms, init_limit_ticks,
    sync_limit_ticks, snapshot_count, min/max_session_timeout_ms, fsync, ...);
    ZooKeeper gets the equivalent zoo.cfg keys.
    """

    kind = "ensemble"
    start_timeout = 90.0

    def __init__(self, n=3, observers=0, config=None, start=True, timeout=None,
                 workdir=None):
        self.n = n
        self.n_observers = observers
        # A key set to None falls back to the server's own default.
        self.config = {k: v for k, v in dict(ENSEMBLE_DEFAULTS, **(config or {})).items()
                       if v is not None}
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="zkd-ens-%s-" % self.kind)
        self._closed = False
        self.members = []
        ports = free_ports(3 * (n + observers))
        for sid in range(1, n + observers + 1):
            wd = os.path.join(self.workdir, "n%d" % sid)
            os.makedirs(os.path.join(wd, "data"), exist_ok=True)
            self.members.append(Member(sid, "participant" if sid <= n else "observer", wd,
                                       ports[3 * (sid - 1):3 * sid]))
        self.nodes = [self._make_node(m) for m in self.members]
        if start:
            try:
                self.start(timeout)
            except Exception:
                self.close()
                raise

    # -- lifecycle ------------------------------------------------------------------
    def start(self, timeout=None):
        """Execs every node that is not running, then waits until all serve."""
        for node in self.nodes:
            if not node.running():
                node.start(wait=False)
        self.start_t_last = max(n.exec_t0 for n in self.nodes)
        return self.wait_serving(timeout or self.start_timeout)

    def close(self, keep=False):
        if self._closed:
            return
        self._closed = True
        for node in self.nodes:
            try:
                node._terminate(grace=10.0)
            except Exception:
                pass
        if keep:
            sys.stderr.write("kept %s of %s\n" % (self.workdir, self.kind))
        elif self._own_workdir and not os.environ.get("ZKD_KEEP_TMP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            sys.stderr.write(self.logs())
        self.close()
        return False

    # -- who is who ----------------------------------------------------------------
    def node(self, sid):
        return self.nodes[sid - 1]

    def participants(self):
        return [n for n in self.nodes if n.role == "participant"]

    def observers(self):
        return [n for n in self.nodes if n.role == "observer"]

    def running(self):
        """Nodes whose process runs and is not frozen."""
        return [n for n in self.nodes if n.running() and not n.stopped]

    def connect_string(self, nodes=None):
        return ",".join(n.hostport for n in (self.nodes if nodes is None else nodes))

    def modes(self):
        """{id: mode or None} of every node (None: down, frozen or not serving)."""
        return {n.id: n.mode() for n in self.nodes}

    def leader(self):
        """The one running node that reports Mode: leader, or None (none, or
        more than one while an old leader has not noticed yet)."""
        leaders = [n for n in self.running() if n.mode() == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def followers(self):
        return [n for n in self.running() if n.mode() == "follower"]

    def wait_leader(self, timeout=60.0, exclude=()):
        """Waits until exactly one running node leads (and it is not in
        `exclude`); returns it."""
        def new_leader():
            leader = self.leader()
            return leader if leader is not None and leader not in exclude else None

        found = wait_until(new_leader, timeout, interval=0.05)
        if found is None:
            raise ServerError("%s: no single leader after %.0fs: modes %s\n%s" %
                              (self.kind, timeout, self.modes(), self.logs()))
        return found

    def wait_serving(self, timeout=60.0, nodes=None):
        """Waits until every running node (or each of `nodes`) answers srvr with
        a Mode and exactly one of them is the leader; returns {id: mode}."""
        deadline = time.monotonic() + timeout
        modes = {}
        while True:
            # Nodes that should run: one that exited on its own is an error.
            targets = ([n for n in self.nodes if n.wanted and not n.stopped]
                       if nodes is None else nodes)
            dead = [n for n in targets if not n.running()]
            if dead:
                raise ServerError("%s: node(s) %s exited\n%s" % (
                    self.kind, [n.id for n in dead], self.logs()))
            modes = {n.id: n.mode(timeout=1.0) for n in targets}
            if len(modes) > 1 and all(m == "standalone" for m in modes.values()):
                raise ServerError("%s: every node runs standalone (%s): this server "
                                  "cannot run an ensemble\n%s" % (self.kind, modes, self.logs()))
            if all(modes.values()):
                if nodes is None:
                    if list(modes.values()).count("leader") == 1:
                        return modes
                elif self.leader() is not None:
                    return modes
            if time.monotonic() >= deadline:
                raise ServerError("%s: not serving after %.0fs: modes %s\n%s" % (
                    self.kind, timeout, modes, self.logs()))
            time.sleep(0.05)

    def wait_same_zxid(self, timeout=30.0, nodes=None):
        """Waits until every running node (or each of `nodes`) reports the same
        last zxid; returns it."""
        targets = self.running() if nodes is None else nodes
        last = {}

        def same():
            last.clear()
            last.update({n.id: n.zxid() for n in targets})
            values = set(last.values())
            return len(values) == 1 and None not in values

        if not wait_until(same, timeout, interval=0.1):
            raise ServerError("%s: zxids differ after %.0fs: %s" % (
                self.kind, timeout, {k: (hex(v) if v is not None else None)
                                     for k, v in last.items()}))
        return next(iter(last.values()))

    def logs(self, max_bytes=8000):
        return "".join("==== node %d (%s)\n%s" % (n.id, n.role, n.logs(max_bytes))
                       for n in self.nodes)

    def __repr__(self):
        return "<%s %s>" % (self.kind, self.nodes)


class ZkdEnsemble(_Ensemble):
    """zkd nodes started as `zkd --config FILE --id N` from one generated YAML
    (config/cluster3.yaml's layout)."""

    kind = "zkd-ensemble"

    def __init__(self, n=3, observers=0, config=None, binary=None, **kwargs):
        self.binary = binary or zkd_bin()
        if self.binary == "zookeeper" or not (os.path.isfile(self.binary) and
                                              os.access(self.binary, os.X_OK)):
            raise ServerError("zkd binary %r not found (set ZKD_BIN)" % self.binary)
        super().__init__(n=n, observers=observers, config=config, **kwargs)

    @property
    def config_path(self):
        return os.path.join(self.workdir, "cluster.yaml")

    def yaml_text(self):
        doc = dict(self.config)
        doc["data_dir"] = os.path.join(self.workdir, "data")
        doc["client"] = _deep_merge({"address": HOST}, doc.get("client"))
        doc["servers"] = [{"id": m.id, "host": HOST, "quorum_port": m.quorum_port,
                           "election_port": m.election_port, "client_port": m.client_port,
                           "role": m.role, "data_dir": m.data_dir} for m in self.members]
        return to_yaml(doc) + "\n"

    def _make_node(self, member):
        if not os.path.exists(self.config_path):
            with open(self.config_path, "w") as f:
                f.write(self.yaml_text())
        return ZkdNode(self, member, binary=self.binary)


class ZkEnsemble(_Ensemble):
    """Apache ZooKeeper 3.8 QuorumPeerMain JVMs (the Debian package).

    jvm_flags: the JVM settings (default: the fast-start flags of the tests;
    benchmarks pass zookeeper_server_jvm_flags())."""

    kind = "zookeeper-ensemble"

    def __init__(self, n=3, observers=0, config=None, jvm_flags=None, **kwargs):
        self.jvm_flags = list(_JVM_FLAGS if jvm_flags is None else jvm_flags)
        super().__init__(n=n, observers=observers, config=config, **kwargs)

    def zk_quorum_cfg(self, config):
        """zoo.cfg keys of the ensemble beyond ReferenceServer's translation."""
        # ZooKeeper needs both in an ensemble; zkd's defaults otherwise.
        cfg = {"initLimit": config.get("init_limit_ticks", 10),
               "syncLimit": config.get("sync_limit_ticks", 5)}
        if "snapshot_count" in config:
            cfg["snapCount"] = config["snapshot_count"]
        for m in self.members:
            cfg["server.%d" % m.id] = "%s:%d:%d%s" % (
                HOST, m.quorum_port, m.election_port,
                ":observer" if m.role == "observer" else "")
        return cfg

    def _make_node(self, member):
        # Both servers' default tick, should the caller have unset it.
        return ZooKeeperNode(self, member, dict({"tick_ms": 2000}, **self.config),
                             self.jvm_flags)


def ensemble_class():
    """ZkEnsemble when the reference is asked for (ZKD_BIN=zookeeper), else
    ZkdEnsemble: the switch every other integration test uses."""
    return ZkEnsemble if zkd_is_reference() else ZkdEnsemble


def new_ensemble(n=3, observers=0, config=None, **kwargs):
    """A started ensemble of the selected server; inside a test, skips it when
    zkd is not built (see require_zkd). The caller closes it."""
    cls = ensemble_class()
    if cls is ZkdEnsemble:
        require_zkd()
    return cls(n=n, observers=observers, config=config, **kwargs)


def restore_ensemble(ens, request, timeout=90):
    """For a test sharing a module's ensemble: every node running, unfrozen
    and serving again (a test that killed or froze one leaves the restart to
    the next), and the nodes' logs in the report if `request`'s test fails."""
    for node in ens.nodes:
        if node.stopped:
            node.sigcont()
        if not node.running():
            node.start(wait=False)
    ens.wait_serving(timeout)
    request.node._servers_used = getattr(request.node, "_servers_used", []) + ens.nodes
    return ens


def tree_of(client, root):
    """{path: data} of `root` and everything below it, read through `client`
    (a KazooClient), after a sync so the answer includes every write the
    leader had committed when the sync was sent."""
    client.sync(root)
    out = {}

    def walk(path):
        data, _ = client.get(path)
        out[path] = data
        for child in client.get_children(path):
            walk(path.rstrip("/") + "/" + child)

    walk(root)
    return out


def _cleanup_at_exit():
    for srv in list(_live_servers):
        try:
            srv._terminate(grace=3.0)
        except Exception:
            pass


atexit.register(_cleanup_at_exit)
