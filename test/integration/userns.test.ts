// User namespaces beyond the basics (namespaces.test.ts covers new ones with maps): joining
// one by path, as containerd and CRI-O do for pods, with runc's checks.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, onCleanup, prepareForUserNs, requireRoot, runts, runtsRoot, tempDir, uniqueId, type Bundle, type BundleConfig } from '../lib';

const USERNS_HOST_ID = 310000;
const FILE_OWNER = 1000;
const MAPS = { uidMappings: [{ containerID: 0, hostID: USERNS_HOST_ID, size: 65536 }], gidMappings: [{ containerID: 0, hostID: USERNS_HOST_ID, size: 65536 }] };

/** A bundle whose rootfs belongs to the namespace's root, reachable by it. */
async function bundleFor(t: Test, args: string[], edit: (c: BundleConfig) => void): Promise<Bundle> {
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args,
    config: (c) => {
      c.root.readonly = false;
      edit(c);
    },
  });
  prepareForUserNs(made, USERNS_HOST_ID);
  return made;
}

/** A created container with a new user namespace that just waits: its userns path, and how
 *  to delete it (before the test ends: the leak guard looks first; the cleanup is a fallback). */
async function userNsHolder(t: Test): Promise<{ path: string; remove(): Promise<void> }> {
  const root = runtsRoot(t);
  const id = uniqueId('holder');
  const made = await bundleFor(t, ['sleep', '1000'], (c) => {
    c.linux!.namespaces.push({ type: 'user' });
    Object.assign(c.linux!, MAPS);
  });
  const created = await runts(['--root', root, 'create', '-b', made.bundle, id]);
  if (created.code !== 0) throw new Error(`create holder: ${created.stderr}`);
  const remove = async () => {
    await runts(['--root', root, 'delete', '--force', id]);
  };
  onCleanup(t, 'graceful', remove);
  const pid = JSON.parse((await runts(['--root', root, 'state', id])).stdout).pid as number;
  return { path: `/proc/${pid}/ns/user`, remove };
}

t.test('joining a user namespace by path: root inside, its maps, bound devices, idmap through it', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const holder = await userNsHolder(t);
  const userns = holder.path;
  const data = tempDir(t, 'data');
  fs.writeFileSync(path.join(data, 'f'), 'x');
  fs.chownSync(path.join(data, 'f'), FILE_OWNER, FILE_OWNER);
  fs.chmodSync(data, 0o755);
  const script = 'id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; stat -c %U /dev/null; stat -c %u:%g /data/f';
  const made = await bundleFor(t, ['sh', '-c', script], (c) => {
    c.linux!.namespaces.push({ type: 'user', path: userns });
    c.mounts.push({ destination: '/data', type: 'bind', source: data, options: ['bind', 'idmap'] });
  });
  const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('joiner')]);
  t.equal(result.code, 0, `runs (stderr: ${result.stderr.trim()})`);
  const lines = result.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  t.equal(lines[0], '0', 'the process is root in the joined namespace (it can open exec.fifo as that root)');
  t.equal(lines[1], `0 ${USERNS_HOST_ID} 65536`, 'the joined namespace\'s maps');
  t.equal(lines[2], fs.readlinkSync(userns), 'the very namespace given by path');
  t.equal(lines[3], 'nobody', '/dev/null is the host\'s node bound in (no mknod), its owner unmapped');
  t.equal(lines[4], `${FILE_OWNER}:${FILE_OWNER}`, 'idmap without mappings goes through the joined namespace');
  await holder.remove();
});

t.test('a userns path with mappings: different ones are refused, matching ones warned about', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const holder = await userNsHolder(t);
  const userns = holder.path;
  const withPathAnd = (uidHost: number) => (c: BundleConfig) => {
    c.linux!.namespaces.push({ type: 'user', path: userns });
    c.linux!.uidMappings = [{ containerID: 0, hostID: uidHost, size: 65536 }];
    c.linux!.gidMappings = MAPS.gidMappings;
  };
  const root = runtsRoot(t);
  const badId = uniqueId('joiner');
  const bad = await runts(['--root', root, 'run', '-b', (await bundleFor(t, ['true'], withPathAnd(USERNS_HOST_ID + 1))).bundle, badId]);
  t.equal(bad.code, 1, 'exit 1');
  t.match(bad.stderr, /user namespaces enabled, but both namespace path and non-matching mapping specified -- you may only provide one/);
  t.notOk(fs.existsSync(path.join(root, badId)), 'no state left');

  const good = await runts(['--root', root, 'run', '-b', (await bundleFor(t, ['true'], withPathAnd(USERNS_HOST_ID))).bundle, uniqueId('joiner')]);
  t.equal(good.code, 0, `matching maps run (stderr: ${good.stderr.trim()})`);
  t.match(good.stderr, /both a userns path to join and a matching userns mapping specified/, 'with runc\'s warning');
  await holder.remove();
});

t.test('a new user namespace: setgroups stays allowed (the runtime is root), so additionalGids apply', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const made = await bundleFor(t, ['sh', '-c', 'cat /proc/self/setgroups; id -u; id -G'], (c) => {
    c.linux!.namespaces.push({ type: 'user' });
    Object.assign(c.linux!, MAPS);
    c.process!.user = { uid: 1000, gid: 1000, additionalGids: [5, 6] };
  });
  const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('groups')]);
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), ['allow', '1000', '1000 5 6']);
});

