// config.json mounts, propagation, masked/readonly paths and pivot_root, checked from inside containers.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, REPO_ROOT, requireRoot, runts, runtsRoot, tempDir, uniqueId, waitFor, type Bundle, type BundleConfig, type RuntsResult } from '../lib';

type ConfigEdit = (config: BundleConfig) => BundleConfig | void;

async function bundleFor(t: Test, script: string, edit?: ConfigEdit): Promise<Bundle> {
  return makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', script], config: edit });
}

async function runBundle(t: Test, made: Bundle, extraArgs: string[] = []): Promise<RuntsResult> {
  return runts(['--root', runtsRoot(t), 'run', ...extraArgs, '-b', made.bundle, uniqueId('mnt')]);
}

/** Runs `sh -c script` in a container and returns its stdout; fails the test on a non-zero exit. */
async function runIn(t: Test, script: string, edit?: ConfigEdit): Promise<string> {
  const result = await runBundle(t, await bundleFor(t, script, edit));
  t.equal(result.code, 0, `container exits 0 (stderr: ${result.stderr.trim()})`);
  return result.stdout;
}

interface MountInfo {
  root: string;
  mountPoint: string;
  options: string[];
  /** Optional fields: shared:N, master:N, propagate_from:N, unbindable. */
  tags: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

function parseMountinfo(text: string): MountInfo[] {
  return text
    .split('\n')
    .filter((line) => / - /.test(line))
    .map((line) => {
      const [before, after] = line.split(' - ');
      const fields = before.split(' ');
      const [fsType, source, superOptions] = after.split(' ');
      return {
        root: fields[3],
        mountPoint: fields[4],
        options: fields[5].split(','),
        tags: fields.slice(6),
        fsType,
        source,
        superOptions: (superOptions ?? '').split(','),
      };
    });
}

/** The topmost mount at `mountPoint` (mountinfo lists mounts in order, so the last one). */
function mountAt(mounts: MountInfo[], mountPoint: string): MountInfo | undefined {
  return mounts.filter((m) => m.mountPoint === mountPoint).pop();
}

/** Splits the output of `cat /proc/self/mountinfo; echo ---; more commands`. */
function splitMountinfo(stdout: string): { mounts: MountInfo[]; rest: string[] } {
  const [info, rest = ''] = stdout.split('---\n');
  return { mounts: parseMountinfo(info), rest: rest.trim().split('\n') };
}

const WITH_MOUNTINFO = (script: string) => `cat /proc/self/mountinfo; echo ---; ${script}`;

/** A host directory (inside a test temp dir) holding one file; readable by anyone. */
function hostDataDir(t: Test): string {
  const dir = tempDir(t, 'data');
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'hello.txt'), 'hello from the host\n');
  return dir;
}

t.test('bind mount with ro, nosuid, nodev, noexec, relatime', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const data = hostDataDir(t);
  const out = await runIn(t, WITH_MOUNTINFO('cat /data/hello.txt; touch /data/new 2>&1; echo rc=$?'), (c) => {
    c.mounts.push({ destination: '/data', type: 'bind', source: data, options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec', 'relatime'] });
  });
  const { mounts, rest } = splitMountinfo(out);
  const m = mountAt(mounts, '/data');
  t.ok(m, '/data is a mount');
  for (const flag of ['ro', 'nosuid', 'nodev', 'noexec', 'relatime']) t.ok(m?.options.includes(flag), `/data has ${flag}`);
  t.same(rest, ['hello from the host', 'touch: /data/new: Read-only file system', 'rc=1'], 'the content shows; a write fails');
  t.notOk(fs.existsSync(path.join(data, 'new')), 'nothing written to the host');

  const rw = splitMountinfo(
    await runIn(t, WITH_MOUNTINFO('echo x > /data/written && echo wrote'), (c) => {
      c.mounts.push({ destination: '/data', type: 'none', source: data, options: ['bind', 'rw'] });
    }),
  );
  t.ok(mountAt(rw.mounts, '/data')?.options.includes('rw'), 'a bind mount without ro is rw');
  t.same(rw.rest, ['wrote'], 'and writable');
  t.equal(fs.readFileSync(path.join(data, 'written'), 'utf8'), 'x\n', 'the write reaches the host directory');
});

t.test('bind copies one mount, rbind the whole tree below it', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const data = hostDataDir(t);
  const sub = path.join(data, 'sub');
  fs.mkdirSync(sub);
  const script = 'cat /data/sub/below.txt 2>/dev/null || echo missing';
  const withOption = (option: string): ConfigEdit => (c) => {
    c.mounts.push({ destination: '/data', type: 'bind', source: data, options: [option] });
  };
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'runts-test-sub', sub]);
  try {
    fs.writeFileSync(path.join(sub, 'below.txt'), 'below\n');
    t.equal((await runIn(t, script, withOption('bind'))).trim(), 'missing', 'bind: the submount is not there');
    t.equal((await runIn(t, script, withOption('rbind'))).trim(), 'below', 'rbind: the submount is there');
  } finally {
    execFileSync('umount', [sub]);
  }
});

