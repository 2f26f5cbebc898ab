// Protobuf codecs for what the shim exchanges with containerd, written from the field numbers of
// containerd 1.6's protos (api/runtime/task/v2/shim.proto, api/events/task.proto,
// api/types/mount.proto, api/services/ttrpc/events/v1/events.proto, runtime/v2/runc/options/oci.proto),
// github.com/containerd/cgroups' metrics protos, google.protobuf Any/Timestamp/Empty and ttrpc's
// own Request/Response. A message is a table of fields; @bufbuild/protobuf's wire reader and writer
// do the encoding (no generated code: the shim's bundle stays small).
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

type Scalar = 'string' | 'bytes' | 'bool' | 'uint32' | 'int32' | 'uint64' | 'int64';

interface Field {
  no: number;
  name: string;
  kind: Scalar | MessageType<object>;
  repeated?: boolean;
  /** map<string, string> (a repeated entry message with key = 1, value = 2). */
  map?: boolean;
}

/** What a decoded message holds: scalars by their proto3 default when absent. */
export type Decoded = Record<string, unknown>;

const DEFAULTS: Record<Scalar, () => unknown> = {
  string: () => '',
  bytes: () => new Uint8Array(0),
  bool: () => false,
  uint32: () => 0,
  int32: () => 0,
  uint64: () => 0n,
  int64: () => 0n,
};

function isDefault(kind: Scalar, value: unknown): boolean {
  switch (kind) {
    case 'string':
      return value === '';
    case 'bytes':
      return (value as Uint8Array).length === 0;
    case 'bool':
      return value === false;
    default:
      return value === 0 || value === 0n;
  }
}

function writeScalar(w: BinaryWriter, no: number, kind: Scalar, value: unknown): void {
  switch (kind) {
    case 'string':
      w.tag(no, WireType.LengthDelimited).string(value as string);
      break;
    case 'bytes':
      w.tag(no, WireType.LengthDelimited).bytes(value as Uint8Array);
      break;
    case 'bool':
      w.tag(no, WireType.Varint).bool(value as boolean);
      break;
    case 'uint32':
      w.tag(no, WireType.Varint).uint32(value as number);
      break;
    case 'int32':
      w.tag(no, WireType.Varint).int32(value as number);
      break;
    case 'uint64':
      w.tag(no, WireType.Varint).uint64(value as number | bigint);
      break;
    case 'int64':
      w.tag(no, WireType.Varint).int64(value as number | bigint);
      break;
  }
}

function readScalar(r: BinaryReader, kind: Scalar): unknown {
  switch (kind) {
    case 'string':
      return r.string();
    case 'bytes':
      return r.bytes();
    case 'bool':
      return r.bool();
    case 'uint32':
      return r.uint32();
    case 'int32':
      return r.int32();
    case 'uint64':
      return BigInt(r.uint64());
    case 'int64':
      return BigInt(r.int64());
  }
}

/** One protobuf message: encodes from and decodes to a plain object keyed by the fields' names. */
export class MessageType<T extends object> {
  private readonly byNumber: Map<number, Field>;

  constructor(
    /** The full protobuf name, e.g. containerd.events.TaskExit (what an Any's type URL says). */
    readonly typeName: string,
    private readonly fields: Field[],
  ) {
    this.byNumber = new Map(fields.map((f) => [f.no, f]));
  }

  encode(message: T): Uint8Array {
    const w = new BinaryWriter();
    this.write(w, message as Decoded);
    return w.finish();
  }

  decode(bytes: Uint8Array): T {
    return this.read(new BinaryReader(bytes), bytes.length) as T;
  }

