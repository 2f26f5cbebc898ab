// End to end: containerd 1.6 driving runts's own shim (bin/containerd-shim-runts-v2, named by
// absolute path as --runtime) over ttrpc, the engine in-process. Scenarios that containerd's runc
// shim (io.containerd.runc.v2 with runc) handles the same way run against it too, as the
// reference. One private containerd serves the file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, onCleanup, REPO_ROOT, requireRoot, tempDir, uniqueId, waitFor } from '../lib';
import { containerdMissing, PrivateContainerd, runOnPty, runtsResidents, type CtrResult } from '../lib/containerd';
import { BUSYBOX_IMAGE_REF, busyboxOciArchive, findCommand, imageToolsMissing } from '../lib/oci-image';
import { defaultStateRoot } from '../../src/shim/tasks';
import { watch } from '../lib/watch';

const SHIM = path.join(REPO_ROOT, 'bin', 'containerd-shim-runts-v2');

interface Shim {
  name: string;
  runtime: string;
}
const RUNTS_SHIM: Shim = { name: 'runts shim', runtime: SHIM };
const RUNC_SHIM: Shim = { name: 'runc shim (reference)', runtime: 'io.containerd.runc.v2' };

/** The live shim processes of this containerd serving `id`: runc's shim of that container, or
 *  runts's resident of the namespace (which serves all its tasks). */
function shimPids(cd: PrivateContainerd, shim: Shim, id: string): number[] {
  if (shim === RUNTS_SHIM) return runtsResidents(cd.socket).filter((r) => r.namespace === cd.namespace).map((r) => r.pid);
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv.includes(cd.socket) && argv[argv.indexOf('-id') + 1] === id && !argv.includes('start') && !argv.includes('delete')) pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

if (requireRoot(t)) {
  const missing = containerdMissing() ?? imageToolsMissing() ?? (fs.existsSync(SHIM) ? undefined : `${SHIM} is not built (npm run build)`);
  if (missing) {
    t.plan(0, `skipped: ${missing}`);
  } else {
    let containerd: PrivateContainerd | undefined;
    t.before(async () => {
      containerd = await PrivateContainerd.start();
      const imported = await containerd.ctr(['images', 'import', busyboxOciArchive()]);
      if (imported.code !== 0) throw new Error(`ctr images import: ${imported.stderr}`);
    });
    t.teardown(async () => {
      const problems = (await containerd?.stop()) ?? [];
      if (problems.length > 0) throw new Error(`stopping the private containerd: ${problems.join('; ')}`);
    });
    const shims = findCommand('runc') && findCommand('containerd-shim-runc-v2') ? [RUNTS_SHIM, RUNC_SHIM] : [RUNTS_SHIM];
    for (const shim of shims) t.test(shim.name, async (t) => common(t, shim, () => containerd!));
    t.test('runts shim only', async (t) => runtsOnly(t, () => containerd!));
  }
}

function prepare(t: Test, cd: PrivateContainerd, shim: Shim) {
  leakGuard(t);
  const id = uniqueId('shim');
  // ctr hands runc's options (--runc-root) only to io.containerd.runc.v2: runts's shim keeps its
  // containers in its default root.
  const root = shim === RUNTS_SHIM ? defaultStateRoot(cd.namespace) : tempDir(t, 'root');
  watch.root(shim === RUNTS_SHIM ? root : path.join(root, cd.namespace));
  onCleanup(t, 'graceful', async () => {
    const problems = await cd.removeContainer(id);
    if (problems.length > 0) throw new Error(problems.join('; '));
  });
  onCleanup(t, 'remove', () => cd.removeShimSocket(id));
  const flags = ['--runtime', shim.runtime, ...(shim === RUNTS_SHIM ? [] : ['--runc-root', root]), '--fifo-dir', cd.fifoDir];
  const explain = (r: CtrResult) => ({ ctr: { ...r }, containerdLog: cd.logTail(20) });
  const taskOf = async (taskId = id) => {
    const line = (await cd.ctr(['task', 'ls'])).stdout.split('\n').find((l) => l.split(/\s+/)[0] === taskId);
    if (!line) return undefined;
    const [, pid, status] = line.trim().split(/\s+/);
    return { pid: Number(pid), status };
  };
  const containerExists = async (cid = id) => (await cd.ctr(['containers', 'ls', '--quiet'])).stdout.split('\n').includes(cid);
  return { id, root, flags, explain, taskOf, containerExists };
}

