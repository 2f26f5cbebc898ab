// The shim's task side: containerd's task v2 API (src/shim/task-service.ts) carried out by the
// runts engine in this process. State lives in the engine's store (the same directories `runts
// --root` reads), so the CLI sees and can clean up what the shim made. What the shim adds to the
// engine is what a resident parent can do: it holds the processes' stdio (src/shim/stdio.ts),
// learns their exits as their parent and subreaper (src/shim/reaper.ts), mounts the rootfs
// layers (src/shim/rootfs.ts) and raises the task events in containerd's order.
import { closeSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { shellStatus } from '../console/foreground';
import { NotExistError, RuntimeError, errnoMessage } from '../errors';
import { cgroupsOf, killCgroupMembers } from '../container/cgroups';
import { containerProcesses, containerStats, pauseContainer, resumeContainer, updateContainer } from '../container/control';
import { createContainer } from '../container/create';
import { startExecProcess } from '../container/exec';
import { deleteContainer, killContainer, startContainer } from '../container/lifecycle';
import { native, type WaitStatus } from '../native';
import { PlanError } from '../plan/build';
import { SpecError } from '../spec/errors';
import type { LinuxResources, Spec } from '../spec/types';
import { openContainer } from '../state/open';
import { nowEpochNanos } from '../state/time';
import { waitAtMost } from '../wait';
import { Reaper } from './reaper';
import { joinShimCgroup } from './shim-cgroup';
import { mountRootfs, unmountAll } from './rootfs';
import { ProcessIO, type StdioRequest } from './stdio';
import {
  ShimError,
  ShimErrorCode,
  TaskStatus,
  type CloseIORequest,
  type CreateTaskRequest,
  type ExecProcessRequest,
  type ExitInfo,
  type KillRequest,
  type ProcessInfo,
  type ProcessRef,
  type ResizePtyRequest,
  type StateResponse,
  type TaskEvent,
  type TaskService,
  type TaskStats,
  type Timestamp,
  type RuncOptions,
  type UpdateTaskRequest,
} from './task-service';

export interface ShimTasksOptions {
  /** The containerd namespace the shim serves (its -namespace flag). */
  namespace: string;
  /** The state root when a task's RuncOptions.root is empty; default
   *  /run/containerd/runts/<namespace>, as runc's shim uses /run/containerd/runc/<namespace>. */
  root?: string;
}

const SIGKILL = 9;
/** How often a live task's OOM-kill counter is read. */
const OOM_POLL_MS = 200;
/** How long an exit waits for containerd to take the OOM event that came with it. */
const OOM_DELIVERY_MS = 2000;
/** How long delete waits for a process's output to be copied out (runc's shim: 2 s). */
const DRAIN_TIMEOUT_MS = 2000;
/** In the bundle: the task's runc options, as runc's shim keeps them for its cleanup. */
const OPTIONS_FILE = 'options.json';

function now(): Timestamp {
  const ns = nowEpochNanos();
  return { seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) };
}

/** The state root of a namespace's tasks when their options name none. */
export function defaultStateRoot(namespace: string): string {
  return path.join('/run/containerd/runts', namespace);
}

/** BUNDLE/options.json with runc's JSON field names (omitted when zero, as Go's omitempty). */
function writeOptions(bundle: string, options: RuncOptions): void {
  const json: Record<string, unknown> = {
    no_pivot_root: options.noPivotRoot,
    no_new_keyring: options.noNewKeyring,
    systemd_cgroup: options.systemdCgroup,
    root: options.root,
    io_uid: options.ioUid,
    io_gid: options.ioGid,
    shim_cgroup: options.shimCgroup,
  };
  for (const [key, value] of Object.entries(json)) if (!value) delete json[key];
  writeFileSync(path.join(bundle, OPTIONS_FILE), JSON.stringify(json), { mode: 0o600 });
}

function readRootOption(bundle: string): string {
  try {
    const root = (JSON.parse(readFileSync(path.join(bundle, OPTIONS_FILE), 'utf8')) as { root?: unknown }).root;
    return typeof root === 'string' ? root : '';
  } catch {
    return '';
  }
}

/**
 * containerd's cleanup of a task whose shim is gone (`containerd-shim-runts-v2 delete`, run in
 * the bundle): force-delete the container through the engine (killing what is left of it),
 * unmount BUNDLE/rootfs, and report what runc's shim reports then: SIGKILL, now.
 */
