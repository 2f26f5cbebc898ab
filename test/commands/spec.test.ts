import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { defaultSpec } from '../../src/commands/spec';
import { bundleCli, runBundle } from '../cli/bundle';

t.test('the default config matches runc spec, minus linux.resources', async (t) => {
  const spec = defaultSpec(false);
  t.equal(spec.ociVersion, '1.3.0');
  t.same(spec.process.args, ['sh']);
  t.equal(spec.process.terminal, true);
  t.same(spec.process.capabilities.bounding, ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
  t.same(spec.process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
  t.same(spec.root, { path: 'rootfs', readonly: true });
  t.same(spec.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
  t.same(spec.linux.namespaces.map((n) => n.type), ['pid', 'network', 'ipc', 'uts', 'mount']);
  t.notOk('resources' in spec.linux);
  t.notOk('uidMappings' in spec.linux);
  t.ok(spec.linux.maskedPaths.includes('/proc/kcore'));
  t.ok(spec.linux.readonlyPaths.includes('/proc/sys'));
});

t.test('the rootless config: user namespace, no network namespace, host /sys bound', async (t) => {
  const spec = defaultSpec(true, { uid: 1000, gid: 1001 });
  t.same(spec.linux.namespaces.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'user']);
  t.same(spec.linux.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
  t.same(spec.linux.gidMappings, [{ containerID: 0, hostID: 1001, size: 1 }]);
  t.same(spec.mounts.find((m) => m.destination === '/sys'), { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
  t.notOk(spec.mounts.find((m) => m.destination === '/dev/pts')!.options!.includes('gid=5'));
});

t.test('runts spec writes config.json, refuses to overwrite it', async (t) => {
  const { file, cleanup } = await bundleCli();
  t.teardown(cleanup);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-spec-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const inCwd = runBundle(file, ['spec'], { cwd: tmp });
  t.equal(inCwd.status, 0, inCwd.stderr);
  t.equal(inCwd.stdout, '');
  const written = fs.readFileSync(path.join(tmp, 'config.json'), 'utf8');
  t.same(JSON.parse(written), defaultSpec(false));
  t.match(written, /^\{\n\t"ociVersion": "1.3.0",\n\t"process": \{/, 'tab-indented like runc');

  const again = runBundle(file, ['spec'], { cwd: tmp });
  t.equal(again.status, 1);
  t.match(again.stderr, /File config.json exists. Remove it first/);

  fs.mkdirSync(path.join(tmp, 'rl'));
  for (const args of [['spec', '--rootless', '-b', 'rl'], ['spec', '--bundle=rl', '--rootless']]) {
    fs.rmSync(path.join(tmp, 'rl', 'config.json'), { force: true });
    const r = runBundle(file, args, { cwd: tmp });
    t.equal(r.status, 0, r.stderr);
    const spec = JSON.parse(fs.readFileSync(path.join(tmp, 'rl', 'config.json'), 'utf8'));
    t.ok(spec.linux.namespaces.some((n: { type: string }) => n.type === 'user'), args.join(' '));
  }

  const missing = runBundle(file, ['spec', '-b', path.join(tmp, 'nope')]);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /stat \S+\/nope: no such file or directory/);
});

t.test('spec --rootless is runc spec --rootless, but for the hostname and ociVersion', async (t) => {
  const runc = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => fs.existsSync(p));
  if (!runc) return t.plan(0, 'runc is not installed (package runc)');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-spec-runc-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  execFileSync(runc, ['spec', '--rootless', '--bundle', tmp]);
  const theirs = JSON.parse(fs.readFileSync(path.join(tmp, 'config.json'), 'utf8'));
  const ours = defaultSpec(true, { uid: process.geteuid!(), gid: process.getegid!() });
  t.same({ ...ours, hostname: theirs.hostname, ociVersion: theirs.ociVersion }, theirs);
});
