// RuncOptions.shim_cgroup (src/shim/shim-cgroup.ts): the shim joins that cgroup in every
// hierarchy that has it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Hierarchy } from '../../src/cgroups/hierarchy';
import { joinShimCgroup } from '../../src/shim/shim-cgroup';
import { leakGuard, requireRoot, tempDir, uniqueId } from '../lib';

const hierarchy = (mountpoint: string, subsystems: string[]): Hierarchy => ({ fstype: subsystems.length ? 'cgroup' : 'cgroup2', mountpoint, mountRoot: '/', subsystems, cgroup: '/' });

t.test('the pid goes to cgroup.procs of each hierarchy that has the cgroup; none is an error', async (t) => {
  const root = tempDir(t, 'cgroups');
  const [cpu, pids, unified] = ['cpu', 'pids', 'unified'].map((name) => path.join(root, name));
  for (const dir of [path.join(cpu, 'shims'), path.join(unified, 'shims'), pids]) fs.mkdirSync(dir, { recursive: true });
  for (const dir of [path.join(cpu, 'shims'), path.join(unified, 'shims')]) fs.writeFileSync(path.join(dir, 'cgroup.procs'), '');
  const hierarchies = [hierarchy(cpu, ['cpu']), hierarchy(pids, ['pids']), hierarchy(unified, [])];
  joinShimCgroup('/shims', 4242, hierarchies);
  t.equal(fs.readFileSync(path.join(cpu, 'shims', 'cgroup.procs'), 'utf8'), '4242');
  t.equal(fs.readFileSync(path.join(unified, 'shims', 'cgroup.procs'), 'utf8'), '4242');
  t.same(fs.readdirSync(pids), [], 'a hierarchy without it is left alone');
  t.throws(() => joinShimCgroup('/absent', 4242, hierarchies), { message: 'shim_cgroup "/absent": no such cgroup in any hierarchy' });
});

t.test('a real process moves into a real cgroup', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const cgroup = `/${uniqueId('shimcg')}`;
  const dir = path.join('/sys/fs/cgroup/pids', cgroup);
  if (!fs.existsSync('/sys/fs/cgroup/pids/cgroup.procs')) return t.plan(0, 'skipped: no v1 pids hierarchy here (the v2 case is the same write)');
  fs.mkdirSync(dir);
  const sleeper = spawn('sleep', ['60']);
  const exited = new Promise<void>((resolve) => sleeper.once('exit', () => resolve()));
  t.teardown(async () => {
    sleeper.kill('SIGKILL');
    await exited;
    fs.rmdirSync(dir);
  });
  joinShimCgroup(cgroup, sleeper.pid!);
  t.match(fs.readFileSync(`/proc/${sleeper.pid}/cgroup`, 'utf8'), new RegExp(`:pids:${cgroup}$`, 'm'));
});
