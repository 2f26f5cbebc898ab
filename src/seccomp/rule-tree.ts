// The argument conditions of one syscall as libseccomp 2.5 keeps them (src/db.c), so that
// rules of one syscall with different actions decide every input as runc + libseccomp do.
// libseccomp does not try the rules in profile order: each rule becomes a chain of 32-bit
// comparisons (a 64-bit comparison is split into high and low words), and the chains are
// merged into one tree whose levels are kept sorted (argument, then high before low word,
// then operator, then operand). At run time a level's comparisons are tried in that order;
// a comparison's outcome goes to its subtree, to its action, or else on to the next
// comparison of the level, and the last one falls back to where the level was entered from.
// Where the merge meets equal comparisons with different actions, libseccomp keeps one (and,
// for high words, one chosen by the full 64-bit operand; for a false branch it then changes
// the true action, which this model keeps too) or refuses the rule with EEXIST.
// Written from libseccomp 2.5.4's behaviour (db.c: the rule generators, _db_chain_lt/eq,
// _db_tree_add; gen_bpf.c: how a level's blocks fall through), not from its code.
import type { LinuxSeccompArg } from '../spec/types';
import { Assembler, argLowOffset } from './bpf';

type Operator = LinuxSeccompArg['op'];

export class RuleExistsError extends Error {}

/** One 32-bit comparison: (word & mask) op datum. */
export interface ArgNode {
  arg: number;
  /** Compares the high word of a 64-bit argument. */
  high: boolean;
  op: 'EQ' | 'MASKED_EQ' | 'GT' | 'GE';
  /** The profile's operator, which orders a level. */
  opOrig: Operator;
  mask: number;
  datum: number;
  /** The profile's full 64-bit operand (decides between equal high-word comparisons). */
  datumFull: bigint;
  actT?: number;
  actF?: number;
  nxtT: ArgNode | null;
  nxtF: ArgNode | null;
  prev: ArgNode | null;
  next: ArgNode | null;
}

/** A rule's condition after runc and libseccomp's argument parsing. */
export interface TreeCondition {
  index: number;
  op: Operator;
  /** For MASKED_EQ the mask, otherwise the operand. */
  value: bigint;
  /** For MASKED_EQ the value compared with (arg & mask). */
  valueTwo: bigint;
}

const LOW32 = 0xffffffffn;
const FULL = (1n << 64n) - 1n;
const lo = (v: bigint): number => Number(v & LOW32);
const hi = (v: bigint): number => Number((v >> 32n) & LOW32);

function node(arg: number, high: boolean, op: ArgNode['op'], opOrig: Operator, mask: number, datum: number, datumFull: bigint): ArgNode {
  return { arg, high, op, opOrig, mask: mask >>> 0, datum: (datum & mask) >>> 0, datumFull, nxtT: null, nxtF: null, prev: null, next: null };
}

/** A condition's mask and operand as libseccomp stores them (non-masked: all ones). */
function maskAndDatum(c: TreeCondition): { mask: bigint; datum: bigint } {
  return c.op === 'SCMP_CMP_MASKED_EQ' ? { mask: c.value, datum: c.valueTwo } : { mask: FULL, datum: c.value };
}

/**
 * The chain of one rule on a 64-bit ABI, conditions in argument order: ordered comparisons
 * become high > R, else high == R and low >/>= R; (masked) equality high == then low ==.
 * Returns the first node, or null for an unconditional rule.
 */
