// /dev inside the container: default devices, links, pts/shm, linux.devices, user namespaces.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runts, runtsRoot, tempDir, uniqueId, type Bundle, type BundleConfig, type RuntsResult } from '../lib';

type ConfigEdit = (config: BundleConfig) => BundleConfig | void;

async function bundleFor(t: Test, script: string, edit?: ConfigEdit): Promise<Bundle> {
  return makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', script], config: edit });
}

async function runBundle(t: Test, made: Bundle): Promise<RuntsResult> {
  return runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('dev')]);
}

/** Runs `sh -c script` in a container and returns its stdout lines; fails the test on a non-zero exit. */
async function runIn(t: Test, script: string, edit?: ConfigEdit): Promise<string[]> {
  const result = await runBundle(t, await bundleFor(t, script, edit));
  t.equal(result.code, 0, `container exits 0 (stderr: ${result.stderr.trim()})`);
  return result.stdout.trim().split('\n');
}

/** One line per path: "path type major:minor mode uid:gid" (major/minor in decimal). */
const describeNodes = (paths: string[]) =>
  paths.map((p) => `echo "${p} $(stat -c '%F %t %T %a %u:%g' ${p})"`).join('; ');

function parseNodes(lines: string[]): Record<string, string> {
  const nodes: Record<string, string> = {};
  for (const line of lines) {
    const m = /^(\S+) (.+) ([0-9a-f]+) ([0-9a-f]+) (\d+) (\d+:\d+)$/.exec(line);
    if (m) nodes[m[1]] = `${m[2]} ${parseInt(m[3], 16)}:${parseInt(m[4], 16)} ${m[5]} ${m[6]}`;
  }
  return nodes;
}

const DEFAULT_NODES: Record<string, string> = {
  '/dev/null': 'character special file 1:3 666 0:0',
  '/dev/zero': 'character special file 1:5 666 0:0',
  '/dev/full': 'character special file 1:7 666 0:0',
  '/dev/random': 'character special file 1:8 666 0:0',
  '/dev/urandom': 'character special file 1:9 666 0:0',
  '/dev/tty': 'character special file 5:0 666 0:0',
};

t.test('default devices: type, major:minor, mode, owner; and they work', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const lines = await runIn(
    t,
    `${describeNodes(Object.keys(DEFAULT_NODES))}; echo gone > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; head -c 16 /dev/urandom | wc -c; { echo x > /dev/full; } 2>&1; true`,
  );
  t.same(parseNodes(lines), DEFAULT_NODES);
  t.same(lines.slice(-4), ['null-ok', '4', '16', "sh: write error: No space left on device"], 'null, zero, urandom and full behave');
});

t.test('links, /dev/pts, /dev/shm', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const links = ['/dev/ptmx', '/dev/fd', '/dev/stdin', '/dev/stdout', '/dev/stderr', '/dev/core'];
  const lines = await runIn(
    t,
    [
      ...links.map((l) => `echo "${l} -> $(readlink ${l})"`),
      `awk '$5 == "/dev/pts" || $5 == "/dev/shm" { print $5, $(NF-2) }' /proc/self/mountinfo`,
      'stat -c "%F %a" /dev/shm',
      'ls /dev/fd/ | wc -l',
    ].join('; '),
  );
  const expectedLinks = [
    '/dev/ptmx -> pts/ptmx',
    '/dev/fd -> /proc/self/fd',
    '/dev/stdin -> /proc/self/fd/0',
    '/dev/stdout -> /proc/self/fd/1',
    '/dev/stderr -> /proc/self/fd/2',
    // runc links /dev/core only where the host has /proc/kcore.
    fs.existsSync('/proc/kcore') ? '/dev/core -> /proc/kcore' : '/dev/core -> ',
  ];
  t.same(lines.slice(0, links.length), expectedLinks, 'the standard links');
  t.same(lines.slice(links.length, links.length + 2).sort(), ['/dev/pts devpts', '/dev/shm tmpfs'], 'pts and shm are mounted');
  t.equal(lines[links.length + 2], 'directory 1777', '/dev/shm is world-writable and sticky');
  t.ok(Number(lines[links.length + 3]) >= 3, '/dev/fd lists the open fds');
});

