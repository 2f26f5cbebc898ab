// Configs real clients generate that runc runs (issue #12 items 3, 4, 5, 14): CRI-O's pod
// UTS namespace joined by path with a hostname, no mount namespace, no root, a device rule
// with access "rwa". Side by side with runc where runc behaves well here.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, onCleanup, requireRoot, runts, runtsRoot, runtsToFiles, tempDir, uniqueId, waitFor, type BundleConfig } from '../lib';

/** Runs runc instead of runts: the wrap gets runts' path first, which it drops. */
const RUNC = ['sh', '-c', 'shift; exec runc "$@"', 'sh'];
const runtimes = [
  { name: 'runts', wrap: [] as string[] },
  { name: 'runc', wrap: RUNC },
];

/** True while `pid` exists and is no zombie. */
function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** A UTS namespace pinned on a file, as CRI-O's pinns does for a pod; unmounted at teardown. */
function pinnedUtsNamespace(t: Test): string {
  const file = path.join(tempDir(t, 'pinned'), 'uts');
  fs.writeFileSync(file, '');
  execFileSync('unshare', [`--uts=${file}`, 'true']);
  t.teardown(() => execFileSync('umount', [file]));
  return file;
}

t.test('a UTS namespace joined by path, with a hostname (every CRI-O pod), side by side with runc', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  for (const { name, wrap } of runtimes) {
    const pinned = pinnedUtsNamespace(t);
    const made = await makeBundle(tempDir(t, 'bundle'), {
      args: ['hostname'],
      config: (c) => {
        c.hostname = `pod-${name}`;
        c.linux!.namespaces = c.linux!.namespaces.map((ns: { type: string }) => (ns.type === 'uts' ? { type: 'uts', path: pinned } : ns));
      },
    });
    const result = await runts(['--root', tempDir(t, 'state'), 'run', '-b', made.bundle, uniqueId('uts')], { wrap });
    t.equal(result.code, 0, `${name}: ${result.stderr.trim()}`);
    t.equal(result.stdout.trim(), `pod-${name}`, `${name}: the container has the pod's hostname`);
    const podHostname = execFileSync('nsenter', [`--uts=${pinned}`, 'hostname'], { encoding: 'utf8' }).trim();
    t.equal(podHostname, `pod-${name}`, `${name}: set in the pinned namespace, which the pod's other containers share`);
  }
});

t.test("a hostname in the runtime's own UTS namespace is refused, naming the field", async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['true'],
    config: (c) => {
      c.linux!.namespaces = c.linux!.namespaces.map((ns: { type: string }) => (ns.type === 'uts' ? { type: 'uts', path: '/proc/self/ns/uts' } : ns));
    },
  });
  const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('uts')]);
  t.equal(result.code, 1);
  t.match(result.stderr, /\/hostname: unable to set the hostname in the runtime's own UTS namespace/);
});

/** The default config stripped of everything that needs a mount namespace, and of that namespace. */
function withoutMountNamespace(c: BundleConfig): void {
  c.linux!.namespaces = c.linux!.namespaces.filter((ns: { type: string }) => ns.type !== 'mount');
  c.mounts = [];
  c.root!.readonly = false;
  delete c.linux!.maskedPaths;
  delete c.linux!.readonlyPaths;
}

t.test('no mount namespace: the container shares the runtime\'s; create, start and delete leave the host\'s mounts as they were', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // root.path "/": the container's root has the host's /proc, which the init needs (exec.fifo
  // through /proc/self/fd, as in runc). runc is not run here: runc 1.1 makes the host's "/"
  // rslave and mounts into the host's namespace when there is no mount namespace.
  const outDir = tempDir(t, 'out');
  fs.chmodSync(outDir, 0o755);
  const written = path.join(outDir, 'mntns');
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['/bin/busybox', 'sh', '-c', `readlink /proc/self/ns/mnt > ${written}`],
    config: (c) => {
      withoutMountNamespace(c);
      c.root!.path = '/';
    },
  });
  const root = runtsRoot(t);
  const id = uniqueId('nomnt');
  const before = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const create = await runtsToFiles(outDir, ['--root', root, 'create', '-b', made.bundle, id]);
  t.equal(create.code, 0, `create: ${create.stderr.trim()}`);
  t.equal(fs.readFileSync('/proc/self/mountinfo', 'utf8'), before, 'after create: host mountinfo unchanged');
  const start = await runts(['--root', root, 'start', id]);
  t.equal(start.code, 0, `start: ${start.stderr.trim()}`);
  await waitFor(async () => (await runts(['--root', root, 'state', id])).stdout.includes('"stopped"'), 30_000, 'the container stopped');
  const del = await runts(['--root', root, 'delete', id]);
  t.equal(del.code, 0, `delete: ${del.stderr.trim()}`);
  t.equal(fs.readFileSync('/proc/self/mountinfo', 'utf8'), before, 'after start and delete: host mountinfo unchanged');
  t.equal(fs.readFileSync(written, 'utf8').trim(), fs.readlinkSync('/proc/self/ns/mnt'), "the process ran in the runtime's mount namespace");
});

