// Resource statistics of a container's cgroups in the shape `runc events --stats` prints
// (its "data" object): cpu, memory, pids, blkio, hugetlb; v2 values mapped onto the same names.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CgroupDriver } from './driver';

/** USER_HZ: cpuacct.stat counts in clock ticks of 1/100 s. */
const NS_PER_TICK = 10_000_000;

function read(dir: string, file: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8');
  } catch {
    return undefined;
  }
}

/** A counter: a number, or a bigint past 2^53 (v1 prints "unlimited" as 2^63 rounded down). */
type Counter = number | bigint;

function toCounter(text: string): Counter | undefined {
  if (!/^-?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

/** v2 "max" as runc reports it: 2^64-1 for memory limits, 0 (no limit) for pids. */
const UNLIMITED = 18446744073709551615n;

function num(dir: string, file: string, max: Counter = 0): Counter | undefined {
  const text = read(dir, file)?.trim();
  if (text === undefined || text === '') return undefined;
  if (text === 'max') return max;
  return toCounter(text);
}

/** c × k, exact for large values. */
function scale(c: Counter | undefined, k: number): Counter {
  if (c === undefined) return 0;
  if (typeof c === 'bigint') return c * BigInt(k);
  const n = c * k;
  return Number.isSafeInteger(n) ? n : BigInt(c) * BigInt(k);
}

function sum(a: Counter, b: Counter): Counter {
  const n = BigInt(a) + BigInt(b);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** JSON with bigints written as plain numbers, exactly. */
export function statsJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000big:${v}` : v)).replace(/"\\u0000big:(-?\d+)"/g, '$1');
}

/** "key value" lines → object of numbers. */
export function parseFlatKeyed(text: string | undefined): Record<string, Counter> {
  const out: Record<string, Counter> = {};
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    const n = value === undefined ? undefined : toCounter(value);
    if (key && n !== undefined) out[key] = n;
  }
  return out;
}

/** Drop zero and undefined fields, like Go's omitempty. */
function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== 0 && v !== 0n)) as Partial<T>;
}

function cpuStats(cg: CgroupDriver): Record<string, unknown> {
  const acct = cg.controllerDir('cpuacct', 'cpu');
  const cpu = cg.controllerDir('cpu', 'cpu');
  const usage: Record<string, unknown> = {};
  if (acct?.version === 1) {
    usage.total = num(acct.dir, 'cpuacct.usage') ?? 0;
    usage.percpu = (read(acct.dir, 'cpuacct.usage_percpu') ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
    const all = (read(acct.dir, 'cpuacct.usage_all') ?? '').trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/).map(Number));
    if (all.length) {
      usage.percpu_kernel = all.map((r) => r[2] ?? 0);
      usage.percpu_user = all.map((r) => r[1] ?? 0);
    }
    const stat = parseFlatKeyed(read(acct.dir, 'cpuacct.stat'));
    usage.kernel = scale(stat.system, NS_PER_TICK);
    usage.user = scale(stat.user, NS_PER_TICK);
  } else if (acct) {
    const stat = parseFlatKeyed(read(acct.dir, 'cpu.stat'));
    usage.total = scale(stat.usage_usec, 1000);
    usage.kernel = scale(stat.system_usec, 1000);
    usage.user = scale(stat.user_usec, 1000);
  }
  const throttle = cpu ? parseFlatKeyed(read(cpu.dir, 'cpu.stat')) : {};
  const throttling = compact({
    periods: throttle.nr_periods,
    throttled_periods: throttle.nr_throttled,
    throttled_time: throttle.throttled_time ?? (throttle.throttled_usec !== undefined ? scale(throttle.throttled_usec, 1000) : undefined),
  });
  return { usage, throttling };
}

function memoryStats(cg: CgroupDriver): Record<string, unknown> | undefined {
  const mem = cg.controllerDir('memory', 'memory');
  if (!mem) return undefined;
  const d = mem.dir;
  if (mem.version === 1) {
    const entry = (prefix: string) =>
      compact({ limit: num(d, `${prefix}.limit_in_bytes`), usage: num(d, `${prefix}.usage_in_bytes`), max: num(d, `${prefix}.max_usage_in_bytes`), failcnt: num(d, `${prefix}.failcnt`) });
    return {
      usage: entry('memory'),
      swap: entry('memory.memsw'),
      kernel: entry('memory.kmem'),
      kernelTCP: entry('memory.kmem.tcp'),
      raw: parseFlatKeyed(read(d, 'memory.stat')),
    };
  }
  const current = num(d, 'memory.current') ?? 0;
  const limit = num(d, 'memory.max', UNLIMITED);
  // v1 reports swap as memory+swap: so does runc on v2, adding memory's figures to swap's.
  const swapLimit = num(d, 'memory.swap.max', UNLIMITED);
  const memsw = swapLimit === UNLIMITED || swapLimit === undefined || limit === undefined ? swapLimit : sum(swapLimit, limit);
  return {
    usage: compact({ usage: current, limit, max: num(d, 'memory.peak') }),
    swap: compact({ usage: sum(num(d, 'memory.swap.current') ?? 0, current), limit: memsw }),
    raw: parseFlatKeyed(read(d, 'memory.stat')),
  };
}

function pidsStats(cg: CgroupDriver): Record<string, unknown> | undefined {
  const pids = cg.controllerDir('pids', 'pids');
  if (!pids) return undefined;
  return compact({ current: num(pids.dir, 'pids.current'), limit: num(pids.dir, 'pids.max') });
}

interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** v1 "MAJ:MIN Op VALUE" lines. */
function blkioEntries(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (\S+) (\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  return out;
}

function blkioStats(cg: CgroupDriver): Record<string, unknown> {
  const blk = cg.controllerDir('blkio', 'io');
  if (!blk) return {};
  if (blk.version === 1) {
    const bytes = blkioEntries(read(blk.dir, 'blkio.throttle.io_service_bytes_recursive'));
    const ios = blkioEntries(read(blk.dir, 'blkio.throttle.io_serviced_recursive'));
    return compact({ io_service_bytes_recursive: bytes.length ? bytes : undefined, io_serviced_recursive: ios.length ? ios : undefined });
  }
  // v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..."
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (read(blk.dir, 'io.stat') ?? '').split('\n')) {
    const [dev, ...pairs] = line.trim().split(/\s+/);
    const m = dev && /^(\d+):(\d+)$/.exec(dev);
    if (!m) continue;
    const kv = Object.fromEntries(pairs.map((p) => p.split('=')).map(([k, v]) => [k, Number(v)]));
    const at = (op: string, value: number | undefined) => ({ major: Number(m[1]), minor: Number(m[2]), op, value: value ?? 0 });
    bytes.push(at('Read', kv.rbytes), at('Write', kv.wbytes));
    ios.push(at('Read', kv.rios), at('Write', kv.wios));
  }
  return compact({ io_service_bytes_recursive: bytes.length ? bytes : undefined, io_serviced_recursive: ios.length ? ios : undefined });
}

function hugetlbStats(cg: CgroupDriver): Record<string, unknown> {
  const h = cg.controllerDir('hugetlb', 'hugetlb');
  if (!h) return {};
  const out: Record<string, unknown> = {};
  let names: string[] = [];
  try {
    names = fs.readdirSync(h.dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const m = h.version === 1 ? /^hugetlb\.([^.]+)\.usage_in_bytes$/.exec(name) : /^hugetlb\.([^.]+)\.current$/.exec(name);
    if (!m) continue;
    const size = m[1];
    out[size] =
      h.version === 1
        ? compact({ usage: num(h.dir, name), max: num(h.dir, `hugetlb.${size}.max_usage_in_bytes`), failcnt: num(h.dir, `hugetlb.${size}.failcnt`) })
        : compact({ usage: num(h.dir, name), failcnt: parseFlatKeyed(read(h.dir, `hugetlb.${size}.events`)).max });
  }
  return out;
}

/** The "data" object of a stats event. */
export function collectStats(cg: CgroupDriver): Record<string, unknown> {
  const stats: Record<string, unknown> = { cpu: cpuStats(cg) };
  const memory = memoryStats(cg);
  if (memory) stats.memory = memory;
  const pids = pidsStats(cg);
  if (pids) stats.pids = pids;
  stats.blkio = blkioStats(cg);
  stats.hugetlb = hugetlbStats(cg);
  return stats;
}
