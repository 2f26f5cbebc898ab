// The one typed boundary to native code. Nothing else loads the addon or names the helper
// binary; everything behind these functions is a syscall Node lacks (native/addon/addon.cc).
import * as path from 'node:path';

export interface WaitStatus {
  /** Set when the process exited. */
  exitCode?: number;
  /** Set when a signal killed it. */
  signal?: number;
}

export interface NativeAddon {
  /** Start the init helper from a sealed memfd copy, with an empty environment, default
   *  signal dispositions and only fds 0-2 plus `inheritFds` open; returns its pid and our end
   *  of the sync socket (blocking, close-on-exec). `stdio` (fds >= 3) become its 0-2
   *  instead of ours. */
  spawnInit(helperPath: string, inheritFds: number[], stdio?: [number, number, number]): { pid: number; syncFd: number };
  /** A sealed, close-on-exec memfd copy of the helper (security rule 2), to exec as
   *  /proc/self/fd/<fd>. */
  sealedHelper(helperPath: string): number;
  /** Blocking waitpid for a direct child. */
  waitPid(pid: number): WaitStatus;
  /** waitpid on a worker thread. */
  waitPidAsync(pid: number): Promise<WaitStatus>;
  /** The wait of a foreground process (a direct child) whose stdio are pipes, on a worker
   *  thread: copies our fd 0 into `stdinTo` (closed at our EOF; no more of ours is read once
   *  the process closed its stdin) and `stdoutFrom`/`stderrFrom` out to our fds 1 and 2 until
   *  EOF (closing one whose copy fails, so the process gets EPIPE). Resolves once the process
   *  has exited and both are at EOF; reaps it only then. Closes the three fds in any case. */
  waitAndRelay(pid: number, fds: { stdinTo: number; stdoutFrom: number; stderrFrom: number }): Promise<WaitStatus>;
  /** An AF_UNIX stream socket pair, both ends close-on-exec. */
  socketPair(): [number, number];
  /** A blocking AF_UNIX stream socket connected to `path` (close-on-exec); reads and writes
   *  on it fail with EAGAIN after `timeoutMs`. */
  unixConnect(path: string, timeoutMs: number): number;
  /** A pipe: [read end, write end], both close-on-exec. */
  pipe(): [number, number];
  /** Receive one fd sent with SCM_RIGHTS. */
  recvFd(sock: number): number;
  /** flock, exclusive or shared; blocks unless `wait` is false, then returns false when
   *  another holds the lock. */
  flock(fd: number, exclusive: boolean, wait?: boolean): boolean;
  mkfifo(path: string, mode: number): void;
  pidfdOpen(pid: number): number;
  pidfdSendSignal(pidfd: number, signal: number): void;
  /** One poll(2) for POLLIN on `fds` (negative ones ignored); their revents, all 0 on timeout
   *  or a signal. A pidfd turns readable when its process exits. timeoutMs -1: no limit. */
  pollIn(fds: number[], timeoutMs: number): number[];
  setWinsize(fd: number, rows: number, cols: number): void;
  /** statfs f_type of an open fd (PROC_SUPER_MAGIC = 0x9fa0). */
  fstatfsType(fd: number): number;
  /** BPF_PROG_LOAD of a BPF_PROG_TYPE_CGROUP_DEVICE program (struct bpf_insn array); returns its
   *  fd (close-on-exec). `name` (at most 15 bytes) identifies the program later (bpfProgName).
   *  A failure's message carries the verifier log. */
  bpfProgLoadDevice(insns: Buffer, license: string, name: string): number;
  /** BPF_PROG_ATTACH as BPF_CGROUP_DEVICE to a cgroup v2 directory fd (flags: BPF_F_ALLOW_MULTI …). */
  bpfProgAttachDevice(cgroupFd: number, progFd: number, flags: number): void;
  /** BPF_PROG_DETACH of that program from the cgroup's BPF_CGROUP_DEVICE programs. */
  bpfProgDetachDevice(cgroupFd: number, progFd: number): void;
  /** IDs of the BPF_CGROUP_DEVICE programs attached to the cgroup itself (BPF_PROG_QUERY). */
  bpfProgQueryDevice(cgroupFd: number): number[];
  /** BPF_PROG_GET_FD_BY_ID; returns a close-on-exec fd. */
  bpfProgGetFdById(id: number): number;
  /** The name a program was loaded with (BPF_OBJ_GET_INFO_BY_FD). */
  bpfProgName(progFd: number): string;
  /** A NETLINK_ROUTE socket (close-on-exec) in the runtime's network namespace; requests and
   *  replies go through read/write on it (src/network/netlink.ts). */
  netlinkRouteSocket(): number;
  /** waitpid(pid, WNOHANG) of a direct child: its status once it has exited (reaping it), else
   *  null. */
  waitPidNoHang(pid: number): WaitStatus | null;
  /** prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are reparented to us (the shim). */
  setChildSubreaper(): void;
  /** mount(2); "" for fstype or data passes NULL. */
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  umount2(target: string, flags: number): void;
  /** The errno mount(2) of `fstype` with these flags and data fails with here, 0 when it
   *  mounts: tried on / in a child's throwaway, private mount namespace (needs CAP_SYS_ADMIN). */
  probeMount(fstype: string, flags: number, data: string): number;
}

// Source (src/) and bundle (dist/) both sit one level below the project root.
const projectRoot = path.resolve(__dirname, '..');

/** Absolute path of the init helper executable built by node-gyp. */
export const initHelperPath = path.join(projectRoot, 'build', 'Release', 'runts-init');

let addon: NativeAddon | undefined;

/** The addon, loaded on first use so commands that need no syscalls never pay for it. */
export function native(): NativeAddon {
  if (!addon) {
    const file = path.join(projectRoot, 'build', 'Release', 'runts_native.node');
    const mod = { exports: {} as NativeAddon };
    process.dlopen(mod, file);
    addon = mod.exports;
  }
  return addon;
}

export const PROC_SUPER_MAGIC = 0x9fa0;
