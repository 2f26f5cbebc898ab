// Security rules about paths inside the rootfs (SECURITY.md 6, 7, 8, 9): symlinks in the
// image never lead a mount, a mkdir or a mknod onto the host (CVE-2021-30465, CVE-2024-45310,
// CVE-2026-41579), proc must be real procfs before anything is written to it (CVE-2019-16884,
// CVE-2019-19921), and masking uses only a verified /dev/null and never follows the image's
// symlinks (CVE-2025-31133).
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { makeBundle, requireRoot, tempDir, uniqueId, type BundleConfig } from '../lib';
import { listTree, setup } from '../fixtures/security/helpers';

type Mount = { destination: string; type?: string; source?: string; options?: string[] };

/** An empty host directory the image's symlinks point at: it must stay empty. */
function hostTarget(t: Test, label: string): string {
  return tempDir(t, label);
}

/** Mount points (field 5 of mountinfo) a container printed with `cat /proc/self/mountinfo`. */
const mountPoints = (mountinfo: string) =>
  mountinfo
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]);

t.test('rule 6: mount destinations through image symlinks land inside the rootfs, never on the host', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const target = hostTarget(t, 'host-target');
  const bindSource = tempDir(t, 'bind-source');
  fs.writeFileSync(path.join(bindSource, 'BIND-SOURCE'), '');
  const { bundle, rootfs } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'cat /proc/self/mountinfo; ls /mnt/abs/x /mnt/rel/y'],
    config: (config: BundleConfig) => {
      config.mounts.push(
        { destination: '/mnt/abs/x', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] },
        { destination: '/mnt/rel/y', type: 'bind', source: bindSource, options: ['rbind', 'ro'] },
      );
    },
  });
  fs.mkdirSync(path.join(rootfs, 'mnt'));
  fs.symlinkSync(target, path.join(rootfs, 'mnt', 'abs')); // absolute: the host path
  fs.symlinkSync(`../../../../../../../../../..${target}`, path.join(rootfs, 'mnt', 'rel')); // climbs out with ..

  const run = await rt('run', '--bundle', bundle, uniqueId());
  t.equal(run.code, 0, `run: ${run.stderr}`);
  t.same(listTree(target), [], `nothing was created in the host directory ${target}`);
  const points = mountPoints(run.stdout);
  t.ok(points.includes(path.join(target, 'x')), `the tmpfs sits at ${target}/x inside the container`);
  t.ok(points.includes(path.join(target, 'y')), `the bind mount sits at ${target}/y inside the container`);
  t.match(run.stdout, /BIND-SOURCE/, 'the bind mount is reachable through the link inside the container');
  t.ok(fs.statSync(path.join(rootfs, target, 'x')).isDirectory(), 'the mount points were created inside the rootfs');
});

t.test('rule 6: a /dev symlink in the image never sends mounts, device nodes or links to the host', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const withoutDevMounts = (config: BundleConfig) => {
    config.mounts = config.mounts.filter((m: Mount) => !m.destination.startsWith('/dev'));
  };
  // [label, config edit]: with runc's default /dev tmpfs, and with no /dev mounts at all
  // (device nodes and /dev symlinks are then made straight through the image's /dev).
  const cases: [string, (config: BundleConfig) => void][] = [
    ['default /dev mounts', () => {}],
    ['no /dev mounts', withoutDevMounts],
  ];
  for (const [label, edit] of cases) {
    const hostDev = hostTarget(t, 'hostdev');
    const { bundle, rootfs } = await makeBundle(tempDir(t, 'bundle'), {
      args: ['sh', '-c', 'ls -l /dev/null /dev/evil/mydev && echo ok > /dev/null'],
      config: (config: BundleConfig) => {
        edit(config);
        config.linux!.devices = [{ path: '/dev/evil/mydev', type: 'c', major: 1, minor: 3, fileMode: 0o666 }];
      },
    });
    fs.rmSync(path.join(rootfs, 'dev'), { recursive: true });
    fs.symlinkSync(hostDev, path.join(rootfs, 'dev'));
    const run = await rt('run', '--bundle', bundle, uniqueId());
    t.same(listTree(hostDev), [], `${label}: nothing was created in the host directory ${hostDev}`);
    // runc runs such an image; refusing it is safe too, as long as the error says why.
    if (run.code === 0) {
      t.match(run.stdout, /^c.*\/dev\/null$/m, `${label}: /dev/null is a device inside the container`);
    } else {
      t.match(run.stderr, /\/dev/, `${label}: refused, naming /dev: ${run.stderr}`);
    }
  }
});

