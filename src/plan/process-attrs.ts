// The process attributes the init helper sets with one syscall each: scheduler, I/O
// priority, personality, NUMA memory policy, CPU affinity, and the LSM labels of the exec.
// Names and numbers follow the kernel's uapi headers; the checks and their wording follow
// runc, which callers compare us with.
import { existsSync, readFileSync } from 'node:fs';
import type { CPUAffinity, Linux, LinuxIOPriority, LinuxMemoryPolicy, LinuxPersonality, LinuxScheduler, Process } from '../spec/types';
import type { CpuRanges, PlanProcessAttrs, PlanScheduler } from './types';

export class ProcessAttrError extends Error {
  override name = 'ProcessAttrError';
}

/** sched_setattr(2) policies (SCHED_ISO is reserved: the kernel refuses it). */
export const SCHED_POLICIES: Readonly<Record<LinuxScheduler['policy'], number>> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};

export const SCHED_FLAGS: Readonly<Record<NonNullable<LinuxScheduler['flags']>[number], number>> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

const IOPRIO_CLASSES: Readonly<Record<LinuxIOPriority['class'], number>> = {
  IOPRIO_CLASS_RT: 1,
  IOPRIO_CLASS_BE: 2,
  IOPRIO_CLASS_IDLE: 3,
};

/** personality(2) execution domains (linux/personality.h). */
const PERSONALITY_DOMAINS: Readonly<Record<NonNullable<LinuxPersonality['domain']>, number>> = {
  LINUX: 0x0000,
  LINUX32: 0x0008,
};

/** personality(2) flags that may be ORed into the domain. */
export const PERSONALITY_FLAGS: Readonly<Record<string, number>> = {
  UNAME26: 0x0020000,
  ADDR_NO_RANDOMIZE: 0x0040000,
  FDPIC_FUNCPTRS: 0x0080000,
  MMAP_PAGE_ZERO: 0x0100000,
  ADDR_COMPAT_LAYOUT: 0x0200000,
  READ_IMPLIES_EXEC: 0x0400000,
  ADDR_LIMIT_32BIT: 0x0800000,
  SHORT_INODE: 0x1000000,
  WHOLE_SECONDS: 0x2000000,
  STICKY_TIMEOUTS: 0x4000000,
  ADDR_LIMIT_3GB: 0x8000000,
};

/** set_mempolicy(2) modes (linux/mempolicy.h); WEIGHTED_INTERLEAVE needs Linux 6.9. */
export const MPOL_MODES: Readonly<Record<NonNullable<LinuxMemoryPolicy['mode']>, number>> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};

/** Mode flags, ORed into the mode argument. */
export const MPOL_FLAGS: Readonly<Record<NonNullable<LinuxMemoryPolicy['flags']>[number], number>> = {
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
};

/** The highest CPU or node number a list may name (runc's sanity limit). */
const MAX_CPU = 64 * 1024;

/**
 * A kernel cpu-list ("0-3,7"), as runc reads it: spaces around items and empty items are
 * allowed. null for the empty string (no set at all); throws on anything else that names
 * no member.
 */
export function parseCpuList(text: string): CpuRanges | null {
  if (text === '') return null;
  const number = (s: string): number => {
    if (!/^\d+$/.test(s)) throw new ProcessAttrError(`invalid number ${JSON.stringify(s)}`);
    const n = Number(s);
    if (n > MAX_CPU) throw new ProcessAttrError(`values larger than ${MAX_CPU} are not supported`);
    return n;
  };
  const ranges: CpuRanges = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const dash = item.indexOf('-');
    const first = number(dash < 0 ? item : item.slice(0, dash));
    const last = dash < 0 ? first : number(item.slice(dash + 1));
    if (first > last) throw new ProcessAttrError(`invalid range: ${item}`);
    ranges.push([first, last]);
  }
  if (ranges.length === 0) throw new ProcessAttrError(`no members found in set ${JSON.stringify(text)}`);
  return ranges;
}