t.test('tmpfs with size and mode; proc, sysfs, mqueue, devpts', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const out = await runIn(t, WITH_MOUNTINFO("stat -c %a /scratch; df -k /scratch | tail -n 1 | awk '{print $2}'; stat -c %a /dev/pts/ptmx; ls /dev/pts"), (c) => {
    c.mounts.push({ destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['size=2m', 'mode=1750', 'nodev'] });
  });
  const { mounts, rest } = splitMountinfo(out);
  t.same(rest, ['1750', '2048', '666', 'ptmx'], 'tmpfs mode and size; ptmx mode; a fresh devpts instance has only ptmx');
  t.equal(mountAt(mounts, '/scratch')?.fsType, 'tmpfs');
  t.ok(mountAt(mounts, '/scratch')?.options.includes('nodev'), 'tmpfs flags apply');
  t.equal(mountAt(mounts, '/proc')?.fsType, 'proc');
  const sys = mountAt(mounts, '/sys');
  t.equal(sys?.fsType, 'sysfs');
  t.ok(sys?.options.includes('ro'), '/sys is read-only as configured');
  t.equal(mountAt(mounts, '/dev/mqueue')?.fsType, 'mqueue');
  const pts = mountAt(mounts, '/dev/pts');
  t.equal(pts?.fsType, 'devpts');
  for (const option of ['ptmxmode=666', 'mode=620', 'gid=5']) t.ok(pts?.superOptions.includes(option), `devpts has ${option}`);
});

t.test('tmpcopyup fills a new tmpfs with the directory it covers; the image is untouched', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const made = await bundleFor(t, 'stat -c %a:%u:%g /etc/sub /etc/sub/f; cat /etc/sub/f; readlink /etc/sub/l; touch /etc/new && echo writable', (c) => {
    c.mounts.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'nosuid', 'nodev', 'tmpcopyup'] });
  });
  fs.mkdirSync(path.join(made.rootfs, 'etc/sub'), { mode: 0o750 });
  fs.writeFileSync(path.join(made.rootfs, 'etc/sub/f'), 'from the image\n', { mode: 0o644 });
  fs.chownSync(path.join(made.rootfs, 'etc/sub/f'), 7, 8);
  fs.symlinkSync('../passwd', path.join(made.rootfs, 'etc/sub/l'));
  const r = await runBundle(t, made);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['750:0:0', '644:7:8', 'from the image', '../passwd', 'writable'], 'modes, owners, contents and links copied; the tmpfs is writable');
  t.notOk(fs.existsSync(path.join(made.rootfs, 'etc/new')), 'writes land in the tmpfs, not in the image');
});

