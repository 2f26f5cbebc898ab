// exec: run one more process in a running (or created) container, as runc does. The init
// helper joins every namespace of the container's init that differs from ours (user first,
// then the pid namespace, so the process is forked into it) and the container's cgroups
// (src/cgroups/join.ts); the process is planned like the init's, from
// --process FILE or from the container's own process with the flags applied. Foreground:
// relay the terminal (or the stdio pipes), forward signals, exit with the process's status
// (128+N for signal N); --detach: return once the process runs. Every failure exits 255,
// in runc's words.
import { closeSync, readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import { callerConsoleSize, relayConsole } from '../console/proxy';
import { finishForeground } from '../console/foreground';
import type { ConsoleRelay } from '../console/proxy';
import { StdioPipes } from '../console/pipes';
import { errnoMessage, RuntimeError } from '../errors';
import { InitError, launchExec } from '../init/launch';
import { log } from '../log';
import { native } from '../native';
import { buildExecProcess, PlanError } from '../plan/build';
import { lastKernelCapability } from '../plan/capabilities';
import type { ExecPlan, NamespaceType } from '../plan/types';
import { describeFsError, SpecError } from '../spec/errors';
import type { Process, Spec } from '../spec/types';
import { validateProcess } from '../spec/validate';
import { isAlive } from '../state/process';
import { openContainer } from '../state/open';
import { stateObject } from '../state/status';
import { callerLimits, checkRootlessProcess, setgroupsDenied } from '../rootless/checks';
import { currentIds } from '../rootless/idmap';
import { isRootlessEuid } from '../rootless/mode';
import { asRuntimeError, cgroupsOf, helperCgroupJoin } from './cgroups';
import { crashPoint } from './crash-point';
import { writePidFile } from './pid-file';
import { rootIdsOf } from './userns';
import { preservedFds } from './preserve-fds';
import { forwardSignals } from './signals';

export interface ExecOptions {
  root: string;
  id: string;
  /** --process FILE: the whole process, used as written; the process flags are ignored. */
  processFile?: string;
  /** The command and its arguments (without --process). */
  args: string[];
  cwd?: string;
  /** KEY=VALUE entries appended to the container's process env. */
  env: string[];
  tty: boolean;
  /** "uid[:gid]" */
  user?: string;
  additionalGids: number[];
  /** Capability names added to the bounding, effective and permitted sets. */
  caps: string[];
  noNewPrivs: boolean;
  /** --apparmor, --process-label: replace the container's process labels when non-empty. */
  apparmor?: string;
  processLabel?: string;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  ignorePaused: boolean;
  /** In-process callers (the shim): the whole runtime-spec process, used as given (validated
   *  like --process FILE); the process flags are ignored. */
  process?: unknown;
  /** In-process callers: the process's fds 0-2 (instead of ours, or of foreground pipes). */
  stdio?: [number, number, number];
  /** In-process callers with a terminal: the socket end the pty master is sent to. */
  consoleFd?: number;
}

/** Exit status of `exec` when the process could not be started (runc's). */
const EXEC_FAILED = 255;

/** Namespace types in the order they are joined (user first), with their /proc/PID/ns names. */
const NAMESPACE_FILES: [NamespaceType, string][] = [
  ['user', 'user'],
  ['ipc', 'ipc'],
  ['uts', 'uts'],
  ['network', 'net'],
  ['pid', 'pid'],
  ['mount', 'mnt'],
  ['cgroup', 'cgroup'],
  ['time', 'time'],
];

function namespaceLink(file: string): string | null {
  try {
    return readlinkSync(file);
  } catch {
    return null;
  }
}

/** /proc/<init>/ns/<type> for every namespace of the init that is not the runtime's own. */
function namespacesToJoin(initPid: number): ExecPlan['namespaces']['join'] {
  const join: ExecPlan['namespaces']['join'] = [];
  for (const [type, file] of NAMESPACE_FILES) {
    const theirs = `/proc/${initPid}/ns/${file}`;
    const link = namespaceLink(theirs);
    const ours = namespaceLink(`/proc/self/ns/${file}`);
    if (link === null && ours !== null) throw new RuntimeError('cannot exec in a stopped container');
    if (link !== ours) join.push({ type, path: theirs });
  }
  // Without a mount namespace of its own the process would see the runtime's root.
  if (!join.some((ns) => ns.type === 'mount')) throw new RuntimeError('container has no mount namespace of its own');
  return join;
}

/** --process FILE, validated as a runtime-spec process (errors name the file). */
function processFromFile(file: string, opts: ExecOptions): Process {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RuntimeError(describeFsError(err, file, 'open'));
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new RuntimeError(`${file}: invalid JSON: ${(err as Error).message}`);
  }
  return validateProcess(raw, { file, consoleSocket: opts.consoleSocket, detached: opts.detach });
}

