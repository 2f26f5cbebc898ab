// The stdio a container's process gets, by runc's rule: a foreground `run` or `exec`
// without a terminal gives it pipes owned by the container's root (so that a user
// namespace's root can reopen /dev/stdin, /dev/stdout, /dev/stderr), relayed binary-safe
// until EOF both ways; `run -d`, `create` and `exec -d` hand it the caller's own stdio.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, prepareForUserNs, requireRoot, runtimeEnv, runts, runtsRoot, runtsToFiles, RUNTS_BIN, tempDir, uniqueId, waitFor, type BundleConfig } from '../lib';

const USERNS_HOST_ID = 320000;
const USERNS = (c: BundleConfig): void => {
  c.root.readonly = false;
  c.linux!.namespaces.push({ type: 'user' });
  c.linux!.uidMappings = [{ containerID: 0, hostID: USERNS_HOST_ID, size: 65536 }];
  c.linux!.gidMappings = [{ containerID: 0, hostID: USERNS_HOST_ID, size: 65536 }];
};

/** A busybox bundle with a new user namespace whose root is USERNS_HOST_ID. */
async function userNsBundle(t: Test, args: string[]): Promise<string> {
  const made = await makeBundle(tempDir(t, 'bundle'), { args, config: USERNS });
  prepareForUserNs(made, USERNS_HOST_ID);
  return made.bundle;
}

interface BinaryResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** runts with piped stdio: `input` written to its stdin, which is then closed (null: left
 *  open until runts exits); output as bytes. */
function runtsBinary(args: string[], input: string | Buffer | null = ''): Promise<BinaryResult> {
  const child = spawn(RUNTS_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'], env: runtimeEnv() });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  child.stdin.on('error', () => undefined);
  if (input === null) child.on('exit', () => child.stdin.destroy());
  else child.stdin.end(input);
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killTimer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() });
    });
  });
}

const stateDirs = (root: string): string[] => (fs.existsSync(root) ? fs.readdirSync(root) : []);

// Reopens all three through /dev (which fails with EACCES on the caller's own stdio, owned
// by the host's root), reads a line through /dev/stdin and the rest, up to EOF, through fd 0.
const REOPEN_SCRIPT = 'echo out > /dev/stdout; echo err > /dev/stderr; read line < /dev/stdin; echo "got $line"; cat; echo "<eof>"; exit 7';
const REOPEN_INPUT = 'first\nsecond\nthird\n';
const REOPEN_OUTPUT = 'out\ngot first\nsecond\nthird\n<eof>\n';

const MIB4 = 4 * 1024 * 1024;
// 4 MiB of random bytes to stdout, their sha256 to stderr (computed inside the container).
const BINARY_SCRIPT = `head -c ${MIB4} /dev/urandom > /tmp/data && sha256sum < /tmp/data >&2 && cat /tmp/data`;

/** The output, exactly, against the checksum the container printed. */
function checkBinary(t: Test, r: BinaryResult): void {
  t.equal(r.code, 0, `exit status 0 (stderr: ${r.stderr.trim()})`);
  t.equal(r.stdout.length, MIB4, 'every byte arrives');
  const inside = /^([0-9a-f]{64})/m.exec(r.stderr)?.[1];
  t.equal(createHash('sha256').update(r.stdout).digest('hex'), inside, 'and unchanged (sha256 as computed inside)');
}

t.test('foreground run in a user namespace: its root reopens /dev/stdin, /dev/stdout, /dev/stderr', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const bundle = await userNsBundle(t, ['sh', '-c', REOPEN_SCRIPT]);
  const r = await runtsBinary(['--root', root, 'run', '-b', bundle, uniqueId()], REOPEN_INPUT);
  t.equal(r.code, 7, `the container's exit status (stderr: ${r.stderr.trim()})`);
  t.equal(r.stdout.toString(), REOPEN_OUTPUT, 'stdin reached it, with EOF at the end of ours');
  t.equal(r.stderr, 'err\n', 'stderr reached ours, and nothing else was said');
  t.same(stateDirs(root), [], 'the container is deleted');
});

