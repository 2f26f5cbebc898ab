// The contract between the shim's wire side (ttrpc + protobuf, src/shim/server.ts) and its task
// side (the engine called in-process, src/shim/tasks.ts). Requests and replies mirror containerd's
// task v2 API (api/runtime/task/v2/shim.proto) field for field, in camelCase, with every `Any`
// already decoded by the wire side: the task side never sees protobuf.
import { Code as ShimErrorCode } from './ttrpc';

/** containerd.v1.types.Status */
export enum TaskStatus {
  Unknown = 0,
  Created = 1,
  Running = 2,
  Stopped = 3,
  Paused = 4,
  Pausing = 5,
}

/** containerd.types.Mount: a rootfs layer mount the shim performs at BUNDLE/rootfs. */
export interface RootfsMount {
  type: string;
  source: string;
  target: string;
  options: string[];
}

/** containerd.runc.v1.Options (CreateTaskRequest.options), the fields runts honours. */
export interface RuncOptions {
  noPivotRoot: boolean;
  noNewKeyring: boolean;
  systemdCgroup: boolean;
  /** Where the state store lives (runc's --root); empty = runts's default for the namespace. */
  root: string;
  /** Owner of the FIFOs/pipes the shim creates for stdio. */
  ioUid: number;
  ioGid: number;
  /** Cgroup to move the shim itself into ("" = leave it). */
  shimCgroup: string;
}

/** Wall-clock time with nanoseconds (google.protobuf.Timestamp). */
export interface Timestamp {
  seconds: bigint;
  nanos: number;
}

export interface CreateTaskRequest {
  id: string;
  bundle: string;
  rootfs: RootfsMount[];
  terminal: boolean;
  /** FIFO paths, or for stdout/stderr a `binary://` or `file://` URI; "" = none. */
  stdin: string;
  stdout: string;
  stderr: string;
  /** Non-empty: checkpoint/restore, which runts refuses with Unimplemented. */
  checkpoint: string;
  options?: RuncOptions;
}

export interface ExecProcessRequest {
  id: string;
  execId: string;
  terminal: boolean;
  stdin: string;
  stdout: string;
  stderr: string;
  /** The runtime-spec Process (the Any carried it as JSON). */
  spec: Record<string, unknown>;
}

/** Requests that name a container and, when execId is non-empty, one of its exec processes. */
export interface ProcessRef {
  id: string;
  execId: string;
}

export interface StateResponse {
  id: string;
  bundle: string;
  pid: number;
  status: TaskStatus;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exitStatus: number;
  exitedAt?: Timestamp;
  execId: string;
}

export interface KillRequest extends ProcessRef {
  signal: number;
  all: boolean;
}

export interface ResizePtyRequest extends ProcessRef {
  width: number;
  height: number;
}

export interface CloseIORequest extends ProcessRef {
  stdin: boolean;
}

export interface UpdateTaskRequest {
  id: string;
  /** runtime-spec LinuxResources (the Any carried it as JSON). */
  resources: Record<string, unknown>;
  annotations: Record<string, string>;
}

export interface ExitInfo {
  pid: number;
  exitStatus: number;
  exitedAt: Timestamp;
}

/** containerd.v1.types.ProcessInfo; info (an Any) is not filled, as runc's shim leaves it for
 *  processes that are not exec processes. */
export interface ProcessInfo {
  pid: number;
  /** The exec id when this pid is one of the task's exec processes. */
  execId?: string;
}

/** The container's cgroup statistics; the wire side encodes them as
 *  io.containerd.cgroups.v1.Metrics or io.containerd.cgroups.v2.Metrics. `data` has the shape
 *  `runts events --stats` prints (src/cgroups/stats.ts collectStats). */
export interface TaskStats {
  cgroupVersion: 1 | 2;
  data: Record<string, unknown>;
}

/** Events the task side raises; the wire side publishes them to containerd in the order raised
 *  (topics /tasks/create, /tasks/start, /tasks/exec-added, /tasks/exec-started, /tasks/paused,
 *  /tasks/resumed, /tasks/oom, /tasks/exit, /tasks/delete). */
export type TaskEvent =
  | { topic: '/tasks/create'; containerId: string; bundle: string; rootfs: RootfsMount[]; io: { stdin: string; stdout: string; stderr: string; terminal: boolean }; pid: number }
  | { topic: '/tasks/start'; containerId: string; pid: number }
  | { topic: '/tasks/exec-added'; containerId: string; execId: string }
  | { topic: '/tasks/exec-started'; containerId: string; execId: string; pid: number }
  | { topic: '/tasks/paused'; containerId: string }
  | { topic: '/tasks/resumed'; containerId: string }
  | { topic: '/tasks/oom'; containerId: string }
  | { topic: '/tasks/exit'; containerId: string; id: string; pid: number; exitStatus: number; exitedAt: Timestamp }
  | { topic: '/tasks/delete'; containerId: string; pid: number; exitStatus: number; exitedAt: Timestamp; id: string };

/** The task side answers with the gRPC status codes containerd maps to its errdefs. */
export { ShimErrorCode };

/** A failure the wire side returns as a ttrpc status with this code and message. */
export class ShimError extends Error {
  constructor(
    readonly code: ShimErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ShimError';
  }
}

/** The task service of one shim process; it may serve several containers (grouping). Every method
 *  throws ShimError for expected failures. */
export interface TaskService {
  create(req: CreateTaskRequest): Promise<{ pid: number }>;
  start(req: ProcessRef): Promise<{ pid: number }>;
  state(req: ProcessRef): Promise<StateResponse>;
  /** Resolves when the process has exited (at once if it already has). */
  wait(req: ProcessRef): Promise<ExitInfo>;
  kill(req: KillRequest): Promise<void>;
  exec(req: ExecProcessRequest): Promise<void>;
  resizePty(req: ResizePtyRequest): Promise<void>;
  closeIO(req: CloseIORequest): Promise<void>;
  pids(req: { id: string }): Promise<ProcessInfo[]>;
  pause(req: { id: string }): Promise<void>;
  resume(req: { id: string }): Promise<void>;
  update(req: UpdateTaskRequest): Promise<void>;
  stats(req: { id: string }): Promise<TaskStats>;
  /** Removes the process (exec) or the container (task); the container's rootfs mounts too. */
  delete(req: ProcessRef): Promise<ExitInfo>;
  /** The task's init pid (0 when not created); the shim's own pid is the wire side's. */
  connect(req: { id: string }): Promise<{ taskPid: number }>;
  /** True when no container is left, so the shim process may exit. */
  isEmpty(): boolean;
  /** Every event the service raises goes through this callback; a promise it returns
   *  resolves once containerd has the event (the OOM event is awaited before the exit). */
  onEvent(publish: (event: TaskEvent) => Promise<void> | void): void;
}