/** Go's strconv.Atoi, with its error text. */
function atoi(text: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
  return Number(text);
}

/** The container's own process with the exec flags applied, as runc 1.1 builds it. */
function processFromFlags(config: Spec, opts: ExecOptions): Process {
  const p: Process = structuredClone(config.process ?? { cwd: '/' });
  p.args = [...opts.args];
  if (opts.cwd) p.cwd = opts.cwd;
  p.env = [...(p.env ?? []), ...opts.env];
  p.terminal = opts.tty;
  if (opts.noNewPrivs) p.noNewPrivileges = true;
  if (opts.apparmor) p.apparmorProfile = opts.apparmor;
  if (opts.processLabel) p.selinuxLabel = opts.processLabel;
  if (opts.caps.length > 0) {
    const caps = (p.capabilities ??= {});
    caps.bounding = [...(caps.bounding ?? []), ...opts.caps];
    caps.effective = [...(caps.effective ?? []), ...opts.caps];
    caps.permitted = [...(caps.permitted ?? []), ...opts.caps];
    // The kernel raises an ambient capability only if it is also inheritable.
    if (caps.inheritable) caps.ambient = [...(caps.ambient ?? []), ...opts.caps];
  }
  const user = (p.user ??= {});
  if (opts.user) {
    const [uid, gid] = opts.user.split(/:(.*)/s);
    if (gid !== undefined) {
      try {
        user.gid = atoi(gid);
      } catch (err) {
        throw new RuntimeError(`parsing ${gid} as int for gid failed: ${(err as Error).message}`);
      }
    }
    try {
      user.uid = atoi(uid);
    } catch (err) {
      throw new RuntimeError(`parsing ${uid} as int for uid failed: ${(err as Error).message}`);
    }
  }
  for (const gid of opts.additionalGids) {
    if (!Number.isInteger(gid) || gid < 0) throw new RuntimeError(`additional-gids must be a positive number ${gid}`);
    user.additionalGids = [...(user.additionalGids ?? []), gid];
  }
  if (!p.cwd) throw new RuntimeError('Cwd property must not be empty');
  if (!path.posix.isAbsolute(p.cwd)) throw new RuntimeError('Cwd must be an absolute path');
  return validateProcess(p, { file: 'process', consoleSocket: opts.consoleSocket, detached: opts.detach });
}

interface Started {
  pid: number;
  /** Our end of the socket pair that receives the pty master (foreground terminal). */
  consoleEnd: number | null;
  /** The process's stdio (foreground without a terminal), ready to relay. */
  pipes: StdioPipes | null;
}

