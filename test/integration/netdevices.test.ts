// linux.netDevices with real interfaces. This host's kernel has no dummy driver, so each test
// makes a veth pair and hands one end to the container; the pair is virtual, so the kernel
// destroys it with the container's network namespace (a physical device would return to
// the initial namespace instead). Every test deletes what it made.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, onCleanup, requireRoot, runts, runtsRoot, tempDir, uniqueId, type BundleConfig } from '../lib';

/** Interface names at most 15 bytes, unique per call. */
function interfaceName(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

function hostHasLink(name: string, netns?: string): boolean {
  const args = netns ? ['-n', netns, 'link', 'show', 'dev', name] : ['link', 'show', 'dev', name];
  return spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
}

/** A veth pair on the host: `moved` goes to the container, `peer` stays. Deleted at teardown. */
function vethPair(t: Test): { moved: string; peer: string } {
  const moved = interfaceName('ndm');
  const peer = interfaceName('ndp');
  ip(['link', 'add', moved, 'type', 'veth', 'peer', 'name', peer]);
  onCleanup(t, 'remove', () => {
    // Deleting either end deletes the pair; it may already be gone with a namespace.
    for (const name of [peer, moved]) if (hostHasLink(name)) ip(['link', 'del', name]);
  });
  return { moved, peer };
}

/** A named network namespace (/run/netns/NAME), deleted at teardown. */
function namedNetns(t: Test): string {
  const name = interfaceName('rtsnd');
  ip(['netns', 'add', name]);
  onCleanup(t, 'remove', () => {
    ip(['netns', 'del', name]);
  });
  return name;
}

async function bundleWith(t: Test, script: string, edit: (c: BundleConfig) => void) {
  return makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', script], config: edit });
}

t.test('a host interface is moved in, renamed, keeps MTU and global addresses, and is up before the hooks run', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const { moved, peer } = vethPair(t);
  const inside = interfaceName('ctr');
  ip(['link', 'set', 'dev', moved, 'mtu', '1789']);
  ip(['address', 'add', '169.254.169.77/32', 'dev', moved]);
  // Host scope: not carried over (runtime-spec 1.3: permanent addresses of global scope only).
  ip(['address', 'add', '127.0.0.33/8', 'dev', moved]);
  const out = tempDir(t, 'out');
  const hookSeen = path.join(out, 'createRuntime');
  const made = await bundleWith(t, `ls /sys/class/net; cat /sys/class/net/${inside}/mtu; ip address show dev ${inside}`, (c) => {
    c.linux!.netDevices = { [moved]: { name: inside } };
    // createRuntime runs in the runtime's namespaces: it reads the container's device list
    // through /proc/<pid>/net/dev.
    c.hooks = {
      createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `pid=$(sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p'); cat /proc/$pid/net/dev > ${hookSeen}`] }],
    };
  });
  const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('nd')]);
  t.equal(result.code, 0, `container exits 0 (stderr: ${result.stderr.trim()})`);
  const lines = result.stdout.split('\n');
  t.ok(lines.includes(inside), `${inside} is in the container's /sys/class/net`);
  t.notOk(lines.includes(moved), `the host name ${moved} is not`);
  t.ok(lines.includes('1789'), 'the MTU set on the host is kept');
  t.match(result.stdout, new RegExp(`<[^>]*\\bUP\\b[^>]*> mtu 1789`), 'the device is up');
  t.match(result.stdout, /inet 169\.254\.169\.77\/32 scope global/, 'the permanent global address moved with it');
  t.notMatch(result.stdout, /127\.0\.0\.33/, 'the host-scope address did not');
  t.match(fs.readFileSync(hookSeen, 'utf8'), new RegExp(`^\\s*${inside}:`, 'm'), 'the createRuntime hook already sees the device in the container');
  // Virtual devices die with the namespace; the veth peer goes with them.
  t.notOk(hostHasLink(moved), `${moved} is not back on the host`);
  t.notOk(hostHasLink(peer), 'the veth pair was destroyed with the container\'s namespace');
});

