// `runts validate --host`: what this machine cannot do for a config that create would only
// find out when the init helper's syscall fails (after the cgroups and the state directory
// were made). Each fact comes from the module that decides it for create or `runts
// features`; these checks only compare the config with them. Pure given HostFacts, so the
// tests can ask about hosts other than the one they run on.
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, statfsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getSystemErrorName } from 'node:util';
import { quotedShort } from '../errors';
import { buildFeatures, type Features } from '../features';
import { execProblem } from '../hooks/run';
import { native, PROC_SUPER_MAGIC } from '../native';
import { hostLsm, labelRefusals, type HostLsm } from '../plan/process-attrs';
import type { HostSummary } from './report';
import { pointerToken } from '../spec/errors';
import { cleanPath, isAtOrUnder } from '../plan/paths';
import { mountsProcfs } from '../plan/procfs-links';
import type { PlanProcess, RootfsOp } from '../plan/types';
import type { Spec } from '../spec/types';
import { helperGrants, idMapMethod, parseSubordinateIds, subidService, type Ids, type SubordinateRange } from '../rootless/idmap';

export interface HostFacts {
  /** uname -r, for messages. */
  kernelRelease: string;
  /** `runts features` for this kernel: seccomp flags, memory policies, idmapped mounts. */
  features: Features;
  /** The kernel has time namespaces (CONFIG_TIME_NS, Linux 5.6). */
  timeNamespaces: boolean;
  /** The LSMs this host runs (what create's plan checks labels against). */
  lsm: HostLsm;
  /** Network interfaces of the runtime's network namespace. */
  interfaceExists: (name: string) => boolean;
  /** Whether a file here is a regular file the caller may execute (the hooks create runs). */
  executable: (file: string) => boolean;
  /** The caller, when runts runs rootless (not root): its ids and whether newuidmap/newgidmap are installed. */
  rootless?: RootlessCaller;
}

export interface RootlessCaller {
  ids: Ids;
  mapHelpers: boolean;
  /** The caller's user name (newuidmap looks it up), undefined when passwd has none. */
  user?: string;
  /** What /etc/subuid and /etc/subgid grant the caller (by name or uid). */
  subordinate: { uid: SubordinateRange[]; gid: SubordinateRange[] };
  /** The NSS service (e.g. sss) the map helpers ask instead of those files, when one is set. */
  subidService?: string;
}

const SUBORDINATE_FILES = { uid: '/etc/subuid', gid: '/etc/subgid' } as const;

/** The summary create's host-dependent choices come from: the facts plus what the cgroup
 *  driver decided (layout, controllers, join method). */
export function hostSummary(facts: HostFacts, cgroups: HostSummary['cgroups'], rootlessCgroups: boolean): HostSummary {
  return {
    kernel: facts.kernelRelease,
    cgroups,
    timeNamespaces: facts.timeNamespaces,
    idmappedMounts: facts.features.linux.mountExtensions.idmap.enabled,
    seccompFlags: [...facts.features.linux.seccomp.supportedFlags],
    lsm: { ...facts.lsm },
    rootless: { euid: facts.rootless !== undefined, cgroups: rootlessCgroups },
  };
}

export interface HostProblem {
  pointer: string;
  message: string;
}

const SEARCH_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/** Whether `tool` is on PATH, where create's spawnSync would look for it. */
function onPath(tool: string): boolean {
  return (process.env.PATH ?? SEARCH_PATH).split(':').some((dir) => dir !== '' && existsSync(`${dir}/${tool}`));
}

function userName(uid: number): string | undefined {
  try {
    return os.userInfo().uid === uid ? os.userInfo().username : undefined;
  } catch {
    return undefined;
  }
}

