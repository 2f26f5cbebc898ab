// The shim's task side driven directly, as the wire side will (no containerd): real bundles,
// the engine in this process, stdio through FIFOs, a logging binary, a log file and a terminal;
// exits, events in containerd's order, exec, kill, pause/resume, update, stats, OOM, rootfs
// layers, and a delete that leaves nothing behind (the leak guard checks state, cgroups, mounts).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { native } from '../../src/native';
import { ShimError, ShimErrorCode, TaskStatus, type CreateTaskRequest, type TaskEvent } from '../../src/shim/task-service';
import { cleanupContainer, ShimTasks } from '../../src/shim/tasks';
import { leakGuard, makeBundle, readMounts, requireRoot, runts, runtsRoot, tempDir, uniqueId, waitFor, type BundleConfig } from '../lib';

interface Scene {
  shim: ShimTasks;
  events: TaskEvent[];
  root: string;
  dir: string;
  /** A create request for a fresh busybox bundle running `args`. */
  request(args: string[], edit?: (c: BundleConfig) => void, extra?: Partial<CreateTaskRequest>): Promise<CreateTaskRequest>;
}

function scene(t: Test): Scene {
  leakGuard(t);
  const root = runtsRoot(t);
  const dir = tempDir(t, 'shim');
  const shim = new ShimTasks({ namespace: 'runts-test', root });
  const events: TaskEvent[] = [];
  shim.onEvent((e) => void events.push(e));
  t.teardown(async () => {
    // Orphans (a logging binary's children, SIGTERMed with it) are reaped after a grace period.
    await waitFor(() => childPids().every((pid) => !/\) Z /.test(readOptional(`/proc/${pid}/stat`) ?? '')), 5000, 'no zombie child');
    shim.close();
  });
  return {
    shim,
    events,
    root,
    dir,
    async request(args, edit, extra = {}) {
      const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args, config: edit });
      return { id: uniqueId('shim'), bundle, rootfs: [], terminal: false, stdin: '', stdout: '', stderr: '', checkpoint: '', ...extra };
    },
  };
}

function readOptional(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** This process's children (an orphan may be reparented to any of its threads). */
function childPids(): number[] {
  return fs.readdirSync('/proc/self/task').flatMap((tid) => (readOptional(`/proc/self/task/${tid}/children`) ?? '').split(' ').filter(Boolean).map(Number));
}

/** A FIFO at `dir/name` with a reader open (as containerd's client opens it before create);
 *  resolves to everything read once the shim closes its end. */
function readFifo(dir: string, name: string): { path: string; text: Promise<string> } {
  const file = path.join(dir, name);
  native().mkfifo(file, 0o600);
  const sock = new net.Socket({ fd: fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK), readable: true, writable: false });
  const chunks: Buffer[] = [];
  const text = new Promise<string>((resolve) => {
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString()));
    sock.on('error', () => resolve(Buffer.concat(chunks).toString()));
  });
  return { path: file, text };
}

function topics(events: TaskEvent[], id: string): string[] {
  return events.filter((e) => e.containerId === id).map((e) => e.topic);
}

async function rejectsWith(t: Test, p: Promise<unknown>, code: ShimErrorCode, what: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof ShimError, `${what}: a ShimError (${String(err)})`);
  t.equal((err as ShimError).code, code, `${what}: code ${ShimErrorCode[code]} (${(err as Error)?.message})`);
}

