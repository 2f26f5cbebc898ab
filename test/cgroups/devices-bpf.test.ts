// The cgroup v2 device filter: the assembler checked without root by running its programs in
// a small BPF interpreter against an independent statement of the semantics; then, as root,
// the program loaded and attached to a real cgroup v2 (this host's unified hierarchy, and the
// pure v2 hierarchy of the UML guest).
import { build } from 'esbuild';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import {
  BPF_DEVCG_ACC_MKNOD,
  BPF_DEVCG_ACC_READ,
  BPF_DEVCG_ACC_WRITE,
  BPF_DEVCG_DEV_BLOCK,
  BPF_DEVCG_DEV_CHAR,
  DEVICE_PROGRAM_NAME,
  buildDeviceProgram,
} from '../../src/cgroups/devices-bpf';
import type { LinuxDeviceCgroup } from '../../src/spec/types';
import { REPO_ROOT } from '../lib';
import { observeDeviceFilter, type DeviceFilterObservations } from '../vm/device-filter-probe';
import { guestAvailable, runInGuest } from '../vm/guest';

interface Request {
  type: number;
  major: number;
  minor: number;
  access: number;
}

/**
 * Runs a cgroup device program on one request, like the kernel would after the verifier
 * accepted it: only the instructions the assembler uses are known; anything else, a jump out
 * of the program, a read of an unset register or running off the end fails the test.
 */
function runProgram(prog: Buffer, req: Request): number {
  const ctx = Buffer.alloc(12);
  ctx.writeUInt32LE(((req.access << 16) | req.type) >>> 0, 0);
  ctx.writeUInt32LE(req.major >>> 0, 4);
  ctx.writeUInt32LE(req.minor >>> 0, 8);
  const regs: (bigint | undefined)[] = new Array(11).fill(undefined);
  regs[1] = 0n; // the context pointer; only loads through it are allowed
  const count = prog.length / 8;
  const reg = (r: number) => {
    const v = regs[r];
    if (v === undefined) throw new Error(`read of unset register r${r}`);
    return v;
  };
  const u32 = (v: bigint) => v & 0xffffffffn;
  for (let pc = 0, steps = 0; steps < 100_000; steps++) {
    if (pc < 0 || pc >= count) throw new Error(`pc ${pc} outside the program`);
    const code = prog[pc * 8];
    const dst = prog[pc * 8 + 1] & 0xf;
    const src = prog[pc * 8 + 1] >> 4;
    const off = prog.readInt16LE(pc * 8 + 2);
    const imm = prog.readInt32LE(pc * 8 + 4);
    const immU32 = BigInt(imm >>> 0);
    pc++;
    switch (code) {
      case 0x61: // ldxw dst, [src + off]: src must be the context (r1 on entry)
        if (src !== 1) throw new Error('load from a register other than r1');
        regs[dst] = BigInt(ctx.readUInt32LE(off));
        break;
      case 0x54: // and32 dst, imm
        regs[dst] = u32(reg(dst)) & immU32;
        break;
      case 0x74: // rsh32 dst, imm
        regs[dst] = u32(reg(dst)) >> immU32;
        break;
      case 0xb4: // mov32 dst, imm
        regs[dst] = immU32;
        break;
      case 0x05: // ja
        pc += off;
        break;
      case 0x45: // jset dst, imm (64-bit, imm sign-extended)
        if (reg(dst) & BigInt.asUintN(64, BigInt(imm))) pc += off;
        break;
      case 0x56: // jne32 dst, imm
        if (u32(reg(dst)) !== immU32) pc += off;
        break;
      case 0x95: // exit
        return Number(reg(0));
      default:
        throw new Error(`unexpected opcode 0x${code.toString(16)} at ${pc - 1}`);
    }
  }
  throw new Error('program did not exit');
}

/** The verifier's structural checks: every instruction reachable, jumps inside, ends in exit/ja. */
function checkStructure(prog: Buffer): string[] {
  const problems: string[] = [];
  const count = prog.length / 8;
  const reached = new Set<number>();
  const todo = [0];
  while (todo.length > 0) {
    const pc = todo.pop()!;
    if (reached.has(pc)) continue;
    if (pc < 0 || pc >= count) {
      problems.push(`jump to ${pc}, outside 0..${count - 1}`);
      continue;
    }
    reached.add(pc);
    const code = prog[pc * 8];
    const off = prog.readInt16LE(pc * 8 + 2);
    if (code === 0x95) continue;
    if (code === 0x05) todo.push(pc + 1 + off);
    else if ((code & 0x07) === 0x05 || (code & 0x07) === 0x06) todo.push(pc + 1 + off, pc + 1);
    else todo.push(pc + 1);
  }
  for (let pc = 0; pc < count; pc++) if (!reached.has(pc)) problems.push(`unreachable instruction ${pc}`);
  const last = prog[(count - 1) * 8];
  if (last !== 0x95 && last !== 0x05) problems.push('last instruction is not exit or ja');
  return problems;
}

