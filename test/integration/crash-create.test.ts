// Crash safety of create, first half: runts SIGKILLed at each named step before the init
// exists (RUNTS_TEST_CRASH_AT). `state` must report something coherent (or a clear error),
// the helper must die with runts, and `delete --force` must remove every process, mount,
// cgroup and state file (leakGuard checks the host at teardown).
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { leakGuard, requireRoot, runts, runtsRoot, uniqueId } from '../lib';
import { canCrash, created, killedAt, scene, stateOf, testCreateKilledAt, deletesAll } from './crash-scene';

// A create killed before its last write is stopped for good; before its first, there is
// no record yet (and the ID is free again, below).
testCreateKilledAt('create:claimed', 'missing');
testCreateKilledAt('create:recorded', 'stopped');
testCreateKilledAt('create:cgroups', 'stopped');
testCreateKilledAt('create:helper', 'stopped');
testCreateKilledAt('create:userns', 'stopped');

// A create killed between its mkdir and its first record leaves a directory without
// state.json. state and list do not show it (as runc), and the ID is free: a new create takes
// it over (runc refuses that one with "container with id exists").
t.test('create killed at create:claimed: create of the same ID then succeeds', async (t) => {
  if (!canCrash(t)) return;
  const s = await scene(t);
  killedAt(t, await s.rt(['create', '--bundle', s.bundle, s.id], 'create:claimed'), 'create:claimed');
  t.same(fs.readdirSync(path.join(s.root, s.id)), [], 'the killed create left its state dir, empty');
  const list = await runts(['--root', s.root, 'list', '-q']);
  t.equal(list.stdout.trim(), '', 'list does not show it');
  await created(t, s);
  const state = await stateOf(s);
  t.match(state.json, { id: s.id, status: 'created' }, `state: ${state.stderr}`);
  await deletesAll(t, s, true);
});

// runc removes such a directory on delete, with or without --force; without it, delete still
// says the container does not exist. Runs against runc too (RUNTS_BIN).
t.test('a state dir without a record: state says it does not exist, delete removes it', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  for (const force of [false, true]) {
    const id = uniqueId('ghost');
    fs.mkdirSync(path.join(root, id), { recursive: true, mode: 0o700 });
    const state = await runts(['--root', root, 'state', id]);
    t.equal(state.code, 1, 'state fails');
    t.match(state.stderr, /container does not exist/);
    const del = await runts(['--root', root, 'delete', ...(force ? ['--force'] : []), id]);
    t.equal(del.code, force ? 0 : 1, `delete${force ? ' --force' : ''}: exit ${del.code} ${del.stderr.trim()}`);
    if (!force) t.match(del.stderr, /container does not exist/);
    t.notOk(fs.existsSync(path.join(root, id)), 'the dir is removed');
  }
});
