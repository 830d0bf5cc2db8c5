#!/usr/bin/python3
"""Ensemble figures of issue 5, zkd next to Apache ZooKeeper 3.8 in the same run.

For each server, --repeat times (the order alternates from one repeat to the
next), on a fresh 3-node ensemble on 127.0.0.1 (tests/integration/harness.py:
ZkdEnsemble / ZkEnsemble, both with tick 2000 ms, initLimit 10, syncLimit 5,
fsync on, the servers' default session limits; ZooKeeper with server JVM
settings, -Xmx --zk-heap):

  (a) fresh start: the three processes are exec'd one after the other; from
      the exec of the last one to the first acknowledged create (a raw client
      per node connecting and creating in a loop, 5 ms apart), and to all
      three answering srvr with a Mode;
  (b) failover: a raw client on each follower creates continuously (one
      request at a time, a 0.5 s reply timeout, reconnecting 5 ms apart with
      its session id and password like a client library); the leader is
      SIGKILLed; from the kill to the first create *sent after the kill* that
      is acknowledged on a survivor (also: to the first ack on every
      survivor, and to srvr showing a new leader);
  (c) throughput: the killed node is restarted, then `zkd bench create`
      (8 sessions x 16 outstanding, 128 B, --seconds after --warmup, sessions
      spread over the three client ports) as in compare.py, with the
      servers' CPU time per op from /proc;
  (d) with --freeze: as (b), but the leader is SIGSTOPped (as a hung or lost
      host: nothing closes its connections, so followers notice only after
      syncLimit ticks).

Prints a Markdown table with medians and zkd/ZooKeeper ratios (each run's
values below it); --json prints everything as JSON instead, --json-out FILE
writes it as well.

Usage:
  tests/bench/failover.py                          both servers, 3 repeats
  tests/bench/failover.py --only zookeeper         the reference alone
  tests/bench/failover.py --repeat 5 --seconds 20 --json-out failover.json

Environment: ZKD_BIN (the zkd binary, also --zkd-bin; `zkd bench` is needed
for (c) even with --only zookeeper, else (c) is skipped), ZK_CLASSPATH.
"""

import argparse
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)

import compare  # noqa: E402
import harness  # noqa: E402
from rawclient import (OP_CLOSE_SESSION, ZOK, RawClient, create_body,  # noqa: E402
                       OP_CREATE)

KINDS = ["zkd", "zookeeper"]
LABEL = {"zkd": "zkd", "zookeeper": "ZooKeeper"}
RETRY_S = 0.005
REPLY_TIMEOUT_S = 0.5


# ---------------------------------------------------------------------------------
# Probes
# ---------------------------------------------------------------------------------

class RawWriter(threading.Thread):
    """Creates PREFIX-<n> through one node, one request at a time, with a
    short reply timeout; reconnects with its session after any failure.
    `acks` is a list of (sent, acked) monotonic times."""

    def __init__(self, node, prefix, deadline, stop_after_first=False):
        super().__init__(daemon=True)
        self.node = node
        self.prefix = prefix
        self.deadline = deadline
        self.stop_after_first = stop_after_first
        self.acks = []
        self.stop = threading.Event()
        self.session = (0, b"\0" * 16)
        self.last_zxid = 0
        self.attempts = 0
        self.errors = {}

    def _connect(self):
        c = RawClient(self.node.hostport, timeout=REPLY_TIMEOUT_S)
        try:
            resp = c.connect(timeout_ms=10000, session_id=self.session[0],
                             passwd=self.session[1], last_zxid=self.last_zxid)
            if resp["timeout"] <= 0:
                # Expired (or refused as such): a new session next time.
                self.session = (0, b"\0" * 16)
                raise ConnectionError("session refused")
            self.session = (resp["session_id"], resp["passwd"])
            return c
        except BaseException:
            c.close()
            raise

    def run(self):
        c = None
        n = 0
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                if c is None:
                    self.attempts += 1
                    c = self._connect()
                n += 1
                sent = time.monotonic()
                rep = c.call(OP_CREATE, create_body("%s-%d" % (self.prefix, n), b"x"))
                if rep.err != ZOK:
                    self.errors[rep.err] = self.errors.get(rep.err, 0) + 1
                    raise ConnectionError("error %d" % rep.err)
                self.last_zxid = max(self.last_zxid, c.last_zxid)
                self.acks.append((sent, time.monotonic()))
                if self.stop_after_first:
                    break
            except (OSError, AssertionError, TimeoutError, ConnectionError):
                if c is not None:
                    c.close()
                    c = None
                time.sleep(RETRY_S)
        if c is not None:
            try:
                c.send(OP_CLOSE_SESSION)
            except OSError:
                pass
            c.close()

    def first_ack_sent_after(self, t):
        acks = [a for s, a in self.acks if s > t]
        return min(acks) if acks else None