t.test('cgroup mount: the host hierarchies, read-only, showing the container\'s own cgroups', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const hostHierarchies = fs
    .readdirSync('/sys/fs/cgroup', { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const script = WITH_MOUNTINFO(
    'ls /sys/fs/cgroup; mkdir /sys/fs/cgroup/pids/probe 2>&1; mkdir /sys/fs/cgroup/probe 2>&1; echo procs $(cat /sys/fs/cgroup/pids/cgroup.procs); cat /proc/self/cgroup',
  );
  for (const cgroupNs of [false, true]) {
    const made = await bundleFor(t, script, (c) => {
      if (cgroupNs) c.linux!.namespaces.push({ type: 'cgroup' });
    });
    const id = uniqueId('mnt');
    const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, id]);
    t.equal(result.code, 0, result.stderr);
    const { mounts, rest } = splitMountinfo(result.stdout);
    const label = cgroupNs ? 'with a cgroup namespace' : 'without a cgroup namespace';
    const cgroupMounts = mounts.filter((m) => m.mountPoint.startsWith('/sys/fs/cgroup/'));
    t.same(cgroupMounts.map((m) => path.basename(m.mountPoint)).sort(), hostHierarchies, `${label}: one mount per host hierarchy (v1 controllers and unified)`);
    for (const m of cgroupMounts) {
      t.ok(m.fsType === 'cgroup' || m.fsType === 'cgroup2', `${m.mountPoint} is ${m.fsType}`);
      t.ok(m.options.includes('ro'), `${m.mountPoint} is read-only`);
    }
    // Without a namespace the container's own cgroup directories are bound; with one they are the roots.
    const expectedRoot = (root: string) => (cgroupNs ? root === '/' : root.endsWith(`/${id}`));
    t.same(cgroupMounts.filter((m) => !expectedRoot(m.root)).map((m) => `${m.mountPoint}: ${m.root}`), [], `${label}: each mount shows the container's cgroup`);
    t.ok(mountAt(mounts, '/sys/fs/cgroup')?.options.includes('ro'), `${label}: /sys/fs/cgroup itself is read-only`);
    const mkdirs = rest.filter((l) => l.startsWith('mkdir'));
    t.same(mkdirs, [
      "mkdir: can't create directory '/sys/fs/cgroup/pids/probe': Read-only file system",
      "mkdir: can't create directory '/sys/fs/cgroup/probe': Read-only file system",
    ]);
    const procs = rest.find((l) => l.startsWith('procs '))!.split(' ').slice(1);
    t.ok(procs.includes('1') && procs.length <= 3, `${label}: the pids cgroup holds only the container's processes (${procs})`);
    const procCgroup = rest.slice(rest.findIndex((l) => l.startsWith('procs ')) + 1);
    t.same(procCgroup.filter((l) => !(cgroupNs ? l.endsWith(':/') : l.endsWith(`/${id}`))), [], `${label}: /proc/self/cgroup`);
  }
});

t.test('missing destinations are created inside the rootfs, nested; single files bind', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const data = hostDataDir(t);
  const file = path.join(data, 'hello.txt');
  const made = await bundleFor(t, 'cat /deep/er/still/hello.txt /etc/greeting /etc/hostname-file; ls /a/b/c', (c) => {
    c.mounts.push(
      { destination: '/deep/er/still', type: 'bind', source: data, options: ['rbind', 'ro'] },
      { destination: '/etc/greeting', type: 'bind', source: file, options: ['bind', 'ro'] },
      { destination: '/etc/hostname-file', type: 'bind', source: file, options: ['bind'] },
      { destination: '/a/b/c', type: 'tmpfs', source: 'tmpfs', options: ['size=64k'] },
    );
  });
  fs.writeFileSync(path.join(made.rootfs, 'etc/hostname-file'), 'image content\n');
  const result = await runBundle(t, made);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, 'hello from the host\n'.repeat(3), 'dir and file binds (new and existing targets) show host content');
  t.ok(fs.statSync(path.join(made.rootfs, 'deep/er/still')).isDirectory(), 'nested directories made in the rootfs');
  t.ok(fs.statSync(path.join(made.rootfs, 'etc/greeting')).isFile(), 'a file target for a file bind');
  t.ok(fs.statSync(path.join(made.rootfs, 'a/b/c')).isDirectory(), 'a tmpfs target made');
});