function common(t: Test, shim: Shim, getContainerd: () => PrivateContainerd): void {
  t.test('ctr run --rm: stdout, stderr, exit code; container gone after, and the shim as its kind does', async (t) => {
    const cd = getContainerd();
    const { id, flags, explain, containerExists } = prepare(t, cd, shim);
    const r = await cd.ctr(['run', '--rm', ...flags, BUSYBOX_IMAGE_REF, id, 'sh', '-c', 'echo out-$((6*7)); echo err-1 >&2; exit 3']);
    t.equal(r.code, 3, 'exit code', explain(r));
    t.equal(r.stdout, 'out-42\n');
    t.match(r.stderr, 'err-1');
    t.notOk(await containerExists(), 'container removed');
    const resident = shimPids(cd, shim, id);
    if (shim === RUNTS_SHIM) t.equal(resident.length, 1, "runts's resident stays for the namespace's next task");
    else await waitFor(() => shimPids(cd, shim, id).length === 0, 10_000, "runc's shim exits once its container is gone");
    const plain = await cd.ctr(['run', '--rm', ...flags, BUSYBOX_IMAGE_REF, id, 'true']);
    t.equal(plain.code, 0, 'ctr run --rm true', explain(plain));
    if (shim === RUNTS_SHIM) t.same(shimPids(cd, shim, id), resident, 'served by the same resident');
  });

  t.test('ctr run -t: the process gets a pty of the caller\'s size', async (t) => {
    if (!findCommand('python3')) return t.plan(0, 'python3 (the pty driver) is not installed');
    const cd = getContainerd();
    const { id, flags, explain, containerExists } = prepare(t, cd, shim);
    // ctr resizes the pty right after start: wait for the size rather than race it.
    const script = 'tty; [ -t 0 ] && echo stdin-is-tty; for i in $(seq 50); do [ "$(stty size)" = "33 101" ] && break; sleep 0.1; done; stty size; exit 5';
    const r = await runOnPty(cd.ctrCommand(['run', '--rm', '-t', ...flags, BUSYBOX_IMAGE_REF, id, 'sh', '-c', script]), cd.ctrEnv());
    t.equal(r.code, 5, 'exit code through the pty', explain(r));
    t.match(r.stdout, /^\/dev\/pts\/\d+\r?\r\n/, 'a pty is its terminal');
    t.match(r.stdout, 'stdin-is-tty');
    t.match(r.stdout, '33 101', 'the terminal size reached the container pty');
    t.notOk(await containerExists(), 'container removed');
  });

  t.test('run -d, exec, pause/resume, metrics, kill, delete', async (t) => {
    const cd = getContainerd();
    const { id, flags, explain, taskOf } = prepare(t, cd, shim);
    const run = await cd.ctr(['run', '-d', ...flags, BUSYBOX_IMAGE_REF, id, 'sleep', '1000']);
    t.equal(run.code, 0, 'ctr run -d', explain(run));
    t.equal((await taskOf())?.status, 'RUNNING');
    const exec = await cd.ctr(['task', 'exec', '--fifo-dir', cd.fifoDir, '--exec-id', `${id}-x`, id, 'sh', '-c', 'echo exec-$((1+1)); exit 4']);
    t.equal(exec.code, 4, 'exec exit code', explain(exec));
    t.equal(exec.stdout, 'exec-2\n');
    const paused = await cd.ctr(['task', 'pause', id]);
    t.equal(paused.code, 0, 'pause', explain(paused));
    t.equal((await taskOf())?.status, 'PAUSED');
    const resumed = await cd.ctr(['task', 'resume', id]);
    t.equal(resumed.code, 0, 'resume', explain(resumed));
    t.equal((await taskOf())?.status, 'RUNNING');
    const metrics = await cd.ctr(['task', 'metrics', '--format', 'json', id]);
    t.equal(metrics.code, 0, 'ctr task metrics', explain(metrics));
    t.match(metrics.stdout, /"pids"|"memory"|"cpu"/i, 'metrics decoded by ctr');
    const kill = await cd.ctr(['task', 'kill', '--signal', 'SIGKILL', id]);
    t.equal(kill.code, 0, 'kill', explain(kill));
    await waitFor(async () => (await taskOf())?.status === 'STOPPED', 10_000, 'STOPPED after SIGKILL');
    const deleted = await cd.ctr(['task', 'delete', id]);
    t.equal(deleted.code, 0, 'task delete', explain(deleted));
    t.match(deleted.stdout + deleted.stderr, /137|^$/, 'exit status 137 (128 + SIGKILL) if printed');
    t.equal((await cd.ctr(['containers', 'delete', id])).code, 0);
  });
}

