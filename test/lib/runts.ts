// Running the built runtime (bin/runts) from tests.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Test } from 'tap';
import { envWithoutTap } from './env';
import { onCleanup, tempDir } from './scope';
import { listSubdirs } from './system';
import { watch } from './watch';

/** The repository root, found from this file so tests may run from any cwd. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** The runtime under test: bin/runts, or $RUNTS_BIN (e.g. /usr/sbin/runc, to check a test against runc). */
export const RUNTS_BIN = process.env.RUNTS_BIN || path.join(REPO_ROOT, 'bin', 'runts');
/** A `wrap` for runts's own commands (validate, explain): this checkout's bin/runts, whatever RUNTS_BIN says. */
export const OWN_RUNTS = ['sh', '-c', 'shift; exec "$0" "$@"', path.join(REPO_ROOT, 'bin', 'runts')];
/** TMPDIR handed to every runts process of this test file: the leak guard checks it stays empty. */
export const RUNTIME_TMPDIR = path.join(os.tmpdir(), `runts-test-${process.pid}-runtime-tmp`);

export interface RuntsOptions {
  /** Written to the runtime's stdin, which is then closed (stdin is empty otherwise). */
  input?: string | Buffer;
  /** Added to (or, when undefined, removed from) the environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** SIGKILLs the runtime after this long (default 60 s); the result then has timedOut set. */
  timeoutMs?: number;
  /** A command line that runs runts (its argv follows), e.g. setpriv as another user. */
  wrap?: string[];
}

/** The program and argv that run runts ARGS, through `wrap` when given. */
function runtsCommand(args: string[], wrap: string[] = []): [string, string[]] {
  return wrap.length > 0 ? [wrap[0], [...wrap.slice(1), RUNTS_BIN, ...args]] : [RUNTS_BIN, args];
}

export interface RuntsResult {
  /** Exit status; 128 + signal number when killed by a signal (as a shell reports it). */
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * The environment runts runs with: the test's, minus tap's variables and the node options tap
 * injects (tap's processinfo hook would run inside runts), with TMPDIR at RUNTIME_TMPDIR
 * (made here). Use it whenever a test spawns runts by hand.
 */
export function runtimeEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  makeRuntimeTmpdir();
  return envWithoutTap({ TMPDIR: RUNTIME_TMPDIR, ...extra });
}

let runtimeTmpdirMade = false;

/** Makes RUNTIME_TMPDIR once, to be removed when this test process exits. */
export function makeRuntimeTmpdir(): void {
  if (runtimeTmpdirMade) return;
  fs.mkdirSync(RUNTIME_TMPDIR, { recursive: true });
  process.once('exit', () => fs.rmSync(RUNTIME_TMPDIR, { recursive: true, force: true }));
  runtimeTmpdirMade = true;
}

/** Runs `bin/runts ARGS...` and resolves with its exit code and output; never rejects for a non-zero exit. */
export function runts(args: string[], opts: RuntsOptions = {}): Promise<RuntsResult> {
  return new Promise((resolve, reject) => {
    const [file, argv] = runtsCommand(args, opts.wrap);
    const child = spawn(file, argv, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: runtimeEnv(opts.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const killTimer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    // A container process that outlives runts may hold the pipes open: don't wait for it forever.
    let pipeGrace: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(killTimer);
      clearTimeout(pipeGrace);
      if (!exit) return;
      const signalNumber = exit.signal ? os.constants.signals[exit.signal] : 0;
      resolve({
        code: exit.code ?? 128 + signalNumber,
        signal: exit.signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        timedOut,
      });
    };
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => {}); // runts may exit without reading its input
    child.on('error', (err) => {
      clearTimeout(killTimer);
      reject(new Error(`spawning ${RUNTS_BIN} ${args.join(' ')}: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      pipeGrace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, 2000);
    });
    child.on('close', finish);
    child.stdin.end(opts.input ?? '');
  });
}

export interface RuntsToFilesOptions {
  /** Default: the repository root. */
  cwd?: string;
  /** The whole environment (default: runtimeEnv()). */
  env?: NodeJS.ProcessEnv;
  /** Passed on as fds 3, 4, ... */
  extraFds?: number[];
  /** As RuntsOptions.wrap. */
  wrap?: string[];
}

/**
 * Runs runts with its stdout and stderr in files (under `dir`) rather than pipes. A container
 * or detached process inherits runts's stdio: with pipes, runts() would wait for it to close them.
 */
export async function runtsToFiles(dir: string, args: string[], opts: RuntsToFilesOptions = {}): Promise<RuntsResult> {
  const env = opts.env ?? runtimeEnv();
  const out = path.join(dir, `out-${process.hrtime.bigint()}`);
  const fds = [fs.openSync(`${out}.1`, 'w'), fs.openSync(`${out}.2`, 'w')];
  try {
    const [file, argv] = runtsCommand(args, opts.wrap);
    const child = spawn(file, argv, {
      cwd: opts.cwd ?? REPO_ROOT,
      env,
      stdio: ['ignore', fds[0], fds[1], ...(opts.extraFds ?? [])],
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.on('error', (err) => reject(new Error(`spawning ${RUNTS_BIN} ${args.join(' ')}: ${err.message}`)));
      child.on('exit', (c, s) => resolve([c, s]));
    });
    const read = (n: number) => fs.readFileSync(`${out}.${n}`, 'utf8');
    const signalNumber = signal ? os.constants.signals[signal] : 0;
    return { code: code ?? 128 + signalNumber, signal, stdout: read(1), stderr: read(2), timedOut: false };
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
}

/**
 * A fresh state root for this test (pass it as `--root`). At teardown, containers
 * left in it are force-deleted with runts, and then it is removed.
 */
export function runtsRoot(t: Test): string {
  const root = tempDir(t, 'root');
  watch.root(root);
  onCleanup(t, 'graceful', async () => {
    for (const id of listSubdirs(root)) {
      const result = await runts(['--root', root, 'delete', '--force', id]);
      if (result.code !== 0) {
        throw new Error(`runts --root ${root} delete --force ${id} exited ${result.code}: ${result.stderr.trim()}`);
      }
    }
  });
  return root;
}
