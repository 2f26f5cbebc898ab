// The seccomp compiler against the real libseccomp: each profile is compiled by runts and by
// libseccomp (test/seccomp/libseccomp-oracle.py, Debian's python3-seccomp, driven as runc 1.1
// drives libseccomp-golang), both programs run through the interpreter on the same inputs, and
// every input must get the same action. runc puts its -ENOSYS stub (patchbpf) in front of
// libseccomp's program unless the default action allows; the expected action is that stub's
// answer, from the largest syscall numbers libseccomp itself resolves, else libseccomp's.
//
// Profiles: podman's default (as containers/common makes it here, unprivileged and with every
// capability) and seeded random ones (every action, errno values, every operator with 64-bit
// and masked values, several rules per syscall, repeated arguments, unknown names, any set of
// x86 ABIs, defaultErrnoRet, flags). Inputs: every syscall number of each ABI and a few beyond,
// x32 numbers, -1, foreign architectures, and for each syscall a profile conditions: boundary
// argument values around each operand plus a seeded random sample.
// Seed: RUNTS_FUZZ_SEED (as the fuzzer); more profiles: RUNTS_SECCOMP_DIFF_PROFILES=N.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { LinuxSeccomp } from '../../src/spec/types';
import { actionValue, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, compileSeccomp, X32_SYSCALL_BIT } from '../../src/seccomp/compile';
import { SYSCALLS_I386, SYSCALLS_X32, SYSCALLS_X86_64 } from '../../src/seccomp/generated/syscalls';
import type { SockFilter } from '../../src/seccomp/bpf';
import { fuzzSeed, Rng } from '../fuzz/mutate';
import { leakGuard, makeBundle, requireRoot, runts, runtsRoot, tempDir, uniqueId } from '../lib';
import { decodeProgram, runFilter, type SeccompData } from './interpreter';
import { parsePfc, pfcDecision, type PfcFilters } from './pfc';
import { legacySeccomp } from './legacy-profile';
import { PODMAN_PROFILE, podmanSeccomp } from './podman-profile';
import { RUNTIME_TOOLS_DEFAULT_CAPABILITIES, runtimeToolsSeccomp } from './runtime-tools-profile';

const ORACLE = path.join(__dirname, 'libseccomp-oracle.py');
const PYTHON = '/usr/bin/python3';
const SECCOMP_RET_ERRNO = 0x00050000;
const ENOSYS = 38;
const ENOSYS_RET = (SECCOMP_RET_ERRNO | ENOSYS) >>> 0;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const AUDIT_ARCH_ARM = 0x40000028;
const RANDOM_PROFILES = Number(process.env.RUNTS_SECCOMP_DIFF_PROFILES) || 120;
const seed = fuzzSeed();

type Abi = 'x86_64' | 'i386' | 'x32';
const TABLES: Record<Abi, ReadonlyMap<string, number>> = { x86_64: SYSCALLS_X86_64, i386: SYSCALLS_I386, x32: SYSCALLS_X32 };
const AUDIT: Record<Abi, number> = { x86_64: AUDIT_ARCH_X86_64, i386: AUDIT_ARCH_I386, x32: AUDIT_ARCH_X86_64 };
const ARCH_NAMES: Record<Abi, string> = { x86_64: 'SCMP_ARCH_X86_64', i386: 'SCMP_ARCH_X86', x32: 'SCMP_ARCH_X32' };

const oracleMissing = ((): string | false => {
  const probe = spawnSync(PYTHON, ['-c', 'import seccomp'], { encoding: 'utf8' });
  return probe.status === 0 ? false : `python3-seccomp is not installed (${PYTHON} -c 'import seccomp': ${probe.stderr.trim() || probe.error}); apt-get install python3-seccomp`;
})();

/** JSON with bigints written as exact integers (python's json reads them exactly). */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? `@@${v}@@` : v)).replace(/"@@(\d+)@@"/g, '$1');
}