t.test('create, start, wait: exit status, stdout and stderr through FIFOs, events in order, delete leaves nothing', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  const out = readFifo(s.dir, 'stdout');
  const err = readFifo(s.dir, 'stderr');
  const req = await s.request(['sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 3'], undefined, { stdout: out.path, stderr: err.path });
  const { pid } = await s.shim.create(req);
  t.ok(pid > 0, 'create returns the init pid');
  t.equal((await s.shim.state({ id: req.id, execId: '' })).status, TaskStatus.Created, 'created');
  const list = await runts(['--root', s.root, 'list', '-q']);
  t.match(list.stdout, req.id, 'runts list sees the shim container');
  t.same(await s.shim.start({ id: req.id, execId: '' }), { pid }, 'start returns the same pid');
  const exit = await s.shim.wait({ id: req.id, execId: '' });
  t.equal(exit.exitStatus, 3, 'exit status 3');
  t.equal(exit.pid, pid);
  t.ok(exit.exitedAt.seconds > 0n, 'exitedAt is set');
  t.equal(await out.text, 'to-stdout\n', 'stdout through its FIFO');
  t.equal(await err.text, 'to-stderr\n', 'stderr through its FIFO');
  const state = await s.shim.state({ id: req.id, execId: '' });
  t.equal(state.status, TaskStatus.Stopped);
  t.equal(state.exitStatus, 3);
  const deleted = await s.shim.delete({ id: req.id, execId: '' });
  t.equal(deleted.exitStatus, 3, 'delete returns the exit');
  t.same(topics(s.events, req.id), ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete'], 'events in order');
  t.notOk(fs.existsSync(path.join(s.root, req.id)), 'the state directory is gone');
  t.ok(s.shim.isEmpty(), 'the shim is empty again');
  await rejectsWith(t, s.shim.state({ id: req.id, execId: '' }), ShimErrorCode.NotFound, 'state of a deleted task');
});

t.test('stdin through a FIFO, and a signal exit is 128+N; kill of a finished process is NotFound', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  const stdinPath = path.join(s.dir, 'stdin');
  native().mkfifo(stdinPath, 0o600);
  const out = readFifo(s.dir, 'stdout');
  const req = await s.request(['sh', '-c', 'read line; echo "got $line"; exec sleep 1000'], undefined, { stdin: stdinPath, stdout: out.path });
  await s.shim.create(req);
  await s.shim.start({ id: req.id, execId: '' });
  const w = fs.openSync(stdinPath, 'w');
  fs.writeSync(w, 'hello\n');
  fs.closeSync(w);
  await waitFor(() => fs.readFileSync(`/proc/${(s.events[0] as { pid: number }).pid}/cmdline`, 'utf8').startsWith('sleep'), 10_000, 'sleep runs');
  await s.shim.kill({ id: req.id, execId: '', signal: 9, all: false });
  const exit = await s.shim.wait({ id: req.id, execId: '' });
  t.equal(exit.exitStatus, 137, 'SIGKILL gives 137');
  t.equal(await out.text, 'got hello\n', 'stdin reached the process');
  await rejectsWith(t, s.shim.kill({ id: req.id, execId: '', signal: 9, all: false }), ShimErrorCode.NotFound, 'kill after exit');
  await s.shim.delete({ id: req.id, execId: '' });
});

t.test('binary:// logging and file:// logs', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  // The logging binary: fds 3 and 4 are the process's stdout and stderr, fd 5 says ready.
  const logger = path.join(s.dir, 'logger.sh');
  fs.writeFileSync(logger, '#!/bin/sh\ncat <&3 > "$2/out" & cat <&4 > "$2/err" & echo "$CONTAINER_ID $CONTAINER_NAMESPACE" > "$2/env"; printf x >&5; exec 5>&-; wait\n', { mode: 0o755 });
  const binReq = await s.request(['sh', '-c', 'echo logged-out; echo logged-err >&2'], undefined, {});
  const uri = `binary://${logger}?dir=${encodeURIComponent(s.dir)}`;
  binReq.stdout = uri;
  binReq.stderr = uri;
  await s.shim.create(binReq);
  await s.shim.start({ id: binReq.id, execId: '' });
  t.equal((await s.shim.wait({ id: binReq.id, execId: '' })).exitStatus, 0);
  await s.shim.delete({ id: binReq.id, execId: '' });
  t.equal(fs.readFileSync(path.join(s.dir, 'out'), 'utf8'), 'logged-out\n', 'the logging binary got stdout on fd 3');
  t.equal(fs.readFileSync(path.join(s.dir, 'err'), 'utf8'), 'logged-err\n', 'and stderr on fd 4');
  t.equal(fs.readFileSync(path.join(s.dir, 'env'), 'utf8'), `${binReq.id} runts-test\n`, 'with CONTAINER_ID and CONTAINER_NAMESPACE');

  const logFile = path.join(s.dir, 'logs', 'task.log');
  const fileReq = await s.request(['sh', '-c', 'echo file-out; echo file-err >&2'], undefined, { stdout: `file://${logFile}`, stderr: `file://${logFile}` });
  await s.shim.create(fileReq);
  await s.shim.start({ id: fileReq.id, execId: '' });
  await s.shim.wait({ id: fileReq.id, execId: '' });
  await s.shim.delete({ id: fileReq.id, execId: '' });
  t.same(fs.readFileSync(logFile, 'utf8').split('\n').sort(), ['', 'file-err', 'file-out'], 'file:// gets stdout and stderr');
});