function chain64(conditions: TreeCondition[], action: number): ArgNode | null {
  let first: ArgNode | null = null;
  let prev: { op: Operator; nodes: ArgNode[] } | null = null;
  for (const c of [...conditions].sort((a, b) => a.index - b.index)) {
    const { mask, datum } = maskAndDatum(c);
    if (c.op === 'SCMP_CMP_MASKED_EQ' && mask === 0n) continue; // always holds
    let nodes: ArgNode[];
    if (c.op === 'SCMP_CMP_EQ' || c.op === 'SCMP_CMP_NE' || c.op === 'SCMP_CMP_MASKED_EQ') {
      const op = c.op === 'SCMP_CMP_MASKED_EQ' ? 'MASKED_EQ' : 'EQ';
      nodes = [node(c.index, true, op, c.op, hi(mask), hi(datum), datum), node(c.index, false, op, c.op, lo(mask), lo(datum), datum)];
      nodes[0]!.nxtT = nodes[1]!;
    } else {
      const lowOp = c.op === 'SCMP_CMP_GT' || c.op === 'SCMP_CMP_LE' ? 'GT' : 'GE';
      nodes = [node(c.index, true, 'GT', c.op, hi(mask), hi(datum), datum), node(c.index, true, 'EQ', c.op, hi(mask), hi(datum), datum), node(c.index, false, lowOp, c.op, lo(mask), lo(datum), datum)];
      nodes[0]!.nxtF = nodes[1]!;
      nodes[1]!.nxtT = nodes[2]!;
    }
    const head = nodes[0]!;
    if (!prev) first = head;
    else {
      // Where the previous condition holds, go on to this one.
      const [p0, p1, p2] = prev.nodes;
      switch (prev.op) {
        case 'SCMP_CMP_GT': case 'SCMP_CMP_GE': p0!.nxtT = head; p2!.nxtT = head; break;
        case 'SCMP_CMP_EQ': case 'SCMP_CMP_MASKED_EQ': p1!.nxtT = head; break;
        case 'SCMP_CMP_LT': case 'SCMP_CMP_LE': p1!.nxtF = head; p2!.nxtF = head; break;
        case 'SCMP_CMP_NE': p0!.nxtF = head; p1!.nxtF = head; break;
      }
    }
    prev = { op: c.op, nodes };
  }
  if (!prev) return null;
  const [n0, n1, n2] = prev.nodes;
  switch (prev.op) {
    case 'SCMP_CMP_GT': case 'SCMP_CMP_GE': n0!.actT = action; n2!.actT = action; break;
    case 'SCMP_CMP_LT': case 'SCMP_CMP_LE': n1!.actF = action; n2!.actF = action; break;
    case 'SCMP_CMP_EQ': case 'SCMP_CMP_MASKED_EQ': n1!.actT = action; break;
    case 'SCMP_CMP_NE': n0!.actF = action; n1!.actF = action; break;
  }
  return first;
}

/** The chain of one rule on a 32-bit ABI: one low-word comparison per condition, NE/LT/LE
 *  as the false branch of EQ/GE/GT. */
function chain32(conditions: TreeCondition[], action: number): ArgNode | null {
  let first: ArgNode | null = null;
  let prev: { node: ArgNode; onTrue: boolean } | null = null;
  for (const c of [...conditions].sort((a, b) => a.index - b.index)) {
    const { mask, datum } = maskAndDatum(c);
    if (c.op === 'SCMP_CMP_MASKED_EQ' && lo(mask) === 0) continue; // always holds
    const [op, onTrue]: [ArgNode['op'], boolean] =
      c.op === 'SCMP_CMP_NE' ? ['EQ', false] : c.op === 'SCMP_CMP_LT' ? ['GE', false] : c.op === 'SCMP_CMP_LE' ? ['GT', false]
        : c.op === 'SCMP_CMP_MASKED_EQ' ? ['MASKED_EQ', true] : c.op === 'SCMP_CMP_EQ' ? ['EQ', true] : c.op === 'SCMP_CMP_GT' ? ['GT', true] : ['GE', true];
    const n = node(c.index, false, op, c.op, lo(mask), lo(datum), datum);
    if (!prev) first = n;
    else if (prev.onTrue) prev.node.nxtT = n;
    else prev.node.nxtF = n;
    prev = { node: n, onTrue };
  }
  if (!prev) return null;
  if (prev.onTrue) prev.node.actT = action;
  else prev.node.actF = action;
  return first;
}

