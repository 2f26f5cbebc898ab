// Security rule 13 (SECURITY.md): everything is killed through the cgroup (cgroup.kill on
// v2; freeze, signal, thaw on v1) when the PID namespace is shared or on delete --force.
// The containers share the host's PID namespace and leave orphans behind that respawn each
// other: killing only the init's process tree, or killing members one by one while the
// others still run, leaves some alive.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { CgroupRecord } from '../../src/cgroups/driver';
import { cgroupDriverFromRecord } from '../../src/cgroups/factory';
import { makeBundle, onCleanup, requireRoot, tempDir, uniqueId, waitFor } from '../lib';
import { setup, stateOf, type Rt } from '../fixtures/security/helpers';

const SIGKILL = 9;
const PAIRS = 6;

// One pair: a victim (sleep, holding a FIFO's write end) and, started after it (so with a
// higher pid, killed later), a watcher that starts a new pair the moment the victim dies.
const PAIR_SCRIPT = `sleep 1000 > "$1" &
sh -c 'cat "$1" > /dev/null; exec sh /pair.sh "$1"' pair "$1" &
`;

/** A detached container in the host's PID namespace, running PAIRS orphaned pairs. */
async function startRespawner(t: Test, root: string, rt: Rt): Promise<{ id: string; cgroups: CgroupRecord; members: () => number[] }> {
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', `for i in $(seq ${PAIRS}); do mkfifo /dev/shm/f$i; sh /pair.sh /dev/shm/f$i; done; exec sleep 1000`],
    config: (c) => {
      c.linux!.namespaces = c.linux!.namespaces.filter((ns: { type: string }) => ns.type !== 'pid');
      // A bound on what the respawning may cost the host.
      c.linux!.resources = { ...c.linux!.resources, pids: { limit: 64 } };
    },
  });
  fs.writeFileSync(path.join(made.rootfs, 'pair.sh'), PAIR_SCRIPT);
  const id = uniqueId('kill');
  const run = await rt('run', '-d', '--bundle', made.bundle, id);
  t.equal(run.code, 0, `run -d: ${run.stderr}`);
  const state = await stateOf(rt, id);
  t.ok(state.pid > 1, 'the init has a host pid (shared PID namespace)');
  const record = JSON.parse(fs.readFileSync(path.join(root, id, 'state.json'), 'utf8'));
  const cgroups = record.cgroups as CgroupRecord;
  const members = () => cgroupDriverFromRecord(cgroups).pids();
  // Should the runtime fail, respawning pairs would outrun the leak guard's cleanup: stop them
  // here, without the code under test (the leaks are reported before this runs).
  const freezer = cgroups.placements.find((p) => p.fstype === 'cgroup' && p.subsystems.includes('freezer'));
  if (freezer) onCleanup(t, 'graceful', () => freezeAndKill(freezer.dir));
  // The init, and per pair the victim, the watcher and its cat.
  await waitFor(() => members().length >= 1 + 3 * PAIRS, 10_000, 'every pair running');
  return { id, cgroups, members };
}

function freezeAndKill(dir: string): void {
  if (!fs.existsSync(path.join(dir, 'freezer.state'))) return;
  fs.writeFileSync(path.join(dir, 'freezer.state'), 'FROZEN');
  for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  fs.writeFileSync(path.join(dir, 'freezer.state'), 'THAWED');
}

const alive = (pid: number): boolean => {
  try {
    // A zombie still answers kill 0: look at its state.
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

t.test('rule 13: delete --force kills the orphans of a container sharing the host PID namespace', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const { id, members } = await startRespawner(t, root, rt);
  const before = members();
  const del = await rt('delete', '--force', id);
  t.equal(del.code, 0, `delete --force: ${del.stderr}`);
  await waitFor(() => before.every((pid) => !alive(pid)), 5_000, 'every member dead').catch(() => undefined);
  t.same(before.filter(alive), [], 'none of the processes that were in the cgroup is alive');
});

t.test('rule 13: a stopped container whose orphans live on is emptied by delete', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const { id, members } = await startRespawner(t, root, rt);
  const kill = await rt('kill', id, 'KILL');
  t.equal(kill.code, 0, `kill the init only: ${kill.stderr}`);
  await waitFor(async () => (await stateOf(rt, id)).status === 'stopped', 5_000, 'stopped');
  const orphans = members();
  t.ok(orphans.length >= 3 * PAIRS, `the orphans outlive the init (${orphans.length} in the cgroup)`);
  const del = await rt('delete', id);
  t.equal(del.code, 0, `delete: ${del.stderr}`);
  await waitFor(() => orphans.every((pid) => !alive(pid)), 5_000, 'every orphan dead').catch(() => undefined);
  t.same(orphans.filter(alive), [], 'none is alive');
});

t.test('rule 13, v1: one freeze-signal-thaw pass over the v1 hierarchies kills every member', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const { id, cgroups } = await startRespawner(t, root, rt);
  // The same container seen through its v1 hierarchies only, as on a host without cgroup2:
  // SIGKILL then goes through the v1 freezer instead of cgroup.kill.
  const v1Only = cgroupDriverFromRecord({ placements: cgroups.placements.filter((p) => p.fstype === 'cgroup'), created: [] });
  if (!v1Only.canFreeze()) return t.plan(0, 'no v1 freezer hierarchy on this host');
  const freezer = cgroups.placements.find((p) => p.fstype === 'cgroup' && p.subsystems.includes('freezer'))!;
  const before = v1Only.pids();
  v1Only.signalAll(SIGKILL);
  t.equal(fs.readFileSync(path.join(freezer.dir, 'freezer.state'), 'utf8').trim(), 'THAWED', 'thawed again after the signal');
  // One pass: a member that forked while its siblings were being killed would survive it.
  const emptied = await waitFor(() => v1Only.pids().length === 0, 5_000, 'the cgroup empty').catch(() => false);
  t.ok(emptied, `the cgroup is empty after one pass (left: ${v1Only.pids().join(' ')})`);
  t.same(before.filter(alive), [], 'every process that was in it is dead');
  const del = await rt('delete', '--force', id);
  t.equal(del.code, 0, `delete --force: ${del.stderr}`);
});
