// The cgroupfs driver. How update writes limit files, on a v1 pids and memory hierarchy faked in a
// temp dir: values land in existing files; a file the kernel lacks is named in the error,
// or skipped when the write is optional.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { CgroupDriver } from '../../src/cgroups/driver';
import { cgroupDriverFromRecord } from '../../src/cgroups/factory';
import type { CgroupPlacement } from '../../src/cgroups/paths';

function fakeV1(t: Test, files: Record<string, string[]>): { cg: CgroupDriver; dirs: Record<string, string> } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'runts-cgwrites-'));
  t.teardown(() => rmSync(root, { recursive: true }));
  const dirs: Record<string, string> = {};
  const placements: CgroupPlacement[] = Object.entries(files).map(([controller, names]) => {
    const dir = path.join(root, controller, 'c1');
    mkdirSync(dir, { recursive: true });
    for (const name of names) writeFileSync(path.join(dir, name), '');
    dirs[controller] = dir;
    return { fstype: 'cgroup', subsystems: [controller], mountpoint: path.join(root, controller), cgroup: '/c1', dir };
  });
  return { cg: cgroupDriverFromRecord({ placements, created: [] }), dirs };
}

t.test('a limit is written into its file', async (t) => {
  const { cg, dirs } = fakeV1(t, { pids: ['pids.max'] });
  cg.update({ pids: { limit: 42 } });
  t.equal(readFileSync(path.join(dirs.pids, 'pids.max'), 'utf8'), '42');
});

t.test('a file the kernel lacks is named in the error, not created', async (t) => {
  const { cg, dirs } = fakeV1(t, { memory: ['memory.limit_in_bytes'] });
  t.throws(() => cg.update({ memory: { limit: 1 << 20, swappiness: 10 } }), {
    message: `linux.resources.memory.swappiness: ${path.join(dirs.memory, 'memory.swappiness')} does not exist (the kernel does not support it)`,
  });
  t.throws(() => readFileSync(path.join(dirs.memory, 'memory.swappiness')), { code: 'ENOENT' }, 'not created');
});

t.test('an optional file the kernel lacks is skipped', async (t) => {
  // hugetlb's rsvd limit came with Linux 5.7; without it only the plain limit is set.
  const { cg, dirs } = fakeV1(t, { hugetlb: ['hugetlb.2MB.limit_in_bytes'] });
  cg.update({ hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }] });
  t.equal(readFileSync(path.join(dirs.hugetlb, 'hugetlb.2MB.limit_in_bytes'), 'utf8'), String(4 << 20));
  t.throws(() => readFileSync(path.join(dirs.hugetlb, 'hugetlb.2MB.rsvd.limit_in_bytes')), { code: 'ENOENT' }, 'not created');
});
