// Namespaces, hostname/domainname and root: each checked from inside a running container.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runts, runtsRoot, tempDir, uniqueId, type Bundle, type BundleConfig, type RuntsResult } from '../lib';

type ConfigEdit = (config: BundleConfig) => BundleConfig | void;

/** Makes a bundle that runs `sh -c script` with `edit` applied to the default config. */
async function bundleFor(t: Test, script: string, edit?: ConfigEdit): Promise<Bundle> {
  return makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', script], config: edit });
}

/** `runts run` of a bundle in the foreground; the container is gone when it returns. */
async function runBundle(t: Test, made: Bundle, root = runtsRoot(t)): Promise<RuntsResult> {
  return runts(['--root', root, 'run', '-b', made.bundle, uniqueId('ns')]);
}

/** Runs `sh -c script` in a container and returns its stdout; fails the test on a non-zero exit. */
async function runIn(t: Test, script: string, edit?: ConfigEdit): Promise<string> {
  const result = await runBundle(t, await bundleFor(t, script, edit));
  t.equal(result.code, 0, `container exits 0 (stderr: ${result.stderr.trim()})`);
  return result.stdout;
}

const setNamespaces = (types: string[]): ConfigEdit => (c) => {
  c.linux!.namespaces = types.map((type) => ({ type }));
  if (!types.includes('uts')) delete c.hostname;
};

/** The namespace link names under /proc/PID/ns for each config.json type. */
const NS_FILES: Record<string, string> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  cgroup: 'cgroup',
  user: 'user',
  time: 'time',
};
const hostNs = (type: string) => fs.readlinkSync(`/proc/self/ns/${NS_FILES[type]}`);

/** Prints "type link" for every namespace of the container process. */
const PRINT_NAMESPACES = Object.entries(NS_FILES)
  .map(([type, file]) => `echo "${type} $(readlink /proc/self/ns/${file})"`)
  .join('; ');

function parseNamespaces(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.trim().split('\n').map((line) => line.split(' ') as [string, string]));
}

t.test('each configured namespace is new, every other one is the host\'s', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // `time` is covered with offsets below; `user` needs maps.
  for (const chosen of [['mount', 'pid'], ['mount', 'network', 'ipc', 'uts', 'cgroup']]) {
    const seen = parseNamespaces(await runIn(t, PRINT_NAMESPACES, setNamespaces(chosen)));
    for (const type of ['pid', 'network', 'mount', 'ipc', 'uts', 'cgroup']) {
      if (chosen.includes(type)) t.not(seen[type], hostNs(type), `${type}: a new namespace with [${chosen}]`);
      else t.equal(seen[type], hostNs(type), `${type}: the host's namespace with [${chosen}]`);
    }
  }
});

t.test('pid namespace: the process is pid 1 and sees only its own processes', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // The glob runs in sh itself: no other process exists while it expands.
  const out = await runIn(t, 'echo $$; echo /proc/[0-9]*');
  t.same(out.trim().split('\n'), ['1', '/proc/1'], 'pid 1, and the only process in /proc');
  const hostPid = await runIn(t, 'echo $$', setNamespaces(['mount']));
  t.not(hostPid.trim(), '1', 'without a pid namespace the process has a host pid');
});

t.test('network namespace: only a loopback interface', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const out = await runIn(t, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
  t.same(out.trim().split('\n'), ['lo']);
});

t.test('mount namespace: container mounts are invisible on the host', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const made = await bundleFor(
    t,
    `awk '$5 == "/" { print $4 } $5 == "/proc" { n++ } END { print n }' /proc/self/mountinfo`,
  );
  const result = await runBundle(t, made);
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n'), [made.rootfs, '1'], '/ is the rootfs; one /proc');
  // The container has exited; the host never had its mounts.
  t.notOk(
    fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(made.rootfs),
    'no mount under the rootfs in the host namespace',
  );
});

