// The shim's ttrpc service containerd.task.v2.Task on a TaskService, and the publisher that
// forwards the service's events to containerd (containerd.services.events.ttrpc.v1.Events/Forward)
// one at a time, in the order raised: containerd drops a TaskExit it sees before the TaskStart.
import { nowEpochNanos } from '../state/time';
import { waitAtMost } from '../wait';
import { metricsAny } from './metrics';
import { Any, Empty, events, ForwardRequest, ProcessDetails, RuncOptions, task, type Decoded, type MessageType, type RpcStatus, type Timestamp } from './proto';
import { ShimError, ShimErrorCode, type RuncOptions as RuncOptionsValue, type TaskEvent, type TaskService } from './task-service';
import { Code, TtrpcClient, TtrpcError, type Handler } from './ttrpc';

export const TASK_SERVICE = 'containerd.task.v2.Task';
export const EVENTS_SERVICE = 'containerd.services.events.ttrpc.v1.Events';

/** Type URLs of the runtime-spec types containerd carries as JSON in an Any. */
export const SPEC_PROCESS_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
export const SPEC_LINUX_RESOURCES_URL = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';

export interface Logger {
  (level: 'info' | 'warn' | 'error', message: string): void;
}

/** An Any's type URL names `typeName` (containerd writes the bare name; Go's anypb a prefix). */
function isType(any: Any, typeName: string): boolean {
  return any.typeUrl === typeName || any.typeUrl.endsWith(`/${typeName}`);
}