t.test('foreground run in a user namespace: 4 MiB of binary output arrive intact', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const bundle = await userNsBundle(t, ['sh', '-c', BINARY_SCRIPT]);
  checkBinary(t, await runtsBinary(['--root', root, 'run', '-b', bundle, uniqueId()]));
  t.same(stateDirs(root), [], 'the container is deleted');
});

t.test('a container that never reads its stdin while it writes MiBs: no deadlock, every byte arrives', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', BINARY_SCRIPT],
    config: (c) => {
      c.root.readonly = false;
    },
  });
  // 4 MiB of input fill its stdin pipe many times over; it never reads a byte of it.
  checkBinary(t, await runtsBinary(['--root', root, 'run', '-b', made.bundle, uniqueId()], Buffer.alloc(MIB4, 'x')));
  t.same(stateDirs(root), [], 'the container is deleted');
});

t.test('the container closes its stdin: the rest of ours is dropped and run ends with it', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const made = await makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', 'exec 0<&-; sleep 0.2; echo done'] });
  const r = await runtsBinary(['--root', root, 'run', '-b', made.bundle, uniqueId()], Buffer.alloc(MIB4, 'x'));
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.toString(), 'done\n');
  t.equal(r.stderr, '', 'the broken stdin pipe is no error of ours');
});

t.test('our stdin never ends: run still ends when the container does', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const made = await makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', 'echo hi; exit 4'] });
  const r = await runtsBinary(['--root', root, 'run', '-b', made.bundle, uniqueId()], null);
  t.equal(r.code, 4, r.stderr);
  t.equal(r.stdout.toString(), 'hi\n');
  t.same(stateDirs(root), [], 'the container is deleted');
});

t.test('nobody reads our stdout any more: the container gets EPIPE (SIGPIPE) and run ends', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  // Not yes as the init: a PID namespace's init ignores SIGPIPE (no handler), only gets EPIPE.
  const made = await makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', 'yes; echo "yes: $?" >&2'] });
  const child = spawn(RUNTS_BIN, ['--root', root, 'run', '-b', made.bundle, uniqueId()], { stdio: ['ignore', 'pipe', 'pipe'], env: runtimeEnv() });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Close our end of runts's stdout after its first output.
  child.stdout.once('data', () => child.stdout.destroy());
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(killTimer);
  t.equal(code, 0, `run ends with the container's status (stderr: ${stderr.trim()})`);
  t.equal(stderr, `yes: ${128 + 13}\n`, 'yes was killed by SIGPIPE');
  t.same(stateDirs(root), [], 'the container is deleted');
});

