// Kubernetes mountPropagation through containerd's CRI (issue #12 items 1 and 6): a volume
// bound from a shared host mount, with the options and linux.rootfsPropagation containerd
// writes for None, HostToContainer and Bidirectional, checked in both directions, side by
// side with runc; and what each rootfsPropagation value promises for the container's root.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runts, runtsRoot, tempDir, uniqueId, waitFor, type RuntsResult } from '../lib';

/** Runs runc instead of runts: the wrap gets runts' path first, which it drops. */
const RUNC = ['sh', '-c', 'shift; exec runc "$@"', 'sh'];
const runtimes = [
  { name: 'runts', wrap: [] as string[] },
  { name: 'runc', wrap: RUNC },
];

/** Mount points of the runtime's own mount namespace (the host's) under dir. */
function hostMountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p) => p?.startsWith(`${dir}/`));
}

/** dir becomes a shared mount (a bind onto itself) for body, as kubelet's pod directories are. */
async function whileShared<T>(dir: string, body: () => Promise<T>): Promise<T> {
  execFileSync('mount', ['--bind', dir, dir]);
  try {
    execFileSync('mount', ['--make-rshared', dir]);
    return await body();
  } finally {
    execFileSync('umount', ['--recursive', dir]);
  }
}

/**
 * The container mounts a tmpfs at /vol/from-container, then waits until the host has mounted
 * one at <volume>/from-host (plain files on the volume's own filesystem say when each side is
 * done, whatever propagates) and reports whether it sees the host's.
 */
const CONTAINER_SCRIPT = [
  'mount -t tmpfs ctr /vol/from-container && touch /vol/from-container/mark',
  'touch /vol/container-done',
  'while [ ! -e /vol/host-done ]; do sleep 0.05; done',
  'if [ -e /vol/from-host/mark ]; then echo host-to-container; else echo none; fi',
].join('; ');

interface Seen {
  containerToHost: boolean;
  hostToContainer: boolean;
}

async function propagationSeen(t: Test, wrap: string[], volumeOptions: string[], rootfsPropagation: string | undefined): Promise<Seen> {
  const volume = tempDir(t, 'volume');
  fs.mkdirSync(path.join(volume, 'from-container'));
  fs.mkdirSync(path.join(volume, 'from-host'));
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', CONTAINER_SCRIPT],
    config: (c) => {
      c.mounts.push({ destination: '/vol', type: 'bind', source: volume, options: volumeOptions });
      if (rootfsPropagation) c.linux!.rootfsPropagation = rootfsPropagation;
      for (const set of ['bounding', 'effective', 'permitted'] as const) c.process!.capabilities![set]!.push('CAP_SYS_ADMIN');
    },
  });
  return whileShared(volume, async () => {
    const root = tempDir(t, 'state');
    const running: Promise<RuntsResult> = runts(['--root', root, 'run', '-b', made.bundle, uniqueId('k8s')], { wrap });
    await waitFor(() => fs.existsSync(path.join(volume, 'container-done')), 30_000, 'the container mounted');
    const containerToHost = hostMountsUnder(volume).includes(path.join(volume, 'from-container'));
    execFileSync('mount', ['-t', 'tmpfs', 'host', path.join(volume, 'from-host')]);
    fs.writeFileSync(path.join(volume, 'from-host', 'mark'), '');
    fs.writeFileSync(path.join(volume, 'host-done'), '');
    const result = await running;
    t.equal(result.code, 0, `the container ran: ${result.stderr.trim()}`);
    return { containerToHost, hostToContainer: result.stdout.trim() === 'host-to-container' };
  });
}

// What containerd's CRI plugin writes for each mountPropagation of a volume.
const K8S_MODES = [
  { mode: 'None', options: ['rbind', 'rprivate'], rootfsPropagation: undefined, seen: { containerToHost: false, hostToContainer: false } },
  { mode: 'HostToContainer', options: ['rbind', 'rslave'], rootfsPropagation: 'rslave', seen: { containerToHost: false, hostToContainer: true } },
  { mode: 'Bidirectional', options: ['rbind', 'rshared'], rootfsPropagation: 'rshared', seen: { containerToHost: true, hostToContainer: true } },
];

t.test('Kubernetes mountPropagation as containerd writes it, side by side with runc', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  for (const { mode, options, rootfsPropagation, seen } of K8S_MODES) {
    for (const { name, wrap } of runtimes) {
      t.same(await propagationSeen(t, wrap, options, rootfsPropagation), seen, `${mode} with ${name}`);
    }
  }
});

/** The propagation tags (shared, master, unbindable) of the container's "/" under each value. */
async function rootTags(t: Test, wrap: string[], rootfsPropagation: string | undefined): Promise<string[]> {
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['awk', '$5 == "/"', '/proc/self/mountinfo'],
    config: (c) => {
      if (rootfsPropagation) c.linux!.rootfsPropagation = rootfsPropagation;
    },
  });
  return whileShared(made.bundle, async () => {
    const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('root')], { wrap });
    t.equal(result.code, 0, `${rootfsPropagation}: ${result.stderr.trim()}`);
    t.same(hostMountsUnder(made.bundle), [], `${rootfsPropagation}: no container mount propagated back to the host`);
    const fields = result.stdout.split(' - ')[0].split(' ').slice(6);
    return fields.map((tag) => tag.split(':')[0]).sort();
  });
}

t.test('rootfsPropagation: what each value makes of the container\'s root mount (bundle on a shared mount)', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // slave kinds: a slave of the host's mount (host to container only); private: no tags
  // (neither way); shared: shared, in a group of the container's own (the host's peer group
  // would carry the container's mounts to the host); unbindable: cannot be bound.
  const expected: [string | undefined, string[]][] = [
    [undefined, ['master']],
    ['slave', ['master']],
    ['rslave', ['master']],
    ['private', []],
    ['rprivate', []],
    ['shared', ['shared']],
    ['rshared', ['shared']],
    ['unbindable', ['unbindable']],
    ['runbindable', ['unbindable']],
  ];
  for (const [value, tags] of expected) t.same(await rootTags(t, [], value), tags, `${value ?? 'default'}: / is ${tags.join(',') || 'private'}`);
});

t.test('rootfsPropagation unbindable: the container\'s / cannot be bind-mounted', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const script = 'mount -t tmpfs t /tmp && mkdir /tmp/m && if mount --bind / /tmp/m 2>/dev/null; then echo bound; else echo refused; fi';
  for (const [value, outcome] of [['unbindable', 'refused'], ['private', 'bound']]) {
    const made = await makeBundle(tempDir(t, 'bundle'), {
      args: ['sh', '-c', script],
      config: (c) => {
        c.linux!.rootfsPropagation = value;
        for (const set of ['bounding', 'effective', 'permitted'] as const) c.process!.capabilities![set]!.push('CAP_SYS_ADMIN');
      },
    });
    const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('unbind')]);
    t.equal(result.code, 0, `${value}: ${result.stderr.trim()}`);
    t.equal(result.stdout.trim(), outcome, `${value}: a bind of / is ${outcome}`);
  }
});
