// Seeded mutations of a valid config.json for the fuzz tests: wrong types, huge numbers,
// long and odd strings (unicode, NUL), deep nesting, removed and duplicated entries, and
// path traversal aimed at a canary directory in every field that names a path.

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same mutations. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let x = this.state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The seed of a plain `npm test`, so that CI runs are reproducible. */
const DEFAULT_SEED = 1;

/** The fuzz seed: $RUNTS_FUZZ_SEED (a number to replay a failure, `random` to explore), else DEFAULT_SEED. */
export function fuzzSeed(): number {
  const fromEnv = process.env.RUNTS_FUZZ_SEED;
  if (fromEnv !== undefined && fromEnv !== '' && fromEnv !== 'random') {
    const seed = Number(fromEnv);
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`RUNTS_FUZZ_SEED=${fromEnv}: want an integer in [0, 2^32)`);
    return seed;
  }
  return fromEnv === 'random' ? Math.floor(Math.random() * 2 ** 32) : DEFAULT_SEED;
}

/** Seconds of fuzzing: $RUNTS_FUZZ_SECONDS (a longer local run), else the CI budget given. */
export function fuzzSeconds(ciDefault: number): number {
  const fromEnv = Number(process.env.RUNTS_FUZZ_SECONDS);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : ciDefault;
}

/** Where traversals aim: a file named `marker` must never appear on the host outside the bundle. */
export interface FuzzTargets {
  /** A name no host file has; traversals try to create it. */
  marker: string;
  /** An absolute host directory (a temp dir) the traversals aim at. */
  canary: string;
  /** The container ID: cgroup traversals carry it, so the leak guard sees a stray cgroup. */
  id: string;
}

