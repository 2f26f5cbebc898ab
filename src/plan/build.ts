// Turn a validated config.json into the init plan the C++ helper executes. Every decision
// about what config.json means is made here, where it can be unit-tested without root.
import { readFileSync, statfsSync, statSync } from 'node:fs';
import { EngineError, quotedShort } from '../errors';
import { PROC_SUPER_MAGIC } from '../native';
import * as path from 'node:path';
import type { Mount, Process, Spec } from '../spec/types';
import type { Hierarchy } from '../cgroups/hierarchy';
import { hostCgroupDir } from '../cgroups/hierarchy';
import { CAPABILITY_NUMBERS, capabilityNumbers } from './capabilities';
import { sourceMountFlags, withLockedFlags } from './locked-flags';
import { MS, PROPAGATION_OPTIONS, parseMountOptions, type ParsedMountOptions } from './mount-options';
import { isAtOrUnder } from './paths';
import { mountsProcfs, procfsLinks } from './procfs-links';
import { hostNrOpen, RLIMIT_NUMBERS, rlimitValue } from './rlimits';
import { idMapText } from './id-maps';
import type { InitPlan, NamespaceType, PlanCapabilities, PlanHook, PlanIdmap, PlanProcess, PlanSeccomp, RootfsOp } from './types';
import { compileSeccomp, SeccompError } from '../seccomp/compile';
import { hostLsm, labelRefusals, planProcessAttrs, ProcessAttrError, type HostLsm } from './process-attrs';
import { OCI_SPEC_VERSION } from '../cli/version';

export class PlanError extends EngineError {
  override name = 'PlanError';
}

export const CLONE_FLAGS: Readonly<Record<NamespaceType, number>> = {
  mount: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  network: 0x40000000,
  cgroup: 0x02000000,
  time: 0x00000080,
};

/** Devices every container gets (runc's default list), before linux.devices. */
const DEFAULT_DEVICES = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/tty', major: 5, minor: 0 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/random', major: 1, minor: 8 },
];

export interface PlanInputs {
  id: string;
  /** Absolute bundle directory. */
  bundle: string;
  spec: Spec;
  execFifo: string;
  console: InitPlan['console'];
  noPivot: boolean;
  preserveFds: number;
  /** Host cgroup hierarchies, for `cgroup` mounts (see hostHierarchies()). */
  hierarchies: Hierarchy[];
  /** Highest capability number the kernel knows. */
  lastCap: number;
  /** Whether the host has /proc/kcore (for the /dev/core link). */
  hasKcore: boolean;
  /** The host's LSMs; looked up (hostLsm()) only when a label is configured. */
  lsm?: HostLsm;
  /** The host's fs.nr_open; read (hostNrOpen()) only when an RLIMIT_NOFILE is configured. */
  nrOpen?: number;
  /** Set when runts runs unprivileged: the mount points of the host cgroup hierarchies in
   *  which the container has no cgroup of its own (rootless cgroups skipped them). */
  rootless?: { unjoinedHierarchies: string[] };
  /** The runtime's /proc/self/mountinfo (read when needed if absent): bind sources' flags. */
  mountinfo?: string;
  /** runts runs with a non-zero euid (rootless cgroups may be forced on as root as well). */
  rootlessEuid?: boolean;
}

/** What planning a mount needs besides the mount itself. */
interface MountContext {
  bundle: string;
  hierarchies: Hierarchy[];
  newCgroupNs: boolean;
  /** The container has its own user namespace: inherited mount flags are locked. */
  userns: boolean;
  /** A new user namespace sharing the runtime's network namespace: sysfs cannot be mounted. */
  sysfsForbidden: boolean;
  /** A new user namespace sharing the runtime's pid namespace: proc cannot be mounted. */
  procForbidden: boolean;
  /** Filled in: the mounts made read-write now and read-only at the end (lateReadonly). */
  lateReadonly: string[];
  /** The container has a pid namespace (new or joined): a bind of a host procfs is refused. */
  hasPidNs: boolean;
  rootless: PlanInputs['rootless'];
  mountinfo(): string;
  /** What idmap/ridmap without mappings of their own use: the container's user namespace. */
  containerUserns: PlanIdmap['userns'] | null;
  /** linux.mountLabel, '' when none. */
  mountLabel: string;
  /** Bind sources are opened by the runtime's side (RootfsOp openSourceOnHost). */
  openBindSourcesOnHost: boolean;
}

export interface BuiltPlan {
  plan: InitPlan;
  warnings: string[];
  /** Worth a debug line only (runc says nothing about these). */
  notes: string[];
}