class ModeProbe(threading.Thread):
    """Polls srvr on `nodes` until each reports a Mode (want="all") or one of
    them reports leader (want="leader"); `when` is the time it saw that."""

    def __init__(self, nodes, deadline, want="all"):
        super().__init__(daemon=True)
        self.nodes = nodes
        self.deadline = deadline
        self.want = want
        self.when = None
        self.modes = {}

    def run(self):
        while time.monotonic() < self.deadline:
            self.modes = {n.id: n.mode(timeout=0.5) for n in self.nodes}
            if self.want == "leader":
                done = "leader" in self.modes.values()
            else:
                done = all(self.modes.values())
            if done:
                self.when = time.monotonic()
                return
            time.sleep(RETRY_S)


# ---------------------------------------------------------------------------------
# One cycle: (a), (b), (c) on one fresh ensemble
# ---------------------------------------------------------------------------------

def cycle(kind, zkd_bin, args, log):
    out = {}
    ens = compare.new_ensemble(kind, 3, zkd_bin=zkd_bin if kind == "zkd" else None)
    try:
        # (a) fresh start.
        deadline = time.monotonic() + 120
        writers = [RawWriter(n, "/fresh-%d" % n.id, deadline, stop_after_first=True)
                   for n in ens.nodes]
        modes = ModeProbe(ens.nodes, deadline)
        for node in ens.nodes:
            node.start(wait=False)
        t_last = max(n.exec_t0 for n in ens.nodes)
        for t in writers + [modes]:
            t.start()
        for t in writers + [modes]:
            t.join(130)
        firsts = [w.acks[0][1] for w in writers if w.acks]
        if not firsts or modes.when is None:
            raise harness.ServerError("%s ensemble did not serve within 120 s: modes %s\n%s" %
                                      (kind, modes.modes, ens.logs()))
        out["start_first_write_s"] = min(firsts) - t_last
        out["start_all_modes_s"] = modes.when - t_last
        log("%-9s start: first write %.0f ms, all modes %.0f ms after the last exec" % (
            kind, out["start_first_write_s"] * 1000, out["start_all_modes_s"] * 1000))
        modes_now = ens.wait_serving(60)
        if sorted(modes_now.values()) != ["follower", "follower", "leader"]:
            raise harness.ServerError("%s modes %s" % (kind, modes_now))

        # (b) SIGKILL of the leader.
        leader = ens.leader()
        lost = leader_loss(ens, leader, "kill", args)
        out.update({"failover_" + k: v for k, v in lost.items()})
        log("%-9s failover: first write %.0f ms, on both survivors %.0f ms, srvr leader %s" % (
            kind, lost["first_write_s"] * 1000, lost["all_survivors_s"] * 1000,
            "%.0f ms" % (lost["new_leader_s"] * 1000) if lost["new_leader_s"] is not None
            else "?"))

        # (c) throughput with the old leader back.
        if args.throughput and zkd_bin:
            leader.start(wait=False)
            ens.wait_serving(90)
            group = compare.Group(kind, ens.nodes, "ensemble3")
            out["bench"] = {}
            for workload in args.workloads:
                res = compare.run_bench(zkd_bin, group, workload, args, args.outstanding)
                out["bench"][workload] = res
                log("%-9s %-6s %9.0f ops/s  p99 %8.1f us  cpu %s us/op%s" % (
                    kind, workload, res["ops_per_s"], res["p99_us"],
                    "%.1f" % res["server_cpu_us_per_op"]
                    if res["server_cpu_us_per_op"] is not None else "?",
                    "  errors %s" % res["errors"] if res["errors"] else ""))
        # (d) the leader frozen instead (SIGSTOP: no connection is closed).
        if args.freeze:
            if not leader.running():
                leader.start(wait=False)
                ens.wait_serving(90)
            leader = ens.leader()
            lost = leader_loss(ens, leader, "stop", args)
            out.update({"freeze_" + k: v for k, v in lost.items()})
            log("%-9s freeze: first write %.0f ms, on both survivors %.0f ms" % (
                kind, lost["first_write_s"] * 1000, lost["all_survivors_s"] * 1000))
    finally:
        ens.close()
    return out