function oracle(request: object): any {
  const run = spawnSync(PYTHON, [ORACLE], { input: toJson(request), encoding: 'utf8', maxBuffer: 256 << 20 });
  if (run.status !== 0) throw new Error(`libseccomp-oracle.py failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout);
}

type LibseccompResult = { bpf: string; pfc: string; highest: Partial<Record<Abi, number>> } | { error: string };

/** libseccomp's syscall number of each name, per ABI (-1: unknown, below -1: a pseudo number). */
function libseccompTables(names: string[]): Record<Abi, Record<string, number>> {
  return oracle({ names });
}

const allNames = [...new Set([...SYSCALLS_X86_64.keys(), ...SYSCALLS_I386.keys(), ...SYSCALLS_X32.keys()])].sort();
const libTables = oracleMissing ? null : libseccompTables(allNames);
/** Names libseccomp 2.5.4 resolves for some ABI (a real number on at least one). */
const libKnown = (name: string): boolean => !!libTables && (['x86_64', 'i386', 'x32'] as Abi[]).some((abi) => libTables[abi]![name]! >= 0);

/** The syscall tables agree with libseccomp's where both know a name: runts's numbers are
 *  the kernel headers', libseccomp's its own tables. */
t.test('syscall tables agree with libseccomp', { skip: oracleMissing }, async (t) => {
  const disagreements: string[] = [];
  const runtsOnly: string[] = [];
  for (const abi of ['x86_64', 'i386', 'x32'] as Abi[]) {
    for (const [name, nr] of TABLES[abi]) {
      const lib = libTables![abi]![name]!;
      if (lib === -1) runtsOnly.push(`${abi}:${name}`);
      else if (lib >= 0 && lib !== nr) disagreements.push(`${abi}:${name} runts ${nr} libseccomp ${lib}`);
    }
  }
  // libseccomp resolves i386's socket calls (and the ipc ones) to the multiplexers
  // socketcall (102) and ipc (117): its x86 table predates the direct syscalls as names it
  // returns. Every other name must agree.
  const unexpected = disagreements.filter((d) => !/^i386:\S+ runts \d+ libseccomp (102|117)$/.test(d));
  t.same(unexpected, [], 'no number differs except i386 socket/ipc calls libseccomp multiplexes');
  t.comment(`i386 names libseccomp resolves to a multiplexer: ${disagreements.length - unexpected.length}`);
  t.comment(`names runts knows and libseccomp 2.5.4 does not (runc with this libseccomp ignores them): ${runtsOnly.join(' ') || 'none'}`);
});

// Random profiles.

const ACTIONS = ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY'] as const;
const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;
const U64 = (1n << 64n) - 1n;
const INTERESTING = [0n, 1n, 2n, 0x7fn, 0xffn, 0x7fffffffn, 0x80000000n, 0xfffffffen, 0xffffffffn, 0x100000000n, 0x100000001n, 0x7fffffffffffffffn, 0x8000000000000000n, U64 - 1n, U64];

function random64(rng: Rng): bigint {
  return (BigInt(Math.floor(rng.next() * 2 ** 32)) << 32n) | BigInt(Math.floor(rng.next() * 2 ** 32));
}

function randomValue(rng: Rng): bigint {
  const r = rng.next();
  if (r < 0.5) return rng.pick(INTERESTING);
  if (r < 0.75) return BigInt(rng.int(4096));
  return random64(rng);
}

function randomProfile(rng: Rng, names: string[]): LinuxSeccomp {
  const pickAction = (): (typeof ACTIONS)[number] => rng.pick([...ACTIONS]);
  let defaultAction = pickAction();
  while (defaultAction === 'SCMP_ACT_NOTIFY') defaultAction = pickAction();
  const profile: LinuxSeccomp = { defaultAction, syscalls: [] };
  if (rng.chance(0.3)) profile.defaultErrnoRet = rng.pick([1, 5, 13, 38, 95, rng.int(4096)]);
  const arches = (['x86_64', 'i386', 'x32'] as Abi[]).filter(() => rng.chance(0.5)).map((abi) => ARCH_NAMES[abi]);
  if (arches.length > 0 || rng.chance(0.5)) profile.architectures = arches as LinuxSeccomp['architectures'];
  if (rng.chance(0.3)) profile.flags = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'].filter(() => rng.chance(0.5)) as LinuxSeccomp['flags'];
  // A few names per profile, so that several rules meet on one syscall.
  const pool = Array.from({ length: 1 + rng.int(10) }, () => rng.pick(names));
  if (rng.chance(0.2)) pool.push('no_such_syscall');
  const rules = 1 + rng.int(12);
  for (let i = 0; i < rules; i++) {
    const action = pickAction();
    const ruleNames = [...new Set(Array.from({ length: 1 + rng.int(3) }, () => rng.pick(pool)))];
    const rule: NonNullable<LinuxSeccomp['syscalls']>[number] = { names: ruleNames as [string, ...string[]], action };
    if ((action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE') && rng.chance(0.6)) rule.errnoRet = rng.pick([1, 2, 22, 38, rng.int(4096)]);
    if (rng.chance(0.6)) {
      const count = 1 + rng.int(3);
      rule.args = Array.from({ length: count }, () => {
        const op = rng.pick([...OPS]);
        const arg: any = { index: rng.int(6), op, value: randomValue(rng) };
        if (op === 'SCMP_CMP_MASKED_EQ' || rng.chance(0.1)) arg.valueTwo = randomValue(rng);
        return arg;
      });
    }
    profile.syscalls!.push(rule);
  }
  if (profile.syscalls!.some((r) => r.action === 'SCMP_ACT_NOTIFY')) {
    profile.listenerPath = '/run/agent.sock';
    // runts and runc refuse to notify on the calls the init needs after loading the filter.
    for (const r of profile.syscalls!) if (r.action === 'SCMP_ACT_NOTIFY') r.names = r.names.filter((n) => n !== 'write' && n !== 'sendmsg') as [string, ...string[]];
    profile.syscalls = profile.syscalls!.filter((r) => r.names.length > 0);
  }
  return profile;
}

// Inputs.

/** Argument vectors for a syscall with conditions: each operand and its neighbours, word flips. */
function argumentSamples(rng: Rng, conditions: { index: number; value: bigint; valueTwo: bigint }[], count: number): bigint[][] {
  const byIndex = new Map<number, bigint[]>();
  for (const c of conditions) {
    const near = [c.value, c.valueTwo, c.value & c.valueTwo, c.valueTwo | ~c.value, c.value ^ (1n << 32n), c.value & 0xffffffffn, c.value | 0xffffffff00000000n];
    const values = near.flatMap((v) => [v - 1n, v, v + 1n]).map((v) => BigInt.asUintN(64, v));
    byIndex.set(c.index, [...(byIndex.get(c.index) ?? []), ...values, ...INTERESTING]);
  }
  const samples: bigint[][] = [[0n, 0n, 0n, 0n, 0n, 0n]];
  for (let i = 0; i < count; i++) {
    samples.push(Array.from({ length: 6 }, (_, index) => {
      const pool = byIndex.get(index);
      return pool && rng.chance(0.85) ? rng.pick(pool) : rng.chance(0.5) ? 0n : random64(rng);
    }));
  }
  return samples;
}

function inputsFor(rng: Rng, profile: LinuxSeccomp): SeccompData[] {
  const inputs: SeccompData[] = [];
  for (const abi of ['x86_64', 'i386', 'x32'] as Abi[]) {
    const max = Math.max(...TABLES[abi].values()) & ~X32_SYSCALL_BIT;
    const base = abi === 'x32' ? X32_SYSCALL_BIT : 0;
    for (let nr = 0; nr <= max + 8; nr++) inputs.push({ arch: AUDIT[abi], nr: base + nr });
  }
  for (const nr of [-1, 0x3fffffff, X32_SYSCALL_BIT - 1, 0x7fffffff, -0x80000000, 100000]) {
    inputs.push({ arch: AUDIT_ARCH_X86_64, nr }, { arch: AUDIT_ARCH_I386, nr });
  }
  for (const arch of [AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, 0, 0xffffffff]) inputs.push({ arch, nr: 0 }, { arch, nr: 59 });
  // Syscalls with conditions: boundary and random arguments on every ABI's number.
  const conditioned = new Map<string, { index: number; value: bigint; valueTwo: bigint }[]>();
  for (const rule of profile.syscalls ?? []) {
    for (const name of rule.names) {
      const list = conditioned.get(name) ?? [];
      for (const a of rule.args ?? []) list.push({ index: a.index, value: BigInt(a.value), valueTwo: BigInt(a.valueTwo ?? 0) });
      conditioned.set(name, list);
    }
  }
  for (const [name, conditions] of conditioned) {
    if (conditions.length === 0) continue;
    const samples = argumentSamples(rng, conditions, 40);
    for (const abi of ['x86_64', 'i386', 'x32'] as Abi[]) {
      const nrs = [TABLES[abi].get(name), libTables?.[abi]?.[name]].filter((n): n is number => n !== undefined && n >= 0);
      for (const nr of new Set(nrs)) for (const args of samples) inputs.push({ arch: AUDIT[abi], nr, args });
    }
  }
  return inputs;
}

/** runc's patchbpf stub in front of libseccomp's program, with libseccomp's largest numbers. */
function runcExpected(profile: LinuxSeccomp, lib: { program: SockFilter[]; highest: Partial<Record<Abi, number>> }, input: SeccompData): number {
  const allows = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(profile.defaultAction);
  if (!allows) {
    const inFilter = new Set<Abi>(['x86_64', ...((profile.architectures ?? []) as string[]).flatMap((a) => (Object.keys(ARCH_NAMES) as Abi[]).filter((abi) => ARCH_NAMES[abi] === a))]);
    const nr = input.nr >>> 0;
    let limit: number | undefined;
    if (input.arch === AUDIT_ARCH_X86_64) {
      // x32 calls carry the x32 bit; each mode has its own largest number.
      limit = (nr & X32_SYSCALL_BIT) !== 0 ? (inFilter.has('x32') ? lib.highest.x32 : undefined) : lib.highest.x86_64;
    } else if (input.arch === AUDIT_ARCH_I386 && inFilter.has('i386')) {
      limit = lib.highest.i386;
    }
    if (limit !== undefined && nr > limit) return (SECCOMP_RET_ERRNO | ENOSYS) >>> 0;
  }
  return runFilter(lib.program, input);
}

/**
 * Why an input may diverge, for the known classes; null: no known reason (a bug).
 * - "libseccomp-bug" (decided in compare()): runts gives what libseccomp's own rule tree (its
 *   pseudo filter code, test/seccomp/pfc.ts) decides and libseccomp's BPF does not.
 * - "i386-multiplexed": the profile names an i386 socket or ipc call, which libseccomp 2.5.4
 *   resolves to the multiplexer (socketcall 102, ipc 117): its rules land there (with arg0 the
 *   call number) and runc's -ENOSYS stub takes 102/117 as the largest number, so the direct
 *   calls (359-373 and later) get ENOSYS. runts uses the kernel's direct numbers, as libseccomp
 *   itself does for these names since 2.6 (documented choice).
 */
function knownReason(profile: LinuxSeccomp, input: SeccompData): string | null {
  const abi = abiOf(input);
  if (abi === 'i386' && profile.syscalls?.some((rule) => rule.names.some((name) => libTables?.i386?.[name] !== undefined && libTables.i386[name]! >= 0 && libTables.i386[name] !== SYSCALLS_I386.get(name)))) {
    return 'i386-multiplexed';
  }
  return null;
}

function abiOf(input: SeccompData): Abi | undefined {
  return input.arch === AUDIT_ARCH_I386 ? 'i386' : input.arch === AUDIT_ARCH_X86_64 ? ((input.nr & X32_SYSCALL_BIT) !== 0 ? 'x32' : 'x86_64') : undefined;
}

/** libseccomp's arch names in its pseudo filter code. */
const PFC_ARCH: Record<Abi, string> = { x86_64: 'x86_64', i386: 'x86', x32: 'x32' };

/** What libseccomp's own rule tree decides for the input, where its syscall has rules with
 *  argument conditions or an unconditional one (undefined: no rule for it). */
function treeDecision(profile: LinuxSeccomp, pfc: PfcFilters, input: SeccompData): number | undefined {
  const abi = abiOf(input);
  if (!abi) return undefined;
  const args = Array.from({ length: 6 }, (_, i) => BigInt.asUintN(64, BigInt(input.args?.[i] ?? 0)));
  const { block, action } = pfcDecision(pfc, PFC_ARCH[abi], input.nr, args);
  return block ? (action ?? actionValue(profile.defaultAction, profile.defaultErrnoRet) >>> 0) : undefined;
}

function describe(input: SeccompData): string {
  const args = (input.args ?? []).map((a) => `0x${BigInt(a).toString(16)}`).join(',');
  return `arch 0x${(input.arch >>> 0).toString(16)} nr ${input.nr} args [${args}]`;
}

const libseccompBugExamples: string[] = [];

interface Outcome {
  pairs: number;
  divergences: string[];
}

function compare(label: string, profile: LinuxSeccomp, lib: LibseccompResult, rng: Rng, known: Map<string, number>): Outcome {
  let compiled;
  try {
    compiled = compileSeccomp(profile);
  } catch (err) {
    if ('error' in lib) return { pairs: 1, divergences: [] }; // both refuse it
    return { pairs: 1, divergences: [`${label}: runts refuses what libseccomp accepts: ${(err as Error).message}`] };
  }
  if ('error' in lib) {
    // libseccomp also refuses rule pairs it maps onto one i386 multiplexer call (see knownReason).
    if (profile.architectures?.includes('SCMP_ARCH_X86') && knownReason(profile, { arch: AUDIT_ARCH_I386, nr: 0 }) === 'i386-multiplexed') {
      known.set('i386-multiplexed', (known.get('i386-multiplexed') ?? 0) + 1);
      return { pairs: 1, divergences: [] };
    }
    return { pairs: 1, divergences: [`${label}: runts accepts what libseccomp refuses (${lib.error})`] };
  }
  const runtsProgram = decodeProgram(Buffer.from(compiled.filter, 'base64'));
  const libProgram = { program: decodeProgram(Buffer.from(lib.bpf, 'base64')), highest: lib.highest };
  const libTree = parsePfc(lib.pfc);
  const divergences: string[] = [];
  const inputs = inputsFor(rng, profile);
  for (const input of inputs) {
    const want = runcExpected(profile, libProgram, input);
    const got = runFilter(runtsProgram, input);
    const tree = treeDecision(profile, libTree, input);
    // runts must decide as libseccomp's rule tree does wherever the tree has the syscall
    // (above the -ENOSYS stub's limit both programs give ENOSYS before any rule).
    if (tree !== undefined && tree !== got && want !== ENOSYS_RET && !knownReason(profile, input)) {
      divergences.push(`${label}: ${describe(input)}: libseccomp's rule tree 0x${tree.toString(16)}, runts 0x${got.toString(16)}`);
      continue;
    }
    if (want !== got) {
      // Where runts does what libseccomp's own rule tree says and libseccomp's program does
      // not, the divergence is libseccomp's (a 2.5.4 bug; see the comment in report()).
      const reason = knownReason(profile, input) ?? (tree === got ? 'libseccomp-bug' : null);
      if (reason === 'libseccomp-bug' && libseccompBugExamples.length < 3) libseccompBugExamples.push(`${label}: ${describe(input)}: libseccomp 0x${want.toString(16)}, runts 0x${got.toString(16)}`);
      if (reason) {
        known.set(reason, (known.get(reason) ?? 0) + 1);
        continue;
      }
      divergences.push(`${label}: ${describe(input)}: runc+libseccomp 0x${want.toString(16)}, runts 0x${got.toString(16)}`);
    }
  }
  return { pairs: inputs.length, divergences };
}

