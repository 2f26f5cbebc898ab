// Compile linux.seccomp into a classic BPF program with runc's semantics (runc 1.2+ with
// libseccomp 2.5), without libseccomp:
//  - actions and errno defaults as runc's getAction (ERRNO and TRACE default to EPERM);
//    rules whose action equals the default action are dropped; names this build does not
//    know are skipped with a debug note ("unknown seccomp syscall %q ignored");
//  - a rule whose conditions name one argument twice becomes one rule per condition (OR),
//    otherwise its conditions are ANDed; an unconditional rule overrides conditional ones and
//    the first unconditional rule wins; the conditional rules of one syscall are merged into
//    one tree of comparisons as libseccomp merges them (rule-tree.ts), which decides where
//    rules with different actions overlap and refuses (EEXIST) what libseccomp refuses;
//  - 64-bit argument comparisons are split into high/low 32-bit words on 64-bit ABIs and
//    compare the low word only on 32-bit ABIs (i386, x32), as libseccomp generates them;
//  - the native arch (x86_64) is always in the filter; other arches this build has no
//    syscall table for are skipped (no syscall of theirs can reach an x86_64 kernel's
//    filter anyway); a syscall from an arch not in the filter is killed (libseccomp's
//    default bad-arch action); x86_64 without x32 kills x32 syscalls;
//  - runc's -ENOSYS stub runs first unless the default action allows: syscalls numbered
//    above the highest one the profile names for their arch return ENOSYS, so that new
//    syscalls let libc fall back instead of failing with the default errno;
//  - flags: absent means SPEC_ALLOW (runc's default); TSYNC is accepted and ignored, as
//    runc does (the init is single-threaded, and TSYNC would conflict with NEW_LISTENER).
import type { LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg } from '../spec/types';
import { Assembler, encodeProgram, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR } from './bpf';
import type { SockFilter } from './bpf';
import { SYSCALLS_I386, SYSCALLS_X32, SYSCALLS_X86_64 } from './generated/syscalls';
import { emitTree, RuleExistsError, SyscallTree, type TreeCondition } from './rule-tree';

export class SeccompError extends Error {
  override name = 'SeccompError';
}

// SECCOMP_RET_* from <linux/seccomp.h>.
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;

// SECCOMP_FILTER_FLAG_* from <linux/seccomp.h>.
export const SECCOMP_FILTER_FLAG_LOG = 1 << 1;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5;

// AUDIT_ARCH_* from <linux/audit.h>.
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
export const X32_SYSCALL_BIT = 0x40000000;

const EPERM = 1;
const ENOSYS = 38;
/** The kernel's limit on a filter's length (BPF_MAXINSNS). */
const MAX_INSTRUCTIONS = 4096;

/** The ABIs this build has syscall tables for. */
type Abi = 'x86_64' | 'x32' | 'i386';

interface AbiInfo {
  table: ReadonlyMap<string, number>;
  auditArch: number;
  /** libseccomp's ARCH_SIZE: 32-bit ABIs compare only the low word of an argument. */
  argBits: 32 | 64;
}

/** libseccomp-golang's names, which runc's messages print. */
const GO_ARCH_NAMES: Readonly<Record<Abi, string>> = { x86_64: 'amd64', x32: 'x32', i386: 'x86' };

const ABIS: Readonly<Record<Abi, AbiInfo>> = {
  x86_64: { table: SYSCALLS_X86_64, auditArch: AUDIT_ARCH_X86_64, argBits: 64 },
  x32: { table: SYSCALLS_X32, auditArch: AUDIT_ARCH_X86_64, argBits: 32 },
  i386: { table: SYSCALLS_I386, auditArch: AUDIT_ARCH_I386, argBits: 32 },
};