function planScheduler(s: LinuxScheduler): PlanScheduler {
  let flags = 0;
  for (const name of s.flags ?? []) {
    const bit = SCHED_FLAGS[name];
    if (bit === undefined) throw new ProcessAttrError(`invalid scheduler flag: ${name}`);
    flags |= bit;
  }
  const policy = SCHED_POLICIES[s.policy];
  if (policy === undefined) throw new ProcessAttrError(`invalid scheduler policy: ${s.policy}`);
  // uint64 nanoseconds: decimal strings, every digit of the number JSON.parse gave us.
  const ns = (v: number | undefined): string => BigInt(Math.trunc(v ?? 0)).toString();
  return { policy, flags, nice: s.nice ?? 0, priority: s.priority ?? 0, runtime: ns(s.runtime), deadline: ns(s.deadline), period: ns(s.period) };
}

/** (class << 13) | priority, the value ioprio_set(2) takes. */
function planIoPriority(p: LinuxIOPriority): number {
  const cls = IOPRIO_CLASSES[p.class];
  if (cls === undefined) throw new ProcessAttrError(`invalid ioPriority.Class: ${JSON.stringify(p.class)}`);
  const priority = p.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 7) throw new ProcessAttrError(`invalid ioPriority.Priority: ${priority}`);
  return (cls << 13) | priority;
}

function planPersonality(p: LinuxPersonality): number {
  const domain = PERSONALITY_DOMAINS[p.domain as keyof typeof PERSONALITY_DOMAINS];
  if (domain === undefined) throw new ProcessAttrError(`invalid personality domain ${p.domain ?? ''}`);
  let persona = domain;
  for (const name of p.flags ?? []) {
    const bit = PERSONALITY_FLAGS[name];
    if (bit === undefined) throw new ProcessAttrError(`linux.personality.flags: unknown personality flag ${JSON.stringify(name)}`);
    persona |= bit;
  }
  return persona;
}

function nodeCount(ranges: CpuRanges | null): number {
  return (ranges ?? []).reduce((n, [first, last]) => n + last - first + 1, 0);
}

/** runc's checks, plus the flag combinations mpol_new() always refuses (EINVAL otherwise). */
function planMemoryPolicy(m: LinuxMemoryPolicy): NonNullable<PlanProcessAttrs['memoryPolicy']> {
  const mode = MPOL_MODES[m.mode as keyof typeof MPOL_MODES];
  if (mode === undefined) throw new ProcessAttrError(`invalid memory policy mode ${JSON.stringify(m.mode ?? '')}`);
  let nodes: CpuRanges | null;
  try {
    nodes = parseCpuList(m.nodes ?? '');
  } catch (err) {
    throw new ProcessAttrError(`invalid memory policy nodes ${JSON.stringify(m.nodes)}: ${(err as Error).message}`);
  }
  let flags = 0;
  for (const name of m.flags ?? []) {
    const bit = MPOL_FLAGS[name];
    if (bit === undefined) throw new ProcessAttrError(`invalid memory policy flag ${JSON.stringify(name)}`);
    flags |= bit;
  }
  const count = nodeCount(nodes);
  switch (m.mode) {
    case 'MPOL_DEFAULT':
    case 'MPOL_LOCAL':
      if (count !== 0) throw new ProcessAttrError(`memory policy mode requires 0 nodes but got ${count}`);
      if (flags & (MPOL_FLAGS.MPOL_F_STATIC_NODES | MPOL_FLAGS.MPOL_F_RELATIVE_NODES)) {
        throw new ProcessAttrError(`memory policy mode ${m.mode} takes no MPOL_F_STATIC_NODES or MPOL_F_RELATIVE_NODES flag`);
      }
      break;
    case 'MPOL_PREFERRED':
      break; // zero nodes or more
    default:
      if (count === 0) throw new ProcessAttrError('memory policy mode requires at least one node but got 0');
  }
  if ((flags & MPOL_FLAGS.MPOL_F_STATIC_NODES) && (flags & MPOL_FLAGS.MPOL_F_RELATIVE_NODES)) {
    throw new ProcessAttrError('memory policy flags MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other');
  }
  return { mode: mode | flags, nodes: nodes ?? [] };
}