function report(t: Test, what: string, profiles: LinuxSeccomp[], labels: string[], rng: Rng): void {
  const { results } = oracle({ profiles }) as { results: LibseccompResult[] };
  let pairs = 0;
  const divergences: string[] = [];
  const known = new Map<string, number>();
  profiles.forEach((profile, i) => {
    const outcome = compare(labels[i]!, profile, results[i]!, rng, known);
    pairs += outcome.pairs;
    divergences.push(...outcome.divergences);
  });
  t.comment(`${what}: ${profiles.length} profiles, ${pairs} (profile, input) pairs compared, ${divergences.length} divergences`);
  t.same(divergences.slice(0, 20), [], `${what}: runts and runc+libseccomp agree on every input outside the classes below`);
  for (const d of divergences.slice(0, 5)) t.comment(`divergence: ${d}`);
  for (const [reason, count] of known) {
    if (reason === 'i386-multiplexed') {
      t.comment(`${what}: ${count} inputs or profiles diverge where ${reason} (documented choice)`);
      continue;
    }
    // reason === 'libseccomp-bug': runts does what libseccomp 2.5.4's own rule tree (its
    // pseudo filter code) decides and libseccomp's BPF does not. Its BPF generator assumes
    // that each comparison of a level finds the accumulator as the previous comparison of
    // that level left it, but after a subtree that fell through it holds another word (seen:
    // arg5 >= A OR arg5 < 2^63, where the second rule's high-word test reads the low word).
    // runts loads the word for every comparison.
    t.comment(`${what}: ${count} inputs diverge where libseccomp 2.5.4's BPF departs from its own rule tree and runts follows the tree; e.g. ${libseccompBugExamples[0] ?? ''}`);
  }
}