/** The semantics, stated independently of the program: per access bit, the last matching rule decides. */
function expected(rules: LinuxDeviceCgroup[], req: Request): number {
  const bits = { r: BPF_DEVCG_ACC_READ, w: BPF_DEVCG_ACC_WRITE, m: BPF_DEVCG_ACC_MKNOD };
  const typeOf = (t?: string) => ({ a: 0, b: BPF_DEVCG_DEV_BLOCK, c: BPF_DEVCG_DEV_CHAR })[(t ?? 'a') as 'a'];
  for (const [letter, bit] of Object.entries(bits)) {
    if (!(req.access & bit)) continue;
    let allowed = false;
    for (const rule of rules) {
      const matches =
        (rule.access || 'rwm').includes(letter) &&
        (typeOf(rule.type) === 0 || typeOf(rule.type) === req.type) &&
        (rule.major === undefined || rule.major === -1 || rule.major === req.major) &&
        (rule.minor === undefined || rule.minor === -1 || rule.minor === req.minor);
      if (matches) allowed = rule.allow;
    }
    if (!allowed) return 0;
  }
  return 1;
}

const C = BPF_DEVCG_DEV_CHAR;
const B = BPF_DEVCG_DEV_BLOCK;
const R = BPF_DEVCG_ACC_READ;
const W = BPF_DEVCG_ACC_WRITE;
const M = BPF_DEVCG_ACC_MKNOD;
const req = (type: number, major: number, minor: number, access: number): Request => ({ type, major, minor, access });
const decide = (rules: LinuxDeviceCgroup[], r: Request) => runProgram(buildDeviceProgram(rules), r);

/** runc's default device list (what the caller passes after a deny-all). */
const RUNC_DEFAULTS: LinuxDeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'b', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' }, // pts
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: false, type: 'c', major: 10, minor: 200, access: 'rwm' }, // tun
];

t.test('instruction encoding', async (t) => {
  const hex = (rules: LinuxDeviceCgroup[]) =>
    buildDeviceProgram(rules)
      .toString('hex')
      .match(/.{16}/g)!;
  const prologue = [
    '6112000000000000', // r2 = *(u32 *)(r1 + 0)
    '54020000ffff0000', // w2 &= 0xffff
    '6113000000000000', // r3 = *(u32 *)(r1 + 0)
    '7403000010000000', // w3 >>= 16
    '6114040000000000', // r4 = *(u32 *)(r1 + 4)
    '6115080000000000', // r5 = *(u32 *)(r1 + 8)
  ];
  t.same(hex([]), [
    ...prologue,
    '4503010002000000', // if r3 & READ goto +1
    '0500010000000000', // goto +1 (next bit)
    '0500080000000000', // goto deny
    '4503010004000000',
    '0500010000000000',
    '0500050000000000',
    '4503010001000000',
    '0500010000000000',
    '0500020000000000',
    'b400000001000000', // w0 = 1
    '9500000000000000', // exit
    'b400000000000000', // deny: w0 = 0
    '9500000000000000',
  ], 'no rules: every access bit goes to deny');
  t.same(hex([{ allow: true, type: 'c', major: 1, minor: 3, access: 'r' }]), [
    ...prologue,
    '4503010002000000',
    '0500050000000000', // no read asked: next bit
    '5602030002000000', // if w2 != CHAR goto +3 (next rule)
    '5604020001000000', // if w4 != 1 goto +2
    '5605010003000000', // if w5 != 3 goto +1
    '0500010000000000', // matched, allowed: next bit
    '0500080000000000', // no rule matched: deny
    '4503010004000000',
    '0500010000000000',
    '0500050000000000',
    '4503010001000000',
    '0500010000000000',
    '0500020000000000',
    'b400000001000000',
    '9500000000000000',
    'b400000000000000',
    '9500000000000000',
  ], 'a char device rule compares type, major and minor with 32-bit jumps');
  const allowAll = hex([{ allow: true }]);
  t.equal(allowAll.length, 6 + 3 * 3 + 2, 'allow-all: no deny block (it would be unreachable)');
  t.notOk(allowAll.includes('b400000000000000'), 'allow-all never sets 0');
  t.same(
    hex([{ allow: true, type: 'b', major: 4294967295, access: 'w' }]).filter((i) => i.startsWith('56')),
    ['5602020001000000', '56040100ffffffff'],
    'major 4294967295 is the u32 immediate 0xffffffff; absent minor is not compared',
  );
});

