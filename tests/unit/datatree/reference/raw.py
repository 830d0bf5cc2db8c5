"""Minimal raw jute client for probing ZooKeeper 3.8's server behaviour.

No client-side validation, so invalid paths and odd flags reach the server
exactly as sent."""
import socket, struct

OK = 0

def _s(b):  # jute string/buffer; None -> -1
    if b is None:
        return struct.pack('>i', -1)
    if isinstance(b, str):
        b = b.encode('utf-8', 'surrogatepass')
    return struct.pack('>i', len(b)) + b

def _acls(acls):
    if acls is None:
        return struct.pack('>i', -1)
    out = struct.pack('>i', len(acls))
    for perms, scheme, ident in acls:
        out += struct.pack('>i', perms) + _s(scheme) + _s(ident)
    return out

OPEN = [(31, 'world', 'anyone')]

class Reader:
    def __init__(self, b): self.b, self.i = b, 0
    def i32(self):
        v = struct.unpack_from('>i', self.b, self.i)[0]; self.i += 4; return v
    def i64(self):
        v = struct.unpack_from('>q', self.b, self.i)[0]; self.i += 8; return v
    def buf(self):
        n = self.i32()
        if n < 0: return None
        v = self.b[self.i:self.i + n]; self.i += n; return v
    def str(self):
        v = self.buf(); return None if v is None else v.decode('utf-8', 'replace')
    def boolean(self):
        v = self.b[self.i]; self.i += 1; return v != 0
    def stat(self):
        names = ['czxid', 'mzxid', 'ctime', 'mtime', 'version', 'cversion', 'aversion',
                 'ephemeralOwner', 'dataLength', 'numChildren', 'pzxid']
        kinds = 'qqqqiiiqiiq'
        d = {}
        for n, k in zip(names, kinds):
            d[n] = self.i64() if k == 'q' else self.i32()
        return d
    def strs(self):
        n = self.i32()
        return None if n < 0 else [self.str() for _ in range(n)]
    def acls(self):
        n = self.i32()
        return [(self.i32(), self.str(), self.str()) for _ in range(n)]

class Raw:
    def __init__(self, port, timeout=30000):
        self.sock = socket.create_connection(('127.0.0.1', port))
        self.xid = 0
        body = struct.pack('>iqiq', 0, 0, timeout, 0) + _s(b'\0' * 16) + b'\0'
        self._send(body)
        r = Reader(self._recv())
        self.proto, self.timeout, self.session = r.i32(), r.i32(), r.i64()
        self.events = []
    def _send(self, body):
        self.sock.sendall(struct.pack('>i', len(body)) + body)
    def _recvn(self, n):
        b = b''
        while len(b) < n:
            c = self.sock.recv(n - len(b))
            if not c: raise EOFError('closed')
            b += c
        return b
    def _recv(self):
        n = struct.unpack('>i', self._recvn(4))[0]
        return self._recvn(n)
    def call(self, op, body):
        self.xid += 1
        self._send(struct.pack('>ii', self.xid, op) + body)
        while True:
            r = Reader(self._recv())
            xid, zxid, err = r.i32(), r.i64(), r.i32()
            if xid == -1:
                self.events.append((r.i32(), r.i32(), r.str()))
                continue
            assert xid == self.xid, (xid, self.xid)
            return zxid, err, r
    # ops
    def create(self, path, data=b'', acl=OPEN, flags=0, op=1, ttl=None):
        body = _s(path) + _s(data) + _acls(acl) + struct.pack('>i', flags)
        if ttl is not None: body += struct.pack('>q', ttl)
        zxid, err, r = self.call(op, body)
        if err: return err, None, None
        p = r.str()
        st = r.stat() if op in (15, 19, 21) else None
        return err, p, st
    def delete(self, path, version=-1):
        return self.call(2, _s(path) + struct.pack('>i', version))[1]
    def exists(self, path, watch=False):
        zxid, err, r = self.call(3, _s(path) + bytes([watch]))
        return err, (r.stat() if not err else None)
    def get(self, path, watch=False):
        zxid, err, r = self.call(4, _s(path) + bytes([watch]))
        if err: return err, None, None
        return err, r.buf(), r.stat()
    def set(self, path, data, version=-1):
        zxid, err, r = self.call(5, _s(path) + _s(data) + struct.pack('>i', version))
        return err, (r.stat() if not err else None)
    def get_acl(self, path):
        zxid, err, r = self.call(6, _s(path))
        if err: return err, None, None
        return err, r.acls(), r.stat()
    def set_acl(self, path, acl, version=-1):
        zxid, err, r = self.call(7, _s(path) + _acls(acl) + struct.pack('>i', version))
        return err, (r.stat() if not err else None)
    def children2(self, path, watch=False):
        zxid, err, r = self.call(12, _s(path) + bytes([watch]))
        if err: return err, None, None
        return err, sorted(r.strs()), r.stat()
    def children(self, path, watch=False):
        zxid, err, r = self.call(8, _s(path) + bytes([watch]))
        if err: return err, None
        return err, sorted(r.strs())
    def all_children_number(self, path):
        zxid, err, r = self.call(104, _s(path))
        return err, (r.i32() if not err else None)
    def ephemerals(self, prefix):
        zxid, err, r = self.call(103, _s(prefix))
        return err, (sorted(r.strs()) if not err else None)
    def check(self, path, version):
        zxid, err, r = self.call(13, _s(path) + struct.pack('>i', version))
        return err
    def multi(self, ops):
        """ops: list of (op, body bytes)."""
        body = b''
        for op, b in ops:
            body += struct.pack('>i?i', op, False, -1) + b
        body += struct.pack('>i?i', -1, True, -1)
        zxid, err, r = self.call(14, body)
        res = []
        while True:
            t, done, e = r.i32(), r.boolean(), r.i32()
            if done: break
            if t == -1: res.append(('error', r.i32()))
            elif t in (1,): res.append(('create', r.str()))
            elif t in (15, 19, 21): res.append(('create2', r.str(), r.stat()))
            elif t == 2: res.append(('delete',))
            elif t == 5: res.append(('set', r.stat()))
            elif t == 13: res.append(('check',))
            else: res.append(('?', t))
        return err, res
    def close(self):
        try:
            self.call(-11, b'')
        except EOFError:
            pass
        self.sock.close()

def create_body(path, data=b'', acl=OPEN, flags=0):
    return _s(path) + _s(data) + _acls(acl) + struct.pack('>i', flags)
def delete_body(path, version=-1):
    return _s(path) + struct.pack('>i', version)
def set_body(path, data, version=-1):
    return _s(path) + _s(data) + struct.pack('>i', version)
def check_body(path, version):
    return _s(path) + struct.pack('>i', version)

def pipeline(c, reqs):
    """Sends every (op, body) before reading any reply; returns (err, Reader)
    per request, in order."""
    out = b''
    xids = []
    for op, body in reqs:
        c.xid += 1
        xids.append(c.xid)
        b = struct.pack('>ii', c.xid, op) + body
        out += struct.pack('>i', len(b)) + b
    c.sock.sendall(out)
    res = []
    while len(res) < len(reqs):
        r = Reader(c._recv())
        xid, zxid, err = r.i32(), r.i64(), r.i32()
        if xid == -1:
            continue
        assert xid == xids[len(res)]
        res.append((err, zxid, r))
    return res

def multi_body(ops):
    body = b''
    for op, b in ops:
        body += struct.pack('>i?i', op, False, -1) + b
    return body + struct.pack('>i?i', -1, True, -1)
