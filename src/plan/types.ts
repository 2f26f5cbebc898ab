// The init plan: everything the C++ init helper (native/init/) does, decided here in
// TypeScript and sent to it as JSON over the sync socket. The helper interprets no
// config.json field itself: option strings, defaults, device lists and flag numbers are
// all resolved by src/plan/build.ts, so the logic stays unit-testable without root.
//
// The plan types stay here, beside the builder, because this file and native/init/plan.{h,cc}
// are the contract of what the helper does (test/init/plan-contract.test.ts holds them
// together); how the two sides talk while it does so is src/init/protocol.ts.

/** Linux namespace kinds, named as in config.json. */
export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface PlanNamespaces {
  /** Existing namespaces to setns() into, in this order (user first when present). A
   *  cgroup namespace is opened by stage1 with the others but joined by stage2 first thing,
   *  once it is in the container's cgroups (see PlanCgroupJoin). */
  join: { type: NamespaceType; path: string }[];
  /** CLONE_NEW* flags to unshare() in stage1, after any joins; excludes CLONE_NEWUSER.
   *  CLONE_NEWCGROUP is unshared by stage2 instead, first thing, so that the namespace's
   *  root is the container's cgroup. */
  unshareFlags: number;
  /** Create a new user namespace first (stage1 unshares it, parent writes the maps). */
  newUser: boolean;
  /** Offsets for a new time namespace, written to /proc/self/timens_offsets before fork. */
  timeOffsets: { clock: 'monotonic' | 'boottime'; secs: number; nanosecs: number }[];
}

/** One step of building the container's filesystem, run in order before pivot_root. */
export type RootfsOp =
  /** mount(2). target is a path inside the rootfs, resolved safely (never through a
   *  symlink out of it) and created (dir, or empty file when mkdir === 'file'). For bind
   *  mounts source is an absolute host path; flags exclude propagation bits. */
  | {
      op: 'mount';
      source: string;
      target: string;
      fstype: string;
      flags: number;
      data: string;
      mkdir: 'dir' | 'file' | 'none';
      /** Bind mounts needing attributes the first mount cannot set: remount with these flags
       *  (MS_BIND|MS_REMOUNT|...). 0 means no remount. */
      remountFlags: number;
      /** Propagation changes applied after mounting, each a mount(2) flag set like MS_PRIVATE|MS_REC. */
      propagation: number[];
      /** tmpcopyup: copy the directory the new tmpfs covers into it (modes, owners, links). */
      copyUp: boolean;
      /** For proc/sysfs/etc: the target must be a real directory inside the rootfs, not a
       *  symlink (security rule 6/8). Verified after mounting for fstype "proc". */
      /** Only on idmapped bind mounts: the tree stage1 prepared is attached instead of mount(2). */
      idmap?: PlanIdmap;
      /** Only on binds of a container with a user namespace (runc 1.1's "mount fds"): its root
       *  may not be able to search the source's path (a 0700 host directory on the way), the
       *  runtime can. Before stage1 joins or creates any namespace it forks an opener that keeps
       *  the runtime's namespaces and credentials; once stage1 has all its namespaces, the
       *  opener joins stage1's mount namespace (mount(2) refuses a bind source from another
       *  one, and the copies there carry the flags the kernel locked, security rule 16), opens
       *  the source with O_PATH, following it as mount(2) would, and passes the fd to stage1
       *  (SCM_RIGHTS). Stage2 binds /proc/self/fd/N instead of the path. */
      openSourceOnHost?: true;
    }
  /** mknod(2) inside the rootfs (kind 'c' | 'b' | 'p' | 'u'), then chown to uid/gid. */
  | {
      op: 'mknod';
      path: string;
      kind: 'c' | 'b' | 'p' | 'u';
      major: number;
      minor: number;
      mode: number; // permission bits only
      uid: number;
      gid: number;
    }
  /** Bind the host device node at `path` onto the same path in the rootfs (user namespaces
   *  cannot mknod). Creates an empty file as the target. */
  | { op: 'bind-device'; path: string }
  /** symlink(target, path) inside the rootfs; an existing file at path is left alone. */
  | { op: 'symlink'; target: string; path: string }
  /** mount(NULL, target, NULL, flags, NULL) on an existing mount, e.g. making a tmpfs
   *  read-only once the mounts under it exist. flags include MS_REMOUNT. */
  | { op: 'remount'; target: string; flags: number }
  /** mkdir -p inside the rootfs (0755, owned by the caller): process.cwd, as runc creates it. */
  | { op: 'mkdir'; path: string }
  /** mount_setattr(AT_RECURSIVE) on the mount at target and every mount below it: the
   *  recursive attribute options (rro, rnosuid, ...). MOUNT_ATTR_* bits. */
  | { op: 'mount-setattr'; target: string; attrSet: number; attrClear: number };