t.test('a terminal: the pty master relayed to the FIFOs, ResizePty sets its size', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  const stdinPath = path.join(s.dir, 'stdin');
  native().mkfifo(stdinPath, 0o600);
  const out = readFifo(s.dir, 'stdout');
  const req = await s.request(
    ['sh', '-c', 'read x; stty size; tty'],
    (c) => {
      c.process!.terminal = true;
    },
    { terminal: true, stdin: stdinPath, stdout: out.path },
  );
  await s.shim.create(req);
  await s.shim.start({ id: req.id, execId: '' });
  await s.shim.resizePty({ id: req.id, execId: '', width: 123, height: 45 });
  const w = fs.openSync(stdinPath, 'w');
  fs.writeSync(w, 'go\n');
  fs.closeSync(w);
  t.equal((await s.shim.wait({ id: req.id, execId: '' })).exitStatus, 0);
  await s.shim.delete({ id: req.id, execId: '' });
  const text = await out.text;
  t.match(text, /45 123/, 'the size ResizePty set');
  t.match(text, /\/dev\/pts\/\d+/, 'the process has a pty');
});

t.test('exec: added, started, exit status and output, pids name it, kill and delete by exec id', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  const req = await s.request(['sleep', '1000']);
  const { pid } = await s.shim.create(req);
  await s.shim.start({ id: req.id, execId: '' });
  const out = readFifo(s.dir, 'exec-out');
  const base = { args: ['sh', '-c', 'echo from-exec; exit 5'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } };
  await s.shim.exec({ id: req.id, execId: 'e1', terminal: false, stdin: '', stdout: out.path, stderr: '', spec: base });
  await rejectsWith(t, s.shim.exec({ id: req.id, execId: 'e1', terminal: false, stdin: '', stdout: '', stderr: '', spec: base }), ShimErrorCode.AlreadyExists, 'the same exec id again');
  t.equal((await s.shim.state({ id: req.id, execId: 'e1' })).status, TaskStatus.Created);
  const started = await s.shim.start({ id: req.id, execId: 'e1' });
  t.ok(started.pid > 0 && started.pid !== pid, 'the exec process has its own pid');
  const exit = await s.shim.wait({ id: req.id, execId: 'e1' });
  t.equal(exit.exitStatus, 5, 'its exit status');
  t.equal(await out.text, 'from-exec\n', 'its stdout');
  await s.shim.delete({ id: req.id, execId: 'e1' });

  await s.shim.exec({ id: req.id, execId: 'e2', terminal: false, stdin: '', stdout: '', stderr: '', spec: { ...base, args: ['sleep', '1000'] } });
  const e2 = await s.shim.start({ id: req.id, execId: 'e2' });
  const pids = await s.shim.pids({ id: req.id });
  t.same(
    pids.find((p) => p.pid === e2.pid),
    { pid: e2.pid, execId: 'e2' },
    'pids names the exec process',
  );
  t.ok(
    pids.some((p) => p.pid === pid && p.execId === undefined),
    'and lists the init without an exec id',
  );
  await rejectsWith(t, s.shim.delete({ id: req.id, execId: 'e2' }), ShimErrorCode.FailedPrecondition, 'delete of a running exec');
  await s.shim.kill({ id: req.id, execId: 'e2', signal: 9, all: false });
  t.equal((await s.shim.wait({ id: req.id, execId: 'e2' })).exitStatus, 137);
  await s.shim.delete({ id: req.id, execId: 'e2' });

  // An exec process still running when the init goes: killed, its exit published first.
  await s.shim.exec({ id: req.id, execId: 'e3', terminal: false, stdin: '', stdout: '', stderr: '', spec: { ...base, args: ['sleep', '1000'] } });
  await s.shim.start({ id: req.id, execId: 'e3' });
  await s.shim.kill({ id: req.id, execId: '', signal: 9, all: false });
  t.equal((await s.shim.wait({ id: req.id, execId: '' })).exitStatus, 137);
  t.equal((await s.shim.wait({ id: req.id, execId: 'e3' })).exitStatus, 137, 'the exec process was killed');
  await s.shim.delete({ id: req.id, execId: '' });
  const exits = s.events.filter((e) => e.topic === '/tasks/exit').map((e) => (e as { id: string }).id);
  t.same(exits, ['e1', 'e2', 'e3', req.id], 'exec exits before the init exit');
  t.same(
    topics(s.events, req.id).filter((x) => x.startsWith('/tasks/exec')),
    ['/tasks/exec-added', '/tasks/exec-started', '/tasks/exec-added', '/tasks/exec-started', '/tasks/exec-added', '/tasks/exec-started'],
    'exec-added, then exec-started',
  );
});