def leader_loss(ens, leader, how, args):
    """Raw writers on the followers; the leader SIGKILLed (how="kill") or
    SIGSTOPped ("stop"); seconds from then to the first create sent after it
    and acknowledged on a survivor, to one on every survivor, and to srvr
    showing a new leader."""
    survivors = [n for n in ens.nodes if n is not leader]
    deadline = time.monotonic() + 150
    writers = [RawWriter(n, "/%s-%d-%d" % (how, n.id, int(time.time() * 1000)), deadline)
               for n in survivors]
    for w in writers:
        w.start()
    try:
        if not harness.wait_until(lambda: all(len(w.acks) >= 20 for w in writers), 30):
            raise harness.ServerError("%s: writers on the followers make no progress" %
                                      ens.kind)
        time.sleep(args.settle)
        probe = ModeProbe(survivors, deadline, want="leader")
        t0 = time.monotonic()
        if how == "kill":
            leader.kill9()
        else:
            leader.sigstop()
        probe.start()
        harness.wait_until(lambda: all(w.first_ack_sent_after(t0) for w in writers), 120,
                           interval=0.01)
    finally:
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(10)
    probe.join(30)
    if how == "stop":
        leader.kill9()
    acks = [w.first_ack_sent_after(t0) for w in writers]
    if None in acks:
        raise harness.ServerError("%s: no write acknowledged on a survivor within 120 s of "
                                  "the leader's SIG%s\n%s" % (ens.kind, how.upper(), ens.logs()))
    return {"first_write_s": min(acks) - t0, "all_survivors_s": max(acks) - t0,
            "new_leader_s": (probe.when - t0) if probe.when else None}


# ---------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------

def series(runs, key, sub=None):
    vals = []
    for r in runs:
        v = r.get(key) if sub is None else (r.get("bench") or {}).get(key, {}).get(sub)
        if v is not None:
            vals.append(v)
    return vals


