// Errors from the init helper reach the user: the failing syscall (or step), the path and
// the errno text, as the last "level":"error" line of a JSON --log, as a text log line on
// stderr without --log, and with exit status 1 (255 for an exec that cannot start).
// Nothing is left behind.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { RUNTS_BIN, leakGuard, makeBundle, requireRoot, runtimeEnv, runts, runtsRoot, runtsToFiles, tempDir, uniqueId, type BundleConfig, type RuntsResult } from '../lib';

interface LogLine {
  level: string;
  msg: string;
  time: string;
}

function lastError(logFile: string): LogLine | undefined {
  const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
  return lines.filter((l) => l.level === 'error').at(-1);
}

/** The message of the text-format error line runts printed on stderr. */
function textError(stderr: string): string | undefined {
  const m = /^time="?[^ "]+"? level=error msg=("(?:[^"\\]|\\.)*"|\S+)$/m.exec(stderr);
  if (!m) return undefined;
  return m[1].startsWith('"') ? (JSON.parse(m[1]) as string) : m[1];
}

/** Checks one failed runts call: exit status, the JSON log's error line, the plain stderr copy. */
function reported(t: Test, r: RuntsResult, logFile: string, code: number, expected: RegExp): void {
  t.equal(r.code, code, `exit ${code}`);
  const line = lastError(logFile);
  t.match(line, { level: 'error', msg: expected, time: /Z$/ }, `JSON log: ${line?.msg}`);
  t.match(r.stderr, expected, 'stderr has the message too');
}

// A failure in the init, what its message must say (syscall or step, path, errno text).
const createFailures: [string, (c: BundleConfig, dir: string) => void, (dir: string) => RegExp][] = [
  [
    'a missing executable',
    (c) => {
      c.process!.args = ['/no-such-program'];
    },
    () => /exec: "\/no-such-program": stat \/no-such-program: no such file or directory/,
  ],
  [
    'a cwd that is a file',
    (c) => {
      c.process!.cwd = '/bin/busybox';
    },
    () => /chdir to cwd \("\/bin\/busybox"\) set in config\.json failed: not a directory/,
  ],
  [
    'a bind mount of a missing source',
    (c, dir) => {
      c.mounts.push({ destination: '/mnt', type: 'bind', source: path.join(dir, 'missing'), options: ['bind'] });
    },
    (dir) => new RegExp(`error mounting "${dir}/missing" to rootfs at "/mnt": stat ${dir}/missing: no such file or directory`),
  ],
  [
    'a first mount the kernel refuses',
    (c) => {
      c.mounts.unshift({ destination: '/mnt', type: 'tmpfs', source: 'tmpfs', options: ['size=lots'] });
    },
    () => /mount tmpfs on \S+\/mnt: invalid argument/,
  ],
  [
    'a sysctl that does not exist',
    (c) => {
      c.linux!.sysctl = { 'net.ipv4.no_such_key': '1' };
    },
    () => /open sysctl net\.ipv4\.no_such_key \(\/proc\/sys\/net\/ipv4\/no_such_key\): no such file or directory/,
  ],
  [
    'a sysctl value the kernel refuses',
    (c) => {
      c.linux!.sysctl = { 'kernel.shm_rmid_forced': 'abc' };
    },
    () => /write sysctl kernel\.shm_rmid_forced = abc \(\/proc\/sys\/kernel\/shm_rmid_forced\): invalid argument/,
  ],
];

for (const [what, edit, expected] of createFailures) {
  t.test(`create with ${what}: the init's error is reported, exit 1, nothing left`, async (t) => {
    if (!requireRoot(t)) return;
    leakGuard(t);
    const root = runtsRoot(t);
    const dir = tempDir(t, 'err');
    const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['true'], config: (c) => edit(c, dir) });
    const id = uniqueId('err');
    const logFile = path.join(dir, 'log.json');
    const json = await runtsToFiles(dir, ['--root', root, '--log', logFile, '--log-format', 'json', 'create', '--bundle', bundle, id]);
    reported(t, json, logFile, 1, expected(dir));
    const text = await runtsToFiles(dir, ['--root', root, 'create', '--bundle', bundle, id]);
    t.equal(text.code, 1, 'exit 1 with a text log');
    t.match(textError(text.stderr), expected(dir), `text log line: ${text.stderr.trim()}`);
    t.notOk(fs.existsSync(path.join(root, id)), 'no state dir');
    t.match((await runts(['--root', root, 'state', id])).stderr, /container does not exist/);
  });
}

t.test('exec failures in the init are reported with exit 255', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const dir = tempDir(t, 'err');
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'] });
  const id = uniqueId('err');
  t.equal((await runtsToFiles(dir, ['--root', root, 'create', '--bundle', bundle, id])).code, 0, 'create');
  t.equal((await runtsToFiles(dir, ['--root', root, 'start', id])).code, 0, 'start');
  const logFile = path.join(dir, 'log.json');
  const missing = await runts(['--root', root, '--log', logFile, '--log-format', 'json', 'exec', id, '/no-such-program']);
  reported(t, missing, logFile, 255, /exec failed: unable to start container process: exec: "\/no-such-program": stat \/no-such-program: no such file or directory/);
  const cwd = await runts(['--root', root, 'exec', '--cwd', '/no-such-dir', id, 'true']);
  t.equal(cwd.code, 255, 'exit 255 with a text log');
  t.match(textError(cwd.stderr), /exec failed: unable to start container process: chdir to cwd \("\/no-such-dir"\) set in config\.json failed: no such file or directory/, cwd.stderr.trim());
  t.match(JSON.parse((await runts(['--root', root, 'state', id])).stdout), { status: 'running' }, 'the container is unharmed');
  t.equal((await runts(['--root', root, 'delete', '--force', id])).code, 0, 'delete --force');
});

t.test('a create failing once its init exists kills that init once, never its pid after the reap', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const dir = tempDir(t, 'err');
  // A createRuntime hook runs while the init waits in its namespaces: it fails, and so does create.
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['true'],
    config: (c) => {
      c.hooks = { createRuntime: [{ path: '/bin/false' }] };
    },
  });
  const id = uniqueId('err');
  const trace = path.join(dir, 'trace');
  const r = spawnSync('strace', ['-qq', '-e', 'trace=kill', '-o', trace, RUNTS_BIN, '--root', root, 'create', '--bundle', bundle, id], { encoding: 'utf8', env: runtimeEnv() });
  t.equal(r.status, 1, `create fails: ${r.stderr.trim()}`);
  const kills = fs.readFileSync(trace, 'utf8').split('\n').filter((l) => /^kill\(\d+, SIGKILL\)/.test(l));
  t.equal(kills.length, 1, `one SIGKILL, for the init (${kills.join(' | ')})`);
  t.match(kills[0], / = 0$/, 'and it found the init alive');
  t.notOk(fs.existsSync(path.join(root, id)), 'no state dir');
});
