// Security rules about the state store and recorded PIDs (SECURITY.md 11, 12): IDs never
// become paths outside the root, the root and state dirs are private, state.json is replaced
// atomically, and a recycled PID is never signalled.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { makeBundle, RUNTS_BIN, requireRoot, runtimeEnv, runts, tempDir, uniqueId, waitFor } from '../lib';
import { createOk, isLive, setup, stateOf } from '../fixtures/security/helpers';

t.test('rule 11: the state root and state dirs are 0700 even under umask 000', async (t) => {
  if (!requireRoot(t)) return;
  const { root: parent } = setup(t);
  const root = path.join(parent, 'nested', 'root'); // made by the runtime itself
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['true'] });
  const id = uniqueId();
  const create = spawn('sh', ['-c', 'umask 000; exec "$0" "$@"', RUNTS_BIN, '--root', root, 'create', '--bundle', bundle, id], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: runtimeEnv(),
  });
  let stderr = '';
  create.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // 'exit', not 'close': the created init keeps the stderr pipe open.
  const code = await new Promise<number | null>((resolve) => create.on('exit', resolve));
  t.equal(code, 0, `create under umask 000: ${stderr}`);
  const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);
  t.equal(mode(root), '700', 'state root is 0700');
  t.equal(mode(path.join(root, id)), '700', 'state dir is 0700');
  t.same(
    fs.readdirSync(path.join(root, id)).sort(),
    ['exec.fifo', 'state.json'],
    'no temporary files are left beside state.json',
  );
  t.equal((fs.statSync(path.join(root, id, 'state.json')).mode & 0o077).toString(8), '0', 'state.json is private');
  const del = await runts(['--root', root, 'delete', '--force', id]);
  t.equal(del.code, 0, `delete --force: ${del.stderr}`);
  fs.rmSync(path.join(parent, 'nested'), { recursive: true });
});