t.test('rule 6: a device path through an image symlink is created inside the rootfs', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const hostDir = hostTarget(t, 'hostnodes');
  const { bundle, rootfs } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['ls', '-l', '/dev/evil/'],
    config: (config: BundleConfig) => {
      config.mounts = config.mounts.filter((m: Mount) => !m.destination.startsWith('/dev'));
      config.linux!.devices = [{ path: '/dev/evil/mydev', type: 'c', major: 1, minor: 3, fileMode: 0o666 }];
    },
  });
  fs.symlinkSync(hostDir, path.join(rootfs, 'dev', 'evil'));
  const run = await rt('run', '--bundle', bundle, uniqueId());
  t.same(listTree(hostDir), [], `no device node appeared in the host directory ${hostDir}`);
  t.equal(run.code, 0, `run: ${run.stderr}`);
  t.match(run.stdout, /^c.*mydev$/m, 'the node exists inside the container');
  t.ok(fs.lstatSync(path.join(rootfs, hostDir, 'mydev')).isCharacterDevice(), 'created under the rootfs');
});

t.test('rule 7/8: proc never lands on a symlink target, and the host stays untouched', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const target = hostTarget(t, 'host-proc');
  const { bundle, rootfs } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'grep " /proc " /proc/self/mountinfo; cat /proc/self/oom_score_adj'],
    config: (config: BundleConfig) => {
      config.process!.oomScoreAdj = 123;
    },
  });
  fs.rmdirSync(path.join(rootfs, 'proc'));
  fs.symlinkSync(target, path.join(rootfs, 'proc'));
  const run = await rt('run', '--bundle', bundle, uniqueId());
  t.same(listTree(target), [], `nothing was created or mounted in the host directory ${target}`);
  if (run.code === 0) {
    t.match(run.stdout, / \/proc .* - proc /, 'if accepted, real procfs is mounted at /proc inside the container');
  } else {
    t.match(run.stderr, /proc/, `refused, naming /proc: ${run.stderr}`);
  }
});

t.test('rule 8: sysctl and oom_score_adj are never written into a fake /proc', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  // A directory that looks like procfs, bound over the real /proc after it is mounted.
  const fake = tempDir(t, 'fakeproc');
  fs.mkdirSync(path.join(fake, 'sys', 'kernel'), { recursive: true });
  fs.mkdirSync(path.join(fake, 'self'));
  fs.writeFileSync(path.join(fake, 'sys', 'kernel', 'domainname'), 'untouched\n');
  fs.writeFileSync(path.join(fake, 'self', 'oom_score_adj'), 'untouched\n');
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['true'],
    config: (config: BundleConfig) => {
      config.mounts.splice(1, 0, { destination: '/proc', type: 'bind', source: fake, options: ['rbind', 'rw'] });
      config.linux!.sysctl = { 'kernel.domainname': 'evil' };
      config.linux!.readonlyPaths = [];
      config.linux!.maskedPaths = [];
      config.process!.oomScoreAdj = 123;
    },
  });
  const run = await rt('run', '--bundle', bundle, uniqueId());
  t.equal(fs.readFileSync(path.join(fake, 'sys', 'kernel', 'domainname'), 'utf8'), 'untouched\n', 'fake sysctl file not written');
  t.equal(fs.readFileSync(path.join(fake, 'self', 'oom_score_adj'), 'utf8'), 'untouched\n', 'fake oom_score_adj not written');
  t.not(run.code, 0, 'the container is refused: its sysctl cannot be applied to real procfs');
  t.match(run.stderr, /proc/, `the error says why: ${run.stderr}`);
});