t.test('a pty can be opened through /dev/ptmx', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // script(1) is not in busybox; opening ptmx and listing the new pts is enough.
  const lines = await runIn(t, 'exec 3<>/dev/ptmx; ls /dev/pts | sort | tr "\\n" " "');
  t.equal(lines[0].trim(), '0 ptmx', 'opening /dev/ptmx made /dev/pts/0 in the container\'s devpts');
});

t.test('linux.devices: custom nodes with fileMode, uid and gid; overriding a default', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const lines = await runIn(
    t,
    `${describeNodes(['/dev/mynull', '/dev/sub/dir/myzero', '/dev/myloop', '/dev/null'])}; stat -c '%F %a' /dev/myfifo; { echo hi > /dev/mynull; } 2>&1; echo hi > /dev/null && echo write-ok; head -c 3 /dev/sub/dir/myzero | wc -c`,
    (c) => {
      c.linux!.devices = [
        { path: '/dev/mynull', type: 'c', major: 1, minor: 3, fileMode: 0o640, uid: 1000, gid: 1001 },
        { path: '/dev/sub/dir/myzero', type: 'c', major: 1, minor: 5 },
        { path: '/dev/myloop', type: 'b', major: 7, minor: 0, fileMode: 0o600 },
        { path: '/dev/myfifo', type: 'p', fileMode: 0o620 },
        { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600 },
      ];
    },
  );
  t.same(parseNodes(lines), {
    '/dev/mynull': 'character special file 1:3 640 1000:1001',
    '/dev/sub/dir/myzero': 'character special file 1:5 666 0:0',
    '/dev/myloop': 'block special file 7:0 600 0:0',
    '/dev/null': 'character special file 1:3 600 0:0',
  });
  t.same(
    lines.slice(-4),
    ['fifo 620', "sh: can't create /dev/mynull: Permission denied", 'write-ok', '3'],
    'a fifo; mode 640 owned by 1000 keeps root without CAP_DAC_OVERRIDE out; the nodes work',
  );
});

t.test('in a user namespace the devices are bind mounts of the host nodes', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const hostId = 300000;
  const made = await bundleFor(
    t,
    `${describeNodes(['/dev/null', '/dev/zero', '/dev/tty', '/dev/urandom'])}; awk '$5 ~ "^/dev/(null|zero|full|tty|random|urandom|kmsg)$" { print $5 }' /proc/self/mountinfo | sort | tr '\\n' ' '; echo; echo x > /dev/null && echo null-ok; head -c 2 /dev/zero | wc -c; test -c /dev/kmsg && echo custom-ok`,
    (c) => {
      c.linux!.namespaces.push({ type: 'user' });
      c.linux!.uidMappings = [{ containerID: 0, hostID: hostId, size: 65536 }];
      c.linux!.gidMappings = [{ containerID: 0, hostID: hostId, size: 65536 }];
      c.linux!.devices = [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11, fileMode: 0o644 }];
    },
  );
  execFileSync('chown', ['-R', '-h', `${hostId}:${hostId}`, made.rootfs]);
  for (let dir = made.bundle; dir !== '/tmp' && dir !== path.dirname(dir); dir = path.dirname(dir)) {
    fs.chmodSync(dir, fs.statSync(dir).mode | 0o711);
  }
  const result = await runBundle(t, made);
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  const overflow = fs.readFileSync('/proc/sys/kernel/overflowuid', 'utf8').trim();
  // Host-owned nodes show as the overflow ids; modes and numbers are the host's.
  t.same(parseNodes(lines), {
    '/dev/null': `character special file 1:3 666 ${overflow}:${overflow}`,
    '/dev/zero': `character special file 1:5 666 ${overflow}:${overflow}`,
    '/dev/tty': `character special file 5:0 666 ${overflow}:${overflow}`,
    '/dev/urandom': `character special file 1:9 666 ${overflow}:${overflow}`,
  });
  t.equal(lines[4].trim(), '/dev/full /dev/kmsg /dev/null /dev/random /dev/tty /dev/urandom /dev/zero', 'each device is a mount');
  t.same(lines.slice(5), ['null-ok', '2', 'custom-ok'], 'and works');
});