t.test('rule 11: state.json is written to a temporary file and renamed into place', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['true'] });
  const id = uniqueId();
  const trace = path.join(tempDir(t, 'strace'), 'trace');
  execFileSync(
    'strace',
    ['-qq', '-e', 'trace=open,openat,rename,renameat,renameat2', '-o', trace, RUNTS_BIN, '--root', root, 'create', '--bundle', bundle, id],
    { stdio: 'ignore', env: runtimeEnv() },
  );
  const lines = fs.readFileSync(trace, 'utf8').split('\n');
  const stateFile = path.join(root, id, 'state.json');
  const directWrites = lines.filter((l) => /open(at)?\(/.test(l) && l.includes(`"${stateFile}"`) && /O_WRONLY|O_RDWR/.test(l));
  t.same(directWrites, [], 'state.json itself is never opened for writing');
  const renames = lines.filter((l) => /rename(at2?)?\(/.test(l) && l.includes(`"${stateFile}"`));
  // create writes the record more than once (what it is about to make, the init, the finished state).
  t.ok(renames.length >= 1, 'state.json is put in place by rename');
  t.same(
    renames.filter((l) => !l.includes(`"${path.join(root, id, '.state.json.')}`)),
    [],
    `every rename comes from a temporary file beside it (${renames.join(' | ')})`,
  );

  // Concurrent readers never see a partial file: every `state` either finds no container
  // yet or prints complete JSON.
  t.equal((await rt('delete', '--force', id)).code, 0, 'delete --force');
  const id2 = uniqueId();
  const creating = rt('create', '--bundle', bundle, id2);
  const readers: Promise<string>[] = [];
  for (let i = 0; i < 8; i++) {
    readers.push(
      rt('state', id2).then((r) => {
        if (r.code !== 0) return /does not exist/.test(r.stderr) ? 'absent' : `error: ${r.stderr}`;
        try {
          return JSON.parse(r.stdout).id === id2 ? 'complete' : `wrong: ${r.stdout}`;
        } catch {
          return `partial: ${r.stdout}`;
        }
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seen = await Promise.all(readers);
  t.equal((await creating).code, 0, 'create');
  t.same(
    seen.filter((s) => s !== 'absent' && s !== 'complete'),
    [],
    `every concurrent state read was whole (${[...new Set(seen)].join(', ')})`,
  );
  t.equal((await rt('delete', '--force', id2)).code, 0, 'delete --force');
});

t.test('rule 11: IDs with path characters are refused before the filesystem is touched', async (t) => {
  if (!requireRoot(t)) return;
  const { root: parent } = setup(t);
  const root = path.join(parent, 'root'); // does not exist: a refused create must not make it
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['true'] });
  // A "container" next to the root that a ../ ID would reach.
  const victim = path.join(parent, 'victim');
  fs.mkdirSync(victim);
  fs.writeFileSync(path.join(victim, 'state.json'), '{}');
  for (const id of ['../victim', 'a/b', '..', '.', '/abs', 'x y', 'tab\tid']) {
    const what = JSON.stringify(id);
    const create = await runts(['--root', root, 'create', '--bundle', bundle, id]);
    t.not(create.code, 0, `create ${what} fails`);
    t.match(create.stderr, /invalid container ID|container id/i, `create ${what}: ${create.stderr}`);
  }
  for (const args of [['state', '../victim'], ['kill', '../victim', 'KILL'], ['delete', '--force', '../victim'], ['start', '../victim']]) {
    const r = await runts(['--root', root, ...args]);
    t.not(r.code, 0, `${args.join(' ')} fails`);
  }
  t.notOk(fs.existsSync(root), 'the state root was never created');
  t.same(fs.readdirSync(parent).sort(), ['victim'], 'nothing was created beside it');
  t.same(fs.readdirSync(victim), ['state.json'], 'the directory a ../ ID names is untouched');
  fs.rmSync(victim, { recursive: true });
});

/** Replaces fields of a container's state.json (atomically, as the runtime would). */
function editRecord(root: string, id: string, edit: (rec: Record<string, any>) => void): void {
  const file = path.join(root, id, 'state.json');
  const rec = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(rec);
  fs.writeFileSync(`${file}.edit`, JSON.stringify(rec));
  fs.renameSync(`${file}.edit`, file);
}

t.test('rule 12: a recorded pid that now belongs to another process is never signalled', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '100'] });
  const id = uniqueId();
  const initPid = await createOk(t, rt, bundle, id);
  // Stop the container, then make its record point at an unrelated live process (a reused pid).
  t.equal((await rt('kill', id, 'KILL')).code, 0, 'kill KILL');
  await waitFor(async () => (await stateOf(rt, id)).status === 'stopped', 5000, 'stopped');
  t.notOk(isLive(initPid), 'the init is gone');
  const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    editRecord(root, id, (rec) => {
      rec.initPid = stranger.pid;
    });
    const state = await stateOf(rt, id);
    t.match(state, { status: 'stopped', pid: 0 }, 'state reports stopped, not the stranger');
    const kill = await rt('kill', id, 'KILL');
    t.not(kill.code, 0, 'kill fails');
    t.match(kill.stderr, /not running/, `kill: ${kill.stderr}`);
    // As runc, kill --all of a stopped container succeeds: it signals the cgroup's members
    // (rule 13), none here, never the recorded pid.
    t.equal((await rt('kill', '--all', id, 'KILL')).code, 0, 'kill --all signals the empty cgroup');
    t.not((await rt('start', id)).code, 0, 'start fails');
    t.equal((await rt('delete', '--force', id)).code, 0, 'delete --force of the stopped container');
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.ok(isLive(stranger.pid!), 'the unrelated process was never signalled');
  } finally {
    stranger.kill('SIGKILL');
  }
});

t.test('rule 12: a live init whose start time does not match is treated as gone and left alone', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '100'] });
  const id = uniqueId();
  const initPid = await createOk(t, rt, bundle, id);
  editRecord(root, id, (rec) => {
    rec.initStartTime = '1';
  });
  try {
    t.match(await stateOf(rt, id), { status: 'stopped', pid: 0 }, 'state reports stopped');
    const kill = await rt('kill', id, 'KILL');
    t.match(kill.stderr, /not running/, `kill: ${kill.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.ok(isLive(initPid), 'the process with the mismatching start time was not signalled');
    // kill --all goes through the cgroup's members (rule 13), not the recorded pid: as runc,
    // it reaches what is left in the cgroup of a container reported stopped.
    t.equal((await rt('kill', '--all', id, 'KILL')).code, 0, 'kill --all');
    await waitFor(() => !isLive(initPid), 5000, 'the cgroup member gone after kill --all');
    // delete --force may still empty the container's own cgroup (rule 13): that is no pid guess.
    t.equal((await rt('delete', '--force', id)).code, 0, 'delete --force');
  } finally {
    // It is this test's own container init: end it by pid if delete left it.
    if (isLive(initPid)) process.kill(initPid, 'SIGKILL');
    await waitFor(() => !isLive(initPid), 5000, 'init gone');
  }
});