/** Checks the container, plans the process and starts it; returns once it runs. */
function startProcess(opts: ExecOptions): Started {
  const { handle, rec, status } = openContainer(opts.root, opts.id, { lock: true });
  try {
    if (status === 'stopped') throw new RuntimeError('cannot exec in a stopped container');
    if (status === 'paused') {
      if (!opts.ignorePaused) throw new RuntimeError('cannot exec in a paused container (use --ignore-paused to override)');
      // The process freezes as it joins the cgroups until `resume`, which needs the lock.
      handle.close();
    }
    if (!opts.processFile && opts.process === undefined && opts.args.length === 0) throw new RuntimeError('process args cannot be empty');
    const config = rec.config as Spec;
    const spec =
      opts.process !== undefined
        ? validateProcess(opts.process, { file: 'process', consoleSocket: opts.consoleSocket, detached: opts.detach && opts.consoleFd === undefined })
        : opts.processFile
          ? processFromFile(opts.processFile, opts)
          : processFromFlags(config, opts);
    const terminal = spec.terminal === true;
    if (isRootlessEuid()) checkRootlessProcess(spec, 'process', callerLimits(), setgroupsDenied(config, currentIds()));
    const planned = buildExecProcess(config, spec, lastKernelCapability());
    planned.warnings.forEach((w) => log.warn(w));
    planned.notes.forEach((n) => log.debug(n));

    const pair = terminal && !opts.consoleSocket && opts.consoleFd === undefined ? native().socketPair() : null;
    const consoleFd = pair ? pair[1] : opts.consoleFd;
    // runc's rule: in the foreground without a terminal the process gets pipes, owned by
    // the container's root; detached, it inherits our stdio.
    let pipes: StdioPipes | null = null;
    try {
      if (!opts.detach && !terminal && !opts.stdio) {
        pipes = new StdioPipes();
        const root = rootIdsOf(rec.initPid);
        pipes.chown(root.uid, root.gid);
      }
      const join = namespacesToJoin(rec.initPid);
      const inheritFds = preservedFds(opts.preserveFds);
      if (terminal && consoleFd !== undefined) inheritFds.push(consoleFd);
      const cgroups = cgroupsOf(rec);
      const plan: ExecPlan = {
        mode: 'exec',
        containerId: rec.id,
        namespaces: { join },
        console: !terminal ? null : consoleFd !== undefined ? { fd: consoleFd } : { socketPath: path.resolve(opts.consoleSocket!) },
        preserveFds: opts.preserveFds,
        process: pair && !planned.process.consoleSize ? { ...planned.process, consoleSize: callerConsoleSize() ?? null } : planned.process,
        cgroupJoin: helperCgroupJoin(cgroups, join.some((ns) => ns.type === 'user')),
      };
      const pid = launchExec({
        plan,
        inheritFds,
        stdio: pipes?.containerFds ?? opts.stdio,
        // stage2, forked later, is born in the container's cgroups (as the init was).
        beforePlan: (stage1Pid) => {
          if (!plan.cgroupJoin) asRuntimeError(() => cgroups?.join(stage1Pid));
          crashPoint('exec:helper');
        },
        initStillRecorded: () => {
          crashPoint('exec:joined');
          return isAlive(rec.initPid, rec.initStartTime);
        },
        state: JSON.stringify(stateObject(rec, status)),
        warn: (m) => log.warn(m),
      });
      crashPoint('exec:started');
      if (opts.pidFile) {
        try {
          writePidFile(opts.pidFile, pid);
        } catch (err) {
          // A caller that gets no pid file cannot manage the process: it must not run.
          process.kill(pid, 'SIGKILL');
          native().waitPid(pid);
          throw err;
        }
      }
      return { pid, consoleEnd: pair ? pair[0] : null, pipes };
    } catch (err) {
      if (pair) closeSync(pair[0]);
      pipes?.close();
      throw err;
    } finally {
      if (pair) closeSync(pair[1]);
      pipes?.closeContainerEnds();
    }
  } finally {
    handle.close();
  }
}

/** Waits for the foreground process like a shell: relays its terminal or its stdio pipes,
 *  forwards signals. */
async function waitForeground(started: Started): Promise<number> {
  let relay: ConsoleRelay | null = null;
  if (started.consoleEnd !== null) {
    try {
      relay = relayConsole(native().recvFd(started.consoleEnd));
    } finally {
      closeSync(started.consoleEnd);
    }
  }
  // The process is our unreaped child: its pid cannot be reused while we signal it.
  const stopForwarding = forwardSignals((signo) => {
    try {
      process.kill(started.pid, signo);
    } catch {
      // it has just exited
    }
  });
  try {
    return await finishForeground(started.pid, relay, started.pipes);
  } finally {
    stopForwarding();
  }
}

/** Starts the process (detached: the caller gets the pid of its child and reaps it); every
 *  failure is a RuntimeError with status 255, in runc's words. */
function startOrFail(opts: ExecOptions): Started {
  try {
    preservedFds(opts.preserveFds);
    return startProcess(opts);
  } catch (err) {
    const message =
      err instanceof InitError ? `unable to start container process: ${err.message}` : err instanceof RuntimeError || err instanceof SpecError || err instanceof PlanError ? err.message : errnoMessage(err);
    throw new RuntimeError(`exec failed: ${message}`, { exitCode: EXEC_FAILED, cause: err });
  }
}

/** In-process exec (the shim): starts the process with the given `process`, `stdio` and
 *  `consoleFd`, returns its pid (our child, which the caller reaps) once it runs. */
export function startExecProcess(opts: ExecOptions): number {
  return startOrFail({ ...opts, detach: true }).pid;
}

/** runts exec: resolves to the exit status; every failure is a RuntimeError with status 255. */
export async function execContainer(opts: ExecOptions): Promise<number> {
  const started = startOrFail(opts);
  // A detached process with a terminal sent its pty master to --console-socket.
  if (opts.detach) return 0;
  return waitForeground(started);
}
