import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import t from 'tap';
import Ajv from 'ajv';
import Ajv04 from 'ajv-draft-04';
import { buildFeatures, featuresText, type Features } from '../../src/features';
import { CLONE_FLAGS } from '../../src/plan/build';
import { CAPABILITY_NUMBERS, capabilityNumbers } from '../../src/plan/capabilities';
import { parseMountOptions } from '../../src/plan/mount-options';
import { MPOL_MODES, planProcessAttrs } from '../../src/plan/process-attrs';
import { actionValue, compileSeccomp } from '../../src/seccomp/compile';
import type { LinuxSeccomp } from '../../src/spec/types';
import { planResourceWrites } from '../../src/cgroups/resources';
import projectConfigSchema from '../../spec-schemas/config.schema.json';
import { bundleCli, runBundle } from '../cli/bundle';
import { RUNTS_BIN, runtimeEnv } from '../lib';

const officialDir = process.env.RUNTIME_SPEC_SCHEMA_DIR ?? path.resolve(__dirname, '../../../shared/runtime-spec-schema');
const noOfficial = fs.existsSync(path.join(officialDir, 'features-schema.json'))
  ? false
  : `official runtime-spec schemas not found in ${officialDir} (set RUNTIME_SPEC_SCHEMA_DIR)`;

const features = buildFeatures();
const defs = projectConfigSchema.definitions;

/** The official features schema, compiled with its sibling files so relative $refs resolve. */
function officialFeaturesValidator() {
  const ajv = new Ajv04({ strict: false });
  for (const file of fs.readdirSync(officialDir).filter((f) => f.endsWith('.json'))) {
    ajv.addSchema(JSON.parse(fs.readFileSync(path.join(officialDir, file), 'utf8')), file);
  }
  const validate = ajv.getSchema('features-schema.json');
  if (!validate) throw new Error(`no features-schema.json in ${officialDir}`);
  return validate;
}

// The project's own check, stricter than the official schema (which allows unknown keys and
// leaves most of the document optional): every field runts emits, no other, and the enum
// values of the project's config schema (spec-schemas/config.schema.json).
const CONFIG_ID = projectConfigSchema.$id;
const bools = (...names: string[]) => ({
  type: 'object',
  required: names,
  additionalProperties: false,
  properties: Object.fromEntries(names.map((n) => [n, { type: 'boolean' }])),
});
const uniqueArrayOf = (items: object) => ({ type: 'array', uniqueItems: true, items });
const projectFeaturesSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['ociVersionMin', 'ociVersionMax', 'hooks', 'mountOptions', 'linux', 'annotations', 'potentiallyUnsafeConfigAnnotations'],
  properties: {
    ociVersionMin: { type: 'string', pattern: '^1\\.\\d+\\.\\d+$' },
    ociVersionMax: { type: 'string', pattern: '^1\\.\\d+\\.\\d+$' },
    hooks: uniqueArrayOf({ enum: Object.keys(defs.Hooks.properties) }),
    mountOptions: uniqueArrayOf({ type: 'string', pattern: '^[a-z]+$' }),
    annotations: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
    potentiallyUnsafeConfigAnnotations: uniqueArrayOf({ type: 'string' }),
    linux: {
      type: 'object',
      additionalProperties: false,
      required: ['namespaces', 'capabilities', 'cgroup', 'seccomp', 'apparmor', 'selinux', 'memoryPolicy', 'intelRdt', 'mountExtensions', 'netDevices'],
      properties: {
        namespaces: uniqueArrayOf({ $ref: `${CONFIG_ID}#/definitions/LinuxNamespaceType` }),
        capabilities: uniqueArrayOf({ type: 'string', pattern: '^CAP_[A-Z_]+$' }),
        cgroup: bools('v1', 'v2', 'systemd', 'systemdUser', 'rdma'),
        seccomp: {
          type: 'object',
          additionalProperties: false,
          required: ['enabled', 'actions', 'operators', 'archs', 'knownFlags', 'supportedFlags'],
          properties: {
            enabled: { type: 'boolean' },
            actions: uniqueArrayOf({ $ref: `${CONFIG_ID}#/definitions/LinuxSeccompAction` }),
            operators: uniqueArrayOf({ $ref: `${CONFIG_ID}#/definitions/LinuxSeccompArg/properties/op` }),
            archs: uniqueArrayOf({ $ref: `${CONFIG_ID}#/definitions/LinuxSeccomp/properties/architectures/items` }),
            knownFlags: uniqueArrayOf({ $ref: `${CONFIG_ID}#/definitions/LinuxSeccomp/properties/flags/items` }),
            supportedFlags: uniqueArrayOf({ $ref: `${CONFIG_ID}#/definitions/LinuxSeccomp/properties/flags/items` }),
          },
        },
        apparmor: bools('enabled'),
        selinux: bools('enabled'),
        memoryPolicy: {
          type: 'object',
          additionalProperties: false,
          required: ['modes', 'flags'],
          properties: {
            modes: uniqueArrayOf({ $ref: `${CONFIG_ID}#/definitions/LinuxMemoryPolicy/properties/mode` }),
            flags: uniqueArrayOf({ $ref: `${CONFIG_ID}#/definitions/LinuxMemoryPolicy/properties/flags/items` }),
          },
        },
        intelRdt: bools('enabled', 'schemata', 'monitoring'),
        mountExtensions: { type: 'object', additionalProperties: false, required: ['idmap'], properties: { idmap: bools('enabled') } },
        netDevices: bools('enabled'),
      },
    },
  },
};