def render(args, zkd_bin, results, notes, elapsed_s):
    med = compare.median
    fmt, ratio = compare.fmt, compare.ratio
    kinds = [k for k in KINDS if k in args.kinds]
    lines = ["## 3-node ensembles: zkd vs Apache ZooKeeper, failover and start", ""]
    lines.append("- machine: %s; load average %s at the start, %.1f at the end" % (
        compare.machine_description(), args.load_start, os.getloadavg()[0]))
    lines.append("- versions: %s" % compare.versions(zkd_bin or "(no zkd)"))
    lines.append("- settings: tick 2000 ms, initLimit 10, syncLimit 5 (both servers' "
                 "defaults), fsync on, all nodes on 127.0.0.1; ZooKeeper JVM -Xmx%s, "
                 "default JIT/GC; %d run(s) per server, alternating, median shown" % (
                     args.zk_heap, args.repeat))
    lines.append("- failover: raw clients on both followers create one at a time (0.5 s "
                 "reply timeout, reconnect every 5 ms with their session); time from the "
                 "leader's SIGKILL to the first acknowledged create sent after it")
    if args.throughput:
        lines.append("- throughput: `zkd bench %s`, %d sessions x %d outstanding over the "
                     "three client ports, %d B, %s s after %s s warm-up, after the killed "
                     "node rejoined; CPU = utime+stime of all three servers per op" % (
                         ",".join(args.workloads), args.sessions, args.outstanding, args.size,
                         args.seconds, args.warmup))
    lines.append("")
    head = "| metric | " + " | ".join(LABEL[k] for k in kinds)
    if len(kinds) == 2:
        head += " | zkd/ZooKeeper"
    lines.append(head + " |")
    lines.append("|---|" + "---:|" * (len(kinds) + (1 if len(kinds) == 2 else 0)))
    rows = [("fresh ensemble: last exec → first acknowledged write, ms", "start_first_write_s",
             None, 1000, 0),
            ("fresh ensemble: last exec → all three report a Mode, ms", "start_all_modes_s",
             None, 1000, 0),
            ("leader SIGKILL → first acknowledged write on a survivor, ms",
             "failover_first_write_s", None, 1000, 0),
            ("leader SIGKILL → acknowledged writes on both survivors, ms",
             "failover_all_survivors_s", None, 1000, 0),
            ("leader SIGKILL → srvr shows the new leader, ms", "failover_new_leader_s",
             None, 1000, 0)]
    if args.freeze:
        rows += [("leader SIGSTOP → first acknowledged write on a survivor, ms",
                  "freeze_first_write_s", None, 1000, 0),
                 ("leader SIGSTOP → acknowledged writes on both survivors, ms",
                  "freeze_all_survivors_s", None, 1000, 0)]
    if args.throughput:
        for w in args.workloads:
            rows += [("%s %dx%d, %d B: ops/s" % (w, args.sessions, args.outstanding, args.size),
                      w, "ops_per_s", 1, 0),
                     ("%s: p99 µs" % w, w, "p99_us", 1, 0),
                     ("%s: server CPU µs/op" % w, w, "server_cpu_us_per_op", 1, 1)]
    detail = []
    for label, key, sub, scale, digits in rows:
        vals = {k: series(results.get(k, []), key, sub) for k in kinds}
        meds = {k: med(v) for k, v in vals.items()}
        cells = [fmt(meds[k] * scale if meds[k] is not None else None, digits) for k in kinds]
        line = "| %s | %s" % (label, " | ".join(cells))
        if len(kinds) == 2:
            line += " | %s" % ratio(meds["zkd"], meds["zookeeper"])
        lines.append(line + " |")
        for k in kinds:
            if vals[k]:
                detail.append("%s, %s: %s" % (label, LABEL[k], ", ".join(
                    fmt(v * scale, digits) for v in vals[k])))
    lines.append("")
    lines.append("Each run:")
    lines.append("")
    for d in detail:
        lines.append("- " + d)
    for n in notes:
        lines.append("- " + n)
    lines.append("")
    lines.append("(%.0f s in all)" % elapsed_s)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3, help="fresh ensembles per server (3)")
    p.add_argument("--only", choices=KINDS, help="measure one server only")
    p.add_argument("--no-throughput", dest="throughput", action="store_false",
                   help="skip (c)")
    p.add_argument("--freeze", action="store_true",
                   help="also (d): the leader SIGSTOPped, a host that hangs or vanishes "
                        "without closing its connections (takes syncLimit x tick)")
    p.add_argument("--workloads", default="create",
                   help="zkd bench workloads of (c), comma-separated (create)")
    p.add_argument("--sessions", type=int, default=8)
    p.add_argument("--outstanding", type=int, default=16)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--nodes", type=int, default=1000, help="keys of get/set workloads")
    p.add_argument("--threads", type=int, default=1, help="bench client threads")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds of (c)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds of (c)")
    p.add_argument("--settle", type=float, default=1.0,
                   help="seconds of steady writing before the kill")
    p.add_argument("--zk-heap", default="1000m", help="ZooKeeper's -Xmx (1000m)")
    p.add_argument("--zkd-bin", default=None, help="zkd binary (default $ZKD_BIN or build/zkd)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--json-out", metavar="FILE")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = p.parse_args(argv)
    args.workloads = [w for w in args.workloads.split(",") if w]
    bad = [w for w in args.workloads if w not in compare.WORKLOADS]
    if bad:
        p.error("unknown workload(s) %s" % ",".join(bad))
    args.kinds = [args.only] if args.only else list(KINDS)
    args.watch_sessions = args.sessions  # compare.run_bench reads it for "watch"
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    compare.BenchZooKeeper.heap = args.zk_heap
    t0 = time.monotonic()
    args.load_start = "%.1f" % os.getloadavg()[0]

    def log(msg):
        if not args.quiet:
            sys.stderr.write("[%6.1fs] %s\n" % (time.monotonic() - t0, msg))
            sys.stderr.flush()

    notes = []
    zkd_bin = os.path.abspath(args.zkd_bin or harness.zkd_bin())
    if not (os.path.isfile(zkd_bin) and os.access(zkd_bin, os.X_OK)):
        if "zkd" in args.kinds:
            sys.stderr.write("failover.py: no zkd binary at %s (set ZKD_BIN or --zkd-bin, "
                             "or --only zookeeper)\n" % zkd_bin)
            return 2
        notes.append("throughput skipped: no zkd binary for `zkd bench` at %s" % zkd_bin)
        zkd_bin = None
    results = {k: [] for k in args.kinds}
    failures = []
    for rep in range(args.repeat):
        order = args.kinds if rep % 2 == 0 else list(reversed(args.kinds))
        for kind in order:
            try:
                results[kind].append(cycle(kind, zkd_bin, args, log))
            except (harness.ServerError, compare.BenchFailed) as e:
                first = str(e).splitlines()[0]
                failures.append("%s run %d: %s" % (kind, rep + 1, first))
                log("FAILED %s run %d: %s" % (kind, rep + 1, first))
                if kind == "zkd" and "standalone" in first:
                    notes.append("zkd skipped: it cannot run an ensemble yet (%s)" % first)
                    args.kinds = [k for k in args.kinds if k != "zkd"]
                    if not args.kinds:
                        break
    elapsed = time.monotonic() - t0
    doc = {"settings": {k: v for k, v in vars(args).items()},
           "results": results, "notes": notes, "failures": failures}
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(doc, f, indent=1)
    if args.json:
        print(json.dumps(doc))
    else:
        args.kinds = [k for k in KINDS if results.get(k)] or args.kinds
        print(render(args, zkd_bin, results,
                     notes + ["FAILED: " + f for f in failures], elapsed))
    for f in failures:
        sys.stderr.write("failover.py: %s\n" % f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