t.test('a bind mount on / covers the rootfs, as in runc: the mounts after it, the devices and the program are in the bound tree', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const other = await makeBundle(tempDir(t, 'other'), {});
  fs.writeFileSync(path.join(other.rootfs, 'marker'), 'the bound tree\n');
  const made = await bundleFor(t, 'cat /marker; test -c /dev/null && test -d /proc/self && echo mounted; touch /x 2>/dev/null || echo read-only', (c) => {
    c.mounts.unshift({ destination: '/', type: 'bind', source: other.rootfs, options: ['rbind', 'ro'] });
  });
  fs.writeFileSync(path.join(made.rootfs, 'marker'), 'the image\n');
  for (const extra of [[], ['--no-pivot']]) {
    const result = await runBundle(t, made, extra);
    t.equal(result.code, 0, `${extra.join(' ') || 'pivot_root'}: ${result.stderr}`);
    t.equal(result.stdout, 'the bound tree\nmounted\nread-only\n', `${extra.join(' ') || 'pivot_root'}: the bound tree is /, with the mounts and devices, read-only as asked`);
  }
});

/** Makes `dir` a shared bind mount of itself for the length of `body` (the host has no shared mounts). */
async function whileShared<T>(dir: string, body: () => Promise<T>): Promise<T> {
  execFileSync('mount', ['--bind', dir, dir]);
  try {
    execFileSync('mount', ['--make-rshared', dir]);
    return await body();
  } finally {
    execFileSync('umount', ['--recursive', dir]);
  }
}

const tagKinds = (m: MountInfo | undefined) => (m?.tags ?? []).map((tag) => tag.split(':')[0]).sort();

t.test('a relative bind source is taken relative to the bundle', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const made = await bundleFor(t, 'cat /data/inside.txt', (c) => {
    c.mounts.push({ destination: '/data', type: 'bind', source: 'bundle-data', options: ['bind', 'ro'] });
  });
  fs.mkdirSync(path.join(made.bundle, 'bundle-data'));
  fs.writeFileSync(path.join(made.bundle, 'bundle-data/inside.txt'), 'next to config.json\n');
  // Run from another directory: the source must not resolve against the cwd.
  const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('mnt')], { cwd: '/' });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, 'next to config.json\n');
});

t.test('per-mount propagation options', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const data = hostDataDir(t);
  await whileShared(data, async () => {
    const { mounts } = splitMountinfo(
      await runIn(t, WITH_MOUNTINFO('true'), (c) => {
        c.mounts.push(
          { destination: '/shared', type: 'bind', source: data, options: ['rbind', 'rshared'] },
          { destination: '/private', type: 'bind', source: data, options: ['rbind', 'rprivate'] },
          { destination: '/slave', type: 'bind', source: data, options: ['rbind', 'rslave'] },
          { destination: '/unbindable', type: 'bind', source: data, options: ['rbind', 'runbindable'] },
          { destination: '/default', type: 'bind', source: data, options: ['rbind'] },
        );
      }),
    );
    t.ok(tagKinds(mountAt(mounts, '/shared')).includes('shared'), 'rshared: shared');
    t.same(tagKinds(mountAt(mounts, '/private')), [], 'rprivate: no tags');
    t.same(tagKinds(mountAt(mounts, '/slave')), ['master'], 'rslave: a slave');
    t.same(tagKinds(mountAt(mounts, '/unbindable')), ['unbindable'], 'runbindable: unbindable');
    t.same(tagKinds(mountAt(mounts, '/default')), ['master'], 'no option: inherits the rslave root');
  });
});