export function buildPlan(inputs: PlanInputs): BuiltPlan {
  const { spec, bundle } = inputs;
  const warnings: string[] = [];
  const notes: string[] = [];
  const linux = spec.linux ?? {};
  const lsm = lazyLsm(inputs.lsm);
  const [mountLabelRefused] = labelRefusals({}, linux.mountLabel, lsm);
  if (mountLabelRefused) throw new PlanError(mountLabelRefused.error.message);
  if (!spec.root) throw new PlanError('root must be specified');
  const rootfs = path.resolve(bundle, spec.root.path);
  const namespaces = planNamespaces(spec);
  const userJoin = namespaces.join.find((ns) => ns.type === 'user');
  // A joined user namespace cannot mknod either.
  const inUserNs = namespaces.newUser || userJoin !== undefined;
  const newCgroupNs = (namespaces.unshareFlags & CLONE_FLAGS.cgroup) !== 0;
  // What idmap/ridmap without mappings of their own use: the container's user namespace.
  const containerUserns: PlanIdmap['userns'] | null = userJoin
    ? { path: userJoin.path }
    : namespaces.newUser
      ? { uidMap: idMapText(linux.uidMappings ?? []), gidMap: idMapText(linux.gidMappings ?? []) }
      : null;

  const types = new Set((linux.namespaces ?? []).map((ns) => ns.type));
  let mountinfo = inputs.mountinfo;
  const ctx: MountContext = {
    bundle,
    hierarchies: inputs.hierarchies,
    newCgroupNs,
    userns: types.has('user'),
    sysfsForbidden: namespaces.newUser && !types.has('network'),
    procForbidden: namespaces.newUser && !types.has('pid'),
    hasPidNs: types.has('pid'),
    lateReadonly: [],
    rootless: inputs.rootless,
    mountinfo: () => (mountinfo ??= readFileSync('/proc/self/mountinfo', 'utf8')),
    containerUserns,
    mountLabel: linux.mountLabel ?? '',
    // Only with a user namespace, as runc 1.1: without one stage2 has the runtime's own
    // credentials and reaches every source anyway, and the opener costs a fork on each create.
    // Not when runts runs unprivileged: joining the container's mount namespace needs
    // CAP_SYS_CHROOT where runts runs, and the container's root is the caller there anyway.
    openBindSourcesOnHost: inUserNs && !inputs.rootlessEuid,
  };
  // Without a mount namespace of its own the container gets no mount at all (the spec
  // checks refused every field that needs one): no devices, no /dev links, only the cwd.
  const privateMounts = types.has('mount');
  const rootfsOps: RootfsOp[] = [];
  let overProc: MountOver | undefined;
  if (privateMounts) {
    (spec.mounts ?? []).forEach((mount, index) => {
      const ops = mountOps(mount, ctx);
      checkNotOnItself(ops, rootfsOps, index, mount);
      for (const op of ops) if (op.op === 'mount') checkContainerPath(`/mounts/${index}/destination`, op.target, rootfsOps, 'magic');
      rootfsOps.push(...ops);
      const op = lastMountOver('/proc', ops, ops.length);
      if (op) overProc = { op, index, destination: mount.destination };
    });
    // A bind mount at /dev brings its own devices: runc then makes no devices, links or ptmx.
    if (!(spec.mounts ?? []).some((m) => path.posix.normalize(m.destination) === '/dev' && parseMountOptions(m.options).bind)) {
      rootfsOps.push(...deviceOps(spec, inUserNs));
      rootfsOps.push(...devSymlinkOps(inputs.hasKcore));
    }
  }
  checkProcfsAtProc(overProc);
  if (spec.process?.cwd) rootfsOps.push({ op: 'mkdir', path: path.posix.normalize(spec.process.cwd) });
  checkContainerPaths(spec, rootfsOps);

  const hooks = spec.hooks ?? {};
  const process = spec.process ? planProcess(spec, { ...inputs, lsm, nrOpen: () => inputs.nrOpen ?? hostNrOpen() }, warnings, notes, false) : null;
  const plan: InitPlan = {
    containerId: inputs.id,
    rootfs,
    namespaces,
    setupPropagation: privateMounts ? setupPropagation(linux.rootfsPropagation) : 0,
    rootPropagation: privateMounts ? finalRootPropagation(linux.rootfsPropagation) : 0,
    rootfsOps,
    noPivot: inputs.noPivot,
    rootReadonly: spec.root?.readonly === true,
    readonlyPaths: (linux.readonlyPaths ?? []).map((p) => path.posix.normalize(p)),
    lateReadonlyMounts: ctx.lateReadonly,
    maskedPaths: (linux.maskedPaths ?? []).map((p) => path.posix.normalize(p)),
    maskedDirLabel: linux.mountLabel || null,
    sysctl: Object.entries(linux.sysctl ?? {}),
    hostname: spec.hostname ?? null,
    domainname: spec.domainname ?? null,
    console: spec.process?.terminal ? inputs.console : null,
    execFifo: inputs.execFifo,
    runtimeHooks: (hooks.prestart?.length ?? 0) + (hooks.createRuntime?.length ?? 0) > 0,
    netlinkSocket: Object.keys(linux.netDevices ?? {}).length > 0,
    createContainerHooks: (hooks.createContainer ?? []).map(planHook),
    startContainerHooks: (hooks.startContainer ?? []).map(planHook),
    preserveFds: inputs.preserveFds,
    process,
    // Decided by create once the cgroups exist (src/cgroups/join.ts).
    cgroupJoin: null,
  };
  return { plan, warnings, notes };
}