function readOptional(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function rootlessCaller(ids: Ids): RootlessCaller {
  const user = userName(ids.uid);
  const who = { name: user ?? String(ids.uid), uid: ids.uid };
  return {
    ids,
    mapHelpers: onPath('newuidmap') && onPath('newgidmap'),
    user,
    subordinate: { uid: parseSubordinateIds(readOptional(SUBORDINATE_FILES.uid), who), gid: parseSubordinateIds(readOptional(SUBORDINATE_FILES.gid), who) },
    subidService: subidService(readOptional('/etc/nsswitch.conf')),
  };
}

export function hostFacts(rootlessIds?: Ids): HostFacts {
  const kernelRelease = os.release();
  return {
    kernelRelease,
    features: buildFeatures(kernelRelease),
    timeNamespaces: existsSync('/proc/self/ns/time'),
    lsm: hostLsm(),
    interfaceExists: (name) => existsSync(`/sys/class/net/${name}`),
    executable: (file) => execProblem(file) === undefined,
    rootless: rootlessIds && rootlessCaller(rootlessIds),
  };
}

/** Every field of `spec` this host cannot carry out, with the reason. */
export function hostProblems(spec: Spec, facts: HostFacts): HostProblem[] {
  const problems: HostProblem[] = [];
  const linux = spec.linux ?? {};
  const kernel = facts.kernelRelease;

  (linux.namespaces ?? []).forEach((ns, index) => {
    if (ns.type === 'time' && !ns.path && !facts.timeNamespaces) {
      problems.push({ pointer: `/linux/namespaces/${index}`, message: `this kernel (${kernel}) has no time namespaces (Linux 5.6 with CONFIG_TIME_NS): /proc/self/ns/time is missing` });
    }
  });

  if (!facts.features.linux.mountExtensions.idmap.enabled) {
    (spec.mounts ?? []).forEach((mount, index) => {
      if (mount.uidMappings || mount.gidMappings || mount.options?.some((o) => o === 'idmap' || o === 'ridmap')) {
        problems.push({ pointer: `/mounts/${index}`, message: `idmapped mounts need Linux 5.12 (mount_setattr MOUNT_ATTR_IDMAP); this kernel is ${kernel}` });
      }
    });
  }

  const supportedFlags = new Set(facts.features.linux.seccomp.supportedFlags);
  (linux.seccomp?.flags ?? []).forEach((flag, index) => {
    if (!supportedFlags.has(flag)) {
      problems.push({ pointer: `/linux/seccomp/flags/${index}`, message: `seccomp flag ${flag} is not supported by this kernel (${kernel}); supported: ${[...supportedFlags].join(', ') || 'none'}` });
    }
  });

  const policy = linux.memoryPolicy;
  if (policy) {
    const { modes, flags } = facts.features.linux.memoryPolicy;
    if (policy.mode && !modes.includes(policy.mode)) problems.push({ pointer: '/linux/memoryPolicy/mode', message: `memory policy mode ${policy.mode} is not supported by this kernel (${kernel})` });
    (policy.flags ?? []).forEach((flag, index) => {
      if (!flags.includes(flag)) problems.push({ pointer: `/linux/memoryPolicy/flags/${index}`, message: `memory policy flag ${flag} is not supported by this kernel (${kernel})` });
    });
  }

  const labelPointers = { apparmorProfile: '/process/apparmorProfile', selinuxLabel: '/process/selinuxLabel', mountLabel: '/linux/mountLabel' } as const;
  for (const { field, error } of labelRefusals(spec.process ?? {}, linux.mountLabel, () => facts.lsm)) {
    problems.push({ pointer: labelPointers[field], message: error.message });
  }

  for (const name of Object.keys(linux.netDevices ?? {})) {
    if (!facts.interfaceExists(name)) {
      problems.push({ pointer: `/linux/netDevices/${pointerToken(name)}`, message: `no network interface ${JSON.stringify(name)} in the runtime's network namespace` });
    }
  }

  // create runs these hooks on this host: prestart and createRuntime in the runtime's
  // namespaces, createContainer from the init in the container's mount namespace before
  // pivot_root, where the host's paths outside the rootfs are the same. A program that is not
  // there fails create after the namespaces and cgroups were made.
  for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) {
    (spec.hooks?.[kind] ?? []).forEach((hook, index) => {
      if (!facts.executable(hook.path)) problems.push({ pointer: `/hooks/${kind}/${index}/path`, message: `${hook.path} is not an executable file on this host, where create runs ${kind} hooks` });
    });
  }

  const rootless = facts.rootless;
  const userns = linux.namespaces?.find((ns) => ns.type === 'user');
  if (rootless && userns && !userns.path) problems.push(...idMapProblems(linux, rootless));
  return problems;
}

