// linux.resources → the cgroup files to write, per controller and cgroup version. Pure
// functions (no file system access) so every conversion is unit-testable without root; the
// manager decides which hierarchy each controller lives in and does the writing.
import { EngineError } from '../errors';
import type {
  LinuxBlockIO,
  LinuxCPU,
  LinuxHugepageLimit,
  LinuxMemory,
  LinuxNetwork,
  LinuxPids,
  LinuxRdma,
  LinuxResources,
} from '../spec/types';

export class ResourceError extends EngineError {
  override name = 'ResourceError';
}

/** One value for one cgroup file. */
export interface CgroupWrite {
  file: string;
  value: string;
  /** The config field this comes from, for error messages (linux.resources.memory.limit). */
  field: string;
  /** Skip silently when the file does not exist (optional kernel features such as rsvd). */
  ifExists?: boolean;
  /** Write this instead when `file` does not exist (io.bfq.weight → io.weight). */
  orElse?: { file: string; value: string };
}

export type CgroupVersion = 1 | 2;

/** The writes of one controller in one version. */
export interface ControllerWrites {
  /** v1 subsystem name or v2 controller name ('' for files every v2 cgroup has). */
  controller: string;
  version: CgroupVersion;
  writes: CgroupWrite[];
}

const F = 'linux.resources';

// ---- conversions (as runc does them) ----

/** v1 cpu.shares (2..262144) → v2 cpu.weight (1..10000); 0 = unset. */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** v1 blkio.weight (10..1000) → v2 io.weight (1..10000); 0 = unset. */
export function blkioToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/** cpu.max: "QUOTA PERIOD", "max PERIOD", or just the quota when no period is given. */
export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  if (!quota && !period) return undefined;
  const q = quota !== undefined && quota > 0 ? String(quota) : 'max';
  return period ? `${q} ${period}` : q;
}

/**
 * v2 memory.swap.max from the spec's swap (= memory + swap, the v1 memsw meaning):
 * swap - limit; -1 → "max"; 0 → unset. With the memory limit -1, swap as it is, and unset
 * swap is "max" (as runc converts it).
 */
export function swapMaxV2(swap: number | undefined, limit: number | undefined): string | undefined {
  // Unlimited memory with swap unset means unlimited swap too (as v1's memsw, and runc).
  if (limit === -1 && (swap === undefined || swap === 0)) return 'max';
  if (swap === undefined || swap === 0) return undefined;
  if (swap === -1) return 'max';
  if (swap < -1) throw new ResourceError(`${F}.memory.swap: invalid value ${swap}`);
  // Unlimited memory: the swap figure is swap alone.
  if (limit === -1) return String(swap);
  if (limit === undefined || limit === 0) {
    throw new ResourceError(`${F}.memory.swap: a swap limit needs a memory limit (linux.resources.memory.limit)`);
  }
  if (limit < 0) throw new ResourceError(`${F}.memory.limit: invalid value ${limit}`);
  if (swap < limit) throw new ResourceError(`${F}.memory.swap: memory+swap limit (${swap}) must be >= memory limit (${limit})`);
  return String(swap - limit);
}

const v2Bytes = (n: number) => (n === -1 ? 'max' : String(n));

/** "2MB" → "2MB"; the spec's page sizes are the kernel's file-name spelling already. */
function hugePageSize(limit: LinuxHugepageLimit, index: number): string {
  if (!/^\d+(KB|MB|GB|TB|PB)$/.test(limit.pageSize)) {
    throw new ResourceError(`${F}.hugepageLimits[${index}].pageSize: invalid page size ${JSON.stringify(limit.pageSize)}`);
  }
  return limit.pageSize;
}

const devNo = (d: { major: number; minor: number }) => `${d.major}:${d.minor}`;

function rdmaLine(device: string, r: LinuxRdma): string | undefined {
  const parts: string[] = [];
  if (r.hcaHandles !== undefined) parts.push(`hca_handle=${r.hcaHandles}`);
  if (r.hcaObjects !== undefined) parts.push(`hca_object=${r.hcaObjects}`);
  return parts.length ? `${device} ${parts.join(' ')}` : undefined;
}

function rdmaWrites(rdma: Record<string, LinuxRdma> | undefined): CgroupWrite[] {
  return Object.entries(rdma ?? {}).flatMap(([device, r]) => {
    const line = rdmaLine(device, r);
    return line ? [{ file: 'rdma.max', value: line, field: `${F}.rdma.${device}` }] : [];
  });
}

