// End to end under a real containerd (1.6, shim io.containerd.runc.v2): ctr drives the
// runtime through the shim exactly as in production (create/start/state/exec/ps/pause/
// resume/kill/delete, console sockets, stdio fifos). Each scenario runs against runts and,
// when installed, against runc as the reference, so a failure that only runts shows is
// runts's. One private containerd serves the whole file; every scenario removes its task,
// container, mounts and cgroups, and the daemon is stopped at the end.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, onCleanup, readMounts, OWN_RUNTS, requireRoot, runts, RUNTS_BIN, tempDir, uniqueId, waitFor } from '../lib';
import { containerdMissing, PrivateContainerd, runOnPty, type CtrResult } from '../lib/containerd';
import { BUSYBOX_IMAGE_REF, busyboxOciArchive, findCommand, imageToolsMissing } from '../lib/oci-image';
import { watch } from '../lib/watch';


interface Runtime {
  name: string;
  /** Absolute path handed to the shim with --runc-binary. */
  bin: string;
}

/** The runtime under test, then runc as the reference unless that is what is under test. */
function runtimesToTest(): Runtime[] {
  const underTest = { name: path.basename(RUNTS_BIN), bin: path.resolve(RUNTS_BIN) };
  const runc = findCommand('runc');
  if (!runc || fs.realpathSync(runc) === fs.realpathSync(underTest.bin)) return [underTest];
  return [underTest, { name: 'runc (reference)', bin: runc }];
}

/**
 * Whether the cgroup of `pid` is frozen: the v1 freezer's state, or the unified
 * hierarchy's cgroup.events (a runtime may use either on a hybrid host). ctr's
 * PAUSED only echoes the shim's bookkeeping, so the kernel's view is what counts.
 */
