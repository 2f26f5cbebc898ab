// The user's process starts with every signal disposition default and an empty signal mask
// (issue #12 item 15), whatever its caller ignored or blocked: bats and some shells ignore
// signals, and glibc's posix_spawn (how the addon starts the init helper) leaves its internal
// signals 32 and 33 ignored. Before, runts's processes showed SigIgn 0x180000000; runc's show
// no ignored signal (but the caller's blocked ones, which runts now clears as well).
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runAsCaller, RUNTS_BIN, runtsRoot, tempDir, uniqueId, type CallerOptions } from '../lib';

// The caller ignores HUP INT QUIT USR1 PIPE TERM TTIN TTOU and blocks USR2 and ALRM.
const CALLER: CallerOptions = { ignore: [1, 2, 3, 10, 13, 15, 21, 22], block: [12, 14] };

interface SignalState {
  ignored: bigint;
  blocked: bigint;
}

/** SigIgn and SigBlk of a /proc/PID/status text. */
function signalState(status: string): SignalState {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status);
    if (!m) throw new Error(`no ${name} in ${JSON.stringify(status)}`);
    return BigInt(`0x${m[1]}`);
  };
  return { ignored: field('SigIgn'), blocked: field('SigBlk') };
}

const hex = (n: bigint) => `0x${n.toString(16)}`;

/** The user process's signal state under `runtime` for run, create+start and exec. */
async function statesUnder(t: Test, runtime: string, root: string): Promise<Record<string, SignalState>> {
  const dir = tempDir(t, 'sig');
  const states: Record<string, SignalState> = {};
  // The process reads its own status: cat is a busybox applet that touches no signal.
  const made = await makeBundle(tempDir(t, 'bundle'), { args: ['cat', '/proc/self/status'] });

  const run = await runAsCaller(runtime, ['--root', root, 'run', '-b', made.bundle, uniqueId('sig')], CALLER);
  t.equal(run.code, 0, `${runtime} run: ${run.stderr.trim()}`);
  states.run = signalState(run.stdout);

  // create's stdout is the container's: a file, which the process writes after start.
  const id = uniqueId('sig');
  const out = path.join(dir, 'created.out');
  const create = await runAsCaller(runtime, ['--root', root, 'create', '-b', made.bundle, id], { ...CALLER, stdoutFile: out });
  t.equal(create.code, 0, `${runtime} create: ${create.stderr.trim()}`);
  const start = await runAsCaller(runtime, ['--root', root, 'start', id], CALLER);
  t.equal(start.code, 0, `${runtime} start: ${start.stderr.trim()}`);
  const deadline = Date.now() + 10_000;
  while (!/SigBlk/.test(fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  states['create+start'] = signalState(fs.readFileSync(out, 'utf8'));
  const deleted = await runAsCaller(runtime, ['--root', root, 'delete', '--force', id], CALLER);
  t.equal(deleted.code, 0, `${runtime} delete: ${deleted.stderr.trim()}`);

  const sleeper = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '300'] });
  const running = uniqueId('sig');
  const detached = await runAsCaller(runtime, ['--root', root, 'run', '-d', '-b', sleeper.bundle, running], CALLER);
  t.equal(detached.code, 0, `${runtime} run -d: ${detached.stderr.trim()}`);
  const exec = await runAsCaller(runtime, ['--root', root, 'exec', running, 'cat', '/proc/self/status'], CALLER);
  t.equal(exec.code, 0, `${runtime} exec: ${exec.stderr.trim()}`);
  states.exec = signalState(exec.stdout);
  const stopped = await runAsCaller(runtime, ['--root', root, 'delete', '--force', running], CALLER);
  t.equal(stopped.code, 0, `${runtime} delete --force: ${stopped.stderr.trim()}`);
  return states;
}

t.test('run, create+start and exec: no signal ignored or blocked in the user process, under a caller that ignores and blocks some', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const states = await statesUnder(t, RUNTS_BIN, runtsRoot(t));
  for (const [mode, state] of Object.entries(states)) {
    t.equal(hex(state.ignored), '0x0', `${mode}: SigIgn is empty`);
    t.equal(hex(state.blocked), '0x0', `${mode}: SigBlk is empty`);
  }
});

t.test('runc side by side: it resets every disposition too (it keeps the caller\'s blocked signals, runts does not)', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const states = await statesUnder(t, 'runc', tempDir(t, 'runc-root'));
  for (const [mode, state] of Object.entries(states)) {
    t.equal(hex(state.ignored), '0x0', `runc ${mode}: SigIgn is empty`);
    t.comment(`runc ${mode}: SigBlk ${hex(state.blocked)}`);
  }
});