// ---- v1 ----

export function memoryV1(m: LinuxMemory | undefined): CgroupWrite[] {
  if (!m) return [];
  const out: CgroupWrite[] = [];
  const f = `${F}.memory`;
  // Unlimited memory with swap unset: lift the memsw limit too (it must stay >= the limit).
  const swap = m.limit === -1 && (m.swap ?? 0) === 0 ? -1 : m.swap;
  if (m.limit !== undefined && m.limit !== 0) out.push({ file: 'memory.limit_in_bytes', value: String(m.limit), field: `${f}.limit` });
  if (swap !== undefined && swap !== 0) out.push({ file: 'memory.memsw.limit_in_bytes', value: String(swap), field: `${f}.swap` });
  if (m.reservation !== undefined && m.reservation !== 0) out.push({ file: 'memory.soft_limit_in_bytes', value: String(m.reservation), field: `${f}.reservation` });
  if (m.kernelTCP !== undefined && m.kernelTCP !== 0) out.push({ file: 'memory.kmem.tcp.limit_in_bytes', value: String(m.kernelTCP), field: `${f}.kernelTCP` });
  if (m.swappiness !== undefined) {
    if (m.swappiness > 100) throw new ResourceError(`${f}.swappiness: invalid value ${m.swappiness} (0..100)`);
    out.push({ file: 'memory.swappiness', value: String(m.swappiness), field: `${f}.swappiness` });
  }
  if (m.disableOOMKiller) out.push({ file: 'memory.oom_control', value: '1', field: `${f}.disableOOMKiller` });
  if (m.useHierarchy !== undefined) out.push({ file: 'memory.use_hierarchy', value: m.useHierarchy ? '1' : '0', field: `${f}.useHierarchy` });
  return out;
}

export function cpuV1(c: LinuxCPU | undefined): CgroupWrite[] {
  if (!c) return [];
  const f = `${F}.cpu`;
  const out: CgroupWrite[] = [];
  if (c.shares) out.push({ file: 'cpu.shares', value: String(c.shares), field: `${f}.shares` });
  // The period first: a quota is checked against the period in force.
  if (c.period) out.push({ file: 'cpu.cfs_period_us', value: String(c.period), field: `${f}.period` });
  if (c.quota) out.push({ file: 'cpu.cfs_quota_us', value: String(c.quota), field: `${f}.quota` });
  if (c.burst !== undefined) out.push({ file: 'cpu.cfs_burst_us', value: String(c.burst), field: `${f}.burst` });
  if (c.realtimePeriod) out.push({ file: 'cpu.rt_period_us', value: String(c.realtimePeriod), field: `${f}.realtimePeriod` });
  if (c.realtimeRuntime) out.push({ file: 'cpu.rt_runtime_us', value: String(c.realtimeRuntime), field: `${f}.realtimeRuntime` });
  if (c.idle !== undefined) out.push({ file: 'cpu.idle', value: String(c.idle), field: `${f}.idle` });
  return out;
}

export function cpusetWrites(c: LinuxCPU | undefined): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (c?.cpus) out.push({ file: 'cpuset.cpus', value: c.cpus, field: `${F}.cpu.cpus` });
  if (c?.mems) out.push({ file: 'cpuset.mems', value: c.mems, field: `${F}.cpu.mems` });
  return out;
}

export function pidsWrites(p: LinuxPids | undefined): CgroupWrite[] {
  if (!p) return [];
  // runtime-spec 1.3: 0 is a real limit (no new tasks); negative means unlimited.
  return [{ file: 'pids.max', value: p.limit < 0 ? 'max' : String(p.limit), field: `${F}.pids.limit` }];
}

