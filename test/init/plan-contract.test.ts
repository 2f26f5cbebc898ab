// The plan contract without root: plans from buildPlan (and exec plans from buildExecProcess)
// over many configs are fed to `runts-init --echo-plan`, which decodes them exactly as the
// helper does before it runs and writes back what it read. Any field the C++ side drops,
// renames, mistypes or misreads (native/init/plan.{h,cc} against src/plan/types.ts) makes
// the echo differ from the plan sent.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { initHelperPath } from '../../src/native';
import { buildExecProcess, buildPlan, type PlanInputs } from '../../src/plan/build';
import type { ExecPlan, InitPlan } from '../../src/plan/types';
import { validateConfig } from '../../src/spec/validate';
import type { Spec } from '../../src/spec/types';
import type { Hierarchy } from '../../src/cgroups/hierarchy';
import { mutate, Rng, serialize } from '../fuzz/mutate';
import everyFieldConfig from '../spec/data/every-field-config.json';
import runcSpecConfig from '../spec/data/runc-spec-config.json';

const bundle = mkdtempSync(path.join(tmpdir(), 'runts-plan-contract-'));
mkdirSync(path.join(bundle, 'rootfs'));
t.teardown(() => rmSync(bundle, { recursive: true, force: true }));

const LSM = { apparmor: true, selinux: true };
const HYBRID: Hierarchy[] = [
  { fstype: 'cgroup', mountpoint: '/sys/fs/cgroup/cpu,cpuacct', mountRoot: '/', subsystems: ['cpu', 'cpuacct'], cgroup: '/a' },
  { fstype: 'cgroup', mountpoint: '/sys/fs/cgroup/memory', mountRoot: '/', subsystems: ['memory'], cgroup: '/a' },
  { fstype: 'cgroup2', mountpoint: '/sys/fs/cgroup/unified', mountRoot: '/', subsystems: [], cgroup: '/a' },
];
const MOUNTINFO = '1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/root rw\n';