t.test('propagation in action: host mounts reach a slave bind, not a private one', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const data = hostDataDir(t);
  const sub = path.join(data, 'sub');
  fs.mkdirSync(sub);
  await whileShared(data, async () => {
    for (const [option, expected] of [['rslave', 'arrived'], ['rprivate', 'missing']]) {
      const ready = path.join(data, 'ready');
      fs.rmSync(ready, { force: true });
      // The container signals it is running, then waits up to 3 s for the host's mount to show.
      const script =
        'touch /data/ready; i=0; while [ $i -lt 30 ] && [ ! -e /data/sub/marker ]; do sleep 0.1; i=$((i+1)); done; cat /data/sub/marker 2>/dev/null || echo missing';
      const made = await bundleFor(t, script, (c) => {
        c.mounts.push({ destination: '/data', type: 'bind', source: data, options: ['rbind', option] });
      });
      const running = runBundle(t, made);
      await waitFor(() => fs.existsSync(ready), 10_000, 'the container to start');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'runts-test-propagation', sub]);
      try {
        fs.writeFileSync(path.join(sub, 'marker'), 'arrived\n');
        const result = await running;
        t.equal(result.code, 0, result.stderr);
        t.equal(result.stdout.trim(), expected, `${option}: a host mount made after start is ${expected}`);
      } finally {
        execFileSync('umount', [sub]);
      }
    }
  });
});

t.test('pivot_root by default, --no-pivot too: only the container\'s mounts are visible', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const hostMountPoints = new Set(parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).map((m) => m.mountPoint));
  hostMountPoints.delete('/');
  for (const extraArgs of [[], ['--no-pivot']]) {
    const made = await bundleFor(t, 'cat /proc/self/mountinfo');
    const result = await runBundle(t, made, extraArgs);
    t.equal(result.code, 0, `run ${extraArgs}: ${result.stderr.trim()}`);
    const mounts = parseMountinfo(result.stdout);
    t.same(mounts.filter((m) => m.mountPoint === '/').map((m) => m.root), [made.rootfs], `${extraArgs}: / is the rootfs, once`);
    const linux = made.config.linux!;
    const expected = new Set<string>([
      '/',
      ...made.config.mounts.map((m: { destination: string }) => m.destination),
      ...linux.maskedPaths,
      ...linux.readonlyPaths,
    ]);
    const foreign = mounts.map((m) => m.mountPoint).filter((p) => !expected.has(p) && !p.startsWith('/sys/fs/cgroup/'));
    t.same(foreign, [], `${extraArgs}: every mount is the root, a configured mount, or a masked/readonly path`);
  }
});

/**
 * Creates a container, detaches its root mount from its mount namespace (from the host, by
 * nsenter), and reads a host file through what is left of that namespace.
 */
async function hostFileAfterDetachingRoot(t: Test, extraArgs: string[], file = path.join(REPO_ROOT, 'package.json')): Promise<string> {
  const made = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '60'] });
  const root = runtsRoot(t);
  const id = uniqueId('mnt');
  const created = await runts(['--root', root, 'create', ...extraArgs, '-b', made.bundle, id]);
  t.equal(created.code, 0, `create ${extraArgs}: ${created.stderr.trim()}`);
  const pid = String(JSON.parse((await runts(['--root', root, 'state', id])).stdout).pid);
  let seen: string;
  try {
    // nsenter lands on the top mount of the namespace root: the container's root, with its busybox.
    execFileSync('nsenter', ['-t', pid, '-m', '/bin/busybox', 'umount', '-l', '/']);
    seen = execFileSync('nsenter', ['-t', pid, '-m', '/bin/cat', file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    seen = `failed: ${(err as Error).message}`;
  }
  const deleted = await runts(['--root', root, 'delete', '--force', id]);
  t.equal(deleted.code, 0, deleted.stderr);
  return seen;
}

t.test('pivot_root leaves no host mount in the namespace; --no-pivot keeps them underneath', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const pivoted = await hostFileAfterDetachingRoot(t, []);
  t.match(pivoted, /^failed: /, 'pivot_root: below the container root there is nothing of the host');
  const chrooted = await hostFileAfterDetachingRoot(t, ['--no-pivot']);
  t.match(chrooted, /"name":/, '--no-pivot: the host root is still in the namespace (as with runc)');
});