function projectFeaturesValidator() {
  const ajv = new Ajv({ strict: true, allErrors: true });
  ajv.addKeyword('tsType');
  ajv.addSchema(projectConfigSchema);
  return ajv.compile(projectFeaturesSchema);
}

const clone = (doc: Features): any => JSON.parse(JSON.stringify(doc));

t.test('the document validates against the official features schema', { skip: noOfficial }, async (t) => {
  const validate = officialFeaturesValidator();
  t.ok(validate(features), JSON.stringify(validate.errors));
  // The validator is not vacuous: it rejects what the spec forbids.
  const noMax = clone(features);
  delete noMax.ociVersionMax;
  t.notOk(validate(noMax), 'ociVersionMax is required');
  const badNamespace = clone(features);
  badNamespace.linux.namespaces.push('net');
  t.notOk(validate(badNamespace), 'namespace names are the spec enum');
  const badAction = clone(features);
  badAction.linux.seccomp.actions.push('SCMP_ACT_BOGUS');
  t.notOk(validate(badAction), 'seccomp actions are the spec enum');
});

t.test('the document passes the project check: every field, no other, enums of the config schema', async (t) => {
  const validate = projectFeaturesValidator();
  t.ok(validate(features), JSON.stringify(validate.errors));
  const extra = clone(features);
  extra.linux.cgroup.systemd2 = true;
  t.notOk(validate(extra), 'unknown keys are refused');
  const missing = clone(features);
  delete missing.linux.mountExtensions;
  t.notOk(validate(missing), 'mountExtensions is required');
  const duplicate = clone(features);
  duplicate.mountOptions.push(duplicate.mountOptions[0]);
  t.notOk(validate(duplicate), 'lists have no duplicates');
});

t.test('versions: any 1.x config from 1.0.0 up to the spec runts implements', async (t) => {
  t.equal(features.ociVersionMin, '1.0.0');
  t.equal(features.ociVersionMax, '1.3.0');
});