function planNamespaces(spec: Spec): InitPlan['namespaces'] {
  const list = spec.linux?.namespaces ?? [];
  const join = list
    .filter((ns) => ns.path)
    .map((ns) => ({ type: ns.type as NamespaceType, path: ns.path as string }))
    .sort((a, b) => (a.type === 'user' ? -1 : 0) - (b.type === 'user' ? -1 : 0));
  let unshareFlags = 0;
  let newUser = false;
  for (const ns of list) {
    if (ns.path) continue;
    if (ns.type === 'user') newUser = true;
    else unshareFlags |= CLONE_FLAGS[ns.type as NamespaceType];
  }
  const timeOffsets: InitPlan['namespaces']['timeOffsets'] = [];
  for (const [clock, offset] of Object.entries(spec.linux?.timeOffsets ?? {})) {
    if (clock !== 'monotonic' && clock !== 'boottime') throw new PlanError(`linux.timeOffsets: unknown clock "${clock}"`);
    timeOffsets.push({ clock, secs: offset.secs ?? 0, nanosecs: offset.nanosecs ?? 0 });
  }
  return { join, unshareFlags, newUser, timeOffsets };
}

/**
 * The propagation of "/" right after the mount namespace exists, before any mount: rslave,
 * so that nothing done while building the rootfs reaches the host. For shared and rshared,
 * what was shared stays shared (as in runc): a volume bound from a shared host mount joins
 * the host's peer group, which is what mountPropagation Bidirectional needs. Either way the
 * rootfs's parent mount is then made private if shared (pivot_root requires it).
 */
function setupPropagation(value: string | undefined): number {
  const flags = propagationFlags(value ?? 'rslave');
  return flags & MS.SHARED ? flags : MS.SLAVE | MS.REC;
}

/**
 * What linux.rootfsPropagation promises for the container's root mount, applied to its "/"
 * once every mount is in place (unbindable earlier would stop the binds that build it). The
 * slave kinds are left as the setup made them, keeping the volumes' own propagation options;
 * 0: nothing to apply.
 */
function finalRootPropagation(value: string | undefined): number {
  if (value === undefined) return 0;
  const flags = propagationFlags(value);
  return flags & MS.SLAVE ? 0 : flags;
}

function propagationFlags(value: string): number {
  const flags = PROPAGATION_OPTIONS[value];
  if (flags === undefined) throw new PlanError(`linux.rootfsPropagation: unknown propagation "${value}"`);
  return flags;
}

function mountOps(mount: Mount, ctx: MountContext): RootfsOp[] {
  const target = path.posix.normalize(mount.destination).replace(/(.)\/$/, '$1');
  const opts = parseMountOptions(mount.options);
  const ops = mountOpsWithoutAttrs(mount, target, opts, ctx);
  // After the whole mount (a cgroup mount's submounts too), as one mount_setattr.
  if (opts.recursiveAttrs) ops.push({ op: 'mount-setattr', target, attrSet: opts.recursiveAttrs.set, attrClear: opts.recursiveAttrs.clear });
  return ops;
}

/**
 * The idmapping of a mount, checked as runc checks it: only bind mounts; a mount's own
 * mappings need both uid and gid ones; idmap/ridmap without them take the container's user
 * namespace, and there must be one.
 */