const rangeText = (start: number, count: number) => (count === 1 ? `${start}` : `${start}-${start + count - 1}`);

/** Rootless maps beyond the caller's own id go through newuidmap/newgidmap: installed, and
 *  each entry granted in /etc/subuid or /etc/subgid (or the caller's own id alone), unless
 *  nsswitch.conf sends the helpers to an NSS service for the grants. */
function idMapProblems(linux: NonNullable<Spec['linux']>, rootless: RootlessCaller): HostProblem[] {
  const problems: HostProblem[] = [];
  const method = idMapMethod(linux.uidMappings ?? [], linux.gidMappings ?? [], rootless.ids);
  for (const [kind, field] of [['uid', 'uidMappings'], ['gid', 'gidMappings']] as const) {
    if (method[kind] !== 'helper') continue;
    if (!rootless.mapHelpers) {
      problems.push({ pointer: `/linux/${field}`, message: `a rootless container mapping more than the caller's own ${kind} needs new${kind}map (package uidmap), which is not installed` });
      continue;
    }
    // Grants held by an NSS service (libsubid) are for new${kind}map alone to look up.
    if (rootless.subidService) continue;
    const granted = rootless.subordinate[kind];
    const own = rootless.ids[kind];
    const who = rootless.user === undefined ? `uid ${rootless.ids.uid}` : `${rootless.user} (uid ${rootless.ids.uid})`;
    const grants = granted.length === 0 ? 'no range' : granted.map((r) => rangeText(r.start, r.count)).join(', ');
    (linux[field] ?? []).forEach((m, index) => {
      if (helperGrants(m, granted, own)) return;
      problems.push({
        pointer: `/linux/${field}/${index}`,
        message: `new${kind}map refuses host ${kind}s ${rangeText(m.hostID, m.size)}: ${SUBORDINATE_FILES[kind]} grants ${who} ${grants}, besides the caller's own ${kind} ${own} alone`,
      });
    });
  }
  return problems;
}

/**
 * Bind mounts whose source the helper will not find: a host path inside the rootfs below the
 * target of an earlier tmpfs mount, which hides it in the container's mount namespace (e.g.
 * root.path "/" with a v1 cgroup mount: the /sys/fs/cgroup tmpfs hides the cgroup directories
 * the binds that follow take as sources; runc 1.1.5 fails there too). `ops` and `rootfs` are
 * create's plan.
 */
export function hiddenBindSources(rootfs: string, ops: readonly RootfsOp[], mounts: Spec['mounts'] = []): HostProblem[] {
  const problems: HostProblem[] = [];
  const fresh: string[] = [];
  const inRootfs = (target: string) => path.posix.join(rootfs, target);
  for (const op of ops) {
    if (op.op !== 'mount') continue;
    if (op.fstype === 'bind') {
      const hider = fresh.find((dir) => op.source.startsWith(`${dir}/`));
      if (hider) {
        // The config mount that asks for it: the one whose destination holds the target.
        const index = mounts.reduce((best, m, i) => (isUnder(op.target, m.destination) && (best < 0 || m.destination.length >= mounts[best].destination.length) ? i : best), -1);
        const pointer = index < 0 ? '/root/path' : `/mounts/${index}`;
        // create stops at the first; one per config mount is enough to say why.
        if (problems.some((p) => p.pointer === pointer)) continue;
        problems.push({
          pointer,
          message: `the bind source ${op.source} is hidden by the tmpfs mounted on ${hider} before it (root.path ${JSON.stringify(rootfs)}): mounting ${op.target} would fail with "no such file or directory"`,
        });
      }
    }
    if (op.fstype === 'tmpfs') fresh.push(inRootfs(op.target));
  }
  return problems;
}

