// Running a runtime command the way harnesses and conmon-like callers do (issue #12 item 15):
// through test/fixtures/harness/caller.py, which sets up the caller's signal state, terminal,
// process group, leaked fds and console socket receiver, captures stdout and stderr through
// pipes and reports as JSON.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT, runtimeEnv } from './runts';

const CALLER = path.join(REPO_ROOT, 'test', 'fixtures', 'harness', 'caller.py');
// The system's python3, never a pyenv shim: its pty and signal modules are what the driver needs.
const PYTHON = '/usr/bin/python3';

export interface CallerOptions {
  /** Signal numbers the command starts with ignored (SIG_IGN survives execve). */
  ignore?: number[];
  /** Signal numbers the command starts with blocked. */
  block?: number[];
  /** A new session with a pty as the controlling terminal, the command's process group in its foreground or not. */
  tty?: 'none' | 'fg' | 'bg';
  /** The command's stdin: /dev/null (default) or that pty. */
  stdin?: 'null' | 'tty';
  /** How many more fds (pipes, socket pairs, /dev/null, pty ends) the command inherits. */
  extraFds?: number;
  /** Listen here as the --console-socket receiver: close the master at once (early) or after the
   *  command (late), or close each connection without receiving (refuse). */
  console?: { path: string; receiver: 'early' | 'late' | 'refuse' };
  /** The command's stdout into this file instead of a pipe. */
  stdoutFile?: string;
  timeoutMs?: number;
}

export interface CallerResult {
  /** 128 + N when killed by signal N. */
  code: number;
  stdout: string;
  stderr: string;
  /** How many pty masters the console receiver got. */
  consoleReceived: number;
}

/** Runs `program args...` under caller.py with `opts`; rejects if the driver itself fails or times out. */
export function runAsCaller(program: string, args: string[], opts: CallerOptions = {}): Promise<CallerResult> {
  const flags: string[] = [];
  if (opts.ignore?.length) flags.push('--ignore', opts.ignore.join(','));
  if (opts.block?.length) flags.push('--block', opts.block.join(','));
  if (opts.tty) flags.push('--tty', opts.tty);
  if (opts.stdin) flags.push('--stdin', opts.stdin);
  if (opts.extraFds) flags.push('--extra-fds', String(opts.extraFds));
  if (opts.console) flags.push('--console', opts.console.path, '--receiver', opts.console.receiver);
  if (opts.stdoutFile) flags.push('--stdout', opts.stdoutFile);
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [CALLER, ...flags, '--', program, ...args], { cwd: REPO_ROOT, env: runtimeEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`spawning ${PYTHON} ${CALLER}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const text = Buffer.concat(out).toString();
      if (code !== 0) {
        reject(new Error(`caller.py ${flags.join(' ')} -- ${program} ${args.join(' ')}: ${signal ?? `exit ${code}`}: ${Buffer.concat(err).toString().trim()}`));
        return;
      }
      resolve(JSON.parse(text) as CallerResult);
    });
  });
}
