// Classic BPF for seccomp: the few opcodes a filter needs, and an assembler that resolves
// symbolic labels into the 8-bit (conditional) and 32-bit (ja) forward jump offsets,
// rewriting conditional jumps whose target lies more than 255 instructions ahead.

/** One struct sock_filter. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// Opcode parts from <linux/filter.h>.
export const BPF_LD = 0x00;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_ALU = 0x04;
export const BPF_AND = 0x50;
export const BPF_W = 0x00;
export const BPF_ABS = 0x20;
export const BPF_K = 0x00;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;

/** Offsets into struct seccomp_data {int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];}. */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
/** Offset of the low (little-endian) 32-bit word of args[index]; the high word is 4 bytes on. */
export function argLowOffset(index: number): number {
  return 16 + 8 * index;
}

export type JumpCondition = 'jeq' | 'jgt' | 'jge' | 'jset';

const CONDITION_CODES: Readonly<Record<JumpCondition, number>> = {
  jeq: BPF_JMP | BPF_JEQ | BPF_K,
  jgt: BPF_JMP | BPF_JGT | BPF_K,
  jge: BPF_JMP | BPF_JGE | BPF_K,
  jset: BPF_JMP | BPF_JSET | BPF_K,
};

/** A jump target: a label name, or null for "the next instruction". */
export type Target = string | null;

type Item =
  | { kind: 'load'; offset: number }
  | { kind: 'ret'; value: number }
  | { kind: 'and'; value: number }
  | { kind: 'ja'; target: string }
  | { kind: 'jump'; cond: JumpCondition; k: number; jt: Target; jf: Target }
  | { kind: 'label'; name: string };

/** Builds a program as a list of instructions and labels; assemble() lays it out. */
export class Assembler {
  private readonly items: Item[] = [];
  private labelCount = 0;

  /** A label name not used before, for generated code. */
  newLabel(hint: string): string {
    return `${hint}#${this.labelCount++}`;
  }

  label(name: string): void {
    this.items.push({ kind: 'label', name });
  }

  /** A = 32-bit word of seccomp_data at offset. */
  load(offset: number): void {
    this.items.push({ kind: 'load', offset });
  }

  /** A &= value. */
  and(value: number): void {
    this.items.push({ kind: 'and', value: value >>> 0 });
  }

  ret(value: number): void {
    this.items.push({ kind: 'ret', value: value >>> 0 });
  }

  ja(target: string): void {
    this.items.push({ kind: 'ja', target });
  }

  /** if (A cond k) goto jt else goto jf. */
  jump(cond: JumpCondition, k: number, jt: Target, jf: Target): void {
    this.items.push({ kind: 'jump', cond, k: k >>> 0, jt, jf });
  }

  /** Lays the program out. Throws on a jump to an unknown or earlier label. */
  assemble(): SockFilter[] {
    // Conditional jumps too far for their 8-bit offsets become "jcond 0,1; ja T; ja F";
    // each rewrite moves later code, so repeat until every offset fits.
    const far = new Set<number>();
    for (;;) {
      const { program, tooFar } = this.layout(far);
      if (tooFar.length === 0) return program;
      for (const index of tooFar) far.add(index);
    }
  }

  private layout(far: ReadonlySet<number>): { program: SockFilter[]; tooFar: number[] } {
    // First pass: the address of every label.
    const labels = new Map<string, number>();
    let address = 0;
    this.items.forEach((item, index) => {
      if (item.kind === 'label') {
        if (labels.has(item.name)) throw new Error(`BPF assembler: label ${item.name} defined twice`);
        labels.set(item.name, address);
      } else {
        address += item.kind === 'jump' && far.has(index) ? 3 : 1;
      }
    });
    const resolve = (target: string, from: number): number => {
      const to = labels.get(target);
      if (to === undefined) throw new Error(`BPF assembler: undefined label ${target}`);
      const offset = to - from - 1;
      if (offset < 0) throw new Error(`BPF assembler: backward jump to ${target}`);
      return offset;
    };

    const program: SockFilter[] = [];
    const tooFar: number[] = [];
    this.items.forEach((item, index) => {
      const at = program.length;
      switch (item.kind) {
        case 'label':
          return;
        case 'load':
          program.push({ code: BPF_LD | BPF_W | BPF_ABS, jt: 0, jf: 0, k: item.offset });
          return;
        case 'ret':
          program.push({ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: item.value });
          return;
        case 'and':
          program.push({ code: BPF_ALU | BPF_AND | BPF_K, jt: 0, jf: 0, k: item.value });
          return;
        case 'ja':
          program.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: resolve(item.target, at) });
          return;
        case 'jump': {
          const code = CONDITION_CODES[item.cond];
          if (far.has(index)) {
            program.push({ code, jt: 0, jf: 1, k: item.k });
            program.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: item.jt === null ? 1 : resolve(item.jt, at + 1) });
            program.push({ code: BPF_JMP | BPF_JA, jt: 0, jf: 0, k: item.jf === null ? 0 : resolve(item.jf, at + 2) });
            return;
          }
          const jt = item.jt === null ? 0 : resolve(item.jt, at);
          const jf = item.jf === null ? 0 : resolve(item.jf, at);
          if (jt > 255 || jf > 255) tooFar.push(index);
          program.push({ code, jt: jt & 0xff, jf: jf & 0xff, k: item.k });
          return;
        }
      }
    });
    return { program, tooFar };
  }
}

/** struct sock_filter[] in host (little-endian) byte order, as seccomp(2) takes it. */
export function encodeProgram(program: readonly SockFilter[]): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((insn, i) => {
    buf.writeUInt16LE(insn.code, i * 8);
    buf.writeUInt8(insn.jt, i * 8 + 2);
    buf.writeUInt8(insn.jf, i * 8 + 3);
    buf.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return buf;
}
