// Starts the init helper and holds the create-time conversation with it (protocol in
// src/init/protocol.ts): sends the plan, writes user namespace maps, hands over the state for
// hooks, runs the runtime-namespace hooks when asked, and returns once the container init
// waits on exec.fifo. On any failure the helper is killed and reaped: nothing survives.
import { EngineError } from '../errors';
import { closeSync } from 'node:fs';
import type { LinuxIDMapping } from '../spec/types';
import { crashPoint } from '../container/crash-point';
import { constants } from 'node:os';
import { initHelperPath, native, type WaitStatus } from '../native';
import { writeIdMaps } from '../rootless/idmap';
import type { ExecPlan, InitPlan } from '../plan/types';
import { readMessage, writeMessage, type SyncMessage } from './protocol';

export class InitError extends EngineError {
  override name = 'InitError';
}

export interface LaunchOptions {
  plan: InitPlan;
  uidMappings: LinuxIDMapping[];
  gidMappings: LinuxIDMapping[];
  /** fds the helper keeps (preserved fds, a console socket end); 0-2 always pass. */
  inheritFds: number[];
  /** The helper's fds 0-2 when not ours (foreground stdio pipes). */
  stdio?: [number, number, number];
  /** State JSON for hooks, once the init's host pid is known. */
  stateFor(initPid: number): string;
  /** prestart + createRuntime hooks, run when the helper asks. */
  runRuntimeHooks(state: string): void;
  warn(message: string): void;
  /** Given the route netlink socket the init made in the container's network namespace
   *  (plan.netlinkSocket); the socket is closed once this returns. */
  onNetlinkSocket?(sock: number, initPid: number): void;
  /** Called as soon as the init pid is known, so a later failure can still be cleaned up. */
  onInitPid?(pid: number): void;
  /** Called with the helper's pid before the plan is sent: whatever it forks later (the
   *  container init) is born where this callback puts it (its cgroups, unless the plan has
   *  the helper join them itself). */
  beforePlan?(stage1Pid: number): void;
}

