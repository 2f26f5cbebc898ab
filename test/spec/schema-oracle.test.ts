// The project's schemas (spec-schemas/, compiled at build time into
// src/spec/generated/validators.js) must accept and reject exactly what the official
// runtime-spec schemas do. The official schemas are the oracle, compiled here at test time
// with ajv-draft-04; they live outside the project (RUNTIME_SPEC_SCHEMA_DIR, default
// ../shared/runtime-spec-schema beside the checkout, where CI puts them) and the tests
// skip when they are absent.

import t, { type Test } from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { validateConfig, validateState, type SchemaValidator } from '../../src/spec/generated/validators';
import projectConfigSchema from '../../spec-schemas/config.schema.json';
import everyFieldConfig from './data/every-field-config.json';
import everyFieldState from './data/every-field-state.json';

const officialDir = process.env.RUNTIME_SPEC_SCHEMA_DIR ?? resolve(__dirname, '../../../shared/runtime-spec-schema');
const skip = existsSync(join(officialDir, 'config-schema.json'))
  ? false
  : `official runtime-spec schemas not found in ${officialDir} (set RUNTIME_SPEC_SCHEMA_DIR)`;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];
type Verdict = (doc: unknown) => boolean;

function loadOfficial(): { config: Verdict; state: Verdict; schemas: Json[] } {
  const ajv = new Ajv04({ strict: false });
  addFormats(ajv);
  const schemas: Json[] = [];
  for (const file of readdirSync(officialDir).filter((f) => f.endsWith('.json'))) {
    const schema = JSON.parse(readFileSync(join(officialDir, file), 'utf8')) as Json;
    schemas.push(schema);
    // Keyed by file name so that relative $refs such as "defs.json#/..." resolve.
    ajv.addSchema(schema as object, file);
  }
  const compiled = (key: string): Verdict => {
    const validate = ajv.getSchema(key);
    if (!validate) throw new Error(`no schema ${key} in ${officialDir}`);
    return (doc) => validate(doc) as boolean;
  };
  return { config: compiled('config-schema.json'), state: compiled('state-schema.json'), schemas };
}

const project = (validator: SchemaValidator<unknown>): Verdict => (doc) => validator(doc);

t.test('upstream fixtures get the official verdicts', { skip }, async (t) => {
  const official = loadOfficial();
  const kinds = { config: [official.config, project(validateConfig)], state: [official.state, project(validateState)] } as const;
  for (const [kind, [oracle, ours]] of Object.entries(kinds)) {
    for (const expected of ['good', 'bad'] as const) {
      const dir = join(officialDir, 'test', kind, expected);
      if (!existsSync(dir)) continue;
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
        const text = readFileSync(join(dir, file), 'utf8');
        let doc: unknown;
        try {
          doc = JSON.parse(text);
        } catch {
          // Not JSON (e.g. invalid-json.json): rejected before any schema sees it.
          t.equal(expected, 'bad', `${kind}/${expected}/${file} is not JSON`);
          continue;
        }
        t.equal(ours(doc), oracle(doc), `${kind}/${expected}/${file}: same verdict as the official schema`);
        t.equal(ours(doc), expected === 'good', `${kind}/${expected}/${file}: ${expected === 'good' ? 'accepted' : 'rejected'}`);
      }
    }
  }
});

/**
 * Where the project's schema accepts more than the official one, on purpose: runc accepts it
 * and a real client sends it. Each entry is a document change, and the client that needs it.
 */
const WIDENINGS: { change: string; path: Path; value: Json; client: string }[] = [
  ...['rshared', 'rslave', 'rprivate', 'runbindable'].map((value) => ({
    change: `linux.rootfsPropagation "${value}"`,
    path: ['linux', 'rootfsPropagation'],
    value,
    client:
      'containerd CRI (rshared for mountPropagation Bidirectional, rslave for HostToContainer); runc accepts every propagation of its mount options',
  })),
];

t.test('each recorded widening: the official schema rejects it, ours accepts it', { skip }, async (t) => {
  const official = loadOfficial();
  for (const { change, path, value, client } of WIDENINGS) {
    const doc = setAt(everyFieldConfig as Json, path, value);
    t.notOk(official.config(doc), `${change}: official rejects`);
    t.ok(validateConfig(doc), `${change}: accepted for ${client}`);
  }
});

/** Every enum string of the official schemas, and each numeric limit with its neighbours (±1, +0.5). */
function probeValues(schemas: Json[]): { strings: Set<string>; numbers: Set<number> } {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  const visit = (node: Json): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'enum' && Array.isArray(value)) value.forEach((v) => typeof v === 'string' && strings.add(v));
      if ((key === 'minimum' || key === 'maximum' || key === 'minItems') && typeof value === 'number') {
        for (const n of [value - 1, value, value + 1, value + 0.5]) numbers.add(n);
      }
      visit(value);
    }
  };
  schemas.forEach(visit);
  return { strings, numbers };
}

/** Strings aimed at the official patterns (^RLIMIT_[A-Z]+$, ^[cbup]$, ^[1-9][0-9]*[KMG]B$, ...). */
const PATTERN_PROBES = [
  '', 'x', 'RLIMIT_', 'RLIMIT_A', 'RLIMIT_nofile', 'RLIMIT_NOFILE\n', 'RLIMIT_NO FILE', 'c', 'b', 'u', 'p', 'a', 'cb', 'C',
  '2MB', '64KB', '1GB', '64kB', '0MB', '02MB', '2TB', 'MB', 'MB:', 'MB:0=20', 'MB:0=20\n1=70', 'L3:0=7f0', 'mb:0',
  '0-3,7', '0, 1 - 3', '7a', '-', ' ', '\n', '\u2028',
];
const MISC_VALUES: Json[] = [null, true, false, 0, 1, -1, 0.5, 1e300, -1e300, 2 ** 53, 'x', '', [], ['x'], [1], [null], [{}], {}, { x: 1 }];
/** Keys added to every object: a string map takes "x": 1 and rejects it, "" and "\n" fall outside its pattern. */
const EXTRA_ENTRIES: [string, Json][] = [['x', 1], ['x', 'y'], ['x', {}], ['', 1], ['\n', 1], ['x\n', 1]];