export function blkioV1(b: LinuxBlockIO | undefined): CgroupWrite[] {
  if (!b) return [];
  const f = `${F}.blockIO`;
  const out: CgroupWrite[] = [];
  if (b.weight) out.push({ file: 'blkio.weight', value: String(b.weight), field: `${f}.weight`, orElse: { file: 'blkio.bfq.weight', value: String(b.weight) } });
  if (b.leafWeight) out.push({ file: 'blkio.leaf_weight', value: String(b.leafWeight), field: `${f}.leafWeight` });
  (b.weightDevice ?? []).forEach((d, i) => {
    if (d.weight) out.push({ file: 'blkio.weight_device', value: `${devNo(d)} ${d.weight}`, field: `${f}.weightDevice[${i}]`, orElse: { file: 'blkio.bfq.weight_device', value: `${devNo(d)} ${d.weight}` } });
    if (d.leafWeight) out.push({ file: 'blkio.leaf_weight_device', value: `${devNo(d)} ${d.leafWeight}`, field: `${f}.weightDevice[${i}].leafWeight` });
  });
  const throttle = (list: LinuxBlockIO['throttleReadBpsDevice'], file: string, name: string) =>
    (list ?? []).forEach((d, i) => out.push({ file, value: `${devNo(d)} ${d.rate ?? 0}`, field: `${f}.${name}[${i}]` }));
  throttle(b.throttleReadBpsDevice, 'blkio.throttle.read_bps_device', 'throttleReadBpsDevice');
  throttle(b.throttleWriteBpsDevice, 'blkio.throttle.write_bps_device', 'throttleWriteBpsDevice');
  throttle(b.throttleReadIOPSDevice, 'blkio.throttle.read_iops_device', 'throttleReadIOPSDevice');
  throttle(b.throttleWriteIOPSDevice, 'blkio.throttle.write_iops_device', 'throttleWriteIOPSDevice');
  return out;
}

export function hugetlbV1(limits: LinuxHugepageLimit[] | undefined): CgroupWrite[] {
  return (limits ?? []).flatMap((l, i) => {
    const size = hugePageSize(l, i);
    const field = `${F}.hugepageLimits[${i}]`;
    return [
      { file: `hugetlb.${size}.limit_in_bytes`, value: String(l.limit), field },
      { file: `hugetlb.${size}.rsvd.limit_in_bytes`, value: String(l.limit), field, ifExists: true },
    ];
  });
}

export function netClsV1(n: LinuxNetwork | undefined): CgroupWrite[] {
  return n?.classID !== undefined ? [{ file: 'net_cls.classid', value: String(n.classID), field: `${F}.network.classID` }] : [];
}

export function netPrioV1(n: LinuxNetwork | undefined): CgroupWrite[] {
  return (n?.priorities ?? []).map((p, i) => ({ file: 'net_prio.ifpriomap', value: `${p.name} ${p.priority}`, field: `${F}.network.priorities[${i}]` }));
}

// ---- v2 ----

export function memoryV2(m: LinuxMemory | undefined): CgroupWrite[] {
  if (!m) return [];
  const f = `${F}.memory`;
  const out: CgroupWrite[] = [];
  const swap = swapMaxV2(m.swap, m.limit);
  // memory.swap.max first: lowering memory.max never fails, and this keeps runc's order.
  // Without swap accounting there is no file: no swap and unlimited swap are true anyway.
  if (swap !== undefined) out.push({ file: 'memory.swap.max', value: swap, field: `${f}.swap`, ...((swap === 'max' || swap === '0') && { ifExists: true }) });
  if (m.limit !== undefined && m.limit !== 0) out.push({ file: 'memory.max', value: v2Bytes(m.limit), field: `${f}.limit` });
  if (m.reservation !== undefined && m.reservation !== 0) out.push({ file: 'memory.low', value: v2Bytes(m.reservation), field: `${f}.reservation` });
  return out;
}

/** Memory fields v2 has no file for; true values (or a set number) are errors there. */
export function memoryV2Unsupported(m: LinuxMemory | undefined): string[] {
  if (!m) return [];
  const f = `${F}.memory`;
  const out: string[] = [];
  if (m.kernelTCP) out.push(`${f}.kernelTCP`);
  if (m.swappiness !== undefined) out.push(`${f}.swappiness`);
  if (m.disableOOMKiller) out.push(`${f}.disableOOMKiller`);
  // v2 is always hierarchical: only asking for a flat hierarchy is unenforceable.
  if (m.useHierarchy === false) out.push(`${f}.useHierarchy`);
  return out;
}

export function cpuV2(c: LinuxCPU | undefined): CgroupWrite[] {
  if (!c) return [];
  const f = `${F}.cpu`;
  const out: CgroupWrite[] = [];
  if (c.shares) {
    if (c.shares < 2 || c.shares > 262144) throw new ResourceError(`${f}.shares: ${c.shares} is outside 2..262144`);
    out.push({ file: 'cpu.weight', value: String(sharesToWeight(c.shares)), field: `${f}.shares` });
  }
  const max = cpuMax(c.quota, c.period);
  if (max !== undefined) out.push({ file: 'cpu.max', value: max, field: c.quota ? `${f}.quota` : `${f}.period` });
  if (c.burst !== undefined) out.push({ file: 'cpu.max.burst', value: String(c.burst), field: `${f}.burst` });
  if (c.idle !== undefined) out.push({ file: 'cpu.idle', value: String(c.idle), field: `${f}.idle` });
  return out;
}

