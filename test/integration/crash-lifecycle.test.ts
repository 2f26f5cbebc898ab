// Crash safety of start, delete and exec: runts SIGKILLed at each named step
// (RUNTS_TEST_CRASH_AT). The container must stay coherent (state, a second start or delete
// that finishes the job) and `delete` must remove everything (leakGuard checks the host).
import t from 'tap';
import { canCrash, created, deletesAll, killedAt, running, scene, stateOf, strays } from './crash-scene';
import { runts, waitFor } from '../lib';

for (const point of ['start:released', 'start:unlinked']) {
  t.test(`start killed at ${point}: the container runs, a second start fails instead of hanging`, async (t) => {
    if (!canCrash(t)) return;
    const s = await scene(t);
    await created(t, s);
    killedAt(t, await s.rt(['start', s.id], point), point);
    await waitFor(async () => (await stateOf(s)).json?.status === 'running', 15_000, 'state says running');
    const again = await runts(['--root', s.root, 'start', s.id], { timeoutMs: 20_000 });
    t.notOk(again.timedOut, 'the second start returns');
    t.equal(again.code, 1);
    t.match(again.stderr, /cannot start an already running container/);
    await deletesAll(t, s, true);
  });
}

for (const point of ['delete:killed', 'delete:cgroups']) {
  t.test(`delete killed at ${point}: stopped, and a second delete finishes the job`, async (t) => {
    if (!canCrash(t)) return;
    const s = await scene(t);
    await running(t, s);
    killedAt(t, await s.rt(['delete', '--force', s.id], point), point);
    const state = await stateOf(s);
    t.equal(state.code, 0, `state: ${state.stderr}`);
    t.match(state.json, { status: 'stopped', pid: 0 });
    await deletesAll(t, s, false);
  });
}

for (const point of ['exec:helper', 'exec:joined', 'exec:started']) {
  t.test(`exec killed at ${point}: the container keeps running, delete --force removes everything`, async (t) => {
    if (!canCrash(t)) return;
    const s = await scene(t);
    await running(t, s);
    killedAt(t, await s.rt(['exec', '--detach', s.id, 'sleep', '999'], point), point);
    const helpers = () => strays(s).filter((p) => !/sleep (1000|999)/.test(p));
    await waitFor(() => helpers().length === 0, 10_000, 'helper gone').catch(() => {});
    t.same(helpers(), [], 'the exec helper died with runts');
    const execd = strays(s).some((p) => /sleep 999/.test(p));
    // Only once the process runs (exec:started) does it outlive runts, inside the container.
    t.equal(execd, point === 'exec:started', 'the exec process runs only if it was started');
    t.match((await stateOf(s)).json, { status: 'running' });
    await deletesAll(t, s, true);
  });
}