/** Filesystems validate --host mounts once, in a throwaway mount namespace, to hear the kernel
 *  on their data: no backing device (a probe makes only an empty superblock, or finds the
 *  namespace's own), and not cgroup (a v1 mount could bind a free controller to a new
 *  hierarchy). */
const PROBED_FILESYSTEMS = new Set(['tmpfs', 'ramfs', 'devpts', 'mqueue', 'proc', 'sysfs']);

/**
 * Mounts whose data the kernel refuses. An option that is no mount flag goes to the filesystem
 * as data, which only that filesystem's parser judges: create would fail at that mount
 * (EINVAL). `refusal` mounts it as the plan would and says the errno name mount(2) failed
 * with, or undefined when it mounted or the probe cannot run (rootless).
 */
export function refusedMountData(ops: readonly RootfsOp[], mounts: Spec['mounts'] = [], refusal: (fstype: string, flags: number, data: string) => string | undefined): HostProblem[] {
  const problems: HostProblem[] = [];
  for (const op of ops) {
    if (op.op !== 'mount' || op.data === '' || !PROBED_FILESYSTEMS.has(op.fstype)) continue;
    const refused = refusal(op.fstype, op.flags, op.data);
    if (!refused) continue;
    const index = configMountIndex(op, mounts);
    problems.push({
      pointer: index < 0 ? '/mounts' : `/mounts/${index}/options`,
      message: `the kernel refuses ${op.fstype} with the data ${quotedShort(op.data)} (${refused}, mount(2) tried here in a throwaway mount namespace): create would fail mounting ${op.target}`,
    });
  }
  return problems;
}

/** The index in config.json's mounts of the mount a planned filesystem mount is made for, -1
 *  when none is (the plan's own). */
function configMountIndex(op: Extract<RootfsOp, { op: 'mount' }>, mounts: NonNullable<Spec['mounts']>): number {
  return mounts.findIndex((m) => m.type === op.fstype && cleanPath(`/${m.destination}`) === op.target);
}

/** Mounts of a filesystem type this kernel does not have and cannot load: mount(2) fails with
 *  ENODEV. `known` says undefined where the host cannot tell. */
export function unknownFilesystems(ops: readonly RootfsOp[], mounts: Spec['mounts'] = [], known: (fstype: string) => boolean | undefined): HostProblem[] {
  const problems: HostProblem[] = [];
  for (const op of ops) {
    if (op.op !== 'mount' || op.fstype === 'bind' || known(op.fstype) !== false) continue;
    const index = configMountIndex(op, mounts);
    problems.push({
      pointer: index < 0 ? '/mounts' : `/mounts/${index}/type`,
      message: `this kernel has no filesystem ${JSON.stringify(op.fstype)} (/proc/filesystems) and no module to load for it: mounting ${op.target} would fail with "no such device"`,
    });
  }
  return problems;
}

/** Whether this kernel can mount `fstype`: it has it (/proc/filesystems), or mount(2)'s
 *  request for module fs-TYPE would load one (modules.alias); undefined when the module index
 *  cannot be read. */
export function hostFilesystem(fstype: string): boolean | undefined {
  if (readOptional('/proc/filesystems').split('\n').some((line) => line.split('\t')[1] === fstype)) return true;
  const modules = `/lib/modules/${os.release()}`;
  if (!existsSync(modules)) return false;
  try {
    return readFileSync(`${modules}/modules.alias`, 'utf8').includes(`\nalias fs-${fstype} `);
  } catch {
    return undefined;
  }
}

/** What mount(2) of `fstype` fails with on this host (an errno name), undefined when it mounts
 *  or runts may not try (no CAP_SYS_ADMIN). */
