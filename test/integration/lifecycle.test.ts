// The container lifecycle with real busybox containers: create → created → start → running
// → exit → stopped → delete, and every error case callers rely on (runtime-spec
// runtime.md, CLI-CONTRACT.md), with runc's wording.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runts, runtsRoot, runtsToFiles, tempDir, uniqueId, waitFor, type BundleConfig } from '../lib';

// Go's RFC3339Nano, as runc writes `created`: trailing zeros of the nanoseconds are trimmed.
const RFC3339_NANOS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/;

/** A fresh root, a leak guard, and a runts bound to the root (create's output goes through files). */
function setup(t: Test) {
  leakGuard(t);
  const root = runtsRoot(t);
  const outDir = tempDir(t, 'out');
  const rt = (...args: string[]) => (args[0] === 'create' ? runtsToFiles(outDir, ['--root', root, ...args]) : runts(['--root', root, ...args]));
  return { root, rt };
}

/** Bind-mounts a fresh host dir at /x in the container: the test and the container talk through files there. */
function shareDir(t: Test): { dir: string; mount: (config: BundleConfig) => void } {
  const dir = tempDir(t, 'shared');
  return {
    dir,
    mount: (config) => {
      config.mounts.push({ destination: '/x', type: 'bind', source: dir, options: ['rbind', 'rw'] });
    },
  };
}

