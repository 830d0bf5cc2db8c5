#!/usr/bin/python3
"""What actor tracing costs: zkd with tracing off, with every actor kind
traced, and (given --baseline-bin) a build without trace points, under the
same `zkd bench` load.

Three standalone servers run side by side on free 127.0.0.1 ports (fsync on,
as in compare.py) and each workload runs against each in turn, the order
rotating from one repetition to the next so that a noisy neighbour does not
always hit the same one. Printed: a Markdown table of the median throughput
and server CPU per op of each variant and the ratios the tracing issue
targets: traced/off (at least 0.7) and off/no-trace-points (1.0: a disabled
trace point costs nothing measurable).

  traced   trace.file set, trace.actors ["*"]: every message of every actor;
           the trace file is emptied before each run and its growth reported.
  off      the same binary, no trace file (the default).
  none     --baseline-bin: a build configured with -DZKD_TRACE_POINTS=OFF,
           in which every trace point is compiled away.

Usage:
  cmake -S . -B build-notrace -DZKD_TRACE_POINTS=OFF && \\
      cmake --build build-notrace --target zkd
  tests/bench/trace_cost.py --zkd-bin build/zkd \\
      --baseline-bin build-notrace/zkd --repeat 3
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import compare  # noqa: E402
from compare import BenchZkd, Group, fmt, harness, median, ratio, run_bench  # noqa: E402


def count_dropped(path):
    """Events the tracer dropped (its "trace_dropped" lines): a run that
    drops is not tracing everything, so its throughput does not count."""
    total = 0
    marker = b'"type":"trace_dropped"'
    with open(path, "rb") as f:
        for line in f:
            if marker in line:
                total += json.loads(line)["fields"]["count"]
    return total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--zkd-bin", default=os.environ.get("ZKD_BIN") or
                   os.path.join(compare.REPO, "build", "zkd"))
    p.add_argument("--baseline-bin", help="a zkd built with -DZKD_TRACE_POINTS=OFF")
    p.add_argument("--workloads", default="get,create",
                   help="comma-separated zkd bench workloads (get,create)")
    p.add_argument("--sessions", type=int, default=8)
    p.add_argument("--outstanding", type=int, default=16)
    p.add_argument("--seconds", type=float, default=6)
    p.add_argument("--warmup", type=float, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--nodes", type=int, default=1000)
    args = p.parse_args(argv)
    args.threads = 1
    args.watch_sessions = args.sessions
    zkd_bin = os.path.abspath(args.zkd_bin)

    tmp = tempfile.mkdtemp(prefix="zkd-trace-cost-")
    trace_file = os.path.join(tmp, "trace.jsonl")
    variants = [("off", zkd_bin, {}),
                ("traced", zkd_bin, {"trace": {"file": trace_file, "actors": ["*"]}})]
    if args.baseline_bin:
        variants.insert(0, ("none", os.path.abspath(args.baseline_bin), {}))
    servers = {}
    results = {}  # (workload, variant) -> [run json]
    trace_rates = []
    dropped = []
    try:
        for name, binary, cfg in variants:
            srv = BenchZkd(start=False, binary=binary, config=cfg)
            srv.start()
            servers[name] = Group("zkd", [srv], "standalone")
        workloads = args.workloads.split(",")
        for rep in range(args.repeat):
            for w in workloads:
                order = variants[rep % len(variants):] + variants[:rep % len(variants)]
                for name, _, _ in order:
                    if name == "traced":
                        open(trace_file, "w").close()  # the server appends
                    t0 = time.monotonic()
                    res = run_bench(zkd_bin, servers[name], w, args, args.outstanding)
                    if name == "traced":
                        time.sleep(0.1)  # the writer's last poll
                        mb = os.path.getsize(trace_file) / 1e6
                        trace_rates.append(mb / (time.monotonic() - t0))
                        dropped.append(count_dropped(trace_file))
                        res["trace_dropped"] = dropped[-1]
                    results.setdefault((w, name), []).append(res)
                    print("%s %s run %d: %s ops/s, server %s us CPU/op, client %s%s" %
                          (w, name, rep + 1, fmt(res["ops_per_s"]),
                           fmt(res["server_cpu_us_per_op"], 2),
                           fmt(res["client_cpu_us_per_op"], 2),
                           ", %d events dropped" % res["trace_dropped"]
                           if "trace_dropped" in res else ""), file=sys.stderr)
    finally:
        for g in servers.values():
            g.close()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(w, name, key):
        return median(r.get(key) for r in results.get((w, name), []))

    names = [v[0] for v in variants]
    head = ["workload"] + ["%s ops/s" % n for n in names] + \
        ["%s CPU us/op" % n for n in names] + ["traced/off"]
    if "none" in names:
        head.append("off/none")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for w in workloads:
        tput = {n: med(w, n, "ops_per_s") for n in names}
        cpu = {n: med(w, n, "server_cpu_us_per_op") for n in names}
        row = [w] + [fmt(tput[n]) for n in names] + [fmt(cpu[n], 2) for n in names]
        row.append(ratio(tput["traced"], tput["off"]))
        if "none" in names:
            row.append(ratio(tput["off"], tput["none"]))
        print("| " + " | ".join(row) + " |")
    print()
    print("%d x %d outstanding, %g s per run, median of %d; trace written at %s MB/s "
          "(median), %d events dropped in all; %s" %
          (args.sessions, args.outstanding, args.seconds, args.repeat,
           fmt(median(trace_rates)), sum(dropped),
           compare.machine_description()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
