// The cgroupfs driver on hierarchies faked in a temp dir (fake-cgroupfs.ts): which
// directories create makes and destroy removes, how limits are written (v1 files, v2 with
// the controller enabled from the mount root down; a file the kernel lacks is named in the
// error, or skipped when the write is optional), joining, freezing, listing members, and
// the rootless mode that skips a hierarchy the caller may not write.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { CgroupfsDriver, firstCgroupWrite } from '../../src/cgroups/cgroupfs';
import type { CgroupDriver } from '../../src/cgroups/driver';
import { newCgroupDriver } from '../../src/cgroups/factory';
import type { Hierarchy } from '../../src/cgroups/hierarchy';
import { fakeCgroupfs, readIn, writeFiles, type FakeHierarchy } from './fake-cgroupfs';

const driverOn = (hierarchies: Hierarchy[], cgroupsPath?: string, rootless = false): CgroupDriver =>
  newCgroupDriver({ id: 'c1', cgroupsPath, systemd: false, rootless, hierarchies });

/** A created container's cgroup in each fake v1 hierarchy, with the files the kernel would have. */
function createdV1(t: Test, files: Record<string, string[]>): { cg: CgroupDriver; dirs: Record<string, string> } {
  const cg = driverOn(fakeCgroupfs(t, Object.keys(files).map((name) => ({ name, subsystems: [name] }))));
  cg.create();
  const dirs: Record<string, string> = {};
  for (const p of cg.placements) {
    const controller = p.subsystems[0];
    writeFiles(p.dir, Object.fromEntries(files[controller].map((f) => [f, ''])));
    dirs[controller] = p.dir;
  }
  return { cg, dirs };
}

t.test('the cgroupfs driver is what the factory picks without --systemd-cgroup', async (t) => {
  t.ok(driverOn(fakeCgroupfs(t, [{ name: 'unified' }])) instanceof CgroupfsDriver);
});

t.test('create makes the missing directories, parents first; destroy removes exactly those', async (t) => {
  const [memory, pids] = fakeCgroupfs(t, [
    { name: 'memory', subsystems: ['memory'] },
    { name: 'pids', subsystems: ['pids'] },
  ]);
  writeFiles(path.join(memory.mountpoint, 'pod'), {});
  const cg = driverOn([memory, pids], 'pod/c1');
  t.same(cg.record().created, [], 'nothing made before create');
  const made = [path.join(memory.mountpoint, 'pod/c1'), path.join(pids.mountpoint, 'pod'), path.join(pids.mountpoint, 'pod/c1')];
  t.same(cg.intendedRecord().created, made, 'what create will make, recorded before it makes it');
  cg.create();
  t.same(cg.record().created, made);
  t.ok(made.every(existsSync));
  cg.destroy();
  t.notOk(made.some(existsSync), 'every directory create made is gone');
  t.ok(existsSync(path.join(memory.mountpoint, 'pod')), 'the parent it did not make stays');
});

t.test('the init joins every hierarchy: its pid goes to each cgroup.procs', async (t) => {
  const { cg, dirs } = createdV1(t, { memory: ['cgroup.procs'], pids: ['cgroup.procs'] });
  cg.joinInit(4242, {});
  t.equal(readIn(dirs.memory, 'cgroup.procs'), '4242');
  t.equal(readIn(dirs.pids, 'cgroup.procs'), '4242');
});

t.test('the helper joins by itself (tasks files, clone3 into the v2 cgroup) unless the process enters a user namespace', async (t) => {
  const cg = driverOn(fakeCgroupfs(t, [{ name: 'unified' }]));
  t.same(cg.joinMethod(false), { by: 'helper' });
  t.same(cg.joinMethod(true), { by: 'runtime', reason: 'clone3 into the v2 cgroup from a user namespace' });
});

t.test('a limit is written into its file', async (t) => {
  const { cg, dirs } = createdV1(t, { pids: ['pids.max'] });
  cg.update({ pids: { limit: 42 } });
  t.equal(readIn(dirs.pids, 'pids.max'), '42');
});

t.test('a file the kernel lacks is named in the error, not created', async (t) => {
  const { cg, dirs } = createdV1(t, { memory: ['memory.limit_in_bytes'] });
  t.throws(() => cg.update({ memory: { limit: 1 << 20, swappiness: 10 } }), {
    message: `linux.resources.memory.swappiness: ${path.join(dirs.memory, 'memory.swappiness')} does not exist (the kernel does not support it)`,
  });
  t.throws(() => readFileSync(path.join(dirs.memory, 'memory.swappiness')), { code: 'ENOENT' }, 'not created');
});

t.test('an optional file the kernel lacks is skipped', async (t) => {
  // hugetlb's rsvd limit came with Linux 5.7; without it only the plain limit is set.
  const { cg, dirs } = createdV1(t, { hugetlb: ['hugetlb.2MB.limit_in_bytes'] });
  cg.update({ hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }] });
  t.equal(readIn(dirs.hugetlb, 'hugetlb.2MB.limit_in_bytes'), String(4 << 20));
  t.throws(() => readFileSync(path.join(dirs.hugetlb, 'hugetlb.2MB.rsvd.limit_in_bytes')), { code: 'ENOENT' }, 'not created');
});

