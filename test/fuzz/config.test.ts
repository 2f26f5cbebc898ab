// Hostile config.json: seeded random mutations of a valid config (wrong types, huge numbers,
// odd strings, deep nesting, traversal in every path field, symlink tricks in the rootfs).
// Every one must be rejected with an error that names the field, or accepted and cleaned
// up; never a crash of Node or of the init helper, never a file outside the bundle.
//
// The seed is fixed (1) unless RUNTS_FUZZ_SEED=<seed> replays a failure (the seed is printed in
// every failure) or RUNTS_FUZZ_SEED=random explores; fuzz longer with
// RUNTS_FUZZ_SECONDS=<seconds per phase> (the CI budget is 15 + 45 s). The in-process phase
// checks the validation and planning that `create` runs before anything is made; the CLI
// phase sends a sample through the real `runts create` / `runts run -d`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { hostHierarchies } from '../../src/cgroups/hierarchy';
import { CgroupError } from '../../src/cgroups/driver';
import { newCgroupDriver } from '../../src/cgroups/factory';
import { CgroupPathError } from '../../src/cgroups/paths';
import { ResourceError } from '../../src/cgroups/resources';
import { RuntimeError } from '../../src/errors';
import { lastKernelCapability } from '../../src/plan/capabilities';
import { buildPlan, PlanError } from '../../src/plan/build';
import { SpecError } from '../../src/spec/errors';
import { loadConfig, validateConfig } from '../../src/spec/validate';
import { defaultConfig, leakGuard, makeBundle, requireRoot, runts, runtsRoot, runtsToFiles, tempDir, uniqueId } from '../lib';
import { fuzzSeconds, fuzzSeed, mutate, pointersOf, Rng, serialize, type FuzzTargets, type Mutation } from './mutate';

const IN_PROCESS_SECONDS = fuzzSeconds(15);
const CLI_SECONDS = fuzzSeconds(45);
// Room for the last CLI case and the teardown beyond the two budgets.
t.setTimeout(Math.max(300_000, (IN_PROCESS_SECONDS + CLI_SECONDS + 120) * 1000));

const seed = fuzzSeed();
t.comment(`fuzz seed ${seed} (replay: RUNTS_FUZZ_SEED=${seed})`);

/** The errors create turns into a clean "exit 1" message; anything else is a bug. */
const EXPECTED_ERRORS = [SpecError, PlanError, CgroupPathError, CgroupError, ResourceError, RuntimeError];