/**
 * An idmapped bind mount (a mount's uidMappings/gidMappings, options idmap/ridmap). Setting
 * MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the source's filesystem (the host's root), so
 * stage1 prepares every such mount first, before it joins or creates any namespace:
 * open_tree(source, OPEN_TREE_CLONE, plus AT_RECURSIVE when the op's flags have MS_REC), then
 * mount_setattr(MOUNT_ATTR_IDMAP, plus AT_RECURSIVE when `recursive`) with the user namespace
 * below. The mount op later attaches that detached tree with move_mount onto its target.
 */
export interface PlanIdmap {
  /** ridmap: every mount of the cloned tree is idmapped, not only its top. */
  recursive: boolean;
  /** The mapping: uid_map/gid_map contents for a fresh user namespace (stage1 clones a child
   *  into one, writes its maps, opens it and lets the child exit), or the path of an existing
   *  user namespace (the one the container joins). */
  userns: { uidMap: string; gidMap: string } | { path: string };
}

/** Run by the helper itself (createContainer before pivot_root, startContainer after
 *  exec.fifo opens and before execve), with the state JSON on stdin. */
export interface PlanHook {
  path: string;
  args: string[];
  env: string[];
  /** Seconds; 0 = no timeout. */
  timeout: number;
}

export interface PlanCapabilities {
  /** Capability numbers (CAP_CHOWN = 0 …) the kernel knows; unknown names are dropped by
   *  build.ts with a warning. */
  bounding: number[];
  effective: number[];
  inheritable: number[];
  permitted: number[];
  ambient: number[];
}

export interface PlanProcess {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Octal permission bits, or -1 to leave the umask as is (runc: 0022 default set by build.ts). */
  umask: number;
  /** setrlimit values; soft/hard are decimal strings because uint64 does not fit a JSON
   *  number; "unlimited" for RLIM_INFINITY. */
  rlimits: { resource: number; soft: string; hard: string }[];
  /** null: leave capabilities as they are. */
  capabilities: PlanCapabilities | null;
  noNewPrivileges: boolean;
  /** Value for /proc/self/oom_score_adj, or null to leave it. */
  oomScoreAdj: number | null;
  /** Allocate a pty inside the container (see InitPlan.console). */
  terminal: boolean;
  consoleSize: { height: number; width: number } | null;
  /** linux.seccomp compiled by src/seccomp/compile.ts; null: no filter. */
  seccomp: PlanSeccomp | null;
  /** Scheduler, I/O priority, personality, memory policy, affinity, LSM labels. */
  attrs: PlanProcessAttrs;
}

/** CPU or NUMA node numbers as inclusive [first, last] ranges ("0-3,7" is [[0,3],[7,7]]). */
export type CpuRanges = [number, number][];

/** sched_setattr(2) arguments; runtime/deadline/period are decimal nanoseconds. */
export interface PlanScheduler {
  policy: number;
  flags: number;
  nice: number;
  priority: number;
  runtime: string;
  deadline: string;
  period: string;
}

