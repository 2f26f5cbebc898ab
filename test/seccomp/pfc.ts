// An interpreter for the argument part of libseccomp's pseudo filter code (seccomp_export_pfc),
// which libseccomp prints from its rule tree, not from the BPF it generates. The differential
// test uses it as libseccomp's own statement of what its rules decide, to tell a libseccomp
// BPF generation bug (its BPF departs from its own tree) from a runts bug.
//
// Only a syscall's block is interpreted: `if (COND)` lines, each with a more indented true
// part and an optional `else` part; a part is an action or further ifs; a part that decides
// nothing falls through to the next if of its level. COND compares one 32-bit word:
// `$aN.hi32`, `$aN.lo32` (64-bit ABIs) or `$aN` (32-bit ABIs, the low word) with `==`, `>`,
// `>=` or `& 0xMASK ==`.

interface If {
  word: { arg: number; high: boolean };
  op: '==' | '>' | '>=' | '&';
  mask: number;
  datum: number;
  then: Statement[];
  else: Statement[];
}
type Statement = { action: number } | If;

const ACTIONS: Record<string, number> = { KILL_PROCESS: 0x80000000, KILL: 0, TRAP: 0x00030000, LOG: 0x7ffc0000, ALLOW: 0x7fff0000 };

function parseAction(text: string): number {
  const hex = /^action 0x([0-9a-f]+);$/.exec(text); // actions without a name (NOTIFY)
  if (hex) return parseInt(hex[1]!, 16) >>> 0;
  const m = /^action (\w+)(?:\((\d+)\))?;$/.exec(text);
  if (!m) throw new Error(`pfc: not an action: ${text}`);
  if (m[1] === 'ERRNO') return (0x00050000 | Number(m[2])) >>> 0;
  if (m[1] === 'TRACE') return (0x7ff00000 | Number(m[2])) >>> 0;
  const value = ACTIONS[m[1]!];
  if (value === undefined) throw new Error(`pfc: unknown action ${text}`);
  return value >>> 0;
}

interface Line {
  indent: number;
  text: string;
}

function parseBlock(lines: Line[], at: { i: number }, indent: number): Statement[] {
  const out: Statement[] = [];
  while (at.i < lines.length && lines[at.i]!.indent === indent) {
    const { text } = lines[at.i]!;
    if (text.startsWith('action ')) {
      out.push({ action: parseAction(text) });
      at.i++;
      continue;
    }
    const m = /^if \(\$a(\d)(\.hi32|\.lo32)?( & 0x([0-9a-f]{8}) == | == | > | >= )(\d+)\)$/.exec(text);
    if (!m) throw new Error(`pfc: cannot read ${JSON.stringify(text)}`);
    at.i++;
    const op = m[4] ? '&' : (m[3]!.trim() as If['op']);
    const stmt: If = { word: { arg: Number(m[1]), high: m[2] === '.hi32' }, op, mask: m[4] ? parseInt(m[4], 16) >>> 0 : 0xffffffff, datum: Number(m[5]) >>> 0, then: parseBlock(lines, at, indent + 1), else: [] };
    if (at.i < lines.length && lines[at.i]!.indent === indent && lines[at.i]!.text === 'else') {
      at.i++;
      stmt.else = parseBlock(lines, at, indent + 1);
    }
    out.push(stmt);
  }
  return out;
}

function run(block: Statement[], args: bigint[]): number | undefined {
  for (const s of block) {
    if ('action' in s) return s.action;
    const arg = args[s.word.arg] ?? 0n;
    const word = Number((s.word.high ? arg >> 32n : arg) & 0xffffffffn);
    const holds = s.op === '==' ? word === s.datum : s.op === '>' ? word > s.datum : s.op === '>=' ? word >= s.datum : ((word & s.mask) >>> 0) === s.datum;
    const decided = run(holds ? s.then : s.else, args);
    if (decided !== undefined) return decided;
  }
  return undefined;
}

/** Syscall blocks of one arch filter in a PFC text: arch name -> syscall number -> block. */
export type PfcFilters = Map<string, Map<number, Statement[]>>;

export function parsePfc(text: string): PfcFilters {
  const lines: Line[] = text.split('\n').filter((l) => l.trim() !== '').map((l) => ({ indent: (l.length - l.trimStart().length) / 2, text: l.trim() }));
  const filters: PfcFilters = new Map();
  let arch: Map<number, Statement[]> | undefined;
  for (let i = 0; i < lines.length; i++) {
    const archHeader = /^# filter for arch (\S+) /.exec(lines[i]!.text);
    if (archHeader) {
      arch = new Map();
      filters.set(archHeader[1]!, arch);
      continue;
    }
    const sys = /^if \(\$syscall == (\d+)\)$/.exec(lines[i]!.text);
    if (sys && arch) {
      const at = { i: i + 1 };
      arch.set(Number(sys[1]), parseBlock(lines, at, lines[i]!.indent + 1));
      i = at.i - 1;
    }
  }
  return filters;
}

/** What libseccomp's rule tree decides for a syscall's arguments; undefined: the syscall has
 *  no block in that arch's filter, or no comparison decides (then the default action). */
export function pfcDecision(filters: PfcFilters, arch: string, nr: number, args: bigint[]): { block: boolean; action: number | undefined } {
  const block = filters.get(arch)?.get(nr >>> 0);
  if (!block) return { block: false, action: undefined };
  return { block: true, action: run(block, args) };
}