/** Signs of a crash in runts's stderr: a stack trace, a JS engine error, an init killed by a signal. */
const CRASH_SIGNS = /\n\s+at .+:\d+:\d+|TypeError|RangeError|ReferenceError|Maximum call stack|Cannot read propert|is not a function|is not iterable|Invalid array length|exited early \(signal|\bundefined\b|\[object Object\]/;

const TOP_LEVEL_FIELDS = ['ociVersion', 'process', 'root', 'hostname', 'domainname', 'mounts', 'hooks', 'annotations', 'linux', 'fuzzExtra'];

/**
 * Whether an error message names the mutated field: a JSON pointer in it on the path to or
 * below the field, the dotted field name, the last field name, or the offending value.
 */
function namesField(message: string, m: Mutation): boolean {
  const toks = m.pointer.split('/').slice(1);
  const related = (p: string) => {
    const first = p.split('/')[1];
    if (!TOP_LEVEL_FIELDS.includes(first)) return false;
    return p === m.pointer || p.startsWith(`${m.pointer}/`) || m.pointer.startsWith(`${p}/`);
  };
  if ((message.match(/\/[^\s:"',)]*/g) ?? []).some(related)) return true;
  for (let i = toks.length; i >= 1; i--) {
    if (i === 1 && toks.length > 1) break;
    if (message.includes(toks.slice(0, i).join('.'))) return true;
  }
  // The field's own name, also as the kernel spells it (oomScoreAdj: "oom_score_adj").
  const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const field = [...toks].reverse().find((tok) => !/^\d+$/.test(tok));
  if (field && squash(field).length > 3 && squash(message).includes(squash(field))) return true;
  if (m.names?.some((name) => message.toLowerCase().includes(name.toLowerCase()))) return true;
  if (m.value === undefined || m.value === '') return false;
  // A short value only counts quoted (exec: "/": permission denied).
  const quoted = [`"${m.value}"`, `\\"${m.value}\\"`];
  // A path may be named as resolved: "/dev/../../x" as "/x".
  const long = [m.value, path.posix.normalize(m.value)].filter((v) => v.length >= 2);
  return quoted.some((q) => message.includes(q)) || long.some((v) => message.includes(v));
}

type Verdict = { accepted: true } | { accepted: false; message: string };

const hierarchies = hostHierarchies();
const lastCap = lastKernelCapability();

/** Everything create decides before it makes anything: read, validate, place cgroups, plan. */
function decideInProcess(bundle: string, id: string): Verdict {
  try {
    const spec = loadConfig(bundle);
    const { spec: valid } = validateConfig(spec, { file: 'config.json', detached: true });
    const cgroups = newCgroupDriver({ id, cgroupsPath: valid.linux?.cgroupsPath, systemd: false, rootless: false, hierarchies });
    cgroups.checkResources(valid.linux?.resources ?? {});
    buildPlan({
      id,
      bundle,
      spec: valid,
      execFifo: path.join(bundle, 'exec.fifo'),
      console: null,
      noPivot: false,
      preserveFds: 0,
      hierarchies,
      lastCap,
      hasKcore: true,
    });
    return { accepted: true };
  } catch (err) {
    if (EXPECTED_ERRORS.some((kind) => err instanceof kind)) return { accepted: false, message: (err as Error).message };
    throw err;
  }
}

/** A fresh mutated config: one mutation, sometimes two on top of each other. */
function mutatedConfig(rng: Rng, base: Record<string, any>, targets: FuzzTargets): { text: string; mutations: Mutation[] } {
  const config = structuredClone(base);
  const mutations = [mutate(rng, config, targets)];
  if (rng.chance(0.15) && !mutations[0].deep) mutations.push(mutate(rng, config, targets));
  const deep = mutations.find((m) => m.deep);
  return { text: serialize(config, deep ?? mutations[0]), mutations };
}

const describeCase = (i: number, mutations: Mutation[]) => `seed ${seed} case ${i}: ${mutations.map((m) => m.what).join(' + ')}`;

t.test('in process: every mutation is accepted or rejected with a message naming the field', async (t) => {
  const rng = new Rng(seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-fuzz-inproc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const configPath = path.join(dir, 'config.json');
  const base = await defaultConfig(['true']);
  const targets: FuzzTargets = { marker: `fuzzmark-${process.pid}`, canary: path.join(dir, 'canary'), id: 'fuzz-inproc' };
  const deadline = Date.now() + IN_PROCESS_SECONDS * 1000;
  let accepted = 0;
  let rejected = 0;
  let i = 0;
  for (; Date.now() < deadline; i++) {
    const { text, mutations } = mutatedConfig(rng, base, targets);
    fs.writeFileSync(configPath, text);
    let verdict: Verdict;
    try {
      verdict = decideInProcess(dir, targets.id);
    } catch (err) {
      t.fail(`${describeCase(i, mutations)}: unexpected ${(err as Error).name}: ${(err as Error).message}`, { stack: (err as Error).stack });
      continue;
    }
    if (verdict.accepted) {
      accepted++;
      if (process.env.RUNTS_FUZZ_VERBOSE) t.comment(`accepted: ${describeCase(i, mutations)}`);
      continue;
    }
    rejected++;
    const named = mutations.some((m) => namesField(verdict.message, m));
    if (!named) t.fail(`${describeCase(i, mutations)}: the error does not name the field: ${verdict.message.slice(0, 300)}`);
  }
  t.comment(`${i} mutations: ${rejected} rejected, ${accepted} accepted`);
  t.ok(rejected > 0 && i > 50, 'the fuzzer ran and rejected mutations');
});

/** Names under `dir` (recursively, not following links) that contain `marker`. */
function findMarked(dir: string, marker: string, depth = 3): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = path.join(dir, e.name);
    const here = e.name.includes(marker) ? [p] : [];
    return e.isDirectory() && depth > 0 ? [...here, ...findMarked(p, marker, depth - 1)] : here;
  });
}

/**
 * Symlinks an image may carry to lead the runtime onto the host (aimed at `canary` or at
 * /), with the mounts that would follow them added to `config`.
 */
function rootfsTrick(rng: Rng, rootfs: string, canary: string, marker: string, config: Record<string, any>): string {
  const mountThrough = (link: string, target: string) => () => {
    fs.symlinkSync(target, path.join(rootfs, link));
    config.mounts.push({ destination: `/${link}/${marker}`, type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
  };
  const tricks: [string, () => void][] = [
    ['mount target under /mnt → /', mountThrough('mnt', '/')],
    ['mount target under /mnt → ../../canary', mountThrough('mnt', `../../../../../../../..${canary}`)],
    ['/dev → canary', () => {
      fs.rmSync(path.join(rootfs, 'dev'), { recursive: true, force: true });
      fs.symlinkSync(canary, path.join(rootfs, 'dev'));
    }],
    ['/proc → canary', () => {
      fs.rmSync(path.join(rootfs, 'proc'), { recursive: true, force: true });
      fs.symlinkSync(canary, path.join(rootfs, 'proc'));
    }],
    ['/sys → ../../../canary', () => {
      fs.rmSync(path.join(rootfs, 'sys'), { recursive: true, force: true });
      fs.symlinkSync(`../../../../../../../..${canary}`, path.join(rootfs, 'sys'));
    }],
    ['/tmp → /', () => {
      fs.rmSync(path.join(rootfs, 'tmp'), { recursive: true, force: true });
      fs.symlinkSync('/', path.join(rootfs, 'tmp'));
    }],
    ['/dev/shm → canary', () => {
      fs.mkdirSync(path.join(rootfs, 'dev'), { recursive: true });
      fs.symlinkSync(canary, path.join(rootfs, 'dev', 'shm'));
    }],
  ];
  const [what, apply] = rng.pick(tricks);
  apply();
  return `rootfs ${what}`;
}

t.test('through the CLI: exit 0 or 1 naming the field, no crash, nothing outside the bundle, nothing left', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const rng = new Rng(seed ^ 0x5eed);
  const root = runtsRoot(t);
  const work = tempDir(t, 'fuzz');
  const canary = tempDir(t, 'canary');
  const marker = `fuzzmark-${process.pid}`;
  const hostDirs = ['/', '/etc', '/tmp', '/root', '/run', '/dev', path.dirname(canary)];
  const base = await defaultConfig(['true']);
  const deadline = Date.now() + CLI_SECONDS * 1000;
  let created = 0;
  let rejected = 0;
  let i = 0;
  for (; Date.now() < deadline || i < 8; i++) {
    const id = rng.chance(0.05) ? 'o'.repeat(rng.pick([256, 4096])) : uniqueId('fuzz');
    const targets: FuzzTargets = { marker, canary, id };
    const { bundle, rootfs, configPath } = await makeBundle(path.join(work, `b${i}`), { args: ['true'] });
    // Mostly mutations the validation lets through: what the runtime then does is what
    // the in-process phase cannot see. A few rejected ones check the CLI's error path.
    const wantAccepted = rng.chance(0.7);
    let { text, mutations } = mutatedConfig(rng, base, targets);
    for (let tries = 0; tries < 50; tries++) {
      fs.writeFileSync(configPath, text);
      if (decideInProcess(bundle, id).accepted === wantAccepted) break;
      ({ text, mutations } = mutatedConfig(rng, base, targets));
    }
    let what = describeCase(i, mutations);
    if (rng.chance(0.25)) {
      // A valid config over a hostile image: the image's symlinks must lead nowhere.
      const config = structuredClone(base);
      what = `seed ${seed} case ${i}: ${rootfsTrick(rng, rootfs, canary, marker, config)}`;
      ({ text, mutations } = { text: JSON.stringify(config), mutations: [] });
    }
    fs.writeFileSync(configPath, text);
    const command = rng.chance(0.5) ? ['create'] : ['run', '--detach'];
    const result = await runtsToFiles(work, ['--root', root, ...command, '--bundle', bundle, id]);
    const label = `${what} (${command.join(' ')}${id.length > 200 ? `, ID of ${id.length} chars` : ''})`;
    if (result.code !== 0 && result.code !== 1) t.fail(`${label}: exit ${result.code}`, { stderr: result.stderr.slice(0, 2000) });
    if (CRASH_SIGNS.test(result.stderr)) t.fail(`${label}: crash signs in stderr`, { stderr: result.stderr.slice(0, 2000) });
    if (result.code === 0) {
      created++;
      const removed = await runts(['--root', root, 'delete', '--force', id]);
      if (removed.code !== 0) t.fail(`${label}: delete --force exited ${removed.code}: ${removed.stderr}`);
    } else if (result.code === 1) {
      rejected++;
      const message = result.stderr;
      const named = mutations.length === 0 ? /rootfs|\/dev|\/proc|\/sys|\/tmp|symlink|mount/.test(message) : mutations.some((m) => namesField(message, m));
      const longId = id.length > 200 && /name too long|invalid container ID/.test(message);
      if (!named && !longId) t.fail(`${label}: the error does not name the field: ${message.slice(0, 400)}`);
    }
    const leftState = fs.readdirSync(root).filter((n) => fs.statSync(path.join(root, n)).isDirectory());
    if (leftState.length > 0) t.fail(`${label}: state left: ${leftState.join(', ')}`);
    const stray = [...hostDirs.flatMap((d) => findMarked(d, marker, 0)), ...findMarked(canary, marker)];
    const canaryEntries = fs.readdirSync(canary);
    if (stray.length > 0 || canaryEntries.length > 0) t.fail(`${label}: files outside the bundle: ${[...stray, ...canaryEntries].join(', ')}`);
    fs.rmSync(bundle, { recursive: true, force: true });
  }
  t.comment(`${i} CLI cases: ${rejected} rejected, ${created} created and deleted`);
  t.ok(i >= 8, 'the CLI fuzzer ran');
});

t.test('the mutator sees the default config\'s fields; namesField tells a named field from an unnamed one', async (t) => {
  const base = await defaultConfig(['true']);
  const pointers = pointersOf(base);
  t.ok(pointers.includes('/process/args/0') && pointers.includes('/linux/namespaces/0/type') && pointers.includes('/mounts/0/destination'));
  t.ok(namesField('config.json: /process/args/0: must be string', { what: '', pointer: '/process/args/0' }));
  t.ok(namesField('config.json: /process: must have required property \'args\'', { what: '', pointer: '/process/args' }));
  t.notOk(namesField('open /tmp/x: no such file or directory', { what: '', pointer: '/process/args/0' }));
});

t.test('what the fuzzer found, through the CLI: each refused with the field named, nothing left', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const work = tempDir(t, 'found');
  const cases: [string, (config: Record<string, any>) => void, (text: string) => string, RegExp][] = [
    // JSON.stringify of the state record overflowed the stack ("Maximum call stack size exceeded").
    ['a value nested 100000 deep in an unknown field', (c) => (c.extra = '@'), (text) => text.replace('"@"', `${'['.repeat(100_000)}${']'.repeat(100_000)}`), /config\.json: \/extra\/0\/0\/0\/…: nested more than 512 levels deep/],
    // A NUL cut the path short in the C++ init; Node refused it in a cgroup path with its own wording.
    ['a NUL byte in a mount destination', (c) => (c.mounts[1].destination = '/dev\u0000/x'), (text) => text, /config\.json: \/mounts\/1\/destination: must not contain a NUL byte/],
    ['a NUL byte in cgroupsPath', (c) => (c.linux.cgroupsPath = 'a\u0000b'), (text) => text, /config\.json: \/linux\/cgroupsPath: must not contain a NUL byte/],
    // runc fails here too; runts blamed the fifo's permissions.
    ['no proc mount', (c) => (c.mounts = c.mounts.filter((m: { type?: string }) => m.type !== 'proc')), (text) => text, /do mounts have proc on \/proc\?/],
  ];
  for (const [what, edit, patch, message] of cases) {
    const { bundle, configPath, config } = await makeBundle(path.join(work, `b${cases.findIndex((c) => c[0] === what)}`), { args: ['true'] });
    edit(config);
    fs.writeFileSync(configPath, patch(JSON.stringify(config)));
    const r = await runtsToFiles(work, ['--root', root, 'create', '--bundle', bundle, uniqueId('found')]);
    t.equal(r.code, 1, `${what}: exit 1`);
    t.match(r.stderr, message, `${what}: the message`);
    t.notMatch(r.stderr, CRASH_SIGNS, `${what}: no crash signs`);
  }
  t.same(fs.readdirSync(root), [], 'no state dir');
});