t.test('no mount namespace: each field that needs one is refused, naming it; nothing is left', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const fields: [string, (c: BundleConfig) => void][] = [
    ['/mounts', (c) => (c.mounts = [{ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' }])],
    ['/root/readonly', (c) => (c.root!.readonly = true)],
    ['/linux/maskedPaths', (c) => (c.linux!.maskedPaths = ['/proc/kcore'])],
    ['/linux/readonlyPaths', (c) => (c.linux!.readonlyPaths = ['/proc/sys'])],
    ['/linux/rootfsPropagation', (c) => (c.linux!.rootfsPropagation = 'rslave')],
    ['/linux/devices', (c) => (c.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }])],
  ];
  const root = runtsRoot(t);
  for (const [pointer, edit] of fields) {
    const made = await makeBundle(tempDir(t, 'bundle'), {
      args: ['true'],
      config: (c) => {
        withoutMountNamespace(c);
        edit(c);
      },
    });
    const id = uniqueId('nomnt');
    const result = await runts(['--root', root, 'create', '-b', made.bundle, id]);
    t.equal(result.code, 1, `${pointer}: exit 1`);
    t.match(result.stderr, `${pointer}: requires a mount namespace (linux.namespaces has none)`, `${pointer}: named`);
    t.notOk(fs.existsSync(path.join(root, id)), `${pointer}: no state left`);
  }
});

t.test('a config without root is refused like runc does, naming /root, leaving nothing', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['true'],
    config: (c) => {
      delete c.root;
    },
  });
  const root = runtsRoot(t);
  const id = uniqueId('noroot');
  const result = await runts(['--root', root, 'create', '-b', made.bundle, id]);
  t.equal(result.code, 1);
  t.match(result.stderr, 'config.json: /root: is required on Linux');
  t.notOk(fs.existsSync(path.join(root, id)), 'no state left');
  const runc = await runts(['--root', tempDir(t, 'runc-state'), 'create', '-b', made.bundle, id], { wrap: RUNC });
  t.equal(runc.code, 1, 'runc refuses it too');
});

t.test('a device rule with access "rwa" runs, taken as "rw", side by side with runc', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  for (const { name, wrap } of runtimes) {
    const made = await makeBundle(tempDir(t, 'bundle'), {
      args: ['sh', '-c', 'echo x > /dev/null && head -c1 /dev/zero | wc -c'],
      config: (c) => {
        c.linux!.resources = {
          devices: [
            { allow: false, access: 'rwm' },
            { allow: true, type: 'c', major: 1, minor: 3, access: 'rwa' },
          ],
        };
      },
    });
    const result = await runts(['--root', tempDir(t, 'state'), 'run', '-b', made.bundle, uniqueId('rwa')], { wrap });
    t.equal(result.code, 0, `${name}: ${result.stderr.trim()}`);
    t.equal(result.stdout.trim(), '1', `${name}: /dev/null writable, /dev/zero (a default device) readable`);
  }
});

t.test('kill --all of a stopped container without a PID namespace kills what its init left and exits 0, side by side with runc', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // CRI-O sends `kill -a ID 9` whenever a hostPID container has exited; on a failure it keeps
  // the container's status unknown and StopPodSandbox waits out its timeouts.
  for (const { name, wrap } of runtimes) {
    const shared = tempDir(t, 'shared');
    const made = await makeBundle(tempDir(t, 'bundle'), {
      args: ['sh', '-c', 'sleep 1000 & echo $! > /x/orphan'],
      config: (c) => {
        c.linux!.namespaces = c.linux!.namespaces.filter((ns: { type: string }) => ns.type !== 'pid');
        c.mounts.push({ destination: '/x', type: 'bind', source: shared, options: ['rbind', 'rw'] });
      },
    });
    const root = tempDir(t, 'state');
    const id = uniqueId('killall');
    const rt = (...args: string[]) => runts(['--root', root, ...args], { wrap });
    // Whatever fails below, delete --force empties the cgroup (the orphan included).
    onCleanup(t, 'graceful', async () => {
      await rt('delete', '--force', id);
    });
    const create = await runtsToFiles(tempDir(t, 'out'), ['--root', root, 'create', '-b', made.bundle, id], { wrap });
    t.equal(create.code, 0, `${name} create: ${create.stderr.trim()}`);
    t.equal((await rt('start', id)).code, 0, `${name} start`);
    await waitFor(async () => (await rt('state', id)).stdout.includes('"stopped"'), 30_000, `${name}: the init exited`);
    const orphan = Number(fs.readFileSync(path.join(shared, 'orphan'), 'utf8'));
    t.ok(isAlive(orphan), `${name}: the init's child ${orphan} outlived it`);
    const plain = await rt('kill', id, '9');
    t.equal(plain.code, 1, `${name}: kill without --all still refuses a stopped container`);
    const all = await rt('kill', '--all', id, '9');
    t.equal(all.code, 0, `${name}: kill --all exits 0: ${all.stderr.trim()}`);
    await waitFor(() => !isAlive(orphan), 10_000, `${name}: the orphan killed`);
    t.equal((await rt('kill', '--all', id, '9')).code, 0, `${name}: again, with nothing left in the cgroup`);
    t.equal((await rt('delete', id)).code, 0, `${name} delete`);
  }
});
