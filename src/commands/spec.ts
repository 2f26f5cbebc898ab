// runts spec [-b DIR] [--rootless]: write a starter config.json, the same defaults as
// `runc spec` except that linux.resources, which runc fills with one deny-all device rule,
// is left out (cgroup limits are supported; the test bundles of scripts/make-bundle.mjs are
// made with this command, so adding the rule changes every integration test's cgroups).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineCommand } from '../cli/command';
import { OCI_SPEC_VERSION } from '../cli/version';
import { errnoMessage, RuntimeError } from '../errors';

const defaultCapabilities = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

type Mount = { destination: string; type: string; source: string; options?: string[] };

/** The starter config. `rootless` gives a config an unprivileged user can run: a user
 *  namespace mapping root to the caller, no network namespace, host /sys bound read-only
 *  (sysfs cannot be mounted without owning the network namespace), no devpts gid. */
export function defaultSpec(rootless: boolean, ids = { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 }) {
  const mounts: Mount[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', ...(rootless ? [] : ['gid=5'])],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    rootless
      ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
  const namespaces = rootless
    ? ['pid', 'ipc', 'uts', 'mount', 'user']
    : ['pid', 'network', 'ipc', 'uts', 'mount'];
  return {
    ociVersion: OCI_SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: defaultCapabilities,
        effective: defaultCapabilities,
        permitted: defaultCapabilities,
        ambient: defaultCapabilities,
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runts',
    mounts,
    linux: {
      ...(rootless
        ? {
            uidMappings: [{ containerID: 0, hostID: ids.uid, size: 1 }],
            gidMappings: [{ containerID: 0, hostID: ids.gid, size: 1 }],
          }
        : {}),
      namespaces: namespaces.map((type) => ({ type })),
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

export default defineCommand({
  name: 'spec',
  describe: 'create a new config.json for a bundle',
  flags: {
    bundle: { type: 'string', alias: 'b', describe: 'the bundle directory (default: the current directory)' },
    // Shadows the global --rootless (true|false|auto) in run()'s arguments.
    rootless: { type: 'boolean', describe: 'generate a configuration for a rootless container' },
  },
  positionals: [],
  run(args) {
    const bundle = path.resolve(args.bundle ?? '.');
    try {
      if (!fs.statSync(bundle).isDirectory()) throw new RuntimeError(`bundle ${bundle} is not a directory`);
    } catch (err) {
      if (err instanceof RuntimeError) throw err;
      throw new RuntimeError(errnoMessage(err), { cause: err });
    }
    const file = path.join(bundle, 'config.json');
    try {
      fs.writeFileSync(file, JSON.stringify(defaultSpec(args.rootless), null, '\t'), { flag: 'wx', mode: 0o666 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntimeError('File config.json exists. Remove it first');
      throw new RuntimeError(errnoMessage(err), { cause: err });
    }
  },
});
