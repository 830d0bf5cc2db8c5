#!/usr/bin/python3
"""zkd against Apache ZooKeeper 3.8 under the same `zkd bench` load.

Starts zkd and ZooKeeper standalone on free 127.0.0.1 ports (tests/integration/
harness.py; each in its own temporary data directory, fsync on for both:
zkd `fsync: true`, ZooKeeper `forceSync=yes`, its default), runs every workload
against each server in turn (the order alternates from one workload to the
next), then optionally 3-node ensembles, and prints Markdown tables:

  - throughput (ops/s), p99 latency and server CPU time per op for each
    workload and --outstanding value, with zkd/ZooKeeper ratios;
  - start-to-serving time (exec to the first successful connect + getData),
    RSS when idle and after loading --rss-nodes znodes of 128 B (VmRSS).

Server CPU per op: utime + stime of the server process(es) from
/proc/<pid>/stat, sampled when the bench prints "measuring" and "measured" on
stderr (so setup and clean-up are not counted), divided by the ops measured.
The bench client runs on the same machine and competes for the same cores;
its own CPU time is reported too.

ZooKeeper runs with ordinary server JVM settings (default JIT and GC, a
--zk-heap heap like upstream zkServer.sh's ZK_SERVER_HEAP), not the fast
start-up flags the integration tests use.

Usage:
  tests/bench/compare.py                         full run (about 8 minutes)
  tests/bench/compare.py --short                 a few seconds per workload (CI)
  tests/bench/compare.py --workloads get,set --outstanding 1,8,32 --plot out.png
  tests/bench/compare.py --json-out results.json

Environment: ZKD_BIN (the zkd binary; also --zkd-bin), ZK_CLASSPATH.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import harness  # noqa: E402
from rawclient import OP_CLOSE_SESSION, RawClient  # noqa: E402

WORKLOADS = ["get", "set", "create", "exists", "mixed", "ephemeral", "multi", "watch"]
KINDS = ["zkd", "zookeeper"]
LABEL = {"zkd": "zkd", "zookeeper": "ZooKeeper"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
TICK_MS = 2000  # both servers' default


# ---------------------------------------------------------------------------------
# /proc
# ---------------------------------------------------------------------------------

def proc_cpu_s(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    # The command name may hold spaces; the fields after it are fixed.
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------

class BenchZooKeeper(harness.ZooKeeperServer):
    """A standalone ZooKeeper with server JVM settings."""

    heap = "1000m"

    def __init__(self, **kwargs):
        self.defer_ready = False
        self.exec_t0 = None
        extra = {"forceSync": "yes", "maxClientCnxns": 0}
        super().__init__(tick_ms=TICK_MS, extra_cfg=extra, **kwargs)

    def _command(self):
        cmd = (["java", "-cp", harness.zookeeper_classpath(),
                "-Dzookeeper.log.dir=%s" % self.workdir] +
               harness.zookeeper_server_jvm_flags(self.heap) +
               ["org.apache.zookeeper.server.ZooKeeperServerMain", self.config_path])
        self.exec_t0 = time.monotonic()
        return cmd

    def wait_ready(self, timeout):
        if not self.defer_ready:
            super().wait_ready(timeout)


class BenchZkd(harness.ZkdServer):
    """zkd with the same settings as BenchZooKeeper: fsync on, no connection
    limit, ZooKeeper's default tick."""

    def __init__(self, **kwargs):
        self.defer_ready = False
        self.exec_t0 = None
        config = kwargs.pop("config", {})
        config = dict({"fsync": True, "max_client_connections": 0}, **config)
        super().__init__(tick_ms=TICK_MS, config=config, **kwargs)

    def _command(self):
        cmd = super()._command()
        self.exec_t0 = time.monotonic()
        return cmd

    def wait_ready(self, timeout):
        if not self.defer_ready:
            super().wait_ready(timeout)


