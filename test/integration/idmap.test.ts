// Idmapped bind mounts (a mount's uidMappings/gidMappings, idmap, ridmap) and the recursive
// mount attributes (rro, ...), checked from inside real containers and on the host.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, openToOthers, prepareForUserNs, readMounts, requireRoot, runts, runtsRoot, tempDir, uniqueId, type Bundle, type BundleConfig, type RuntsResult } from '../lib';

/** Host ids the container's user namespace maps its 0..65535 onto. */
const USERNS_HOST_ID = 300000;
/** Owner of the host files the tests bind in. */
const FILE_OWNER = 1000;

const mapping = (containerID: number, hostID: number, size: number) => [{ containerID, hostID, size }];

function withUserNs(c: BundleConfig): void {
  c.linux!.namespaces.push({ type: 'user' });
  c.linux!.uidMappings = mapping(0, USERNS_HOST_ID, 65536);
  c.linux!.gidMappings = mapping(0, USERNS_HOST_ID, 65536);
  c.root.readonly = false;
}

/** A bundle running `sh -c script`; with a user namespace, its rootfs belongs to the mapped root. */
async function bundleFor(t: Test, script: string, edit: (c: BundleConfig) => void, userns: boolean): Promise<Bundle> {
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', script],
    config: (c) => {
      if (userns) withUserNs(c);
      edit(c);
    },
  });
  if (userns) prepareForUserNs(made, USERNS_HOST_ID);
  return made;
}

async function run(t: Test, made: Bundle): Promise<RuntsResult> {
  return runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('idmap')]);
}

async function runOk(t: Test, made: Bundle): Promise<string[]> {
  const result = await run(t, made);
  t.equal(result.code, 0, `container exits 0 (stderr: ${result.stderr.trim()})`);
  return result.stdout.trim().split('\n');
}

/** A host directory holding `f`, both owned by FILE_OWNER. */
function ownedDir(t: Test, label: string): string {
  const dir = tempDir(t, label);
  fs.writeFileSync(path.join(dir, 'f'), 'host\n');
  fs.chownSync(dir, FILE_OWNER, FILE_OWNER);
  fs.chownSync(path.join(dir, 'f'), FILE_OWNER, FILE_OWNER);
  fs.chmodSync(dir, 0o777);
  openToOthers(dir);
  return dir;
}

/** A host tree `top` (file f) with a tmpfs mounted at top/sub (file f too), all owned by
 *  FILE_OWNER; unmounted again when `body` is done (the leak guard looks before cleanups). */
async function withSubmountTree(t: Test, body: (top: string) => Promise<void>): Promise<void> {
  const top = ownedDir(t, 'tree');
  const sub = path.join(top, 'sub');
  fs.mkdirSync(sub);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `mode=777,uid=${FILE_OWNER},gid=${FILE_OWNER}`, 'runts-test-sub', sub]);
  try {
    fs.writeFileSync(path.join(sub, 'f'), 'sub\n');
    fs.chownSync(path.join(sub, 'f'), FILE_OWNER, FILE_OWNER);
    await body(top);
  } finally {
    execFileSync('umount', [sub]);
  }
}

const STAT = (...files: string[]) => files.map((f) => `stat -c %u:%g ${f}`).join('; ');

t.test('own mappings in a user namespace: owners show mapped, writes land as the host owner', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const data = ownedDir(t, 'data');
  const made = await bundleFor(t, `${STAT('/data/f')}; id -u; touch /data/made-inside; ${STAT('/data/made-inside')}`, (c) => {
    // On-disk FILE_OWNER shows as the host id the container's root has: root inside.
    c.mounts.push({
      destination: '/data',
      type: 'bind',
      source: data,
      options: ['bind'],
      uidMappings: mapping(FILE_OWNER, USERNS_HOST_ID, 1),
      gidMappings: mapping(FILE_OWNER, USERNS_HOST_ID, 1),
    });
  }, true);
  t.same(await runOk(t, made), ['0:0', '0', '0:0'], 'the host-owned file and the new one belong to root inside');
  const made2 = fs.statSync(path.join(data, 'made-inside'));
  t.same([made2.uid, made2.gid], [FILE_OWNER, FILE_OWNER], 'the file written inside belongs to the host owner on disk');
  const plain = fs.statSync(path.join(data, 'f'));
  t.same([plain.uid, plain.gid], [FILE_OWNER, FILE_OWNER], 'the host file is unchanged');
});

t.test('own mappings without a user namespace: the mount alone shifts owners', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const data = ownedDir(t, 'data');
  const made = await bundleFor(t, `${STAT('/data/f', '/plain/f')}; touch /data/x 2>/dev/null || echo read-only`, (c) => {
    c.mounts.push(
      { destination: '/data', type: 'bind', source: data, options: ['bind', 'ro'], uidMappings: mapping(FILE_OWNER, 4000, 1), gidMappings: mapping(FILE_OWNER, 5000, 1) },
      { destination: '/plain', type: 'bind', source: data, options: ['bind'] },
    );
  }, false);
  t.same(await runOk(t, made), ['4000:5000', `${FILE_OWNER}:${FILE_OWNER}`, 'read-only'], 'idmapped mount shows the mapping (a plain bind of the same dir does not), and keeps its flags');
});

t.test('idmap without mappings uses the container\'s user namespace', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const data = ownedDir(t, 'data');
  const made = await bundleFor(t, `${STAT('/data/f')}; touch /data/by-root`, (c) => {
    c.mounts.push({ destination: '/data', type: 'bind', source: data, options: ['bind', 'idmap'] });
  }, true);
  t.same(await runOk(t, made), [`${FILE_OWNER}:${FILE_OWNER}`], 'on-disk ids show unchanged inside, as if the userns were not there');
  const byRoot = fs.statSync(path.join(data, 'by-root'));
  t.same([byRoot.uid, byRoot.gid], [0, 0], 'root inside writes as host root through the mount');
});

