// Device access control on cgroup v2: there are no devices.allow/deny files, the kernel asks a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup instead. This module assembles that
// program from linux.resources.devices (struct bpf_insn encoded by hand: the program is small
// and fixed in shape) and loads/attaches it through the addon.
//
// Semantics: as in runc, rules apply in order and the LAST rule that matches a request
// decides; nothing matches → deny. A rule matches a device when its type ('a' = any) and its
// major and minor (absent or -1 = any) match; an absent or empty access means rwm. Access is
// decided per access bit: a request for several bits (an O_RDWR open asks for read and write)
// is allowed only if every bit is allowed by the last rule that matches the device and grants
// or denies that bit. So `deny c 1:3 w` after an allow-all denies an O_RDWR open of 1:3, and
// two rules `allow … r` and `allow … w` together allow it. (runc instead matches a rule only
// when it covers all the requested bits, as cgroup v1 does, which lets that O_RDWR open
// through the deny; on single-bit requests the two agree.) The caller supplies runc's default
// device rules; this module adds none.
import * as fs from 'node:fs';
import type { LinuxDeviceCgroup } from '../spec/types';
import { native } from '../native';
import { deviceAccess } from './devices';

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
const CTX_ACCESS_TYPE = 0;
const CTX_MAJOR = 4;
const CTX_MINOR = 8;

// access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*
export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;
export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;

const BPF_F_ALLOW_MULTI = 2;

/** The name runts loads its device programs under: how `applyDeviceRulesV2` finds its earlier ones. */
export const DEVICE_PROGRAM_NAME = 'runts_devices';
const LICENSE = 'Apache-2.0';

// Opcodes (class | op | source) and registers used.
const OP = {
  LDX_MEM_W: 0x61, // dst = *(u32 *)(src + off)
  ALU32_AND_K: 0x54,
  ALU32_RSH_K: 0x74,
  ALU32_MOV_K: 0xb4,
  JMP_JA: 0x05,
  JMP_JSET_K: 0x45, // if (dst & imm) goto +off
  JMP32_JNE_K: 0x56, // if ((u32)dst != (u32)imm) goto +off
  JMP_EXIT: 0x95,
} as const;
const R0 = 0;
const R1 = 1; // the context on entry
const R_TYPE = 2;
const R_ACCESS = 3;
const R_MAJOR = 4;
const R_MINOR = 5;

/** A rule with its defaults filled in: type 'a'|'b'|'c', major/minor undefined = any, access bits. */
interface DeviceRule {
  allow: boolean;
  type?: number; // BPF_DEVCG_DEV_*, undefined for 'a'
  major?: number;
  minor?: number;
  access: number; // BPF_DEVCG_ACC_* bits
}

const ACCESS_BITS: Record<string, number> = { r: BPF_DEVCG_ACC_READ, w: BPF_DEVCG_ACC_WRITE, m: BPF_DEVCG_ACC_MKNOD };

function deviceNumber(value: number | undefined, what: string, where: string): number | undefined {
  if (value === undefined || value === -1) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`${where}: invalid device ${what} ${value} (want 0..4294967295, or -1 for any)`);
  }
  return value;
}

function normalizeRule(rule: LinuxDeviceCgroup, index: number): DeviceRule {
  const where = `linux.resources.devices[${index}]`;
  const typeName = rule.type ?? 'a';
  const types: Record<string, number | undefined> = { a: undefined, b: BPF_DEVCG_DEV_BLOCK, c: BPF_DEVCG_DEV_CHAR };
  if (!(typeName in types)) throw new Error(`${where}: invalid device type ${JSON.stringify(typeName)} (want a, b or c)`);
  let access = 0;
  for (const letter of deviceAccess(rule.access, where)) access |= ACCESS_BITS[letter]!;
  return {
    allow: rule.allow,
    type: types[typeName],
    major: deviceNumber(rule.major, 'major', where),
    minor: deviceNumber(rule.minor, 'minor', where),
    access,
  };
}

/** An instruction whose jump target is a label, resolved when the program is laid out. */
interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  target?: string;
}

/** Collects instructions and labels; `bytes()` resolves jumps into struct bpf_insn encoding. */
class Assembler {
  private readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();
  private readonly referenced = new Set<string>();

  emit(code: number, dst: number, src: number, off: number, imm: number): void {
    this.insns.push({ code, dst, src, off, imm });
  }

  jump(code: number, dst: number, imm: number, target: string): void {
    this.insns.push({ code, dst, src: 0, off: 0, imm, target });
    this.referenced.add(target);
  }

  label(name: string): void {
    this.labels.set(name, this.insns.length);
  }

  isReferenced(name: string): boolean {
    return this.referenced.has(name);
  }

  bytes(): Buffer {
    const out = Buffer.alloc(this.insns.length * 8);
    this.insns.forEach((insn, i) => {
      let off = insn.off;
      if (insn.target !== undefined) {
        const at = this.labels.get(insn.target);
        if (at === undefined) throw new Error(`device program: jump to undefined label ${insn.target}`);
        off = at - (i + 1);
        if (off < -0x8000 || off > 0x7fff) throw new Error('device program: too many rules (jump out of range)');
      }
      out.writeUInt8(insn.code, i * 8);
      out.writeUInt8((insn.src << 4) | insn.dst, i * 8 + 1);
      out.writeInt16LE(off, i * 8 + 2);
      out.writeInt32LE(insn.imm, i * 8 + 4);
    });
    return out;
  }
}

/** Immediate operand for a u32 compared with JMP32 (the kernel takes the low 32 bits). */
const u32Imm = (n: number) => n | 0;