t.test('v2: the controller is enabled in cgroup.subtree_control from the mount root down, then the limit written', async (t) => {
  const unified: FakeHierarchy = { name: 'unified', files: { 'cgroup.controllers': 'memory pids', 'cgroup.subtree_control': 'memory' } };
  const [u] = fakeCgroupfs(t, [unified]);
  const cg = driverOn([u], 'pod/c1');
  cg.create();
  writeFiles(path.join(u.mountpoint, 'pod'), { 'cgroup.subtree_control': '' });
  writeFiles(path.join(u.mountpoint, 'pod/c1'), { 'pids.max': '' });
  cg.update({ pids: { limit: 5 } });
  t.equal(readIn(u.mountpoint, 'cgroup.subtree_control'), '+pids');
  t.equal(readIn(path.join(u.mountpoint, 'pod'), 'cgroup.subtree_control'), '+pids');
  t.equal(readIn(path.join(u.mountpoint, 'pod/c1'), 'pids.max'), '5');
});

t.test('a limit for a controller no hierarchy has is refused before anything is made', async (t) => {
  const cg = driverOn(fakeCgroupfs(t, [{ name: 'pids', subsystems: ['pids'] }]));
  t.throws(() => cg.checkResources({ memory: { limit: 1 << 20 } }), /^linux\.resources\.memory: no cgroup controller is available to enforce it/);
  t.same(cg.record().created, []);
});

t.test('v1 freezer: freeze and thaw through freezer.state', async (t) => {
  const { cg, dirs } = createdV1(t, { freezer: ['freezer.state'] });
  t.ok(cg.canFreeze());
  cg.setFrozen(true);
  t.equal(readIn(dirs.freezer, 'freezer.state'), 'FROZEN');
  t.ok(cg.isFrozen());
  cg.setFrozen(false);
  t.notOk(cg.isFrozen());
});

t.test('members: cgroup.procs of the container\'s cgroup and of the cgroups below it', async (t) => {
  const { cg, dirs } = createdV1(t, { pids: [] });
  writeFiles(dirs.pids, { 'cgroup.procs': '10\n11\n' });
  writeFiles(path.join(dirs.pids, 'sub'), { 'cgroup.procs': '12\n' });
  t.same(cg.pids().sort(), [10, 11, 12]);
});

/** Make `dir` unwritable even for root (chattr +i), or for others by its mode; undo after `action`. */
function withUnwritable(t: Test, dir: string, action: () => void): void {
  const root = process.getuid?.() === 0;
  if (root && spawnSync('chattr', ['+i', dir]).status !== 0) return void t.plan(0, 'chattr +i does not work in the temp dir: cannot make a directory root may not write');
  if (!root) chmodSync(dir, 0o555);
  try {
    action();
  } finally {
    if (root) spawnSync('chattr', ['-i', dir]);
    else chmodSync(dir, 0o755);
  }
}