t.test('idmap maps the top mount of an rbind only; ridmap the submounts too', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const overflow = fs.readFileSync('/proc/sys/kernel/overflowuid', 'utf8').trim();
  const overflowGid = fs.readFileSync('/proc/sys/kernel/overflowgid', 'utf8').trim();
  await withSubmountTree(t, async (top) => {
    for (const [option, sub] of [
      ['idmap', `${overflow}:${overflowGid}`],
      ['ridmap', '0:0'],
    ] as const) {
      const made = await bundleFor(t, STAT('/tree/f', '/tree/sub/f'), (c) => {
        c.mounts.push({
          destination: '/tree',
          type: 'bind',
          source: top,
          options: ['rbind', option],
          uidMappings: mapping(FILE_OWNER, USERNS_HOST_ID, 1),
          gidMappings: mapping(FILE_OWNER, USERNS_HOST_ID, 1),
        });
      }, true);
      t.same(await runOk(t, made), ['0:0', sub], `${option}: the top is mapped; the submount shows ${sub}`);
    }
  });
});

t.test('rro makes a bind and its submounts read-only; ro only the top', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const script = 'for f in /tree/x /tree/sub/x; do touch $f 2>/dev/null && echo $f:rw || echo $f:ro; done';
  await withSubmountTree(t, async (top) => {
    for (const [option, expected] of [
      ['rro', ['/tree/x:ro', '/tree/sub/x:ro']],
      ['ro', ['/tree/x:ro', '/tree/sub/x:rw']],
    ] as const) {
      const made = await bundleFor(t, script, (c) => {
        c.mounts.push({ destination: '/tree', type: 'bind', source: top, options: ['rbind', option] });
      }, false);
      t.same(await runOk(t, made), expected, option);
    }
  });
});

t.test('rro on a cgroup mount covers every hierarchy mounted under it', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // Applied once the whole cgroup mount exists: the tmpfs and each hierarchy below it.
  const made = await bundleFor(t, 'grep " /sys/fs/cgroup" /proc/self/mountinfo | cut -d" " -f5,6', (c) => {
    const cgroup = c.mounts.find((m: { type: string }) => m.type === 'cgroup');
    cgroup.options = ['nosuid', 'noexec', 'nodev', 'rro'];
  }, false);
  const lines = await runOk(t, made);
  t.ok(lines.length > 1, `several mounts under /sys/fs/cgroup (${lines.length})`);
  for (const line of lines) t.match(line, / ro(,|$)/, `${line.split(' ')[0]} is read-only`);
});

t.test('invalid idmapped mounts fail like runc, leaving nothing behind', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const data = ownedDir(t, 'data');
  const cases: [string, (c: BundleConfig) => void, RegExp][] = [
    [
      'idmap without a user namespace or mappings',
      (c) => c.mounts.push({ destination: '/data', type: 'bind', source: data, options: ['bind', 'idmap'] }),
      /mounts: \/data: id-mapped mounts must have both uid and gid mappings specified/,
    ],
    [
      'uid mappings without gid mappings',
      (c) => c.mounts.push({ destination: '/data', type: 'bind', source: data, options: ['bind'], uidMappings: mapping(0, 1000, 1) }),
      /mounts: \/data: id-mapped mounts must have both uid and gid mappings specified/,
    ],
    [
      'an idmapped tmpfs',
      (c) => c.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['ridmap'], uidMappings: mapping(0, 1000, 1), gidMappings: mapping(0, 1000, 1) }),
      /mounts: \/data: id-mapped mounts are only supported for bind-mounts/,
    ],
  ];
  for (const [name, edit, message] of cases) {
    const made = await bundleFor(t, 'true', edit, false);
    const id = uniqueId('idmap');
    const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, id]);
    t.equal(result.code, 1, `${name}: exit 1`);
    t.match(result.stderr, message, `${name}: says why`);
    t.notOk(fs.existsSync(path.join(runtsRoot(t), id)), `${name}: no state directory`);
  }
  t.notOk(readMounts().some((m) => m.mountPoint.startsWith(data)), 'no mount left on the source');
});

t.test('rule 6/7: an idmapped mount through an image symlink lands inside the rootfs, never on the host', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const data = ownedDir(t, 'data');
  const hostTarget = tempDir(t, 'host-target');
  const made = await bundleFor(t, `grep -c " ${hostTarget}/x " /proc/self/mountinfo; ${STAT('/mnt/abs/x/f', '/mnt/rel/y/f')}`, (c) => {
    for (const [destination, option] of [['/mnt/abs/x', 'idmap'], ['/mnt/rel/y', 'ridmap']]) {
      c.mounts.push({ destination, type: 'bind', source: data, options: ['rbind', option], uidMappings: mapping(FILE_OWNER, 4000, 1), gidMappings: mapping(FILE_OWNER, 4000, 1) });
    }
  }, false);
  fs.mkdirSync(path.join(made.rootfs, 'mnt'));
  fs.symlinkSync(hostTarget, path.join(made.rootfs, 'mnt', 'abs')); // absolute: the host path
  fs.symlinkSync(`../../../../../../../../../..${hostTarget}`, path.join(made.rootfs, 'mnt', 'rel')); // climbs out with ..
  t.same(await runOk(t, made), ['1', '4000:4000', '4000:4000'], 'mounted (at the link\'s target inside the container) and idmapped');
  t.same(fs.readdirSync(hostTarget), [], 'nothing was created or mounted in the host directory');
  t.ok(fs.statSync(path.join(made.rootfs, hostTarget, 'x')).isDirectory(), 'the mount points were made inside the rootfs');
});