class Group:
    """The server processes one bench run talks to: one standalone server or
    the nodes of an ensemble (owner: the harness ensemble that closes them)."""

    def __init__(self, kind, servers, setup, owner=None):
        self.kind = kind
        self.servers = servers
        self.setup = setup  # "standalone" or "ensemble3"
        self.owner = owner

    @property
    def hosts(self):
        return ",".join(s.hostport for s in self.servers)

    def cpu_s(self):
        return sum(proc_cpu_s(s.pid) for s in self.servers)

    def alive(self):
        return all(s.running() for s in self.servers)

    def close(self):
        if self.owner is not None:
            self.owner.close()
            return
        for s in self.servers:
            s.close()


class ServingProbe(threading.Thread):
    """Polls a port with connect + getData("/") until it succeeds; `when` is
    the monotonic time of the first success."""

    def __init__(self, host, port, timeout):
        super().__init__(daemon=True)
        self.target = "%s:%d" % (host, port)
        self.deadline = time.monotonic() + timeout
        self.when = None
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                c = RawClient(self.target, timeout=2.0)
                try:
                    resp = c.connect(timeout_ms=10000)
                    if resp["timeout"] > 0 and c.get_data("/").err == 0:
                        self.when = time.monotonic()
                        c.call(OP_CLOSE_SESSION)
                        return
                finally:
                    c.close()
            except (OSError, AssertionError, TimeoutError):
                pass
            time.sleep(0.002)


def start_timed(server):
    """Starts a server made with start=False; returns the seconds from its exec
    to the first successful connect + getData."""
    probe = ServingProbe(server.host, server.port, timeout=120)
    probe.start()
    try:
        server.start()
        probe.join(timeout=60)
    finally:
        probe.stop.set()
    if probe.when is None:
        raise harness.ServerError("%s never answered getData" % server.kind)
    return probe.when - server.exec_t0


def new_standalone(kind):
    return BenchZkd(start=False) if kind == "zkd" else BenchZooKeeper(start=False)


def start_standalone(kind):
    srv = new_standalone(kind)
    try:
        start_timed(srv)
    except Exception:
        srv.close(keep=True)
        raise
    return Group(kind, [srv], "standalone")


# The ensembles' settings: both servers' defaults for the timing limits, fsync on,
# no connection limit; the same as the standalone servers above.
ENSEMBLE_CONFIG = {"tick_ms": TICK_MS, "init_limit_ticks": 10, "sync_limit_ticks": 5,
                   "fsync": True, "max_client_connections": 0,
                   "max_session_timeout_ms": None}  # the server's default (20 ticks)


def new_ensemble(kind, n=3, zkd_bin=None):
    """An unstarted harness ensemble of `kind` with ENSEMBLE_CONFIG, ZooKeeper
    with server JVM settings. Raises harness.ServerError when zkd is missing."""
    if kind == "zookeeper":
        return harness.ZkEnsemble(
            n=n, config=ENSEMBLE_CONFIG, start=False,
            jvm_flags=harness.zookeeper_server_jvm_flags(BenchZooKeeper.heap))
    return harness.ZkdEnsemble(n=n, config=ENSEMBLE_CONFIG, start=False, binary=zkd_bin)


def start_zookeeper_ensemble(n=3):
    return _start_ensemble("zookeeper", new_ensemble("zookeeper", n))


def start_zkd_ensemble(n=3, zkd_bin=None):
    """zkd's ensemble mode: one YAML file for all members, `zkd --config FILE
    --id N` for each (harness.ZkdEnsemble). Raises harness.ServerError when
    this zkd cannot run one (it exits, never serves, or every member says it
    is standalone), so the caller skips zkd ensembles with a note."""
    return _start_ensemble("zkd", new_ensemble("zkd", n, zkd_bin))


def _start_ensemble(kind, ens):
    try:
        modes = ens.start(timeout=90)
        if sorted(modes.values()) != ["follower"] * (ens.n - 1) + ["leader"]:
            raise harness.ServerError("%s members report modes %s, not one leader and %d "
                                      "followers" % (kind, modes, ens.n - 1))
    except Exception:
        ens.close()
        raise
    return Group(kind, ens.nodes, "ensemble%d" % ens.n, owner=ens)


# ---------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------

class BenchFailed(RuntimeError):
    pass


