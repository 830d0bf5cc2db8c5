"""Hostile and broken clients on raw sockets. After every case the server still
answers `ruok`, a new kazoo client works, and a session opened before the case
(the bystander) is untouched.

Every case runs against zkd and against Apache ZooKeeper 3.8 (with
jute.maxbuffer set to the same limit), which is where each expected answer
comes from:
  - a frame longer than the limit, or a negative length: connection closed,
    logged ("Len error ... advertised length of N ...");
  - an unknown op code: a ReplyHeader with the request's xid and
    ZUNIMPLEMENTED (-6), then ZooKeeper closes the connection; the session
    itself lives on;
  - a body that does not decode (truncated string): ZMARSHALLINGERROR (-5)
    and the connection goes on;
  - anything before a valid ConnectRequest, or a ConnectRequest that does not
    decode, or one from a client that has seen a zxid the server has not:
    connection closed, no session.
"""

import os
import random
import socket
import struct
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import kazoo_session, new_server, wait_until  # noqa: E402
from rawclient import (OP_CLOSE_SESSION, OP_CREATE, OP_EXISTS, OP_GET_DATA,  # noqa: E402
                       OP_SET_DATA, ZMARSHALLINGERROR, ZOK, ZUNIMPLEMENTED, RawClient,
                       connect_request, frame, jute_bool, jute_buffer, jute_int, jute_long,
                       jute_string, reset_on_close)

MAX_FRAME = 4096
# An advertised length nobody else would log by chance.
ODD_LENGTH = 77777


@pytest.fixture(scope="module", params=["zkd", "zookeeper"])
def server(request):
    # No per-IP connection limit (ZooKeeper's harness config has none either):
    # the many-connections case opens 50 at a time.
    srv = new_server(request.param, {"max_frame_bytes": MAX_FRAME, "max_client_connections": 0})
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def bystander(server):
    """A session opened before the bad clients, holding an ephemeral."""
    with kazoo_session(server) as c:
        c.create("/bystander", b"here", ephemeral=True)
        yield c, c.client_id[0]


@pytest.fixture
def healthy(server, bystander):
    """Runs the test, then checks the server and the bystander session."""
    yield
    assert server.running(), "server died:\n" + server.logs()
    assert server.four_letter_word("ruok") == "imok"
    with kazoo_session(server) as k:
        path = k.create("/health-", b"ok", sequence=True, ephemeral=True)
        assert k.get(path)[0] == b"ok"
    client, sid = bystander
    assert wait_until(lambda: client.connected, 10.0)
    assert client.client_id[0] == sid
    stat = client.exists("/bystander")
    assert stat is not None and stat.ephemeralOwner == sid


def log_size(srv):
    return tuple(os.path.getsize(p) if os.path.exists(p) else 0
                 for p in (srv.stdout_path, srv.stderr_path))


def log_since(srv, sizes):
    out = []
    for path, start in zip((srv.stdout_path, srv.stderr_path), sizes):
        try:
            with open(path, "rb") as f:
                f.seek(start)
                out.append(f.read().decode("utf-8", "replace"))
        except OSError:
            pass
    return "\n".join(out)


def connected(server, timeout_ms=10000):
    c = RawClient(server)
    resp = c.connect(timeout_ms=timeout_ms)
    assert resp["timeout"] > 0
    return c


def assert_closed_without_reply(c, timeout=5.0):
    """The server closes the connection and sends nothing first."""
    try:
        body = c.read_frame(timeout)
    except TimeoutError:
        pytest.fail("connection still open after %.1fs" % timeout)
    except OSError:
        return
    assert body is None, "expected the connection closed, got a %d byte frame" % len(body)


def assert_session_alive(server, c):
    """The session of `c` (whose connection may be gone) can be resumed."""
    with RawClient(server) as again:
        resp = again.connect(session_id=c.session_id, passwd=c.passwd)
        assert resp["session_id"] == c.session_id
        assert resp["timeout"] > 0
        assert again.exists("/").err == ZOK


def set_data_frame_of_length(total, xid=77):
    """A setData frame whose body (after the 4-byte length) is `total` bytes."""
    head = jute_int(xid) + jute_int(OP_SET_DATA) + jute_string("/limit")
    n = total - len(head) - 4 - 4
    body = head + jute_buffer(b"x" * n) + jute_int(-1)
    assert len(body) == total
    return frame(body)