// runc's msMoveRoot: a whole procfs or sysfs mount of the host left in the namespace would let
// the container mount a fresh one (the kernel allows that only where one is fully visible).
t.test('--no-pivot detaches the host\'s /proc and /sys from the container\'s mount namespace', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  for (const file of ['/proc/self/mountinfo', '/sys/kernel/uevent_seqnum']) {
    t.ok(fs.existsSync(file), `${file} exists on the host`);
    const seen = await hostFileAfterDetachingRoot(t, ['--no-pivot'], file);
    t.match(seen, /^failed: .*No such file or directory/s, `${file}: the host's mount is gone from under the container root`);
  }
});

t.test('maskedPaths and readonlyPaths', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const data = hostDataDir(t);
  fs.mkdirSync(path.join(data, 'dir'));
  fs.writeFileSync(path.join(data, 'dir/inner.txt'), 'inner\n');
  const script = [
    'wc -c < /data/hello.txt',
    'ls -A /data/dir | wc -l',
    'touch /data/dir/new 2>&1',
    '{ echo again > /data/ro.txt; } 2>&1',
    'touch /data/rodir/x 2>&1',
    'cat /data/rodir/f',
    '{ echo 1 > /proc/sys/kernel/ns_last_pid; } 2>&1',
    'true',
  ].join('; ');
  fs.writeFileSync(path.join(data, 'ro.txt'), 'ro\n');
  fs.mkdirSync(path.join(data, 'rodir'));
  fs.writeFileSync(path.join(data, 'rodir/f'), 'in ro dir\n');
  const out = await runIn(t, WITH_MOUNTINFO(script), (c) => {
    c.mounts.push({ destination: '/data', type: 'bind', source: data, options: ['rbind', 'rw'] });
    c.linux!.maskedPaths = [...c.linux!.maskedPaths, '/data/hello.txt', '/data/dir', '/data/not-there'];
    c.linux!.readonlyPaths = [...c.linux!.readonlyPaths, '/data/ro.txt', '/data/rodir', '/data/absent'];
  });
  const { mounts, rest } = splitMountinfo(out);
  t.same(rest, [
    '0',
    '0',
    "touch: /data/dir/new: Read-only file system",
    "sh: can't create /data/ro.txt: Read-only file system",
    "touch: /data/rodir/x: Read-only file system",
    'in ro dir',
    "sh: can't create /proc/sys/kernel/ns_last_pid: Read-only file system",
  ], 'masked file empty, masked dir empty and read-only; readonly paths refuse writes but read');
  t.ok(mountAt(mounts, '/data/dir')?.options.includes('ro'), 'the masked dir is a read-only mount');
  t.equal(mountAt(mounts, '/data/dir')?.fsType, 'tmpfs', 'the masked dir is a tmpfs');
  t.ok(mountAt(mounts, '/data/rodir')?.options.includes('ro'), 'readonly dir is a read-only mount');
  t.equal(fs.readFileSync(path.join(data, 'hello.txt'), 'utf8'), 'hello from the host\n', 'the host file is untouched');
  t.notOk(fs.existsSync(path.join(data, 'not-there')) || fs.existsSync(path.join(data, 'absent')), 'missing paths are skipped, not created');
});