  private write(w: BinaryWriter, message: Decoded): void {
    for (const f of this.fields) {
      const value = message[f.name];
      if (value === undefined || value === null) continue;
      if (f.map) {
        for (const [k, v] of Object.entries(value as Record<string, string>)) {
          w.tag(f.no, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(k).tag(2, WireType.LengthDelimited).string(v).join();
        }
      } else if (f.repeated) {
        const items = value as unknown[];
        if (items.length === 0) continue;
        if (typeof f.kind === 'string' && f.kind !== 'string' && f.kind !== 'bytes') {
          // proto3 packs repeated numbers.
          w.tag(f.no, WireType.LengthDelimited).fork();
          for (const item of items) writePacked(w, f.kind, item);
          w.join();
        } else {
          for (const item of items) this.writeOne(w, f, item);
        }
      } else if (typeof f.kind !== 'string' || !isDefault(f.kind, value)) {
        this.writeOne(w, f, value);
      }
    }
  }

  private writeOne(w: BinaryWriter, f: Field, value: unknown): void {
    if (typeof f.kind === 'string') writeScalar(w, f.no, f.kind, value);
    else {
      w.tag(f.no, WireType.LengthDelimited).fork();
      (f.kind as MessageType<object>).write(w, value as Decoded);
      w.join();
    }
  }

  private read(r: BinaryReader, length: number): Decoded {
    const end = r.pos + length;
    const out: Decoded = {};
    for (const f of this.fields) {
      if (f.map) out[f.name] = {};
      else if (f.repeated) out[f.name] = [];
      else if (typeof f.kind === 'string') out[f.name] = DEFAULTS[f.kind]();
    }
    while (r.pos < end) {
      const [no, wireType] = r.tag();
      const f = this.byNumber.get(no);
      if (!f) {
        r.skip(wireType, no);
        continue;
      }
      if (f.map) {
        const entry = r.uint32() + r.pos;
        let key = '';
        let value = '';
        while (r.pos < entry) {
          const [k, t] = r.tag();
          if (k === 1) key = r.string();
          else if (k === 2) value = r.string();
          else r.skip(t, k);
        }
        (out[f.name] as Record<string, string>)[key] = value;
      } else if (typeof f.kind !== 'string') {
        const value = f.kind.read(r, r.uint32());
        if (f.repeated) (out[f.name] as unknown[]).push(value);
        else out[f.name] = value;
      } else if (f.repeated && wireType === WireType.LengthDelimited && f.kind !== 'string' && f.kind !== 'bytes') {
        const packedEnd = r.uint32() + r.pos;
        while (r.pos < packedEnd) (out[f.name] as unknown[]).push(readScalar(r, f.kind));
      } else {
        const value = readScalar(r, f.kind);
        if (f.repeated) (out[f.name] as unknown[]).push(value);
        else out[f.name] = value;
      }
    }
    return out;
  }
}

function writePacked(w: BinaryWriter, kind: Scalar, value: unknown): void {
  switch (kind) {
    case 'bool':
      w.bool(value as boolean);
      break;
    case 'uint32':
      w.uint32(value as number);
      break;
    case 'int32':
      w.int32(value as number);
      break;
    case 'uint64':
      w.uint64(value as number | bigint);
      break;
    default:
      w.int64(value as number | bigint);
  }
}

const s = (no: number, name: string, kind: Scalar = 'string'): Field => ({ no, name, kind });
const m = (no: number, name: string, kind: MessageType<object>): Field => ({ no, name, kind });
const rep = (no: number, name: string, kind: Scalar | MessageType<object>): Field => ({ no, name, kind, repeated: true });
const u64 = (...names: string[]) => names.map((name, i) => s(i + 1, name, 'uint64'));
const msg = <T extends object = Decoded>(typeName: string, fields: Field[]) => new MessageType<T>(typeName, fields);

// --- google.protobuf ---------------------------------------------------------------------------

export interface Any {
  typeUrl: string;
  value: Uint8Array;
}
export const Any = msg<Any>('google.protobuf.Any', [s(1, 'typeUrl'), s(2, 'value', 'bytes')]);

export interface Timestamp {
  seconds: bigint;
  nanos: number;
}
export const Timestamp = msg<Timestamp>('google.protobuf.Timestamp', [s(1, 'seconds', 'int64'), s(2, 'nanos', 'int32')]);
export const Empty = msg<Record<string, never>>('google.protobuf.Empty', []);

// --- ttrpc (github.com/containerd/ttrpc request.proto) -----------------------------------------

export interface RpcStatus {
  code: number;
  message: string;
}
export const RpcStatus = msg<RpcStatus>('google.rpc.Status', [s(1, 'code', 'int32'), s(2, 'message')]);

export interface RpcRequest {
  service: string;
  method: string;
  payload: Uint8Array;
  timeoutNano: bigint;
  metadata: { key: string; value: string }[];
}
const KeyValue = msg('ttrpc.KeyValue', [s(1, 'key'), s(2, 'value')]);
export const RpcRequest = msg<RpcRequest>('ttrpc.Request', [s(1, 'service'), s(2, 'method'), s(3, 'payload', 'bytes'), s(4, 'timeoutNano', 'int64'), rep(5, 'metadata', KeyValue)]);

export interface RpcResponse {
  status?: RpcStatus;
  payload: Uint8Array;
}
export const RpcResponse = msg<RpcResponse>('ttrpc.Response', [m(1, 'status', RpcStatus), s(2, 'payload', 'bytes')]);

// --- runts.shim.v1: the launcher's call to the resident shim (native/shim/main.cc) -----------

export interface LaunchRequest {
  /** The launcher's arguments, as containerd passed them. */
  args: string[];
  /** Its working directory (containerd runs the shim in the bundle). */
  cwd: string;
}
export const LaunchRequest = msg<LaunchRequest>('runts.shim.v1.LaunchRequest', [rep(1, 'args', 'string'), s(2, 'cwd')]);

// --- containerd types ----------------------------------------------------------------------------

export const Mount = msg('containerd.types.Mount', [s(1, 'type'), s(2, 'source'), s(3, 'target'), rep(4, 'options', 'string')]);
const ProcessInfo = msg('containerd.v1.types.ProcessInfo', [s(1, 'pid', 'uint32'), m(2, 'info', Any)]);

// --- containerd.task.v2 (shim.proto) -----------------------------------------------------------

const idExec = [s(1, 'id'), s(2, 'execId')];
export const task = {
  CreateTaskRequest: msg('containerd.task.v2.CreateTaskRequest', [
    s(1, 'id'),
    s(2, 'bundle'),
    rep(3, 'rootfs', Mount),
    s(4, 'terminal', 'bool'),
    s(5, 'stdin'),
    s(6, 'stdout'),
    s(7, 'stderr'),
    s(8, 'checkpoint'),
    s(9, 'parentCheckpoint'),
    m(10, 'options', Any),
  ]),
  CreateTaskResponse: msg('containerd.task.v2.CreateTaskResponse', [s(1, 'pid', 'uint32')]),
  DeleteRequest: msg('containerd.task.v2.DeleteRequest', idExec),
  DeleteResponse: msg('containerd.task.v2.DeleteResponse', [s(1, 'pid', 'uint32'), s(2, 'exitStatus', 'uint32'), m(3, 'exitedAt', Timestamp)]),
  ExecProcessRequest: msg('containerd.task.v2.ExecProcessRequest', [...idExec, s(3, 'terminal', 'bool'), s(4, 'stdin'), s(5, 'stdout'), s(6, 'stderr'), m(7, 'spec', Any)]),
  ExecProcessResponse: msg('containerd.task.v2.ExecProcessResponse', []),
  ResizePtyRequest: msg('containerd.task.v2.ResizePtyRequest', [...idExec, s(3, 'width', 'uint32'), s(4, 'height', 'uint32')]),
  StateRequest: msg('containerd.task.v2.StateRequest', idExec),
  StateResponse: msg('containerd.task.v2.StateResponse', [
    s(1, 'id'),
    s(2, 'bundle'),
    s(3, 'pid', 'uint32'),
    s(4, 'status', 'int32'),
    s(5, 'stdin'),
    s(6, 'stdout'),
    s(7, 'stderr'),
    s(8, 'terminal', 'bool'),
    s(9, 'exitStatus', 'uint32'),
    m(10, 'exitedAt', Timestamp),
    s(11, 'execId'),
  ]),
  KillRequest: msg('containerd.task.v2.KillRequest', [...idExec, s(3, 'signal', 'uint32'), s(4, 'all', 'bool')]),
  CloseIORequest: msg('containerd.task.v2.CloseIORequest', [...idExec, s(3, 'stdin', 'bool')]),
  PidsRequest: msg('containerd.task.v2.PidsRequest', [s(1, 'id')]),
  PidsResponse: msg('containerd.task.v2.PidsResponse', [rep(1, 'processes', ProcessInfo)]),
  CheckpointTaskRequest: msg('containerd.task.v2.CheckpointTaskRequest', [s(1, 'id'), s(2, 'path'), m(3, 'options', Any)]),
  UpdateTaskRequest: msg('containerd.task.v2.UpdateTaskRequest', [s(1, 'id'), m(2, 'resources', Any), { no: 3, name: 'annotations', kind: 'string', map: true }]),
  StartRequest: msg('containerd.task.v2.StartRequest', idExec),
  StartResponse: msg('containerd.task.v2.StartResponse', [s(1, 'pid', 'uint32')]),
  WaitRequest: msg('containerd.task.v2.WaitRequest', idExec),
  WaitResponse: msg('containerd.task.v2.WaitResponse', [s(1, 'exitStatus', 'uint32'), m(2, 'exitedAt', Timestamp)]),
  StatsRequest: msg('containerd.task.v2.StatsRequest', [s(1, 'id')]),
  StatsResponse: msg('containerd.task.v2.StatsResponse', [m(1, 'stats', Any)]),
  ConnectRequest: msg('containerd.task.v2.ConnectRequest', [s(1, 'id')]),
  ConnectResponse: msg('containerd.task.v2.ConnectResponse', [s(1, 'shimPid', 'uint32'), s(2, 'taskPid', 'uint32'), s(3, 'version')]),
  ShutdownRequest: msg('containerd.task.v2.ShutdownRequest', [s(1, 'id'), s(2, 'now', 'bool')]),
  PauseRequest: msg('containerd.task.v2.PauseRequest', [s(1, 'id')]),
  ResumeRequest: msg('containerd.task.v2.ResumeRequest', [s(1, 'id')]),
};

// --- containerd.events (events/task.proto) and the events service --------------------------------

const TaskIO = msg('containerd.events.TaskIO', [s(1, 'stdin'), s(2, 'stdout'), s(3, 'stderr'), s(4, 'terminal', 'bool')]);
export const events = {
  TaskCreate: msg('containerd.events.TaskCreate', [s(1, 'containerId'), s(2, 'bundle'), rep(3, 'rootfs', Mount), m(4, 'io', TaskIO), s(5, 'checkpoint'), s(6, 'pid', 'uint32')]),
  TaskStart: msg('containerd.events.TaskStart', [s(1, 'containerId'), s(2, 'pid', 'uint32')]),
  TaskDelete: msg('containerd.events.TaskDelete', [s(1, 'containerId'), s(2, 'pid', 'uint32'), s(3, 'exitStatus', 'uint32'), m(4, 'exitedAt', Timestamp), s(5, 'id')]),
  TaskExit: msg('containerd.events.TaskExit', [s(1, 'containerId'), s(2, 'id'), s(3, 'pid', 'uint32'), s(4, 'exitStatus', 'uint32'), m(5, 'exitedAt', Timestamp)]),
  TaskOOM: msg('containerd.events.TaskOOM', [s(1, 'containerId')]),
  TaskExecAdded: msg('containerd.events.TaskExecAdded', [s(1, 'containerId'), s(2, 'execId')]),
  TaskExecStarted: msg('containerd.events.TaskExecStarted', [s(1, 'containerId'), s(2, 'execId'), s(3, 'pid', 'uint32')]),
  TaskPaused: msg('containerd.events.TaskPaused', [s(1, 'containerId')]),
  TaskResumed: msg('containerd.events.TaskResumed', [s(1, 'containerId')]),
  TaskCheckpointed: msg('containerd.events.TaskCheckpointed', [s(1, 'containerId'), s(2, 'checkpoint')]),
};

const Envelope = msg('containerd.services.events.ttrpc.v1.Envelope', [m(1, 'timestamp', Timestamp), s(2, 'namespace'), s(3, 'topic'), m(4, 'event', Any)]);
export const ForwardRequest = msg<{ envelope: { timestamp: Timestamp; namespace: string; topic: string; event: Any } }>(
  'containerd.services.events.ttrpc.v1.ForwardRequest',
  [m(1, 'envelope', Envelope)],
);

// --- containerd.runc.v1.Options (runtime/v2/runc/options/oci.proto) -------------------------------

export const RuncOptions = msg('containerd.runc.v1.Options', [
  s(1, 'noPivotRoot', 'bool'),
  s(2, 'noNewKeyring', 'bool'),
  s(3, 'shimCgroup'),
  s(4, 'ioUid', 'uint32'),
  s(5, 'ioGid', 'uint32'),
  s(6, 'binaryName'),
  s(7, 'root'),
  s(8, 'criuPath'),
  s(9, 'systemdCgroup', 'bool'),
  s(10, 'criuImagePath'),
  s(11, 'criuWorkPath'),
]);

/** What runc's shim puts in ProcessInfo.info for an exec process (the same file of options). */
export const ProcessDetails = msg<{ execId: string }>('containerd.runc.v1.ProcessDetails', [s(1, 'execId')]);

// --- cgroup metrics (github.com/containerd/cgroups stats/v1 and v2/stats metrics.proto) ----------

const v1MemoryEntry = msg('io.containerd.cgroups.v1.MemoryEntry', u64('limit', 'usage', 'max', 'failcnt'));
const v1BlkIOEntry = msg('io.containerd.cgroups.v1.BlkIOEntry', [s(1, 'op'), s(2, 'device'), s(3, 'major', 'uint64'), s(4, 'minor', 'uint64'), s(5, 'value', 'uint64')]);
export const metricsV1 = msg('io.containerd.cgroups.v1.Metrics', [
  rep(1, 'hugetlb', msg('io.containerd.cgroups.v1.HugetlbStat', [...u64('usage', 'max', 'failcnt'), s(4, 'pagesize')])),
  m(2, 'pids', msg('io.containerd.cgroups.v1.PidsStat', u64('current', 'limit'))),
  m(
    3,
    'cpu',
    msg('io.containerd.cgroups.v1.CPUStat', [
      m(1, 'usage', msg('io.containerd.cgroups.v1.CPUUsage', [...u64('total', 'kernel', 'user'), rep(4, 'perCpu', 'uint64')])),
      m(2, 'throttling', msg('io.containerd.cgroups.v1.Throttle', u64('periods', 'throttledPeriods', 'throttledTime'))),
    ]),
  ),
  m(
    4,
    'memory',
    msg('io.containerd.cgroups.v1.MemoryStat', [
      ...u64(
        'cache', 'rss', 'rssHuge', 'mappedFile', 'dirty', 'writeback', 'pgPgIn', 'pgPgOut', 'pgFault', 'pgMajFault',
        'inactiveAnon', 'activeAnon', 'inactiveFile', 'activeFile', 'unevictable', 'hierarchicalMemoryLimit',
        'hierarchicalSwapLimit', 'totalCache', 'totalRss', 'totalRssHuge', 'totalMappedFile', 'totalDirty',
        'totalWriteback', 'totalPgPgIn', 'totalPgPgOut', 'totalPgFault', 'totalPgMajFault', 'totalInactiveAnon',
        'totalActiveAnon', 'totalInactiveFile', 'totalActiveFile', 'totalUnevictable',
      ),
      m(33, 'usage', v1MemoryEntry),
      m(34, 'swap', v1MemoryEntry),
      m(35, 'kernel', v1MemoryEntry),
      m(36, 'kernelTcp', v1MemoryEntry),
    ]),
  ),
  m(5, 'blkio', msg('io.containerd.cgroups.v1.BlkIOStat', [rep(1, 'ioServiceBytesRecursive', v1BlkIOEntry), rep(2, 'ioServicedRecursive', v1BlkIOEntry)])),
]);

const v2IOEntry = msg('io.containerd.cgroups.v2.IOEntry', u64('major', 'minor', 'rbytes', 'wbytes', 'rios', 'wios'));
export const metricsV2 = msg('io.containerd.cgroups.v2.Metrics', [
  m(1, 'pids', msg('io.containerd.cgroups.v2.PidsStat', u64('current', 'limit'))),
  m(2, 'cpu', msg('io.containerd.cgroups.v2.CPUStat', u64('usageUsec', 'userUsec', 'systemUsec', 'nrPeriods', 'nrThrottled', 'throttledUsec'))),
  m(
    4,
    'memory',
    msg('io.containerd.cgroups.v2.MemoryStat', [
      ...u64(
        'anon', 'file', 'kernelStack', 'slab', 'sock', 'shmem', 'fileMapped', 'fileDirty', 'fileWriteback', 'anonThp',
        'inactiveAnon', 'activeAnon', 'inactiveFile', 'activeFile', 'unevictable', 'slabReclaimable',
        'slabUnreclaimable', 'pgfault', 'pgmajfault', 'workingsetRefault', 'workingsetActivate',
        'workingsetNodereclaim', 'pgrefill', 'pgscan', 'pgsteal', 'pgactivate', 'pgdeactivate', 'pglazyfree',
        'pglazyfreed', 'thpFaultAlloc', 'thpCollapseAlloc', 'usage', 'usageLimit', 'swapUsage', 'swapLimit', 'maxUsage',
      ),
    ]),
  ),
  m(6, 'io', msg('io.containerd.cgroups.v2.IOStat', [rep(1, 'usage', v2IOEntry)])),
  rep(7, 'hugetlb', msg('io.containerd.cgroups.v2.HugeTlbStat', [...u64('current', 'max'), s(3, 'pagesize'), s(4, 'failcnt', 'uint64')])),
  m(8, 'memoryEvents', msg('io.containerd.cgroups.v2.MemoryEvents', u64('low', 'high', 'max', 'oom', 'oomKill'))),
]);