t.test('kill all, pause and resume, update, stats', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  const req = await s.request(['sh', '-c', 'sleep 1000 & exec sleep 1000'], (c) => {
    c.linux!.resources = { ...c.linux!.resources, memory: { limit: 64 * 1024 * 1024 } };
  });
  await s.shim.create(req);
  await s.shim.start({ id: req.id, execId: '' });
  await s.shim.pause({ id: req.id });
  t.equal((await s.shim.state({ id: req.id, execId: '' })).status, TaskStatus.Paused, 'paused');
  await rejectsWith(t, s.shim.pause({ id: req.id }), ShimErrorCode.FailedPrecondition, 'pause of a paused task');
  await s.shim.resume({ id: req.id });
  t.equal((await s.shim.state({ id: req.id, execId: '' })).status, TaskStatus.Running, 'running again');
  await s.shim.update({ id: req.id, resources: { memory: { limit: 96 * 1024 * 1024 } }, annotations: {} });
  const stats = await s.shim.stats({ id: req.id });
  t.equal(stats.cgroupVersion, 1, 'a v1 (hybrid) host reports v1 metrics');
  t.equal((stats.data.memory as { usage: { limit: number } }).usage.limit, 96 * 1024 * 1024, 'the updated memory limit');
  t.ok((stats.data.pids as { current: number }).current >= 2, 'pids counted');
  const pids = await s.shim.pids({ id: req.id });
  t.ok(pids.length >= 2, 'two processes');
  await s.shim.kill({ id: req.id, execId: '', signal: 9, all: true });
  t.equal((await s.shim.wait({ id: req.id, execId: '' })).exitStatus, 137);
  await s.shim.delete({ id: req.id, execId: '' });
  t.same(topics(s.events, req.id), ['/tasks/create', '/tasks/start', '/tasks/paused', '/tasks/resumed', '/tasks/exit', '/tasks/delete']);
});

t.test('an OOM kill raises /tasks/oom before /tasks/exit, and Wait answers once containerd has it', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  // containerd's CRI plugin takes the exit from Wait: it must come after the OOM event is taken.
  let oomTaken = false;
  s.shim.onEvent((e) => {
    s.events.push(e);
    if (e.topic !== '/tasks/oom') return undefined;
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        oomTaken = true;
        resolve();
      }, 300),
    );
  });
  const limit = 16 * 1024 * 1024;
  const req = await s.request(['awk', 'BEGIN { s = "x"; while (1) s = s s }'], (c) => {
    c.linux!.resources = { ...c.linux!.resources, memory: { limit, swap: limit } };
  });
  await s.shim.create(req);
  await s.shim.start({ id: req.id, execId: '' });
  const exit = await s.shim.wait({ id: req.id, execId: '' });
  t.equal(exit.exitStatus, 137, 'killed by the OOM killer');
  t.ok(oomTaken, 'Wait answered after the OOM event was taken');
  await s.shim.delete({ id: req.id, execId: '' });
  t.same(topics(s.events, req.id), ['/tasks/create', '/tasks/start', '/tasks/oom', '/tasks/exit', '/tasks/delete']);
});

