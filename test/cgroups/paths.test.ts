// Where container cgroups go (runc's rules), without touching the host.
import t from 'tap';
import type { Hierarchy } from '../../src/cgroups/hierarchy';
import { expandSlice, parseSystemdPath, placeContainer, placeSystemdUnit } from '../../src/cgroups/paths';

const v1 = (subsystems: string[], cgroup: string, mountRoot = '/'): Hierarchy => ({
  fstype: 'cgroup',
  mountpoint: `/sys/fs/cgroup/${subsystems.join(',').replace('name=', '')}`,
  mountRoot,
  subsystems,
  cgroup,
});
const unified = (cgroup: string, mountpoint = '/sys/fs/cgroup/unified'): Hierarchy => ({ fstype: 'cgroup2', mountpoint, mountRoot: '/', subsystems: [], cgroup });

const hybrid = [v1(['memory'], '/agent/job'), v1(['cpu'], '/'), v1(['name=systemd'], '/'), unified('/')];

t.test('relative cgroupsPath: under the runtime\'s own cgroup in every hierarchy (v1, hybrid)', async (t) => {
  const dirs = placeContainer(hybrid, 'c1', 'tests/c1').map((p) => [p.cgroup, p.dir]);
  t.same(dirs, [
    ['/agent/job/tests/c1', '/sys/fs/cgroup/memory/agent/job/tests/c1'],
    ['/tests/c1', '/sys/fs/cgroup/cpu/tests/c1'],
    ['/tests/c1', '/sys/fs/cgroup/systemd/tests/c1'],
    ['/tests/c1', '/sys/fs/cgroup/unified/tests/c1'],
  ]);
});

t.test('absent cgroupsPath: the container ID, relative', async (t) => {
  t.same(placeContainer(hybrid, 'myid', undefined).map((p) => p.cgroup), ['/agent/job/myid', '/myid', '/myid', '/myid']);
  t.same(placeContainer(hybrid, 'myid', '').map((p) => p.cgroup), ['/agent/job/myid', '/myid', '/myid', '/myid']);
});

t.test('absolute cgroupsPath: from the hierarchy root', async (t) => {
  t.same(placeContainer(hybrid, 'c1', '/runts/c1').map((p) => p.dir), [
    '/sys/fs/cgroup/memory/runts/c1',
    '/sys/fs/cgroup/cpu/runts/c1',
    '/sys/fs/cgroup/systemd/runts/c1',
    '/sys/fs/cgroup/unified/runts/c1',
  ]);
  t.same(placeContainer(hybrid, 'c1', '/a/../b//c/').map((p) => p.cgroup)[1], '/b/c', 'cleaned');
});

t.test('a relative path cannot climb out of the runtime\'s cgroup', async (t) => {
  t.same(placeContainer(hybrid, 'c1', '../../../etc').map((p) => p.dir)[0], '/sys/fs/cgroup/memory/agent/job/etc');
  t.throws(() => placeContainer(hybrid, 'c1', '..'), /names no cgroup/);
});

t.test('pure v2: relative paths go beside the runtime\'s own cgroup (its parent can hold controllers)', async (t) => {
  const pure = [unified('/user.slice/session-1.scope', '/sys/fs/cgroup')];
  t.same(placeContainer(pure, 'c1', 'box/c1').map((p) => p.dir), ['/sys/fs/cgroup/user.slice/box/c1']);
  t.same(placeContainer(pure, 'c1', '/box/c1').map((p) => p.dir), ['/sys/fs/cgroup/box/c1']);
  t.throws(() => placeContainer([unified('/', '/sys/fs/cgroup')], 'c1', '/'), /root cgroup/);
});

t.test('a v1 mount that shows only part of the hierarchy', async (t) => {
  const h = [v1(['memory'], '/outer/job', '/outer')];
  t.same(placeContainer(h, 'c1', 'x').map((p) => p.dir), ['/sys/fs/cgroup/memory/job/x']);
  t.throws(() => placeContainer([v1(['memory'], '/other/job', '/outer')], 'c1', 'x'), /outside what/);
});

t.test('systemd slice:prefix:name', async (t) => {
  t.equal(expandSlice('a-b-c.slice'), '/a.slice/a-b.slice/a-b-c.slice');
  t.equal(expandSlice('-.slice'), '/');
  t.throws(() => expandSlice('a--b.slice'), /invalid slice/);
  t.throws(() => expandSlice('system'), /invalid slice/);
  t.same(parseSystemdPath('machine.slice:libpod:abc', 'c1'), { unit: 'libpod-abc.scope', slice: 'machine.slice', prefix: 'libpod', name: 'abc', cgroup: '/machine.slice/libpod-abc.scope' });
  t.equal(parseSystemdPath(undefined, 'c1').cgroup, '/system.slice/runts-c1.scope');
  t.equal(parseSystemdPath(':runts:c1', 'c1').cgroup, '/system.slice/runts-c1.scope');
  t.throws(() => parseSystemdPath('/runts/c1', 'c1'), /slice:prefix:name/);
  t.throws(() => parseSystemdPath('machine.slice:x:pod.slice', 'c1'), /in a scope, not in the slice pod\.slice/);
  const hierarchies = [unified('/init.scope', '/sys/fs/cgroup/unified'), { ...unified('/', '/sys/fs/cgroup/pids'), fstype: 'cgroup' as const, subsystems: ['pids'] }];
  t.same(
    placeSystemdUnit(hierarchies, parseSystemdPath('a-b.slice:p:c1', 'c1')).map((p) => p.dir),
    ['/sys/fs/cgroup/unified/a.slice/a-b.slice/p-c1.scope', '/sys/fs/cgroup/pids/a.slice/a-b.slice/p-c1.scope'],
    'the same unit cgroup in every hierarchy, from its root (not from our own cgroup)',
  );
});
