// `runts run` in the foreground and detached, terminals (a real pty, and --console-socket
// with a receiver that takes the pty master over SCM_RIGHTS), and --preserve-fds.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runtimeEnv, runts, runtsRoot, runtsToFiles, RUNTS_BIN, tempDir, uniqueId, waitFor, type BundleConfig, type RuntsResult } from '../lib';

const PYTHON = '/usr/bin/python3';

interface Started {
  child: ChildProcess;
  result: Promise<RuntsResult>;
}

/** Spawns a command with piped stdio (plus `extraFds` as fds 3, 4, ...) and collects its output. */
function start(file: string, args: string[], opts: { input?: string; extraFds?: number[]; keepStdinOpen?: boolean } = {}): Started {
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe', ...(opts.extraFds ?? [])], env: runtimeEnv() });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  child.stdin!.on('error', () => undefined);
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else if (!opts.keepStdinOpen) child.stdin!.end();
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const result = new Promise<RuntsResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      resolve({ code: code ?? 128, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), timedOut: false });
    });
  });
  return { child, result };
}

function setup(t: Test) {
  leakGuard(t);
  const root = runtsRoot(t);
  const outDir = tempDir(t, 'out');
  const rt = (...args: string[]) => runts(['--root', root, ...args]);
  const rtFiles = (...args: string[]) => runtsToFiles(outDir, ['--root', root, ...args]);
  return { root, rt, rtFiles };
}

const bundleWith = async (t: Test, args: string[], edit?: (c: BundleConfig) => void) =>
  (await makeBundle(tempDir(t, 'bundle'), { args, config: edit })).bundle;

const stateDirs = (root: string) => (fs.existsSync(root) ? fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : []);

t.test('foreground run: exit status, output, and the container is deleted afterwards', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const bundle = await bundleWith(t, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
  const id = uniqueId();
  const r = await rt('run', '--bundle', bundle, id);
  t.equal(r.code, 3, 'exit 3 → 3');
  t.equal(r.stdout, 'out\n');
  t.match(r.stderr, /^err$/m);
  const state = await rt('state', id);
  t.equal(state.code, 1);
  t.match(state.stderr, /does not exist/, 'deleted after a foreground run');
  t.same(stateDirs(root), []);

  const ok = await rt('run', '-b', await bundleWith(t, ['true']), uniqueId());
  t.equal(ok.code, 0, 'exit 0 → 0');
});

t.test('stdin reaches the container and its EOF ends it', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const bundle = await bundleWith(t, ['sh', '-c', 'cat; echo "<eof>"']);
  const r = await rt('run', '-b', bundle, uniqueId());
  t.equal(r.code, 0);
  t.equal(r.stdout, '<eof>\n', 'empty stdin: cat sees EOF at once');
  const withInput = await runts(['--root', root, 'run', '-b', bundle, uniqueId()], { input: 'line one\nline two\n' });
  t.equal(withInput.code, 0, withInput.stderr);
  t.equal(withInput.stdout, 'line one\nline two\n<eof>\n');
});

t.test('killed by signal N → 128+N', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const bundle = await bundleWith(t, ['sleep', '1000']);
  const id = uniqueId();
  const run = start(RUNTS_BIN, ['--root', root, 'run', '-b', bundle, id]);
  await waitFor(async () => JSON.parse((await rt('state', id)).stdout || '{}').status === 'running', 15_000, 'running');
  t.equal((await rt('kill', id, 'KILL')).code, 0);
  const r = await run.result;
  t.equal(r.code, 137, 'SIGKILL → 137');
  t.same(stateDirs(root), [], 'deleted afterwards');
});

t.test('signals sent to a foreground run are forwarded to the container', async (t) => {
  if (!requireRoot(t)) return;
  const { root } = setup(t);
  const shared = tempDir(t, 'shared');
  const bundle = await bundleWith(t, ['sh', '-c', "trap 'exit 42' TERM; trap 'echo usr1 > /x/usr1' USR1; echo > /x/ready; while :; do sleep 0.05; done"], (c) => {
    c.mounts.push({ destination: '/x', type: 'bind', source: shared, options: ['rbind', 'rw'] });
  });
  const id = uniqueId();
  const run = start(RUNTS_BIN, ['--root', root, 'run', '-b', bundle, id]);
  await waitFor(() => fs.existsSync(path.join(shared, 'ready')), 15_000, 'container ready');
  run.child.kill('SIGUSR1');
  await waitFor(() => fs.existsSync(path.join(shared, 'usr1')), 15_000, 'USR1 forwarded');
  run.child.kill('SIGTERM');
  const r = await run.result;
  t.equal(r.code, 42, `the container's TERM trap decides the exit status: ${r.stderr}`);
  t.same(stateDirs(root), []);
});

t.test('run -d returns while the container runs; --keep keeps a stopped container', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt, rtFiles } = setup(t);
  const id = uniqueId();
  const started = Date.now();
  const detached = await rtFiles('run', '-d', '--pid-file', path.join(tempDir(t, 'pid'), 'pid'), '-b', await bundleWith(t, ['sleep', '1000']), id);
  t.equal(detached.code, 0, detached.stderr);
  t.ok(Date.now() - started < 20_000, 'run -d returned');
  t.match(JSON.parse((await rt('state', id)).stdout), { status: 'running' });
  t.equal((await rt('delete', '--force', id)).code, 0);

  const kept = uniqueId();
  const r = await rt('run', '--keep', '-b', await bundleWith(t, ['sh', '-c', 'exit 4']), kept);
  t.equal(r.code, 4);
  t.match(JSON.parse((await rt('state', kept)).stdout), { id: kept, status: 'stopped', pid: 0 });
  t.equal((await rt('delete', kept)).code, 0);
  t.same(stateDirs(root), []);
});