t.test('rootfs layers: an overlay mounted at BUNDLE/rootfs, gone after delete', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  const req = await s.request(['sh', '-c', 'echo layered > /tmp/x 2>/dev/null; cat /etc/layer-mark'], (c) => {
    c.root.readonly = false;
  });
  const lower = path.join(s.dir, 'lower');
  fs.renameSync(path.join(req.bundle, 'rootfs'), lower);
  fs.writeFileSync(path.join(lower, 'etc', 'layer-mark'), 'from-the-layer\n');
  const upper = path.join(s.dir, 'upper');
  const work = path.join(s.dir, 'work');
  fs.mkdirSync(upper);
  fs.mkdirSync(work);
  req.rootfs = [{ type: 'overlay', source: 'overlay', target: '', options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`] }];
  const out = readFifo(s.dir, 'stdout');
  req.stdout = out.path;
  await s.shim.create(req);
  const rootfs = path.join(req.bundle, 'rootfs');
  t.ok(
    readMounts().some((m) => m.mountPoint === rootfs && m.fsType === 'overlay'),
    'the overlay is mounted at BUNDLE/rootfs',
  );
  await s.shim.start({ id: req.id, execId: '' });
  t.equal((await s.shim.wait({ id: req.id, execId: '' })).exitStatus, 0);
  t.equal(await out.text, 'from-the-layer\n', 'the container runs on the layer');
  await s.shim.delete({ id: req.id, execId: '' });
  t.notOk(
    readMounts().some((m) => m.mountPoint === rootfs),
    'unmounted at delete',
  );
  t.ok(fs.existsSync(path.join(upper, 'tmp', 'x')), 'writes went to the upper dir');
});

t.test('mistakes: unknown ids, a second create, a second start, checkpoint, a delete of a running task', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  await rejectsWith(t, s.shim.start({ id: 'no-such', execId: '' }), ShimErrorCode.NotFound, 'start of an unknown id');
  await rejectsWith(t, s.shim.connect({ id: 'no-such' }), ShimErrorCode.NotFound, 'connect to an unknown id');
  const req = await s.request(['sleep', '1000']);
  await rejectsWith(t, s.shim.create({ ...req, checkpoint: '/x' }), ShimErrorCode.Unimplemented, 'checkpoint');
  const { pid } = await s.shim.create(req);
  t.same(await s.shim.connect({ id: req.id }), { taskPid: pid });
  await rejectsWith(t, s.shim.create(req), ShimErrorCode.AlreadyExists, 'create of the same id');
  await s.shim.start({ id: req.id, execId: '' });
  await rejectsWith(t, s.shim.start({ id: req.id, execId: '' }), ShimErrorCode.FailedPrecondition, 'start twice');
  await rejectsWith(t, s.shim.delete({ id: req.id, execId: '' }), ShimErrorCode.FailedPrecondition, 'delete of a running task');
  await rejectsWith(t, s.shim.wait({ id: req.id, execId: 'nope' }), ShimErrorCode.NotFound, 'wait for an unknown exec id');
  const bad = await s.request(['true'], (c) => {
    c.process!.cwd = 'relative';
  });
  await rejectsWith(t, s.shim.create(bad), ShimErrorCode.InvalidArgument, 'an invalid config.json');
  t.notOk(fs.existsSync(path.join(s.root, bad.id)), 'a failed create leaves no state');
  const noShimCgroup = await s.request(['true']);
  const options = { noPivotRoot: false, noNewKeyring: false, systemdCgroup: false, root: s.root, ioUid: 0, ioGid: 0, shimCgroup: `/runts-absent-${process.pid}` };
  await rejectsWith(t, s.shim.create({ ...noShimCgroup, options }), ShimErrorCode.FailedPrecondition, 'a shim_cgroup that does not exist');
  t.notOk(fs.existsSync(path.join(s.root, noShimCgroup.id)), 'and leaves no state');
  await s.shim.kill({ id: req.id, execId: '', signal: 9, all: false });
  await s.shim.wait({ id: req.id, execId: '' });
  await s.shim.delete({ id: req.id, execId: '' });
});

t.test('a created task deleted without being started', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  const req = await s.request(['true']);
  const { pid } = await s.shim.create(req);
  const exit = await s.shim.delete({ id: req.id, execId: '' });
  t.equal(exit.pid, pid);
  t.equal(exit.exitStatus, 137, 'its init was killed');
  t.same(topics(s.events, req.id), ['/tasks/create', '/tasks/exit', '/tasks/delete']);
});

t.test('cleanupContainer (containerd\'s delete after a dead shim): finds the root in BUNDLE/options.json, kills, removes, unmounts', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  const req = await s.request(['sleep', '1000']);
  const layer = path.join(s.dir, 'layer');
  fs.renameSync(path.join(req.bundle, 'rootfs'), layer);
  req.rootfs = [{ type: 'bind', source: layer, target: '', options: ['rbind'] }];
  req.options = { noPivotRoot: false, noNewKeyring: false, systemdCgroup: false, root: s.root, ioUid: 0, ioGid: 0, shimCgroup: '' };
  const { pid } = await s.shim.create(req);
  await s.shim.start({ id: req.id, execId: '' });
  t.same(JSON.parse(fs.readFileSync(path.join(req.bundle, 'options.json'), 'utf8')), { root: s.root }, "options.json with runc's field names");
  // Another namespace's default root would be wrong: the root must come from options.json.
  const exit = cleanupContainer({ namespace: 'elsewhere', id: req.id, bundle: req.bundle });
  t.equal(exit.exitStatus, 137, 'reported as SIGKILLed, as runc\'s shim does');
  t.notOk(fs.existsSync(path.join(s.root, req.id)), 'the state directory is gone');
  t.notOk(
    readMounts().some((m) => m.mountPoint === path.join(req.bundle, 'rootfs')),
    'BUNDLE/rootfs is unmounted',
  );
  t.equal((await s.shim.wait({ id: req.id, execId: '' })).pid, pid, 'the init was killed');
  await s.shim.delete({ id: req.id, execId: '' });
});

t.test('abandon (containerd lost the task and runs delete): the task is killed and forgotten, without events', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  const req = await s.request(['sleep', '1000']);
  const { pid } = await s.shim.create(req);
  await s.shim.start({ id: req.id, execId: '' });
  await s.shim.abandon(req.id);
  t.notOk(fs.existsSync(`/proc/${pid}`), 'its init is gone');
  t.ok(s.shim.isEmpty(), 'it no longer keeps the shim up');
  t.notOk(fs.existsSync(path.join(s.root, req.id)), 'its state is gone');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(topics(s.events, req.id), ['/tasks/create', '/tasks/start'], 'no exit or delete event: containerd publishes those itself');
  await s.shim.abandon(req.id);
  t.pass('a second abandon (a task the shim never had) does nothing');
});

t.test('sharing our pid namespace: what the init leaves is killed through the cgroup when it exits, and the orphans are reaped', async (t) => {
  if (!requireRoot(t)) return;
  const s = scene(t);
  const req = await s.request(['sh', '-c', 'sleep 1000 & sleep 0.2'], (c) => {
    c.linux!.namespaces = c.linux!.namespaces.filter((ns: { type: string }) => ns.type !== 'pid');
  });
  const { pid } = await s.shim.create(req);
  await s.shim.start({ id: req.id, execId: '' });
  t.equal((await s.shim.wait({ id: req.id, execId: '' })).exitStatus, 0);
  const ours = fs.readFileSync('/proc/self/cgroup', 'utf8');
  // Alive, a process of the container is in its cgroup; a zombie child would stay ours for good.
  await waitFor(
    () => childPids().every((c) => c === pid || (readOptional(`/proc/${c}/cgroup`) === ours && !/\) Z /.test(readOptional(`/proc/${c}/stat`) ?? ''))),
    10_000,
    'no child of the container left, not even a zombie',
  );
  t.pass('the orphaned sleep was killed and reaped');
  await s.shim.delete({ id: req.id, execId: '' });
});
