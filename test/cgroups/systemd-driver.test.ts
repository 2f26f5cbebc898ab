// The systemd driver against a stand-in for systemd's manager (calls recorded; starting a
// unit makes its cgroup directory, as systemd does) on a unified hierarchy faked in a temp
// dir: the scope is started with the init and the limits systemd knows, values systemd
// cannot take are refused before anything is made, update sets the unit's properties and
// then the files, and destroy stops the unit and removes what runts made.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { Hierarchy } from '../../src/cgroups/hierarchy';
import { parseSystemdPath, placeSystemdUnit } from '../../src/cgroups/paths';
import { STRICT } from '../../src/cgroups/rootless';
import { SystemdError, type SystemdManager, type UnitProperty } from '../../src/cgroups/systemd';
import { SystemdDriver, type SystemdSession } from '../../src/cgroups/systemd-driver';
import { fakeCgroupfs, readIn, writeFiles } from './fake-cgroupfs';

type Call = { method: string; unit: string; properties?: Record<string, unknown> };

/** A session with a fake manager; `stopFails` makes StopUnit fail as a D-Bus error would. */
function fakeSystemd(u: Hierarchy, opts: { stopFails?: boolean } = {}): { calls: Call[]; session: SystemdSession } {
  const calls: Call[] = [];
  const props = (list: UnitProperty[]) => Object.fromEntries(list.map(([name, v]) => [name, v.value]));
  const scopeDir = (unit: string) => path.join(u.mountpoint, 'system.slice', unit);
  const manager = {
    startTransientUnit(unit: string, properties: UnitProperty[]) {
      calls.push({ method: 'start', unit, properties: props(properties) });
      writeFiles(scopeDir(unit), { 'cgroup.procs': '', 'pids.max': 'max' });
    },
    setUnitProperties(unit: string, properties: UnitProperty[]) {
      calls.push({ method: 'set', unit, properties: props(properties) });
    },
    stopUnit(unit: string) {
      calls.push({ method: 'stop', unit });
      if (opts.stopFails) throw new SystemdError(`systemd: stop ${unit}: connection reset`);
      fs.rmSync(scopeDir(unit), { recursive: true, force: true });
    },
  } as unknown as SystemdManager;
  return { calls, session: (action) => action(manager) };
}

function systemdDriver(t: Test, opts: { stopFails?: boolean; created?: (u: Hierarchy) => string[] } = {}) {
  const [u] = fakeCgroupfs(t, [{ name: 'unified', files: { 'cgroup.controllers': 'memory pids', 'cgroup.subtree_control': 'memory pids' } }]);
  writeFiles(path.join(u.mountpoint, 'system.slice'), { 'cgroup.subtree_control': 'memory pids' });
  const unit = parseSystemdPath(undefined, 'c1');
  const { calls, session } = fakeSystemd(u, opts);
  const placements = placeSystemdUnit([u], unit);
  const driver = new SystemdDriver(placements, opts.created?.(u) ?? [], STRICT, { unit: unit.unit, slice: unit.slice, description: 'runts container c1' }, session);
  return { driver, calls, dir: placements[0].dir, u };
}

t.test('the scope is started with the init and the limits systemd knows; systemd makes its cgroup', async (t) => {
  const { driver, calls, dir } = systemdDriver(t);
  driver.create();
  t.notOk(fs.existsSync(dir), 'create makes nothing: systemd makes the scope when it starts');
  t.same(driver.joinMethod(), { by: 'runtime', reason: 'systemd starts the scope with the pid in it' });
  driver.joinInit(4242, { pids: { limit: 10 } });
  t.match(calls, [{ method: 'start', unit: 'runts-c1.scope', properties: { Slice: 'system.slice', Delegate: true, PIDs: [4242], TasksMax: 10n } }]);
  t.equal(readIn(dir, 'cgroup.procs'), '4242');
  t.same(driver.record(), {
    placements: driver.placements,
    created: [],
    systemd: { unit: 'runts-c1.scope', slice: 'system.slice', description: 'runts container c1' },
  });
});

t.test('a value systemd cannot take as a property is refused before anything is made', async (t) => {
  const { driver, calls } = systemdDriver(t);
  t.throws(() => driver.checkResources({ unified: { 'pids.max': 'lots' } }), { name: 'CgroupError', message: 'linux.resources.unified.pids.max: invalid value "lots"' });
  t.same(calls, []);
});

t.test('update sets the unit\'s properties, then writes the files', async (t) => {
  const { driver, calls, dir } = systemdDriver(t);
  driver.joinInit(4242, {});
  driver.update({ pids: { limit: 7 } });
  t.match(calls[1], { method: 'set', unit: 'runts-c1.scope', properties: { TasksMax: 7n } });
  t.equal(readIn(dir, 'pids.max'), '7');
});

t.test('destroy stops the unit and removes the directories runts made', async (t) => {
  const ours = (u: Hierarchy) => [path.join(u.mountpoint, 'runts-made')];
  const { driver, calls, u } = systemdDriver(t, { created: ours });
  fs.mkdirSync(ours(u)[0]);
  driver.destroy();
  t.same(calls, [{ method: 'stop', unit: 'runts-c1.scope' }]);
  t.notOk(fs.existsSync(ours(u)[0]));
});

t.test('a unit that cannot be stopped is reported, and the directories runts made still go', async (t) => {
  const ours = (u: Hierarchy) => [path.join(u.mountpoint, 'runts-made')];
  const { driver, u } = systemdDriver(t, { created: ours, stopFails: true });
  fs.mkdirSync(ours(u)[0]);
  t.throws(() => driver.destroy(), { name: 'CgroupError', message: 'systemd: stop runts-c1.scope: connection reset' });
  t.notOk(fs.existsSync(ours(u)[0]));
});
