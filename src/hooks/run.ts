// Runs the hooks that execute in the runtime's namespaces (prestart, createRuntime,
// poststart, poststop): the state JSON on stdin, args/env as configured, a timeout in
// seconds, under the init helper as a guard that kills them when runts dies. createContainer and startContainer hooks run inside the container, in the init
// helper (native/init).
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { initHelperPath, native } from '../native';
import type { Hook } from '../spec/types';

export type RuntimeHookPhase = 'prestart' | 'createRuntime' | 'poststart' | 'poststop';

export class HookError extends Error {
  override name = 'HookError';
}

function envObject(env: readonly string[] | undefined): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const kv of env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

function trimOutput(b: Buffer | null | undefined): string {
  return (b ?? Buffer.alloc(0)).toString('utf8').trim().slice(0, 4096);
}

let guardFd: number | undefined;

/** The init helper as the hooks' guard (`--hook-guard`, native/init/hooks.h): from its sealed
 *  copy, never from the file on disk (security rule 2). Made once per runts process. */
function hookGuard(): string {
  guardFd ??= native().sealedHelper(initHelperPath);
  return `/proc/self/fd/${guardFd}`;
}

/** Why `path` cannot be exec'd, as runc words it (execve refuses a directory with EACCES);
 *  the guard would only see it after its fork. `validate --host` asks the same. */
export function execProblem(file: string): string | undefined {
  try {
    accessSync(file, fsConstants.X_OK);
    return statSync(file).isFile() ? undefined : `fork/exec ${file}: permission denied`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `fork/exec ${file}: no such file or directory`;
    if (code === 'EACCES') return `fork/exec ${file}: permission denied`;
    return `fork/exec ${file}: ${(err as Error).message}`;
  }
}

/** Run one hook; throws HookError describing how it failed. The hook runs under the guard,
 *  which kills its whole process group if runts dies or the timeout passes (security rule 17). */
export function runHook(phase: RuntimeHookPhase, index: number, hook: Hook, state: string): void {
  // Loaded here: node:child_process (with net and streams) costs every create, start and
  // delete several ms of start-up, and most containers have no hooks.
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const args = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  const problem = execProblem(hook.path);
  if (problem) throw new HookError(`error running ${phase} hook #${index} (${hook.path}): ${problem}`);
  const r = spawnSync(hookGuard(), ['--hook-guard', String(process.pid), hook.path, ...args], {
    argv0: 'runts-init',
    env: envObject(hook.env),
    input: state,
    timeout: hook.timeout ? hook.timeout * 1000 : undefined,
    // The guard kills the hook's process group and exits.
    killSignal: 'SIGTERM',
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 16 * 1024 * 1024,
  });
  const what = `error running ${phase} hook #${index} (${hook.path})`;
  // A hook need not read the state: one that exits first makes our write fail with EPIPE,
  // which is not an error; its exit status decides.
  const brokenStdin = (r.error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' && (r.status !== null || r.signal !== null);
  if (r.error && !brokenStdin) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ETIMEDOUT') throw new HookError(`${what}: hook ran past specified timeout of ${hook.timeout}s`);
    throw new HookError(`${what}: ${r.error.message}`);
  }
  if (r.status !== 0) {
    const status = r.signal ? `signal: ${r.signal}` : `exit status ${r.status}`;
    throw new HookError(`${what}: ${status}, stdout: ${trimOutput(r.stdout)}, stderr: ${trimOutput(r.stderr)}`);
  }
}

/** Run a phase's hooks in order; the first failure stops the rest. */
export function runHooks(phase: RuntimeHookPhase, hooks: readonly Hook[] | undefined, state: string): void {
  (hooks ?? []).forEach((hook, i) => runHook(phase, i, hook, state));
}