def run_bench(zkd_bin, group, workload, args, outstanding, extra=(), ops=None,
              cleanup=True, prefix=None):
    """One `zkd bench` run against `group`; returns its JSON plus server_cpu_s
    and server_cpu_us_per_op."""
    sessions = args.watch_sessions if workload == "watch" else args.sessions
    cmd = [zkd_bin, "bench", workload, "--hosts", group.hosts,
           "--sessions", str(sessions), "--outstanding", str(outstanding),
           "--threads", str(args.threads), "--size", str(args.size),
           "--nodes", str(args.nodes), "--json",
           "--prefix", prefix or "/zkd-bench-%s" % workload]
    if ops is not None:
        cmd += ["--ops", str(ops)]
    else:
        cmd += ["--seconds", str(args.seconds), "--warmup", str(args.warmup)]
    if cleanup:
        cmd.append("--cleanup")
    cmd += list(extra)
    marks = {}
    err_lines = []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)

    def read_stderr():
        for line in proc.stderr:
            if line.startswith("zkd bench: measuring"):
                marks["start"] = group.cpu_s()
            elif line.startswith("zkd bench: measured"):
                marks["end"] = group.cpu_s()
            err_lines.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    limit = (args.seconds + args.warmup if ops is None else 0) + 300
    timed_out = []

    def kill():
        timed_out.append(True)
        proc.kill()

    timer = threading.Timer(limit, kill)
    timer.start()
    try:
        out = proc.stdout.read()  # one JSON line, then EOF at exit
        proc.wait()
    finally:
        timer.cancel()
    reader.join(10)
    if timed_out:
        raise BenchFailed("%s on %s: no result within %d s\n%s" %
                          (workload, group.kind, limit, "".join(err_lines[-20:])))
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise BenchFailed("%s on %s: zkd bench exited %s\n%s" %
                          (workload, group.kind, proc.returncode, "".join(err_lines[-20:])))
    res = json.loads(lines[-1])
    if "start" in marks and "end" in marks:
        res["server_cpu_s"] = marks["end"] - marks["start"]
        res["server_cpu_us_per_op"] = (res["server_cpu_s"] * 1e6 / res["ops"]
                                       if res["ops"] else None)
    else:
        res["server_cpu_s"] = res["server_cpu_us_per_op"] = None
    res["client_cpu_us_per_op"] = (res["client_cpu_s"] * 1e6 / res["ops"]
                                   if res["ops"] else None)
    return res


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runs):
    """The median of each figure over repeated runs."""
    if not runs:
        return None
    errors = {}
    for r in runs:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    return {
        "ops_per_s": median(r["ops_per_s"] for r in runs),
        "p50_us": median(r["p50_us"] for r in runs),
        "p99_us": median(r["p99_us"] for r in runs),
        "p999_us": median(r["p999_us"] for r in runs),
        "server_cpu_us_per_op": median(r["server_cpu_us_per_op"] for r in runs),
        "client_cpu_us_per_op": median(r["client_cpu_us_per_op"] for r in runs),
        "ops": sum(r["ops"] for r in runs),
        "errors": errors,
        "runs": len(runs),
    }


def run_matrix(zkd_bin, groups, setup, args, results, failures, log):
    """Every workload x outstanding against each group in `groups` (kind ->
    Group), alternating which server goes first."""
    step = 0
    for k in args.outstanding:
        for workload in args.workloads:
            if workload == "watch" and k != args.outstanding[0]:
                continue  # one write at a time: K does not apply
            for rep in range(args.repeat):
                order = KINDS if step % 2 == 0 else list(reversed(KINDS))
                step += 1
                for kind in order:
                    group = groups.get(kind)
                    if group is None:
                        continue
                    key = (setup, workload, k, kind)
                    try:
                        if not group.alive():
                            raise BenchFailed("%s is not running" % kind)
                        res = run_bench(zkd_bin, group, workload, args, k)
                    except BenchFailed as e:
                        failures.append(str(e))
                        log("FAILED %s" % str(e).splitlines()[0])
                        continue
                    results.setdefault(key, []).append(res)
                    log("%-10s %-9s K=%-3d %-9s %9.0f ops/s  p99 %8.1f us  cpu %s us/op%s" % (
                        setup, workload, k, kind, res["ops_per_s"], res["p99_us"],
                        "%.1f" % res["server_cpu_us_per_op"]
                        if res["server_cpu_us_per_op"] is not None else "?",
                        "  errors %s" % res["errors"] if res["errors"] else ""))