/** runc's architecture names; null: known to runc but not compiled for by this build. */
const ARCHITECTURES: Readonly<Record<string, Abi | null>> = {
  SCMP_ARCH_X86: 'i386',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: null,
  SCMP_ARCH_AARCH64: null,
  SCMP_ARCH_MIPS: null,
  SCMP_ARCH_MIPS64: null,
  SCMP_ARCH_MIPS64N32: null,
  SCMP_ARCH_MIPSEL: null,
  SCMP_ARCH_MIPSEL64: null,
  SCMP_ARCH_MIPSEL64N32: null,
  SCMP_ARCH_PPC: null,
  SCMP_ARCH_PPC64: null,
  SCMP_ARCH_PPC64LE: null,
  SCMP_ARCH_RISCV64: null,
  SCMP_ARCH_S390: null,
  SCMP_ARCH_S390X: null,
  SCMP_ARCH_LOONGARCH64: null,
};

const FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 0,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};

const OPERATORS: ReadonlySet<string> = new Set(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']);

/** What this compiler implements, by runc's names; `runts features` reports it. `actions`
 *  are the names actionValue maps (test/commands/features.test.ts keeps the two in step);
 *  `archs` are those with a syscall table (the others are accepted but skipped). */
export const SECCOMP_SUPPORT = {
  actions: ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP'] satisfies LinuxSeccompAction[],
  operators: [...OPERATORS],
  archs: Object.keys(ARCHITECTURES).filter((arch) => ARCHITECTURES[arch] !== null),
  flags: Object.keys(FLAGS),
} as const;

export interface CompiledSeccomp {
  program: SockFilter[];
  /** Base64 of the struct sock_filter array. */
  filter: string;
  /** seccomp(2) flags, including NEW_LISTENER when an action is SCMP_ACT_NOTIFY. */
  flags: number;
  /** Some rule uses SCMP_ACT_NOTIFY: the listener fd must go to listenerPath. */
  listener: boolean;
  /** Debug-level remarks (skipped names and architectures). */
  notes: string[];
  /** Warning-level remarks, where runc warns. */
  warnings: string[];
}

/** The SECCOMP_RET_* value of an action, as runc's getAction maps it. */
export function actionValue(action: LinuxSeccompAction | string, errnoRet: number | undefined): number {
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET_KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET_TRAP;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET_ERRNO | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET_TRACE | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET_ALLOW;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET_LOG;
    case 'SCMP_ACT_NOTIFY':
      return SECCOMP_RET_USER_NOTIF;
    default:
      throw new SeccompError(`string ${action} is not a valid action for seccomp`);
  }
}

/** runc's isAllowAction: no -ENOSYS stub in front of a permissive default. */
function isAllowAction(action: string): boolean {
  return action === 'SCMP_ACT_ALLOW' || action === 'SCMP_ACT_LOG' || action === 'SCMP_ACT_TRACE';
}

/** JSON.parse rounds integers above 2^53; 2^64 - 1 arrives as 2^64. */
function toUint64(value: number | bigint, what: string): bigint {
  if (typeof value === 'number' && (!Number.isInteger(value) || value < 0)) throw new SeccompError(`${what}: ${value} is not an unsigned 64-bit integer`);
  const big = BigInt(value);
  const max = (1n << 64n) - 1n;
  return big > max ? max : big;
}

type Condition = TreeCondition;

/** The rules of one syscall number of one ABI. */
interface SyscallRules {
  nr: number;
  tree: SyscallTree;
}

class RuleSet {
  readonly bySyscall = new Map<number, SyscallRules>();

  add(name: string, nr: number, argBits: 32 | 64, conditions: Condition[], action: number): void {
    let rules = this.bySyscall.get(nr);
    if (!rules) {
      rules = { nr, tree: new SyscallTree(argBits) };
      this.bySyscall.set(nr, rules);
    }
    try {
      rules.tree.add(conditions, action);
    } catch (err) {
      // libseccomp refuses (EEXIST) a rule that meets an earlier one's comparisons with
      // another action where it cannot keep both; runc then fails the create.
      if (err instanceof RuleExistsError) throw new SeccompError(`error adding seccomp rule for syscall ${name}: file exists`);
      throw err;
    }
  }
}