async function stateOf(rt: (...args: string[]) => ReturnType<typeof runts>, id: string): Promise<Record<string, any>> {
  const r = await rt('state', id);
  if (r.code !== 0) throw new Error(`state ${id} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const statusOf = async (rt: (...args: string[]) => ReturnType<typeof runts>, id: string) => (await stateOf(rt, id)).status;

/** True while `pid` is a live process (not gone, not a zombie). */
function isLive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits for the container init to exit: polls /proc, which is cheaper than `runts state`. */
const waitExited = (pid: number, what: string) => waitFor(() => !isLive(pid), 15_000, what);

t.test('create → created → start → running → exit → stopped → delete → gone', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const shared = shareDir(t);
  // Runs until the test creates /x/go, so "running" is observed deterministically.
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'echo started > /x/started; while [ ! -e /x/go ]; do sleep 0.05; done'],
    config: shared.mount,
  });
  const id = uniqueId();

  const create = await rt('create', '--bundle', bundle, id);
  t.equal(create.code, 0, `create: ${create.stderr}`);
  const created = await stateOf(rt, id);
  t.match(created, { ociVersion: '1.3.0', id, status: 'created', bundle, rootfs: path.join(bundle, 'rootfs') });
  t.ok(path.isAbsolute(created.bundle), 'bundle is absolute');
  t.ok(created.pid > 0 && isLive(created.pid), `pid ${created.pid} is a live process`);
  t.match(created.created, RFC3339_NANOS, 'created is RFC 3339 with nanoseconds');
  t.notOk(fs.existsSync(path.join(shared.dir, 'started')), 'the user process has not run before start');
  t.ok(fs.existsSync(path.join(root, id)), 'state dir exists');

  const start = await rt('start', id);
  t.equal(start.code, 0, `start: ${start.stderr}`);
  await waitFor(() => fs.existsSync(path.join(shared.dir, 'started')), 15_000, 'user process ran');
  const running = await stateOf(rt, id);
  t.match(running, { status: 'running', pid: created.pid, created: created.created });

  fs.writeFileSync(path.join(shared.dir, 'go'), '');
  await waitExited(created.pid, 'user process exited');
  const stopped = await stateOf(rt, id);
  t.equal(stopped.status, 'stopped');
  t.equal(stopped.pid, 0, 'a stopped container has pid 0');

  const del = await rt('delete', id);
  t.equal(del.code, 0, `delete: ${del.stderr}`);
  t.notOk(fs.existsSync(path.join(root, id)), 'state dir removed');
  const gone = await rt('state', id);
  t.equal(gone.code, 1);
  t.equal(gone.stdout, '');
  t.match(gone.stderr, /container does not exist/);
});

t.test('start, kill and delete refuse the wrong states with runc wording', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'] });
  const id = uniqueId();
  t.equal((await rt('create', '-b', bundle, id)).code, 0);
  t.equal((await rt('start', id)).code, 0);
  const startRunning = await rt('start', id);
  t.equal(startRunning.code, 1);
  t.match(startRunning.stderr, 'cannot start an already running container');

  const delRunning = await rt('delete', id);
  t.equal(delRunning.code, 1);
  t.match(delRunning.stderr, `cannot delete container ${id} that is not stopped: running`);
  const { pid } = await stateOf(rt, id);
  t.equal(await statusOf(rt, id), 'running');

  t.equal((await rt('kill', id, 'KILL')).code, 0);
  await waitExited(pid, 'init exits after KILL');
  t.equal(await statusOf(rt, id), 'stopped');

  const startStopped = await rt('start', id);
  t.equal(startStopped.code, 1);
  t.match(startStopped.stderr, 'cannot start a container that has stopped');
  const killStopped = await rt('kill', id, '9');
  t.equal(killStopped.code, 1);
  t.match(killStopped.stderr, 'container not running');

  t.equal((await rt('delete', id)).code, 0);
});

t.test('delete without --force kills and removes a created container, like runc', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'] });
  const id = uniqueId();
  t.equal((await rt('create', '-b', bundle, id)).code, 0);
  const { pid } = await stateOf(rt, id);
  const del = await rt('delete', id);
  t.equal(del.code, 0, `delete of a created container: ${del.stderr}`);
  t.notOk(isLive(pid), 'its init was killed');
  t.notOk(fs.existsSync(path.join(root, id)), 'state dir removed');
});

t.test('delete --force kills a running or created container, and succeeds for a missing one', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'] });
  const running = uniqueId();
  const created = uniqueId();
  t.equal((await rt('create', '-b', bundle, running)).code, 0);
  t.equal((await rt('start', running)).code, 0);
  t.equal((await rt('create', '-b', bundle, created)).code, 0);
  const pids = [(await stateOf(rt, running)).pid, (await stateOf(rt, created)).pid];

  for (const id of [running, created]) {
    const r = await rt('delete', '--force', id);
    t.equal(r.code, 0, `delete --force ${id}: ${r.stderr}`);
    t.notOk(fs.existsSync(path.join(root, id)), 'state dir removed');
  }
  for (const pid of pids) t.notOk(isLive(pid), `init ${pid} killed`);

  const missing = await rt('delete', '--force', uniqueId());
  t.equal(missing.code, 0, 'delete --force of a missing container exits 0');
  t.equal(missing.stdout, '');
  const twice = await rt('delete', '-f', running);
  t.equal(twice.code, 0, 'delete --force is idempotent');
});

t.test('create with an ID that exists fails and leaves the first container alone', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'] });
  const id = uniqueId();
  t.equal((await rt('create', '-b', bundle, id)).code, 0);
  const first = await stateOf(rt, id);
  const again = await rt('create', '-b', bundle, id);
  t.equal(again.code, 1);
  t.match(again.stderr, /already exists/);
  const after = await stateOf(rt, id);
  t.match(after, { status: 'created', pid: first.pid, created: first.created });
  t.equal((await rt('delete', '--force', id)).code, 0);
});

t.test('invalid IDs are refused before anything is made', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['true'] });
  const ids = ['../x', 'a/b', '.', '..', ''];
  const creates = await Promise.all(ids.map((id) => rt('create', '-b', bundle, id)));
  for (const [i, id] of ids.entries()) {
    const r = creates[i];
    t.equal(r.code, 1, `create ${JSON.stringify(id)}`);
    t.match(r.stderr, id === '' ? /container id|container-id|invalid container ID/i : /invalid container ID format/);
  }
  t.same(fs.existsSync(root) ? fs.readdirSync(root).filter((n) => fs.statSync(path.join(root, n)).isDirectory()) : [], [], 'no state dir');
  t.notOk(fs.existsSync(path.join(path.dirname(root), 'x')), 'nothing made outside the root');
  const commands = ['start', 'state', 'kill', 'delete'];
  const results = await Promise.all(commands.map((cmd) => rt(cmd, '../x')));
  for (const [i, cmd] of commands.entries()) {
    const r = results[i];
    t.equal(r.code, 1, cmd);
    t.match(r.stderr, /invalid container ID format/, cmd);
  }
});

t.test('every command reports an unknown ID as "does not exist"', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const id = uniqueId();
  const commands = [
    ['start', id], ['state', id], ['kill', id], ['kill', id, 'KILL'], ['kill', '--all', id, '9'], ['delete', id],
    ['pause', id], ['resume', id], ['ps', '--format', 'json', id], ['exec', id, 'true'], ['update', '--pids-limit', '5', id], ['events', '--stats', id],
  ];
  // Independent of each other: run them side by side.
  const results = await Promise.all(commands.map((args) => rt(...args)));
  for (const [i, args] of commands.entries()) {
    const r = results[i];
    // A failed exec exits 255, like runc; everything else 1.
    t.equal(r.code, args[0] === 'exec' ? 255 : 1, args.join(' '));
    t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`);
    t.match(r.stderr, /container does not exist/, args.join(' '));
  }
});