t.test('into a joined namespace: the device stays there after delete (never moved back)', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const { moved, peer } = vethPair(t);
  const netns = namedNetns(t);
  const inside = interfaceName('ctr');
  const made = await bundleWith(t, `ip link show dev ${inside}`, (c) => {
    c.linux!.netDevices = { [moved]: { name: inside } };
    c.linux!.namespaces = c.linux!.namespaces.map((ns: { type: string }) => (ns.type === 'network' ? { type: 'network', path: `/run/netns/${netns}` } : ns));
  });
  const root = runtsRoot(t);
  const id = uniqueId('nd');
  const result = await runts(['--root', root, 'run', '-b', made.bundle, id]);
  t.equal(result.code, 0, `container exits 0 (stderr: ${result.stderr.trim()})`);
  t.match(result.stdout, new RegExp(`${inside}@`), 'the container sees the device under its new name');
  t.ok(hostHasLink(inside, netns), 'after the container is gone the device is still in the joined namespace');
  t.notOk(hostHasLink(moved) || hostHasLink(inside), 'and not on the host');
  t.ok(hostHasLink(peer), 'its veth peer stays on the host');
});

t.test('bad netDevices: exit 1 naming the device or field, nothing made, the host interface untouched', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const { moved } = vethPair(t);
  const missing = interfaceName('ndx');
  const cases: { what: string; edit: (c: BundleConfig) => void; error: RegExp }[] = [
    {
      what: 'a host interface that does not exist',
      edit: (c) => {
        c.linux!.netDevices = { [missing]: {} };
      },
      error: new RegExp(`move netDevice ${missing} to namespace /proc/\\d+/ns/net: RTM_GETLINK ${missing}: no such device \\(ENODEV\\)`),
    },
    {
      what: 'no network namespace',
      edit: (c) => {
        c.linux!.netDevices = { [moved]: {} };
        c.linux!.namespaces = c.linux!.namespaces.filter((ns: { type: string }) => ns.type !== 'network');
      },
      error: /config\.json: \/linux\/netDevices: unable to move network devices without a NET namespace/,
    },
    {
      what: "the runtime's own network namespace, joined by path",
      edit: (c) => {
        c.linux!.netDevices = { [moved]: { name: 'renamed0' } };
        c.linux!.namespaces = c.linux!.namespaces.map((ns: { type: string }) => (ns.type === 'network' ? { type: 'network', path: `/proc/${process.pid}/ns/net` } : ns));
      },
      error: /\/linux\/namespaces\/\d+\/path: unable to move network devices into the runtime's own network namespace/,
    },
    {
      what: 'an invalid new name',
      edit: (c) => {
        c.linux!.netDevices = { [moved]: { name: 'name-longer-than-15' } };
      },
      // The log line (logfmt) escapes the quotes.
      error: new RegExp(`/linux/netDevices/${moved}/name: invalid network device name \\\\"name-longer-than-15\\\\"`),
    },
  ];
  const root = runtsRoot(t);
  for (const { what, edit, error } of cases) {
    const made = await bundleWith(t, 'true', edit);
    const id = uniqueId('nd');
    const result = await runts(['--root', root, 'run', '-b', made.bundle, id]);
    t.equal(result.code, 1, `${what}: exit 1`);
    t.match(result.stderr, error, `${what}: the error names it`);
    t.notOk(fs.existsSync(path.join(root, id)), `${what}: no state dir`);
    t.ok(hostHasLink(moved), `${what}: ${moved} is still on the host`);
  }
});

// The kernel (6.18) moves the device before it refuses the name, so where the device ends up
// is the namespace's business (a virtual one dies with it), exactly as with runc's request.
t.test('a name already taken in the container namespace: EEXIST naming the device, nothing left', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const { moved } = vethPair(t);
  const made = await bundleWith(t, 'true', (c) => {
    c.linux!.netDevices = { [moved]: { name: 'lo' } };
  });
  const root = runtsRoot(t);
  const id = uniqueId('nd');
  const result = await runts(['--root', root, 'run', '-b', made.bundle, id]);
  t.equal(result.code, 1, 'exit 1');
  t.match(result.stderr, new RegExp(`move netDevice ${moved} to namespace /proc/\\d+/ns/net: RTM_NEWLINK ${moved} netns: file exists \\(EEXIST\\)`), 'the error names the device and errno');
  t.notOk(fs.existsSync(path.join(root, id)), 'no state dir');
});

t.test('a "%d" template: the kernel picks the number in the container namespace', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const { moved } = vethPair(t);
  const made = await bundleWith(t, 'ls /sys/class/net', (c) => {
    c.linux!.netDevices = { [moved]: { name: 'tpl%d' } };
  });
  const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('nd')]);
  t.equal(result.code, 0, `container exits 0 (stderr: ${result.stderr.trim()})`);
  t.same(result.stdout.trim().split('\n').sort(), ['lo', 'tpl0']);
});
