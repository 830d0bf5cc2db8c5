#!/usr/bin/env python3
"""Runs c_client_test against a zkd of its own.

    run_c_client.py PATH/TO/c_client_test [catch2 arguments...]

Starts zkd (harness.ZkdServer: ZKD_BIN, or the reference ZooKeeper with
ZKD_BIN=zookeeper) on a free 127.0.0.1 port, runs the test binary with
ZK_HOSTS=127.0.0.1:PORT under a deadline, stops the server by PID and exits
with the binary's status. The server's logs are printed when the test fails.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import harness  # noqa: E402

# The whole binary runs in well under a minute; anything longer is a hang.
TEST_DEADLINE_S = 240


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    binary, extra = argv[1], argv[2:]
    if not harness.zkd_available():
        sys.stderr.write("zkd binary %s not found (set ZKD_BIN)\n" % harness.zkd_bin())
        return 1
    server = harness.ZkdServer()
    try:
        env = dict(os.environ, ZK_HOSTS=server.hostport)
        try:
            rc = subprocess.run([binary] + extra, env=env, timeout=TEST_DEADLINE_S).returncode
        except subprocess.TimeoutExpired:
            sys.stderr.write("c_client_test did not finish within %ds\n" % TEST_DEADLINE_S)
            rc = 1
        if not server.running():
            sys.stderr.write("server died during the test (exit code %s)\n" %
                             server.proc.returncode)
            rc = rc or 1
        if rc != 0:
            sys.stderr.write(server.logs())
        return rc
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