t.test('a bad bundle fails create with exit 1 and leaves nothing behind', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const dir = tempDir(t, 'bundles');
  const assertNothingLeft = (what: string) => {
    const dirs = fs.existsSync(root) ? fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()) : [];
    t.same(dirs.map((e) => e.name), [], `${what}: no state dir`);
  };

  const missingBundle = await rt('create', '-b', path.join(dir, 'nope'), uniqueId());
  t.equal(missingBundle.code, 1);
  t.match(missingBundle.stderr, /no such file or directory/);
  assertNothingLeft('missing bundle');

  const empty = path.join(dir, 'empty');
  fs.mkdirSync(empty);
  const missingConfig = await rt('create', '-b', empty, uniqueId());
  t.equal(missingConfig.code, 1);
  t.match(missingConfig.stderr, /config\.json/);
  t.match(missingConfig.stderr, /no such file or directory|not found/);
  assertNothingLeft('missing config.json');

  const { bundle, configPath, config } = await makeBundle(path.join(dir, 'bad'), { args: ['sleep', '1000'] });
  fs.writeFileSync(configPath, '{ "ociVersion": ');
  const unparsable = await rt('create', '-b', bundle, uniqueId());
  t.equal(unparsable.code, 1);
  t.match(unparsable.stderr, /config\.json/);
  assertNothingLeft('unparsable config.json');

  config.hostname = 5;
  fs.writeFileSync(configPath, JSON.stringify(config));
  const invalid = await rt('create', '-b', bundle, uniqueId());
  t.equal(invalid.code, 1);
  t.match(invalid.stderr, /config\.json/, 'names the file');
  t.match(invalid.stderr, /\/hostname/, 'names the JSON pointer');
  t.match(invalid.stderr, /string/, 'names the rule');
  assertNothingLeft('invalid config.json');

  config.hostname = 'ok';
  config.process!.cwd = 'relative';
  fs.writeFileSync(configPath, JSON.stringify(config));
  const semantic = await rt('create', '-b', bundle, uniqueId());
  t.equal(semantic.code, 1);
  t.match(semantic.stderr, /\/process\/cwd/);
  assertNothingLeft('relative cwd');
  // No process was left running: the leak guard checks the bundle's processes too.
});

