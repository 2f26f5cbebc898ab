// Crash safety of create: runts SIGKILLed at every named step (RUNTS_TEST_CRASH_AT). Then
// `state` must report something coherent (or a clear error), the helper must have died with
// runts unless the container was already created, and `delete` must remove every process,
// mount, cgroup and state file (leakGuard checks the host at teardown).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { deletesAll, killedAt, noStrays, recordedInit, scene, stateOf } from './crash-scene';
import { requireRoot, runts } from '../lib';

// Where create is killed, and what state must say afterwards. A create killed before its
// last write is stopped for good: its init (if any) is removed by delete.
const createPoints: [string, 'missing' | 'stopped' | 'created'][] = [
  ['create:claimed', 'missing'],
  ['create:recorded', 'stopped'],
  ['create:cgroups', 'stopped'],
  ['create:helper', 'stopped'],
  ['create:userns', 'stopped'],
  ['create:pid', 'stopped'],
  ['create:hooks', 'stopped'],
  ['create:created', 'stopped'],
  ['create:state', 'created'],
];

for (const [point, expected] of createPoints) {
  t.test(`create killed at ${point}: state is ${expected}, delete --force removes everything`, async (t) => {
    if (!requireRoot(t)) return;
    const s = await scene(t);
    killedAt(t, await s.rt(['create', '--bundle', s.bundle, s.id], point), point);
    // Before the init reports created it dies with runts (PDEATHSIG, or EOF on the sync socket).
    if (point !== 'create:created' && point !== 'create:state') await noStrays(t, s, 'the helper died with runts');
    const state = await stateOf(s);
    if (expected === 'missing') {
      t.equal(state.code, 1, 'state fails: no record yet');
      t.match(state.stderr, /container does not exist/);
    } else {
      t.equal(state.code, 0, `state: ${state.stderr}`);
      t.match(state.json, { id: s.id, status: expected, bundle: s.bundle });
      if (expected === 'stopped') {
        t.equal(state.json!.pid, 0, 'a stopped container has pid 0');
        const start = await s.rt(['start', s.id]);
        t.equal(start.code, 1, 'start refuses it');
        t.match(start.stderr, /cannot start a container that has stopped/);
      } else {
        t.ok(state.json!.pid > 0, 'created: the init pid');
      }
    }
    const list = await runts(['--root', s.root, 'list', '--format', 'json']);
    t.equal(list.code, 0, `list: ${list.stderr}`);
    await deletesAll(t, s, true);
  });
}

// An unfinished create is stopped: plain delete (no --force) must clean it up too.
t.test('create killed after its init was recorded: delete without --force removes it', async (t) => {
  if (!requireRoot(t)) return;
  const s = await scene(t);
  killedAt(t, await s.rt(['create', '--bundle', s.bundle, s.id], 'create:created'), 'create:created');
  const init = recordedInit(s);
  t.ok(init > 0, 'the record names the init');
  await deletesAll(t, s, false);
});


// Security rule 12 for unfinished records: both the creator and the init are named by pid
// and start time. Here both pids now belong to an unrelated process with another start time.
t.test('a killed create whose recorded pids were reused: stopped, and the stranger is never signalled', async (t) => {
  if (!requireRoot(t)) return;
  const s = await scene(t);
  killedAt(t, await s.rt(['create', '--bundle', s.bundle, s.id], 'create:created'), 'create:created');
  const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
  const strangerGone = new Promise((resolve) => stranger.once('exit', resolve));
  try {
    const file = path.join(s.root, s.id, 'state.json');
    const rec = JSON.parse(fs.readFileSync(file, 'utf8'));
    t.ok(rec.creator && rec.initPid > 0, 'the record is unfinished and names the init');
    rec.initPid = stranger.pid;
    rec.creator.pid = stranger.pid;
    fs.writeFileSync(`${file}.forged`, JSON.stringify(rec));
    fs.renameSync(`${file}.forged`, file);
    const state = await stateOf(s);
    t.match(state.json, { status: 'stopped', pid: 0 }, 'state: stopped, not creating, not the stranger');
    t.match((await s.rt(['kill', s.id, 'KILL'])).stderr, /container not running/, 'kill refuses');
    // delete still empties the container's own cgroup (where the real init waits): no pid guess.
    await deletesAll(t, s, false);
    t.equal(stranger.exitCode, null, 'the stranger was never signalled');
    t.equal(stranger.signalCode, null);
  } finally {
    stranger.kill('SIGKILL');
    await strangerGone;
  }
});