function echo(plan: InitPlan | ExecPlan): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(initHelperPath, ['--echo-plan'], { input: JSON.stringify(plan), encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A UTF-16 surrogate without its other half (a fuzzed "\ud800"). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The plan as the helper sees it: JSON, so undefined members vanish as on the wire. A lone
 * surrogate reaches the helper as a JSON escape, which it decodes to the three bytes of that
 * code point (WTF-8, as the kernel then gets them); read back as UTF-8 each byte is a U+FFFD.
 */
const wire = (plan: InitPlan | ExecPlan): unknown =>
  JSON.parse(JSON.stringify(plan), (_key, value: unknown) => (typeof value === 'string' ? value.replace(LONE_SURROGATE, '\ufffd'.repeat(3)) : value));

/**
 * Every field path of the plans checked (array items as [], rootfs ops by kind) and whether
 * it ever held something other than false, 0, "", null or []: a field never set proves
 * nothing about how the helper reads it.
 */
const exercised = new Map<string, boolean>();
function record(value: unknown, at: string): void {
  const set = value !== null && value !== false && value !== 0 && value !== '' && !(Array.isArray(value) && value.length === 0);
  exercised.set(at, (exercised.get(at) ?? false) || set);
  if (Array.isArray(value)) for (const item of value) record(item, `${at}[]`);
  else if (value !== null && typeof value === 'object') {
    const kind = (value as { op?: unknown }).op;
    const base = typeof kind === 'string' ? `${at}<${kind}>` : at;
    for (const [key, member] of Object.entries(value)) record(member, `${base}.${key}`);
  }
}

function checkEcho(t: Test, plan: InitPlan | ExecPlan, what: string): void {
  record(wire(plan), 'plan');
  const r = echo(plan);
  if (r.status !== 0) {
    t.fail(`${what}: the helper rejected the plan: ${r.stderr.trim()}`);
    return;
  }
  t.strictSame(JSON.parse(r.stdout), wire(plan), `${what}: every field read back as sent`);
}

function inputs(spec: Spec, extra: Partial<PlanInputs> = {}): PlanInputs {
  return {
    id: 'contract',
    bundle,
    spec,
    execFifo: '/run/runts/contract/exec.fifo',
    console: null,
    noPivot: false,
    preserveFds: 0,
    hierarchies: HYBRID,
    lastCap: 40,
    hasKcore: true,
    lsm: LSM,
    mountinfo: MOUNTINFO,
    ...extra,
  };
}

/** Validated like `create` validates; null when the config is refused. */
function validSpec(raw: unknown): Spec | null {
  const terminal = (raw as { process?: { terminal?: unknown } }).process?.terminal === true;
  try {
    return validateConfig(raw, { file: 'config.json', detached: true, consoleSocket: terminal ? '/tmp/console.sock' : undefined }).spec;
  } catch {
    return null;
  }
}

/** The plan, or null when buildPlan refuses the config (as create would, with an error). */
function planOf(spec: Spec, extra: Partial<PlanInputs> = {}): InitPlan | null {
  try {
    return buildPlan(inputs(spec, extra)).plan;
  } catch {
    return null;
  }
}

/** The config with the host paths it names made real: namespace paths point at this
 *  process's own (validation opens them), bind sources that do not exist at the bundle. */
function plannable(raw: Record<string, any>): Record<string, any> {
  const config = structuredClone(raw);
  const files: Record<string, string> = { network: 'net', mount: 'mnt' };
  for (const ns of config.linux?.namespaces ?? []) {
    // A joined time namespace takes no offsets; the config has both, so make that one new.
    if (ns.type === 'time') delete ns.path;
    else if (ns.path) ns.path = `/proc/self/ns/${files[ns.type] ?? ns.type}`;
  }
  for (const mount of config.mounts ?? []) if (mount.source?.startsWith('/') && !existsSync(mount.source)) mount.source = bundle;
  return config;
}

/** The every-field config with the values it leaves at their defaults set: mount remounts,
 *  propagation, tmpcopyup, a read-only tmpfs, a shared root, ridmap, a plain bind in the user namespace (its source opened
 *  on the runtime's side), a seccomp notify agent, scheduler priority or nice, exec
 *  CPU affinity; `hostUserns` also drops the user namespace (devices are made, owned by
 *  someone else than root). Namespace joins come from the exec plans. */
function everyFieldSet(hostUserns: boolean): Record<string, any> {
  const config = plannable(everyFieldConfig);
  const ids = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.mounts.push(
    { destination: '/ro', type: 'bind', source: bundle, options: ['rbind', 'ro', 'rprivate'] },
    { destination: '/copied', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] },
    { destination: '/sealed', type: 'tmpfs', source: 'tmpfs', options: ['ro'] },
    { destination: '/ridmapped', type: 'bind', source: bundle, options: ['rbind', 'ridmap'], uidMappings: ids, gidMappings: ids },
  );
  config.linux.seccomp.syscalls.push({ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' });
  config.process.execCPUAffinity = { initial: '0', final: '0-1' };
  config.linux.rootfsPropagation = 'shared';
  if (!hostUserns) {
    config.process.scheduler = { policy: 'SCHED_FIFO', priority: 10 };
    return config;
  }
  config.process.scheduler = { policy: 'SCHED_OTHER', nice: 5 };
  config.linux.namespaces = config.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'user');
  delete config.linux.uidMappings;
  delete config.linux.gidMappings;
  for (const device of config.linux.devices) Object.assign(device, { uid: 1000, gid: 1001 });
  return config;
}

const CGROUP_JOINS: InitPlan['cgroupJoin'][] = [
  null,
  { tasks: [], unified: null },
  {
    tasks: [
      { cgroup: '/runts/contract', file: '/sys/fs/cgroup/cpu/runts/contract/tasks' },
      { cgroup: '/runts/contract', file: '/sys/fs/cgroup/memory/runts/contract/tasks' },
    ],
    unified: { cgroup: '/runts/contract', dir: '/sys/fs/cgroup/unified/runts/contract', fd: 7 },
  },
];

t.test('runts-init --echo-plan only decodes: a bad plan is refused by name, nothing runs', async (t) => {
  const r = spawnSync(initHelperPath, ['--echo-plan'], { input: '{"containerId":"x"}', encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, /^runts-init: invalid init plan: field "rootfs" missing or of the wrong type/);
  t.equal(r.stdout, '');
  const notJson = spawnSync(initHelperPath, ['--echo-plan'], { input: '{', encoding: 'utf8' });
  t.equal(notJson.status, 1);
  t.match(notJson.stderr, /^runts-init: invalid init plan: /);
});

t.test('the every-field config, the runc spec config and their variants read back field by field', async (t) => {
  const configs: [string, unknown][] = [
    ['every-field-config.json', plannable(everyFieldConfig)],
    ['runc-spec-config.json', runcSpecConfig],
    ['every-field-config.json with every default changed', everyFieldSet(false)],
    ['every-field-config.json with every default changed, host user namespace', everyFieldSet(true)],
  ];
  let checked = 0;
  for (const [name, raw] of configs) {
    const spec = validSpec(structuredClone(raw));
    t.ok(spec, `${name} is valid`);
    if (!spec) continue;
    const variants: [string, Partial<PlanInputs>][] = [
      ['defaults', {}],
      ['console socket, --no-pivot, preserved fds', { console: { socketPath: '/tmp/console.sock' }, noPivot: true, preserveFds: 3 }],
      ['console fd', { console: { fd: 5 } }],
    ];
    for (const [variant, extra] of variants) {
      const plan = planOf(spec, extra);
      t.ok(plan, `${name} (${variant}) is planned`);
      if (!plan) continue;
      for (const cgroupJoin of CGROUP_JOINS) {
        checkEcho(t, { ...plan, cgroupJoin }, `${name} (${variant}, cgroupJoin ${JSON.stringify(cgroupJoin)?.slice(0, 30)})`);
        checked++;
      }
      if (plan.process) {
        const execPlan: ExecPlan = {
          mode: 'exec',
          containerId: plan.containerId,
          namespaces: { join: [{ type: 'user', path: '/proc/1/ns/user' }, { type: 'mount', path: '/proc/1/ns/mnt' }] },
          console: extra.console ?? null,
          preserveFds: extra.preserveFds ?? 0,
          process: buildExecProcess(spec, spec.process!, 40, LSM).process,
          cgroupJoin: CGROUP_JOINS[2],
        };
        checkEcho(t, execPlan, `${name} (${variant}) as an exec plan`);
        checked++;
      }
    }
  }
  t.ok(checked >= 20, `${checked} plans checked`);
});

t.test('plans from seeded mutations of the configs read back field by field', async (t) => {
  const rng = new Rng(1);
  const bases = [plannable(everyFieldConfig), runcSpecConfig] as Record<string, any>[];
  const targets = { marker: 'contract-marker', canary: path.join(bundle, 'canary'), id: 'contract' };
  let planned = 0;
  for (let i = 0; i < 400 && planned < 150; i++) {
    const config = structuredClone(rng.pick(bases));
    const m = mutate(rng, config, targets);
    if (m.deep) continue; // a nesting no validator accepts; JSON.stringify would overflow on it
    const spec = validSpec(JSON.parse(serialize(config, m)));
    const plan = spec && planOf(spec);
    if (!plan) continue;
    planned++;
    checkEcho(t, plan, `mutation ${i} (${m.what.slice(0, 80)})`);
  }
  t.ok(planned >= 50, `${planned} mutated configs planned and checked`);
});

t.test('the plans checked set every field of the contract at least once', async (t) => {
  t.ok(exercised.size > 100, `${exercised.size} field paths seen`);
  const neverSet = [...exercised].filter(([, set]) => !set).map(([at]) => at);
  t.same(neverSet, [], 'a field no plan sets is not checked by this test: extend the configs above');
});