t.test('rootless: a hierarchy the caller may not write is skipped, and a limit for it says why', async (t) => {
  const [pids, cpu] = fakeCgroupfs(t, [
    { name: 'pids', subsystems: ['pids'] },
    { name: 'cpu', subsystems: ['cpu'] },
  ]);
  withUnwritable(t, cpu.mountpoint, () => {
    const cg = driverOn([pids, cpu], undefined, true);
    cg.create();
    t.same(cg.placements.map((p) => p.mountpoint), [pids.mountpoint], 'the cpu hierarchy is skipped');
    t.match(cg.skippedHierarchies(), [{ mountpoint: cpu.mountpoint, error: /not permitted|permission denied/ }]);
    t.same(cg.record(), { placements: cg.placements, created: [path.join(pids.mountpoint, 'c1')], rootless: true });
    t.same(cg.joinMethod(false), { by: 'runtime', reason: 'rootless cgroups tolerate permission errors' });
    t.throws(() => cg.applyOnCreate({ cpu: { shares: 512 } }, undefined), {
      message: /^linux\.resources\.cpu\.shares: cannot set cpu limit: container could not join or create cgroup \(.*(not permitted|permission denied)/,
    });
    cg.destroy();
  });
});

t.test('rootless with linux.cgroupsPath, and not rootless: a hierarchy the caller may not write is an error', async (t) => {
  const [cpu] = fakeCgroupfs(t, [{ name: 'cpu', subsystems: ['cpu'] }]);
  withUnwritable(t, cpu.mountpoint, () => {
    const dir = path.join(cpu.mountpoint, 'c1');
    const message = new RegExp(`^create cgroup ${dir}: mkdir ${dir}: (operation not permitted|permission denied)$`);
    t.throws(() => driverOn([cpu], 'c1', true).create(), { message });
    t.throws(() => driverOn([cpu], undefined, false).create(), { message });
  });
});

t.test('rootless: device rules go when the hierarchy that would hold them was skipped (as runc), not an error', async (t) => {
  const [pids, devices] = fakeCgroupfs(t, [
    { name: 'pids', subsystems: ['pids'] },
    { name: 'devices', subsystems: ['devices'] },
  ]);
  const rules = { devices: [{ allow: false, access: 'rwm' }] };
  withUnwritable(t, devices.mountpoint, () => {
    const cg = driverOn([pids, devices], undefined, true);
    cg.create();
    t.doesNotThrow(() => cg.applyOnCreate(rules, undefined), 'the container gets the host\'s device permissions');
    cg.destroy();
    const strict = driverOn([pids], undefined, false);
    t.throws(() => strict.applyOnCreate(rules, undefined), /^linux\.resources\.devices: no devices cgroup controller is mounted$/, 'no devices hierarchy at all is still an error');
  });
});

t.test('predictPermissions: what create would fail on or skip where the caller may not write, making nothing', async (t) => {
  const [pids, cpu, devices] = fakeCgroupfs(t, [
    { name: 'pids', subsystems: ['pids'] },
    { name: 'cpu', subsystems: ['cpu'] },
    { name: 'devices', subsystems: ['devices'] },
  ]);
  const all = [pids, cpu, devices];
  const denied = new Set([cpu.mountpoint, devices.mountpoint]);
  const canWrite = (p: string) => !denied.has(p);
  const resources = { cpu: { shares: 512 }, pids: { limit: 10 }, devices: [{ allow: false, access: 'rwm' }] };

  const rootless = driverOn(all, undefined, true).predictPermissions(resources, canWrite);
  t.same(rootless.errors, [`linux.resources.cpu.shares: cannot set cpu limit: container could not join or create cgroup (create cgroup ${path.join(cpu.mountpoint, 'c1')}: ${cpu.mountpoint}: permission denied)`]);
  t.same(rootless.skipped.map((s) => s.mountpoint), [cpu.mountpoint, devices.mountpoint], 'the container stays in the caller\'s cgroup there');
  t.equal(rootless.deviceRulesDropped, true);
  t.same(readdirSync(cpu.mountpoint).filter((f) => f === 'c1'), [], 'nothing made');

  // The same with the real driver doing it: create, then the limits (what the prediction stands for).
  withUnwritable(t, cpu.mountpoint, () => {
    const cg = driverOn([pids, cpu], undefined, true);
    cg.create();
    t.throws(() => cg.applyOnCreate({ cpu: resources.cpu }, undefined), /^linux\.resources\.cpu\.shares: cannot set cpu limit: container could not join or create cgroup/);
    cg.destroy();
  });

  const explicit = driverOn(all, 'c1', true).predictPermissions({}, canWrite);
  t.same(explicit.errors, [`create cgroup ${path.join(cpu.mountpoint, 'c1')}: ${cpu.mountpoint}: permission denied`, `create cgroup ${path.join(devices.mountpoint, 'c1')}: ${devices.mountpoint}: permission denied`], 'with linux.cgroupsPath nothing is skipped');
  t.same(driverOn(all, undefined, true).predictPermissions(resources, () => true), { errors: [], skipped: [], deviceRulesDropped: true }, 'a rootless caller that may write every file: all but the device rules, which take CAP_SYS_ADMIN');
  t.same(driverOn(all, undefined, false).predictPermissions(resources, () => true), { errors: [], skipped: [], deviceRulesDropped: false }, 'root writes them');

  writeFiles(path.join(pids.mountpoint, 'existing'), { 'cgroup.procs': '' });
  t.same(firstCgroupWrite(driverOn([pids], 'existing', true).placements[0]), path.join(pids.mountpoint, 'existing', 'cgroup.procs'), 'an existing cgroup is joined, not made');
});

t.test('predictPermissions on v2: a limit needs the controller enabled in each parent\'s cgroup.subtree_control', async (t) => {
  const [u] = fakeCgroupfs(t, [{ name: 'unified', files: { 'cgroup.controllers': 'memory pids', 'cgroup.subtree_control': 'pids' } }]);
  writeFiles(path.join(u.mountpoint, 'deleg'), { 'cgroup.subtree_control': '' });
  const parent = path.join(u.mountpoint, 'deleg', 'cgroup.subtree_control');
  const cg = driverOn([u], '/deleg/c1', true);
  t.same(cg.predictPermissions({ pids: { limit: 5 } }, (p) => p !== parent).errors, [
    `linux.resources.pids.limit (enable the pids controller): ${parent}: permission denied`,
  ], 'enabled at the root already, not in the delegated parent');
  t.same(cg.predictPermissions({ pids: { limit: 5 } }, () => true).errors, []);
});

t.test('predictPermissions: files in the directories create makes are not checked (they do not exist yet)', async (t) => {
  const [u, devices] = fakeCgroupfs(t, [
    { name: 'unified', files: { 'cgroup.controllers': 'pids', 'cgroup.subtree_control': '' } },
    { name: 'devices', subsystems: ['devices'] },
  ]);
  const existing = (p: string) => existsSync(p);
  t.same(driverOn([u, devices], 'pod/c1').predictPermissions({ pids: { limit: 5 }, devices: [{ allow: false, access: 'rwm' }] }, existing), { errors: [], skipped: [], deviceRulesDropped: false });
});