t.test('kill takes numbers, names and SIG-names; TERM by default', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const shared = shareDir(t);
  // PID 1 only receives signals it has handlers for: trap each one and log it.
  const script = [
    "trap 'echo USR1 >> /x/log' USR1",
    "trap 'echo USR2 >> /x/log' USR2",
    "trap 'echo HUP >> /x/log' HUP",
    "trap 'echo TERM >> /x/log; exit 7' TERM",
    'echo ready > /x/ready',
    'while :; do sleep 0.05; done',
  ].join('; ');
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', script], config: shared.mount });
  const id = uniqueId();
  t.equal((await rt('create', '-b', bundle, id)).code, 0);
  t.equal((await rt('start', id)).code, 0);
  await waitFor(() => fs.existsSync(path.join(shared.dir, 'ready')), 15_000, 'container ready');
  const logFile = path.join(shared.dir, 'log');
  const logged = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().split('\n') : []);

  const sent: [string, string][] = [['10', 'USR1'], ['USR2', 'USR2'], ['SIGHUP', 'HUP'], ['sigusr1', 'USR1']];
  for (const [arg, name] of sent) {
    const before = logged().length;
    const r = await rt('kill', id, arg);
    t.equal(r.code, 0, `kill ${arg}: ${r.stderr}`);
    await waitFor(() => logged().length > before, 15_000, `signal ${arg} delivered`);
    t.equal(logged()[before], name, `kill ${arg} delivers ${name}`);
  }

  const bad = await rt('kill', id, 'NOTASIGNAL');
  t.equal(bad.code, 1);
  t.match(bad.stderr, /signal/i);

  const { pid } = await stateOf(rt, id);
  const term = await rt('kill', id);
  t.equal(term.code, 0, `kill (default): ${term.stderr}`);
  await waitExited(pid, 'init exits on the default TERM');
  t.equal(logged().at(-1), 'TERM', 'the default signal is TERM');
  t.equal((await rt('delete', id)).code, 0);
});

t.test('kill --all signals every process of the container, kill only the init', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const shared = shareDir(t);
  const child = "trap 'echo child >> /x/log; exit 0' USR1; echo c > /x/child-ready; while :; do sleep 0.05; done";
  const script = ["trap 'echo init >> /x/log' USR1", `sh -c "${child}" &`, 'while :; do sleep 0.05; done'].join('\n');
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', script], config: shared.mount });
  const id = uniqueId();
  t.equal((await rt('create', '-b', bundle, id)).code, 0);
  t.equal((await rt('start', id)).code, 0);
  await waitFor(() => fs.existsSync(path.join(shared.dir, 'child-ready')), 15_000, 'child ready');
  const logFile = path.join(shared.dir, 'log');
  const logged = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().split('\n').sort() : []);

  t.equal((await rt('kill', id, 'USR1')).code, 0);
  await waitFor(() => logged().length >= 1, 15_000, 'init got USR1');
  await new Promise((r) => setTimeout(r, 300));
  t.same(logged(), ['init'], 'kill without --all reaches the init only');

  fs.rmSync(logFile);
  const all = await rt('kill', '--all', id, 'USR1');
  t.equal(all.code, 0, `kill --all: ${all.stderr}`);
  await waitFor(() => logged().length >= 2, 15_000, 'both processes got USR1');
  t.same(logged(), ['child', 'init'], 'kill --all reaches every process');

  const { pid } = await stateOf(rt, id);
  t.equal((await rt('kill', '--all', id, 'KILL')).code, 0);
  await waitExited(pid, 'init exits after kill --all KILL');
  t.equal((await rt('delete', id)).code, 0);
});

t.test('a config without process: create works, start errors, kill and delete work', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
    config: (c) => {
      delete c.process;
    },
  });
  const id = uniqueId();
  const create = await rt('create', '-b', bundle, id);
  t.equal(create.code, 0, `create: ${create.stderr}`);
  const state = await stateOf(rt, id);
  t.equal(state.status, 'created');
  t.ok(state.pid > 0 && isLive(state.pid));

  const start = await rt('start', id);
  t.equal(start.code, 1, 'start fails');
  t.match(start.stderr, /process/, 'and says the config has no process');
  t.equal(await statusOf(rt, id), 'created', 'a refused start leaves it created');

  const kill = await rt('kill', id, 'KILL');
  t.equal(kill.code, 0, `kill: ${kill.stderr}`);
  await waitExited(state.pid, 'init exits after KILL');
  t.equal((await rt('delete', id)).code, 0);
  t.notOk(fs.existsSync(path.join(root, id)));
});