t.test('hooks: every phase of the spec, in lifecycle order', async (t) => {
  t.same(features.hooks, Object.keys(defs.Hooks.properties));
  t.same(features.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
});

t.test('mount options: exactly those parseMountOptions honours', async (t) => {
  // Candidates: what runc knows (its sample output) plus runc's idmap options and two fs options.
  const runcOptions: string[] = noOfficial
    ? []
    : JSON.parse(fs.readFileSync(path.join(officialDir, 'test/features/good/runc.json'), 'utf8')).mountOptions;
  const candidates = new Set([...runcOptions, ...features.mountOptions, 'idmap', 'ridmap', 'tmpcopyup', 'rro', 'rnosuid', 'defaults', 'acl']);
  for (const option of candidates) {
    const parsed = parseMountOptions([option]);
    const honoured = parsed.data === '';
    t.equal(features.mountOptions.includes(option), honoured, `${option}: ${honoured ? 'honoured' : 'not honoured'}`);
  }
  t.same(features.mountOptions, [...features.mountOptions].sort(), 'sorted like runc');
});

t.test('idmapped mounts: honoured options, enabled from Linux 5.12 on', async (t) => {
  t.ok(features.mountOptions.includes('idmap') && features.mountOptions.includes('ridmap'), 'idmap and ridmap are listed');
  t.equal(buildFeatures('6.18.0').linux.mountExtensions.idmap.enabled, true);
  t.equal(buildFeatures('5.12.0').linux.mountExtensions.idmap.enabled, true);
  t.equal(buildFeatures('5.11.22').linux.mountExtensions.idmap.enabled, false, 'no MOUNT_ATTR_IDMAP before 5.12');
  t.equal(buildFeatures('garbage').linux.mountExtensions.idmap.enabled, false);
});

t.test('namespaces: the ones the plan can unshare', async (t) => {
  t.same(features.linux.namespaces, Object.keys(CLONE_FLAGS).sort());
  t.same(features.linux.namespaces, ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts']);
});

t.test('capabilities: every name the plan maps, in kernel order', async (t) => {
  t.same(features.linux.capabilities.map((name) => CAPABILITY_NUMBERS[name]), [...Array(Object.keys(CAPABILITY_NUMBERS).length).keys()]);
  const mapped = capabilityNumbers(features.linux.capabilities, Infinity);
  t.same(mapped.unknown, []);
  t.equal(features.linux.capabilities.length, Object.keys(CAPABILITY_NUMBERS).length);
});

t.test('seccomp: the actions, operators, archs and flags the compiler implements', async (t) => {
  const seccomp = features.linux.seccomp;
  t.equal(seccomp.enabled, true);

  for (const action of defs.LinuxSeccompAction.enum) {
    let accepted = true;
    try {
      actionValue(action, undefined);
    } catch {
      accepted = false;
    }
    t.equal(seccomp.actions.includes(action), accepted, `action ${action}`);
  }
  t.notOk(seccomp.actions.includes('SCMP_ACT_BOGUS'));

  for (const op of defs.LinuxSeccompArg.properties.op.enum) {
    const config = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op }] }] } as LinuxSeccomp;
    let compiled = true;
    try {
      compileSeccomp(config);
    } catch {
      compiled = false;
    }
    t.equal(seccomp.operators.includes(op), compiled, `operator ${op}`);
  }

  for (const arch of defs.LinuxSeccomp.properties.architectures.items.enum) {
    const config = { defaultAction: 'SCMP_ACT_ALLOW', architectures: [arch], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO' }] } as LinuxSeccomp;
    let filtered = true;
    try {
      // An arch without a syscall table is accepted but skipped, with a note naming it.
      filtered = !compileSeccomp(config).notes.some((note) => note.includes(arch));
    } catch {
      filtered = false;
    }
    t.equal(seccomp.archs.includes(arch), filtered, `arch ${arch}`);
  }

  for (const flag of defs.LinuxSeccomp.properties.flags.items.enum) {
    // A notify rule, so that WAIT_KILLABLE_RECV has the listener it needs.
    const config = {
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: '/run/agent.sock',
      flags: [flag],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
    } as LinuxSeccomp;
    let accepted = true;
    try {
      compileSeccomp(config);
    } catch {
      accepted = false;
    }
    t.equal(seccomp.knownFlags.includes(flag), accepted, `flag ${flag}`);
  }
});

t.test('seccomp supportedFlags follow the kernel release', async (t) => {
  const supported = (release: string) => buildFeatures(release).linux.seccomp.supportedFlags;
  t.same(supported('6.18.44-fc-v657'), features.linux.seccomp.knownFlags, 'a new kernel supports every known flag');
  t.same(supported('5.4.0-150-generic'), ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW']);
  t.same(supported('4.14.1'), ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG']);
  t.same(supported('not-a-release'), ['SECCOMP_FILTER_FLAG_TSYNC'], 'TSYNC is ignored, so always usable');
});

t.test('cgroup: cgroupfs v1 and v2 with rdma, the systemd driver as root (not a user systemd)', async (t) => {
  t.same(features.linux.cgroup, { v1: true, v2: true, systemd: true, systemdUser: false, rdma: true });
  const rdma = { rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } } };
  const none = new Set<string>();
  for (const [version, avail] of [
    [1, { v1: new Set(['rdma']), v2: none, v2Mounted: false }],
    [2, { v1: none, v2: new Set(['rdma']), v2Mounted: true }],
  ] as const) {
    const writes = planResourceWrites(rdma, avail);
    t.match(writes, [{ controller: 'rdma', version, writes: [{ file: 'rdma.max', value: 'mlx5_1 hca_handle=3 hca_object=10000' }] }], `rdma on cgroup v${version}`);
  }
});