t.test('ipc namespace: System V objects of the host are not visible', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const shmId = execFileSync('ipcmk', ['-M', '4096'], { encoding: 'utf8' }).match(/\d+/)![0];
  t.teardown(() => execFileSync('ipcrm', ['-m', shmId]));
  const countSegments = 'tail -n +2 /proc/sysvipc/shm | wc -l';
  t.equal((await runIn(t, countSegments)).trim(), '0', 'a new ipc namespace has no segments');
  const shared = await runIn(t, countSegments, (c) => {
    c.linux!.namespaces = c.linux!.namespaces.filter((ns: { type: string }) => ns.type !== 'ipc');
  });
  t.not(shared.trim(), '0', 'without one the host segment shows');
});

t.test('uts namespace: hostname and domainname', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const out = await runIn(t, 'hostname; cat /proc/sys/kernel/domainname', (c) => {
    c.hostname = 'box-one';
    c.domainname = 'example.test';
  });
  t.same(out.trim().split('\n'), ['box-one', 'example.test']);
  const hostHostname = fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
  t.not(hostHostname, 'box-one', 'the host keeps its hostname');

  const unset = await runIn(t, 'hostname', (c) => {
    delete c.hostname;
  });
  t.equal(unset.trim(), hostHostname, 'without hostname the new uts namespace keeps the host\'s name');
});

t.test('cgroup namespace: the container sees its cgroups as roots', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const out = await runIn(t, 'cat /proc/self/cgroup', (c) => {
    c.linux!.namespaces.push({ type: 'cgroup' });
  });
  const lines = out.trim().split('\n');
  t.ok(lines.length > 0, 'has cgroup lines');
  t.same(lines.filter((l) => !l.endsWith(':/')), [], 'every hierarchy shows "/"');
});

/** Chowns a bundle's rootfs to `id` and opens the bundle path to others (mkdtemp makes 0700 dirs). */
function prepareForUserNs(made: Bundle, id: number): void {
  execFileSync('chown', ['-R', '-h', `${id}:${id}`, made.rootfs]);
  for (let dir = made.bundle; dir !== path.dirname(dir) && dir !== '/tmp'; dir = path.dirname(dir)) {
    fs.chmodSync(dir, fs.statSync(dir).mode | 0o711);
  }
}

const USERNS_HOST_ID = 200000;
const withUserNs: ConfigEdit = (c) => {
  c.linux!.namespaces.push({ type: 'user' });
  c.linux!.uidMappings = [{ containerID: 0, hostID: USERNS_HOST_ID, size: 65536 }];
  c.linux!.gidMappings = [{ containerID: 0, hostID: USERNS_HOST_ID, size: 65536 }];
  c.root.readonly = false;
};

t.test('user namespace: several map ranges', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const made = await bundleFor(t, 'cat /proc/self/uid_map /proc/self/gid_map', (c) => {
    withUserNs(c);
    c.linux!.uidMappings = [
      { containerID: 0, hostID: USERNS_HOST_ID, size: 1000 },
      { containerID: 1000, hostID: USERNS_HOST_ID + 5000, size: 10 },
    ];
    c.linux!.gidMappings = [
      { containerID: 0, hostID: USERNS_HOST_ID, size: 100 },
      { containerID: 500, hostID: USERNS_HOST_ID + 7000, size: 1 },
    ];
  });
  prepareForUserNs(made, USERNS_HOST_ID);
  const result = await runBundle(t, made);
  t.equal(result.code, 0, result.stderr);
  t.same(result.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')), [
    `0 ${USERNS_HOST_ID} 1000`,
    `1000 ${USERNS_HOST_ID + 5000} 10`,
    `0 ${USERNS_HOST_ID} 100`,
    `500 ${USERNS_HOST_ID + 7000} 1`,
  ]);
});

t.test('user namespace: uid/gid maps, and file ownership through them', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const made = await bundleFor(
    t,
    'cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u:%g /bin/busybox; touch /tmp/made-inside; readlink /proc/self/ns/user',
    withUserNs,
  );
  prepareForUserNs(made, USERNS_HOST_ID);
  const result = await runBundle(t, made);
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  t.same(lines.slice(0, 4), [`0 ${USERNS_HOST_ID} 65536`, `0 ${USERNS_HOST_ID} 65536`, '0', '0:0'], 'maps, uid 0, host-owned files map to 0:0');
  t.not(lines[4], hostNs('user'), 'a new user namespace');
  const madeInside = fs.statSync(path.join(made.rootfs, 'tmp/made-inside'));
  t.same([madeInside.uid, madeInside.gid], [USERNS_HOST_ID, USERNS_HOST_ID], 'a file made by root inside belongs to the mapped host id');
});