t.test('capabilities hold in the user namespace only: mapped files yes, the host\'s root files no', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const hostFile = path.join(tempDir(t, 'hostfile'), 'root-owned');
  fs.writeFileSync(hostFile, 'host\n', { mode: 0o644 });
  fs.chmodSync(path.dirname(hostFile), 0o755);
  const caps = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER'];
  const script = [
    'grep CapEff /proc/self/status',
    'touch /tmp/mine && chown 7:7 /tmp/mine && echo chown-ok',
    'echo x >> /host/root-owned && echo write-ok || echo write-denied',
  ].join('; ');
  const made = await bundleFor(t, ['sh', '-c', script], (c) => {
    c.linux!.namespaces.push({ type: 'user' });
    Object.assign(c.linux!, MAPS);
    for (const set of ['bounding', 'effective', 'permitted']) c.process!.capabilities[set] = caps;
    c.mounts.push({ destination: '/host', type: 'bind', source: path.dirname(hostFile), options: ['bind'] });
  });
  const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('caps')]);
  t.equal(result.code, 0, result.stderr);
  // CAP_CHOWN 0, CAP_DAC_OVERRIDE 1, CAP_FOWNER 3.
  t.same(result.stdout.trim().split('\n'), ['CapEff:\t000000000000000b', 'chown-ok', 'write-denied']);
  t.same([fs.statSync(path.join(made.rootfs, 'tmp/mine')).uid], [USERNS_HOST_ID + 7], 'the chown landed on the mapped host id');
  t.equal(fs.readFileSync(hostFile, 'utf8'), 'host\n', 'CAP_DAC_OVERRIDE did not reach the unmapped host root\'s file');
});

/** Runs runc instead of runts: the wrap gets runts' path first, which it drops. */
const RUNC = ['sh', '-c', 'shift; exec runc "$@"', 'sh'];

t.test('bind sources behind a directory the container\'s ids cannot enter: opened by the runtime, flags kept, as runc (issue #12 item 12)', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // mkdtemp: mode 0700, owned by the host's root, which the container's root (host uid
  // USERNS_HOST_ID) cannot enter. The sources below it are open to everyone.
  const hidden = tempDir(t, 'hidden');
  const data = path.join(hidden, 'data');
  const locked = path.join(hidden, 'locked');
  for (const dir of [data, locked]) fs.mkdirSync(dir, { mode: 0o755 });
  fs.writeFileSync(path.join(data, 'f'), 'secret\n', { mode: 0o644 });
  fs.writeFileSync(path.join(hidden, 'file'), 'a file\n', { mode: 0o644 });
  fs.writeFileSync(path.join(locked, 'g'), 'locked\n', { mode: 0o644 });
  // A read-only host mount: the kernel locks that flag in the container's mount namespace.
  execFileSync('mount', ['--bind', locked, locked]);
  try {
    execFileSync('mount', ['-o', 'remount,bind,ro', locked]);
    const script = [
      'cat /data/f /file /ro/f /locked/g',
      '{ echo x > /ro/new; } 2>&1',
      // CAP_SYS_ADMIN works on a mount whose flags are not locked...
      'mount -o remount,bind,ro /data && echo data remounted ro',
      // ...not on the locked read-only flag (busybox words EPERM so).
      '{ mount -o remount,bind,rw /locked && echo locked remounted rw; } 2>&1',
      '{ echo x > /locked/new; } 2>&1',
      'true',
    ].join('; ');
    const made = await bundleFor(t, ['sh', '-c', script], (c) => {
      c.linux!.namespaces.push({ type: 'user' });
      Object.assign(c.linux!, MAPS);
      // CAP_SYS_ADMIN in its user namespace: only a locked flag keeps it from a remount.
      for (const set of ['bounding', 'effective', 'permitted']) c.process!.capabilities[set].push('CAP_SYS_ADMIN');
      c.mounts.push(
        { destination: '/data', type: 'bind', source: data, options: ['bind'] },
        { destination: '/file', type: 'bind', source: path.join(hidden, 'file'), options: ['bind'] },
        { destination: '/ro', type: 'bind', source: data, options: ['rbind', 'ro', 'nosuid'] },
        { destination: '/locked', type: 'bind', source: locked, options: ['bind'] },
      );
    });
    const expected = [
      'secret',
      'a file',
      'secret',
      'locked',
      "sh: can't create /ro/new: Read-only file system",
      'data remounted ro',
      'mount: permission denied (are you root?)',
      "sh: can't create /locked/new: Read-only file system",
    ];
    const root = runtsRoot(t);
    for (const [name, wrap] of [['runts', []], ['runc', RUNC]] as const) {
      if (name === 'runc' && !fs.existsSync('/usr/sbin/runc') && !fs.existsSync('/usr/bin/runc')) continue;
      const result = await runts(['--root', root, 'run', '-b', made.bundle, uniqueId('hidden')], { wrap: [...wrap] });
      t.equal(result.code, 0, `${name} runs it (stderr: ${result.stderr.trim()})`);
      t.same(result.stdout.trim().split('\n'), expected, `${name}: the files read; ro stays read-only; the host's read-only flag stays locked`);
    }
    t.notOk(fs.existsSync(path.join(data, 'new')) || fs.existsSync(path.join(locked, 'new')), 'nothing written to the host');
  } finally {
    execFileSync('umount', [locked]);
  }
});