t.test('every program passes the structural checks the verifier makes', async (t) => {
  const sets: LinuxDeviceCgroup[][] = [
    [],
    [{ allow: true }],
    [{ allow: false }],
    [{ allow: true }, { allow: false }],
    [{ allow: false }, { allow: true, type: 'c', major: 1, minor: 3 }, { allow: true }],
    RUNC_DEFAULTS,
  ];
  for (const rules of sets) t.same(checkStructure(buildDeviceProgram(rules)), [], JSON.stringify(rules));
});

t.test('semantics on hand-picked cases', async (t) => {
  t.equal(decide([], req(C, 1, 3, R)), 0, 'no rules: denied');
  t.equal(decide([{ allow: true }], req(B, 8, 0, R | W | M)), 1, 'allow all');
  t.equal(decide([{ allow: true }, { allow: false, type: 'c', major: 1, minor: 3, access: 'r' }], req(C, 1, 3, R)), 0, 'a later deny wins');
  t.equal(decide([{ allow: true }, { allow: false, type: 'c', major: 1, minor: 3, access: 'r' }], req(C, 1, 3, W)), 1, 'deny of r leaves w');
  t.equal(decide([{ allow: true }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }], req(C, 1, 3, R | W)), 0, 'O_RDWR open is denied when w is');
  t.equal(decide([{ allow: true, type: 'c', major: 1, minor: 3, access: 'r' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'w' }], req(C, 1, 3, R | W)), 1, 'r and w from two rules allow O_RDWR');
  t.equal(decide([{ allow: false, type: 'c', major: 1, minor: 3 }, { allow: true }], req(C, 1, 3, R)), 1, 'an earlier deny loses to a later allow-all');
  t.equal(decide([{ allow: true, type: 'c', major: 1 }], req(C, 1, 77, R)), 1, 'absent minor is any');
  t.equal(decide([{ allow: true, type: 'c', major: 1, minor: -1 }], req(B, 1, 77, R)), 0, 'type c does not match a block device');
  t.equal(decide([{ allow: true, type: 'a', major: 1, minor: 5 }], req(B, 1, 5, M)), 1, 'type a matches block');
  t.equal(decide([{ allow: true, access: '' }], req(C, 1, 5, R | W | M)), 1, 'empty access means rwm');
  t.equal(decide([{ allow: true, type: 'b', major: 4294967295, minor: 4294967295 }], req(B, 4294967295, 4294967295, R)), 1, 'u32 maximum major/minor');
  t.equal(decide([{ allow: true, type: 'b', major: 4294967295, minor: 4294967295 }], req(B, 4294967295, 4294967294, R)), 0, 'minor compared exactly');
  const runc = (r: Request) => decide(RUNC_DEFAULTS, r);
  t.equal(runc(req(C, 1, 3, R | W)), 1, 'runc defaults: /dev/null rw');
  t.equal(runc(req(C, 136, 4, R | W)), 1, 'runc defaults: /dev/pts/4');
  t.equal(runc(req(C, 10, 200, R | W)), 0, 'runc defaults: /dev/net/tun denied');
  t.equal(runc(req(B, 8, 0, M)), 1, 'runc defaults: mknod of any block device');
  t.equal(runc(req(B, 8, 0, R)), 0, 'runc defaults: reading /dev/sda denied');
  t.equal(runc(req(C, 4, 1, R)), 0, 'runc defaults: /dev/tty1 denied');
});

t.test('agrees with the semantics on random rule sets, exhaustively over a small device space', async (t) => {
  const majors = [0, 1, 5, 4294967295];
  const minors = [0, 3, 4294967295];
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
  const accessStrings = ['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm', 'mwr', undefined];
  let mismatches = 0;
  for (let n = 0; n < 300; n++) {
    const rules: LinuxDeviceCgroup[] = Array.from({ length: Math.floor(Math.random() * 6) }, () => ({
      allow: Math.random() < 0.5,
      type: pick(['a', 'b', 'c', undefined]),
      major: pick([...majors, -1, undefined]),
      minor: pick([...minors, -1, undefined]),
      access: pick(accessStrings),
    }));
    const prog = buildDeviceProgram(rules);
    const structure = checkStructure(prog);
    if (structure.length > 0) {
      t.fail(`structure of ${JSON.stringify(rules)}: ${structure.join(', ')}`);
      continue;
    }
    for (const type of [B, C])
      for (const major of majors)
        for (const minor of minors)
          for (let access = 1; access <= 7; access++) {
            const r = req(type, major, minor, access);
            const got = runProgram(prog, r);
            const want = expected(rules, r);
            if (got !== want && mismatches++ < 5) t.fail(`${JSON.stringify(rules)} on ${JSON.stringify(r)}: got ${got}, want ${want}`);
          }
  }
  t.equal(mismatches, 0, 'no request decided differently');
});

