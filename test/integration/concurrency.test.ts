// Concurrency: commands on one container racing each other. The per-container lock
// serialises create/start/kill/delete, mkdir claims an ID atomically, and state.json is
// replaced by rename, so every race has a clean outcome: one winner, clear errors for the
// others, a state file never seen half-written, and nothing left behind.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runts, runtsRoot, runtsToFiles, tempDir, uniqueId, waitFor, type RuntsResult } from '../lib';

async function setup(t: Test) {
  leakGuard(t);
  const root = runtsRoot(t);
  const outDir = tempDir(t, 'out');
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'] });
  // create and start hand stdio to the container: their output goes through files.
  const rt = (...args: string[]) => (args[0] === 'create' || args[0] === 'start' ? runtsToFiles(outDir, ['--root', root, ...args]) : runts(['--root', root, ...args]));
  return { root, bundle, outDir, rt };
}

/** A state result is either a whole, parseable state of `id` or "does not exist". */
function checkState(t: Test, r: RuntsResult, id: string): void {
  if (r.code === 0) {
    let state: Record<string, unknown> | undefined;
    try {
      state = JSON.parse(r.stdout);
    } catch {
      t.fail(`state printed something that is not JSON: ${JSON.stringify(r.stdout)}`);
      return;
    }
    t.match(state, { id, status: /^(created|running|stopped)$/ }, 'a whole state object');
  } else {
    t.equal(r.code, 1, 'state fails with exit 1');
    t.match(r.stderr, /container does not exist/, `state: ${r.stderr.trim()}`);
  }
}

t.test('two creates of one ID at once: exactly one wins, the other fails cleanly', async (t) => {
  if (!requireRoot(t)) return;
  const { root, bundle, outDir, rt } = await setup(t);
  const id = uniqueId('race');
  const pidFiles = [0, 1, 2].map((i) => path.join(outDir, `pid-${i}`));
  const results = await Promise.all(pidFiles.map((f) => rt('create', '--bundle', bundle, '--pid-file', f, id)));
  const winners = results.filter((r) => r.code === 0);
  t.equal(winners.length, 1, `one create succeeds (${results.map((r) => `${r.code}: ${r.stderr.trim()}`).join(' | ')})`);
  for (const [i, r] of results.entries()) {
    if (r.code === 0) continue;
    t.equal(r.code, 1, 'the loser exits 1');
    t.match(r.stderr, /container with given ID already exists/, 'and says why');
    t.notOk(fs.existsSync(pidFiles[i]), 'the loser wrote no pid file');
  }
  const winnerPid = Number(fs.readFileSync(pidFiles[results.findIndex((r) => r.code === 0)], 'utf8'));
  const state = await rt('state', id);
  t.equal(state.code, 0, `state: ${state.stderr}`);
  t.match(JSON.parse(state.stdout), { id, status: 'created', pid: winnerPid }, 'the winner is intact');
  const start = await rt('start', id);
  t.equal(start.code, 0, `the winner starts: ${start.stderr}`);
  t.equal((await rt('delete', '--force', id)).code, 0, 'delete --force');
  t.notOk(fs.existsSync(path.join(root, id)), 'gone');
});

t.test('delete racing start: delete always wins in the end, start fails cleanly or runs first', async (t) => {
  if (!requireRoot(t)) return;
  const { root, bundle, rt } = await setup(t);
  for (let round = 0; round < 2; round++) {
    const id = uniqueId('race');
    t.equal((await rt('create', '--bundle', bundle, id)).code, 0, 'create');
    const [start, del] = await Promise.all([rt('start', id), rt('delete', '--force', id)]);
    t.equal(del.code, 0, `delete --force: ${del.stderr}`);
    if (start.code !== 0) {
      t.equal(start.code, 1, 'a start that lost exits 1');
      t.match(start.stderr, /container does not exist|cannot start a container that has stopped/, `start: ${start.stderr.trim()}`);
    }
    t.notOk(fs.existsSync(path.join(root, id)), 'the container is gone');
  }
});

t.test('kill racing delete: delete succeeds, kill succeeds or says the container is gone', async (t) => {
  if (!requireRoot(t)) return;
  const { root, bundle, rt } = await setup(t);
  for (let round = 0; round < 2; round++) {
    const id = uniqueId('race');
    t.equal((await rt('create', '--bundle', bundle, id)).code, 0, 'create');
    t.equal((await rt('start', id)).code, 0, 'start');
    const [kill, del] = await Promise.all([rt('kill', id, 'KILL'), rt('delete', '--force', id)]);
    t.equal(del.code, 0, `delete --force: ${del.stderr}`);
    if (kill.code !== 0) {
      t.equal(kill.code, 1, 'a kill that lost exits 1');
      t.match(kill.stderr, /container does not exist|container not running/, `kill: ${kill.stderr.trim()}`);
    }
    t.notOk(fs.existsSync(path.join(root, id)), 'the container is gone');
  }
});