export function cpuV2Unsupported(c: LinuxCPU | undefined): string[] {
  const out: string[] = [];
  if (c?.realtimePeriod) out.push(`${F}.cpu.realtimePeriod`);
  if (c?.realtimeRuntime) out.push(`${F}.cpu.realtimeRuntime`);
  return out;
}

export function ioV2(b: LinuxBlockIO | undefined): CgroupWrite[] {
  if (!b) return [];
  const f = `${F}.blockIO`;
  const out: CgroupWrite[] = [];
  // BFQ takes blkio weights as they are; the generic io.weight has its own range.
  if (b.weight) out.push({ file: 'io.bfq.weight', value: String(b.weight), field: `${f}.weight`, orElse: { file: 'io.weight', value: `default ${blkioToIoWeight(b.weight)}` } });
  (b.weightDevice ?? []).forEach((d, i) => {
    if (d.weight) out.push({ file: 'io.bfq.weight', value: `${devNo(d)} ${d.weight}`, field: `${f}.weightDevice[${i}]`, orElse: { file: 'io.weight', value: `${devNo(d)} ${blkioToIoWeight(d.weight)}` } });
  });
  const limits: [LinuxBlockIO['throttleReadBpsDevice'], string, string][] = [
    [b.throttleReadBpsDevice, 'rbps', 'throttleReadBpsDevice'],
    [b.throttleWriteBpsDevice, 'wbps', 'throttleWriteBpsDevice'],
    [b.throttleReadIOPSDevice, 'riops', 'throttleReadIOPSDevice'],
    [b.throttleWriteIOPSDevice, 'wiops', 'throttleWriteIOPSDevice'],
  ];
  for (const [list, key, name] of limits) {
    // A rate of 0 means "no limit" in the spec, "max" in io.max.
    (list ?? []).forEach((d, i) => out.push({ file: 'io.max', value: `${devNo(d)} ${key}=${d.rate ? d.rate : 'max'}`, field: `${f}.${name}[${i}]` }));
  }
  return out;
}

export function ioV2Unsupported(b: LinuxBlockIO | undefined): string[] {
  const out: string[] = [];
  if (b?.leafWeight) out.push(`${F}.blockIO.leafWeight`);
  (b?.weightDevice ?? []).forEach((d, i) => d.leafWeight && out.push(`${F}.blockIO.weightDevice[${i}].leafWeight`));
  return out;
}

export function hugetlbV2(limits: LinuxHugepageLimit[] | undefined): CgroupWrite[] {
  return (limits ?? []).flatMap((l, i) => {
    const size = hugePageSize(l, i);
    const field = `${F}.hugepageLimits[${i}]`;
    return [
      { file: `hugetlb.${size}.max`, value: String(l.limit), field },
      { file: `hugetlb.${size}.rsvd.max`, value: String(l.limit), field, ifExists: true },
    ];
  });
}

/** linux.resources.unified: raw v2 files, each a plain name in the container's own cgroup. */
export function unifiedWrites(unified: Record<string, string> | undefined): ControllerWrites[] {
  const byController = new Map<string, CgroupWrite[]>();
  for (const [key, value] of Object.entries(unified ?? {})) {
    const field = `${F}.unified.${key}`;
    if (key === '' || key.includes('/') || key === '.' || key === '..' || key.includes('\0')) {
      throw new ResourceError(`${field}: not a cgroup file name`);
    }
    const dot = key.indexOf('.');
    if (dot <= 0) throw new ResourceError(`${field}: not a cgroup file name (expected CONTROLLER.KEY)`);
    // cgroup.* files belong to the cgroup core, not to a controller.
    const controller = key.slice(0, dot) === 'cgroup' ? '' : key.slice(0, dot);
    if (controller === '' && !['cgroup.max.depth', 'cgroup.max.descendants', 'cgroup.freeze', 'cgroup.pressure'].includes(key)) {
      throw new ResourceError(`${field}: the runtime owns ${key}`);
    }
    const list = byController.get(controller) ?? [];
    list.push({ file: key, value, field });
    byController.set(controller, list);
  }
  return [...byController].map(([controller, writes]) => ({ controller, version: 2 as const, writes }));
}