/**
 * The BPF_PROG_TYPE_CGROUP_DEVICE program (an array of struct bpf_insn, host byte order =
 * little endian on the targets runts supports) enforcing `rules`; see the module comment for
 * the semantics. Throws on a rule with a bad type, major, minor or access.
 *
 * Shape: load type, access, major, minor into R2..R5; then one block per access bit (r, w,
 * m), skipped when the request lacks that bit, which walks the rules granting or denying that
 * bit from last to first and jumps to "deny" or on to the next bit at the first match; after
 * the three blocks the request is allowed. The verifier rejects unreachable instructions, so
 * nothing is emitted after a rule that matches every device, and "deny" only when used.
 */
export function buildDeviceProgram(rules: LinuxDeviceCgroup[]): Buffer {
  const normalized = rules.map(normalizeRule);
  const asm = new Assembler();
  asm.emit(OP.LDX_MEM_W, R_TYPE, R1, CTX_ACCESS_TYPE, 0);
  asm.emit(OP.ALU32_AND_K, R_TYPE, 0, 0, 0xffff);
  asm.emit(OP.LDX_MEM_W, R_ACCESS, R1, CTX_ACCESS_TYPE, 0);
  asm.emit(OP.ALU32_RSH_K, R_ACCESS, 0, 0, 16);
  asm.emit(OP.LDX_MEM_W, R_MAJOR, R1, CTX_MAJOR, 0);
  asm.emit(OP.LDX_MEM_W, R_MINOR, R1, CTX_MINOR, 0);

  for (const bit of [BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE, BPF_DEVCG_ACC_MKNOD]) {
    const bitDone = `bit${bit}-done`;
    asm.jump(OP.JMP_JSET_K, R_ACCESS, bit, `bit${bit}-check`);
    asm.jump(OP.JMP_JA, 0, 0, bitDone);
    asm.label(`bit${bit}-check`);
    let decided = false; // a rule matching every device ends the walk
    const candidates = normalized.map((rule, index) => ({ rule, index })).filter(({ rule }) => rule.access & bit);
    for (const { rule, index } of candidates.reverse()) {
      const nextRule = `bit${bit}-after-rule${index}`;
      const checks: [number, number | undefined][] = [
        [R_TYPE, rule.type],
        [R_MAJOR, rule.major],
        [R_MINOR, rule.minor],
      ];
      for (const [reg, value] of checks) {
        if (value !== undefined) asm.jump(OP.JMP32_JNE_K, reg, u32Imm(value), nextRule);
      }
      asm.jump(OP.JMP_JA, 0, 0, rule.allow ? bitDone : 'deny');
      if (!asm.isReferenced(nextRule)) {
        decided = true;
        break;
      }
      asm.label(nextRule);
    }
    if (!decided) asm.jump(OP.JMP_JA, 0, 0, 'deny'); // no rule matched: default deny
    asm.label(bitDone);
  }
  asm.emit(OP.ALU32_MOV_K, R0, 0, 0, 1);
  asm.emit(OP.JMP_EXIT, 0, 0, 0, 0);
  if (asm.isReferenced('deny')) {
    asm.label('deny');
    asm.emit(OP.ALU32_MOV_K, R0, 0, 0, 0);
    asm.emit(OP.JMP_EXIT, 0, 0, 0, 0);
  }
  return asm.bytes();
}

/** Prefixes an error's message with what was being done, keeping its code and errno. */
function inContext(err: unknown, what: string): Error {
  if (err instanceof Error) {
    err.message = `${what}: ${err.message}`;
    return err;
  }
  return new Error(`${what}: ${String(err)}`);
}

/**
 * Makes `rules` the device filter of the cgroup v2 directory `cgroupDir`: loads the program,
 * attaches it (BPF_F_ALLOW_MULTI, so programs others attached stay) and then detaches the
 * programs runts attached there before, found by name, so an update replaces the filter with
 * no moment where none is attached. Needs CAP_SYS_ADMIN (or CAP_BPF + CAP_NET_ADMIN). Errors
 * name the cgroup directory and keep the errno `code` (EPERM in a user namespace, …).
 */
export function applyDeviceRulesV2(cgroupDir: string, rules: LinuxDeviceCgroup[]): void {
  const insns = buildDeviceProgram(rules);
  const addon = native();
  const what = `device filter for cgroup ${cgroupDir}`;
  let dirFd: number;
  try {
    dirFd = fs.openSync(cgroupDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    throw inContext(err, what);
  }
  const oldFds: number[] = [];
  try {
    for (const id of addon.bpfProgQueryDevice(dirFd)) {
      let fd: number;
      try {
        fd = addon.bpfProgGetFdById(id);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // detached meanwhile
        throw err;
      }
      if (addon.bpfProgName(fd) === DEVICE_PROGRAM_NAME) oldFds.push(fd);
      else fs.closeSync(fd);
    }
    const progFd = addon.bpfProgLoadDevice(insns, LICENSE, DEVICE_PROGRAM_NAME);
    try {
      addon.bpfProgAttachDevice(dirFd, progFd, BPF_F_ALLOW_MULTI);
    } finally {
      fs.closeSync(progFd); // the attachment keeps the program alive
    }
    for (const fd of oldFds) {
      try {
        addon.bpfProgDetachDevice(dirFd, fd);
      } catch (err) {
        // Already detached (a concurrent update) is fine: the new filter is in place.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  } catch (err) {
    throw inContext(err, what);
  } finally {
    for (const fd of oldFds) fs.closeSync(fd);
    fs.closeSync(dirFd);
  }
}