t.test('rule 9: maskedPaths use only a verified /dev/null (char 1:3)', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  // /dev/null is made a zero device (1:5): binding it over a masked file would show zeros.
  const { bundle, rootfs } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'head -c 4 /etc/masked | od -An -c; echo end'],
    config: (config: BundleConfig) => {
      config.linux!.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 5, fileMode: 0o666 }];
      config.linux!.maskedPaths = ['/etc/masked'];
    },
  });
  fs.writeFileSync(path.join(rootfs, 'etc', 'masked'), 'SECRET\n');
  const run = await rt('run', '--bundle', bundle, uniqueId());
  t.notMatch(run.stdout, /\\0/, 'the masked file is never backed by a non-null device');
  t.notMatch(run.stdout, /S\s+E\s+C/, 'and the masked content is not exposed');
  if (run.code === 0) {
    t.equal(run.stdout.trim(), 'end', 'if accepted, the masked file reads empty');
  } else {
    t.match(run.stderr, /\/dev\/null/, `refused, naming /dev/null: ${run.stderr}`);
  }
});

t.test('rule 9: a masked path that is a symlink in the image never masks the link target', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const cases: [string, (rootfs: string) => void][] = [
    ['/etc/masklink', (rootfs) => fs.symlinkSync('/etc/real-secret', path.join(rootfs, 'etc', 'masklink'))],
    ['/etc/linkdir/real-secret', (rootfs) => fs.symlinkSync('/etc', path.join(rootfs, 'etc', 'linkdir'))],
  ];
  for (const [masked, prepare] of cases) {
    const { bundle, rootfs } = await makeBundle(tempDir(t, 'bundle'), {
      args: ['cat', '/etc/real-secret'],
      config: (config: BundleConfig) => {
        config.linux!.maskedPaths = [masked];
      },
    });
    fs.writeFileSync(path.join(rootfs, 'etc', 'real-secret'), 'still-here\n');
    prepare(rootfs);
    const run = await rt('run', '--bundle', bundle, uniqueId());
    if (run.code === 0) {
      t.equal(run.stdout, 'still-here\n', `${masked}: the symlink's target is not masked`);
    } else {
      t.match(run.stderr, new RegExp(masked.replace(/\//g, '\\/')), `${masked}: refused, naming the path: ${run.stderr}`);
    }
  }
});

t.test('rule 6/9: readonlyPaths through image symlinks stay inside the rootfs', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const target = hostTarget(t, 'host-ro');
  fs.writeFileSync(path.join(target, 'host-file'), 'host\n');
  const { bundle, rootfs } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'cat /proc/self/mountinfo'],
    config: (config: BundleConfig) => {
      config.root!.readonly = false;
      config.linux!.readonlyPaths = ['/rolink', '/rolink-rel'];
    },
  });
  fs.mkdirSync(path.join(rootfs, target), { recursive: true });
  fs.symlinkSync(target, path.join(rootfs, 'rolink'));
  fs.symlinkSync(`../../../../../../..${target}`, path.join(rootfs, 'rolink-rel'));
  const run = await rt('run', '--bundle', bundle, uniqueId());
  t.same(listTree(target), ['host-file'], 'the host directory is unchanged');
  t.equal(fs.readFileSync(path.join(target, 'host-file'), 'utf8'), 'host\n');
  if (run.code === 0) {
    const points = mountPoints(run.stdout);
    t.notOk(points.includes('/rolink'), 'no mount on the link itself');
    t.ok(points.every((p) => !p.startsWith(path.dirname(target)) || p === target), 'only the in-rootfs copy of the target is mounted');
  } else {
    t.match(run.stderr, /rolink/, `refused, naming the path: ${run.stderr}`);
  }
});