function planIdmap(mount: Mount, opts: ParsedMountOptions, target: string, containerUserns: PlanIdmap['userns'] | null): PlanIdmap | null {
  const ownMappings = mount.uidMappings !== undefined || mount.gidMappings !== undefined;
  if (!ownMappings && !opts.idmap) return null;
  if (!opts.bind) throw new PlanError(`mounts: ${target}: id-mapped mounts are only supported for bind-mounts`);
  let userns = containerUserns;
  if (ownMappings) {
    const complete = (mount.uidMappings?.length ?? 0) > 0 && (mount.gidMappings?.length ?? 0) > 0;
    userns = complete ? { uidMap: idMapText(mount.uidMappings!), gidMap: idMapText(mount.gidMappings!) } : null;
  }
  if (!userns) throw new PlanError(`mounts: ${target}: id-mapped mounts must have both uid and gid mappings specified`);
  return { recursive: opts.idmap?.recursive ?? false, userns };
}

/** What runc lets a mount cover inside /proc: the files lxcfs emulates. */
const LXCFS_PROC_FILES = new Set([
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/net/dev',
  '/proc/sys/kernel/ns_last_pid',
]);

/**
 * Everything the init writes under /proc (sysctls, masks) must be real procfs (security rule
 * 8): at /proc only a fresh proc, or a bind of a procfs source when the container shares the
 * runtime's pid namespace (rootless with the host's pid namespace cannot mount a fresh one;
 * with a pid namespace of its own a host procfs would show the host's processes). The helper
 * checks the mounted filesystem again. Inside /proc, as runc: only the files lxcfs emulates.
 */
