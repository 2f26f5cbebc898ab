// Crash safety of create, second half: runts SIGKILLed once the init exists
// (RUNTS_TEST_CRASH_AT). Before the init reports created it dies with runts; after, it
// waits, and the unfinished record still lets delete remove it. Also: reused pids in an
// unfinished record are never signalled (security rule 12).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { canCrash, deletesAll, killedAt, recordedInit, scene, stateOf, testCreateKilledAt } from './crash-scene';

testCreateKilledAt('create:pid', 'stopped');
testCreateKilledAt('create:hooks', 'stopped');
testCreateKilledAt('create:created', 'stopped');
testCreateKilledAt('create:state', 'created');

// An unfinished create is stopped: plain delete (no --force) must clean it up too.
t.test('create killed after its init was recorded: delete without --force removes it', async (t) => {
  if (!canCrash(t)) return;
  const s = await scene(t);
  killedAt(t, await s.rt(['create', '--bundle', s.bundle, s.id], 'create:created'), 'create:created');
  const init = recordedInit(s);
  t.ok(init > 0, 'the record names the init');
  await deletesAll(t, s, false);
});


// Security rule 12 for unfinished records: both the creator and the init are named by pid
// and start time. Here both pids now belong to an unrelated process with another start time.
t.test('a killed create whose recorded pids were reused: stopped, and the stranger is never signalled', async (t) => {
  if (!canCrash(t)) return;
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
