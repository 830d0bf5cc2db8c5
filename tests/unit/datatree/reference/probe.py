"""Prints what a running ZooKeeper 3.8 answers for the cases the datatree unit
tests pin down (tree_test.cpp, prep_test.cpp). Run against a fresh server:

    /usr/bin/python3 probe.py PORT

Uses raw.py, which sends requests without any client-side validation.
Avoid the two crashers noted at the end: they kill ZooKeeper 3.8.0."""
import sys
from raw import *

port = int(sys.argv[1])
c = Raw(port)


def section(name):
    print('\n==', name)


section('fresh tree')
for p in ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']:
    print(p, c.get(p), c.get_acl(p)[1], c.children(p))

section('sequence numbers (stored cversion) and visible cversion')
def cv(p):
    e, ch, s = c.children2(p)
    return s['cversion'], s['pzxid'], s['numChildren']
print(c.create('/p')[:2], cv('/p'))
r = c.create('/p/a-', flags=2); print(r[:2], cv('/p'))
print('delete', c.delete(r[1]), cv('/p'))
print(c.create('/p/a-', flags=2)[:2], cv('/p'))
print(c.create('/p/x')[:2], cv('/p'))
print('delete', c.delete('/p/x'), cv('/p'))
print(c.create('/p/a-', flags=2)[:2], cv('/p'))
print(c.create('/p/b')[:2], c.create('/p/b')[:1], c.delete('/p/nope'), cv('/p'))
print(c.create('/p/', flags=2)[:2], c.create('/p/', flags=3)[:2], cv('/p'))

section('errors')
cases = [
    ('create /', lambda: c.create('/')[0]),
    ('create ""', lambda: c.create('')[0]),
    ('create /abc/', lambda: c.create('/abc/')[0]),
    ('create //a', lambda: c.create('//a')[0]),
    ('create /p/./x', lambda: c.create('/p/./x')[0]),
    ('create /.', lambda: c.create('/.')[0]),
    ('create /p/a U+0085', lambda: c.create('/p/a\u0085')[0]),
    ('create /p/a U+E000', lambda: c.create('/p/a\ue000')[0]),
    ('create /p/a bad utf-8', lambda: c.create(b'/p/a\xff')[0]),
    ('create empty acl', lambda: c.create('/p/e1', acl=[])[0]),
    ('create world:other', lambda: c.create('/p/e2', acl=[(31, 'world', 'other')])[0]),
    ('create digest u:', lambda: c.create('/p/e3', acl=[(31, 'digest', 'u:')])[0]),
    ('create flags 7', lambda: c.create('/p/f7', flags=7)[0]),
    ('create TTL flags', lambda: c.create('/p/f5', flags=5)[0]),
    ('create /zookeeper/config/x', lambda: c.create('/zookeeper/config/x')[0]),
    ('delete /zookeeper', lambda: c.delete('/zookeeper')),
    ('delete /p/', lambda: c.delete('/p/')),
    ('delete /p (children, bad version)', lambda: c.delete('/p', 99)),
    ('set /zookeeper/config', lambda: c.set('/zookeeper/config', b'x')[0]),
    ('set /p/', lambda: c.set('/p/', b'x')[0]),
    ('setACL empty on missing node', lambda: c.set_acl('/nope', [])[0]),
    ('exists with NUL', lambda: c.exists('/p\x00')[0]),
    ('get with NUL', lambda: c.get('/p\x00')[0]),
    ('getAllChildrenNumber /', lambda: c.all_children_number('/')),
    ('getAllChildrenNumber ""', lambda: c.all_children_number('')),
]
for name, f in cases:
    print(name, '=>', f())

section('pipelined: prep against changes in flight')
def show(reqs, names):
    for (err, zxid, r), n in zip(pipeline(c, reqs), names):
        print('  ', n, err, r.str() if err == 0 and n.startswith('create') else '')
show([(1, create_body('/f')), (1, create_body('/f/b')), (2, delete_body('/f/b')),
      (1, create_body('/f/b')), (1, create_body('/f/s-', flags=2)),
      (2, delete_body('/f/s-0000000002')), (1, create_body('/f/s-', flags=2)),
      (5, set_body('/f', b'1', 0)), (5, set_body('/f', b'2', 0))],
     ['create /f', 'create /f/b', 'delete /f/b', 'create /f/b', 'create /f/s- seq',
      'delete /f/s-0000000002', 'create /f/s- seq', 'set v0', 'set v0 again'])
show([(1, create_body('/g', flags=1)), (1, create_body('/g/c'))],
     ['create /g ephemeral', 'create /g/c'])
show([(1, create_body('/k0')),
      (14, multi_body([(1, create_body('/k')), (1, create_body('/k0/s', flags=2)),
                       (1, create_body('/nope/x'))])),
      (1, create_body('/k0/s', flags=2))],
     ['create /k0', 'failed multi', 'create /k0/s seq'])

section('multi')
print(c.multi([(1, create_body('/m1')), (1, create_body('/nope/x')), (1, create_body('/m2'))]))
print(c.multi([]))

section('quota accounting')
def stats(p='/zookeeper/quota/q/zookeeper_stats'):
    e, d, s = c.get(p)
    return d, s['dataLength'], s['mzxid']
c.create('/q', b'12345'); c.create('/q/a', b'xx'); c.create('/zookeeper/quota/q')
c.create('/zookeeper/quota/q/zookeeper_limits', b'count=5,bytes=-1')
c.create('/zookeeper/quota/q/zookeeper_stats', b'count=0,bytes=0')
print('recount', stats())
c.create('/q/b', b'abc'); print('create', stats())
c.set('/q/a', b'xxxxxxxxxx'); print('set', stats())
c.delete('/q/b'); print('delete', stats())
c.set('/zookeeper/quota/q/zookeeper_stats', b'count=1,bytes=2,zeta=3;alpha=4')
c.create('/q/d', b'abcd'); print('extra keys', stats())
c.close()

# Crashers of ZooKeeper 3.8.0 (the server process exits):
# - setData /zookeeper/quota/q/zookeeper_stats to "count=1;bytes=x" (or
#   "alpha=") and then create a node under /q: StatsTrack throws in
#   DataTree.updateQuotaStat.
# - create /zookeeper/quota/zookeeper_limits: PathTrie.addPath("") throws.
# - create /zookeeper_stats, /zookeeper_stats/zookeeper_limits, then delete
#   the latter: deleteNode takes "/zookeeper_stats".substring(16) as a quota
#   path and PathTrie.deletePath("") throws. Any client can do this.
