#!/usr/bin/env node
// Makes a minimal OCI bundle: a busybox rootfs and a runc-style default config.json.
//   node scripts/make-bundle.mjs DIR [-- ARGS...]      (ARGS default to: sh)
// Also imported by test/lib/bundle.ts, so the bundle layout and the default
// config exist in this one place.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the busybox-static package installs its static binary. */
export const BUSYBOX = '/bin/busybox';

/** Capabilities granted by the default config (the same three runc's default gives). */
const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/**
 * The default container config: runc's `spec` defaults, except that
 * linux.resources is absent and there is no terminal.
 * @param {string[]} args the process's argv
 */
export function defaultConfig(args = ['sh']) {
  return {
    ociVersion: '1.3.0',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [...args],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
        ambient: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runts',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/**
 * Fills `rootfs` with busybox, its applet symlinks, users, groups and the
 * directories the default mounts need.
 * @param {string} rootfs
 */
function populateRootfs(rootfs) {
  if (!fs.existsSync(BUSYBOX)) {
    throw new Error(`${BUSYBOX} not found: install the Debian package busybox-static (apt-get install busybox-static)`);
  }
  for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'proc', 'sys', 'dev', 'tmp']) {
    fs.mkdirSync(path.join(rootfs, dir), { recursive: true });
  }
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  // Links are made from the host's busybox applet list so no code runs inside the rootfs.
  const applets = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    const link = path.join(rootfs, applet);
    if (applet === 'bin/busybox' || fs.existsSync(link)) continue;
    fs.symlinkSync('/bin/busybox', link);
  }
  fs.writeFileSync(
    path.join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nnobody:x:65534:\n');
}

/**
 * Creates an OCI bundle in `dir` (made if missing; must hold no rootfs or config yet).
 * @param {string} dir
 * @param {{ args?: string[], config?: (config: ReturnType<typeof defaultConfig>) => unknown }} [opts]
 *   `config` may edit the config in place or return a replacement.
 * @returns {{ bundle: string, rootfs: string, configPath: string, config: object }}
 */
export function makeBundle(dir, opts = {}) {
  const bundle = path.resolve(dir);
  const rootfs = path.join(bundle, 'rootfs');
  const configPath = path.join(bundle, 'config.json');
  for (const existing of [rootfs, configPath]) {
    if (fs.existsSync(existing)) throw new Error(`${existing} already exists`);
  }
  fs.mkdirSync(rootfs, { recursive: true });
  populateRootfs(rootfs);
  let config = defaultConfig(opts.args);
  if (opts.config) config = opts.config(config) ?? config;
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n');
  return { bundle, rootfs, configPath, config };
}

function main(argv) {
  const separator = argv.indexOf('--');
  const positional = separator === -1 ? argv : argv.slice(0, separator);
  const args = separator === -1 ? undefined : argv.slice(separator + 1);
  if (positional.length !== 1 || (args && args.length === 0)) {
    process.stderr.write('usage: node scripts/make-bundle.mjs DIR [-- ARGS...]\n');
    return 2;
  }
  try {
    const { bundle } = makeBundle(positional[0], { args });
    process.stdout.write(`${bundle}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`make-bundle: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