function parseConditions(name: string, args: LinuxSeccompArg[]): Condition[] {
  return args.map((arg) => {
    if (!OPERATORS.has(arg.op)) throw new SeccompError(`string ${arg.op} is not a valid operator for seccomp`);
    if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5) {
      throw new SeccompError(`error creating seccomp syscall condition for syscall ${name}: argument index ${arg.index} is not between 0 and 5`);
    }
    return {
      index: arg.index,
      op: arg.op,
      value: toUint64(arg.value, `syscall ${name} argument ${arg.index} value`),
      valueTwo: toUint64(arg.valueTwo ?? 0, `syscall ${name} argument ${arg.index} valueTwo`),
    };
  });
}

/** runc: conditions on distinct arguments form one rule; any repeated argument splits them. */
function ruleConditionSets(conditions: Condition[]): Condition[][] {
  if (conditions.length === 0) return [[]];
  const seen = new Set<number>();
  const repeated = conditions.some((c) => (seen.has(c.index) ? true : (seen.add(c.index), false)));
  return repeated ? conditions.map((c) => [c]) : [conditions];
}

export function compileSeccomp(config: LinuxSeccomp): CompiledSeccomp {
  const notes: string[] = [];
  const warnings: string[] = [];
  const defaultAction = actionValue(config.defaultAction, config.defaultErrnoRet);
  const syscalls = config.syscalls ?? [];

  const usesNotify = syscalls.some((call) => call.action === 'SCMP_ACT_NOTIFY');
  for (const call of syscalls) {
    actionValue(call.action, call.errnoRet); // reject unknown actions up front, as runc's specconv does
    // The init writes to the runtime after loading the filter (runc's reason); we also send
    // the listener fd with sendmsg, which must not wait for the agent that fd is meant for.
    if (call.action === 'SCMP_ACT_NOTIFY') {
      for (const name of ['write', 'sendmsg']) {
        if (call.names.includes(name)) throw new SeccompError(`SCMP_ACT_NOTIFY cannot be used for the ${name} syscall`);
      }
    }
  }
  if (config.defaultAction === 'SCMP_ACT_NOTIFY') throw new SeccompError('SCMP_ACT_NOTIFY cannot be used as default action');
  if (usesNotify && !config.listenerPath) throw new SeccompError('listenerPath is not set');

  // Flags: absent means SPEC_ALLOW (runc's default); an empty list means none.
  let flags = 0;
  for (const flag of config.flags ?? ['SECCOMP_FILTER_FLAG_SPEC_ALLOW']) {
    const value = FLAGS[flag];
    if (value === undefined) throw new SeccompError(`seccomp flag ${flag} is not known to runts`);
    flags |= value;
  }
  if (usesNotify) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  // The kernel refuses WAIT_KILLABLE_RECV without a listener; runc finds out at create time
  // when loading the filter, and so do we, in runc's words.
  if ((flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) !== 0 && !usesNotify) {
    throw new SeccompError('error loading seccomp filter into kernel: error loading seccomp filter: invalid argument');
  }

  // Architectures: the native one is always present (libseccomp's filter starts with it).
  const abis = new Set<Abi>(['x86_64']);
  for (const arch of config.architectures ?? []) {
    if (!(arch in ARCHITECTURES)) throw new SeccompError(`string ${arch} is not a valid arch for seccomp`);
    const abi = ARCHITECTURES[arch];
    if (abi) abis.add(abi);
    else notes.push(`seccomp: architecture ${arch} is not supported by this build (x86 only), skipped`);
  }

  const rules = new Map<Abi, RuleSet>([...abis].map((abi) => [abi, new RuleSet()]));
  const highest = new Map<Abi, number>();
  for (const call of syscalls) {
    const action = actionValue(call.action, call.errnoRet);
    for (const name of call.names) {
      if (name === '') throw new SeccompError('empty string is not a valid syscall');
      // runc's -ENOSYS stub counts every named syscall, including skipped rules.
      for (const abi of abis) {
        const nr = ABIS[abi].table.get(name);
        if (nr !== undefined && nr > (highest.get(abi) ?? 0)) highest.set(abi, nr);
      }
      if (action === defaultAction) continue; // redundant, as runc drops it
      if (!Object.values(ABIS).some((info) => info.table.has(name))) {
        notes.push(`unknown seccomp syscall "${name}" ignored`);
        continue;
      }
      const conditionSets = ruleConditionSets(parseConditions(name, call.args ?? []));
      for (const abi of abis) {
        const nr = ABIS[abi].table.get(name);
        if (nr === undefined) continue; // not a syscall of this ABI
        for (const conditions of conditionSets) rules.get(abi)!.add(name, nr, ABIS[abi].argBits, conditions, action);
      }
    }
  }

  const asm = new Assembler();
  const returns = new Map<number, string>();
  const returnLabel = (value: number): string => {
    let label = returns.get(value >>> 0);
    if (!label) {
      label = asm.newLabel(`ret-${(value >>> 0).toString(16)}`);
      returns.set(value >>> 0, label);
    }
    return label;
  };
  const defaultLabel = returnLabel(defaultAction);
  const badArchLabel = returnLabel(SECCOMP_RET_KILL_THREAD);

  if (!isAllowAction(config.defaultAction)) emitEnosysStub(asm, abis, highest, returnLabel(SECCOMP_RET_ERRNO | ENOSYS), warnings);
  emitFilter(asm, abis, rules, defaultLabel, badArchLabel, returnLabel);
  for (const [value, label] of returns) {
    asm.label(label);
    asm.ret(value);
  }

  const program = asm.assemble();
  if (program.length > MAX_INSTRUCTIONS) {
    throw new SeccompError(`seccomp filter has ${program.length} instructions, more than the kernel's limit of ${MAX_INSTRUCTIONS}`);
  }
  return { program, filter: encodeProgram(program).toString('base64'), flags, listener: usesNotify, notes, warnings };
}

