// Checks on config.json that its schema cannot express. Each failure throws a SpecError
// naming the file, the JSON pointer and the rule, like the schema errors do; things
// runc merely warns about become warnings. The rules follow runc where runc has one,
// since callers expect its verdicts. create stops at the first failure; `runts validate`
// runs the same checks collecting (collectSemanticProblems): each independent check is
// wrapped in Checker.check, which then records its failure and goes on with the next.

import { closeSync, openSync, readlinkSync, statfsSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { SpecError, describeFsError, pointerToken, specErrorMessage, type SpecProblem, type ValidateOptions } from './errors';
import { parseMountOptions } from '../plan/mount-options';
import { RLIMIT_NUMBERS } from '../plan/rlimits';
import type {
  Hooks,
  Linux,
  LinuxNamespace,
  LinuxNamespaceType,
  LinuxScheduler,
  Mount,
  POSIXRlimit,
  Process,
  Spec,
} from './types';

/** The names /proc/<pid>/ns/* links carry, per config.json namespace type. */
const KERNEL_NAMESPACE_NAMES: Readonly<Record<LinuxNamespaceType, string>> = {
  mount: 'mnt',
  network: 'net',
  pid: 'pid',
  uts: 'uts',
  ipc: 'ipc',
  user: 'user',
  cgroup: 'cgroup',
  time: 'time',
};

/** IPC-namespaced sysctls besides fs.mqueue.* (ipc/ipc_sysctl.c). */
const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

const HOOK_KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const satisfies readonly (keyof Hooks)[];

/** Limits at or above 2^63 all mean unlimited (JSON.parse turns 2^64 - 1 into 2^64). */
const RLIM_INFINITY = 2 ** 63;

/** Node's fs.constants lacks O_PATH; this is the asm-generic value (x86, arm, riscv). */
const O_PATH = 0o10000000;

class Checker {
  readonly warnings: string[] = [];
  readonly warningProblems: SpecProblem[] = [];

  /** With `errors`, collecting: check() records a failure there instead of passing it on. */
  constructor(
    readonly file: string,
    readonly errors?: SpecProblem[],
  ) {}

  fail(pointer: string, message: string): never {
    throw new SpecError(specErrorMessage(this.file, pointer, message), { pointer, message });
  }

  warn(pointer: string, message: string): void {
    this.warnings.push(specErrorMessage(this.file, pointer, message));
    this.warningProblems.push({ pointer, message });
  }

  /** Runs one check that does not depend on the others passing. */
  check(action: () => void): void {
    if (!this.errors) return action();
    try {
      action();
    } catch (err) {
      if (!(err instanceof SpecError) || !err.problem) throw err;
      this.errors.push(err.problem);
    }
  }
}

/**
 * Runs every semantic check on a schema-valid spec. Returns the spec to use (a copy when
 * relative mount destinations had to be made absolute) and the warnings. Throws SpecError
 * at the first failure.
 */
export function checkSemantics(spec: Spec, opts: ValidateOptions): { spec: Spec; warnings: string[] } {
  const checker = new Checker(opts.file);
  return { spec: runSemanticChecks(spec, opts, checker), warnings: checker.warnings };
}

/** The same checks as checkSemantics, reporting every failure instead of the first. */
export function collectSemanticProblems(spec: Spec, opts: ValidateOptions): { spec: Spec; errors: SpecProblem[]; warnings: SpecProblem[] } {
  const errors: SpecProblem[] = [];
  const checker = new Checker(opts.file, errors);
  const checked = runSemanticChecks(spec, opts, checker);
  return { spec: checked, errors, warnings: checker.warningProblems };
}

function runSemanticChecks(spec: Spec, opts: ValidateOptions, checker: Checker): Spec {
  const linux = spec.linux ?? {};
  const namespaces = new NamespaceSet(linux.namespaces ?? []);

  for (const field of KERNEL_BOUND_FIELDS) checker.check(() => checkNoNulBytes(spec[field], `/${field}`, checker));
  // runtime-spec: REQUIRED on Linux; runc refuses a config without it ("root must be specified").
  if (!spec.root) checker.check(() => checker.fail('/root', 'is required on Linux'));
  checkNamespaces(namespaces, checker);
  if (!namespaces.has('mount')) checkWithoutMountNamespace(spec, checker);
  checkIdMappings(linux, namespaces, checker);
  checker.check(() => checkTimeOffsets(linux, namespaces, checker));
  checkUtsFields(spec, namespaces, checker);
  checkSysctls(linux, namespaces, checker);
  if (spec.process) checkProcess(spec.process, checker, '/process');
  checker.check(() => checkTerminal(spec.process?.terminal === true, opts, checker, '/process'));
  checkHooks(spec.hooks ?? {}, checker);
  (spec.mounts ?? []).forEach((mount, index) => checker.check(() => checkMount(mount, `/mounts/${index}`, checker)));
  const mounts = spec.mounts && absoluteMountDestinations(spec.mounts, checker);

  return mounts === spec.mounts ? spec : { ...spec, mounts };
}

/** The checks for a lone process document (`exec --process`); throws SpecError. */
export function checkProcessSemantics(process: Process, opts: ValidateOptions): void {
  const checker = new Checker(opts.file);
  checker.check(() => checkNoNulBytes(process, '', checker));
  checkProcess(process, checker, '');
  checkTerminal(process.terminal === true, opts, checker, '');
}

/** The fields whose strings end up in syscalls; annotations and unknown fields never do. */
const KERNEL_BOUND_FIELDS = ['process', 'root', 'hostname', 'domainname', 'mounts', 'hooks', 'linux'] as const satisfies readonly (keyof Spec)[];

/**
 * A NUL byte would silently cut a string short in the C++ init (a path, an argument, a
 * sysctl name), where Go's syscalls (runc) refuse it: refuse it up front. Iterative, as
 * unknown fields may nest deeper than the stack allows; pointers are built only on failure.
 */
function checkNoNulBytes(value: unknown, at: string, checker: Checker): void {
  // Iterative (any depth); only objects and arrays get an entry, strings are checked in place.
  type Entry = { value: object; key: string; parent?: Entry };
  const pointerOf = (entry: Entry, key?: string): string => {
    const keys: string[] = key === undefined ? [] : [pointerToken(key)];
    for (let e: Entry | undefined = entry; e?.parent; e = e.parent) keys.push(pointerToken(e.key));
    return at + keys.reverse().map((k) => `/${k}`).join('');
  };
  if (typeof value === 'string') {
    if (value.includes('\0')) checker.fail(at, 'must not contain a NUL byte');
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const stack: Entry[] = [{ value, key: '' }];
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const v = entry.value as Record<string, unknown>;
    for (const key in v) {
      if (key.includes('\0')) checker.fail(pointerOf(entry), `key ${JSON.stringify(key)} must not contain a NUL byte`);
      const child = v[key];
      if (typeof child === 'string') {
        if (child.includes('\0')) checker.fail(pointerOf(entry, key), 'must not contain a NUL byte');
      } else if (child !== null && typeof child === 'object') {
        stack.push({ value: child, key, parent: entry });
      }
    }
  }
}

/** linux.namespaces by type; an empty path means "new", as in runc. */
class NamespaceSet {
  /** The path of each type's first entry; undefined for a new namespace. */
  private readonly paths = new Map<LinuxNamespaceType, string | undefined>();
  readonly duplicates: { index: number; type: LinuxNamespaceType }[] = [];

  constructor(readonly entries: readonly LinuxNamespace[]) {
    entries.forEach((ns, index) => {
      if (this.paths.has(ns.type)) this.duplicates.push({ index, type: ns.type });
      else this.paths.set(ns.type, ns.path === '' ? undefined : ns.path);
    });
  }

  has(type: LinuxNamespaceType): boolean {
    return this.paths.has(type);
  }

  isNew(type: LinuxNamespaceType): boolean {
    return this.paths.has(type) && this.paths.get(type) === undefined;
  }

  pathOf(type: LinuxNamespaceType): string | undefined {
    return this.paths.get(type);
  }
}

function checkNamespaces(namespaces: NamespaceSet, checker: Checker): void {
  for (const duplicate of namespaces.duplicates) {
    checker.check(() => checker.fail(`/linux/namespaces/${duplicate.index}`, `duplicate namespace type "${duplicate.type}"`));
  }
  namespaces.entries.forEach((ns, index) => {
    if (ns.path) checker.check(() => checkNamespacePath(ns.type, ns.path as string, `/linux/namespaces/${index}/path`, checker));
  });
}

/**
 * Without a mount namespace of its own the container shares the runtime's (runtime-spec: an
 * unlisted namespace is inherited), so the init changes no mount at all and only chroots into
 * root.path. runc 1.1 would instead make the host's / rslave and mount into the host; every
 * field that needs mounts is refused here, naming it.
 */
function checkWithoutMountNamespace(spec: Spec, checker: Checker): void {
  const linux = spec.linux ?? {};
  const why = 'requires a mount namespace (linux.namespaces has none)';
  const needMounts: [given: unknown, pointer: string][] = [
    [spec.mounts?.length, '/mounts'],
    [spec.root?.readonly, '/root/readonly'],
    [linux.rootfsPropagation, '/linux/rootfsPropagation'],
    [linux.devices?.length, '/linux/devices'],
    [linux.maskedPaths?.length, '/linux/maskedPaths'],
    [linux.readonlyPaths?.length, '/linux/readonlyPaths'],
    // They are written through the container's /proc/sys, which only a mount can provide.
    [Object.keys(linux.sysctl ?? {}).length, '/linux/sysctl'],
    // The pty comes from the container's own devpts (security rule 15), a mount.
    [spec.process?.terminal, '/process/terminal'],
  ];
  for (const [given, pointer] of needMounts) {
    if (given) checker.check(() => checker.fail(pointer, why));
  }
}

/** statfs f_type of nsfs, where namespace files live. */
const NSFS_MAGIC = 0x6e736673;

function isNsfs(path: string): boolean {
  try {
    return statfsSync(path).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

/** The path must be a namespace of the given type: /proc/<pid>/ns/<name> or a bind mount of one. */
function checkNamespacePath(type: LinuxNamespaceType, path: string, pointer: string, checker: Checker): void {
  // readlink of an fd's /proc/self/fd entry names an nsfs inode "<name>:[<inode>]" whether
  // the path is a magic link or a bind mount. O_PATH: no side effects, no blocking on a FIFO.
  let fd: number;
  try {
    fd = openSync(path, O_PATH);
  } catch (err) {
    checker.fail(pointer, describeFsError(err, path, 'open'));
  }
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch (err) {
    checker.fail(pointer, describeFsError(err, `/proc/self/fd/${fd}`, 'readlink'));
  } finally {
    closeSync(fd);
  }
  const expected = KERNEL_NAMESPACE_NAMES[type];
  const kind = /^([a-z_]+):\[\d+\]$/.exec(target)?.[1];
  // A bind mount of a namespace file (`ip netns add`, CNI) reads back as its own path; the
  // init helper checks its type (NS_GET_NSTYPE) before joining it.
  if (kind === undefined && isNsfs(path)) return;
  if (kind === undefined) checker.fail(pointer, `${path} is not a namespace`);
  if (kind !== expected) checker.fail(pointer, `${path} is not a namespace of type "${type}" (it is a ${kind} namespace)`);
}

/** runc needs mappings to set up a new user namespace, and refuses mappings it would not use. */
function checkIdMappings(linux: Linux, namespaces: NamespaceSet, checker: Checker): void {
  for (const field of ['uidMappings', 'gidMappings'] as const) {
    const given = (linux[field]?.length ?? 0) > 0;
    if (namespaces.isNew('user') && !given) {
      checker.check(() => checker.fail(`/linux/${field}`, 'required when creating a user namespace'));
    }
    if (!namespaces.has('user') && given) {
      checker.check(() => checker.fail(`/linux/${field}`, 'given, but there is no user namespace'));
    }
  }
}

/** Offsets can only be written for a time namespace that no process has entered yet. */
function checkTimeOffsets(linux: Linux, namespaces: NamespaceSet, checker: Checker): void {
  const offsets = linux.timeOffsets ?? {};
  if (Object.keys(offsets).length > 0 && !namespaces.isNew('time')) {
    checker.fail('/linux/timeOffsets', 'requires a new time namespace');
  }
}

/**
 * A UTS namespace joined by path is fine (CRI-O hands every container of a pod its pinned
 * namespace with the pod's hostname); only the runtime's own UTS namespace is refused.
 */
function checkUtsFields(spec: Spec, namespaces: NamespaceSet, checker: Checker): void {
  for (const field of ['hostname', 'domainname'] as const) {
    if (!spec[field]) continue;
    checker.check(() => {
      if (!namespaces.has('uts')) checker.fail(`/${field}`, `setting the ${field} requires a UTS namespace`);
      if (isRuntimeNamespace(namespaces, 'uts', checker)) {
        checker.fail(`/${field}`, `unable to set the ${field} in the runtime's own UTS namespace (linux.namespaces joins it by path)`);
      }
    });
  }
}

/**
 * Only namespaced sysctls, and only when the container has that namespace (runc's rules:
 * a joined IPC namespace is fine, a joined network namespace must not be the host's).
 */
function checkSysctls(linux: Linux, namespaces: NamespaceSet, checker: Checker): void {
  let hostNetwork: boolean | undefined;
  for (const key of Object.keys(linux.sysctl ?? {})) {
    checker.check(() => {
      const name = dotSeparatedSysctl(key);
      const pointer = `/linux/sysctl/${pointerToken(key)}`;
      if (IPC_SYSCTLS.has(name) || name.startsWith('fs.mqueue.')) {
        if (!namespaces.has('ipc')) checker.fail(pointer, `sysctl "${name}" requires an IPC namespace`);
        return;
      }
      if (name.startsWith('net.')) {
        hostNetwork ??= !namespaces.has('network') || isRuntimeNamespace(namespaces, 'network', checker);
        if (hostNetwork) checker.fail(pointer, `sysctl "${name}" is not allowed in the host's network namespace`);
        return;
      }
      if (namespaces.has('uts')) {
        if (name === 'kernel.domainname') return;
        if (name === 'kernel.hostname') checker.fail(pointer, 'sysctl "kernel.hostname" conflicts with the "hostname" field');
      }
      checker.fail(pointer, `sysctl "${name}" is not namespaced, so a container may not set it`);
    });
  }
}

/** sysctl(8) also accepts "/" as the separator ("net/ipv4/conf/eth0.100/rp_filter"). */
function dotSeparatedSysctl(key: string): string {
  const firstSeparator = /[./]/.exec(key)?.[0];
  if (firstSeparator !== '/') return key;
  return key.replace(/[./]/g, (c) => (c === '/' ? '.' : '/'));
}

/** Whether linux.namespaces joins, by path, the runtime's own namespace of that type. */
function isRuntimeNamespace(namespaces: NamespaceSet, type: LinuxNamespaceType, checker: Checker): boolean {
  const path = namespaces.pathOf(type);
  if (path === undefined) return false;
  const ownPath = `/proc/self/ns/${KERNEL_NAMESPACE_NAMES[type]}`;
  const [joined, own] = [path, ownPath].map((p) => {
    try {
      return statSync(p);
    } catch (err) {
      return checker.fail('/linux/namespaces', describeFsError(err, p, 'stat'));
    }
  });
  return joined.dev === own.dev && joined.ino === own.ino;
}

/** `at` is the pointer of the process object: "/process" in config.json, "" in a process file. */
function checkProcess(process: Process, checker: Checker, at: string): void {
  if (!posix.isAbsolute(process.cwd)) checker.check(() => checker.fail(`${at}/cwd`, 'must be an absolute path'));
  if (!process.args?.length) checker.check(() => checker.fail(`${at}/args`, 'must not be empty'));
  // Whatever the rootfs holds, such a path is a directory or nothing (exec: EACCES or ENOENT, in runc too).
  const lastComponent = process.args?.[0]?.split('/').pop();
  if (lastComponent === '' || lastComponent === '.' || lastComponent === '..') {
    checker.check(() => checker.fail(`${at}/args/0`, 'is no program: an empty path, or one ending in "/", "." or "..", never names a file exec can run'));
  }
  const { oomScoreAdj, ioPriority } = process;
  if (oomScoreAdj !== undefined && (oomScoreAdj < -1000 || oomScoreAdj > 1000)) {
    checker.check(() => checker.fail(`${at}/oomScoreAdj`, 'must be between -1000 and 1000'));
  }
  if (ioPriority?.priority !== undefined && (ioPriority.priority < 0 || ioPriority.priority > 7)) {
    checker.check(() => checker.fail(`${at}/ioPriority/priority`, 'must be between 0 and 7'));
  }
  const { scheduler } = process;
  if (scheduler) checker.check(() => checkScheduler(scheduler, checker, `${at}/scheduler`));
  checkRlimits(process.rlimits ?? [], checker, `${at}/rlimits`);
}

/** The combinations sched_setattr(2) accepts, as runc checks them. */
function checkScheduler(scheduler: LinuxScheduler, checker: Checker, at: string): void {
  const { policy, nice, priority, runtime, deadline, period } = scheduler;
  if (nice !== undefined && (nice < -20 || nice > 19)) checker.fail(`${at}/nice`, 'must be between -20 and 19');
  if (priority && policy !== 'SCHED_FIFO' && policy !== 'SCHED_RR') {
    checker.fail(`${at}/priority`, 'only SCHED_FIFO and SCHED_RR take a priority');
  }
  if ((runtime || deadline || period) && policy !== 'SCHED_DEADLINE') {
    checker.fail(at, 'runtime, deadline and period are only for SCHED_DEADLINE');
  }
}

function checkRlimits(rlimits: POSIXRlimit[], checker: Checker, at: string): void {
  const seen = new Set<string>();
  rlimits.forEach((rlimit, index) => {
    const pointer = `${at}/${index}`;
    checker.check(() => {
      if (!Object.hasOwn(RLIMIT_NUMBERS, rlimit.type)) checker.fail(`${pointer}/type`, `unknown rlimit "${rlimit.type}"`);
      if (seen.has(rlimit.type)) checker.fail(`${pointer}/type`, `duplicate rlimit type "${rlimit.type}"`);
    });
    seen.add(rlimit.type);
    if (Math.min(rlimit.soft, RLIM_INFINITY) > Math.min(rlimit.hard, RLIM_INFINITY)) {
      checker.check(() => checker.fail(pointer, `soft limit ${rlimit.soft} exceeds hard limit ${rlimit.hard}`));
    }
  });
}

/** runc's rule: a console socket exactly when a detached container gets a terminal. */
function checkTerminal(terminal: boolean, opts: ValidateOptions, checker: Checker, at: string): void {
  if (terminal && opts.detached && !opts.consoleSocket) {
    checker.fail(`${at}/terminal`, 'a detached container with a terminal requires --console-socket');
  }
  if (opts.consoleSocket && !(terminal && opts.detached)) {
    checker.fail(`${at}/terminal`, '--console-socket is only used by a detached container with terminal: true');
  }
}

function checkHooks(hooks: Hooks, checker: Checker): void {
  for (const kind of HOOK_KINDS) {
    (hooks[kind] ?? []).forEach((hook, index) => {
      if (!posix.isAbsolute(hook.path)) checker.check(() => checker.fail(`/hooks/${kind}/${index}/path`, 'must be an absolute path'));
    });
  }
}

/** Kernel filesystems that cannot be the container's root: the init makes directories and
 *  device nodes in it next, which none of them takes (runc fails on each there too). */
const NOT_A_ROOT_FILESYSTEM = new Set(['proc', 'sysfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2']);

/**
 * What mount(2) would refuse whatever the host: a mount that is no bind mount needs a
 * filesystem type, and neither an absent type nor "" or "none" names one (ENODEV, in runc
 * too). A bind mount's type is not read, as in runc. A mount on "/" (or "..", ".") covers
 * the whole rootfs, as in runc: a tree bound there is fine, a kernel filesystem is not.
 */
function checkMount(mount: Mount, at: string, checker: Checker): void {
  if (parseMountOptions(mount.options).bind) return;
  if (!mount.type || mount.type === 'none') checker.fail(`${at}/type`, 'must name the filesystem to mount unless the options make a bind mount (bind or rbind)');
  if (NOT_A_ROOT_FILESYSTEM.has(mount.type) && posix.join('/', mount.destination) === '/') {
    checker.fail(`${at}/destination`, `is the container's root, which a ${mount.type} filesystem cannot be: the mountpoints and devices that follow are made in it`);
  }
}

/**
 * runtime-spec 1.3 wants absolute destinations on Linux; runc (1.1+) still accepts relative
 * ones with a deprecation warning, taking them relative to "/". So do we.
 */
function absoluteMountDestinations(mounts: Mount[], checker: Checker): Mount[] {
  if (mounts.every((m) => posix.isAbsolute(m.destination))) return mounts;
  return mounts.map((mount, index) => {
    if (posix.isAbsolute(mount.destination)) return mount;
    const destination = posix.join('/', mount.destination);
    checker.warn(
      `/mounts/${index}/destination`,
      `relative destination ${JSON.stringify(mount.destination)} is deprecated, using ${JSON.stringify(destination)}`,
    );
    return { ...mount, destination };
  });
}
