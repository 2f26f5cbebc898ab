// `runts validate`'s engine in process: every error at once, each with its pointer, through
// create's own checks; the report matches its documented schema; the schema oracle's bad
// fixtures and the fuzzer's hostile configs.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import Ajv from 'ajv';
import * as os from 'node:os';
import { chooseJoinMethod } from '../../src/cgroups/join';
import { hostHierarchies } from '../../src/cgroups/hierarchy';
import { buildFeatures } from '../../src/features';
import { hostLsm } from '../../src/plan/process-attrs';
import { validateConfig } from '../../src/spec/validate';
import { pointerInMessage, validateBundle, type ValidateRequest } from '../../src/validate/engine';
import type { Finding } from '../../src/validate/report';
import reportSchema from '../../src/validate/validate-report.schema.json';
import { fuzzSeed, mutate, Rng, serialize, type FuzzTargets } from '../fuzz/mutate';
import { makeBundle, tempDir, type BundleConfig } from '../lib';
import runcSpecConfig from '../spec/data/runc-spec-config.json';

const checkReport = new Ajv({ strict: true }).compile(reportSchema);

async function bundleWith(t: Test, edit: (c: BundleConfig) => void = () => {}): Promise<string> {
  return (await makeBundle(tempDir(t, 'bundle'), { args: ['true'], config: edit })).bundle;
}

function validate(bundle: string, more: Partial<ValidateRequest> = {}) {
  const { report, preparation } = validateBundle({ bundle, host: false, id: 'validate-test', root: '/run/runts-validate-test', systemdCgroup: false, ...more });
  if (!checkReport(report)) throw new Error(`report does not match validate-report.schema.json: ${JSON.stringify(checkReport.errors)}`);
  return { report, preparation };
}

const errorsOf = (findings: Finding[]) => findings.filter((f) => f.severity === 'error').map((f) => [f.stage, f.pointer, f.message]);

t.test('every semantic error at once, each with its pointer; create still stops at the first', async (t) => {
  const bundle = await bundleWith(t, (c) => {
    c.process!.cwd = 'relative';
    c.process!.rlimits = [
      { type: 'RLIMIT_BOGUS', soft: 1, hard: 1 },
      { type: 'RLIMIT_NOFILE', soft: 5, hard: 1 },
    ];
    c.linux!.sysctl = { 'kernel.panic': '1', 'vm.swappiness': '2' };
    c.hooks = { prestart: [{ path: 'relative-hook' }] };
    c.mounts.push({ destination: 'relative/dir', type: 'tmpfs', source: 'tmpfs' });
  });
  const { report, preparation } = validate(bundle);
  t.equal(report.valid, false);
  t.equal(preparation, undefined, 'no plan for an invalid config');
  t.same(errorsOf(report.findings), [
    ['semantic', '/linux/sysctl/kernel.panic', 'sysctl "kernel.panic" is not namespaced, so a container may not set it'],
    ['semantic', '/linux/sysctl/vm.swappiness', 'sysctl "vm.swappiness" is not namespaced, so a container may not set it'],
    ['semantic', '/process/cwd', 'must be an absolute path'],
    ['semantic', '/process/rlimits/0/type', 'unknown rlimit "RLIMIT_BOGUS"'],
    ['semantic', '/process/rlimits/1', 'soft limit 5 exceeds hard limit 1'],
    ['semantic', '/hooks/prestart/0/path', 'must be an absolute path'],
  ]);
  t.match(report.findings.find((f) => f.pointer === '/process/cwd'), { level: 'MUST', found: '"relative"' });
  t.match(
    report.findings.filter((f) => f.severity === 'warning'),
    [{ level: 'SHOULD', pointer: /^\/mounts\/\d+\/destination$/, message: /relative destination "relative\/dir" is deprecated/ }],
  );
  t.equal(report.errors, 6);
  t.equal(report.warnings, 1);
  // create's path is unchanged: the first failure, thrown.
  const config = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  t.throws(() => validateConfig(config, { file: 'config.json', detached: false }), { name: 'SpecError', message: 'config.json: /linux/sysctl/kernel.panic: sysctl "kernel.panic" is not namespaced, so a container may not set it' });
});

t.test('every schema error at once; the semantic checks wait for a schema-valid config', async (t) => {
  const bundle = await bundleWith(t, (c) => {
    c.process!.cwd = 5;
    c.hostname = 7;
    c.linux!.namespaces[0].type = 'bogus';
    c.linux!.sysctl = { 'kernel.panic': '1' };
  });
  const { report } = validate(bundle);
  t.same(
    errorsOf(report.findings).sort(),
    [
      ['schema', '/hostname', 'must be string'],
      ['schema', '/linux/namespaces/0/type', 'must be one of "mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time"'],
      ['schema', '/process/cwd', 'must be string'],
    ].sort(),
  );
  t.match(report.findings.find((f) => f.pointer === '/hostname'), { found: '7' });
});