# ---------------------------------------------------------------------------------


def test_oversize_frame_closes_the_connection_with_a_logged_reason(server, healthy):
    before = log_size(server)
    with connected(server) as c:
        c.send_raw(jute_int(ODD_LENGTH) + b"\0" * 64)
        assert_closed_without_reply(c)

    def logged():
        text = log_since(server, before)
        return [line for line in text.splitlines() if str(ODD_LENGTH) in line]

    lines = wait_until(logged, 5.0)
    assert lines, "no log line mentions the advertised length %d:\n%s" % (
        ODD_LENGTH, log_since(server, before)[-4000:])
    assert any(w in " ".join(lines).lower()
               for w in ("len", "frame", "size", "large", "max", "exceed")), lines


def test_oversize_first_frame_closes_the_connection(server, healthy):
    with RawClient(server) as c:
        c.send_raw(jute_int(ODD_LENGTH + 1))
        assert_closed_without_reply(c)


def test_frame_at_the_limit_is_served_and_one_byte_more_is_not(server, healthy):
    with connected(server) as c:
        assert c.create("/limit").err == ZOK
        c.send_raw(set_data_frame_of_length(MAX_FRAME, xid=77))
        rep = c.read_reply()
        assert rep is not None and rep.xid == 77 and rep.err == ZOK, rep
        c.send_raw(set_data_frame_of_length(MAX_FRAME + 1, xid=78))
        assert_closed_without_reply(c)
    with connected(server) as c:
        rep = c.get_data("/limit")
        assert rep.err == ZOK
        assert len(rep.reader().buffer()) == MAX_FRAME - 26
        c.call(OP_CLOSE_SESSION)


@pytest.mark.parametrize("when", ["first", "after_connect"])
def test_negative_length_closes_the_connection(server, healthy, when):
    c = RawClient(server) if when == "first" else connected(server)
    with c:
        c.send_raw(struct.pack("!i", -5) + b"\0" * 16)
        assert_closed_without_reply(c)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_garbage_after_a_valid_connect(server, healthy, seed):
    rng = random.Random(seed)
    junk = bytes(rng.randrange(256) for _ in range(256))
    # Make the first word a length no server accepts, so the outcome is fixed.
    junk = b"\xff" + junk[1:]
    with connected(server) as c:
        c.send_raw(junk)
        assert_closed_without_reply(c)


@pytest.mark.parametrize("body", [b"", b"\x01\x02", b"\x00\x00\x00\x09\x00\x00"],
                         ids=["empty", "2_bytes", "short_header"])
def test_frame_shorter_than_a_request_header_closes(server, healthy, body):
    with connected(server) as c:
        c.send_raw(frame(body))
        assert_closed_without_reply(c)


@pytest.mark.parametrize("when", ["first", "after_connect"])
def test_truncated_frame_then_close(server, healthy, when):
    c = RawClient(server) if when == "first" else connected(server)
    with c:
        # Promise 100 bytes, send 10, hang up.
        c.send_raw(jute_int(100) + b"\0\0\0\x05\0\0\0\x04ab")
        time.sleep(0.1)
        c.close(reset=(when == "first"))


@pytest.mark.parametrize("op", [9999, 2000, -55, 0])
def test_unknown_op_code_answers_zunimplemented(server, healthy, op):
    c = connected(server)
    with c:
        c.send(op, b"\0\0\0\0", xid=41)
        rep = c.read_reply()
        assert rep is not None, "connection closed without an answer"
        assert rep.xid == 41
        assert rep.err == ZUNIMPLEMENTED
        # ZooKeeper then closes the connection; staying open is fine too. The
        # session must live on either way.
        try:
            after = c.read_frame(timeout=1.0)
        except TimeoutError:
            after = "open"
        except OSError:
            after = None
        if after == "open":
            assert c.exists("/").err == ZOK
        else:
            assert after is None, "unexpected frame after ZUNIMPLEMENTED"
    assert_session_alive(server, c)


