// runts update [--resources FILE|-] [--memory … per-knob flags as runc] ID: change the
// limits of a live container. With --resources the other flags are ignored (as with runc).
import * as fs from 'node:fs';
import { defineCommand } from '../cli/command';
import { errnoMessage, RuntimeError, UsageError } from '../errors';
import { updateContainer } from '../container/control';
import type { LinuxResources } from '../spec/types';
import { validateResources } from '../spec/validate';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** "-1", "1048576", "64m", "1.5G", "512KiB" → bytes (binary units, as runc's RAMInBytes). */
export function parseBytes(flag: string, text: string): number {
  if (text.trim() === '-1') return -1;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`invalid value for --${flag}: ${JSON.stringify(text)}`);
  return Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
}

function parseInteger(flag: string, text: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`invalid value for --${flag}: ${JSON.stringify(text)}`);
  return Number(text);
}

function readResources(source: string): LinuxResources {
  let text: string;
  try {
    text = fs.readFileSync(source === '-' ? 0 : source, 'utf8');
  } catch (err) {
    throw new RuntimeError(`read resources from ${source === '-' ? 'stdin' : source}: ${errnoMessage(err)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RuntimeError(`parse resources from ${source === '-' ? 'stdin' : source}: ${(err as Error).message}`);
  }
  return validateResources(value, source === '-' ? 'stdin' : source);
}

type Flags = Record<string, string | undefined>;

/** The LinuxResources the per-knob flags describe (only the ones given). */
export function resourcesFromFlags(f: Flags): LinuxResources {
  const r: LinuxResources = {};
  const memory: NonNullable<LinuxResources['memory']> = {};
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  if (f.memory !== undefined) memory.limit = parseBytes('memory', f.memory);
  if (f.memorySwap !== undefined) memory.swap = parseBytes('memory-swap', f.memorySwap);
  if (f.memoryReservation !== undefined) memory.reservation = parseBytes('memory-reservation', f.memoryReservation);
  if (f.kernelMemory !== undefined) memory.kernel = parseBytes('kernel-memory', f.kernelMemory);
  if (f.kernelMemoryTcp !== undefined) memory.kernelTCP = parseBytes('kernel-memory-tcp', f.kernelMemoryTcp);
  if (f.cpuShare !== undefined) cpu.shares = parseInteger('cpu-share', f.cpuShare);
  if (f.cpuQuota !== undefined) cpu.quota = parseInteger('cpu-quota', f.cpuQuota);
  if (f.cpuPeriod !== undefined) cpu.period = parseInteger('cpu-period', f.cpuPeriod);
  if (f.cpuRtPeriod !== undefined) cpu.realtimePeriod = parseInteger('cpu-rt-period', f.cpuRtPeriod);
  if (f.cpuRtRuntime !== undefined) cpu.realtimeRuntime = parseInteger('cpu-rt-runtime', f.cpuRtRuntime);
  if (f.cpusetCpus !== undefined) cpu.cpus = f.cpusetCpus;
  if (f.cpusetMems !== undefined) cpu.mems = f.cpusetMems;
  if (Object.keys(memory).length) r.memory = memory;
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (f.pidsLimit !== undefined) r.pids = { limit: parseInteger('pids-limit', f.pidsLimit) };
  if (f.blkioWeight !== undefined) r.blockIO = { weight: parseInteger('blkio-weight', f.blkioWeight) };
  return r;
}

const knob = (describe: string) => ({ type: 'string', describe }) as const;

export default defineCommand({
  name: 'update',
  describe: 'update container resource constraints',
  flags: {
    resources: { type: 'string', alias: 'r', describe: "a file with the LinuxResources JSON to apply, or '-' for stdin (other flags are then ignored)" },
    'blkio-weight': knob('per-cgroup block IO weight, 10..1000'),
    'cpu-period': knob('CPU CFS period (µs)'),
    'cpu-quota': knob('CPU CFS quota (µs per period)'),
    'cpu-share': { ...knob('CPU shares (relative weight)'), alias: 'cpu-shares' },
    'cpu-rt-period': knob('CPU realtime period (µs)'),
    'cpu-rt-runtime': knob('CPU realtime runtime (µs per period)'),
    'cpuset-cpus': knob('CPUs to use'),
    'cpuset-mems': knob('memory nodes to use'),
    'kernel-memory': knob('kernel memory limit (ignored by current kernels)'),
    'kernel-memory-tcp': knob('kernel TCP buffer limit (bytes)'),
    memory: knob('memory limit (bytes, or with k/m/g)'),
    'memory-reservation': knob('memory soft limit (bytes)'),
    'memory-swap': knob("memory + swap limit (bytes); '-1' for unlimited swap"),
    'pids-limit': knob('maximum number of tasks (0 allows none, -1 unlimited)'),
  },
  positionals: [{ name: 'container-id', required: true }],
  run: (args) => {
    const source = args.resources;
    updateContainer(args.root, args.containerId, () => (source !== undefined ? readResources(source) : resourcesFromFlags(args as unknown as Flags)));
  },
});