t.test('bad rules are refused with the rule named', async (t) => {
  t.throws(() => buildDeviceProgram([{ allow: true, type: 'u' }]), /devices\[0\]: invalid device type "u"/);
  t.throws(() => buildDeviceProgram([{ allow: true }, { allow: true, access: 'x' }]), /devices\[1\]\.access: invalid access "x"/);
  const rwa = buildDeviceProgram([{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwa' }]);
  const rw = buildDeviceProgram([{ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }]);
  t.same(rwa, rw, 'an access of "rwa" is "rw" (runc ignores other letters)');
  t.throws(() => buildDeviceProgram([{ allow: true, major: -2 }]), /invalid device major -2/);
  t.throws(() => buildDeviceProgram([{ allow: true, minor: 2 ** 32 }]), /invalid device minor 4294967296/);
});

// ---- As root: the program in a real cgroup v2.

/** What observeDeviceFilter must see wherever it runs. */
function checkObservations(t: Test, seen: DeviceFilterObservations): void {
  t.same(seen.unfiltered, { 'null-read': 'ok', 'null-write': 'ok', 'null-rdwr': 'ok', 'zero-read': 'ok', 'null-read-eperm': 'denied' }, 'no filter: everything works');
  t.same(
    seen.denyNullRead,
    { 'null-read': 'denied', 'null-write': 'ok', 'null-rdwr': 'denied', 'zero-read': 'ok', 'null-read-eperm': 'ok' },
    'deny c 1:3 r: reading /dev/null fails with EPERM (so does an O_RDWR open); writing it and reading /dev/zero work',
  );
  t.same(seen.programsAfterApply, [DEVICE_PROGRAM_NAME], 'one program attached, under runts\'s name');
  t.same(seen.programsAfterUpdate, [DEVICE_PROGRAM_NAME], 'an update replaces the program instead of adding one');
  t.same(
    seen.denyZero,
    { 'null-read': 'ok', 'null-write': 'ok', 'null-rdwr': 'ok', 'zero-read': 'denied', 'null-read-eperm': 'denied' },
    'the updated rules apply: /dev/null works again, /dev/zero is denied',
  );
}

/** This host's cgroup v2 mount (the unified hierarchy on a hybrid host), if any. */
function hostCgroup2Root(): string | undefined {
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  return ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((dir) => new RegExp(` ${dir} .* - cgroup2 `).test(mountinfo));
}

t.test('as root on this host\'s cgroup v2: reads of /dev/null denied, the rest still works, update replaces the filter', async (t) => {
  if (process.getuid?.() !== 0) return t.plan(0, 'needs root: loads and attaches a BPF program');
  const root = hostCgroup2Root();
  if (!root) return t.plan(0, 'no cgroup v2 hierarchy mounted on this host');
  checkObservations(t, observeDeviceFilter(root));
});

t.test('in the UML guest\'s pure cgroup v2 hierarchy: the same', async (t) => {
  const unavailable = guestAvailable();
  if (unavailable) return t.plan(0, unavailable);
  // node in the guest is too slow to load TypeScript: bundle the probe to one JS file.
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'runts-test-devbpf-')));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'device-filter-probe.js');
  await build({
    entryPoints: [path.join(REPO_ROOT, 'test', 'vm', 'device-filter-probe.ts')],
    outfile: script,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    // src/native.ts finds the addon from its own directory.
    define: { __dirname: JSON.stringify(path.join(REPO_ROOT, 'src')) },
    logLevel: 'warning',
  });
  const result = await runInGuest(t, ['node', script, '/sys/fs/cgroup'], { share: [dir], timeoutSeconds: 120 });
  t.equal(result.code, 0, `the probe exits 0 in the guest (stderr: ${result.stderr.trim()})`);
  if (result.code === 0) checkObservations(t, JSON.parse(result.stdout) as DeviceFilterObservations);
});