def measure_fresh(zkd_bin, args, log):
    """Start-to-serving times (args.start_runs per server, alternating) and RSS
    idle / after loading args.rss_nodes znodes of 128 B, on fresh servers."""
    out = {kind: {"start_s": [], "rss_idle_kb": None, "rss_loaded_kb": None} for kind in KINDS}
    for i in range(args.start_runs):
        order = KINDS if i % 2 == 0 else list(reversed(KINDS))
        for kind in order:
            srv = new_standalone(kind)
            try:
                t = start_timed(srv)
                out[kind]["start_s"].append(t)
                log("start     %-9s %.0f ms to serving" % (kind, t * 1000))
                if i == 0 and args.rss_nodes > 0:
                    time.sleep(args.settle)  # let start-up allocations settle
                    out[kind]["rss_idle_kb"] = proc_rss_kb(srv.pid)
                    group = Group(kind, [srv], "standalone")
                    res = run_bench(zkd_bin, group, "create", args, 32, ops=args.rss_nodes,
                                    cleanup=False, prefix="/rss",
                                    extra=["--size", "128"])
                    time.sleep(args.settle)
                    out[kind]["rss_loaded_kb"] = proc_rss_kb(srv.pid)
                    out[kind]["rss_created"] = res.get("created")
                    log("rss       %-9s idle %.1f MiB, %d znodes loaded %.1f MiB" % (
                        kind, out[kind]["rss_idle_kb"] / 1024, res.get("created", 0),
                        out[kind]["rss_loaded_kb"] / 1024))
            finally:
                srv.close()
    return out


# ---------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------

def machine_description():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%d x %s (nproc %d), %s" % (os.cpu_count() or 0, model, os.cpu_count() or 0,
                                       os.uname().release)


def versions(zkd_bin):
    def run(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception:
            return ""
    zk = run(["dpkg-query", "-W", "-f", "${Version}", "zookeeper"]) or "?"
    rev = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]) or "?"
    dirty = run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
    java = ""
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True,
                              timeout=20).stderr.splitlines()[0]
    except Exception:
        pass
    return "zkd %s%s (%s), ZooKeeper %s (Debian), %s" % (
        rev, "+changes" if dirty else "", zkd_bin, zk, java)


def fmt(v, digits=0):
    if v is None:
        return "–"
    return "{:,.{}f}".format(v, digits)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return "%.2f" % (a / b)


