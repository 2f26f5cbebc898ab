// What real callers (containerd shim, podman/conmon, runtime-tools) rely on beyond the
// lifecycle itself: pid file, --log/--log-format, list, state's stdout, and running with
// a bare environment from another cwd (CLI-CONTRACT.md).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runtimeEnv, runts, runtsRoot, runtsToFiles, RUNTS_BIN, tempDir, uniqueId } from '../lib';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

function setup(t: Test) {
  leakGuard(t);
  const root = runtsRoot(t);
  const outDir = tempDir(t, 'out');
  const rt = (...args: string[]) => runts(['--root', root, ...args]);
  const create = (...args: string[]) => runtsToFiles(outDir, ['--root', root, 'create', ...args]);
  return { root, rt, create, outDir };
}

t.test('pid file: decimal host pid, no newline, relative path resolved against the cwd', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt, outDir } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'] });
  const cwd = tempDir(t, 'cwd');
  const id = uniqueId();
  const r = await runtsToFiles(outDir, ['--root', root, 'create', '--bundle', bundle, '--pid-file', 'sub.pid', id], { cwd });
  t.equal(r.code, 0, `create: ${r.stderr}`);
  const text = fs.readFileSync(path.join(cwd, 'sub.pid'), 'utf8');
  t.match(text, /^[1-9]\d*$/, 'decimal, no trailing newline');
  const state = JSON.parse((await rt('state', id)).stdout);
  t.equal(Number(text), state.pid, 'the pid file holds the init pid');
  t.same(fs.readdirSync(cwd), ['sub.pid'], 'no temporary file left beside it');

  const id2 = uniqueId();
  const abs = path.join(cwd, 'abs.pid');
  t.equal((await runtsToFiles(outDir, ['--root', root, 'create', `--bundle=${bundle}`, `--pid-file=${abs}`, id2])).code, 0, '--flag=value syntax');
  t.match(fs.readFileSync(abs, 'utf8'), /^[1-9]\d*$/);
  for (const c of [id, id2]) t.equal((await rt('delete', '--force', c)).code, 0);
});

t.test('--log FILE --log-format json: one JSON object per line; the last error line carries the message', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt, outDir } = setup(t);
  const logs = tempDir(t, 'logs');
  // The containerd shim's flags: `--root R --log F --log-format json create ...`.
  const createWithLog = (bundle: string, id: string) =>
    runtsToFiles(outDir, ['--root', root, `--log=${logFile}`, '--log-format=json', 'create', '--bundle', bundle, id]);
  const logFile = path.join(logs, 'log.json');
  const readLines = () => fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean);

  const missing = uniqueId();
  const r = await runts(['--root', root, '--log', logFile, '--log-format', 'json', 'start', missing]);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  const lines = readLines();
  t.ok(lines.length >= 1, 'something was logged');
  const entries = lines.map((line) => JSON.parse(line));
  for (const e of entries) {
    t.type(e.level, 'string');
    t.type(e.msg, 'string');
    t.match(e.time, RFC3339, 'time is RFC 3339');
  }
  const lastError = entries.filter((e) => e.level === 'error').at(-1);
  t.match(lastError?.msg, /container does not exist/, 'the last error line has the message');

  // A failed create appends; a later successful one adds no error line.
  const { bundle, configPath, config } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'] });
  fs.writeFileSync(configPath, JSON.stringify({ ...config, hostname: 7 }));
  const badCreate = await createWithLog(bundle, uniqueId());
  t.equal(badCreate.code, 1);
  const afterBad = readLines().map((line) => JSON.parse(line));
  t.ok(afterBad.length > entries.length, 'lines are appended');
  t.match(afterBad.filter((e) => e.level === 'error').at(-1)?.msg, /config\.json.*\/hostname/);

  fs.writeFileSync(configPath, JSON.stringify(config));
  const errorCount = afterBad.filter((e) => e.level === 'error').length;
  const id = uniqueId();
  const ok = await createWithLog(bundle, id);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(readLines().map((line) => JSON.parse(line)).filter((e) => e.level === 'error').length, errorCount, 'no error logged on success');
  t.equal((await rt('delete', '--force', id)).code, 0);
});

t.test('--log FILE in text format', async (t) => {
  if (!requireRoot(t)) return;
  const { root } = setup(t);
  const logFile = path.join(tempDir(t, 'logs'), 'log.txt');
  const r = await runts(['--root', root, '--log', logFile, 'kill', uniqueId(), 'KILL']);
  t.equal(r.code, 1);
  t.match(r.stderr, /container does not exist/, 'the error is also on stderr, as plain text');
  const text = fs.readFileSync(logFile, 'utf8');
  t.match(text, /^time="?[^ ]+"? level=error msg="container does not exist"\n$/m);
});