interface Mutation {
  description: string;
  doc: Json;
}

function setAt(doc: Json, path: Path, value: Json | undefined): Json {
  if (path.length === 0) return value as Json;
  const [head, ...rest] = path;
  if (Array.isArray(doc)) {
    const copy = [...doc];
    if (value === undefined && rest.length === 0) copy.splice(head as number, 1);
    else copy[head as number] = setAt(doc[head as number], rest, value);
    return copy;
  }
  const copy = { ...(doc as Record<string, Json>) };
  if (value === undefined && rest.length === 0) delete copy[head as string];
  else copy[head as string] = setAt(copy[head as string], rest, value);
  return copy;
}

function* nodes(doc: Json, path: Path = []): Generator<[Path, Json]> {
  yield [path, doc];
  if (Array.isArray(doc)) for (const [i, v] of doc.entries()) yield* nodes(v, [...path, i]);
  else if (doc !== null && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) yield* nodes(v, [...path, k]);
}

/** Wrong types, bad enum values, out-of-range numbers, missing and extra properties, at every node. */
function* mutations(base: Json, probes: { strings: Set<string>; numbers: Set<number> }): Generator<Mutation> {
  for (const [path, value] of nodes(base)) {
    const at = `/${path.join('/')}`;
    const replacements: Json[] = [...MISC_VALUES];
    if (typeof value === 'string') replacements.push(...probes.strings, ...PATTERN_PROBES);
    if (typeof value === 'number') replacements.push(...probes.numbers);
    for (const replacement of replacements) {
      yield { description: `${at} = ${JSON.stringify(replacement)}`, doc: setAt(base, path, replacement) };
    }
    if (path.length > 0) yield { description: `delete ${at}`, doc: setAt(base, path, undefined) };
    if (Array.isArray(value)) {
      for (const element of [...MISC_VALUES, ...probes.strings]) {
        yield { description: `append ${JSON.stringify(element)} to ${at}`, doc: setAt(base, path, [...value, element]) };
      }
    } else if (value !== null && typeof value === 'object') {
      for (const [key, extra] of EXTRA_ENTRIES) {
        yield { description: `${at} gets ${JSON.stringify(key)}: ${JSON.stringify(extra)}`, doc: setAt(base, path, { ...value, [key]: extra }) };
      }
    }
  }
}

function compareOnMutations(t: Test, name: string, base: Json, oracle: Verdict, ours: Verdict, probes: ReturnType<typeof probeValues>): void {
  t.ok(oracle(base), `${name}: the base document is valid`);
  const disagreements: string[] = [];
  let accepted = 0;
  let rejected = 0;
  for (const { description, doc } of mutations(base, probes)) {
    const expected = oracle(doc);
    if (expected) accepted++;
    else rejected++;
    if (ours(doc) !== expected) disagreements.push(`${description}: official ${expected ? 'accepts' : 'rejects'}`);
  }
  t.same(disagreements.slice(0, 20), [], `${name}: no verdict differs (${accepted} accepted, ${rejected} rejected mutations)`);
  t.ok(accepted > 0 && rejected > 0, `${name}: mutations exercise both verdicts`);
}

t.test('mutations of a full config get the official verdicts', { skip }, async (t) => {
  const official = loadOfficial();
  compareOnMutations(t, 'config', everyFieldConfig as Json, official.config, project(validateConfig), probeValues(official.schemas));
});

t.test('mutations of a state document get the official verdicts', { skip }, async (t) => {
  const official = loadOfficial();
  compareOnMutations(t, 'state', everyFieldState as Json, official.state, project(validateState), probeValues(official.schemas));
});

/** Property paths of a schema ("*" for array items and additionalProperties), through local $refs. */
function schemaPropertyPaths(root: Json): string[] {
  const definitions = (root as { definitions: Record<string, Json> }).definitions;
  const paths: string[] = [];
  const walk = (node: Json, at: string): void => {
    const schema = node as Record<string, Json>;
    if (typeof schema.$ref === 'string') return walk(definitions[schema.$ref.replace('#/definitions/', '')], at);
    for (const [key, sub] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
      paths.push(`${at}/${key}`);
      walk(sub, `${at}/${key}`);
    }
    if (schema.items) walk(schema.items, `${at}/*`);
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      paths.push(`${at}/*`);
      walk(schema.additionalProperties, `${at}/*`);
    }
  };
  walk(root, '');
  return paths;
}

function documentHas(doc: Json, path: string): boolean {
  let level: Json[] = [doc];
  for (const token of path.split('/').slice(1)) {
    level = level.flatMap((node): Json[] => {
      if (node === null || typeof node !== 'object') return [];
      if (token === '*') return Object.values(node);
      return Array.isArray(node) || !(token in node) ? [] : [node[token]];
    });
  }
  return level.length > 0;
}

t.test('the mutated config has every property the schema defines', async (t) => {
  const missing = schemaPropertyPaths(projectConfigSchema as Json).filter((p) => !documentHas(everyFieldConfig as Json, p));
  t.same(missing, [], 'test/spec/data/every-field-config.json covers spec-schemas/config.schema.json');
});
