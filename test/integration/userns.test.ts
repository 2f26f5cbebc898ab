// User namespaces beyond the basics (namespaces.test.ts covers new ones with maps): joining
// one by path, as containerd and CRI-O do for pods, with runc's checks.
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
