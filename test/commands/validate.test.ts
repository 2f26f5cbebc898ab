// `runts validate` and `runts explain` through bin/runts: exit status, text and JSON output
// against their documented schemas, --help; explain creates nothing.
import t, { type Test } from 'tap';
import Ajv from 'ajv';
import explainSchema from '../../src/validate/explain.schema.json';
import reportSchema from '../../src/validate/validate-report.schema.json';
import { leakGuard, makeBundle, OWN_RUNTS, requireRoot, runts as runtsAny, runtsRoot, tempDir, type BundleConfig } from '../lib';

/** validate and explain are runts's own: this checkout's bin/runts even under RUNTS_BIN=runc. */
const runts = (args: string[]) => runtsAny(args, { wrap: OWN_RUNTS });

const ajv = new Ajv({ strict: true });
const checkReport = ajv.compile(reportSchema);
const checkExplanation = ajv.compile(explainSchema);

async function bundleWith(t: Test, edit: (c: BundleConfig) => void = () => {}): Promise<string> {
  return (await makeBundle(tempDir(t, 'bundle'), { args: ['true'], config: edit })).bundle;
}

t.test('validate: exit 0 and a summary for a good config, 1 and every error for a bad one', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const good = await bundleWith(t);
  let r = await runts(['--root', runtsRoot(t), 'validate', '-b', good]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `${good}/config.json: valid: 0 errors, 0 warnings\n`);
  r = await runts(['--root', runtsRoot(t), 'validate', '--host', '--bundle', good]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /valid, and this host can run it: 0 errors/);
  t.match(r.stdout, /^host: kernel \S+\n  cgroups +(v1|v2|hybrid), cgroupfs driver, systemd (not )?running\n  controllers +v1: .*; v2: .*\n  cgroup join +by (the init helper|runts)/, 'the host block first');
  r = await runts(['--root', runtsRoot(t), 'validate', '--host', '--bundle', good, '--format', 'json']);
  const hostReport = JSON.parse(r.stdout);
  t.ok(checkReport(hostReport), `--host JSON matches validate-report.schema.json: ${JSON.stringify(checkReport.errors)}`);
  t.match(hostReport, { host: true, hostFacts: { cgroups: { driver: 'cgroupfs' }, rootless: { euid: false } } });
  r = await runts(['--root', runtsRoot(t), 'validate', '--bundle', good, '--format', 'json']);
  t.notOk('hostFacts' in JSON.parse(r.stdout), 'no host facts without --host');

  const bad = await bundleWith(t, (c) => {
    c.process!.cwd = 'relative';
    c.hooks = { poststop: [{ path: 'relative-hook' }] };
  });
  r = await runts(['--root', runtsRoot(t), 'validate', '-b', bad]);
  t.equal(r.code, 1);
  t.equal(r.stderr, '', 'the report goes to stdout');
  t.match(r.stdout, /^error   MUST   semantic \/process\/cwd: must be an absolute path \(found: "relative"\)$/m);
  t.match(r.stdout, /^error   MUST   semantic \/hooks\/poststop\/0\/path: must be an absolute path/m);
  t.match(r.stdout, /not valid: 2 errors, 0 warnings\n$/);

  r = await runts(['--root', runtsRoot(t), 'validate', '-b', bad, '--format', 'json']);
  t.equal(r.code, 1);
  const report = JSON.parse(r.stdout);
  t.ok(checkReport(report), `matches validate-report.schema.json: ${JSON.stringify(checkReport.errors)}`);
  t.match(report, { reportVersion: 1, valid: false, errors: 2, findings: [{ pointer: '/process/cwd' }, { pointer: '/hooks/poststop/0/path' }] });
});

t.test('validate and explain: usage errors and --help', async (t) => {
  let r = await runts(['validate', '--format', 'yaml']);
  t.equal(r.code, 1);
  t.match(r.stderr, /invalid --format \\"yaml\\": want text or json/);
  for (const command of ['validate', 'explain']) {
    r = await runts([command, '--help']);
    t.equal(r.code, 0, `${command} --help`);
    t.match(r.stdout, /--bundle/);
    t.match(r.stdout, /--format/);
  }
  t.match((await runts(['validate', '--help'])).stdout, /--host/);
  t.match((await runts(['--help'])).stdout, /validate[\s\S]*explain/, 'both listed in the top-level help');
});

