// TaskStats (the shape `runts events --stats` prints, src/cgroups/stats.ts) → the cgroup Metrics
// message containerd expects in StatsResponse.stats: io.containerd.cgroups.v1.Metrics on a v1
// host, io.containerd.cgroups.v2.Metrics on a unified one (what `ctr task metrics` decodes).
import type { TaskStats } from './task-service';
import { metricsV1, metricsV2, type Any } from './proto';

type Obj = Record<string, unknown>;
type Counter = number | bigint;

const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const counter = (v: unknown): Counter => (typeof v === 'number' || typeof v === 'bigint' ? v : 0);
const big = (v: unknown): bigint => BigInt(counter(v));
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** v1 MemoryStat field → its memory.stat key (the names the cgroups library reads them from). */
function v1StatKey(field: string): string {
  return snake(field)
    .replace('pg_pg_in', 'pgpgin')
    .replace('pg_pg_out', 'pgpgout')
    .replace('pg_maj_fault', 'pgmajfault')
    .replace('pg_fault', 'pgfault')
    .replace('hierarchical_swap_limit', 'hierarchical_memsw_limit');
}

const V1_MEMORY_STAT = [
  'cache', 'rss', 'rssHuge', 'mappedFile', 'dirty', 'writeback', 'pgPgIn', 'pgPgOut', 'pgFault', 'pgMajFault',
  'inactiveAnon', 'activeAnon', 'inactiveFile', 'activeFile', 'unevictable', 'hierarchicalMemoryLimit',
  'hierarchicalSwapLimit', 'totalCache', 'totalRss', 'totalRssHuge', 'totalMappedFile', 'totalDirty',
  'totalWriteback', 'totalPgPgIn', 'totalPgPgOut', 'totalPgFault', 'totalPgMajFault', 'totalInactiveAnon',
  'totalActiveAnon', 'totalInactiveFile', 'totalActiveFile', 'totalUnevictable',
];

const V2_MEMORY_STAT = [
  'anon', 'file', 'kernelStack', 'slab', 'sock', 'shmem', 'fileMapped', 'fileDirty', 'fileWriteback', 'anonThp',
  'inactiveAnon', 'activeAnon', 'inactiveFile', 'activeFile', 'unevictable', 'slabReclaimable', 'slabUnreclaimable',
  'pgfault', 'pgmajfault', 'workingsetRefault', 'workingsetActivate', 'workingsetNodereclaim', 'pgrefill', 'pgscan',
  'pgsteal', 'pgactivate', 'pgdeactivate', 'pglazyfree', 'pglazyfreed', 'thpFaultAlloc', 'thpCollapseAlloc',
];

const memoryEntry = (e: unknown) => {
  const o = obj(e);
  return { limit: counter(o.limit), usage: counter(o.usage), max: counter(o.max), failcnt: counter(o.failcnt) };
};

function toV1(data: Obj): Obj {
  const cpu = obj(data.cpu);
  const usage = obj(cpu.usage);
  const throttling = obj(cpu.throttling);
  const memory = obj(data.memory);
  const raw = obj(memory.raw);
  const blkio = obj(data.blkio);
  const blkioEntries = (v: unknown) => arr(v).map((e) => ({ op: String(e.op ?? ''), device: '', major: counter(e.major), minor: counter(e.minor), value: counter(e.value) }));
  const out: Obj = {
    hugetlb: Object.entries(obj(data.hugetlb)).map(([pagesize, h]) => ({ usage: counter(obj(h).usage), max: counter(obj(h).max), failcnt: counter(obj(h).failcnt), pagesize })),
    cpu: {
      usage: { total: counter(usage.total), kernel: counter(usage.kernel), user: counter(usage.user), perCpu: arr(usage.percpu).map(counter) },
      throttling: { periods: counter(throttling.periods), throttledPeriods: counter(throttling.throttled_periods), throttledTime: counter(throttling.throttled_time) },
    },
    blkio: { ioServiceBytesRecursive: blkioEntries(blkio.io_service_bytes_recursive), ioServicedRecursive: blkioEntries(blkio.io_serviced_recursive) },
  };
  if (data.pids) out.pids = { current: counter(obj(data.pids).current), limit: counter(obj(data.pids).limit) };
  if (data.memory) {
    const stat: Obj = Object.fromEntries(V1_MEMORY_STAT.map((f) => [f, counter(raw[v1StatKey(f)])]));
    out.memory = { ...stat, usage: memoryEntry(memory.usage), swap: memoryEntry(memory.swap), kernel: memoryEntry(memory.kernel), kernelTcp: memoryEntry(memory.kernelTCP) };
  }
  return out;
}

/** runts reports v2 swap as memory+swap (as runc does); Metrics v2 has swap alone. */
const UNLIMITED = 18446744073709551615n;

function toV2(data: Obj): Obj {
  const cpu = obj(data.cpu);
  const usage = obj(cpu.usage);
  const throttling = obj(cpu.throttling);
  const usec = (ns: unknown) => big(ns) / 1000n;
  const out: Obj = {
    cpu: {
      usageUsec: usec(usage.total),
      userUsec: usec(usage.user),
      systemUsec: usec(usage.kernel),
      nrPeriods: counter(throttling.periods),
      nrThrottled: counter(throttling.throttled_periods),
      throttledUsec: usec(throttling.throttled_time),
    },
    hugetlb: Object.entries(obj(data.hugetlb)).map(([pagesize, h]) => ({ current: counter(obj(h).usage), max: counter(obj(h).max), pagesize, failcnt: counter(obj(h).failcnt) })),
  };
  if (data.pids) out.pids = { current: counter(obj(data.pids).current), limit: counter(obj(data.pids).limit) };
  if (data.memory) {
    const memory = obj(data.memory);
    const raw = obj(memory.raw);
    const mem = obj(memory.usage);
    const swap = obj(memory.swap);
    const swapLimit = big(swap.limit);
    out.memory = {
      ...Object.fromEntries(V2_MEMORY_STAT.map((f) => [f, counter(raw[snake(f)])])),
      usage: counter(mem.usage),
      usageLimit: counter(mem.limit),
      maxUsage: counter(mem.max),
      swapUsage: big(swap.usage) > big(mem.usage) ? big(swap.usage) - big(mem.usage) : 0n,
      swapLimit: swapLimit === UNLIMITED || swapLimit < big(mem.limit) ? swapLimit : swapLimit - big(mem.limit),
    };
  }
  // io.stat per device: runts lists bytes and ios as Read/Write entries.
  const devices = new Map<string, Obj>();
  const add = (entries: unknown, read: string, write: string) => {
    for (const e of arr(entries)) {
      const key = `${e.major}:${e.minor}`;
      const device = devices.get(key) ?? { major: counter(e.major), minor: counter(e.minor) };
      devices.set(key, device);
      if (e.op === 'Read') device[read] = counter(e.value);
      else if (e.op === 'Write') device[write] = counter(e.value);
    }
  };
  const blkio = obj(data.blkio);
  add(blkio.io_service_bytes_recursive, 'rbytes', 'wbytes');
  add(blkio.io_serviced_recursive, 'rios', 'wios');
  out.io = { usage: [...devices.values()] };
  return out;
}

/** The Any StatsResponse.stats carries. */
export function metricsAny(stats: TaskStats): Any {
  const data = obj(stats.data);
  return stats.cgroupVersion === 2
    ? { typeUrl: metricsV2.typeName, value: metricsV2.encode(toV2(data)) }
    : { typeUrl: metricsV1.typeName, value: metricsV1.encode(toV1(data)) };
}