t.test('time namespace: offsets apply to the container clocks', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const tenDays = 10 * 86400;
  const out = await runIn(t, 'cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime', (c) => {
    c.linux!.namespaces.push({ type: 'time' });
    c.linux!.timeOffsets = { boottime: { secs: tenDays, nanosecs: 0 }, monotonic: { secs: 3600, nanosecs: 5 } };
  });
  const lines = out.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  t.same(lines.slice(0, 2).sort(), ['boottime 864000 0', 'monotonic 3600 5'], 'timens_offsets');
  const hostUptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split('.')[0]);
  t.ok(Number(lines[2]) >= hostUptime + tenDays - 5, `uptime ${lines[2]} includes the boottime offset (host ${hostUptime})`);
});

/** `runts create` of a bundle that sleeps; returns its state root, id and host pid. */
async function createSleeper(t: Test, edit: ConfigEdit): Promise<{ root: string; id: string; pid: number }> {
  const made = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '60'], config: edit });
  const root = runtsRoot(t);
  const id = uniqueId('nsa');
  const created = await runts(['--root', root, 'create', '-b', made.bundle, id]);
  t.equal(created.code, 0, `create ${id}: ${created.stderr.trim()}`);
  const state = await runts(['--root', root, 'state', id]);
  return { root, id, pid: JSON.parse(state.stdout).pid };
}

t.test('joining namespaces by path: B joins A\'s network and uts namespaces', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const a = await createSleeper(t, (c) => {
    c.hostname = 'alpha-host';
  });
  const out = await runIn(t, 'hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/uts; readlink /proc/self/ns/ipc', (c) => {
    delete c.hostname;
    c.linux!.namespaces = [
      { type: 'mount' },
      { type: 'pid' },
      { type: 'ipc' },
      { type: 'network', path: `/proc/${a.pid}/ns/net` },
      { type: 'uts', path: `/proc/${a.pid}/ns/uts` },
    ];
  });
  const aNs = (file: string) => fs.readlinkSync(`/proc/${a.pid}/ns/${file}`);
  const [hostname, net, uts, ipc] = out.trim().split('\n');
  t.same([hostname, net, uts], ['alpha-host', aNs('net'), aNs('uts')], 'B sees A\'s hostname, network and uts namespaces');
  t.not(ipc, aNs('ipc'), 'B has its own ipc namespace');
  const deleted = await runts(['--root', a.root, 'delete', '--force', a.id]);
  t.equal(deleted.code, 0, deleted.stderr);
});

t.test('invalid namespace settings fail with a clear error and leave nothing behind', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const cases: { name: string; edit: ConfigEdit; error: RegExp }[] = [
    {
      name: 'duplicate type',
      edit: (c) => {
        c.linux!.namespaces.push({ type: 'pid' });
      },
      error: /duplicate.*pid|pid.*duplicate/i,
    },
    {
      name: 'path of another namespace type',
      edit: (c) => {
        c.linux!.namespaces = [{ type: 'mount' }, { type: 'uts' }, { type: 'network', path: '/proc/self/ns/uts' }];
      },
      error: /\/proc\/self\/ns\/uts.*(network|net)|(network|net).*\/proc\/self\/ns\/uts/i,
    },
    {
      name: 'hostname without a uts namespace',
      edit: (c) => {
        c.linux!.namespaces = [{ type: 'mount' }, { type: 'pid' }];
      },
      error: /hostname.*UTS namespace/i,
    },
    {
      name: 'domainname with a joined uts namespace',
      edit: (c) => {
        delete c.hostname;
        c.domainname = 'example.test';
        c.linux!.namespaces = [{ type: 'mount' }, { type: 'uts', path: '/proc/self/ns/uts' }];
      },
      error: /domainname.*UTS namespace/i,
    },
    {
      name: 'a namespace path that does not exist',
      edit: (c) => {
        c.linux!.namespaces = [{ type: 'mount' }, { type: 'uts' }, { type: 'network', path: '/nonexistent/ns/net' }];
      },
      error: /\/nonexistent\/ns\/net/,
    },
  ];
  for (const { name, edit, error } of cases) {
    const result = await runBundle(t, await bundleFor(t, 'echo ran', edit));
    t.not(result.code, 0, `${name}: fails`);
    t.notMatch(result.stdout, /ran/, `${name}: the process never runs`);
    t.match(result.stderr, error, `${name}: error says why (${result.stderr.trim()})`);
  }
});