function runtsOnly(t: Test, getContainerd: () => PrivateContainerd): void {
  t.test("a namespace's tasks share one resident, which waits idle for the next and then exits", async (t) => {
    // A containerd of its own, whose shims wait 2 s idle (the default is 60), with the shim on
    // its PATH: the runtime is named io.containerd.runts.v2, as users name an installed shim.
    const cd = await PrivateContainerd.start({ RUNTS_SHIM_IDLE_SECONDS: '2', PATH: `${path.dirname(SHIM)}:${process.env.PATH}` });
    onCleanup(t, 'graceful', async () => {
      const problems = await cd.stop();
      if (problems.length > 0) throw new Error(`stopping the idle test's containerd: ${problems.join('; ')}`);
    });
    t.equal((await cd.ctr(['images', 'import', busyboxOciArchive()])).code, 0, 'image imported');
    const a = prepare(t, cd, RUNTS_SHIM);
    a.flags[a.flags.indexOf(SHIM)] = 'io.containerd.runts.v2';
    const second = `${a.id}-b`;
    onCleanup(t, 'graceful', async () => {
      const problems = await cd.removeContainer(second);
      if (problems.length > 0) throw new Error(problems.join('; '));
    });
    for (const cid of [a.id, second]) {
      const run = await cd.ctr(['run', '-d', ...a.flags, BUSYBOX_IMAGE_REF, cid, 'sleep', '1000']);
      t.equal(run.code, 0, `ctr run -d ${cid}`, a.explain(run));
    }
    const [resident, ...more] = runtsResidents(cd.socket);
    t.same(more, [], 'one resident for both tasks');
    t.equal((await a.taskOf(second))?.status, 'RUNNING');
    for (const cid of [a.id, second]) {
      await cd.ctr(['task', 'kill', '--signal', 'SIGKILL', cid]);
      await waitFor(async () => (await a.taskOf(cid))?.status === 'STOPPED', 10_000, `${cid} STOPPED`);
      t.equal((await cd.ctr(['task', 'delete', cid])).code, 0, `task delete ${cid}`);
      t.equal((await cd.ctr(['containers', 'delete', cid])).code, 0);
    }
    t.ok(fs.existsSync(`/proc/${resident.pid}`), 'the resident outlives its last task');
    const next = await cd.ctr(['run', '--rm', ...a.flags, BUSYBOX_IMAGE_REF, a.id, 'true']);
    t.equal(next.code, 0, 'the next task', a.explain(next));
    t.same(runtsResidents(cd.socket).map((r) => r.pid), [resident.pid], 'is served by the same resident');
    await waitFor(() => !fs.existsSync(`/proc/${resident.pid}`), 10_000, 'the resident exits once idle for 2 s');
    t.notOk(fs.existsSync(resident.socket), 'and removes its socket');
    t.same(await cd.stop(), [], 'containerd stops cleanly');
  });

  t.test('containerd restarted: the shim keeps its task, containerd reconnects and controls it', async (t) => {
    // A containerd of its own, stopped by this test: the restarted daemon is a process the test
    // started, which the leak guard would count. (The cleanup is for a test that failed halfway.)
    const cd = await PrivateContainerd.start();
    onCleanup(t, 'graceful', async () => {
      const problems = await cd.stop();
      if (problems.length > 0) throw new Error(`stopping the restarted containerd: ${problems.join('; ')}`);
    });
    const imported = await cd.ctr(['images', 'import', busyboxOciArchive()]);
    t.equal(imported.code, 0, 'image imported', { stderr: imported.stderr });
    const { id, flags, explain, taskOf } = prepare(t, cd, RUNTS_SHIM);
    const run = await cd.ctr(['run', '-d', ...flags, BUSYBOX_IMAGE_REF, id, 'sleep', '1000']);
    t.equal(run.code, 0, 'ctr run -d', explain(run));
    const before = await taskOf();
    const [shimPid] = shimPids(cd, RUNTS_SHIM, id);
    await cd.restart();
    t.same(await taskOf(), before, 'the task is still there, RUNNING with the same pid');
    t.same(shimPids(cd, RUNTS_SHIM, id), [shimPid], 'served by the same shim');
    const exec = await cd.ctr(['task', 'exec', '--fifo-dir', cd.fifoDir, '--exec-id', `${id}-after`, id, 'sh', '-c', 'echo still-here']);
    t.equal(exec.code, 0, 'exec after the restart', explain(exec));
    t.equal(exec.stdout, 'still-here\n');
    const kill = await cd.ctr(['task', 'kill', '--signal', 'SIGKILL', id]);
    t.equal(kill.code, 0, 'kill after the restart', explain(kill));
    // The exit event reaches the new containerd (the shim reconnects to publish it).
    await waitFor(async () => (await taskOf())?.status === 'STOPPED', 10_000, 'STOPPED after SIGKILL');
    t.equal((await cd.ctr(['task', 'delete', id])).code, 0, 'task delete');
    t.equal((await cd.ctr(['containers', 'delete', id])).code, 0);
    // Stopped here: the leak guard looks before the cleanups run.
    t.same(await cd.stop(), [], 'the restarted containerd stops cleanly');
  });

  t.test('a SIGKILLed shim: containerd cleans its task up through `delete`', async (t) => {
    const cd = getContainerd();
    const { id, flags, explain, taskOf, containerExists } = prepare(t, cd, RUNTS_SHIM);
    const run = await cd.ctr(['run', '-d', ...flags, BUSYBOX_IMAGE_REF, id, 'sleep', '1000']);
    t.equal(run.code, 0, 'ctr run -d', explain(run));
    const initPid = (await taskOf())?.pid ?? -1;
    const [resident] = runtsResidents(cd.socket);
    t.ok(resident, 'the resident shim runs');
    process.kill(resident.pid, 'SIGKILL');
    // A killed resident leaves its socket (the next `start` would replace it).
    onCleanup(t, 'remove', () => fs.rmSync(resident.socket, { force: true }));
    // containerd notices the closed connection and runs `shim delete`, which kills the container.
    await waitFor(() => !fs.existsSync(`/proc/${initPid}`), 15_000, `container init ${initPid} gone`);
    await waitFor(async () => (await taskOf()) === undefined, 15_000, 'containerd dropped the task');
    t.ok(await containerExists(), 'the container record stays, as with runc');
    t.equal((await cd.ctr(['containers', 'delete', id])).code, 0);
  });
}