t.test('explain: the plan as JSON (documented schema) and as text, creating nothing', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const bundle = await bundleWith(t, (c) => {
    c.linux!.resources = { pids: { limit: 64 }, memory: { limit: 64 << 20 } };
    c.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
    c.hooks = { prestart: [{ path: '/bin/true' }], poststop: [{ path: '/bin/true', args: ['true', 'bye'] }] };
    c.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }];
    c.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['mount', 'umount2'], action: 'SCMP_ACT_ERRNO' }] };
  });
  const state = runtsRoot(t);
  let r = await runts(['--root', state, 'explain', '-b', bundle, '--format', 'json', 'my-box']);
  t.equal(r.code, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  t.ok(checkExplanation(e), `matches explain.schema.json: ${JSON.stringify(checkExplanation.errors)}`);
  t.equal(e.containerId, 'my-box');
  t.same(e.plan.sysctl, [['net.ipv4.ip_forward', '1']]);
  t.ok(e.plan.rootfsOps.some((op: { op: string; target?: string; fstype?: string }) => op.op === 'mount' && op.target === '/proc' && op.fstype === 'proc'));
  const pids = e.cgroups.writes.find((w: { file: string }) => w.file === 'pids.max');
  t.match(pids, { value: '64', field: 'linux.resources.pids.limit', dir: /\/my-box$/ });
  t.same(e.hooks.prestart.map((h: { path: string }) => h.path), ['/bin/true']);
  t.ok(e.cgroups.devices.v1Writes.some((w: { file: string; value: string }) => w.file === 'devices.allow' && w.value === 'c 1:3 rwm'), 'the default device rules (hybrid host: v1 devices)');
  t.equal(e.idMappings, null, 'no user namespace, no id maps');
  t.same(e.seccomp, { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], flags: [], listenerPath: null, rules: { SCMP_ACT_ERRNO: ['mount', 'umount2'] } });

  r = await runts(['--root', state, 'explain', '-b', bundle]);
  t.equal(r.code, 0, r.stderr);
  for (const section of ['namespaces:', 'rootfs steps (in order):', 'masked paths:', 'sysctl:', 'cgroups (cgroupfs):', 'process:', 'capabilities:', 'rlimits:', 'seccomp:', 'hooks:']) {
    t.match(r.stdout, new RegExp(`^${section.replace(/[()]/g, '\\$&')}$`, 'm'), section);
  }
  t.match(r.stdout, /^ {2}write \S+\/CONTAINER_ID\/pids\.max +64 +linux\.resources\.pids\.limit$/m);
  t.match(r.stdout, /^ {2}RLIMIT_NOFILE +soft 100 +hard 200$/m);
  t.match(r.stdout, /^ {2}poststop +\/bin\/true bye$/m);
  t.match(r.stdout, /^ {2}SCMP_ACT_ERRNO +2 syscalls$/m);
  t.same((await runts(['--root', state, 'list', '-q'])).stdout, '', 'no container was created');
});

t.test('explain: the id maps of a new user namespace', async (t) => {
  if (!requireRoot(t)) return;
  const bundle = await bundleWith(t, (c) => {
    c.linux!.namespaces.push({ type: 'user' });
    c.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  });
  let r = await runts(['--root', runtsRoot(t), 'explain', '-b', bundle, '--format', 'json']);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.same(JSON.parse(r.stdout).idMappings, { uid: [{ containerID: 0, hostID: 100000, size: 65536 }], gid: [{ containerID: 0, hostID: 200000, size: 65536 }] });
  r = await runts(['--root', runtsRoot(t), 'explain', '-b', bundle]);
  t.match(r.stdout, /^id maps:\n {2}uid +container 0 → host 100000 +size 65536\n {2}gid +container 0 → host 200000 +size 65536$/m);
});

t.test('explain on a config that does not validate prints the report, exit 1', async (t) => {
  const bundle = await bundleWith(t, (c) => {
    c.process!.cwd = 'relative';
  });
  const r = await runts(['explain', '-b', bundle]);
  t.equal(r.code, 1);
  t.match(r.stdout, /\/process\/cwd: must be an absolute path/);
});

t.test("validate reads config.json as create does: podman's fileMode with the file-type bits is accepted", async (t) => {
  if (!requireRoot(t)) return;
  const bundle = await bundleWith(t, (c) => {
    c.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o20666, uid: 0, gid: 0 }];
  });
  const r = await runts(['--root', runtsRoot(t), 'validate', '-b', bundle]);
  t.equal(r.code, 0, r.stdout);
});