export function cleanupContainer(opts: { namespace: string; id: string; bundle: string }): ExitInfo {
  const root = readRootOption(opts.bundle) || defaultStateRoot(opts.namespace);
  try {
    deleteContainer(root, opts.id, true);
  } catch (err) {
    if (!(err instanceof NotExistError)) throw shimError(err, ShimErrorCode.Internal);
  }
  try {
    unmountAll(path.join(opts.bundle, 'rootfs'));
  } catch (err) {
    throw shimError(err, ShimErrorCode.Internal);
  }
  return { pid: 0, exitStatus: 128 + SIGKILL, exitedAt: now() };
}

/** One process of a task: the init (execId "") or an exec process. */
class TaskProcess {
  pid = 0;
  io: ProcessIO | null = null;
  exit: ExitInfo | null = null;
  readonly exited: Promise<ExitInfo>;
  private resolveExit!: (info: ExitInfo) => void;

  constructor(
    readonly execId: string,
    readonly stdio: StdioRequest,
    /** An exec process's runtime-spec process (until it is started). */
    readonly spec?: Record<string, unknown>,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get started(): boolean {
    return this.pid !== 0;
  }

  setExited(status: WaitStatus): void {
    this.exit = { pid: this.pid, exitStatus: shellStatus(status), exitedAt: now() };
    this.resolveExit(this.exit);
  }
}

class Task {
  readonly init: TaskProcess;
  readonly execs = new Map<string, TaskProcess>();
  /** The init was started (containerd's Start without an exec id succeeded). */
  running = false;
  /** The init exited; its exit is published once no exec process is left. */
  initStatus: WaitStatus | null = null;
  /** The init's exit waits for containerd to take its OOM event. */
  exitHeld = false;
  /** Resolves once containerd took the last OOM event published (unset when it has). */
  oomDelivery: Promise<void> | undefined;
  cgroups: ReturnType<typeof cgroupsOf>;
  oomKills = 0;
  oomTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    readonly bundle: string,
    readonly root: string,
    /** BUNDLE/rootfs when the shim mounted the layers there. */
    readonly rootfsMounted: string | null,
    readonly ownPidNs: boolean,
    stdio: StdioRequest,
    /** Owner of the pipes its processes get (RuncOptions.ioUid/ioGid). */
    readonly ioOwner: { uid: number; gid: number } = { uid: 0, gid: 0 },
  ) {
    this.init = new TaskProcess('', stdio);
  }
}

/** The engine's RuntimeError for a user mistake becomes a ShimError with the code containerd
 *  maps: `stateCode` for a wrong state, NotFound for an unknown container. */
function shimError(err: unknown, stateCode: ShimErrorCode): ShimError {
  if (err instanceof ShimError) return err;
  if (err instanceof NotExistError) return new ShimError(ShimErrorCode.NotFound, `container ${err.id}: ${err.message}`);
  if (err instanceof SpecError || err instanceof PlanError) return new ShimError(ShimErrorCode.InvalidArgument, err.message);
  if (err instanceof RuntimeError) {
    if (/already exists/.test(err.message)) return new ShimError(ShimErrorCode.AlreadyExists, err.message);
    return new ShimError(stateCode, err.message);
  }
  return new ShimError(ShimErrorCode.Internal, errnoMessage(err));
}

/** Run `action`, turning what it throws into a ShimError. */
async function mapped<T>(stateCode: ShimErrorCode, action: () => T | Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    throw shimError(err, stateCode);
  }
}