t.test('root: path relative to the bundle, and readonly', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const made = await bundleFor(t, 'touch /probe 2>&1; echo rc=$?; touch /tmp/probe 2>&1; echo rc=$?', (c) => {
    c.root.path = 'other-root';
  });
  fs.renameSync(made.rootfs, path.join(made.bundle, 'other-root'));
  // Run from another cwd: the root path must resolve against the bundle, not the cwd.
  const root = runtsRoot(t);
  const result = await runts(['--root', root, 'run', '-b', made.bundle, uniqueId('ns')], { cwd: '/' });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^touch: \/probe: Read-only file system\nrc=1\n/, 'writing to / fails with EROFS');
  t.match(result.stdout, /touch: \/tmp\/probe: Read-only file system\nrc=1\n$/, 'the whole root is read-only');

  const writable = await runIn(t, 'touch /probe && echo wrote; grep " / " /proc/self/mountinfo | cut -d" " -f6', (c) => {
    c.root.readonly = false;
  });
  t.match(writable, /^wrote\nrw,/, 'readonly false: / is writable');

  const absolute = await bundleFor(t, 'cat /marker');
  const elsewhere = path.join(tempDir(t, 'rootfs'), 'rootfs');
  fs.renameSync(absolute.rootfs, elsewhere);
  fs.writeFileSync(path.join(elsewhere, 'marker'), 'absolute root\n');
  absolute.config.root.path = elsewhere;
  fs.writeFileSync(absolute.configPath, JSON.stringify(absolute.config));
  const ran = await runBundle(t, absolute);
  t.same([ran.code, ran.stdout], [0, 'absolute root\n'], `an absolute root.path is used as is (${ran.stderr.trim()})`);
});

t.test('linux.sysctl: namespaced keys are set inside, the host keeps its values', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const hostValue = (key: string) => fs.readFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, 'utf8').trim();
  const keys = ['net.ipv4.ip_forward', 'kernel.shmmax', 'net.ipv4.ping_group_range', 'fs.mqueue.msg_max'];
  const before = keys.map(hostValue);
  const out = await runIn(t, keys.map((k) => `cat /proc/sys/${k.replace(/\./g, '/')}`).join('; '), (c) => {
    c.linux!.sysctl = {
      'net.ipv4.ip_forward': before[0] === '1' ? '0' : '1',
      'kernel.shmmax': '123456789',
      'net/ipv4/ping_group_range': '0 4242',
      'fs.mqueue.msg_max': '64',
    };
  });
  t.same(out.trim().split('\n').map((l) => l.replace(/\s+/g, ' ')), [before[0] === '1' ? '0' : '1', '123456789', '0 4242', '64'], 'values inside');
  t.same(keys.map(hostValue), before, 'the host\'s values are unchanged');

  const refused: [string, RegExp, ConfigEdit][] = [
    ['a net sysctl in the host network namespace', /net\.ipv4\.ip_forward.*network namespace/, (c) => {
      c.linux!.namespaces = c.linux!.namespaces.filter((ns: { type: string }) => ns.type !== 'network');
      c.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
    }],
    ['an ipc sysctl without an ipc namespace', /kernel\.shmmax.*IPC namespace/i, (c) => {
      c.linux!.namespaces = c.linux!.namespaces.filter((ns: { type: string }) => ns.type !== 'ipc');
      c.linux!.sysctl = { 'kernel.shmmax': '1' };
    }],
    ['a sysctl that is not namespaced', /vm\.swappiness.*not namespaced/, (c) => {
      c.linux!.sysctl = { 'vm.swappiness': '1' };
    }],
  ];
  for (const [name, error, edit] of refused) {
    const result = await runBundle(t, await bundleFor(t, 'echo ran', edit));
    t.not(result.code, 0, `${name}: refused`);
    t.match(result.stderr, error, `${name}: ${result.stderr.trim()}`);
  }
});