t.test('list: table, json and -q with containers in several states', async (t) => {
  if (!requireRoot(t)) return;
  const { rt, create } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'] });
  const { bundle: quick } = await makeBundle(tempDir(t, 'bundle'), { args: ['true'] });
  const [created, running, stopped] = [uniqueId('lc'), uniqueId('lr'), uniqueId('ls')];
  t.equal((await create('-b', bundle, created)).code, 0);
  t.equal((await create('-b', bundle, running)).code, 0);
  t.equal((await rt('start', running)).code, 0);
  t.equal((await create('-b', quick, stopped)).code, 0);
  const stoppedPid = JSON.parse((await rt('state', stopped)).stdout).pid;
  t.equal((await rt('start', stopped)).code, 0);
  // `true` exits at once; wait for /proc to show it gone (or a zombie).
  for (let i = 0; i < 750 && fs.existsSync(`/proc/${stoppedPid}`) && !/\) [ZX] /.test(readStat(stoppedPid)); i++) await sleep(20);

  const json = await rt('list', '--format', 'json');
  t.equal(json.code, 0, json.stderr);
  const states = JSON.parse(json.stdout) as Record<string, any>[];
  const byId = new Map(states.map((s) => [s.id, s]));
  t.same([...byId.keys()].sort(), [created, running, stopped].sort());
  t.match(byId.get(created), { status: 'created', bundle });
  t.match(byId.get(running), { status: 'running' });
  t.match(byId.get(stopped), { status: 'stopped', pid: 0, bundle: quick });
  t.ok(byId.get(running)!.pid > 0);
  t.equal(byId.get(running)!.owner, 'root');

  const quiet = await rt('list', '-q');
  t.same(quiet.stdout.split('\n').filter(Boolean).sort(), [created, running, stopped].sort(), '-q prints the IDs only');

  const table = await rt('list');
  const rows = table.stdout.split('\n').filter(Boolean);
  t.match(rows[0], /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
  t.equal(rows.length, 4);
  for (const [id, status] of [[created, 'created'], [running, 'running'], [stopped, 'stopped']]) {
    const row = rows.find((r) => r.startsWith(`${id} `));
    t.ok(row, `a row for ${id}`);
    t.match(row!.split(/\s+/)[2], status);
  }

  const empty = await runts(['--root', path.join(tempDir(t, 'empty'), 'none'), 'list', '-q']);
  t.equal(empty.code, 0, 'a missing root lists nothing');
  t.equal(empty.stdout, '');
  for (const id of [created, running, stopped]) t.equal((await rt('delete', '--force', id)).code, 0);
});

function readStat(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return ') X ';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('state prints only JSON on stdout, even with stderr closed (podman)', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt, create } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'] });
  const id = uniqueId();
  t.equal((await create('-b', bundle, id)).code, 0);
  const state = await rt('state', id);
  t.equal(state.code, 0);
  t.equal(state.stderr, '');
  t.match(JSON.parse(state.stdout), { id, status: 'created' });

  // podman closes stderr before reading: writing there would raise SIGPIPE/EBADF.
  const closed = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = spawn('/bin/sh', ['-c', 'exec 2>&-; exec "$@"', 'sh', RUNTS_BIN, '--root', root, 'state', id], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: runtimeEnv(),
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, stdout: out }));
  });
  t.equal(closed.code, 0, 'state works with stderr closed');
  t.match(JSON.parse(closed.stdout), { id, status: 'created' });
  t.equal((await rt('delete', '--force', id)).code, 0);
});

t.test('runts by absolute path from another cwd with only XDG_RUNTIME_DIR in the environment', async (t) => {
  if (!requireRoot(t)) return;
  const { root, outDir } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'] });
  const cwd = tempDir(t, 'cwd');
  const env = { XDG_RUNTIME_DIR: tempDir(t, 'xdg') };
  const bare = (...args: string[]) => runtsToFiles(outDir, ['--root', root, ...args], { cwd, env });
  const id = uniqueId();
  const create = await bare('create', '--bundle', bundle, '--pid-file', path.join(cwd, 'pid'), id);
  t.equal(create.code, 0, `create: ${create.stderr}`);
  const start = await bare('start', id);
  t.equal(start.code, 0, `start: ${start.stderr}`);
  const state = await bare('state', id);
  t.equal(state.code, 0, `state: ${state.stderr}`);
  t.match(JSON.parse(state.stdout), { id, status: 'running', bundle });
  const kill = await bare('kill', id, 'KILL');
  t.equal(kill.code, 0, `kill: ${kill.stderr}`);
  const del = await bare('delete', '--force', id);
  t.equal(del.code, 0, `delete --force: ${del.stderr}`);
  const again = await bare('delete', '--force', id);
  t.equal(again.code, 0, 'a second delete --force (podman does this) exits 0');
  t.same(fs.readdirSync(cwd), ['pid'], 'nothing written to the cwd but the pid file');
});