t.test('memory policy: every mode and flag the plan maps, as far as the kernel takes them', async (t) => {
  const all = (release: string) => buildFeatures(release).linux.memoryPolicy;
  t.same(all('6.18.0'), {
    modes: ['MPOL_BIND', 'MPOL_DEFAULT', 'MPOL_INTERLEAVE', 'MPOL_LOCAL', 'MPOL_PREFERRED', 'MPOL_PREFERRED_MANY', 'MPOL_WEIGHTED_INTERLEAVE'],
    flags: ['MPOL_F_NUMA_BALANCING', 'MPOL_F_RELATIVE_NODES', 'MPOL_F_STATIC_NODES'],
  });
  t.same([...all('6.18.0').modes].sort(), Object.keys(MPOL_MODES).sort(), 'exactly the modes planProcessAttrs maps');
  t.same(all('5.10.0'), { modes: ['MPOL_BIND', 'MPOL_DEFAULT', 'MPOL_INTERLEAVE', 'MPOL_LOCAL', 'MPOL_PREFERRED'], flags: ['MPOL_F_RELATIVE_NODES', 'MPOL_F_STATIC_NODES'] });
  for (const mode of all('6.18.0').modes) {
    const nodes = mode === 'MPOL_DEFAULT' || mode === 'MPOL_LOCAL' ? undefined : '0';
    t.doesNotThrow(() => planProcessAttrs({ cwd: '/' }, { memoryPolicy: { mode: mode as 'MPOL_BIND', nodes } }, () => ({ apparmor: false, selinux: false })), mode);
  }
});

t.test('LSMs: supported (applied where the host runs them), like runc reports them', async (t) => {
  t.same(features.linux.apparmor, { enabled: true });
  t.same(features.linux.selinux, { enabled: true });
  const labels = planProcessAttrs({ cwd: '/', apparmorProfile: 'p', selinuxLabel: 'l' }, {}, () => ({ apparmor: true, selinux: true }));
  t.match(labels, { apparmorProfile: 'p', selinuxLabel: 'l' });
});

t.test('no behaviour-changing annotations', async (t) => {
  t.same(features.potentiallyUnsafeConfigAnnotations, []);
  t.same(Object.keys(features.annotations), ['io.github.runts.commit', 'io.github.runts.libseccomp.version', 'io.github.runts.version']);
  t.equal(features.annotations['io.github.runts.libseccomp.version'], 'none (BPF compiled in TypeScript)');
});

t.test('linux.netDevices and linux.intelRdt are supported, as runc reports them', async (t) => {
  t.same(features.linux.netDevices, { enabled: true });
  t.same(features.linux.intelRdt, { enabled: true, schemata: true, monitoring: true });
});

t.test('runts features prints the document on stdout, without loading the addon', async (t) => {
  const { file, cleanup } = await bundleCli('feature-commit');
  t.teardown(cleanup);
  // Any attempt to load a native module fails the command.
  const noAddon = path.join(path.dirname(file), 'no-addon.js');
  fs.writeFileSync(noAddon, "process.dlopen = () => { throw new Error('features must not load the addon'); };\n");

  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', noAddon, file, 'features'], { encoding: 'utf8' });
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stderr, '');
  t.equal(r.stdout, featuresText().replace('"io.github.runts.commit": "unknown"', '"io.github.runts.commit": "feature-commit"'));
  t.match(r.stdout, /^\{\n {4}"ociVersionMin": "1\.0\.0",\n/, 'indented like runc');
  t.ok(elapsedMs < 3000, `took ${Math.round(elapsedMs)} ms`);

  const extra = runBundle(file, ['features', 'extra']);
  t.equal(extra.status, 1);
  t.match(extra.stderr, /unexpected argument \\"extra\\" \(usage: runts features\)/);
});

t.test('bin/runts features', { skip: fs.existsSync(RUNTS_BIN) ? false : `${RUNTS_BIN} is not built` }, async (t) => {
  const r = spawnSync(RUNTS_BIN, ['features'], { encoding: 'utf8', env: runtimeEnv() });
  t.equal(r.status, 0, r.stderr);
  const printed = JSON.parse(r.stdout);
  delete printed.annotations['io.github.runts.commit'];
  const expected = clone(features);
  delete expected.annotations['io.github.runts.commit'];
  t.same(printed, expected);
});