/**
 * Set by the helper, each null to leave it alone (src/plan/process-attrs.ts). Before the
 * process is reported created (exec: before execve): cpuAffinity, then scheduler,
 * ioPriority, personality, memoryPolicy. Then, at the end (security rule 14): the LSM
 * labels are written to /proc/thread-self/attr (procfs verified) before seccomp and the
 * credential switch; execve turns them into the process's labels.
 */
export interface PlanProcessAttrs {
  scheduler: PlanScheduler | null;
  /** ioprio_set(IOPRIO_WHO_PROCESS, 0, value): (class << 13) | priority. */
  ioPriority: number | null;
  /** personality(2): domain | flags (linux.personality). */
  personality: number | null;
  /** set_mempolicy(mode | flags, nodes) (linux.memoryPolicy). */
  memoryPolicy: { mode: number; nodes: CpuRanges } | null;
  /**
   * process.execCPUAffinity, for `runts exec` only (the spec and runc leave the init's
   * alone). initial: set by stage2 first thing, once it is in all the container's cgroups
   * (joining a cpuset cgroup resets the affinity); final: set just before execve. Both
   * null: reset to every CPU before the process runs, so it does not inherit the runtime's
   * affinity (runc does the same for the init and exec).
   */
  cpuAffinity: { initial: CpuRanges | null; final: CpuRanges | null };
  /** Written as "exec <profile>" to attr/apparmor/exec (or attr/exec). */
  apparmorProfile: string | null;
  /** Written to attr/keycreate and attr/exec. */
  selinuxLabel: string | null;
}

/**
 * A seccomp filter, loaded as runc orders it: with noNewPrivileges, last, right before
 * execve (after the user switch, no_new_privs and closing fds); without it, before the
 * capabilities are dropped and the user is switched (loading a filter without
 * no_new_privs needs CAP_SYS_ADMIN).
 */
export interface PlanSeccomp {
  /** Base64 of the struct sock_filter array for seccomp(SECCOMP_SET_MODE_FILTER). */
  filter: string;
  /** SECCOMP_FILTER_FLAG_* bits; includes NEW_LISTENER (8) exactly when listener is set. */
  flags: number;
  /**
   * SCMP_ACT_NOTIFY is used: the helper connects to `path` (an AF_UNIX stream socket) while
   * still in the runtime's mount namespace, and right after loading the filter sends it
   * runc's seccomp agent message: one sendmsg of the JSON
   * {"ociVersion":ociVersion,"fds":["seccompFd"],"pid":<the process's host pid>,"metadata":
   * metadata (omitted when empty),"state":<the state from the {type:"state"} or {type:"exec"}
   * message>} carrying the listener fd as SCM_RIGHTS; then it closes both fds. As runc, the
   * container's init loads such a filter and sends it during create, just before "created"
   * (an agent gets the fd even for a container deleted before start); `runts exec` before
   * its execve.
   */
  listener: { path: string; metadata: string; ociVersion: string } | null;
}

/**
 * How the helper puts itself into the container's cgroups, without the cgroup.procs write
 * that takes the kernel's global threadgroup lock (an RCU grace period, 10-20 ms). Stage1
 * writes "0" (itself, a single thread: no global lock) to each v1 tasks file first thing,
 * with the runtime's credentials, and forks stage2 with clone3(CLONE_INTO_CGROUP) into the
 * v2 cgroup; stage1 itself never enters that one. A failure reads
 * `join cgroup <cgroup>: write "0" to <file>: <errno text>` (or `clone3 into <dir>`).
 * null in the plan: the runtime wrote stage1's pid to every cgroup.procs before the plan.
 */
export interface PlanCgroupJoin {
  /** Every v1 hierarchy's cgroup and its tasks file. */
  tasks: { cgroup: string; file: string }[];
  /** The v2 cgroup, opened O_RDONLY|O_DIRECTORY by the runtime and inherited as `fd`;
   *  null without a v2 placement. */
  unified: { cgroup: string; dir: string; fd: number } | null;
}