@pytest.mark.parametrize("op,body", [
    (OP_GET_DATA, jute_int(1000)),                       # path length, no path
    (OP_CREATE, b"\0\0"),                                # half a string length
    (OP_EXISTS, jute_int(3) + b"/a"),                    # string one byte short
], ids=["getData_missing_path", "create_half_length", "exists_short_string"])
def test_undecodable_request_body(server, healthy, op, body):
    """ZooKeeper answers ZMARSHALLINGERROR and serves the next request; closing
    the connection is accepted as well, as long as nothing else is answered."""
    c = connected(server)
    with c:
        c.send(op, body, xid=9)
        try:
            rep = c.read_reply()
        except (TimeoutError, OSError):
            rep = None
        if rep is not None:
            assert rep.xid == 9
            assert rep.err == ZMARSHALLINGERROR
            assert c.exists("/").err == ZOK
    assert_session_alive(server, c)


def test_request_before_connect_is_not_served(server, healthy):
    with RawClient(server) as c:
        c.send_raw(frame(jute_int(1) + jute_int(OP_GET_DATA) + jute_string("/") +
                         jute_bool(False)))
        assert_closed_without_reply(c)


@pytest.mark.parametrize("payload", [
    frame(b"\0" * 5),
    frame(jute_int(0) + jute_long(0) + jute_int(5000) + jute_long(0) + jute_int(100000) +
          b"x" * 20),
    frame(jute_int(0) + jute_long(0) + jute_int(5000) + jute_long(0) + jute_int(-7)),
    frame(b""),
], ids=["5_zero_bytes", "passwd_length_huge", "passwd_length_negative_truncated", "empty"])
def test_connect_with_protocol_garbage_is_refused(server, healthy, payload):
    with RawClient(server) as c:
        c.send_raw(payload)
        assert_closed_without_reply(c)


def test_connect_from_a_client_ahead_of_the_server_is_refused(server, healthy):
    # The client claims to have seen a zxid this server never issued: ZooKeeper
    # refuses it (the client would otherwise go back in time) and closes.
    with RawClient(server) as c:
        c.send_raw(frame(connect_request(5000, last_zxid=1 << 40)))
        assert_closed_without_reply(c)


def test_connect_variants_zookeeper_accepts(server, healthy):
    # No trailing readOnly byte (pre-3.4 clients), an odd protocol version, a
    # short password with session id 0: ZooKeeper still opens a session.
    variants = [
        jute_int(0) + jute_long(0) + jute_int(5000) + jute_long(0) + jute_buffer(b"\0" * 16),
        jute_int(77) + jute_long(0) + jute_int(5000) + jute_long(0) + jute_buffer(b"\0" * 16) +
        b"\0",
        jute_int(0) + jute_long(0) + jute_int(5000) + jute_long(0) + jute_buffer(b"\0" * 3) +
        b"\0",
    ]
    for body in variants:
        with RawClient(server) as c:
            c.send_raw(frame(body))
            resp = c.read_frame()
            assert resp is not None, "connect refused: %r" % body
            proto, timeout, sid = struct.unpack_from("!iiq", resp)
            assert proto == 0 and timeout > 0 and sid != 0
            c.session_id = sid
            assert c.exists("/").err == ZOK
            assert c.call(OP_CLOSE_SESSION).err == ZOK


def test_a_thousand_short_connections(server, healthy):
    """Connections that hang up at every stage, 50 at a time."""
    errors = []

    def one(i):
        try:
            s = socket.create_connection((server.host, server.port), timeout=10.0)
            try:
                mode = i % 5
                if mode == 1:
                    s.sendall(frame(connect_request(1)))
                elif mode == 2:
                    s.sendall(frame(connect_request(1)))
                    s.recv(64)
                    reset_on_close(s)
                elif mode == 3:
                    s.sendall(jute_int(40) + b"\0\0")
                elif mode == 4:
                    reset_on_close(s)
            finally:
                s.close()
        except OSError as e:
            errors.append((i, e))

    deadline = time.monotonic() + 120
    for start in range(0, 1000, 50):
        threads = [threading.Thread(target=one, args=(i,)) for i in range(start, start + 50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()))
        assert time.monotonic() < deadline, "connections took too long"
    assert errors == []
    # The server is still accepting and serving promptly.
    t0 = time.monotonic()
    with connected(server) as c:
        assert c.exists("/").err == ZOK
    assert time.monotonic() - t0 < 5.0