t.test('unreadable and unparsable config.json: one error, no pointer', async (t) => {
  const dir = tempDir(t, 'empty');
  let { report } = validate(dir);
  t.match(report, { valid: false, errors: 1, findings: [{ stage: 'config', pointer: null, message: `open ${dir}/config.json: no such file or directory` }] });
  writeFileSync(path.join(dir, 'config.json'), '{]');
  ({ report } = validate(dir));
  t.match(report.findings, [{ stage: 'config', pointer: null, message: /^config\.json: invalid JSON: / }]);
});

t.test("runc spec's config, and a valid config with create's preparation and plan", async (t) => {
  const bundle = await bundleWith(t, (c) => {
    Object.assign(c, structuredClone(runcSpecConfig), { root: c.root });
    c.process!.args = ['true'];
  });
  const { report, preparation } = validate(bundle);
  t.same(report.findings, [], JSON.stringify(report.findings));
  t.equal(report.valid, true);
  t.ok(preparation?.plan.rootfsOps.length, 'the plan create would execute');
  const host = validate(bundle, { host: true }).report;
  t.match(host, { host: true, valid: true, errors: 0 });
});

t.test("create's own refusals are errors too, at the field they name", async (t) => {
  const bundle = await bundleWith(t, (c) => {
    c.mounts.push({ destination: '/x', type: 'tmpfs', source: 'tmpfs', options: ['rbind', 'idmap'] });
  });
  const index = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')).mounts.length - 1;
  const { report } = validate(bundle);
  t.same(errorsOf(report.findings), [['create', `/mounts/${index}`, 'id-mapped mounts must have both uid and gid mappings specified']]);
});

t.test("pointers in the messages of create's other checks", async (t) => {
  t.same(pointerInMessage('config.json: /linux/netDevices/eth0: invalid network device name'), { pointer: '/linux/netDevices/eth0', rest: 'invalid network device name' });
  t.same(pointerInMessage('linux.resources.memory.swap: must be at least the limit'), { pointer: '/linux/resources/memory/swap', rest: 'must be at least the limit' });
  t.same(pointerInMessage('process.rlimits: RLIMIT_NOFILE hard limit 5 is above'), { pointer: '/process/rlimits', rest: 'RLIMIT_NOFILE hard limit 5 is above' });
  t.same(pointerInMessage('mounts: /b: bad', { mounts: [{ destination: '/a' }, { destination: '/b' }] }), { pointer: '/mounts/1', rest: 'bad' });
  t.same(pointerInMessage('no cgroup hierarchy is mounted on this host'), { pointer: null, rest: 'no cgroup hierarchy is mounted on this host' });
});

// The bad config fixtures of the upstream schema tests, and the field each is bad in.
const BAD_FIXTURE_POINTERS: Record<string, string | null> = {
  'invalid-json.json': null,
  'linux-hugepage.json': '/linux/resources/hugepageLimits/0/pageSize',
  'linux-netdevice.json': '/linux/netDevices/eth0/name',
  'linux-rdma.json': '/linux/resources/rdma/mlx5_1/hcaHandles',
  'freebsd-vnet-disable.json': '/freebsd/jail/vnet',
};
const officialDir = process.env.RUNTIME_SPEC_SCHEMA_DIR ?? path.resolve(__dirname, '../../../shared/runtime-spec-schema');
const badDir = path.join(officialDir, 'test', 'config', 'bad');

t.test('every bad fixture of the schema oracle: at least one error, at the field that is bad', { skip: existsSync(badDir) ? false : `no schema fixtures in ${badDir} (set RUNTIME_SPEC_SCHEMA_DIR)` }, async (t) => {
  for (const file of readdirSync(badDir).filter((f) => f.endsWith('.json'))) {
    const dir = tempDir(t, 'bad');
    writeFileSync(path.join(dir, 'config.json'), readFileSync(path.join(badDir, file)));
    const { report } = validate(dir);
    t.equal(report.valid, false, `${file}: not valid`);
    t.ok(Object.hasOwn(BAD_FIXTURE_POINTERS, file), `${file}: its bad field is listed here`);
    t.ok(
      report.findings.some((f) => f.severity === 'error' && f.pointer === BAD_FIXTURE_POINTERS[file]),
      `${file}: an error at ${BAD_FIXTURE_POINTERS[file]}: ${JSON.stringify(report.findings)}`,
    );
  }
});

t.test("the fuzzer's hostile configs: validate never throws and refuses with messages", async (t) => {
  const seed = fuzzSeed();
  const rng = new Rng(seed);
  const made = await makeBundle(tempDir(t, 'fuzz'), { args: ['true'] });
  const base = JSON.parse(readFileSync(made.configPath, 'utf8'));
  const targets: FuzzTargets = { marker: `validatemark-${process.pid}`, canary: path.join(tempDir(t, 'canary'), 'canary'), id: 'validate-fuzz' };
  const deadline = Date.now() + 10_000;
  let cases = 0;
  let refused = 0;
  for (; Date.now() < deadline; cases++) {
    const config = structuredClone(base);
    const m = mutate(rng, config, targets);
    writeFileSync(made.configPath, serialize(config, m));
    const started = Date.now();
    let result;
    try {
      result = validate(made.bundle).report;
    } catch (err) {
      t.fail(`seed ${seed} case ${cases} (${m.what}): validate threw ${(err as Error).stack}`);
      break;
    }
    if (Date.now() - started > 5_000) t.fail(`seed ${seed} case ${cases} (${m.what}): took ${Date.now() - started} ms`);
    const bug = result.findings.find((f) => /^unexpected /.test(f.message));
    if (bug) t.fail(`seed ${seed} case ${cases} (${m.what}): ${bug.message}`);
    if (!result.valid) {
      refused++;
      if (!result.findings.some((f) => f.severity === 'error' && f.message.length > 0)) t.fail(`seed ${seed} case ${cases}: refused without a message`);
    }
  }
  t.ok(cases > 50, `${cases} cases, ${refused} refused (seed ${seed})`);
  t.notOk(existsSync(targets.canary), 'nothing made outside the bundle');
});