/** How a helper stage ended, for the error that says it ended too early. */
function describeExit(st: WaitStatus): string {
  if (st.signal === undefined) return `exit status ${st.exitCode}`;
  const name = Object.entries(constants.signals).find(([, n]) => n === st.signal)?.[0];
  return `killed by signal ${name ?? st.signal}`;
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

/** One run of the helper: its stage1 pid, our end of the sync socket, and its stage2. */
interface Session {
  readonly stage1Pid: number;
  send(msg: SyncMessage): void;
  /** The fd the helper sends right after its last message. */
  receiveFd(): number;
  /** stage1 reported stage2's pid and exits: reap it; stage2 is now ours to clean up. */
  adoptStage2(pid: number): void;
  readonly stage2Pid: number;
  /** After EOF: waits for stage2 and says how it ended (its reason, when it sent none). */
  reapStage2(): string;
}

/**
 * Start the helper, send the plan, and feed every message to `onMessage` until it returns
 * a result (or, at EOF, `atEof` does). warning and error messages are handled here. On any
 * failure both stages are killed and reaped, and an InitError is thrown.
 */
function converse<T>(
  plan: InitPlan | ExecPlan,
  common: { inheritFds: number[]; stdio?: [number, number, number]; beforePlan?(stage1Pid: number): void; warn(message: string): void },
  onMessage: (msg: SyncMessage, session: Session) => T | undefined,
  atEof: (session: Session) => T,
): T {
  // The v2 cgroup directory the helper clones stage2 into is its alone once it is spawned.
  const cgroupFd = plan.cgroupJoin?.unified?.fd;
  let helper: { pid: number; syncFd: number };
  try {
    helper = native().spawnInit(initHelperPath, cgroupFd === undefined ? common.inheritFds : [...common.inheritFds, cgroupFd], common.stdio);
  } finally {
    if (cgroupFd !== undefined) closeSync(cgroupFd);
  }
  let stage1Reaped = false;
  let stage2Pid = 0;
  let stage2Reaped = false;
  const session: Session = {
    stage1Pid: helper.pid,
    send: (msg) => {
      try {
        writeMessage(helper.syncFd, msg);
      } catch (err) {
        // The helper failed and exited meanwhile: the error it sent before is still ours to
        // read, which the loop does next.
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
      }
    },
    receiveFd: () => native().recvFd(helper.syncFd),
    adoptStage2(pid) {
      stage2Pid = pid;
      native().waitPid(helper.pid);
      stage1Reaped = true;
    },
    get stage2Pid() {
      return stage2Pid;
    },
    reapStage2() {
      const st = native().waitPid(stage2Pid);
      stage2Reaped = true;
      return describeExit(st);
    },
  };
  try {
    common.beforePlan?.(helper.pid);
    session.send({ type: 'plan', plan });
    for (;;) {
      const msg = readMessage(helper.syncFd);
      if (msg === null) {
        if (!stage1Reaped && !stage2Pid) {
          const st = native().waitPid(helper.pid);
          stage1Reaped = true;
          throw new InitError(`init helper exited early (${describeExit(st)})`);
        }
        return atEof(session);
      }
      if (msg.type === 'warning') {
        common.warn(msg.message);
        continue;
      }
      if (msg.type === 'error') throw new InitError(msg.message);
      const result = onMessage(msg, session);
      if (result !== undefined) return result;
    }
  } catch (err) {
    if (stage2Pid && !stage2Reaped) killAndReap(stage2Pid);
    if (!stage1Reaped) killAndReap(helper.pid);
    throw err instanceof InitError ? err : new InitError((err as Error).message);
  } finally {
    closeSync(helper.syncFd);
  }
}

function unexpected(msg: SyncMessage): never {
  throw new InitError(`init helper sent an unexpected message: ${msg.type}`);
}

/** Run the helper through create; returns the container init's host pid. */
export function launchInit(opts: LaunchOptions): number {
  return converse<number>(
    opts.plan,
    opts,
    (msg, session) => {
      switch (msg.type) {
        case 'userns':
          writeIdMaps(session.stage1Pid, opts.uidMappings, opts.gidMappings);
          crashPoint('create:userns');
          session.send({ type: 'userns-done' });
          return undefined;
        case 'pid':
          session.adoptStage2(msg.pid);
          opts.onInitPid?.(msg.pid);
          session.send({ type: 'state', state: opts.stateFor(msg.pid) });
          return undefined;
        case 'hooks':
          opts.runRuntimeHooks(opts.stateFor(session.stage2Pid));
          session.send({ type: 'hooks-done' });
          return undefined;
        case 'netlink': {
          const sock = session.receiveFd();
          try {
            if (!opts.onNetlinkSocket) throw new InitError('init helper sent a netlink socket nobody asked for');
            opts.onNetlinkSocket(sock, session.stage2Pid);
          } finally {
            closeSync(sock);
          }
          session.send({ type: 'netlink-done' });
          return undefined;
        }
        case 'created':
          if (!session.stage2Pid) throw new InitError('init helper reported created before its pid');
          return session.stage2Pid;
        default:
          return unexpected(msg);
      }
    },
    // The helper reports every failure it sees; an exit without one is a signal (or a bug):
    // say which, so the caller is not left guessing.
    (session) => {
      throw new InitError(`container init exited before the container was created (${session.reapStage2()})`);
    },
  );
}

export interface ExecLaunchOptions {
  plan: ExecPlan;
  /** fds the helper keeps (preserved fds, a console socket end); 0-2 always pass. */
  inheritFds: number[];
  /** The helper's fds 0-2 when not ours (foreground stdio pipes). */
  stdio?: [number, number, number];
  /** Called with stage1's pid before it gets the plan, i.e. before it joins anything and
   *  forks: the place to put it into the container's cgroups, which stage2 inherits (unless
   *  the plan has the helper join them itself). */
  beforePlan?(stage1Pid: number): void;
  /** Asked once the namespaces are joined (they were opened through /proc/<init pid>):
   *  false when the container's init is no longer the recorded process. */
  initStillRecorded(): boolean;
  /** The container's state JSON, handed to stage2 (for a seccomp agent). */
  state: string;
  warn(message: string): void;
}

/**
 * Run the helper through `runts exec` (protocol in src/init/protocol.ts); returns the host pid
 * of the new process once it runs. That process is our child (CLONE_PARENT): the caller
 * reaps it. On failure the helper's stages are killed and reaped.
 */
export function launchExec(opts: ExecLaunchOptions): number {
  return converse<number>(
    opts.plan,
    opts,
    (msg, session) => {
      if (msg.type !== 'pid') return unexpected(msg);
      session.adoptStage2(msg.pid);
      if (!opts.initStillRecorded()) throw new InitError('container init exited while the process joined its namespaces');
      session.send({ type: 'exec', state: opts.state, pid: msg.pid });
      return undefined;
    },
    // The sync socket is close-on-exec: EOF after the pid means the process runs.
    (session) => session.stage2Pid,
  );
}
