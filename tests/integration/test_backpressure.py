"""A client that pipelines far more requests than it reads replies must not
grow the server without bound: zkd stops reading its socket past 1000
outstanding requests (as ZooKeeper throttles past globalOutstandingLimit) and
resumes once the client drains its replies. Every request is still answered,
in order, and other clients are served meanwhile."""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawclient import OP_GET_DATA, connect_request, frame, jute_string  # noqa: E402



def connect(hostport):
    host, port = hostport.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(frame(connect_request(30000)))
    read_frame(s)
    return s


def read_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError("connection closed")
        out += chunk
    return out


def read_frame(s):
    (n,) = struct.unpack(">i", read_exact(s, 4))
    return read_exact(s, n)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_unread_replies_throttle_the_connection_not_the_server(zkd):
    rss_before = rss_kb(zkd.pid)
    flood = connect(zkd.hostport)
    # Far more than the kernel buffers of both ends hold (a few MB each).
    total = 600000
    request = b"".join(
        frame(struct.pack(">ii", xid, OP_GET_DATA) + jute_string("/zookeeper") + b"\0")
        for xid in range(1, total + 1))
    flood.setblocking(False)
    sent = 0
    # Keep writing until the kernel buffers are full: the server has stopped
    # reading this socket (or everything went through). Stop at the first
    # half second without progress: while the server is not reading, nothing
    # touches the session, and the harness's session timeout is 4 s.
    stalled_since = None
    while sent < len(request):
        try:
            sent += flood.send(request[sent:sent + 65536])
            stalled_since = None
        except BlockingIOError:
            stalled_since = stalled_since or time.time()
            if time.time() - stalled_since > 0.5:
                break
            time.sleep(0.02)
    assert sent < len(request), "server kept reading every unanswered request"
    # Another client is served normally meanwhile.
    other = connect(zkd.hostport)
    other.sendall(frame(struct.pack(">ii", 7, OP_GET_DATA) + jute_string("/") + b"\0"))
    xid, _zxid, err = struct.unpack(">iqi", read_frame(other)[:16])
    assert (xid, err) == (7, 0)
    other.close()
    # What the server holds is bounded by the limits (about 1000 requests
    # and 1 MiB of replies, after the kernel buffers have filled), not by the
    # 16 MB the client sent, which would take hundreds of MB once decoded.
    # Sanitizer builds keep freed memory in quarantine, so only the normal
    # build says anything about memory.
    if "ASAN_OPTIONS" not in os.environ:
        grown_kb = rss_kb(zkd.pid) - rss_before
        assert grown_kb < 96 * 1024, grown_kb
    # Draining the replies lets the rest through; every reply comes, in order.
    flood.setblocking(True)
    flood.settimeout(10)
    expected = 1
    while expected <= total:
        if sent < len(request):
            flood.setblocking(False)
            try:
                sent += flood.send(request[sent:sent + 65536])
            except BlockingIOError:
                pass
            flood.setblocking(True)
            flood.settimeout(10)
        xid, _zxid, err = struct.unpack(">iqi", read_frame(flood)[:16])
        assert (xid, err) == (expected, 0)
        expected += 1
    flood.close()