t.test('a bind of the host /proc at /proc in the host pid namespace, as runc allows it (issue #12 item 11)', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const out = await runIn(t, WITH_MOUNTINFO(`test -e /proc/${process.pid}/stat && echo host-pids; { echo 1 > /proc/sys/kernel/ns_last_pid; } 2>&1; true`), (c) => {
    c.linux!.namespaces = c.linux!.namespaces.filter((n: { type: string }) => n.type !== 'pid');
    c.mounts = c.mounts.map((m: { destination: string }) => (m.destination === '/proc' ? { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind', 'nosuid', 'noexec', 'nodev'] } : m));
  });
  const { mounts, rest } = splitMountinfo(out);
  t.equal(mountAt(mounts, '/proc')?.fsType, 'proc', 'procfs at /proc');
  t.same(rest, ['host-pids', "sh: can't create /proc/sys/kernel/ns_last_pid: Read-only file system"], "the host's processes show; readonlyPaths still cover it");
});

/** runc (the reference) on the same bundle, with its own state root; its stdout and exit code. */
function runcRun(t: Test, made: Bundle): { code: number; stdout: string } {
  const root = tempDir(t, 'runc-root');
  try {
    return { code: 0, stdout: execFileSync('runc', ['--root', root, 'run', '-b', made.bundle, uniqueId('runc')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { status: number; stdout: string };
    return { code: e.status, stdout: e.stdout };
  }
}

/**
 * The host-independent columns of `ls -l /dev`: mode, kind and name (link target). Not shm:
 * runc 1.1 gives a tmpfs the mode of the directory it covers (755 on the host's devtmpfs),
 * over its mode= option; runts keeps mode=.
 */
const devListing = (ls: string[]) =>
  ls
    .filter((l) => /^[-a-z]/.test(l) && !/ shm$/.test(l))
    .map((l) => {
      const f = l.split(/\s+/);
      return `${f[0]} ${f.slice(f[0].startsWith('l') ? -3 : -1).join(' ')}`;
    })
    .sort();

t.test('a read-only /dev: tmpfs filled then made read-only, a bind used as it is; devpts, shm, mqueue below it, as runc (issue #12 item 10)', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const script = WITH_MOUNTINFO('ls -l /dev; { touch /dev/new; } 2>&1; true');
  const cases: [string, ConfigEdit][] = [
    ['tmpfs /dev ro', (c) => void c.mounts.find((m: { destination: string }) => m.destination === '/dev').options.push('ro')],
    // The host has no /dev/mqueue to mount on, for runc either: the bind keeps devpts and shm.
    ['bind of the host /dev ro', (c) => void (c.mounts = c.mounts.filter((m: { destination: string }) => m.destination !== '/dev/mqueue').map((m: { destination: string }) => (m.destination === '/dev' ? { destination: '/dev', type: 'bind', source: '/dev', options: ['bind', 'ro', 'nosuid'] } : m)))],
  ];
  for (const [what, edit] of cases) {
    const made = await bundleFor(t, script, edit);
    const ours = await runBundle(t, made);
    t.equal(ours.code, 0, `${what}: runts exits 0 (stderr: ${ours.stderr.trim()})`);
    const { mounts, rest } = splitMountinfo(ours.stdout);
    t.ok(mountAt(mounts, '/dev')?.options.includes('ro'), `${what}: /dev is read-only`);
    t.equal(mountAt(mounts, '/dev/pts')?.fsType, 'devpts', `${what}: devpts below it`);
    t.equal(mountAt(mounts, '/dev/shm')?.superOptions.includes('size=65536k'), true, `${what}: the configured shm below it`);
    if (what.startsWith('tmpfs')) t.equal(mountAt(mounts, '/dev/mqueue')?.fsType, 'mqueue', `${what}: mqueue below it`);
    t.equal(rest.at(-1), 'touch: /dev/new: Read-only file system', `${what}: nothing can be made in /dev`);
    if (!fs.existsSync('/usr/sbin/runc') && !fs.existsSync('/usr/bin/runc')) continue;
    const theirs = runcRun(t, made);
    t.equal(theirs.code, 0, `${what}: runc exits 0 too`);
    t.same(devListing(rest), devListing(splitMountinfo(theirs.stdout).rest), `${what}: /dev has what runc puts there (a bind: the host's own, no devices, links or ptmx added)`);
  }
});