/** The order within a level: argument, its high word before its low word... */
function argRank(n: ArgNode): number {
  return n.arg * 2 + (n.high ? 1 : 0);
}

/** ...then GT/GE, LT/LE, (masked) equality... */
function opRank(op: Operator): number {
  if (op === 'SCMP_CMP_GT' || op === 'SCMP_CMP_GE') return 1;
  if (op === 'SCMP_CMP_LT' || op === 'SCMP_CMP_LE') return 2;
  return 3;
}

/** ...then the operand, descending for LT/LE and ascending otherwise. */
function lessThan(a: ArgNode, b: ArgNode): boolean {
  if (argRank(a) !== argRank(b)) return argRank(a) < argRank(b);
  if (opRank(a.opOrig) !== opRank(b.opOrig)) return opRank(a.opOrig) < opRank(b.opOrig);
  return a.opOrig === 'SCMP_CMP_LT' || a.opOrig === 'SCMP_CMP_LE' ? a.datum > b.datum : a.datum < b.datum;
}

/** The same comparison (the operator as compiled, not as written). */
function sameComparison(a: ArgNode, b: ArgNode): boolean {
  return argRank(a) === argRank(b) && a.op === b.op && a.datum === b.datum && a.mask === b.mask;
}

const isLeaf = (n: ArgNode): boolean => n.nxtT === null && n.nxtF === null;

function levelHead(n: ArgNode): ArgNode {
  while (n.prev) n = n.prev;
  return n;
}

/** Every action in the subtree is `action`, or EEXIST. */
function checkActions(tree: ArgNode | null, action: number): void {
  for (let n = tree && levelHead(tree); n; n = n.next) {
    if ((n.actT !== undefined && n.actT !== action) || (n.actF !== undefined && n.actF !== action)) throw new RuleExistsError();
    checkActions(n.nxtT, action);
    checkActions(n.nxtF, action);
  }
}

interface Slot {
  get(): ArgNode;
  set(n: ArgNode): void;
}

function slot(owner: ArgNode, branch: 'nxtT' | 'nxtF'): Slot {
  return { get: () => owner[branch]!, set: (n) => (owner[branch] = n) };
}

/** Merges the chain `n` into the tree at `where`, walking its level from there on. */
function merge(where: Slot, n: ArgNode): void {
  let x: ArgNode | null = where.get();
  while (x) {
    if (sameComparison(x, n)) {
      for (const [act, nxt, largerWins] of [['actT', 'nxtT', true], ['actF', 'nxtF', false]] as const) {
        const action = n[act];
        if (action === undefined) continue;
        if (x[act] === undefined) {
          checkActions(x[nxt], action);
          x[nxt] = null;
          x[act] = action;
        } else if (x[act] !== action) {
          // Equal high words: the larger (true branch) or smaller (false branch) full
          // operand's true action wins. libseccomp sets the true action in both cases (a
          // chain without one gives 0, KILL_THREAD), and only where x has one.
          if (n.high && (largerWins ? n.datumFull > x.datumFull : n.datumFull < x.datumFull) && x.actT !== undefined) x.actT = n.actT ?? 0;
          if (isLeaf(x) || isLeaf(n)) throw new RuleExistsError();
        }
      }
      for (const [act, nxt] of [['actT', 'nxtT'], ['actF', 'nxtF']] as const) {
        const sub = n[nxt];
        if (!sub) continue;
        if (x[nxt]) merge(slot(x, nxt), sub);
        else if (x[act] === undefined) x[nxt] = sub;
        else return; // the tree's shorter chain already decides
      }
      return;
    }
    if (!lessThan(x, n)) {
      if (!x.next) {
        n.prev = x;
        x.next = n;
        return;
      }
      x = x.next;
    } else {
      // Insert before x.
      if (x.prev) x.prev.next = n;
      n.prev = x.prev;
      n.next = x;
      x.prev = n;
      if (where.get() === x) where.set(n);
      return;
    }
  }
}

