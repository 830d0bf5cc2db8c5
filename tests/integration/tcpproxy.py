"""`TcpProxy`: a TCP relay in front of a server, for tests that cut a client's
network and let it come back (the client sees its connection dropped, the
server sees the client go silent or reset).

    with TcpProxy(srv) as proxy:
        client = KazooClient(hosts=proxy.hostport)
        ...
        proxy.cut()      # every relayed connection is reset, nothing listens
        proxy.resume()   # listening again on the same port
"""

import selectors
import socket
import threading

from harness import hostport_of
from rawclient import reset_on_close


class TcpProxy:
    """Relays TCP connections to a server. cut() drops every relayed connection
    and stops listening, which is how a network failure looks to both sides;
    resume() listens on the same port again."""

    def __init__(self, target):
        host, port = hostport_of(target).rsplit(":", 1)
        self.target = (host, int(port))
        self.port = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.socks = []
        self.threads = []
        self._listen()

    @property
    def hostport(self):
        return "127.0.0.1:%d" % self.port

    def _listen(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(16)
        ls.settimeout(0.05)
        self.port = ls.getsockname()[1]
        self._track(ls)
        t = threading.Thread(target=self._accept_loop, args=(ls,), daemon=True)
        t.start()
        self.threads.append(t)

    def _track(self, s):
        with self.lock:
            self.socks.append(s)

    def _accept_loop(self, ls):
        while not self.stop.is_set():
            try:
                a, _ = ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                b = socket.create_connection(self.target, timeout=5.0)
            except OSError:
                a.close()
                continue
            self._track(a)
            self._track(b)
            t = threading.Thread(target=self._pump, args=(a, b), daemon=True)
            t.start()
            self.threads.append(t)

    def _pump(self, a, b):
        sel = selectors.DefaultSelector()
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        try:
            while not self.stop.is_set():
                for key, _ in sel.select(timeout=0.05):
                    try:
                        data = key.fileobj.recv(65536)
                        if not data:
                            return
                        key.data.sendall(data)
                    except OSError:
                        return
        finally:
            sel.close()
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=5.0)
        self.threads = []
        with self.lock:
            for s in self.socks:
                try:
                    reset_on_close(s)
                except OSError:
                    pass
                s.close()
            self.socks = []

    def resume(self):
        self.stop.clear()
        self._listen()

    def close(self):
        self.cut()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