export function hostMountRefusal(fstype: string, flags: number, data: string): string | undefined {
  try {
    const errno = native().probeMount(fstype, flags, data);
    return errno === 0 ? undefined : getSystemErrorName(-errno);
  } catch {
    return undefined;
  }
}

/** Whether `target` (a planned path) lies at or under a config's mount `destination`. */
const isUnder = (target: string, destination: string) => isAtOrUnder(target, path.posix.normalize(`/${destination}`));

/**
 * The procfs the init needs at /proc once its mounts are made (it reopens the exec fifo
 * through /proc/self/fd; runc closes fds through it), where no mount of create's plan puts
 * one there: then only the rootfs itself can have it (root.path "/"). The plan refuses a
 * filesystem on / that hides an earlier proc mount; this is what the host's rootfs holds.
 */
export function procfsProblem(rootfs: string, ops: readonly RootfsOp[], isProcfsDir: (dir: string) => boolean | undefined): HostProblem | undefined {
  if (ops.some((op) => op.op === 'mount' && (op.target === '/proc' || op.target === '/'))) return undefined;
  const dir = path.posix.join(rootfs, 'proc');
  if (isProcfsDir(dir) !== false) return undefined;
  return { pointer: '/mounts', message: `no mount puts a procfs on /proc, and ${dir} is none: the init needs the container's own procfs there (runc too)` };
}

/** Whether `dir` on this host is procfs; undefined where the init alone can tell (a symlink,
 *  which it resolves inside the container) or a missing rootfs (reported as such). */
export function hostProcfsDir(dir: string): boolean | undefined {
  try {
    return lstatSync(dir).isSymbolicLink() ? undefined : statfsSync(dir).type === PROC_SUPER_MAGIC;
  } catch {
    return existsSync(path.posix.dirname(dir)) ? false : undefined;
  }
}

/**
 * Device nodes create's plan makes (mknod, or a bind of the host's node in a user namespace)
 * where the rootfs holds a directory and no mount of the plan covers it first: the init
 * replaces a stale node but not a directory (runc skips the device there, silently).
 * `isDirectory` says undefined where the host cannot tell.
 */
export function devicesOnDirectories(rootfs: string, ops: readonly RootfsOp[], devices: NonNullable<Spec['linux']>['devices'] = [], isDirectory: (file: string) => boolean | undefined): HostProblem[] {
  const problems: HostProblem[] = [];
  const mounted: string[] = [];
  for (const op of ops) {
    if (op.op === 'mount') mounted.push(op.target);
    if (op.op !== 'mknod' && op.op !== 'bind-device') continue;
    const node = cleanPath(op.path);
    if (mounted.some((target) => isUnder(node, target)) || isDirectory(cleanPath(path.posix.join(rootfs, node))) !== true) continue;
    const index = devices.findIndex((d) => cleanPath(d.path) === node);
    problems.push({
      pointer: index < 0 ? '/linux/devices' : `/linux/devices/${index}/path`,
      message: `${node} is a directory in the rootfs (${rootfs}), where create would make a device node: mknod fails there`,
    });
  }
  return problems;
}

/** Whether `file` on this host is a directory, when its parents hold no symlink (the init
 *  resolves those inside the container). */
export function hostDirectory(file: string): boolean | undefined {
  try {
    if (realpathSync(path.posix.dirname(file)) !== path.posix.dirname(file)) return undefined;
    return lstatSync(file).isDirectory();
  } catch {
    return undefined;
  }
}

/** What the host sees at a path of the container, resolved inside the rootfs: `covered` where
 *  the way there passes something the plan mounts or makes (what lies there only the init sees). */
type InRoot = 'covered' | 'missing' | 'not-executable' | 'executable';

const MAX_SYMLINKS = 40;

/** `containerPath` as the init's stat(2) resolves it once the mounts are made (symlinks, also
 *  absolute ones, inside the rootfs), from what the host holds in the rootfs itself. */