def render(args, zkd_bin, results, fresh, notes, elapsed_s):
    lines = []
    lines.append("## zkd vs Apache ZooKeeper, %s" % datetime.datetime.now().strftime(
        "%Y-%m-%d %H:%M"))
    lines.append("")
    lines.append("- machine: %s; load average %s at the start, %s at the end" % (
        machine_description(), args.load_start, "%.1f" % os.getloadavg()[0]))
    lines.append("- versions: %s" % versions(zkd_bin))
    lines.append("- load: `zkd bench`, %d sessions (watch: %d), %d client thread(s), %d B "
                 "data, %d keys, %s s measured after %s s warm-up per run, %d run(s) "
                 "each (median); servers and client share the machine" % (
                     args.sessions, args.watch_sessions, args.threads, args.size, args.nodes,
                     args.seconds, args.warmup, args.repeat))
    lines.append("- servers: fsync on (zkd fsync: true, ZooKeeper forceSync=yes), data in "
                 "a temp dir on %s, tick %d ms; ZooKeeper JVM -Xmx%s, default JIT/GC" % (
                     fs_type(tempfile.gettempdir()), TICK_MS, BenchZooKeeper.heap))
    lines.append("- K = requests in flight per session; CPU = server utime+stime per "
                 "op over the measured run (all members for an ensemble)")
    lines.append("- watch: 1 writer, the other sessions hold a getData watch on its node; "
                 "ops = notifications, latency = the write's send to each notification; "
                 "K does not apply")
    lines.append("")
    lines.append("| setup | workload | K | zkd ops/s | ZooKeeper ops/s | zkd/ZK | "
                 "zkd p99 µs | ZK p99 µs | zkd/ZK | zkd CPU µs/op | ZK CPU µs/op | zkd/ZK |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    keys = sorted({(s, w, k) for (s, w, k, _) in results},
                  key=lambda t: (t[0] != "standalone", t[0], args.outstanding.index(t[2]),
                                 args.workloads.index(t[1])))
    error_notes = []
    for setup, workload, k in keys:
        z = summarize(results.get((setup, workload, k, "zkd"), []))
        j = summarize(results.get((setup, workload, k, "zookeeper"), []))
        g = lambda s, f: s[f] if s else None  # noqa: E731
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            setup, workload, "–" if workload == "watch" else k,
            fmt(g(z, "ops_per_s")), fmt(g(j, "ops_per_s")),
            ratio(g(z, "ops_per_s"), g(j, "ops_per_s")),
            fmt(g(z, "p99_us")), fmt(g(j, "p99_us")), ratio(g(z, "p99_us"), g(j, "p99_us")),
            fmt(g(z, "server_cpu_us_per_op"), 1), fmt(g(j, "server_cpu_us_per_op"), 1),
            ratio(g(z, "server_cpu_us_per_op"), g(j, "server_cpu_us_per_op"))))
        for kind, s in (("zkd", z), ("ZooKeeper", j)):
            if s and s["errors"]:
                error_notes.append("%s %s K=%d on %s: %s errors of %s ops: %s" % (
                    setup, workload, k, kind, sum(s["errors"].values()), s["ops"],
                    ", ".join("%s %d" % kv for kv in sorted(s["errors"].items()))))
    client = [summarize(v)["client_cpu_us_per_op"] for v in results.values()]
    client = [c for c in client if c is not None]
    if client:
        lines.append("")
        lines.append("Bench client CPU: %.1f–%.1f µs/op across the runs above." % (
            min(client), max(client)))
    if fresh:
        lines.append("")
        lines.append("| metric | zkd | ZooKeeper | zkd/ZooKeeper |")
        lines.append("|---|---:|---:|---:|")
        zs = median(fresh["zkd"]["start_s"])
        js = median(fresh["zookeeper"]["start_s"])
        lines.append("| start to serving, ms (median of %d) | %s | %s | %s |" % (
            len(fresh["zkd"]["start_s"]), fmt(zs and zs * 1000), fmt(js and js * 1000),
            ratio(zs, js)))
        zi, ji = fresh["zkd"]["rss_idle_kb"], fresh["zookeeper"]["rss_idle_kb"]
        zl, jl = fresh["zkd"]["rss_loaded_kb"], fresh["zookeeper"]["rss_loaded_kb"]
        if zi is not None and ji is not None:
            lines.append("| RSS idle, MiB | %s | %s | %s |" % (
                fmt(zi / 1024, 1), fmt(ji / 1024, 1), ratio(zi, ji)))
        if zl is not None and jl is not None:
            lines.append("| RSS after %d znodes of 128 B, MiB | %s | %s | %s |" % (
                args.rss_nodes, fmt(zl / 1024, 1), fmt(jl / 1024, 1), ratio(zl, jl)))
    if error_notes or notes:
        lines.append("")
        for n in notes + error_notes:
            lines.append("- " + n)
    lines.append("")
    lines.append("(%.0f s in all)" % elapsed_s)
    return "\n".join(lines)


def fs_type(path):
    try:
        return subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True,
                              text=True, timeout=5).stdout.strip() or "?"
    except Exception:
        return "?"