t.test('20 parallel state during delete: each sees the whole container or none', async (t) => {
  if (!requireRoot(t)) return;
  const { bundle, rt } = await setup(t);
  const id = uniqueId('race');
  t.equal((await rt('create', '--bundle', bundle, id)).code, 0, 'create');
  t.equal((await rt('start', id)).code, 0, 'start');
  const [del, ...states] = await Promise.all([rt('delete', '--force', id), ...Array.from({ length: 20 }, () => rt('state', id))]);
  t.equal(del.code, 0, `delete --force: ${del.stderr}`);
  for (const r of states) checkState(t, r, id);
});

t.test('state.json is never seen half-written while updates rewrite it', async (t) => {
  if (!requireRoot(t)) return;
  const { root, bundle, rt } = await setup(t);
  const id = uniqueId('race');
  t.equal((await rt('create', '--bundle', bundle, id)).code, 0, 'create');
  const file = path.join(root, id, 'state.json');
  // Read the file as fast as this process can while the updates replace it.
  let reads = 0;
  const torn: string[] = [];
  let updating = true;
  const reader = (async () => {
    while (updating) {
      const text = fs.readFileSync(file, 'utf8');
      try {
        JSON.parse(text);
      } catch {
        torn.push(text.slice(-80));
      }
      reads++;
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const updates: number[] = [];
  const states = Promise.all(Array.from({ length: 5 }, () => rt('state', id)));
  for (let i = 0; i < 5; i++) updates.push((await rt('update', '--pids-limit', String(100 + i), id)).code);
  updating = false;
  await reader;
  t.same(updates, Array(5).fill(0), 'every update succeeded');
  t.ok(reads > 0, `read state.json ${reads} times during the updates`);
  t.same(torn, [], 'never a partial file');
  for (const r of await states) {
    t.equal(r.code, 0, `state: ${r.stderr.trim()}`);
    checkState(t, r, id);
  }
  t.equal(JSON.parse(fs.readFileSync(file, 'utf8')).config.linux.resources.pids.limit, 104, 'the last update is recorded');
  t.same(fs.readdirSync(path.join(root, id)).filter((n) => n.endsWith('.tmp')), [], 'no temporary state file is left');
  t.equal((await rt('delete', '--force', id)).code, 0, 'delete --force');
});

t.test('a wedged lock holder: kill gives up after RUNTS_LOCK_TIMEOUT naming the holder, then works once it is gone', async (t) => {
  if (!requireRoot(t)) return;
  if (process.env.RUNTS_BIN) {
    t.plan(0, 'runc takes no lock across commands: nothing to time out');
    return;
  }
  const { root, bundle, rt } = await setup(t);
  const id = uniqueId();
  t.equal((await rt('create', '--bundle', bundle, id)).code, 0, 'create');
  // flock(1) takes the same flock on the state dir that every runts command takes and execs sleep.
  const holder = spawn('flock', ['--exclusive', '--no-fork', path.join(root, id), 'sleep', '1000'], { stdio: 'ignore' });
  t.teardown(() => holder.kill('SIGKILL'));
  await waitFor(() => fs.readFileSync('/proc/locks', 'utf8').includes(` ${holder.pid} `), 10_000, 'the holder has the lock');
  const began = Date.now();
  const kill = await runts(['--root', root, 'kill', id, 'KILL'], { env: { RUNTS_LOCK_TIMEOUT: '1.5' }, timeoutMs: 30_000 });
  const waited = Date.now() - began;
  t.equal(kill.code, 1, 'kill gives up with exit 1');
  t.match(kill.stderr, new RegExp(`container ${id} is locked by pid ${holder.pid}\\b.*1\\.5s`), `the error names the container and the holder: ${kill.stderr.trim()}`);
  t.ok(waited >= 1500 && waited < 15_000, `it waited about 1.5 s (${waited} ms)`);
  t.equal((await rt('state', id)).code, 0, 'state (no lock) still answers');
  holder.kill('SIGKILL');
  await new Promise((resolve) => holder.once('exit', resolve));
  const del = await runts(['--root', root, 'delete', '--force', id], { env: { RUNTS_LOCK_TIMEOUT: '1.5' } });
  t.equal(del.code, 0, `delete --force once the holder is gone: ${del.stderr}`);
});
