// runts under a test harness (issue #12 item 15): "container init exited before the container
// was created" appeared about twenty times under bats-style callers and never by hand. Each
// scenario runs create/start/exec/delete and run the way such callers do (test/lib/caller.ts:
// output captured through pipes, a pty session in the foreground or not, 60+ leaked fds,
// signals ignored and blocked, a console socket receiver that closes the master early or late)
// many times, and requires that no helper exits without its reason. runc runs the same once.
// Loops per scenario: RUNTS_HARNESS_LOOPS (default 2).
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runAsCaller, RUNTS_BIN, runtsRoot, tempDir, uniqueId, type CallerOptions, type CallerResult } from '../lib';

const LOOPS = Number(process.env.RUNTS_HARNESS_LOOPS ?? 2);
// What a helper that died without saying why looks like.
const UNEXPLAINED = /exited before the container was created|init helper exited early/;
const IGNORED = [1, 2, 3, 13, 15, 21, 22]; // HUP INT QUIT PIPE TERM TTIN TTOU, as bats and nohup leave them
const BLOCKED = [10, 12, 14];

interface Scenario {
  name: string;
  caller: CallerOptions;
  terminal: boolean;
  /** With a console socket: how its receiver treats the pty master. */
  receiver?: 'early' | 'late' | 'refuse';
  /** Only a foreground `run` (a terminal without a console socket needs one). */
  runOnly?: boolean;
  /** Why runc is not run side by side here. */
  noRunc?: string;
}

const SCENARIOS: Scenario[] = [
  { name: 'pipes, pty session in the foreground, 64 leaked fds, signals ignored and blocked', caller: { tty: 'fg', extraFds: 64, ignore: IGNORED, block: BLOCKED }, terminal: false },
  { name: 'pipes, process group not in the terminal\'s foreground, SIGTTOU/SIGTTIN default', caller: { tty: 'bg', extraFds: 64 }, terminal: false },
  { name: 'pipes, no terminal, SIGPIPE ignored', caller: { extraFds: 64, ignore: [13] }, terminal: false },
  {
    name: 'terminal: true, console receiver keeps the master while the command runs',
    caller: { tty: 'bg', extraFds: 64, ignore: IGNORED },
    terminal: true,
    receiver: 'late',
    // This receiver lives as long as one command; once it closes the master, runc's init (a Go
    // process, not immune to SIGHUP as runts's pid-1 init is) dies of the hang-up.
    noRunc: 'its init dies of SIGHUP when the receiver of create closes the master before start',
  },
  { name: 'terminal: true, foreground run through the caller\'s pty', caller: { tty: 'fg', stdin: 'tty', extraFds: 64, ignore: [13] }, terminal: true, runOnly: true },
];

let socketCount = 0;

/** One caller invocation; fails the test if the runtime's error hides the helper's reason. */
async function call(t: Test, runtime: string, args: string[], scenario: Scenario, dir: string, receiver?: 'early' | 'late' | 'refuse'): Promise<CallerResult> {
  const opts: CallerOptions = { ...scenario.caller };
  if (receiver) {
    const socket = path.join(dir, `console-${++socketCount}.sock`);
    opts.console = { path: socket, receiver };
    args = [...args.slice(0, 3), '--console-socket', socket, ...args.slice(3)];
  }
  const result = await runAsCaller(runtime, args, opts);
  t.notMatch(result.stderr, UNEXPLAINED, `${path.basename(runtime)} ${args[2]}: no unexplained helper exit`);
  return result;
}

/** create, start, exec, delete and a foreground (or console) run, LOOPS times. */
async function exercise(t: Test, runtime: string, root: string, scenario: Scenario, loops: number): Promise<void> {
  const dir = tempDir(t, 'harness');
  const edit = (c: Record<string, any>) => {
    c.process.terminal = scenario.terminal;
  };
  const sleeper = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '300'], config: edit });
  const quick = await makeBundle(tempDir(t, 'bundle'), { args: ['true'], config: edit });
  const name = `${path.basename(runtime)} [${scenario.name}]`;
  for (let i = 0; i < loops; i++) {
    if (scenario.runOnly) {
      const run = await call(t, runtime, ['--root', root, 'run', '-b', quick.bundle, uniqueId('hx')], scenario, dir);
      t.equal(run.code, 0, `${name} run #${i}: ${run.stderr.trim()}`);
      continue;
    }
    const id = uniqueId('hx');
    const create = await call(t, runtime, ['--root', root, 'create', '-b', sleeper.bundle, id], scenario, dir, scenario.receiver);
    t.equal(create.code, 0, `${name} create #${i}: ${create.stderr.trim()}`);
    const start = await call(t, runtime, ['--root', root, 'start', id], scenario, dir);
    t.equal(start.code, 0, `${name} start #${i}: ${start.stderr.trim()}`);
    const execArgs = scenario.receiver ? ['exec', '-d', '-t'] : ['exec'];
    const exec = await call(t, runtime, ['--root', root, ...execArgs, id, 'true'], scenario, dir, scenario.receiver);
    t.equal(exec.code, 0, `${name} exec #${i}: ${exec.stderr.trim()}`);
    const del = await call(t, runtime, ['--root', root, 'delete', '--force', id], scenario, dir);
    t.equal(del.code, 0, `${name} delete #${i}: ${del.stderr.trim()}`);
    const runArgs = scenario.receiver ? ['run', '-d', '-b', quick.bundle] : ['run', '-b', quick.bundle];
    const runId = uniqueId('hx');
    const run = await call(t, runtime, ['--root', root, ...runArgs, runId], scenario, dir, scenario.receiver);
    t.equal(run.code, 0, `${name} run #${i}: ${run.stderr.trim()}`);
    if (scenario.receiver) await call(t, runtime, ['--root', root, 'delete', '--force', runId], scenario, dir);
  }
}

