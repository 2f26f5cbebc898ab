// Runs the hooks that execute in the runtime's namespaces (prestart, createRuntime,
// poststart, poststop): the state JSON on stdin, args/env as configured, a timeout in
// seconds. createContainer and startContainer hooks run inside the container, in the init
// helper (native/init).
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

/** Run one hook; throws HookError describing how it failed. */
export function runHook(phase: RuntimeHookPhase, index: number, hook: Hook, state: string): void {
  // Loaded here: node:child_process (with net and streams) costs every create, start and
  // delete several ms of start-up, and most containers have no hooks.
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const args = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  const r = spawnSync(hook.path, args.slice(1), {
    argv0: args[0],
    env: envObject(hook.env),
    input: state,
    timeout: hook.timeout ? hook.timeout * 1000 : undefined,
    killSignal: 'SIGKILL',
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
    if (code === 'ENOENT') throw new HookError(`${what}: fork/exec ${hook.path}: no such file or directory`);
    if (code === 'EACCES') throw new HookError(`${what}: fork/exec ${hook.path}: permission denied`);
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