function planCpuAffinity(a: CPUAffinity | undefined): PlanProcessAttrs['cpuAffinity'] {
  const parse = (field: 'initial' | 'final'): CpuRanges | null => {
    try {
      return parseCpuList(a?.[field] ?? '');
    } catch (err) {
      throw new ProcessAttrError(`bad CPUAffinity.${field === 'initial' ? 'Initial' : 'Final'}: ${(err as Error).message}`);
    }
  };
  return { initial: parse('initial'), final: parse('final') };
}

/** Which LSMs the host runs, as runc (go-selinux, libcontainer/apparmor) tells. */
export interface HostLsm {
  apparmor: boolean;
  selinux: boolean;
}

export function hostLsm(): HostLsm {
  let apparmor = false;
  try {
    apparmor = existsSync('/sys/kernel/security/apparmor') && readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
  } catch {
    // no apparmor module
  }
  return { apparmor, selinux: existsSync('/sys/fs/selinux/enforce') };
}

/** runc's wording where the LSM a label needs is missing. */
export function selinuxMissing(what: string): ProcessAttrError {
  return new ProcessAttrError(`${what} is specified in config, but selinux is disabled or not supported`);
}

/** Every LSM label this host cannot apply, with the field that sets it: the process's
 *  (process.apparmorProfile, process.selinuxLabel) and linux.mountLabel. create refuses the
 *  first (the mount label before the plan's mounts); `runts validate --host` lists them all. */
export function labelRefusals(
  p: Pick<Process, 'apparmorProfile' | 'selinuxLabel'>,
  mountLabel: string | undefined,
  lsm: () => HostLsm,
): { field: 'apparmorProfile' | 'selinuxLabel' | 'mountLabel'; error: ProcessAttrError }[] {
  const refused: { field: 'apparmorProfile' | 'selinuxLabel' | 'mountLabel'; error: ProcessAttrError }[] = [];
  if (p.apparmorProfile && !lsm().apparmor) {
    refused.push({ field: 'apparmorProfile', error: new ProcessAttrError(`unable to apply apparmor profile ${JSON.stringify(p.apparmorProfile)}: apparmor is disabled or not supported on this host`) });
  }
  if (p.selinuxLabel && !lsm().selinux) refused.push({ field: 'selinuxLabel', error: selinuxMissing('selinux label') });
  // runc applies a mount label regardless and the first mount fails with EINVAL; say why instead.
  if (mountLabel && !lsm().selinux) refused.push({ field: 'mountLabel', error: selinuxMissing('selinux mount label') });
  return refused;
}

/**
 * The attributes of a process. `linux` gives personality and memoryPolicy (container-wide,
 * also applied to exec'd processes as runc does); `lsm` is looked up only when a label is set.
 */
export function planProcessAttrs(p: Process, linux: Linux, lsm: () => HostLsm): PlanProcessAttrs {
  const apparmorProfile = p.apparmorProfile || null;
  const selinuxLabel = p.selinuxLabel || null;
  const [refused] = labelRefusals(p, undefined, lsm);
  if (refused) throw refused.error;
  return {
    scheduler: p.scheduler ? planScheduler(p.scheduler) : null,
    ioPriority: p.ioPriority ? planIoPriority(p.ioPriority) : null,
    personality: linux.personality ? planPersonality(linux.personality) : null,
    memoryPolicy: linux.memoryPolicy ? planMemoryPolicy(linux.memoryPolicy) : null,
    cpuAffinity: planCpuAffinity(p.execCPUAffinity),
    apparmorProfile,
    selinuxLabel,
  };
}