function checkProcMount(mount: Mount, target: string, opts: ParsedMountOptions, ctx: MountContext): void {
  if (target === '/proc') {
    if (mount.type === 'proc' && !opts.bind) return;
    if (!opts.bind) throw new PlanError(`mounts: /proc cannot be mounted because it is not of type proc (type "${mount.type ?? ''}")`);
    const source = path.resolve(ctx.bundle, mount.source ?? '');
    let fstype: number;
    try {
      fstype = statfsSync(source).type;
    } catch (err) {
      throw new PlanError(`mounts: /proc: statfs ${source}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (fstype !== PROC_SUPER_MAGIC) throw new PlanError(`mounts: /proc cannot be mounted because it is not of type proc (a bind of ${source})`);
    if (ctx.hasPidNs) throw new PlanError(`mounts: /proc: a bind of ${source} would show the host's processes in the container's pid namespace; mount a fresh proc instead`);
    return;
  }
  if (target.startsWith('/proc/') && mount.type !== 'proc' && mount.type !== 'sysfs' && !LXCFS_PROC_FILES.has(target)) {
    throw new PlanError(`mounts: ${target} cannot be mounted because it is inside /proc`);
  }
}

function mountOpsWithoutAttrs(mount: Mount, target: string, opts: ParsedMountOptions, ctx: MountContext): RootfsOp[] {
  const { bundle, hierarchies, newCgroupNs, containerUserns, mountLabel } = ctx;
  const idmap = planIdmap(mount, opts, target, containerUserns);
  if (opts.copyUp && (opts.bind || mount.type !== 'tmpfs')) {
    throw new PlanError(`mounts: ${target}: tmpcopyup is only valid for tmpfs mounts`);
  }
  checkProcMount(mount, target, opts, ctx);
  if (opts.bind) {
    const source = path.resolve(bundle, mount.source ?? '');
    let mkdir: 'dir' | 'file';
    try {
      mkdir = statSync(source).isDirectory() ? 'dir' : 'file';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : String(code);
      throw new PlanError(`error mounting "${source}" to rootfs at "${target}": stat ${source}: ${why}`);
    }
    let attrs = opts.flags & ~MS.REMOUNT;
    if (ctx.userns && (attrs !== 0 || opts.cleared !== 0)) {
      try {
        attrs = withLockedFlags(attrs, opts.cleared, sourceMountFlags(source, ctx.mountinfo()));
      } catch (err) {
        throw new PlanError(`mounts: ${target}: ${(err as Error).message} of ${source} (a bind mount in a user namespace keeps them)`);
      }
    }
    const bind: RootfsOp = {
      op: 'mount',
      source,
      target,
      fstype: 'bind',
      flags: MS.BIND | (opts.recursive ? MS.REC : 0),
      data: '',
      mkdir,
      remountFlags: attrs !== 0 ? MS.BIND | MS.REMOUNT | attrs : 0,
      propagation: opts.propagation,
      copyUp: false,
      // An idmapped bind's source is already opened on the host side, as its detached tree.
      ...(idmap ? { idmap } : ctx.openBindSourcesOnHost ? { openSourceOnHost: true } : {}),
    };
    return [bind, ...(opts.recursive && ctx.rootless ? hostCgroupMasks(source, target, hierarchies) : [])];
  }
  if (mount.type === 'proc' && ctx.procForbidden) {
    throw new PlanError(`mounts: ${target}: proc cannot be mounted in a new user namespace that shares the runtime's pid namespace; add a pid namespace`);
  }
  if (mount.type === 'sysfs' && ctx.sysfsForbidden) {
    throw new PlanError(
      `mounts: ${target}: sysfs cannot be mounted in a new user namespace that shares the runtime's network namespace; add a network namespace or bind /sys (rbind), as \`runts spec --rootless\` does`,
    );
  }
  if (mount.type === 'cgroup' || mount.type === 'cgroup2') {
    return cgroupMountOps(target, opts.flags, hierarchies, newCgroupNs, new Set(ctx.rootless?.unjoinedHierarchies ?? []));
  }
  // As runc: a tmpfs or /dev is filled after it is mounted (devices, links, the mountpoints of
  // the mounts below it, tmpcopyup), so it is made read-only only at the end.
  let flags = opts.flags;
  if ((flags & MS.RDONLY) !== 0 && (mount.type === 'tmpfs' || target === '/dev')) {
    flags &= ~MS.RDONLY;
    ctx.lateReadonly.push(target);
  }
  return [
    {
      op: 'mount',
      source: mount.source ?? mount.type ?? 'none',
      target,
      fstype: mount.type ?? 'none',
      flags,
      data: withMountLabel(opts.data, mount.type ?? '', mountLabel),
      mkdir: 'dir',
      remountFlags: 0,
      propagation: opts.propagation,
      copyUp: opts.copyUp,
    },
  ];
}

/** Filesystems with one superblock per namespace (mqueue: IPC, sysfs: network, cgroup2:
 *  cgroup) or per hierarchy (cgroup): a second mount of one is the same filesystem again. */
const ONE_SUPERBLOCK_FILESYSTEMS = new Set(['mqueue', 'sysfs', 'cgroup', 'cgroup2']);

/**
 * mount(2) refuses a filesystem on a mountpoint where that same filesystem is on top already
 * (EBUSY, in runc too): e.g. mqueue twice on /dev/mqueue with nothing mounted there or above
 * it in between. `earlier` holds the ops of the mounts before mounts[index].
 */
function checkNotOnItself(ops: RootfsOp[], earlier: RootfsOp[], index: number, mount: Mount): void {
  ops.forEach((op, i) => {
    if (op.op !== 'mount' || !ONE_SUPERBLOCK_FILESYSTEMS.has(op.fstype)) return;
    const top = lastMountOver(op.target, ops, i) ?? lastMountOver(op.target, earlier, earlier.length);
    if (top?.target === op.target && top.fstype === op.fstype) {
      throw new PlanError(`mounts[${index}]: type ${JSON.stringify(mount.type ?? '')} at destination ${JSON.stringify(mount.destination)}: ${op.fstype} is mounted on ${op.target} already, by an earlier mount with nothing mounted over it since: the kernel refuses the same filesystem on top of itself (EBUSY)`);
    }
  });
}

type MountOp = Extract<RootfsOp, { op: 'mount' }>;

/** The last of ops[0..end) that mounts on `target` or on a directory above it. */
function lastMountOver(target: string, ops: RootfsOp[], end: number): MountOp | undefined {
  for (let j = end - 1; j >= 0; j--) {
    const op = ops[j];
    if (op.op === 'mount' && isAtOrUnder(target, op.target)) return op;
  }
  return undefined;
}

/** A planned mount and the index in config.json's mounts of the mount it is made for. */
interface MountOver {
  op: MountOp;
  index: number;
  /** Its destination as config.json gives it. */
  destination: string;
}

/** Config paths the init resolves inside the container once the mounts are made. */
function checkContainerPaths(spec: Spec, ops: RootfsOp[]): void {
  const linux = spec.linux ?? {};
  (linux.devices ?? []).forEach((d, index) => checkContainerPath(`/linux/devices/${index}/path`, d.path, ops, 'magic'));
  if (spec.process?.cwd) checkContainerPath('/process/cwd', spec.process.cwd, ops, 'magic');
  (linux.readonlyPaths ?? []).forEach((p, index) => checkContainerPath(`/linux/readonlyPaths/${index}`, p, ops, 'magic'));
  (linux.maskedPaths ?? []).forEach((p, index) => checkContainerPath(`/linux/maskedPaths/${index}`, p, ops, 'any'));
}

/** The kernel's limits on a path and on each name in it (PATH_MAX with its NUL, NAME_MAX). */
const PATH_MAX = 4096;
const NAME_MAX = 255;

/**
 * `where` names a path the init resolves inside the container after `ops`. Refused when the
 * kernel would refuse its length (ENAMETOOLONG), or when a procfs mounted over it has a link
 * on the way the init does not follow there (ELOOP): magic links, and for a masked path
 * plain symlinks too.
 */
function checkContainerPath(where: string, given: string, ops: RootfsOp[], refused: 'magic' | 'any'): void {
  const p = path.posix.normalize(`/${given}`);
  const shown = quotedShort(given);
  if (Buffer.byteLength(p) >= PATH_MAX || p.split('/').some((name) => Buffer.byteLength(name) > NAME_MAX)) {
    throw new PlanError(`config.json: ${where}: ${shown} is longer than the kernel takes (a path of at most ${PATH_MAX - 1} bytes, each name at most ${NAME_MAX}): ENAMETOOLONG`);
  }
  const proc = lastMountOver(p, ops, ops.length);
  if (!proc || !mountsProcfs(proc)) return;
  const link = procfsLinks(path.posix.relative(proc.target, p)).find((l) => l.magic || refused === 'any');
  if (!link) return;
  const why = link.magic
    ? 'a procfs magic link, which runts never follows inside the container (SECURITY.md rule 6)'
    : 'a procfs symlink, and a masked path follows no symlink (SECURITY.md rule 9)';
  throw new PlanError(`config.json: ${where}: ${shown} goes through ${path.posix.join(proc.target, link.at)}, ${why}`);
}

/**
 * Once its mounts are made, the init needs the container's own procfs at /proc (it reopens the
 * exec fifo through /proc/self/fd; runc closes fds through it). A filesystem mounted on / hides
 * the one mounted before it, so a proc mount must follow it. (A tree bound on / may bring one
 * along; whether the rootfs has one is for validate --host to look at, src/validate/host.ts.)
 */
function checkProcfsAtProc(over: MountOver | undefined): void {
  if (over && over.op.target === '/' && over.op.fstype !== 'bind') {
    throw new PlanError(`mounts[${over.index}]: destination ${JSON.stringify(over.destination)} puts the ${over.op.fstype} mount on /, which covers /proc, and no proc mount on /proc follows it: the init needs the container's own procfs there (runc too)`);
  }
}

/** linux.mountLabel as the context= option, on the mounts runc labels that way (not proc,
 *  sysfs, mqueue or cgroup). */
function withMountLabel(data: string, fstype: string, mountLabel: string): string {
  if (!mountLabel || ['proc', 'sysfs', 'mqueue', 'cgroup', 'cgroup2'].includes(fstype)) return data;
  const context = `context=${JSON.stringify(mountLabel)}`;
  return data ? `${data},${context}` : context;
}

/** hostLsm() at most once, and only when asked. */
function lazyLsm(given: HostLsm | undefined): () => HostLsm {
  let lsm = given;
  return () => (lsm ??= hostLsm());
}

/**
 * A `cgroup` mount shows the container its own cgroups. With a cgroup namespace the
 * hierarchies are mounted afresh (their root is the container's cgroup); without one the
 * container's cgroup directories are bound from the host. On v1 and hybrid hosts each
 * hierarchy goes under a tmpfs at the destination, as runc lays it out.
 */
function cgroupMountOps(target: string, flags: number, hierarchies: Hierarchy[], newCgroupNs: boolean, unjoined: Set<string>): RootfsOp[] {
  const unified = hierarchies.find((h) => h.fstype === 'cgroup2');
  const v1 = hierarchies.filter((h) => h.fstype === 'cgroup');
  const one = (h: Hierarchy, dest: string): RootfsOp =>
    unjoined.has(h.mountpoint)
      ? cgroupMask(dest, 'dir')
      : newCgroupNs
      ? { op: 'mount', source: 'cgroup', target: dest, fstype: h.fstype, flags, data: h.subsystems.join(','), mkdir: 'dir', remountFlags: 0, propagation: [], copyUp: false }
      : {
          op: 'mount',
          source: hostCgroupDir(h, h.cgroup),
          target: dest,
          fstype: 'bind',
          flags: MS.BIND | MS.REC,
          data: '',
          mkdir: 'dir',
          remountFlags: MS.BIND | MS.REMOUNT | flags,
          propagation: [],
          copyUp: false,
        };
  if (v1.length === 0) {
    if (!unified) throw new PlanError(`mounts: ${target}: no cgroup hierarchy is mounted on the host`);
    return [one(unified, target)];
  }
  const ops: RootfsOp[] = [
    { op: 'mount', source: 'tmpfs', target, fstype: 'tmpfs', flags: flags & ~MS.RDONLY, data: 'mode=755', mkdir: 'dir', remountFlags: 0, propagation: [], copyUp: false },
  ];
  for (const h of v1) {
    const name = h.subsystems.map((s) => s.replace(/^name=/, '')).join(',');
    ops.push(one(h, path.posix.join(target, name)));
    // Co-mounted controllers (cpu,cpuacct) are also reachable by each name.
    if (h.subsystems.length > 1) {
      for (const s of h.subsystems) ops.push({ op: 'symlink', target: name, path: path.posix.join(target, s) });
    }
  }
  if (unified) ops.push(one(unified, path.posix.join(target, path.posix.basename(unified.mountpoint))));
  if (flags & MS.RDONLY) ops.push({ op: 'remount', target, flags: MS.REMOUNT | flags });
  return ops;
}

/**
 * A read-only empty tmpfs where a rootless container would otherwise see a host cgroup it
 * does not own: the runtime's own cgroup, or a delegated parent the container's root (the
 * calling user) could write to and so escape its own cgroup (security rule 16, runc's fix
 * for CVE-2023-25809).
 */
function cgroupMask(target: string, mkdir: 'dir' | 'none'): RootfsOp {
  return {
    op: 'mount',
    source: 'tmpfs',
    target,
    fstype: 'tmpfs',
    flags: MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC,
    data: 'mode=755',
    mkdir,
    remountFlags: 0,
    propagation: [],
    copyUp: false,
  };
}

/** Rootless: masks for the host cgroup hierarchies a recursive bind of `source` (e.g. /sys)
 *  brings along, writable wherever the host delegated a cgroup to the calling user. */
function hostCgroupMasks(source: string, target: string, hierarchies: Hierarchy[]): RootfsOp[] {
  return hierarchies
    .filter((h) => isAtOrUnder(h.mountpoint, source))
    .map((h) => cgroupMask(path.posix.join(target, path.posix.relative(source, h.mountpoint)), 'none'));
}

function deviceOps(spec: Spec, inUserNs: boolean): RootfsOp[] {
  const configured = spec.linux?.devices ?? [];
  const ops: RootfsOp[] = [];
  const byPath = new Set(configured.map((d) => path.posix.normalize(d.path)));
  for (const d of DEFAULT_DEVICES) {
    if (byPath.has(d.path)) continue;
    ops.push(inUserNs ? { op: 'bind-device', path: d.path } : { op: 'mknod', path: d.path, kind: 'c', major: d.major, minor: d.minor, mode: 0o666, uid: 0, gid: 0 });
  }
  for (const d of configured) {
    const p = path.posix.normalize(d.path);
    if (inUserNs) {
      ops.push({ op: 'bind-device', path: p });
      continue;
    }
    ops.push({
      op: 'mknod',
      path: p,
      kind: d.type as 'c' | 'b' | 'p' | 'u',
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      mode: (d.fileMode ?? 0o666) & 0o7777,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
    });
  }
  return ops;
}

function devSymlinkOps(hasKcore: boolean): RootfsOp[] {
  const links: [string, string][] = [
    ['/proc/self/fd', '/dev/fd'],
    ['/proc/self/fd/0', '/dev/stdin'],
    ['/proc/self/fd/1', '/dev/stdout'],
    ['/proc/self/fd/2', '/dev/stderr'],
    ['pts/ptmx', '/dev/ptmx'],
  ];
  if (hasKcore) links.push(['/proc/kcore', '/dev/core']);
  return links.map(([target, p]) => ({ op: 'symlink', target, path: p }));
}

function planHook(h: { path: string; args?: string[]; env?: string[]; timeout?: number }): PlanHook {
  return { path: h.path, args: h.args ?? [h.path], env: h.env ?? [], timeout: h.timeout ?? 0 };
}

/**
 * The process of `runts exec`, planned exactly like the init's against the container's
 * config (whose linux section gives the process section its meaning). No LISTEN_FDS: like
 * runc, exec passes --preserve-fds on without socket-activation variables.
 */
export function buildExecProcess(spec: Spec, process: Process, lastCap: number, lsm?: HostLsm): { process: PlanProcess; warnings: string[]; notes: string[] } {
  const warnings: string[] = [];
  const notes: string[] = [];
  const planned = planProcess({ ...spec, process }, { preserveFds: 0, lastCap, lsm: lazyLsm(lsm), nrOpen: hostNrOpen }, warnings, notes, true);
  return { process: planned, warnings, notes };
}

function planProcess(
  spec: Spec,
  inputs: Pick<PlanInputs, 'preserveFds' | 'lastCap'> & { lsm: () => HostLsm; nrOpen: () => number },
  warnings: string[],
  notes: string[],
  exec: boolean,
): PlanProcess {
  const p = spec.process!;
  let attrs;
  try {
    // execCPUAffinity "is not applicable to the container's init process" (runtime-spec).
    attrs = planProcessAttrs(exec ? p : { ...p, execCPUAffinity: undefined }, spec.linux ?? {}, inputs.lsm);
  } catch (err) {
    if (err instanceof ProcessAttrError) throw new PlanError(err.message);
    throw err;
  }
  if (!exec && p.execCPUAffinity) notes.push('process.execCPUAffinity applies to exec\'d processes only, not the init');
  const env = [...(p.env ?? [])];
  if (inputs.preserveFds > 0) env.push(`LISTEN_FDS=${inputs.preserveFds}`, 'LISTEN_PID=1');
  const rlimits = (p.rlimits ?? []).map((r, index) => {
    const resource = RLIMIT_NUMBERS[r.type];
    if (resource === undefined) throw new PlanError(`process.rlimits: unknown rlimit type "${r.type}"`);
    const hard = rlimitValue(r.hard);
    // The soft limit is at most the hard one (the spec checks): the hard one is what to compare.
    if (resource === RLIMIT_NUMBERS.RLIMIT_NOFILE && (hard === 'unlimited' || BigInt(hard) > BigInt(inputs.nrOpen()))) {
      throw new PlanError(`process.rlimits[${index}]: RLIMIT_NOFILE hard limit ${hard} is above this host's fs.nr_open (${inputs.nrOpen()}): setrlimit refuses it (EPERM), even to root`);
    }
    return { resource, soft: rlimitValue(r.soft), hard };
  });
  let capabilities: PlanCapabilities | null = null;
  if (p.capabilities) {
    const unknown = new Set<string>();
    const pick = (names: string[] | undefined): number[] => {
      const r = capabilityNumbers(names, inputs.lastCap);
      r.unknown.forEach((u) => unknown.add(u));
      return r.numbers;
    };
    const c = p.capabilities;
    capabilities = {
      bounding: pick(c.bounding),
      effective: pick(c.effective),
      inheritable: pick(c.inheritable),
      permitted: pick(c.permitted),
      ambient: pick(c.ambient),
    };
    if (unknown.size > 0) warnings.push(`ignoring unknown or unavailable capabilities: [${[...unknown].join(' ')}]`);
    // The kernel raises an ambient capability only if it is permitted and inheritable;
    // runc's own default config lists ambient caps without inheritable ones and runc
    // silently skips them, so do the same (with a debug note).
    const raisable = capabilities.ambient.filter((n) => capabilities!.permitted.includes(n) && capabilities!.inheritable.includes(n));
    for (const n of capabilities.ambient.filter((a) => !raisable.includes(a))) {
      const name = Object.keys(CAPABILITY_NUMBERS).find((k) => CAPABILITY_NUMBERS[k] === n);
      notes.push(`not raising ambient capability ${name}: not in the permitted and inheritable sets`);
    }
    capabilities.ambient = raisable;
  }
  return {
    args: p.args ?? [],
    env,
    cwd: p.cwd,
    uid: p.user?.uid ?? 0,
    gid: p.user?.gid ?? 0,
    additionalGids: p.user?.additionalGids ?? [],
    umask: p.user?.umask ?? 0o022,
    rlimits,
    capabilities,
    noNewPrivileges: p.noNewPrivileges === true,
    oomScoreAdj: p.oomScoreAdj ?? null,
    terminal: p.terminal === true,
    consoleSize: p.consoleSize ? { height: p.consoleSize.height, width: p.consoleSize.width } : null,
    seccomp: planSeccomp(spec, warnings, notes),
    attrs,
  };
}

/** runc treats a profile with neither a default action nor syscalls as no profile. */
function planSeccomp(spec: Spec, warnings: string[], notes: string[]): PlanSeccomp | null {
  const config = spec.linux?.seccomp;
  if (!config || (!config.defaultAction && (config.syscalls ?? []).length === 0)) return null;
  let compiled;
  try {
    compiled = compileSeccomp(config);
  } catch (err) {
    if (err instanceof SeccompError) throw new PlanError(err.message);
    throw err;
  }
  warnings.push(...compiled.warnings);
  notes.push(...compiled.notes);
  return {
    filter: compiled.filter,
    flags: compiled.flags,
    listener: compiled.listener
      ? { path: config.listenerPath!, metadata: config.listenerMetadata ?? '', ociVersion: OCI_SPEC_VERSION }
      : null,
  };
}