export interface InitPlan {
  containerId: string;
  /** Absolute host path of the rootfs. */
  rootfs: string;
  namespaces: PlanNamespaces;
  /** mount(2) flags for "/" right after the mount namespace exists, before any mount
   *  (MS_SLAVE|MS_REC, or MS_SHARED[|MS_REC] for rootfsPropagation shared/rshared).
   *  0: the container has no mount namespace of its own; the helper then changes no mount,
   *  runs only the rootfs ops (a cwd mkdir) and enters the rootfs with chroot. */
  setupPropagation: number;
  /** mount(2) flags applied to the container's "/" once every mount, masked and readonly
   *  path is in place (linux.rootfsPropagation); 0: none. */
  rootPropagation: number;
  /** Operations that build the rootfs, in order, before pivot_root. */
  rootfsOps: RootfsOp[];
  /** true: MS_MOVE the rootfs onto / and chroot (runc --no-pivot). */
  noPivot: boolean;
  /** Remount the root read-only after pivot_root. */
  rootReadonly: boolean;
  /** Paths inside the container, applied after pivot_root. */
  readonlyPaths: string[];
  /** Mounts (tmpfs, /dev) mounted read-write and made read-only after the console, as runc's
   *  finalizeRootfs does: their contents and the mounts below them are made first. */
  lateReadonlyMounts: string[];
  maskedPaths: string[];
  /** linux.mountLabel: the SELinux context= of the read-only tmpfs over masked directories
   *  (runc labels them so); null for none. */
  maskedDirLabel: string | null;
  /** [key with dots, value], written to /proc/sys/<key with slashes> after pivot_root. */
  sysctl: [string, string][];
  hostname: string | null;
  domainname: string | null;
  /** Console: where to send the pty master (one SCM_RIGHTS message, payload "/dev/ptmx").
   *  socketPath: connected by stage1 before any namespace change; fd: an inherited socket
   *  (foreground `run`). null when process.terminal is false. */
  console: { socketPath: string } | { fd: number } | null;
  /** Host path of <root>/<id>/exec.fifo; the helper opens it O_PATH first thing, with the
   *  runtime's credentials, and later opens /proc/self/fd/N for write, which blocks until
   *  `start`. In a new user namespace the runtime chowns it to the container root's host ids. */
  execFifo: string;
  /** Send {type:"hooks"} after the rootfs ops (prestart/createRuntime run by the parent). */
  runtimeHooks: boolean;
  /** Send {type:"netlink"} and a route netlink socket right after the state (linux.netDevices). */
  netlinkSocket: boolean;
  createContainerHooks: PlanHook[];
  startContainerHooks: PlanHook[];
  /** fds 3 .. 3+preserveFds-1 stay open in the container; every other fd >= 3 is closed. */
  preserveFds: number;
  /** null when config.json has no process: the init waits on the fifo forever. */
  process: PlanProcess | null;
  cgroupJoin: PlanCgroupJoin | null;
}

/** The plan of `runts exec`: one more process in a running container. No rootfs work, no
 *  exec.fifo, no hooks; the process is planned like the init's (src/plan/build.ts). */
export interface ExecPlan {
  mode: 'exec';
  containerId: string;
  namespaces: {
    /** /proc/<init pid>/ns/<type> for each namespace of the container's init that differs
     *  from the runtime's own, user first. The helper opens them all, then joins in order. */
    join: { type: NamespaceType; path: string }[];
  };
  /** Where the pty master goes when process.terminal: the caller's --console-socket, or
   *  our end of a socket pair (foreground exec relays it). null without a terminal. */
  console: { socketPath: string } | { fd: number } | null;
  /** fds 3 .. 3+preserveFds-1 stay open in the process; every other fd >= 3 is closed. */
  preserveFds: number;
  process: PlanProcess;
  cgroupJoin: PlanCgroupJoin | null;
}