t.test('--host: every LSM label this host cannot apply at its pointer, where create names the first without one', async (t) => {
  const lsm = hostLsm();
  if (lsm.apparmor || lsm.selinux) return t.plan(0, `this host runs ${lsm.apparmor ? 'AppArmor' : 'SELinux'}: the labels could apply here`);
  const bundle = await bundleWith(t, (c) => {
    c.process!.apparmorProfile = 'runts-default';
    c.process!.selinuxLabel = 'system_u:system_r:container_t:s0';
    c.linux!.mountLabel = 'system_u:object_r:container_file_t:s0';
  });
  t.same(errorsOf(validate(bundle).report.findings), [['create', null, 'selinux mount label is specified in config, but selinux is disabled or not supported']], 'without --host: create\'s first refusal, no field named');
  t.same(errorsOf(validate(bundle, { host: true }).report.findings), [
    ['host', '/process/apparmorProfile', 'unable to apply apparmor profile "runts-default": apparmor is disabled or not supported on this host'],
    ['host', '/process/selinuxLabel', 'selinux label is specified in config, but selinux is disabled or not supported'],
    ['host', '/linux/mountLabel', 'selinux mount label is specified in config, but selinux is disabled or not supported'],
  ], 'with --host: all three, each at its pointer, create\'s same refusal not repeated');
});

t.test('--host: the host facts create adapts to, each as the module that decides it for create says', async (t) => {
  const bundle = await bundleWith(t);
  const { hostFacts } = validate(bundle, { host: true }).report;
  const hierarchies = hostHierarchies();
  const unified = hierarchies.find((h) => h.fstype === 'cgroup2');
  t.match(hostFacts, {
    kernel: os.release(),
    cgroups: {
      layout: unified ? (hierarchies.length === 1 ? 'v2' : 'hybrid') : 'v1',
      driver: 'cgroupfs',
      systemd: existsSync('/run/systemd/system'),
      controllers: { v1: hierarchies.filter((h) => h.fstype === 'cgroup').flatMap((h) => h.subsystems).filter((s) => !s.startsWith('name=')) },
      join: chooseJoinMethod({ systemd: false, rootless: process.geteuid?.() !== 0, unified: unified !== undefined, userns: false, kernelRelease: os.release() }),
    },
    timeNamespaces: existsSync('/proc/self/ns/time'),
    idmappedMounts: buildFeatures(os.release()).linux.mountExtensions.idmap.enabled,
    seccompFlags: buildFeatures(os.release()).linux.seccomp.supportedFlags,
    lsm: hostLsm(),
    rootless: { euid: process.geteuid?.() !== 0 },
  });
  t.equal(validate(bundle).report.hostFacts, undefined, 'only with --host');
});

t.test('--host: root.path "/" with a cgroup mount on a v1 host, which create (and runc 1.1.5) fail at the first cgroup bind', async (t) => {
  if (!hostHierarchies().some((h) => h.fstype === 'cgroup')) return t.plan(0, 'no v1 hierarchy here: a cgroup mount binds no cgroup directory');
  const bundle = await bundleWith(t, (c) => {
    c.root = { path: '/', readonly: true };
    if (!c.mounts.some((m: { type: string }) => m.type === 'cgroup')) c.mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'ro'] });
  });
  const index = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')).mounts.findIndex((m: { type: string }) => m.type === 'cgroup');
  t.same(errorsOf(validate(bundle).report.findings), [], 'not a config error');
  t.match(errorsOf(validate(bundle, { host: true }).report.findings), [['host', `/mounts/${index}`, /^the bind source \/sys\/fs\/cgroup\/\S+ is hidden by the tmpfs mounted on \/sys\/fs\/cgroup before it/]]);
});

t.test('--host: no procfs at /proc once the mounts are made (no proc mount, a rootfs without one)', async (t) => {
  const bundle = await bundleWith(t, (c) => {
    c.mounts = c.mounts.filter((m: { type: string }) => m.type !== 'proc');
  });
  t.same(errorsOf(validate(bundle).report.findings), [], 'not a config error: root.path "/" would have one');
  t.match(errorsOf(validate(bundle, { host: true }).report.findings), [['host', '/mounts', /^no mount puts a procfs on \/proc, and \S+\/rootfs\/proc is none: /]]);
});