function closeQuietly(fd: number | null): void {
  if (fd === null) return;
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** Give the process's output up to DRAIN_TIMEOUT_MS to be copied out, then close its stdio. */
async function closeIO(proc: TaskProcess): Promise<void> {
  if (!proc.io) return;
  await waitAtMost(proc.io.drained, DRAIN_TIMEOUT_MS);
  await proc.io.close();
}

export class ShimTasks implements TaskService {
  private readonly tasks = new Map<string, Task>();
  private readonly reaper = new Reaper();
  private publish: (event: TaskEvent) => Promise<void> | void = () => undefined;
  private readonly defaultRoot: string;
  /** The shim_cgroup this process joined (the first a task's options named). */
  private shimCgroup: string | undefined;

  constructor(private readonly opts: ShimTasksOptions) {
    this.defaultRoot = opts.root ?? defaultStateRoot(opts.namespace);
  }

  onEvent(publish: (event: TaskEvent) => Promise<void> | void): void {
    this.publish = publish;
  }

  isEmpty(): boolean {
    return this.tasks.size === 0;
  }

  private task(id: string): Task {
    const task = this.tasks.get(id);
    if (!task) throw new ShimError(ShimErrorCode.NotFound, `container ${id}: not found`);
    return task;
  }

  private process(ref: ProcessRef): { task: Task; proc: TaskProcess } {
    const task = this.task(ref.id);
    if (!ref.execId) return { task, proc: task.init };
    const proc = task.execs.get(ref.execId);
    if (!proc) throw new ShimError(ShimErrorCode.NotFound, `container ${ref.id}: exec process ${ref.execId}: not found`);
    return { task, proc };
  }

  async create(req: CreateTaskRequest): Promise<{ pid: number }> {
    if (req.checkpoint) throw new ShimError(ShimErrorCode.Unimplemented, `container ${req.id}: checkpoint/restore is not supported by runts`);
    if (this.tasks.has(req.id)) throw new ShimError(ShimErrorCode.AlreadyExists, `container ${req.id}: already exists`);
    const options = req.options;
    if (options?.shimCgroup && this.shimCgroup === undefined) {
      try {
        joinShimCgroup(options.shimCgroup, process.pid);
      } catch (err) {
        throw new ShimError(ShimErrorCode.FailedPrecondition, `container ${req.id}: ${errnoMessage(err)}`);
      }
      this.shimCgroup = options.shimCgroup;
    }
    const root = options?.root || this.defaultRoot;
    const bundle = path.resolve(req.bundle);
    const stdio: StdioRequest = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal };
    // Claimed before the first await, so a concurrent create of the same id is refused.
    const ioOwner = { uid: options?.ioUid ?? 0, gid: options?.ioGid ?? 0 };
    const placeholder = new Task(req.id, bundle, root, null, true, stdio, ioOwner);
    this.tasks.set(req.id, placeholder);
    let rootfs: string | null = null;
    let io: ProcessIO | null = null;
    let pair: [number, number] | null = null;
    let initPid = 0;
    try {
      // For the cleanup after a dead shim, which finds the state root there.
      if (options) await mapped(ShimErrorCode.Internal, () => writeOptions(bundle, options));
      rootfs = await mapped(ShimErrorCode.Internal, () => mountRootfs(bundle, req.rootfs));
      io = await mapped(ShimErrorCode.InvalidArgument, () =>
        ProcessIO.open(stdio, { containerId: req.id, namespace: this.opts.namespace, ...ioOwner }),
      );
      pair = req.terminal ? native().socketPair() : null;
      const made = await mapped(ShimErrorCode.Internal, () =>
        createContainer({
          root,
          id: req.id,
          bundle,
          consoleFd: pair?.[1],
          stdio: io!.processFds,
          noPivot: options?.noPivotRoot ?? false,
          preserveFds: 0,
          // With a terminal the pty master comes to us over `pair`, as to a foreground run.
          detached: !req.terminal,
          systemdCgroup: options?.systemdCgroup ?? false,
        }),
      );
      initPid = made.pid;
      io.closeProcessEnds();
      const spec = made.record.config as Spec;
      if (req.terminal) {
        // The helper sends the master only for a process with a terminal: do not wait for one
        // that will never come.
        if (spec.process?.terminal !== true) throw new ShimError(ShimErrorCode.InvalidArgument, `container ${req.id}: the task asks for a terminal but config.json has process.terminal false`);
        io.attachConsole(native().recvFd(pair![0]));
      }
      const task = new Task(req.id, bundle, root, rootfs, spec.linux?.namespaces?.some((ns) => ns.type === 'pid' && !ns.path) === true, stdio, ioOwner);
      task.init.pid = made.pid;
      task.init.io = io;
      task.cgroups = cgroupsOf(made.record);
      task.oomKills = task.cgroups?.oomKillCount() ?? 0;
      this.tasks.set(req.id, task);
      this.publish({ topic: '/tasks/create', containerId: req.id, bundle, rootfs: req.rootfs, io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal }, pid: made.pid });
      this.watchOom(task);
      this.reaper.watch(made.pid, (status) => this.initExited(task, status));
      return { pid: made.pid };
    } catch (err) {
      this.tasks.delete(req.id);
      if (initPid) {
        try {
          deleteContainer(root, req.id, true);
          // Killed and seen dead by delete: our child, reaped at once.
          native().waitPid(initPid);
        } catch {
          // the original error is what the caller needs
        }
      }
      await io?.close();
      if (rootfs) unmountAll(rootfs);
      throw err;
    } finally {
      if (pair) pair.forEach(closeQuietly);
    }
  }

  async start(ref: ProcessRef): Promise<{ pid: number }> {
    const { task, proc } = this.process(ref);
    if (ref.execId) return this.startExec(task, proc);
    if (task.running || task.init.exit) throw new ShimError(ShimErrorCode.FailedPrecondition, `container ${ref.id}: cannot start a task that was already started`);
    await mapped(ShimErrorCode.FailedPrecondition, () => startContainer(task.root, task.id));
    task.running = true;
    this.publish({ topic: '/tasks/start', containerId: task.id, pid: task.init.pid });
    return { pid: task.init.pid };
  }

  private async startExec(task: Task, proc: TaskProcess): Promise<{ pid: number }> {
    if (proc.started) throw new ShimError(ShimErrorCode.FailedPrecondition, `container ${task.id}: exec process ${proc.execId} was already started`);
    if (task.initStatus) throw new ShimError(ShimErrorCode.FailedPrecondition, `container ${task.id}: cannot exec in a stopped container`);
    const io = await mapped(ShimErrorCode.InvalidArgument, () =>
      ProcessIO.open(proc.stdio, { containerId: task.id, namespace: this.opts.namespace, ...task.ioOwner }),
    );
    const pair = proc.stdio.terminal ? native().socketPair() : null;
    try {
      const pid = await mapped(ShimErrorCode.FailedPrecondition, () =>
        startExecProcess({
          root: task.root,
          id: task.id,
          process: { ...proc.spec, terminal: proc.stdio.terminal },
          stdio: io.processFds,
          consoleFd: pair?.[1],
          args: [],
          env: [],
          tty: proc.stdio.terminal,
          additionalGids: [],
          caps: [],
          noNewPrivs: false,
          detach: true,
          preserveFds: 0,
          ignorePaused: false,
        }),
      );
      io.closeProcessEnds();
      if (pair) io.attachConsole(native().recvFd(pair[0]));
      proc.pid = pid;
      proc.io = io;
    } catch (err) {
      await io.close();
      throw err;
    } finally {
      if (pair) pair.forEach(closeQuietly);
    }
    // Published before the exit can be: watch() may see it at once.
    this.publish({ topic: '/tasks/exec-started', containerId: task.id, execId: proc.execId, pid: proc.pid });
    this.reaper.watch(proc.pid, (status) => this.execExited(task, proc, status));
    return { pid: proc.pid };
  }

  /** The init exited: as runc's shim, everything else of a container without its own pid
   *  namespace is killed (with one, the kernel has done that); exec processes still running
   *  are killed, and the init's exit is published after theirs. */
  private initExited(task: Task, status: WaitStatus): void {
    task.initStatus = status;
    this.checkOom(task);
    this.stopOomWatch(task);
    // Through the cgroup: the engine's kill refuses a container whose init is gone (security
    // rule 13: nothing escapes by forking). Without a cgroup the kernel has nothing to go by.
    if (!task.ownPidNs && task.cgroups) {
      try {
        killCgroupMembers(task.cgroups);
      } catch {
        // nothing left to kill
      }
    }
    for (const exec of task.execs.values()) {
      // An unreaped child of ours: its pid cannot have been reused.
      if (exec.started && !exec.exit) process.kill(exec.pid, SIGKILL);
    }
    const oomDelivery = task.oomDelivery;
    if (!oomDelivery) return this.finishInit(task);
    // containerd's CRI plugin takes the exit from Wait, not from the event stream: were Wait
    // answered before containerd had the OOM event, the container would be reported "Error",
    // not "OOMKilled". runc's shim gets the kernel's OOM notification before the exit.
    task.exitHeld = true;
    void waitAtMost(oomDelivery, OOM_DELIVERY_MS).then(() => {
      task.exitHeld = false;
      this.finishInit(task);
    });
  }

  private execExited(task: Task, proc: TaskProcess, status: WaitStatus): void {
    proc.setExited(status);
    const exit = proc.exit!;
    if (this.serves(task)) this.publish({ topic: '/tasks/exit', containerId: task.id, id: proc.execId, pid: exit.pid, exitStatus: exit.exitStatus, exitedAt: exit.exitedAt });
    if (task.initStatus) this.finishInit(task);
  }

  /** Whether `task` is still served here: an abandoned one's exits are containerd's to report. */
  private serves(task: Task): boolean {
    return this.tasks.get(task.id) === task;
  }

  private finishInit(task: Task): void {
    if (task.init.exit || !task.initStatus || task.exitHeld) return;
    if ([...task.execs.values()].some((e) => e.started && !e.exit)) return;
    task.init.setExited(task.initStatus);
    const exit = task.init.exit!;
    if (this.serves(task)) this.publish({ topic: '/tasks/exit', containerId: task.id, id: task.id, pid: exit.pid, exitStatus: exit.exitStatus, exitedAt: exit.exitedAt });
  }

  private watchOom(task: Task): void {
    if (!task.cgroups || task.cgroups.oomKillCount() === undefined) return;
    task.oomTimer = setInterval(() => this.checkOom(task), OOM_POLL_MS);
    task.oomTimer.unref();
  }

  /** Publishes an OOM event when the cgroup's OOM-kill count rose. */
  private checkOom(task: Task): void {
    if (!this.serves(task)) return;
    const count = task.cgroups?.oomKillCount();
    if (count === undefined || count <= task.oomKills) return;
    task.oomKills = count;
    const delivery = this.publish({ topic: '/tasks/oom', containerId: task.id });
    if (!delivery) return;
    task.oomDelivery = delivery;
    void delivery.then(() => {
      if (task.oomDelivery === delivery) task.oomDelivery = undefined;
    });
  }

  private stopOomWatch(task: Task): void {
    if (task.oomTimer) clearInterval(task.oomTimer);
    task.oomTimer = null;
  }

  async state(ref: ProcessRef): Promise<StateResponse> {
    const { task, proc } = this.process(ref);
    let status: TaskStatus;
    if (proc.exit) status = TaskStatus.Stopped;
    else if (!proc.started || (!ref.execId && !task.running)) status = TaskStatus.Created;
    else if (ref.execId) status = TaskStatus.Running;
    else status = await mapped(ShimErrorCode.NotFound, () => this.engineStatus(task));
    return {
      id: ref.execId || task.id,
      bundle: task.bundle,
      pid: proc.pid,
      status,
      stdin: proc.stdio.stdin,
      stdout: proc.stdio.stdout,
      stderr: proc.stdio.stderr,
      terminal: proc.stdio.terminal,
      exitStatus: proc.exit?.exitStatus ?? 0,
      exitedAt: proc.exit?.exitedAt,
      execId: ref.execId,
    };
  }

  private engineStatus(task: Task): TaskStatus {
    const { handle, status } = openContainer(task.root, task.id, { lock: false });
    handle.close();
    // A container stopped but not reaped yet still counts as running until its exit is known.
    return status === 'paused' ? TaskStatus.Paused : TaskStatus.Running;
  }

  async wait(ref: ProcessRef): Promise<ExitInfo> {
    const { proc } = this.process(ref);
    return proc.exited;
  }

  async kill(req: KillRequest): Promise<void> {
    const { task, proc } = this.process(req);
    if (proc.exit) throw new ShimError(ShimErrorCode.NotFound, `container ${req.id}${req.execId ? ` exec ${req.execId}` : ''}: process already finished`);
    if (req.execId) {
      if (!proc.started) throw new ShimError(ShimErrorCode.FailedPrecondition, `container ${req.id} exec ${req.execId}: process not started`);
      // Our unreaped child: the pid is still its.
      await mapped(ShimErrorCode.NotFound, () => process.kill(proc.pid, req.signal));
      return;
    }
    await mapped(ShimErrorCode.NotFound, () => killContainer(task.root, task.id, req.signal, req.all));
  }

  async exec(req: ExecProcessRequest): Promise<void> {
    const task = this.task(req.id);
    if (task.execs.has(req.execId)) throw new ShimError(ShimErrorCode.AlreadyExists, `container ${req.id}: exec process ${req.execId} already exists`);
    if (task.initStatus) throw new ShimError(ShimErrorCode.FailedPrecondition, `container ${req.id}: container is not running`);
    task.execs.set(req.execId, new TaskProcess(req.execId, { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal }, req.spec));
    this.publish({ topic: '/tasks/exec-added', containerId: req.id, execId: req.execId });
  }

  async resizePty(req: ResizePtyRequest): Promise<void> {
    const { proc } = this.process(req);
    if (!proc.io || !proc.stdio.terminal) throw new ShimError(ShimErrorCode.FailedPrecondition, `container ${req.id}: the process has no terminal`);
    await mapped(ShimErrorCode.FailedPrecondition, () => proc.io!.resize(req.width, req.height));
  }

  async closeIO(req: CloseIORequest): Promise<void> {
    const { proc } = this.process(req);
    if (req.stdin) proc.io?.closeStdin();
  }

  async pids(req: { id: string }): Promise<ProcessInfo[]> {
    const task = this.task(req.id);
    const pids = await mapped(ShimErrorCode.NotFound, () => containerProcesses(task.root, task.id));
    const execIds = new Map([...task.execs.values()].filter((e) => e.started).map((e) => [e.pid, e.execId]));
    return pids.map((pid) => (execIds.has(pid) ? { pid, execId: execIds.get(pid) } : { pid }));
  }

  async pause(req: { id: string }): Promise<void> {
    const task = this.task(req.id);
    await mapped(ShimErrorCode.FailedPrecondition, () => pauseContainer(task.root, task.id));
    this.publish({ topic: '/tasks/paused', containerId: task.id });
  }

  async resume(req: { id: string }): Promise<void> {
    const task = this.task(req.id);
    await mapped(ShimErrorCode.FailedPrecondition, () => resumeContainer(task.root, task.id));
    this.publish({ topic: '/tasks/resumed', containerId: task.id });
  }

  async update(req: UpdateTaskRequest): Promise<void> {
    const task = this.task(req.id);
    await mapped(ShimErrorCode.FailedPrecondition, () => updateContainer(task.root, task.id, () => req.resources as LinuxResources));
  }

  async stats(req: { id: string }): Promise<TaskStats> {
    const task = this.task(req.id);
    return mapped(ShimErrorCode.FailedPrecondition, () => containerStats(task.root, task.id));
  }

  async delete(ref: ProcessRef): Promise<ExitInfo> {
    const { task, proc } = this.process(ref);
    if (ref.execId) {
      if (proc.started && !proc.exit) throw new ShimError(ShimErrorCode.FailedPrecondition, `container ${ref.id}: exec process ${ref.execId} is running`);
      task.execs.delete(ref.execId);
      await closeIO(proc);
      return proc.exit ?? { pid: 0, exitStatus: 0, exitedAt: now() };
    }
    if (task.running && !task.init.exit) throw new ShimError(ShimErrorCode.FailedPrecondition, `container ${ref.id}: cannot delete a running task`);
    // A created task that never started: delete kills its init, whose exit is then reaped.
    await mapped(ShimErrorCode.FailedPrecondition, () => {
      try {
        deleteContainer(task.root, task.id, false);
      } catch (err) {
        if (!(err instanceof NotExistError)) throw err; // already deleted through the CLI
      }
    });
    if (!task.init.exit) {
      // Its exit may not be reaped yet (the SIGCHLD is on its way, or the init went before the
      // exec processes did).
      for (const exec of task.execs.values()) if (exec.started && !exec.exit) process.kill(exec.pid, SIGKILL);
      await task.init.exited;
    }
    this.stopOomWatch(task);
    for (const exec of task.execs.values()) await closeIO(exec);
    await closeIO(task.init);
    if (task.rootfsMounted) await mapped(ShimErrorCode.Internal, () => unmountAll(task.rootfsMounted!));
    this.tasks.delete(task.id);
    const exit = task.init.exit!;
    this.publish({ topic: '/tasks/delete', containerId: task.id, id: task.id, pid: exit.pid, exitStatus: exit.exitStatus, exitedAt: exit.exitedAt });
    return exit;
  }

  /**
   * containerd lost the task's connection and runs `delete` for it (through the launcher): a
   * task still served here is killed and forgotten, without events (containerd publishes them
   * itself then), so that it does not keep the resident up. The engine's forced delete and the
   * rootfs unmount follow in cleanupContainer.
   */
  async abandon(id: string): Promise<void> {
    const task = this.tasks.get(id);
    if (!task) return;
    this.tasks.delete(id);
    this.stopOomWatch(task);
    try {
      deleteContainer(task.root, id, true);
    } catch (err) {
      if (!(err instanceof NotExistError)) throw shimError(err, ShimErrorCode.Internal);
    }
    for (const exec of task.execs.values()) if (exec.started && !exec.exit) process.kill(exec.pid, SIGKILL);
    if (task.init.pid !== 0) await waitAtMost(task.init.exited, DRAIN_TIMEOUT_MS);
    for (const exec of task.execs.values()) await closeIO(exec);
    await closeIO(task.init);
  }

  async connect(req: { id: string }): Promise<{ taskPid: number }> {
    return { taskPid: this.task(req.id).init.pid };
  }

  /** Stop watching for exits (the shim is shutting down). */
  close(): void {
    for (const task of this.tasks.values()) this.stopOomWatch(task);
    this.reaper.close();
  }
}
