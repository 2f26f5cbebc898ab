// The plan's cgroupJoin for create and exec (src/container/cgroups.ts helperCgroupJoin):
// the tasks files and the v2 cgroup's directory fd, on cgroup directories faked in a temp dir.
import { closeSync, fstatSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { CgroupRecord } from '../../src/cgroups/driver';
import { cgroupDriverFromRecord } from '../../src/cgroups/factory';
import type { CgroupPlacement } from '../../src/cgroups/paths';
import { helperCgroupJoin } from '../../src/container/cgroups';
import { RuntimeError } from '../../src/errors';

function fakeHierarchies(t: Test, withUnified = true): CgroupPlacement[] {
  const root = mkdtempSync(path.join(os.tmpdir(), 'runts-cgjoin-'));
  t.teardown(() => rmSync(root, { recursive: true }));
  const place = (name: string, fstype: CgroupPlacement['fstype'], subsystems: string[]): CgroupPlacement => {
    const dir = path.join(root, name, 'c1');
    mkdirSync(dir, { recursive: true });
    return { fstype, subsystems, mountpoint: path.join(root, name), cgroup: '/c1', dir };
  };
  return [place('memory', 'cgroup', ['memory']), place('pids', 'cgroup', ['pids']), ...(withUnified ? [place('unified', 'cgroup2', [])] : [])];
}

const cgroupsOf = (placements: CgroupPlacement[], extra: Partial<CgroupRecord> = {}) => cgroupDriverFromRecord({ placements, created: [], ...extra });

t.test('the helper gets every v1 tasks file and the v2 cgroup directory, opened', async (t) => {
  const placements = fakeHierarchies(t);
  const join = helperCgroupJoin(cgroupsOf(placements), false);
  t.ok(join);
  t.same(join!.tasks, [
    { cgroup: '/c1', file: path.join(placements[0].dir, 'tasks') },
    { cgroup: '/c1', file: path.join(placements[1].dir, 'tasks') },
  ]);
  t.match(join!.unified, { cgroup: '/c1', dir: placements[2].dir });
  const fd = join!.unified!.fd;
  try {
    const st = fstatSync(fd);
    t.ok(st.isDirectory());
    t.equal(st.ino, statSync(placements[2].dir).ino, 'the fd is the v2 cgroup directory');
  } finally {
    closeSync(fd);
  }
});

t.test('no v2 cgroup: tasks files only, no fd', async (t) => {
  const join = helperCgroupJoin(cgroupsOf(fakeHierarchies(t, false)), true);
  t.equal(join?.tasks.length, 2);
  t.equal(join?.unified, null);
});

t.test('the runtime joins (null): a user namespace with a v2 cgroup, systemd, rootless, no cgroups', async (t) => {
  const placements = fakeHierarchies(t);
  t.equal(helperCgroupJoin(cgroupsOf(placements), true), null);
  t.equal(helperCgroupJoin(cgroupsOf(placements, { rootless: true }), false), null);
  t.equal(helperCgroupJoin(cgroupsOf(placements, { systemd: { unit: 'runts-c1.scope', slice: 'system.slice', description: 'x' } }), false), null);
  t.equal(helperCgroupJoin(undefined, false), null);
});

t.test('a v2 cgroup that cannot be opened is an error naming the cgroup and the directory', async (t) => {
  const placements = fakeHierarchies(t);
  rmSync(placements[2].dir, { recursive: true });
  t.throws(() => helperCgroupJoin(cgroupsOf(placements), false), new RuntimeError(`join cgroup /c1: open ${placements[2].dir}: no such file or directory`));
});