/** The rules of one syscall of one ABI: an unconditional action or a tree. */
export class SyscallTree {
  unconditional: number | null = null;
  root: ArgNode | null = null;

  constructor(readonly argBits: 32 | 64) {}

  /** Adds a rule as libseccomp's db_rule_add does; RuleExistsError is its EEXIST. */
  add(conditions: TreeCondition[], action: number): void {
    const chain = this.argBits === 64 ? chain64(conditions, action) : chain32(conditions, action);
    if (this.unconditional !== null) return; // an unconditional rule already decides
    if (chain === null) {
      // An unconditional rule replaces the conditional ones.
      this.unconditional = action;
      this.root = null;
      return;
    }
    if (this.root === null) {
      this.root = chain;
      return;
    }
    const owner = this;
    merge({ get: () => owner.root!, set: (n) => (owner.root = n) }, chain);
  }
}

/**
 * Emits the tree's comparisons; entered with anything in A, ends in a jump to a return
 * label or `fallback`. Each comparison loads its word itself (libseccomp 2.5.4 reuses the
 * accumulator across a level and at times compares a word other than the one it means).
 * A level entered from two places with different fall-backs is emitted once for each;
 * blocks are laid out so that every jump goes forward.
 */
export function emitTree(asm: Assembler, root: ArgNode, fallback: string, returnLabel: (value: number) => string): void {
  interface Block {
    label: string;
    node: ArgNode;
    jt: string;
    jf: string;
  }
  const blocks = new Map<string, Block>();
  const ids = new Map<ArgNode, number>();
  const idOf = (n: ArgNode): number => {
    let id = ids.get(n);
    if (id === undefined) ids.set(n, (id = ids.size));
    return id;
  };
  const level = (member: ArgNode, fallthrough: string): string => {
    const nodes: ArgNode[] = [];
    for (let n: ArgNode | null = levelHead(member); n; n = n.next) nodes.push(n);
    let next = fallthrough;
    for (let i = nodes.length - 1; i >= 0; i--) next = block(nodes[i]!, next);
    return next;
  };
  const block = (n: ArgNode, next: string): string => {
    const key = `${idOf(n)} ${next}`;
    const known = blocks.get(key);
    if (known) return known.label;
    const b: Block = { label: asm.newLabel(`arg${n.arg}${n.high ? 'hi' : 'lo'}`), node: n, jt: next, jf: next };
    blocks.set(key, b);
    b.jt = n.nxtT ? level(n.nxtT, next) : n.actT !== undefined ? returnLabel(n.actT) : next;
    b.jf = n.nxtF ? level(n.nxtF, next) : n.actF !== undefined ? returnLabel(n.actF) : next;
    return b.label;
  };
  const entry = level(root, fallback);

  // Depth-first post-order from the entry, reversed: every block before those it jumps to.
  const byLabel = new Map([...blocks.values()].map((b) => [b.label, b]));
  const order: Block[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (label: string): void => {
    const b = byLabel.get(label);
    if (!b || state.get(label) === 'done') return;
    if (state.get(label) === 'open') throw new Error(`seccomp argument tree has a cycle at ${label}`);
    state.set(label, 'open');
    visit(b.jf);
    visit(b.jt);
    state.set(label, 'done');
    order.push(b);
  };
  visit(entry);
  order.reverse();

  for (const [i, b] of order.entries()) {
    asm.label(b.label);
    const n = b.node;
    asm.load(argLowOffset(n.arg) + (n.high ? 4 : 0));
    if (n.mask !== 0xffffffff) asm.and(n.mask);
    const following = order[i + 1]?.label;
    const target = (label: string): string | null => (label === following ? null : label);
    asm.jump(n.op === 'GT' ? 'jgt' : n.op === 'GE' ? 'jge' : 'jeq', n.datum, target(b.jt), target(b.jf));
  }
}