t.test('podman\'s default profile: runts equals runc + libseccomp', { skip: oracleMissing || (!fs.existsSync(PODMAN_PROFILE) && `${PODMAN_PROFILE} is not installed`) }, async (t) => {
  const all = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_MODULE', 'CAP_SYS_TIME', 'CAP_SYS_BOOT', 'CAP_SYS_RAWIO', 'CAP_SYS_PACCT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYSLOG', 'CAP_BPF', 'CAP_PERFMON', 'CAP_DAC_READ_SEARCH', 'CAP_SYS_TTY_CONFIG', 'CAP_SYS_CHROOT', 'CAP_NET_ADMIN'];
  const profiles = [podmanSeccomp(['CAP_CHOWN', 'CAP_NET_BIND_SERVICE']), podmanSeccomp(all)] as LinuxSeccomp[];
  report(t, 'podman default', profiles, ['podman default (unprivileged)', 'podman default (all capabilities)'], new Rng(seed));
});

/** Profiles other clients write, each as data with where it came from (see the files). */
function clientProfiles(): { client: string; labels: string[]; profiles: LinuxSeccomp[] }[] {
  const captured = (file: string, client: string) => {
    const data = JSON.parse(fs.readFileSync(path.join(__dirname, 'profiles', file), 'utf8')) as { profiles: Record<string, LinuxSeccomp> };
    return { client, labels: Object.keys(data.profiles).map((variant) => `${client} ${variant}`), profiles: Object.values(data.profiles) };
  };
  const all = ['CAP_DAC_READ_SEARCH', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_CHROOT', 'CAP_SYS_MODULE', 'CAP_SYS_PACCT', 'CAP_SYS_PTRACE', 'CAP_SYS_RAWIO', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG'];
  return [
    captured('containerd-1.6.20.json', 'containerd 1.6.20'),
    captured('docker-20.10.24.json', 'Docker 20.10.24'),
    {
      client: 'runtime-tools generate',
      labels: ['runtime-tools generate default', 'runtime-tools generate (all capabilities)'],
      profiles: [runtimeToolsSeccomp(RUNTIME_TOOLS_DEFAULT_CAPABILITIES), runtimeToolsSeccomp([...RUNTIME_TOOLS_DEFAULT_CAPABILITIES, ...all])] as LinuxSeccomp[],
    },
    { client: 'Docker 19.03 (legacy-profile.ts)', labels: ['Docker 19.03 allow list'], profiles: [legacySeccomp() as LinuxSeccomp] },
  ];
}