function isFrozen(pid: number): boolean {
  const read = (file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const unified = readMounts().find((m) => m.fsType === 'cgroup2')?.mountPoint;
  for (const line of read(`/proc/${pid}/cgroup`).split('\n')) {
    const [, controllers, cgroupPath] = line.match(/^\d+:([^:]*):(.*)$/) ?? [];
    if (controllers === undefined) continue;
    if (controllers.split(',').includes('freezer')) {
      if (read(path.join('/sys/fs/cgroup/freezer', cgroupPath, 'freezer.state')).trim() === 'FROZEN') return true;
    } else if (controllers === '' && unified) {
      if (/^frozen 1$/m.test(read(path.join(unified, cgroupPath, 'cgroup.events')))) return true;
    }
  }
  return false;
}

if (requireRoot(t)) {
  const missing = containerdMissing() ?? imageToolsMissing() ?? (findCommand('python3') ? undefined : 'python3 is not installed');
  if (missing) {
    t.plan(0, `skipped: ${missing}`);
  } else {
    let containerd: PrivateContainerd | undefined;
    t.before(async () => {
      const archive = busyboxOciArchive();
      containerd = await PrivateContainerd.start();
      const imported = await containerd.ctr(['images', 'import', archive]);
      if (imported.code !== 0) throw new Error(`ctr images import ${archive}: ${imported.stderr}`);
    });
    t.teardown(async () => {
      const problems = (await containerd?.stop()) ?? [];
      if (problems.length > 0) throw new Error(`stopping the private containerd: ${problems.join('; ')}`);
    });
    for (const runtime of runtimesToTest()) {
      t.test(runtime.name, async (t) => scenarios(t, runtime, () => containerd!));
    }
  }
}

function scenarios(t: Test, runtime: Runtime, getContainerd: () => PrivateContainerd): void {
  /** A scenario's container ID and the ctr flags that select the runtime, with a fresh --runc-root. */
  const prepare = (t: Test) => {
    const cd = getContainerd();
    leakGuard(t);
    const id = uniqueId('e2e');
    const root = tempDir(t, 'root');
    // The shim keeps the runtime's state in <--runc-root>/<namespace>/<id>.
    watch.root(path.join(root, cd.namespace));
    // The body deletes what it made; this catches a scenario that failed halfway.
    onCleanup(t, 'graceful', async () => {
      const problems = await cd.removeContainer(id);
      if (problems.length > 0) throw new Error(problems.join('; '));
    });
    // After the leak guard killed a stuck shim: its socket (a clean shim exit removes it).
    onCleanup(t, 'remove', () => cd.removeShimSocket(id));
    const runtimeFlags = ['--runc-binary', runtime.bin, '--runc-root', root, '--fifo-dir', cd.fifoDir];
    /** Diagnostics tap prints when an assertion fails: ctr's output and containerd's recent log. */
    const explain = (r: CtrResult) => ({ ctr: { ...r }, containerdLog: cd.logTail(15) });
    const taskOf = async (): Promise<{ pid: number; status: string } | undefined> => {
      const listed = await cd.ctr(['task', 'ls']);
      const line = listed.stdout.split('\n').find((l) => l.split(/\s+/)[0] === id);
      if (!line) return undefined;
      const [, pid, status] = line.trim().split(/\s+/);
      return { pid: Number(pid), status };
    };
    const containerExists = async () => (await cd.ctr(['containers', 'ls', '--quiet'])).stdout.split('\n').includes(id);
    /** SIGKILLs every process of the task, waits for it to stop, deletes task and container. */
    const killAndDelete = async (t: Test) => {
      const killed = await cd.ctr(['task', 'kill', '--all', '--signal', 'SIGKILL', id]);
      t.equal(killed.code, 0, 'ctr task kill --all --signal SIGKILL', explain(killed));
      await waitFor(async () => (await taskOf())?.status === 'STOPPED', 10_000, `task ${id} STOPPED after SIGKILL`);
      const deleted = await cd.ctr(['task', 'delete', id]);
      t.equal(deleted.code, 0, 'ctr task delete', explain(deleted));
      const removed = await cd.ctr(['containers', 'delete', id]);
      t.equal(removed.code, 0, 'ctr containers delete', explain(removed));
    };
    return { cd, id, root, runtimeFlags, explain, taskOf, containerExists, killAndDelete };
  };

  t.test('ctr run --rm relays stdout, stderr and the exit code, and removes the container', async (t) => {
    const { cd, id, runtimeFlags, explain, containerExists } = prepare(t);
    const r = await cd.ctr(['run', '--rm', ...runtimeFlags, BUSYBOX_IMAGE_REF, id, 'sh', '-c', 'echo out-$((6*7)); echo err-1 >&2; exit 3']);
    t.equal(r.code, 3, 'exit code of the container process', explain(r));
    t.equal(r.stdout, 'out-42\n');
    t.match(r.stderr, 'err-1');
    t.notOk(await containerExists(), 'the container is gone after --rm');
  });

  t.test('ctr run -d, task ps, exec, pause/resume, kill TERM then KILL --all, delete', async (t) => {
    const { cd, id, runtimeFlags, explain, taskOf, containerExists } = prepare(t);
    // pid 1 traps TERM (a pid 1 without a handler ignores it) and keeps a second process.
    const script = 'trap "touch /tmp/got-term" TERM; sleep 1000 & while :; do sleep 1 & wait $!; done';
    const run = await cd.ctr(['run', '-d', ...runtimeFlags, BUSYBOX_IMAGE_REF, id, 'sh', '-c', script]);
    t.equal(run.code, 0, 'ctr run -d', explain(run));
    const task = await taskOf();
    t.equal(task?.status, 'RUNNING', 'ctr task ls shows it RUNNING');
    const initPid = task?.pid ?? -1;
    t.ok(initPid > 0 && fs.existsSync(`/proc/${initPid}`), `task pid ${initPid} is a live host process`);

    // task ps goes through `<runtime> ps --format json`: host pids of every process.
    const psPids = async () => {
      const ps = await cd.ctr(['task', 'ps', id]);
      return ps.code === 0 ? ps.stdout.split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0])).filter((n) => n > 0) : [];
    };
    let pids: number[] = [];
    await waitFor(async () => (pids = await psPids()).length >= 3, 10_000, 'ctr task ps listing sh, sleep 1000 and sleep 1');
    t.ok(pids.includes(initPid), `ctr task ps lists the init pid ${initPid}: ${pids.join(' ')}`);

    const exec = await cd.ctr(['task', 'exec', '--fifo-dir', cd.fifoDir, '--exec-id', `${id}-x1`, id, 'sh', '-c', 'echo exec-$((1+1)) $$; exit 4']);
    t.equal(exec.code, 4, 'ctr task exec exit code', explain(exec));
    t.match(exec.stdout, /^exec-2 \d+\n$/, 'exec output relayed');
    t.not(exec.stdout.trim().split(' ')[1], '1', 'the exec process is not pid 1 of the container');

    const paused = await cd.ctr(['task', 'pause', id]);
    t.equal(paused.code, 0, 'ctr task pause', explain(paused));
    t.equal((await taskOf())?.status, 'PAUSED', 'PAUSED after pause');
    t.ok(isFrozen(initPid), "the container's cgroup is frozen");
    const resumed = await cd.ctr(['task', 'resume', id]);
    t.equal(resumed.code, 0, 'ctr task resume', explain(resumed));
    t.equal((await taskOf())?.status, 'RUNNING', 'RUNNING after resume');
    t.notOk(isFrozen(initPid), "the container's cgroup is thawed");

    const term = await cd.ctr(['task', 'kill', id]);
    t.equal(term.code, 0, 'ctr task kill (SIGTERM)', explain(term));
    await waitFor(async () => {
      const probe = await cd.ctr(['task', 'exec', '--fifo-dir', cd.fifoDir, '--exec-id', `${id}-probe-${Date.now()}`, id, 'test', '-e', '/tmp/got-term']);
      return probe.code === 0;
    }, 10_000, 'pid 1 ran its TERM trap');
    t.pass('SIGTERM reached pid 1 (its trap ran)');
    t.equal((await taskOf())?.status, 'RUNNING', 'a trapped SIGTERM leaves the task running');

    const kill = await cd.ctr(['task', 'kill', '--all', '--signal', 'SIGKILL', id]);
    t.equal(kill.code, 0, 'ctr task kill --all --signal SIGKILL', explain(kill));
    await waitFor(async () => (await taskOf())?.status === 'STOPPED', 10_000, 'task STOPPED after SIGKILL');
    await waitFor(() => pids.every((pid) => !fs.existsSync(`/proc/${pid}`)), 10_000, `processes ${pids.join(' ')} gone`);
    t.pass('every process the container had is gone');

    const deleted = await cd.ctr(['task', 'delete', id]);
    t.equal(deleted.code, 0, 'ctr task delete', explain(deleted));
    t.equal(await taskOf(), undefined, 'no task after delete');
    const removed = await cd.ctr(['containers', 'delete', id]);
    t.equal(removed.code, 0, 'ctr containers delete', explain(removed));
    t.notOk(await containerExists(), 'the container is gone');
  });

  t.test("runts validate --host and explain accept the bundle containerd's shim made (issue #14)", async (t) => {
    const { cd, id, runtimeFlags, explain, killAndDelete } = prepare(t);
    const run = await cd.ctr(['run', '-d', ...runtimeFlags, BUSYBOX_IMAGE_REF, id, 'sleep', '1000']);
    t.equal(run.code, 0, 'ctr run -d', explain(run));
    // The shim's bundle: <state>/io.containerd.runtime.v2.task/<namespace>/<id>.
    const bundle = path.join(cd.base, 'state', 'io.containerd.runtime.v2.task', cd.namespace, id);
    t.ok(fs.existsSync(path.join(bundle, 'config.json')), `containerd's bundle ${bundle}`);
    const validated = await runts(['validate', '--host', '--format', 'json', '-b', bundle], { wrap: OWN_RUNTS });
    t.equal(validated.code, 0, `validate: ${validated.stdout}${validated.stderr}`);
    t.match(JSON.parse(validated.stdout), { valid: true, host: true, errors: 0 });
    const explained = await runts(['explain', '--format', 'json', '-b', bundle, id], { wrap: OWN_RUNTS });
    t.equal(explained.code, 0, `explain: ${explained.stderr}`);
    t.same(JSON.parse(explained.stdout).plan.process.args, ['sleep', '1000'], 'the process containerd asked for');
    await killAndDelete(t);
  });

  t.test('ctr run -t gives the process a pty of the caller terminal size', async (t) => {
    const { cd, id, runtimeFlags, explain, containerExists } = prepare(t);
    // ctr resizes the pty right after start: wait for the size rather than race it.
    const script = 'tty; [ -t 0 ] && echo stdin-is-tty; for i in $(seq 50); do [ "$(stty size)" = "33 101" ] && break; sleep 0.1; done; stty size; exit 5';
    const r = await runOnPty(cd.ctrCommand(['run', '--rm', '-t', ...runtimeFlags, BUSYBOX_IMAGE_REF, id, 'sh', '-c', script]), cd.ctrEnv());
    t.equal(r.code, 5, 'exit code through the pty', explain(r));
    t.match(r.stdout, /^\/dev\/pts\/\d+\r?\r\n/, 'the process has a pty as its terminal');
    t.match(r.stdout, 'stdin-is-tty');
    t.match(r.stdout, '33 101', 'the terminal size reached the container pty');
    t.notOk(await containerExists(), 'the container is gone after --rm');
  });

  t.test('ctr task exec -t gives the exec process its own pty', async (t) => {
    const { cd, id, runtimeFlags, explain, killAndDelete } = prepare(t);
    const run = await cd.ctr(['run', '-d', ...runtimeFlags, BUSYBOX_IMAGE_REF, id, 'sleep', '1000']);
    t.equal(run.code, 0, 'ctr run -d', explain(run));
    const script = 'tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-tty; exit 6';
    const r = await runOnPty(cd.ctrCommand(['task', 'exec', '-t', '--fifo-dir', cd.fifoDir, '--exec-id', `${id}-tty`, id, 'sh', '-c', script]), cd.ctrEnv());
    t.equal(r.code, 6, 'exit code through the pty', explain(r));
    t.match(r.stdout, /^\/dev\/pts\/\d+\r?\r\n/, 'the exec process has a pty as its terminal');
    t.match(r.stdout, 'stdio-is-tty');
    await killAndDelete(t);
  });

  t.test('a failing create shows the runtime error in ctr and leaves nothing', async (t) => {
    const { cd, id, runtimeFlags, explain, containerExists } = prepare(t);
    const r = await cd.ctr(['run', '--rm', ...runtimeFlags, BUSYBOX_IMAGE_REF, id, '/no-such-command']);
    t.not(r.code, 0, 'ctr run fails', explain(r));
    t.match(r.stderr, 'OCI runtime create failed', 'the shim reports a create failure');
    // Only the runtime knows this: the shim copies its last error from <bundle>/log.json.
    t.match(r.stderr, /\/no-such-command.*no such file or directory/, "the runtime's own message reaches ctr");
    t.notOk(await containerExists(), 'no container left');
  });

  t.test('piped stdin reaches the container and its EOF propagates', async (t) => {
    const { cd, id, runtimeFlags, explain, containerExists } = prepare(t);
    const script = 'while read line; do echo "got:$line"; done; echo EOF-seen';
    const proc = cd.spawnCtr(['run', '--rm', ...runtimeFlags, BUSYBOX_IMAGE_REF, id, 'sh', '-c', script]);
    proc.child.stdin?.write('one\n');
    // ctr closes the task's stdin on EOF only once the task exists: end stdin after the echo.
    await waitFor(() => proc.output().includes('got:one\n'), 20_000, 'the first line echoed back').catch(() => {});
    proc.child.stdin?.end('two\n');
    const r = await proc.result;
    t.equal(r.code, 0, 'ctr run exit code', explain(r));
    t.equal(r.stdout, 'got:one\ngot:two\nEOF-seen\n', 'both lines, then EOF');
    t.notOk(await containerExists(), 'the container is gone after --rm');
  });
}
