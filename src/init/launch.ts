// Starts the init helper and holds the create-time conversation with it (protocol in
// src/plan/types.ts): sends the plan, writes user namespace maps, hands over the state for
// hooks, runs the runtime-namespace hooks when asked, and returns once the container init
// waits on exec.fifo. On any failure the helper is killed and reaped: nothing survives.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { LinuxIDMapping } from '../spec/types';
import { initHelperPath, native, PROC_SUPER_MAGIC } from '../native';
import type { ExecPlan, InitPlan } from '../plan/types';
import { readMessage, writeMessage } from './sync';

export class InitError extends Error {
  override name = 'InitError';
}

export interface LaunchOptions {
  plan: InitPlan;
  uidMappings: LinuxIDMapping[];
  gidMappings: LinuxIDMapping[];
  /** fds the helper keeps (preserved fds, a console socket end); 0-2 always pass. */
  inheritFds: number[];
  /** State JSON for hooks, once the init's host pid is known. */
  stateFor(initPid: number): string;
  /** prestart + createRuntime hooks, run when the helper asks. */
  runRuntimeHooks(state: string): void;
  warn(message: string): void;
  /** Called as soon as the init pid is known, so a later failure can still be cleaned up. */
  onInitPid?(pid: number): void;
  /** Called with the helper's pid before the plan is sent: whatever it forks later (the
   *  container init) is born where this callback puts it (its cgroups). */
  beforePlan?(stage1Pid: number): void;
}

/** Write an id map to /proc/<pid>/<file>, refusing anything that is not real procfs. */
function writeIdMap(pid: number, file: 'uid_map' | 'gid_map', mappings: LinuxIDMapping[]): void {
  const target = `/proc/${pid}/${file}`;
  const fd = openSync(target, 'w');
  try {
    if (native().fstatfsType(fd) !== PROC_SUPER_MAGIC) throw new InitError(`${target}: not on procfs`);
    const text = mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
    writeSync(fd, text);
  } catch (err) {
    if (err instanceof InitError) throw err;
    throw new InitError(`write ${target}: ${(err as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

function killAndReap(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  try {
    native().waitPid(pid);
  } catch {
    // not our child any more, or already reaped
  }
}

/** Run the helper through create; returns the container init's host pid. */
export function launchInit(opts: LaunchOptions): number {
  const helper = native().spawnInit(initHelperPath, opts.inheritFds);
  let stage1Reaped = false;
  let initPid = 0;
  const fail = (message: string): never => {
    throw new InitError(message);
  };
  try {
    opts.beforePlan?.(helper.pid);
    writeMessage(helper.syncFd, { type: 'plan', plan: opts.plan });
    for (;;) {
      const msg = readMessage(helper.syncFd);
      if (msg === null) {
        if (!stage1Reaped) {
          const st = native().waitPid(helper.pid);
          stage1Reaped = true;
          fail(`init helper exited before the container was created (${st.signal ? `signal ${st.signal}` : `exit status ${st.exitCode}`})`);
        }
        fail('container init exited before the container was created');
      }
      switch (msg!.type) {
        case 'userns':
          writeIdMap(helper.pid, 'uid_map', opts.uidMappings);
          writeIdMap(helper.pid, 'gid_map', opts.gidMappings);
          writeMessage(helper.syncFd, { type: 'userns-done' });
          break;
        case 'pid':
          initPid = msg!.pid;
          opts.onInitPid?.(initPid);
          native().waitPid(helper.pid);
          stage1Reaped = true;
          writeMessage(helper.syncFd, { type: 'state', state: opts.stateFor(initPid) });
          break;
        case 'hooks':
          opts.runRuntimeHooks(opts.stateFor(initPid));
          writeMessage(helper.syncFd, { type: 'hooks-done' });
          break;
        case 'warning':
          opts.warn(msg!.message);
          break;
        case 'error':
          fail(msg!.message);
          break;
        case 'created':
          if (!initPid) fail('init helper reported created before its pid');
          return initPid;
        default:
          fail(`init helper sent an unexpected message: ${msg!.type}`);
      }
    }
  } catch (err) {
    if (initPid) killAndReap(initPid);
    if (!stage1Reaped) killAndReap(helper.pid);
    throw err instanceof InitError ? err : new InitError((err as Error).message);
  } finally {
    closeSync(helper.syncFd);
  }
}

export interface ExecLaunchOptions {
  plan: ExecPlan;
  /** fds the helper keeps (preserved fds, a console socket end); 0-2 always pass. */
  inheritFds: number[];
  /** Called with stage1's pid before it gets the plan, i.e. before it joins anything and
   *  forks: the place to put it into the container's cgroups, which stage2 inherits. */
  beforePlan?(stage1Pid: number): void;
  /** Asked once the namespaces are joined (they were opened through /proc/<init pid>):
   *  false when the container's init is no longer the recorded process. */
  initStillRecorded(): boolean;
  /** The container's state JSON, handed to stage2 (for a seccomp agent). */
  state: string;
  warn(message: string): void;
}

/**
 * Run the helper through `runts exec` (protocol in src/plan/types.ts); returns the host pid
 * of the new process once it runs. That process is our child (CLONE_PARENT): the caller
 * reaps it. On failure the helper's stages are killed and reaped.
 */
export function launchExec(opts: ExecLaunchOptions): number {
  const helper = native().spawnInit(initHelperPath, opts.inheritFds);
  let stage1Reaped = false;
  let processPid = 0;
  const fail = (message: string): never => {
    throw new InitError(message);
  };
  try {
    opts.beforePlan?.(helper.pid);
    writeMessage(helper.syncFd, { type: 'plan', plan: opts.plan });
    for (;;) {
      const msg = readMessage(helper.syncFd);
      if (msg === null) {
        if (processPid) return processPid; // close-on-exec: the process runs
        const st = native().waitPid(helper.pid);
        stage1Reaped = true;
        fail(`init helper exited before the process started (${st.signal ? `signal ${st.signal}` : `exit status ${st.exitCode}`})`);
      }
      switch (msg!.type) {
        case 'pid':
          processPid = msg!.pid;
          native().waitPid(helper.pid);
          stage1Reaped = true;
          if (!opts.initStillRecorded()) fail('container init exited while the process joined its namespaces');
          writeMessage(helper.syncFd, { type: 'exec', state: opts.state });
          break;
        case 'warning':
          opts.warn(msg!.message);
          break;
        case 'error':
          fail(msg!.message);
          break;
        default:
          fail(`init helper sent an unexpected message: ${msg!.type}`);
      }
    }
  } catch (err) {
    if (processPid) killAndReap(processPid);
    if (!stage1Reaped) killAndReap(helper.pid);
    throw err instanceof InitError ? err : new InitError((err as Error).message);
  } finally {
    closeSync(helper.syncFd);
  }
}