/** runc's patchbpf stub: syscalls above the profile's highest number for their ABI get ENOSYS. */
function emitEnosysStub(asm: Assembler, abis: ReadonlySet<Abi>, highest: ReadonlyMap<Abi, number>, enosys: string, warnings: string[]): void {
  const filterStart = asm.newLabel('filter');
  for (const abi of abis) {
    if (!highest.has(abi)) warnings.push(`could not find any syscalls for arch ${GO_ARCH_NAMES[abi]}`);
  }
  const x86_64Max = highest.get('x86_64');
  const x32Max = abis.has('x32') ? highest.get('x32') : undefined;
  const i386Max = abis.has('i386') ? highest.get('i386') : undefined;

  asm.load(SECCOMP_DATA_ARCH);
  const x86Section = asm.newLabel('enosys-x86_64');
  const i386Section = asm.newLabel('enosys-i386');
  if (x86_64Max !== undefined || x32Max !== undefined) asm.jump('jeq', AUDIT_ARCH_X86_64, x86Section, null);
  if (i386Max !== undefined) asm.jump('jeq', AUDIT_ARCH_I386, i386Section, null);
  asm.ja(filterStart);

  if (x86_64Max !== undefined || x32Max !== undefined) {
    asm.label(x86Section);
    asm.load(SECCOMP_DATA_NR);
    const x32Branch = asm.newLabel('enosys-x32');
    // x32 syscalls carry __X32_SYSCALL_BIT; each mode has its own highest number, and a mode
    // without one (not in the filter) is left to the filter.
    asm.jump('jset', X32_SYSCALL_BIT, x32Max !== undefined ? x32Branch : filterStart, null);
    if (x86_64Max !== undefined) asm.jump('jgt', x86_64Max, enosys, filterStart);
    else asm.ja(filterStart);
    if (x32Max !== undefined) {
      asm.label(x32Branch);
      asm.jump('jgt', x32Max, enosys, filterStart);
    }
  }
  if (i386Max !== undefined) {
    asm.label(i386Section);
    asm.load(SECCOMP_DATA_NR);
    asm.jump('jgt', i386Max, enosys, filterStart);
  }
  asm.label(filterStart);
}