// All scenarios at once, as parallel bats jobs run (and to keep the file's time down).
t.test('create/start/exec/delete and run under harness-like callers: no helper exits without its reason', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const runcRoot = tempDir(t, 'runc-root');
  const runs: Promise<void>[] = [];
  for (const scenario of SCENARIOS) {
    t.comment(`scenario: ${scenario.name}`);
    runs.push(exercise(t, RUNTS_BIN, runtsRoot(t), scenario, LOOPS));
    if (scenario.noRunc) t.comment(`${scenario.name}: not side by side with runc: ${scenario.noRunc}`);
    else runs.push(exercise(t, 'runc', runcRoot, scenario, 1));
  }
  await Promise.all(runs);
});

/** A leak-guarded test's harness dir, state root and a bundle of `true` with a terminal. */
async function terminalSetup(t: Test) {
  leakGuard(t);
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['true'],
    config: (c) => {
      c.process!.terminal = true;
    },
  });
  return { dir: tempDir(t, 'harness'), root: runtsRoot(t), made };
}

// The receiver closes the master as soon as it has it. runc 1.1 fails create then ("error during
// container init": its setctty meets the hung-up pty). runts fails too, naming the pty, the ioctl
// and the errno: at TIOCSCTTY, or at the check before "created" when its init had set the
// terminal up before the receiver closed it. runts's init is quicker than runc's, so a receiver
// slower than the rest of create (as this Python one mostly is) lets create succeed; the
// container then runs on a hung-up terminal (runc's init would die of the SIGHUP). Either way,
// never without the reason.
t.test('terminal: true, console receiver closes the master at once: create succeeds or fails saying why; runc fails', async (t) => {
  if (!requireRoot(t)) return;
  const scenario: Scenario = { name: 'early', caller: { extraFds: 64 }, terminal: true };
  const { dir, root, made } = await terminalSetup(t);
  let failed = 0;
  for (let i = 0; i < LOOPS; i++) {
    const id = uniqueId('hx');
    const create = await call(t, RUNTS_BIN, ['--root', root, 'create', '-b', made.bundle, id], scenario, dir, 'early');
    t.equal(create.consoleReceived, 1, `#${i}: the receiver got the master`);
    if (create.code === 0) {
      t.comment(`#${i}: created before the receiver closed the master`);
      const del = await call(t, RUNTS_BIN, ['--root', root, 'delete', '--force', id], scenario, dir);
      t.equal(del.code, 0, `#${i}: delete --force: ${del.stderr.trim()}`);
      continue;
    }
    failed++;
    t.equal(create.code, 1, `#${i}: create exits 1`);
    t.match(create.stderr, /console \/dev\/pts\/\d+.*: ioctl TIOC[SG][A-Z]+: input\/output error \(the --console-socket receiver closed the pty master\)/, `#${i}: the error names the pty, the ioctl and the errno`);
    const state = await call(t, RUNTS_BIN, ['--root', root, 'state', id], scenario, dir);
    t.not(state.code, 0, `#${i}: nothing is left behind`);
  }
  t.comment(`create failed ${failed} of ${LOOPS} times`);
  const runc = await call(t, 'runc', ['--root', tempDir(t, 'runc-root'), 'create', '-b', made.bundle, uniqueId('hx')], scenario, dir, 'early');
  t.equal(runc.code, 1, `runc create fails too: ${runc.stderr.trim()}`);
});

// A receiver that accepts and closes the connection without taking the master: the send fails
// with EPIPE (never a SIGPIPE that would kill the init without a word), and the error says so.
t.test('terminal: true, console receiver closes the connection unread: create fails naming sendmsg and the errno, as runc fails', async (t) => {
  if (!requireRoot(t)) return;
  const scenario: Scenario = { name: 'refuse', caller: { extraFds: 64, ignore: IGNORED }, terminal: true };
  const { dir, root, made } = await terminalSetup(t);
  const id = uniqueId('hx');
  const create = await call(t, RUNTS_BIN, ['--root', root, 'create', '-b', made.bundle, id], scenario, dir, 'refuse');
  t.equal(create.code, 1, 'create exits 1');
  t.match(create.stderr, 'send console master to the console socket: sendmsg: broken pipe', 'the error names the syscall and the errno');
  const state = await call(t, RUNTS_BIN, ['--root', root, 'state', id], scenario, dir);
  t.not(state.code, 0, 'nothing is left behind');
  const runc = await call(t, 'runc', ['--root', tempDir(t, 'runc-root'), 'create', '-b', made.bundle, uniqueId('hx')], scenario, dir, 'refuse');
  t.equal(runc.code, 1, `runc create fails too: ${runc.stderr.trim()}`);
  t.match(runc.stderr, 'broken pipe', 'runc names EPIPE too');
});