t.test('a foreground run without a terminal loads neither net nor streams (compiling them costs 5-7 ms)', { skip: process.env.RUNTS_BIN !== undefined && 'about runts itself' }, async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const dir = tempDir(t, 'modules');
  const list = path.join(dir, 'modules.txt');
  const recorder = path.join(dir, 'record.js');
  fs.writeFileSync(recorder, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));`);
  const made = await makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', 'cat; echo hi'] });
  // NODE_OPTIONS set by env(1): tap adds its own hook to the NODE_OPTIONS of what a test spawns.
  const r = spawnSync('/usr/bin/env', [`NODE_OPTIONS=--require ${recorder}`, RUNTS_BIN, '--root', root, 'run', '-b', made.bundle, uniqueId()], {
    input: 'in\n',
    env: runtimeEnv(),
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'in\nhi\n', 'stdin and stdout relayed');
  const loaded = fs.readFileSync(list, 'utf8').split('\n');
  t.ok(loaded.includes('NativeModule fs'), 'the list is node\'s');
  for (const name of ['net', 'stream', 'internal/streams/readable']) t.notOk(loaded.includes(`NativeModule ${name}`), `${name} is not loaded`);
});

// runc >= 1.2 destroys the container (killing what is left in a shared PID namespace) only
// after the I/O has drained; Debian's runc 1.1 kills first.
const otherRuntime = process.env.RUNTS_BIN !== undefined && 'runc 1.1 kills a shared-PID-namespace container\'s leftovers before its output drains';

t.test('output written by a child after the init exits is still delivered (copied until EOF)', { skip: otherRuntime }, async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  // No pid namespace: the background child outlives the init and holds stdout.
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', '(sleep 1; echo late) & exit 5'],
    config: (c) => {
      c.linux!.namespaces = c.linux!.namespaces.filter((ns: { type: string }) => ns.type !== 'pid');
    },
  });
  const r = await runtsBinary(['--root', root, 'run', '-b', made.bundle, uniqueId()]);
  t.equal(r.code, 5, r.stderr);
  t.equal(r.stdout.toString(), 'late\n');
});

t.test('which stdio the process gets: pipes in the foreground, the caller\'s own with -d and create', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const dir = tempDir(t, 'out');
  const script = 'for fd in 0 1 2; do readlink /proc/self/fd/$fd; done';
  const bundle = (await makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', script] })).bundle;
  // runtsToFiles: our stdin is /dev/null, stdout and stderr are files.
  const fg = await runtsToFiles(dir, ['--root', root, 'run', '-b', bundle, uniqueId()]);
  t.equal(fg.code, 0, fg.stderr);
  t.match(fg.stdout, /^pipe:\[\d+\]\npipe:\[\d+\]\npipe:\[\d+\]\n$/, 'foreground run: three pipes');

  const id = uniqueId();
  const detached = await runtsToFiles(dir, ['--root', root, 'run', '-d', '-b', bundle, id]);
  t.equal(detached.code, 0, detached.stderr);
  const outFiles = () => fs.readdirSync(dir).filter((f) => f.endsWith('.1'));
  const latestOut = async (): Promise<string> =>
    waitFor(() => {
      const newest = outFiles().sort().at(-1)!;
      const text = fs.readFileSync(path.join(dir, newest), 'utf8');
      return text.split('\n').length > 3 ? text : '';
    }, 10_000, 'the detached container\'s output');
  const lines = (await latestOut()).trim().split('\n');
  t.equal(lines[0], '/dev/null', 'run -d: stdin is ours');
  t.match(lines[1], /\/out-\d+\.1$/, 'run -d: stdout is our stdout file');
  t.match(lines[2], /\/out-\d+\.2$/, 'run -d: stderr is our stderr file');
  t.equal((await runts(['--root', root, 'delete', '--force', id])).code, 0);

  const createdId = uniqueId();
  const created = await runtsToFiles(dir, ['--root', root, 'create', '-b', bundle, createdId]);
  t.equal(created.code, 0, created.stderr);
  t.equal((await runts(['--root', root, 'start', createdId])).code, 0);
  const createdLines = (await latestOut()).trim().split('\n');
  t.match(createdLines[1], /\/out-\d+\.1$/, 'create: stdout is the stdout create was given');
  t.equal((await runts(['--root', root, 'delete', '--force', createdId])).code, 0);
});

t.test('exec in a user namespace container: pipes in the foreground, the caller\'s stdio with -d', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const dir = tempDir(t, 'out');
  const bundle = await userNsBundle(t, ['sleep', '1000']);
  const id = uniqueId('exec');
  const run = await runtsToFiles(dir, ['--root', root, 'run', '-d', '-b', bundle, id]);
  t.equal(run.code, 0, `run -d: ${run.stderr}`);

  const r = await runtsBinary(['--root', root, 'exec', id, 'sh', '-c', REOPEN_SCRIPT], REOPEN_INPUT);
  t.equal(r.code, 7, `the process's exit status (stderr: ${r.stderr.trim()})`);
  t.equal(r.stdout.toString(), REOPEN_OUTPUT, 'its root reopens the pipes; stdin arrives with EOF');
  t.equal(r.stderr, 'err\n');

  checkBinary(t, await runtsBinary(['--root', root, 'exec', id, 'sh', '-c', BINARY_SCRIPT]));

  const pidFile = path.join(dir, 'exec.pid');
  const detached = await runtsToFiles(dir, ['--root', root, 'exec', '-d', '--pid-file', pidFile, id, 'sh', '-c', 'readlink /proc/self/fd/1']);
  t.equal(detached.code, 0, detached.stderr);
  const newest = fs.readdirSync(dir).filter((f) => f.endsWith('.1')).sort().at(-1)!;
  const text = await waitFor(() => fs.readFileSync(path.join(dir, newest), 'utf8'), 10_000, 'exec -d output');
  t.match(text, /\/out-\d+\.1\n$/, 'exec -d: stdout is our stdout file');
  t.equal((await runts(['--root', root, 'delete', '--force', id])).code, 0);
});