function emitFilter(
  asm: Assembler,
  abis: ReadonlySet<Abi>,
  rules: ReadonlyMap<Abi, RuleSet>,
  defaultLabel: string,
  badArchLabel: string,
  returnLabel: (value: number) => string,
): void {
  const x86Section = asm.newLabel('arch-x86_64');
  const i386Section = asm.newLabel('arch-i386');
  asm.load(SECCOMP_DATA_ARCH);
  asm.jump('jeq', AUDIT_ARCH_X86_64, x86Section, null);
  if (abis.has('i386')) asm.jump('jeq', AUDIT_ARCH_I386, i386Section, null);
  asm.ja(badArchLabel);

  // x86_64 and x32 share AUDIT_ARCH_X86_64; with both in the filter their (disjoint) syscall
  // numbers share one dispatch, as libseccomp merges them.
  asm.label(x86Section);
  asm.load(SECCOMP_DATA_NR);
  const x86Rules = [...rules.get('x86_64')!.bySyscall.values()];
  if (abis.has('x32')) {
    x86Rules.push(...rules.get('x32')!.bySyscall.values());
  } else {
    // libseccomp: without x32 in the filter an x32 syscall is a bad arch, except nr -1
    // (what a tracer sets to skip a syscall), which goes to the rules.
    const native = asm.newLabel('x86_64-native');
    const minusOne = asm.newLabel('x86_64-minus-one');
    asm.jump('jge', X32_SYSCALL_BIT, minusOne, native);
    asm.label(minusOne);
    asm.jump('jeq', 0xffffffff, native, badArchLabel);
    asm.label(native);
  }
  emitDispatch(asm, x86Rules, defaultLabel, returnLabel);

  if (abis.has('i386')) {
    asm.label(i386Section);
    asm.load(SECCOMP_DATA_NR);
    emitDispatch(asm, [...rules.get('i386')!.bySyscall.values()], defaultLabel, returnLabel);
  }
}

/**
 * Dispatch on the syscall number (in A): the number line is cut into intervals with one
 * outcome each (a return, a syscall's rule block, or the default), adjacent equal outcomes
 * merged, then searched with a binary tree of jge. Allow lists are mostly runs of
 * consecutive numbers, so this stays far smaller than one comparison per syscall.
 */
function emitDispatch(asm: Assembler, entries: SyscallRules[], defaultLabel: string, returnLabel: (value: number) => string): void {
  const sorted = [...entries].sort((a, b) => a.nr - b.nr);
  const blocks: { label: string; rules: SyscallRules }[] = [];
  // Each syscall's number is one interval, the gaps between them go to the default.
  const raw: { start: number; target: string }[] = [{ start: 0, target: defaultLabel }];
  for (const rules of sorted) {
    let target: string;
    if (rules.tree.root === null) {
      target = returnLabel(rules.tree.unconditional!);
    } else {
      target = asm.newLabel(`sys-${rules.nr}`);
      blocks.push({ label: target, rules });
    }
    if (raw[raw.length - 1]!.start === rules.nr) raw.pop();
    raw.push({ start: rules.nr, target });
    if (rules.nr < 0xffffffff) raw.push({ start: rules.nr + 1, target: defaultLabel });
  }
  const intervals = raw.filter((interval, i) => i === 0 || raw[i - 1]!.target !== interval.target);

  // intervals[lo..hi), in pre-order: a node, its left subtree, then its right subtree. A
  // single interval is not a node: its parent jumps straight to its outcome.
  const emitNode = (lo: number, hi: number): void => {
    const mid = (lo + hi) >> 1;
    const left = mid - lo === 1 ? intervals[lo]!.target : asm.newLabel('search');
    const right = hi - mid === 1 ? intervals[mid]!.target : asm.newLabel('search');
    asm.jump('jge', intervals[mid]!.start, right, left);
    if (mid - lo > 1) {
      asm.label(left);
      emitNode(lo, mid);
    }
    if (hi - mid > 1) {
      asm.label(right);
      emitNode(mid, hi);
    }
  };
  if (intervals.length === 1) asm.ja(intervals[0]!.target);
  else emitNode(0, intervals.length);

  for (const { label, rules } of blocks) {
    asm.label(label);
    emitTree(asm, rules.tree.root!, defaultLabel, returnLabel);
  }
}