/** Runs argv under a fresh pty (python's pty.fork); prints what the pty showed, exits with argv's status. */
const PTY_RUNNER = `
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b''
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

t.test('foreground run with process.terminal relays a real pty', async (t) => {
  if (!requireRoot(t)) return;
  const { root } = setup(t);
  const bundle = await bundleWith(t, ['sh', '-c', 'tty; echo hello from the tty; exit 5'], (c) => {
    c.process!.terminal = true;
  });
  const id = uniqueId();
  const r = await start(PYTHON, ['-c', PTY_RUNNER, RUNTS_BIN, '--root', root, 'run', '-b', bundle, id]).result;
  t.equal(r.code, 5, `exit status through the pty: ${r.stdout} ${r.stderr}`);
  t.match(r.stdout, /^\/dev\/pts\/\d+\r?$/m, 'tty names a /dev/pts device');
  t.match(r.stdout, /hello from the tty/);
  t.same(stateDirs(root), []);
});

/** Listens on a unix socket, takes one connection, receives the fds of one message, and reads the first fd until EIO/EOF. */
const CONSOLE_RECEIVER = `
import os, socket, sys, json
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
print('listening', flush=True)
conn, _ = srv.accept()
msg, fds, flags, _ = socket.recv_fds(conn, 4096, 16)
conn.close()
out = b''
if fds:
    while True:
        try:
            data = os.read(fds[0], 4096)
        except OSError:
            break
        if not data:
            break
        out += data
sys.stderr.write(json.dumps({'fds': len(fds), 'payload': len(msg), 'output': out.decode(errors='replace')}))
`;

t.test('create --console-socket hands exactly one pty master fd to the receiver', async (t) => {
  if (!requireRoot(t)) return;
  const { rt, rtFiles } = setup(t);
  const socketPath = path.join(tempDir(t, 'sock'), 'console.sock');
  const bundle = await bundleWith(t, ['sh', '-c', 'echo from-console; tty'], (c) => {
    c.process!.terminal = true;
  });
  const receiver = start(PYTHON, ['-c', CONSOLE_RECEIVER, socketPath]);
  await waitFor(() => fs.existsSync(socketPath), 15_000, 'receiver listening');
  const id = uniqueId();
  const create = await rtFiles('create', '--console-socket', socketPath, '-b', bundle, id);
  t.equal(create.code, 0, `create: ${create.stderr}`);
  if (create.code !== 0) receiver.child.kill();
  else t.equal((await rt('start', id)).code, 0);
  const got = await receiver.result;
  const report = JSON.parse(got.stderr || '{}');
  t.equal(report.fds, 1, 'exactly one fd');
  t.ok(report.payload >= 1 && report.payload <= 4095, 'a non-empty payload');
  t.match(report.output, /from-console/, 'the container output arrives on the pty master');
  t.match(report.output, /\/dev\/pts\/\d+/);
  t.equal((await rt('delete', '--force', id)).code, 0);
});

t.test('terminal: true with a detached create and no console socket is an error', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rtFiles } = setup(t);
  const bundle = await bundleWith(t, ['true'], (c) => {
    c.process!.terminal = true;
  });
  for (const args of [['create', '-b', bundle, uniqueId()], ['run', '-d', '-b', bundle, uniqueId()]]) {
    const r = await rtFiles(...args);
    t.equal(r.code, 1, args[0]);
    t.match(r.stderr, /console/, `${args.join(' ')}: names the missing console socket`);
  }
  t.same(stateDirs(root), [], 'nothing left behind');
});

t.test('--preserve-fds N: the container sees fds 0-2 and 3..3+N-1 only, with LISTEN_FDS and LISTEN_PID', async (t) => {
  if (!requireRoot(t)) return;
  const { root } = setup(t);
  const files = tempDir(t, 'fds');
  const open = (name: string) => fs.openSync(path.join(files, name), 'w');
  const extra = [open('three'), open('four'), open('leaked')];
  // /proc/1/fd: the shell's own fds (PID 1), not those of the ls listing them.
  const bundle = await bundleWith(t, ['sh', '-c', 'echo to-three >&3; echo to-four >&4; ls /proc/1/fd; echo "LISTEN=$LISTEN_FDS,$LISTEN_PID"']);
  try {
    const r = await start(RUNTS_BIN, ['--root', root, 'run', '--preserve-fds', '2', '-b', bundle, uniqueId()], { extraFds: extra }).result;
    t.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    t.same(lines.slice(0, -1).map(Number).sort(), [0, 1, 2, 3, 4], 'fds 0-4, not the leaked fd 5');
    t.equal(lines.at(-1), 'LISTEN=2,1');
    t.equal(fs.readFileSync(path.join(files, 'three'), 'utf8'), 'to-three\n', 'fd 3 is the caller fd 3');
    t.equal(fs.readFileSync(path.join(files, 'four'), 'utf8'), 'to-four\n');
  } finally {
    extra.forEach((fd) => fs.closeSync(fd));
  }

  // Without --preserve-fds, a caller's leaked fds never reach the container.
  const leak = [open('leak3')];
  const plain = await bundleWith(t, ['sh', '-c', 'ls /proc/1/fd; echo "LISTEN=$LISTEN_FDS"']);
  try {
    const r = await start(RUNTS_BIN, ['--root', root, 'run', '-b', plain, uniqueId()], { extraFds: leak }).result;
    t.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    t.same(lines.slice(0, -1).map(Number).sort(), [0, 1, 2], 'only stdio');
    t.equal(lines.at(-1), 'LISTEN=', 'no LISTEN_FDS without --preserve-fds');
  } finally {
    leak.forEach((fd) => fs.closeSync(fd));
  }
});
