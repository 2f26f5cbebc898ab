// Talking to systemd for the systemd cgroup driver (systemd-driver.ts), as runc does: the container's cgroup is a
// transient scope unit that systemd creates in the requested slice (StartTransientUnit with
// the init's PID, Delegate=yes and the resource properties systemd knows), updated with
// SetUnitProperties and stopped on delete. Spoken over systemd's private D-Bus socket, which
// takes root without a bus daemon. Limits are written through cgroupfs as well (systemd-driver.ts),
// as runc's systemd manager does.
import * as fs from 'node:fs';
import type { LinuxCPU, LinuxResources } from '../spec/types';
import { log } from '../log';
import { DBusConnection, DBusError, DBusTimeoutError, Variant, type DBusValue, type Message } from './dbus';
import { sharesToWeight, swapMaxV2 } from './resources';

export class SystemdError extends Error {
  override name = 'SystemdError';
}

/** systemd's own socket: D-Bus straight to PID 1, root only. */
export const SYSTEMD_PRIVATE_SOCKET = '/run/systemd/private';

const MANAGER = { destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager' };

/** systemd's "infinity" for 64-bit limits. */
const INFINITY = 2n ** 64n - 1n;
/** The CFS period systemd and the kernel use when none is given (µs). */
const DEFAULT_CPU_PERIOD = 100_000;

/** A unit property as StartTransientUnit and SetUnitProperties take it: (sv). */
export type UnitProperty = [string, Variant];

const prop = (name: string, signature: string, value: DBusValue): UnitProperty => [name, new Variant(signature, value)];
const u64 = (name: string, value: number | bigint): UnitProperty => prop(name, 't', BigInt(value));

/** True when systemd is the init system (what sd_booted checks). */
export function systemdIsRunning(): boolean {
  try {
    return fs.lstatSync('/run/systemd/system').isDirectory();
  } catch {
    return false;
  }
}

/** A cpuset list ("0-3,8") as the byte mask AllowedCPUs/AllowedMemoryNodes take (bit n = CPU n). */
export function rangeToBits(list: string, field: string): number[] {
  const bytes: number[] = [];
  for (const part of list.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const [from, to] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [NaN, NaN];
    if (!m || to < from || to > 65535) throw new SystemdError(`${field}: invalid list ${JSON.stringify(list)}`);
    for (let n = from; n <= to; n++) {
      while (bytes.length <= n >> 3) bytes.push(0);
      bytes[n >> 3] |= 1 << (n & 7);
    }
  }
  return bytes;
}

/** CPUQuotaPerSecUSec (rounded up to 10 ms per second, as systemd keeps it) and CPUQuotaPeriodUSec. */
function cpuQuotaProperties(cpu: LinuxCPU): UnitProperty[] {
  const out: UnitProperty[] = [];
  const quota = cpu.quota ?? 0;
  const period = cpu.period ?? 0;
  if (period) out.push(u64('CPUQuotaPeriodUSec', period));
  if (quota === 0 && period === 0) return out;
  let perSec = INFINITY;
  if (quota > 0) {
    const usec = Math.floor((quota * 1_000_000) / (period || DEFAULT_CPU_PERIOD));
    perSec = BigInt(Math.ceil(usec / 10_000) * 10_000);
  }
  out.push(u64('CPUQuotaPerSecUSec', perSec));
  return out;
}

const UNIFIED_MEMORY: Record<string, string> = { 'memory.high': 'MemoryHigh', 'memory.low': 'MemoryLow', 'memory.min': 'MemoryMin', 'memory.max': 'MemoryMax', 'memory.swap.max': 'MemorySwapMax' };

/** linux.resources.unified values systemd has properties for (the others are cgroupfs only). */
function unifiedProperties(unified: Record<string, string> | undefined): UnitProperty[] {
  const out: UnitProperty[] = [];
  const idle = unified?.['cpu.idle']?.trim() === '1';
  for (const [key, raw] of Object.entries(unified ?? {})) {
    const value = raw.trim();
    const field = `linux.resources.unified.${key}`;
    const number = (text: string, max: number | bigint) => {
      if (text === 'max') return max;
      if (!/^\d+$/.test(text)) throw new SystemdError(`${field}: invalid value ${JSON.stringify(raw)}`);
      return BigInt(text);
    };
    if (key === 'cpu.idle' && idle) out.push(u64('CPUWeight', 0));
    else if (key === 'cpu.weight' && !idle) out.push(u64('CPUWeight', number(value, INFINITY)));
    else if (key === 'cpu.max') {
      const [quota, period, extra] = value.split(/\s+/);
      if (quota === undefined || extra !== undefined) throw new SystemdError(`${field}: invalid value ${JSON.stringify(raw)}`);
      out.push(...cpuQuotaProperties({ quota: Number(number(quota, 0)), period: Number(period === undefined ? DEFAULT_CPU_PERIOD : number(period, 0)) }));
    } else if (key === 'cpuset.cpus') out.push(prop('AllowedCPUs', 'ay', rangeToBits(value, field)));
    else if (key === 'cpuset.mems') out.push(prop('AllowedMemoryNodes', 'ay', rangeToBits(value, field)));
    else if (key in UNIFIED_MEMORY) out.push(u64(UNIFIED_MEMORY[key], number(value, INFINITY)));
    else if (key === 'pids.max') {
      const n = number(value, INFINITY);
      out.push(u64('TasksMax', n === 0n ? 1 : n));
    }
  }
  return out;
}

/**
 * The unit properties for `r`, named as systemd names the v2 files (the ones runc sets):
 * systemd then keeps them across its own reloads. Everything else (and these too) is written
 * through cgroupfs.
 */
export function resourceProperties(r: LinuxResources): UnitProperty[] {
  const out: UnitProperty[] = [];
  const m = r.memory;
  if (m?.limit) out.push(u64('MemoryMax', m.limit === -1 ? INFINITY : m.limit));
  if (m?.reservation) out.push(u64('MemoryLow', m.reservation === -1 ? INFINITY : m.reservation));
  const swap = swapMaxV2(m?.swap, m?.limit);
  if (swap !== undefined) out.push(u64('MemorySwapMax', swap === 'max' ? INFINITY : BigInt(swap)));
  const cpu = r.cpu;
  if (cpu?.idle === 1) out.push(u64('CPUWeight', 0)); // systemd ≥ 252 maps weight 0 to cpu.idle
  else if (cpu?.shares) out.push(u64('CPUWeight', sharesToWeight(cpu.shares)));
  if (cpu) out.push(...cpuQuotaProperties(cpu));
  if (cpu?.cpus) out.push(prop('AllowedCPUs', 'ay', rangeToBits(cpu.cpus, 'linux.resources.cpu.cpus')));
  if (cpu?.mems) out.push(prop('AllowedMemoryNodes', 'ay', rangeToBits(cpu.mems, 'linux.resources.cpu.mems')));
  if (r.pids) {
    // systemd refuses TasksMax=0; 1 (the init alone) is as close as it gets.
    const limit = r.pids.limit;
    out.push(u64('TasksMax', limit < 0 ? INFINITY : Math.max(limit, 1)));
  }
  out.push(...unifiedProperties(r.unified));
  return out;
}

/** A container's scope: in `slice`, delegated (the container may manage cgroups below it), holding `pid`. */
export function scopeProperties(slice: string, description: string, pid: number): UnitProperty[] {
  return [
    prop('Description', 's', description),
    prop('Slice', 's', slice),
    prop('Delegate', 'b', true),
    prop('PIDs', 'au', [pid]),
    prop('MemoryAccounting', 'b', true),
    prop('CPUAccounting', 'b', true),
    prop('IOAccounting', 'b', true),
    prop('TasksAccounting', 'b', true),
    // A container's scope must not be ordered after (or stopped with) other units.
    prop('DefaultDependencies', 'b', false),
  ];
}

const isDBusError = (err: unknown, name: string) => err instanceof DBusError && err.errorName === name;

/** One connection to systemd's manager for a sequence of unit operations; close() when done. */
export class SystemdManager {
  private constructor(private readonly conn: DBusConnection) {}

  static connect(socketPath = SYSTEMD_PRIVATE_SOCKET, timeoutMs?: number): SystemdManager {
    try {
      return new SystemdManager(DBusConnection.connect(socketPath, timeoutMs));
    } catch (err) {
      throw new SystemdError(`cannot talk to systemd: ${(err as Error).message}`);
    }
  }

  private call(member: string, signature: string, body: DBusValue[]): DBusValue[] {
    return this.conn.call({ ...MANAGER, member, signature, body });
  }

  /** Waits for the job's JobRemoved signal and returns its result ("done", "failed", …). */
  private waitForJob(job: string): string {
    const removed = this.conn.waitForSignal((m: Message) => m.member === 'JobRemoved' && m.interface === MANAGER.interface && m.body[1] === job);
    return String(removed.body[3]);
  }

  /** Starts a transient unit and waits until systemd has finished starting it. */
  startTransientUnit(name: string, properties: UnitProperty[]): void {
    const start = () => this.call('StartTransientUnit', 'ssa(sv)a(sa(sv))', [name, 'replace', properties, []])[0] as string;
    let job: string;
    try {
      try {
        job = start();
      } catch (err) {
        // A failed unit of that name lingers until reset: reset it and try once more (as runc).
        if (!isDBusError(err, 'org.freedesktop.systemd1.UnitExists')) throw err;
        this.resetFailedUnit(name);
        job = start();
      }
    } catch (err) {
      throw new SystemdError(`systemd: start transient unit ${name}: ${(err as Error).message}`);
    }
    const result = this.waitForJob(job);
    if (result !== 'done') {
      this.resetFailedUnit(name);
      throw new SystemdError(`systemd: start transient unit ${name}: job ${result}`);
    }
  }

  /** Changes properties of a running unit (runtime only, as runc). */
  setUnitProperties(name: string, properties: UnitProperty[]): void {
    if (properties.length === 0) return;
    try {
      this.call('SetUnitProperties', 'sba(sv)', [name, true, properties]);
    } catch (err) {
      throw new SystemdError(`systemd: set properties of ${name}: ${(err as Error).message}`);
    }
  }

  /** Stops the unit (a scope whose processes all exited may be gone already) and forgets a failure. */
  stopUnit(name: string): void {
    let job: string | undefined;
    try {
      job = this.call('StopUnit', 'ss', [name, 'replace'])[0] as string;
    } catch (err) {
      if (!isDBusError(err, 'org.freedesktop.systemd1.NoSuchUnit')) throw new SystemdError(`systemd: stop ${name}: ${(err as Error).message}`);
    }
    if (job !== undefined) {
      let result: string;
      try {
        result = this.waitForJob(job);
      } catch (err) {
        // A loaded systemd may be slow to finish the job; it stops the unit all the same.
        // Like runc, delete goes on with a warning instead of failing on it.
        if (!(err instanceof DBusTimeoutError)) throw err;
        log.warn(`systemd: stop ${name}: no word from systemd that the stop job finished; going on`);
        return;
      }
      if (result !== 'done') throw new SystemdError(`systemd: stop ${name}: job ${result}`);
    }
    this.resetFailedUnit(name);
  }

  private resetFailedUnit(name: string): void {
    try {
      this.call('ResetFailedUnit', 's', [name]);
    } catch {
      // not failed, or gone: nothing to forget
    }
  }

  close(): void {
    this.conn.close();
  }
}

/** Runs `action` with a connection to systemd, closing it afterwards. */
export function withSystemd<T>(action: (systemd: SystemdManager) => T): T {
  const systemd = SystemdManager.connect();
  try {
    return action(systemd);
  } finally {
    systemd.close();
  }
}