t.test('containerd\'s, Docker\'s and runtime-tools\' default profiles: runts equals runc + libseccomp', { skip: oracleMissing }, async (t) => {
  const rng = new Rng(seed);
  for (const { client, labels, profiles } of clientProfiles()) report(t, client, profiles, labels, rng);
});

t.test(`seeded random profiles (seed ${seed}; replay: RUNTS_FUZZ_SEED=${seed})`, { skip: oracleMissing }, async (t) => {
  const rng = new Rng(seed);
  // Names libseccomp 2.5.4 knows; the others are a documented table difference (above).
  const names = allNames.filter(libKnown);
  const profiles = Array.from({ length: RANDOM_PROFILES }, () => randomProfile(rng, names));
  report(t, 'random', profiles, profiles.map((p, i) => `random #${i} ${toJson(p)}`), rng);
});

// The kernel must accept what the compiler emits: every client profile above and a few random
// profiles that libseccomp accepts and runts compiles the same (no notify: that needs an
// agent), each loaded once in a real container, all at once. A random filter may well kill or
// fail the container's `true`; only a refused load fails. Under a client's profile `true` runs.
t.test('the kernel loads the client profiles and libseccomp-equal random filters in a container', { skip: oracleMissing }, async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const rng = new Rng(seed);
  const names = allNames.filter(libKnown);
  const candidates = Array.from({ length: 40 }, () => randomProfile(rng, names)).filter((p) => !p.syscalls?.some((r) => r.action === 'SCMP_ACT_NOTIFY'));
  const { results } = oracle({ profiles: candidates }) as { results: LibseccompResult[] };
  const equal = (p: LinuxSeccomp, result: LibseccompResult): boolean => !('error' in result) && compare('', p, result, new Rng(seed), new Map()).divergences.length === 0;
  const random = candidates.filter((p, i) => equal(p, results[i]!)).slice(0, 6);
  t.ok(random.length >= 4, `${random.length} random profiles to load`);
  const clients = clientProfiles().flatMap(({ labels, profiles }) => profiles.map((profile, i) => ({ label: labels[i]!, profile })));
  const clientResults = (oracle({ profiles: clients.map((c) => c.profile) }) as { results: LibseccompResult[] }).results;
  clients.forEach((c, i) => t.ok(equal(c.profile, clientResults[i]!), `${c.label}: libseccomp-equal`));

  const run = async (profile: LinuxSeccomp) => {
    const made = await makeBundle(tempDir(t, 'bundle'), { args: ['true'] });
    // 64-bit operands must reach config.json exactly: written with toJson, not JSON.stringify.
    const configFile = path.join(made.bundle, 'config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    config.linux.seccomp = profile;
    fs.writeFileSync(configFile, toJson(config));
    return runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('scdiff')]);
  };
  const [clientRuns, randomRuns] = await Promise.all([Promise.all(clients.map((c) => run(c.profile))), Promise.all(random.map(run))]);
  clients.forEach((c, i) => t.same({ code: clientRuns[i]!.code, stderr: clientRuns[i]!.stderr }, { code: 0, stderr: '' }, `${c.label}: loaded, and true runs under it`));
  random.forEach((profile, i) => t.notMatch(randomRuns[i]!.stderr, /error loading seccomp filter/, `kernel accepted ${toJson(profile).slice(0, 200)} (exit ${randomRuns[i]!.code})`));
});