export interface Mutation {
  /** What was done, for failure messages ("/process/args/0: wrong type → 12"). */
  what: string;
  /** JSON pointer of the field changed (the field a rejection must name). */
  pointer: string;
  /** A string the error may name instead of the pointer (the value, or a path made from it). */
  value?: string;
  /** Other words that name the field in a runtime error (a mount's destination). */
  names?: string[];
  /** A nested value spliced in at the pointer by serialize(). */
  deep?: { depth: number; objects: boolean };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Every JSON pointer in `doc` (not the root), parents before children. */
export function pointersOf(doc: Json, at = ''): string[] {
  const out: string[] = [];
  const children: [string, Json][] = Array.isArray(doc)
    ? doc.map((v, i) => [String(i), v])
    : isObject(doc)
      ? Object.entries(doc)
      : [];
  for (const [key, value] of children) {
    const pointer = `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    out.push(pointer, ...pointersOf(value, pointer));
  }
  return out;
}

const tokens = (pointer: string) => pointer.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));

/** The parent container of `pointer` and the key in it, creating objects on the way. */
function locate(doc: Record<string, Json>, pointer: string): { parent: Record<string, Json> | Json[]; key: string } {
  const path = tokens(pointer);
  let cur: Json = doc;
  for (const key of path.slice(0, -1)) {
    const holder = cur as Record<string, Json>;
    if (!isObject(holder[key]) && !Array.isArray(holder[key])) holder[key] = {};
    cur = holder[key];
  }
  return { parent: cur as Record<string, Json>, key: path[path.length - 1] };
}

function setAt(doc: Record<string, Json>, pointer: string, value: Json): void {
  const { parent, key } = locate(doc, pointer);
  (parent as Record<string, Json>)[key] = value;
}

function getAt(doc: Json, pointer: string): Json | undefined {
  let cur: Json | undefined = doc;
  for (const key of tokens(pointer)) cur = cur === null || typeof cur !== 'object' ? undefined : (cur as Record<string, Json>)[key];
  return cur;
}

function removeAt(doc: Record<string, Json>, pointer: string): void {
  const { parent, key } = locate(doc, pointer);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
}

/** Stands for a deeply nested value until serialize() writes it out as text. */
const DEEP_PLACEHOLDER = '@@fuzz-deeply-nested@@';

/**
 * The mutated config as config.json text. A deeply nested value is spliced in as text:
 * JSON.stringify (and anything else recursive) overflows the stack on it, JSON.parse does not.
 */
export function serialize(config: Record<string, Json>, m: Mutation): string {
  const text = JSON.stringify(config);
  if (!m.deep) return text;
  const { depth, objects } = m.deep;
  const nested = objects ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}1${']'.repeat(depth)}`;
  return text.replace(JSON.stringify(DEEP_PLACEHOLDER), nested);
}

const HUGE_NUMBERS = [2 ** 64, 2 ** 63, 2 ** 53 + 2, -(2 ** 63) - 4096, 4294967296, 4294967295, 1e308, -1e308, -1, 1.5, -0.5, 0];

function oddStrings(): string[] {
  return [
    '',
    'a\u0000b',
    '\u0000',
    '☃\u202e𝔘\u0301',
    '\ud800',
    'line\nbreak',
    'x'.repeat(4097),
    'y'.repeat(70_000),
    '%s%n%x',
    '-1',
    ' ',
  ];
}

/** Values of another JSON type than `current`. */
function otherTypeValues(current: Json | undefined): Json[] {
  const all: Json[] = [null, true, 7, -3, 'str', [], ['str'], {}, { a: 1 }];
  const typeOf = (v: Json | undefined) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  return all.filter((v) => typeOf(v) !== typeOf(current));
}

/** Host-path traversals for a field; `relative` ones climb from the bundle or the rootfs. */
function traversals(t: FuzzTargets): string[] {
  return [
    `../../../../../../../../../${t.marker}`,
    `/../../../../../${t.marker}`,
    `${t.canary}/${t.marker}`,
    `/proc/self/root${t.canary}/${t.marker}`,
    `rootfs/../../../../../../${t.canary}/${t.marker}`,
    `/dev/../../../${t.canary}/${t.marker}`,
    `..`,
    `/`,
    `.`,
    `/${t.marker}/\u0000/x`,
  ];
}

/** The index of the namespace entry of `type`, added when missing. */
function namespaceIndex(doc: Record<string, Json>, type: string): number {
  const linux = (isObject(doc.linux) ? doc.linux : (doc.linux = {})) as Record<string, Json>;
  if (!Array.isArray(linux.namespaces)) linux.namespaces = [];
  const namespaces = linux.namespaces as Json[];
  const found = namespaces.findIndex((ns) => isObject(ns) && ns.type === type);
  if (found >= 0) return found;
  namespaces.push({ type });
  return namespaces.length - 1;
}

/** The path fields of a config that traversals go into; some are added when missing. */
function pathFieldMutations(rng: Rng, doc: Record<string, Json>, t: FuzzTargets): Mutation {
  const value = rng.pick(traversals(t));
  const mountIndex = Array.isArray(doc.mounts) ? rng.int(doc.mounts.length) : 0;
  const hookKind = rng.pick(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  const targets: { pointer: string; prepare?: () => void }[] = [
    { pointer: '/root/path' },
    { pointer: `/mounts/${mountIndex}/destination` },
    { pointer: `/mounts/${mountIndex}/source` },
    { pointer: '/process/cwd' },
    { pointer: '/process/args/0' },
    {
      pointer: `/hooks/${hookKind}/0/path`,
      prepare: () => setAt(doc, `/hooks/${hookKind}`, [{ path: '/bin/true' }]),
    },
    {
      pointer: '/linux/devices/0/path',
      prepare: () => setAt(doc, '/linux/devices', [{ path: '/dev/fuzz', type: 'c', major: 1, minor: 3 }]),
    },
    // Cgroup traversals carry the ID, so a stray cgroup is one the leak guard recognises.
    { pointer: '/linux/cgroupsPath' },
    { pointer: '/linux/maskedPaths/0' },
    { pointer: '/linux/readonlyPaths/0' },
    { pointer: `/linux/namespaces/${namespaceIndex(doc, 'network')}/path` },
  ];
  const target = rng.pick(targets);
  target.prepare?.();
  const chosen = target.pointer === '/linux/cgroupsPath'
    ? rng.pick([`../../../../${t.id}`, `/../../${t.id}`, `${t.id}/../../..`, `/`, `..`, `/${t.id}/\u0000`])
    : value;
  setAt(doc, target.pointer, chosen);
  return { what: `${target.pointer}: traversal ${JSON.stringify(chosen)}`, pointer: target.pointer, value: chosen };
}

/** Fields worth aiming numbers at (ids, limits, modes, sizes), when present or addable. */
const NUMERIC_FIELDS = [
  '/process/user/uid',
  '/process/user/gid',
  '/process/user/umask',
  '/process/user/additionalGids/0',
  '/process/rlimits/0/hard',
  '/process/rlimits/0/soft',
  '/process/oomScoreAdj',
  '/process/consoleSize/height',
  '/linux/resources/memory/limit',
  '/linux/resources/pids/limit',
  '/linux/resources/cpu/shares',
  '/linux/resources/cpu/quota',
  '/linux/resources/blockIO/weight',
  '/linux/devices/0/major',
  '/linux/devices/0/fileMode',
  '/linux/uidMappings/0/size',
  '/linux/timeOffsets/monotonic/secs',
];

/**
 * Applies one random mutation to `config` (edited in place) and says what it did. Mutations
 * of a random existing field and targeted ones (paths, numbers) are mixed.
 */
export function mutate(rng: Rng, config: Record<string, Json>, t: FuzzTargets): Mutation {
  // Errors name a mount by its destination and a namespace by its type ("requires a UTS
  // namespace"): remember them before they change.
  const nameOf = (list: string, index: number, key: string): Json | undefined => getAt(config, `${list}/${index}/${key}`);
  const before = (pointer: string): Json | undefined => {
    const mount = /^\/mounts\/(\d+)/.exec(pointer)?.[1];
    if (mount !== undefined) return nameOf('/mounts', Number(mount), 'destination');
    const namespace = /^\/linux\/namespaces\/(\d+)/.exec(pointer)?.[1];
    return namespace === undefined ? undefined : nameOf('/linux/namespaces', Number(namespace), 'type');
  };
  const snapshot = new Map(pointersOf(config).map((p) => [p, before(p)]));
  const m = mutateOnce(rng, config, t);
  const name = snapshot.get(m.pointer);
  return typeof name === 'string' ? { ...m, names: [name] } : m;
}

function mutateOnce(rng: Rng, config: Record<string, Json>, t: FuzzTargets): Mutation {
  const existing = pointersOf(config);
  const kind = rng.int(10);
  switch (kind) {
    case 0:
    case 1: {
      const pointer = rng.pick(existing);
      const value = rng.pick(otherTypeValues(getAt(config, pointer)));
      setAt(config, pointer, value);
      return { what: `${pointer}: wrong type → ${JSON.stringify(value)}`, pointer };
    }
    case 2: {
      const pointer = rng.chance(0.5) ? rng.pick(NUMERIC_FIELDS) : rng.pick(existing);
      const value = rng.pick(HUGE_NUMBERS);
      if (pointer === '/process/rlimits/0/hard' || pointer === '/process/rlimits/0/soft') {
        if (!Array.isArray(getAt(config, '/process/rlimits'))) setAt(config, '/process/rlimits', [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
      }
      setAt(config, pointer, value);
      return { what: `${pointer}: number ${value}`, pointer };
    }
    case 3: {
      const stringPointers = existing.filter((p) => typeof getAt(config, p) === 'string');
      const pointer = rng.pick(stringPointers);
      const value = rng.pick(oddStrings());
      setAt(config, pointer, value);
      return { what: `${pointer}: odd string ${JSON.stringify(value.slice(0, 40))}${value.length > 40 ? `… (${value.length} chars)` : ''}`, pointer, value };
    }
    case 4: {
      // Unknown fields pass the schema: a deep value there reaches everything after it.
      const pointer = rng.chance(0.3) ? rng.pick(['/fuzzExtra', '/linux/fuzzExtra', '/process/fuzzExtra']) : rng.pick(existing);
      const deep = { depth: rng.pick([64, 1000, 20_000, 200_000]), objects: rng.chance(0.5) };
      setAt(config, pointer, DEEP_PLACEHOLDER);
      return { what: `${pointer}: ${deep.objects ? 'objects' : 'arrays'} nested ${deep.depth} deep`, pointer, deep };
    }
    case 5: {
      const pointer = rng.pick(existing);
      removeAt(config, pointer);
      return { what: `${pointer}: removed`, pointer };
    }
    case 6: {
      const arrays = existing.filter((p) => Array.isArray(getAt(config, p)) && (getAt(config, p) as Json[]).length > 0);
      const pointer = rng.pick(arrays);
      const array = getAt(config, pointer) as Json[];
      const copies = rng.pick([1, 1000]);
      const item = array[rng.int(array.length)];
      for (let i = 0; i < copies; i++) array.push(structuredClone(item));
      return { what: `${pointer}: an entry repeated ${copies} times`, pointer };
    }
    case 7: {
      const objects = ['', ...existing.filter((p) => isObject(getAt(config, p)))];
      const pointer = rng.pick(objects);
      const key = rng.pick(['unknownField', '', '\u0000', 'x'.repeat(5000)]);
      const target = pointer === '' ? config : (getAt(config, pointer) as Record<string, Json>);
      target[key] = rng.pick([1, 'v', null, {}]);
      return { what: `${pointer || '/'}: extra key ${JSON.stringify(key.slice(0, 20))}`, pointer: `${pointer}/${key}` };
    }
    default:
      return pathFieldMutations(rng, config, t);
  }
}