def plot(path, args, results, log):
    """Throughput against outstanding, one panel per workload, for both servers
    (standalone). matplotlib if this Python has it, else gnuplot, else nothing."""
    series = {}
    for (setup, workload, k, kind), runs in results.items():
        if setup != "standalone" or workload == "watch":  # K does not apply to watch
            continue
        s = summarize(runs)
        series.setdefault(workload, {}).setdefault(kind, []).append((k, s["ops_per_s"]))
    for w in series.values():
        for pts in w.values():
            pts.sort()
    workloads = [w for w in args.workloads if w in series]
    if not workloads:
        log("plot: no standalone results to plot")
        return False
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
    if plt is not None:
        cols = min(4, len(workloads))
        rows = (len(workloads) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
        for ax, w in zip([a for row in axes for a in row], workloads):
            for kind in KINDS:
                pts = series[w].get(kind, [])
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                            label=LABEL[kind])
            ax.set_title(w)
            ax.set_xscale("log", base=2)
            ax.set_xlabel("outstanding per session")
            ax.set_ylabel("ops/s")
            ax.set_ylim(bottom=0)
            ax.legend()
        for ax in [a for row in axes for a in row][len(workloads):]:
            ax.axis("off")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        log("plot: wrote %s (matplotlib)" % path)
        return True
    gnuplot = shutil.which("gnuplot")
    if gnuplot:
        tmp = tempfile.mkdtemp(prefix="zkd-bench-plot-")
        script = ["set terminal pngcairo size %d,%d" % (400 * min(4, len(workloads)),
                                                          320 * ((len(workloads) + 3) // 4)),
                  "set output '%s'" % path, "set logscale x 2", "set key top left",
                  "set yrange [0:*]",
                  "set multiplot layout %d,%d" % ((len(workloads) + 3) // 4,
                                                  min(4, len(workloads)))]
        for w in workloads:
            plots = []
            for kind in KINDS:
                pts = series[w].get(kind, [])
                if not pts:
                    continue
                data = os.path.join(tmp, "%s-%s.dat" % (w, kind))
                with open(data, "w") as f:
                    for k, v in pts:
                        f.write("%d %f\n" % (k, v))
                plots.append("'%s' using 1:2 with linespoints title '%s'" % (data, LABEL[kind]))
            script += ["set title '%s'" % w, "set xlabel 'outstanding per session'",
                       "set ylabel 'ops/s'", "plot " + ", ".join(plots)]
        script.append("unset multiplot")
        proc = subprocess.run([gnuplot], input="\n".join(script) + "\n", text=True,
                              capture_output=True, timeout=60)
        if proc.returncode != 0 and "pngcairo" in proc.stderr:
            script[0] = script[0].replace("pngcairo", "png")
            proc = subprocess.run([gnuplot], input="\n".join(script) + "\n", text=True,
                                  capture_output=True, timeout=60)
        if proc.returncode == 0:
            log("plot: wrote %s (gnuplot)" % path)
            return True
        log("plot: gnuplot failed: %s" % proc.stderr.strip())
        return False
    log("plot: skipped, neither matplotlib for %s (Debian package python3-matplotlib) "
        "nor gnuplot (Debian package gnuplot-nox) is installed" % sys.executable)
    return False


# ---------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------

def int_list(text):
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("want a comma-separated list of integers")
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("want positive integers")
    return values


def workload_list(text):
    values = [x.strip() for x in text.split(",") if x.strip()]
    bad = [v for v in values if v not in WORKLOADS]
    if bad or not values:
        raise argparse.ArgumentTypeError("unknown workload(s) %s; known: %s" % (
            ", ".join(bad), ", ".join(WORKLOADS)))
    return values


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", action="store_true",
                   help="CI mode: 1 s per workload, 10k znodes for RSS, no ensembles")
    p.add_argument("--workloads", type=workload_list, default=list(WORKLOADS))
    p.add_argument("--outstanding", type=int_list, default=None,
                   help="comma-separated sweep of requests in flight per session (8)")
    p.add_argument("--sessions", type=int, default=8)
    p.add_argument("--watch-sessions", type=int, default=None,
                   help="sessions of the watch workload: 1 writer + watchers (32)")
    p.add_argument("--threads", type=int, default=1, help="bench client threads")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=None, help="measured seconds per run (10)")
    p.add_argument("--warmup", type=float, default=None, help="warm-up seconds per run (2)")
    p.add_argument("--repeat", type=int, default=1, help="runs per cell; the median is shown")
    p.add_argument("--start-runs", type=int, default=None,
                   help="fresh starts per server for start-to-serving (3)")
    p.add_argument("--rss-nodes", type=int, default=None,
                   help="znodes of 128 B loaded before reading RSS (100000; 0 = skip)")
    p.add_argument("--ensemble", dest="ensemble", action="store_true", default=None,
                   help="also 3-node ensembles (default: on unless --short)")
    p.add_argument("--no-ensemble", dest="ensemble", action="store_false")
    p.add_argument("--zk-heap", default="1000m", help="ZooKeeper's -Xmx (1000m)")
    p.add_argument("--zkd-bin", default=None, help="zkd binary (default $ZKD_BIN or build/zkd)")
    p.add_argument("--plot", metavar="FILE.png")
    p.add_argument("--json-out", metavar="FILE", help="every run's JSON, for later analysis")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = p.parse_args(argv)
    short = args.short
    if args.outstanding is None:
        args.outstanding = [8]
    if args.seconds is None:
        args.seconds = 1.0 if short else 10.0
    if args.warmup is None:
        args.warmup = 0.25 if short else 2.0
    args.settle = 0.2 if short else 1.0
    if args.watch_sessions is None:
        args.watch_sessions = 8 if short else 32
    if args.start_runs is None:
        args.start_runs = 1 if short else 3
    if args.rss_nodes is None:
        args.rss_nodes = 10000 if short else 100000
    if args.ensemble is None:
        args.ensemble = not short
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    BenchZooKeeper.heap = args.zk_heap
    zkd_bin = os.path.abspath(args.zkd_bin or harness.zkd_bin())
    if not (os.path.isfile(zkd_bin) and os.access(zkd_bin, os.X_OK)):
        sys.stderr.write("compare.py: no zkd binary at %s (set ZKD_BIN or --zkd-bin)\n" % zkd_bin)
        return 2
    # The harness starts standalone servers from $ZKD_BIN: --zkd-bin must
    # reach it too, or they would run build/zkd.
    os.environ["ZKD_BIN"] = zkd_bin
    t0 = time.monotonic()
    args.load_start = "%.1f" % os.getloadavg()[0]

    def log(msg):
        if not args.quiet:
            sys.stderr.write("[%6.1fs] %s\n" % (time.monotonic() - t0, msg))
            sys.stderr.flush()

    results = {}
    failures = []
    notes = []
    fresh = None
    if args.start_runs > 0:
        fresh = measure_fresh(zkd_bin, args, log)

    groups = {}
    try:
        for kind in KINDS:
            groups[kind] = start_standalone(kind)
            log("started   %-9s standalone on %s" % (kind, groups[kind].hosts))
        run_matrix(zkd_bin, groups, "standalone", args, results, failures, log)
    finally:
        for g in groups.values():
            g.close()

    if args.ensemble:
        for kind, starter in (("zookeeper", start_zookeeper_ensemble),
                              ("zkd", lambda: start_zkd_ensemble(zkd_bin=zkd_bin))):
            try:
                group = starter()
            except harness.ServerError as e:
                first = str(e).splitlines()[0]
                if kind == "zkd":
                    notes.append("zkd 3-node ensemble skipped: this zkd cannot run one "
                                 "yet (%s). The hook is start_zkd_ensemble() in "
                                 "tests/bench/compare.py." % first)
                else:
                    failures.append("ZooKeeper ensemble did not start: %s" % first)
                log("ensemble  %-9s not started: %s" % (kind, first))
                continue
            log("started   %-9s ensemble on %s" % (kind, group.hosts))
            try:
                run_matrix(zkd_bin, {kind: group}, group.setup, args, results, failures, log)
            finally:
                group.close()

    if args.plot:
        plot(args.plot, args, results, log)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"results": [{"setup": s, "workload": w, "outstanding": k, "server": kind,
                                    "runs": runs}
                                   for (s, w, k, kind), runs in sorted(results.items())],
                       "fresh": fresh, "notes": notes, "failures": failures}, f, indent=1)
    print(render(args, zkd_bin, results, fresh, notes + ["FAILED: " + f.splitlines()[0]
                                                         for f in failures],
                 time.monotonic() - t0))
    for f in failures:
        sys.stderr.write("compare.py: %s\n" % f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