function specJson(any: Any | undefined, url: string, field: string): Record<string, unknown> {
  if (!any) throw new ShimError(ShimErrorCode.InvalidArgument, `${field}: missing (want ${url})`);
  if (any.typeUrl !== url) throw new ShimError(ShimErrorCode.InvalidArgument, `${field}: type ${JSON.stringify(any.typeUrl)} is not supported (want ${url})`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(any.value).toString('utf8'));
  } catch (err) {
    throw new ShimError(ShimErrorCode.InvalidArgument, `${field}: invalid JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ShimError(ShimErrorCode.InvalidArgument, `${field}: not a JSON object`);
  return value as Record<string, unknown>;
}

/** What the CRI plugin sends as options to a runtime type that is not runc's (its config_path
 *  names a file for runtimes that read one; runts reads none). */
export const CRI_RUNTIME_OPTIONS = 'runtimeoptions.v1.Options';

/** CreateTaskRequest.options: containerd.runc.v1.Options (what ctr and CRI send for runc shims). */
export function decodeRuncOptions(any: Any | undefined): RuncOptionsValue | undefined {
  if (!any || (any.typeUrl === '' && any.value.length === 0) || isType(any, CRI_RUNTIME_OPTIONS)) return undefined;
  if (!isType(any, RuncOptions.typeName)) throw new ShimError(ShimErrorCode.InvalidArgument, `options: type ${JSON.stringify(any.typeUrl)} is not supported (want ${RuncOptions.typeName})`);
  const o = RuncOptions.decode(any.value);
  return {
    noPivotRoot: o.noPivotRoot as boolean,
    noNewKeyring: o.noNewKeyring as boolean,
    systemdCgroup: o.systemdCgroup as boolean,
    root: o.root as string,
    ioUid: o.ioUid as number,
    ioGid: o.ioGid as number,
    shimCgroup: o.shimCgroup as string,
  };
}

export interface TaskServerOptions {
  tasks: TaskService;
  /** Called once a Shutdown with `now` was answered and the shim may exit. */
  shutdown: () => void;
  log: Logger;
}

/** The handlers of containerd.task.v2.Task, by method name. */
export function taskHandlers({ tasks, shutdown, log }: TaskServerOptions): Map<string, Handler> {
  const method =
    <Req extends object, Res extends object>(request: MessageType<Req>, response: MessageType<Res>, fn: (req: Req) => Promise<Res>): Handler =>
    async (payload) =>
      response.encode(await fn(request.decode(payload)));
  type D = Decoded;
  const ref = (r: D) => ({ id: r.id as string, execId: r.execId as string });
  const exit = (e: { pid: number; exitStatus: number; exitedAt: Timestamp }) => ({ pid: e.pid, exitStatus: e.exitStatus, exitedAt: e.exitedAt });

  return new Map<string, Handler>([
    [
      'Create',
      method(task.CreateTaskRequest, task.CreateTaskResponse, async (r: D) => {
        const options = decodeRuncOptions(r.options as Any | undefined);
        return tasks.create({
          id: r.id as string,
          bundle: r.bundle as string,
          rootfs: (r.rootfs as D[]).map((mount) => ({ type: mount.type as string, source: mount.source as string, target: mount.target as string, options: mount.options as string[] })),
          terminal: r.terminal as boolean,
          stdin: r.stdin as string,
          stdout: r.stdout as string,
          stderr: r.stderr as string,
          checkpoint: r.checkpoint as string,
          ...(options ? { options } : {}),
        });
      }),
    ],
    ['Start', method(task.StartRequest, task.StartResponse, (r: D) => tasks.start(ref(r)))],
    ['State', method(task.StateRequest, task.StateResponse, async (r: D) => ({ ...(await tasks.state(ref(r))) }))],
    ['Wait', method(task.WaitRequest, task.WaitResponse, async (r: D) => exit(await tasks.wait(ref(r))))],
    ['Delete', method(task.DeleteRequest, task.DeleteResponse, async (r: D) => exit(await tasks.delete(ref(r))))],
    [
      'Kill',
      method(task.KillRequest, Empty, async (r: D) => {
        await tasks.kill({ ...ref(r), signal: r.signal as number, all: r.all as boolean });
        return {};
      }),
    ],
    [
      'Exec',
      method(task.ExecProcessRequest, task.ExecProcessResponse, async (r: D) => {
        const spec = specJson(r.spec as Any | undefined, SPEC_PROCESS_URL, 'spec');
        await tasks.exec({ ...ref(r), terminal: r.terminal as boolean, stdin: r.stdin as string, stdout: r.stdout as string, stderr: r.stderr as string, spec });
        return {};
      }),
    ],
    [
      'ResizePty',
      method(task.ResizePtyRequest, Empty, async (r: D) => {
        await tasks.resizePty({ ...ref(r), width: r.width as number, height: r.height as number });
        return {};
      }),
    ],
    [
      'CloseIO',
      method(task.CloseIORequest, Empty, async (r: D) => {
        await tasks.closeIO({ ...ref(r), stdin: r.stdin as boolean });
        return {};
      }),
    ],
    [
      'Pids',
      method(task.PidsRequest, task.PidsResponse, async (r: D) => ({
        processes: (await tasks.pids({ id: r.id as string })).map((p) =>
          p.execId ? { pid: p.pid, info: { typeUrl: ProcessDetails.typeName, value: ProcessDetails.encode({ execId: p.execId }) } } : { pid: p.pid },
        ),
      })),
    ],
    [
      'Pause',
      method(task.PauseRequest, Empty, async (r: D) => {
        await tasks.pause({ id: r.id as string });
        return {};
      }),
    ],
    [
      'Resume',
      method(task.ResumeRequest, Empty, async (r: D) => {
        await tasks.resume({ id: r.id as string });
        return {};
      }),
    ],
    [
      'Update',
      method(task.UpdateTaskRequest, Empty, async (r: D) => {
        const resources = specJson(r.resources as Any | undefined, SPEC_LINUX_RESOURCES_URL, 'resources');
        await tasks.update({ id: r.id as string, resources, annotations: r.annotations as Record<string, string> });
        return {};
      }),
    ],
    ['Stats', method(task.StatsRequest, task.StatsResponse, async (r: D) => ({ stats: metricsAny(await tasks.stats({ id: r.id as string })) }))],
    [
      'Checkpoint',
      method(task.CheckpointTaskRequest, Empty, async (r: D) => {
        throw new ShimError(ShimErrorCode.Unimplemented, `checkpoint ${r.id as string}: runts does not support checkpoint/restore`);
      }),
    ],
    [
      'Connect',
      method(task.ConnectRequest, task.ConnectResponse, async (r: D) => ({ shimPid: process.pid, taskPid: (await tasks.connect({ id: r.id as string })).taskPid })),
    ],
    [
      'Shutdown',
      method(task.ShutdownRequest, Empty, async (r: D) => {
        // containerd sends one per task it is done with: the resident stays for the namespace's
        // other and next tasks (it exits once idle, src/shim/resident.ts). `now` ends it.
        if (r.now) {
          log('info', `shutdown now (asked for task ${r.id as string})`);
          setImmediate(shutdown);
        }
        return {};
      }),
    ],
  ]);
}

/** A handler's throw → the ttrpc status: ShimError keeps its code, anything else is Internal. */
export function statusOf(err: unknown, log: Logger, method: string): RpcStatus {
  if (err instanceof ShimError || err instanceof TtrpcError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  log('error', `${method}: ${err instanceof Error && err.stack ? err.stack : message}`);
  return { code: Code.Internal, message };
}

/** The Any of an event as containerd registers it (containerd.events.<Type>). */
export function eventAny(event: TaskEvent): Any {
  const encode = <T extends object>(type: MessageType<T>, value: T): Any => ({ typeUrl: type.typeName, value: type.encode(value) });
  switch (event.topic) {
    case '/tasks/create':
      return encode(events.TaskCreate, { containerId: event.containerId, bundle: event.bundle, rootfs: event.rootfs, io: event.io, pid: event.pid });
    case '/tasks/start':
      return encode(events.TaskStart, { containerId: event.containerId, pid: event.pid });
    case '/tasks/exec-added':
      return encode(events.TaskExecAdded, { containerId: event.containerId, execId: event.execId });
    case '/tasks/exec-started':
      return encode(events.TaskExecStarted, { containerId: event.containerId, execId: event.execId, pid: event.pid });
    case '/tasks/paused':
      return encode(events.TaskPaused, { containerId: event.containerId });
    case '/tasks/resumed':
      return encode(events.TaskResumed, { containerId: event.containerId });
    case '/tasks/oom':
      return encode(events.TaskOOM, { containerId: event.containerId });
    case '/tasks/exit':
      return encode(events.TaskExit, { containerId: event.containerId, id: event.id, pid: event.pid, exitStatus: event.exitStatus, exitedAt: event.exitedAt });
    case '/tasks/delete':
      return encode(events.TaskDelete, { containerId: event.containerId, pid: event.pid, exitStatus: event.exitStatus, exitedAt: event.exitedAt, id: event.id });
  }
}

/** google.protobuf.Timestamp of now. */
export function nowTimestamp(): Timestamp {
  const ns = nowEpochNanos();
  return { seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) };
}

/** containerd's publisher gives up on an event after this many tries (runtime/v2/shim/publisher.go). */
const MAX_TRIES = 5;

/**
 * Forwards events to containerd's ttrpc address in order, one at a time; an event that fails is
 * retried (reconnecting: containerd may be restarting) up to MAX_TRIES times, then dropped.
 */
export class EventPublisher {
  private readonly queue: { topic: string; event: Any; timestamp: Timestamp; sent: () => void }[] = [];
  private client: TtrpcClient | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly address: string,
    private readonly namespace: string,
    private readonly log: Logger,
    private readonly retryDelayMs = 100,
  ) {}

  /** Queues `event`; resolves once containerd took it (or it was dropped after MAX_TRIES). */
  publish(event: TaskEvent): Promise<void> {
    return new Promise((sent) => {
      this.queue.push({ topic: event.topic, event: eventAny(event), timestamp: nowTimestamp(), sent });
      this.running ??= this.run().finally(() => (this.running = undefined));
    });
  }

  /** Resolves when every queued event was sent (or dropped), or after timeoutMs. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.running) await waitAtMost(this.running, timeoutMs);
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  private async run(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      const payload = ForwardRequest.encode({ envelope: { timestamp: next.timestamp, namespace: this.namespace, topic: next.topic, event: next.event } });
      for (let attempt = 1; ; attempt++) {
        try {
          if (!this.client || this.client.closed) this.client = await TtrpcClient.connect(this.address);
          await this.client.call(EVENTS_SERVICE, 'Forward', payload);
          break;
        } catch (err) {
          this.client?.close();
          this.client = undefined;
          if (attempt >= MAX_TRIES) {
            this.log('error', `event ${next.topic} dropped after ${attempt} tries: ${(err as Error).message}`);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs * attempt));
        }
      }
      next.sent();
    }
  }
}
