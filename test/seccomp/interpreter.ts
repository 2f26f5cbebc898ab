// A classic BPF interpreter for seccomp programs, enough to run what src/seccomp emits and
// to check it the way the kernel would: loads from struct seccomp_data, ALU AND, forward
// jumps, returns. Anything else is an error, as the kernel's checker would refuse it.
import type { SockFilter } from '../../src/seccomp/bpf';

export interface SeccompData {
  nr: number;
  arch: number;
  ip?: bigint;
  /** Up to six 64-bit arguments. */
  args?: (bigint | number)[];
}

function encodeData(data: SeccompData): Buffer {
  const buf = Buffer.alloc(64);
  buf.writeInt32LE(data.nr | 0, 0);
  buf.writeUInt32LE(data.arch >>> 0, 4);
  buf.writeBigUInt64LE(data.ip ?? 0n, 8);
  (data.args ?? []).forEach((arg, i) => buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(arg)), 16 + 8 * i));
  return buf;
}

function dataWord(buf: Buffer, offset: number): number {
  if (offset % 4 !== 0 || offset < 0 || offset > 60) throw new Error(`load from invalid seccomp_data offset ${offset}`);
  return buf.readUInt32LE(offset);
}

/** The inverse of encodeProgram: struct sock_filter[] bytes back to instructions. */
export function decodeProgram(buf: Buffer): SockFilter[] {
  if (buf.length % 8 !== 0) throw new Error(`BPF program of ${buf.length} bytes is not a whole number of instructions`);
  const program: SockFilter[] = [];
  for (let at = 0; at < buf.length; at += 8) {
    program.push({ code: buf.readUInt16LE(at), jt: buf.readUInt8(at + 2), jf: buf.readUInt8(at + 3), k: buf.readUInt32LE(at + 4) });
  }
  return program;
}

/** Runs the program; returns the 32-bit SECCOMP_RET_* value. */
export function runFilter(program: readonly SockFilter[], data: SeccompData): number {
  if (program.length === 0 || program.length > 4096) throw new Error(`invalid program length ${program.length}`);
  // Encoded once per run: the differential test runs millions of instructions.
  const buf = encodeData(data);
  let a = 0;
  let pc = 0;
  for (let steps = 0; steps <= program.length; steps++) {
    const insn = program[pc];
    if (!insn) throw new Error(`fell off the end of the program at ${pc}`);
    const next = (offset: number): number => {
      const to = pc + 1 + offset;
      if (to >= program.length) throw new Error(`jump from ${pc} out of the program`);
      return to;
    };
    switch (insn.code) {
      case 0x20: // ld [k]
        a = dataWord(buf, insn.k);
        pc++;
        break;
      case 0x54: // and #k
        a = (a & insn.k) >>> 0;
        pc++;
        break;
      case 0x06: // ret #k
        return insn.k >>> 0;
      case 0x05: // ja
        pc = next(insn.k);
        break;
      case 0x15: // jeq #k
        pc = next(a === insn.k >>> 0 ? insn.jt : insn.jf);
        break;
      case 0x25: // jgt #k
        pc = next(a > insn.k >>> 0 ? insn.jt : insn.jf);
        break;
      case 0x35: // jge #k
        pc = next(a >= insn.k >>> 0 ? insn.jt : insn.jf);
        break;
      case 0x45: // jset #k
        pc = next((a & insn.k) !== 0 ? insn.jt : insn.jf);
        break;
      default:
        throw new Error(`unsupported BPF opcode 0x${insn.code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('program did not terminate');
}