function executableInRoot(rootfs: string, containerPath: string, made: readonly string[], procfs: readonly string[]): InRoot {
  const pending = containerPath.split('/').filter((n) => n !== '' && n !== '.').reverse();
  let at = '/';
  let links = 0;
  while (pending.length > 0) {
    const name = pending.pop()!;
    // The init's own /proc/self/root (stat follows magic links): the container's root.
    if (procfs.includes(at) && (name === 'self' || name === 'thread-self') && pending.at(-1) === 'root') {
      pending.pop();
      at = '/';
      continue;
    }
    const next = name === '..' ? path.posix.dirname(at) : path.posix.join(at, name);
    if (procfs.includes(next)) {
      at = next;
      continue;
    }
    if (made.some((target) => isAtOrUnder(next, target))) return 'covered';
    const hostPath = path.posix.join(rootfs, next);
    let stat;
    try {
      stat = lstatSync(hostPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // The plan makes the directories down to what it mounts or makes.
      if (made.some((target) => isAtOrUnder(target, next))) return 'covered';
      return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'covered';
    }
    if (stat.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) return 'missing';
      const target = readlinkSync(hostPath);
      pending.push(...target.split('/').filter((n) => n !== '' && n !== '.').reverse());
      if (target.startsWith('/')) at = '/';
      continue;
    }
    if (pending.length > 0 && !stat.isDirectory()) return 'missing';
    at = next;
    if (pending.length === 0) return stat.isDirectory() || (stat.mode & 0o111) === 0 ? 'not-executable' : 'executable';
  }
  return 'not-executable';
}

/**
 * process.args[0] the init will not find (it looks it up as runc does, after its mounts and
 * chdir, before it reports the container created): a name with a slash from the cwd, any
 * other along its PATH. An error only where the host can tell for every place it looks: none
 * under a mount of the plan (a bind may bring the program, a tmpfs hide it) or a node or link
 * the plan makes. `process` is the plan's (its env is what the init searches).
 */
export function missingExecutable(rootfs: string, ops: readonly RootfsOp[], process: PlanProcess | null): HostProblem | undefined {
  const name = process?.args[0];
  if (!process || !name) return undefined;
  const made = ops.flatMap((op) => (op.op === 'mount' ? [op.target] : op.op === 'mknod' || op.op === 'bind-device' || op.op === 'symlink' ? [op.path] : []));
  const procfs = ops.flatMap((op) => (op.op === 'mount' && mountsProcfs(op) ? [op.target] : []));
  // Joined, not normalised: a ".." after a symlink goes up from where the link leads.
  const look = (file: string) => executableInRoot(rootfs, file.startsWith('/') ? file : `${process.cwd}/${file}`, made, procfs);
  const where = `in the rootfs ${rootfs}, under no mount of the config`;
  if (name.includes('/')) {
    const found = look(name);
    if (found === 'missing') return { pointer: '/process/args/0', message: `exec: "${name}": stat ${name}: no such file or directory (${where})` };
    if (found === 'not-executable') return { pointer: '/process/args/0', message: `exec: "${name}": permission denied: a directory, or a file without an execute bit (${where})` };
    return undefined;
  }
  const pathEnv = process.env.filter((e) => e.startsWith('PATH=')).pop()?.slice('PATH='.length) ?? '';
  const dirs = pathEnv === '' ? [] : pathEnv.split(':').map((dir) => dir || '.');
  if (dirs.some((dir) => ['executable', 'covered'].includes(look(`${dir}/${name}`)))) return undefined;
  return { pointer: '/process/args/0', message: `exec: "${name}": executable file not found in $PATH (PATH=${pathEnv}, ${where})` };
}

/** The rootfs create's plan names, which the init resolves first: it must exist. */
export function rootfsProblem(rootfs: string, exists: (path: string) => boolean): HostProblem | undefined {
  if (exists(rootfs)) return undefined;
  return { pointer: '/root/path', message: `root.path: resolve rootfs ${rootfs}: no such file or directory` };
}
