// Which cgroup driver a container gets: from the host's hierarchies, --systemd-cgroup and
// rootless cgroups for a new one, from its record afterwards.
import t from 'tap';
import { CgroupfsDriver } from '../../src/cgroups/cgroupfs';
import { cgroupDriverFromRecord, newCgroupDriver } from '../../src/cgroups/factory';
import type { Hierarchy } from '../../src/cgroups/hierarchy';
import { SystemdDriver } from '../../src/cgroups/systemd-driver';

const hybrid: Hierarchy[] = [
  { fstype: 'cgroup', mountpoint: '/sys/fs/cgroup/pids', mountRoot: '/', subsystems: ['pids'], cgroup: '/' },
  { fstype: 'cgroup2', mountpoint: '/sys/fs/cgroup/unified', mountRoot: '/', subsystems: [], cgroup: '/' },
];
const request = { id: 'c1', cgroupsPath: undefined, systemd: false, rootless: false, hierarchies: hybrid, systemdRunning: () => true };

t.test('no hierarchy mounted: an error, whatever the flags', async (t) => {
  t.throws(() => newCgroupDriver({ ...request, hierarchies: [] }), { name: 'CgroupError', message: 'no cgroup hierarchy is mounted on this host' });
  t.throws(() => newCgroupDriver({ ...request, hierarchies: [], systemd: true }), { message: 'no cgroup hierarchy is mounted on this host' });
});

t.test('without --systemd-cgroup: cgroupfs, the container ID in every hierarchy', async (t) => {
  const cg = newCgroupDriver(request);
  t.ok(cg instanceof CgroupfsDriver && !(cg instanceof SystemdDriver));
  t.same(cg.record(), { placements: cg.placements, created: [] });
  t.same(cg.placements.map((p) => p.dir), ['/sys/fs/cgroup/pids/c1', '/sys/fs/cgroup/unified/c1']);
});

t.test('--systemd-cgroup: the systemd driver, a scope in its slice', async (t) => {
  const cg = newCgroupDriver({ ...request, systemd: true, cgroupsPath: 'machine.slice:pfx:c1' });
  t.ok(cg instanceof SystemdDriver);
  t.same(cg.record().systemd, { unit: 'pfx-c1.scope', slice: 'machine.slice', description: 'runts container c1' });
  t.same(cg.placements.map((p) => p.cgroup), ['/machine.slice/pfx-c1.scope', '/machine.slice/pfx-c1.scope']);
});

t.test('--systemd-cgroup on a host without systemd, or with a path that is not slice:prefix:name: an error', async (t) => {
  t.throws(() => newCgroupDriver({ ...request, systemd: true, systemdRunning: () => false }), {
    name: 'CgroupError',
    message: '--systemd-cgroup: systemd is not running on this host (no /run/systemd/system), cannot create /system.slice/runts-c1.scope',
  });
  t.throws(() => newCgroupDriver({ ...request, systemd: true, cgroupsPath: '/a/b' }), { name: 'CgroupPathError', message: /slice:prefix:name/ });
});

t.test('rootless cgroups: recorded, and the runtime joins (permission errors are tolerated)', async (t) => {
  for (const systemd of [false, true]) {
    const cg = newCgroupDriver({ ...request, systemd, rootless: true });
    t.equal(cg.record().rootless, true);
    t.equal(cg.joinMethod(false).by, 'runtime');
  }
});

t.test('from a record: the same driver, mode and directories', async (t) => {
  for (const req of [request, { ...request, systemd: true }, { ...request, rootless: true }]) {
    const made = newCgroupDriver(req);
    const rec = { ...made.record(), created: ['/sys/fs/cgroup/pids/c1'] };
    const again = cgroupDriverFromRecord(rec);
    t.equal(again.constructor, made.constructor);
    t.same(again.record(), rec);
  }
});
