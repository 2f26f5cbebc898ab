// The scene the crash-safety tests (crash-*.test.ts) share: a container whose runts can be
// SIGKILLed at a named step (RUNTS_TEST_CRASH_AT, src/container/crash-point.ts), and the
// checks that follow: what state says, what is left running, what delete removes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import {
  leakGuard,
  listCgroupDirs,
  listProcesses,
  makeBundle,
  REPO_ROOT,
  requireRoot,
  RUNTS_BIN,
  runtimeEnv,
  runts,
  runtsRoot,
  runtsToFiles,
  tempDir,
  uniqueId,
  waitFor,
  type RuntsResult,
} from '../lib';

/** Whether this test can run: as root, against runts itself (the crash points are runts's
 *  own; another runtime under RUNTS_BIN would simply not crash). */
export function canCrash(t: Test): boolean {
  if (!requireRoot(t)) return false;
  if (RUNTS_BIN === path.join(REPO_ROOT, 'bin', 'runts')) return true;
  t.plan(0, `RUNTS_BIN=${RUNTS_BIN}: the crash points (RUNTS_TEST_CRASH_AT) exist only in runts`);
  return false;
}

export interface Scene {
  root: string;
  id: string;
  bundle: string;
  /** runts's working directory: a helper it leaves behind inherits it, which gives it away. */
  cwd: string;
  /** runts with --root; crashAt sets RUNTS_TEST_CRASH_AT. Output goes through files (the init inherits stdio). */
  rt(args: string[], crashAt?: string): Promise<RuntsResult>;
}

/** A busybox container running `sleep`, with a user namespace and runtime hooks, so that
 *  create passes every crash point. */
export async function scene(t: Test): Promise<Scene> {
  leakGuard(t);
  const root = runtsRoot(t);
  const outDir = tempDir(t, 'out');
  const cwd = tempDir(t, 'cwd');
  const dir = tempDir(t, 'bundle');
  // The container's root is an unprivileged host uid: it must be able to reach the rootfs.
  fs.chmodSync(dir, 0o711);
  const { bundle } = await makeBundle(dir, {
    args: ['sleep', '1000'],
    config: (c) => {
      c.linux!.namespaces.push({ type: 'user' });
      c.linux!.uidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
      c.linux!.gidMappings = [{ containerID: 0, hostID: 300000, size: 65536 }];
      c.hooks = { prestart: [{ path: '/bin/true' }], createRuntime: [{ path: '/bin/true' }] };
    },
  });
  const id = uniqueId('crash');
  const rt = (args: string[], crashAt?: string) =>
    runtsToFiles(outDir, ['--root', root, ...args], { cwd, env: runtimeEnv(crashAt ? { RUNTS_TEST_CRASH_AT: crashAt } : {}) });
  return { root, id, bundle, cwd, rt };
}

export async function stateOf(s: Scene): Promise<RuntsResult & { json?: Record<string, any> }> {
  const r = await runts(['--root', s.root, 'state', s.id], { timeoutMs: 20_000 });
  return r.code === 0 ? { ...r, json: JSON.parse(r.stdout) } : r;
}

/** The init pid create recorded (state reports 0 for a stopped container). */
export function recordedInit(s: Scene): number {
  try {
    return JSON.parse(fs.readFileSync(path.join(s.root, s.id, 'state.json'), 'utf8')).initPid;
  } catch {
    return 0;
  }
}

/** Live (non-zombie) processes this scene's runts started: by working directory, container
 *  root, or cgroup. */
export function strays(s: Scene): string[] {
  return listProcesses()
    .filter((p) => !/^[ZX]/.test(p.state))
    .filter((p) => p.cwd === s.cwd || p.root.startsWith(s.bundle) || p.cgroup.includes(s.id))
    .map((p) => `${p.pid} (${p.state}) ${p.cmdline}`);
}

/** Waits until the helper and everything else the killed runts started are gone. */
export async function noStrays(t: Test, s: Scene, what: string): Promise<void> {
  await waitFor(() => strays(s).length === 0, 10_000, what).catch(() => {});
  t.same(strays(s), [], what);
}

/** delete (--force when asked) removes everything: state dir, cgroups, processes. */
export async function deletesAll(t: Test, s: Scene, force: boolean): Promise<void> {
  const init = recordedInit(s);
  const del = await runts(['--root', s.root, 'delete', ...(force ? ['--force'] : []), s.id], { timeoutMs: 30_000 });
  t.equal(del.code, 0, `delete${force ? ' --force' : ''}: ${del.stderr}`);
  t.notOk(fs.existsSync(path.join(s.root, s.id)), 'state dir removed');
  t.same(listCgroupDirs().filter((d) => d.includes(s.id)), [], 'cgroups removed');
  await noStrays(t, s, 'no process left');
  if (init) t.notOk(listProcesses().some((p) => p.pid === init && !/^[ZX]/.test(p.state) && p.cgroup.includes(s.id)), `init ${init} gone`);
  const again = await stateOf(s);
  t.match(again.stderr, /container does not exist/, 'state: the container is gone');
}

export function killedAt(t: Test, r: RuntsResult, point: string): void {
  t.equal(r.signal, 'SIGKILL', `runts was killed at ${point} (exit ${r.code}: ${r.stderr.trim()})`);
}

export async function created(t: Test, s: Scene): Promise<void> {
  const r = await s.rt(['create', '--bundle', s.bundle, s.id]);
  t.equal(r.code, 0, `create: ${r.stderr}`);
}

export async function running(t: Test, s: Scene): Promise<void> {
  await created(t, s);
  const r = await s.rt(['start', s.id]);
  t.equal(r.code, 0, `start: ${r.stderr}`);
}

/** create killed at `point`: what state says (`expected`), that the helper died with runts
 *  before the init reported created, and that delete --force removes everything. */
export function testCreateKilledAt(point: string, expected: 'missing' | 'stopped' | 'created'): void {
  t.test(`create killed at ${point}: state is ${expected}, delete --force removes everything`, async (t) => {
    if (!canCrash(t)) return;
    const s = await scene(t);
    killedAt(t, await s.rt(['create', '--bundle', s.bundle, s.id], point), point);
    // Before the init reports created it dies with runts (PDEATHSIG, or EOF on the sync socket).
    if (point !== 'create:created' && point !== 'create:state') await noStrays(t, s, 'the helper died with runts');
    const state = await stateOf(s);
    if (expected === 'missing') {
      t.equal(state.code, 1, 'state fails: no record yet');
      t.match(state.stderr, /container does not exist/);
    } else {
      t.equal(state.code, 0, `state: ${state.stderr}`);
      t.match(state.json, { id: s.id, status: expected, bundle: s.bundle });
      if (expected === 'stopped') {
        t.equal(state.json!.pid, 0, 'a stopped container has pid 0');
        const start = await s.rt(['start', s.id]);
        t.equal(start.code, 1, 'start refuses it');
        t.match(start.stderr, /cannot start a container that has stopped/);
      } else {
        t.ok(state.json!.pid > 0, 'created: the init pid');
      }
    }
    await deletesAll(t, s, true);
  });
}
