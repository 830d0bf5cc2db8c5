#!/usr/bin/python3
"""Runs kazoo's own test suite (Debian python3-kazoo) against one zkd.

    /usr/bin/python3 tests/kazoo/run_kazoo_suite.py [--reference] [--log FILE]
                     [--keep] [-- PYTEST ARGS...]

Starts one server (zkd from ZKD_BIN, default /work/main/build/zkd; with
--reference Apache ZooKeeper 3.8 configured the same way, to tell harness
problems from zkd bugs), points kazoo's KazooTestHarness at it (conftest.py),
runs `pytest --pyargs kazoo.tests` in this process, copies everything pytest
prints to --log (default /tmp/kazoo_suite.log), stops the server by PID, and
prints a summary. Extra arguments after `--` go to pytest, e.g.
    -- -k test_client.py -x
    -- --pyargs kazoo.tests.test_lock      (replaces the default selection)

Must run with /usr/bin/python3: kazoo and pytest are Debian packages.
"""

import argparse
import importlib.util
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
KAZOO_TESTS = "/usr/lib/python3/dist-packages/kazoo/tests"


def load_plugin():
    spec = importlib.util.spec_from_file_location("zkd_kazoo_conftest",
                                                  os.path.join(HERE, "conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class FdTee:
    """Duplicates what is written to file descriptors 1 and 2 (pytest
    captures at fd level, so replacing sys.stdout would not do) into a log."""

    def __init__(self, path):
        self.log = open(path, "wb")
        self.saved = os.dup(1), os.dup(2)
        r, w = os.pipe()
        self.r = r
        self.thread = threading.Thread(target=self._pump, daemon=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(w, 1)
        os.dup2(w, 2)
        os.close(w)
        self.thread.start()

    def _pump(self):
        out = self.saved[0]
        while True:
            chunk = os.read(self.r, 65536)
            if not chunk:
                break
            os.write(out, chunk)
            self.log.write(chunk)
        self.log.flush()

    def close(self):
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        self.thread.join(5)
        self.log.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", action="store_true",
                    help="run against Apache ZooKeeper 3.8 instead of zkd")
    ap.add_argument("--log", default="/tmp/kazoo_suite.log")
    ap.add_argument("--keep", action="store_true", help="keep the server's directory")
    ap.add_argument("pytest_args", nargs="*")
    args = ap.parse_args()

    import pytest

    plugin = load_plugin()
    h = plugin.zkd_harness
    if args.reference:
        server = h.ZooKeeperServer(extra_cfg=plugin.zookeeper_cfg())
    else:
        server = h.ZkdServer(config=plugin.zkd_config())
    plugin.install(server)

    pytest_args = list(args.pytest_args)
    if not any(a == "--pyargs" for a in pytest_args):
        pytest_args = ["--pyargs", "kazoo.tests"] + pytest_args
    # -rA: one line per outcome at the end (the report is built from it);
    # -p no:cacheprovider: nothing written next to the Debian package.
    # --rootdir: node ids read kazoo/tests/test_x.py::Class::test.
    pytest_args = ["-rA", "-p", "no:cacheprovider", "-o", "console_output_style=classic",
                   "--rootdir", os.path.dirname(os.path.dirname(KAZOO_TESTS))] + pytest_args

    tee = FdTee(args.log)
    rc = 1
    try:
        print("kazoo suite against %s pid %d on %s (workdir %s)" %
              (server.kind, server.pid, server.hostport, server.workdir), flush=True)
        print("pytest " + " ".join(pytest_args), flush=True)
        rc = pytest.main(pytest_args, plugins=[plugin])
    finally:
        exits = server.starts
        alive = server.running()
        server.close(keep=args.keep or not alive)
        tee.close()
    print("server was started %d time(s); %s at the end; raw output in %s" %
          (exits, "alive" if alive else "NOT RUNNING", args.log))
    return int(rc)


if __name__ == "__main__":
    sys.exit(main())