/** Fields runc accepts but no longer enforces (the kernel dropped kmem limits in 5.16+). */
export function resourceWarnings(r: LinuxResources): string[] {
  return r.memory?.kernel ? [`${F}.memory.kernel: kernel memory limits are no longer supported by the kernel; ignored`] : [];
}

// ---- where each controller lives ----

/** Controllers the host can use: v1 subsystems mounted, v2 controllers available. */
export interface ControllerAvailability {
  v1: ReadonlySet<string>;
  v2: ReadonlySet<string>;
  /** A unified hierarchy exists (pure v2 or hybrid), even with no controllers. */
  v2Mounted: boolean;
}

const hasAny = (v: unknown) => v !== undefined && (!Array.isArray(v) || v.length > 0) && (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).length > 0);

/**
 * Every write for `r`, grouped by controller and version. A controller comes from the v1
 * hierarchy that has it, else from the unified one (hybrid hosts); a set limit no mounted
 * controller can enforce throws a ResourceError naming the field. Device rules are not
 * here (see devices.ts).
 */
export function planResourceWrites(r: LinuxResources, avail: ControllerAvailability): ControllerWrites[] {
  const out: ControllerWrites[] = [];
  const pick = (v1: string | null, v2: string | null, field: string): CgroupVersion => {
    if (v1 && avail.v1.has(v1)) return 1;
    if (v2 && avail.v2.has(v2)) return 2;
    throw new ResourceError(`${field}: no cgroup controller is available to enforce it (${[v1 && `v1 ${v1}`, v2 && `v2 ${v2}`].filter(Boolean).join(', ')} not mounted)`);
  };
  const add = (controller: string, version: CgroupVersion, writes: CgroupWrite[]) => {
    if (writes.length) out.push({ controller, version, writes });
  };
  const unsupported = (fields: string[]) => {
    if (fields.length) throw new ResourceError(`${fields[0]}: not supported by cgroup v2`);
  };

  if (memoryV1(r.memory).length) {
    const v = pick('memory', 'memory', `${F}.memory`);
    if (v === 2) unsupported(memoryV2Unsupported(r.memory));
    add('memory', v, v === 1 ? memoryV1(r.memory) : memoryV2(r.memory));
  }

  if (cpuV1(r.cpu).length) {
    const v = pick('cpu', 'cpu', `${F}.cpu`);
    if (v === 2) unsupported(cpuV2Unsupported(r.cpu));
    add('cpu', v, v === 1 ? cpuV1(r.cpu) : cpuV2(r.cpu));
  }
  const cpuset = cpusetWrites(r.cpu);
  if (cpuset.length) add('cpuset', pick('cpuset', 'cpuset', cpuset[0].field), cpuset);

  const pids = pidsWrites(r.pids);
  if (pids.length) add('pids', pick('pids', 'pids', `${F}.pids`), pids);

  if (blkioV1(r.blockIO).length) {
    const v = pick('blkio', 'io', `${F}.blockIO`);
    if (v === 2) unsupported(ioV2Unsupported(r.blockIO));
    add(v === 1 ? 'blkio' : 'io', v, v === 1 ? blkioV1(r.blockIO) : ioV2(r.blockIO));
  }

  if (hasAny(r.hugepageLimits)) {
    const v = pick('hugetlb', 'hugetlb', `${F}.hugepageLimits`);
    add('hugetlb', v, v === 1 ? hugetlbV1(r.hugepageLimits) : hugetlbV2(r.hugepageLimits));
  }

  const cls = netClsV1(r.network);
  if (cls.length) add('net_cls', pick('net_cls', null, `${F}.network.classID`), cls);
  const prio = netPrioV1(r.network);
  if (prio.length) add('net_prio', pick('net_prio', null, `${F}.network.priorities`), prio);

  const rdma = rdmaWrites(r.rdma);
  if (rdma.length) add('rdma', pick('rdma', 'rdma', `${F}.rdma`), rdma);

  for (const group of unifiedWrites(r.unified)) {
    if (group.controller !== '' && !avail.v2.has(group.controller)) {
      throw new ResourceError(`${group.writes[0].field}: cgroup v2 controller ${group.controller} is not available`);
    }
    if (!avail.v2Mounted) throw new ResourceError(`${group.writes[0].field}: no cgroup v2 hierarchy is mounted`);
    out.push(group);
  }
  return out;
}
