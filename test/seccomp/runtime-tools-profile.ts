// runtime-tools' default seccomp profile, as `oci-runtime-tool generate` writes it on amd64,
// written down as data for the differential test (oci-runtime-tool is not packaged for Debian
// 12). Source: opencontainers/runtime-tools v0.9.0-141-g5e63903,
// generate/seccomp/seccomp_default.go (DefaultProfile) and generate/generate.go (the default
// capabilities). What that function does: defaultAction SCMP_ACT_ERRNO; architectures x86_64,
// x86, x32; one ALLOW rule for the list below; personality allowed for 0, 0x0008 and
// 0xffffffff (SCMP_CMP_EQ on argument 0); per capability in any of the process's capability
// sets an ALLOW rule for the calls it needs; without CAP_SYS_ADMIN, clone allowed where
// argument 0 AND the CLONE_NEW* flags (NS, UTS, IPC, USER, PID, NET, CGROUP) is 0; on amd64
// arch_prctl and modify_ldt allowed.
const ALLOWED = `
accept accept4 access alarm bind brk capget capset chdir chmod chown chown32 clock_getres
clock_gettime clock_nanosleep close connect copy_file_range creat dup dup2 dup3 epoll_create
epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_wait epoll_wait_old eventfd eventfd2 execve
execveat exit exit_group faccessat fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod
fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork
fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex
futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32
getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom
getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname
getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch
inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents ioprio_get
ioprio_set io_setup io_submit ipc kill landlock_add_rule landlock_create_ruleset
landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek
lremovexattr lseek lsetxattr lstat lstat64 madvise memfd_create mincore mkdir mkdirat mknod mknodat
mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive
mq_timedsend mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap nanosleep
newfstatat _newselect open openat pause pipe pipe2 poll ppoll prctl pread64 preadv prlimit64
pselect6 pwrite64 pwritev read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmsg
remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rt_sigaction
rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_setaffinity sched_setattr
sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop send
sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32
setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt
set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown
sigaltstack signalfd signalfd4 sigreturn socket socketcall socketpair splice stat stat64 statfs
statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo syslog tee tgkill time
timer_create timer_delete timerfd_create timerfd_gettime timerfd_settime timer_getoverrun
timer_gettime timer_settime times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat
utime utimensat utimes vfork vmsplice wait4 waitid waitpid write writev
`
  .trim()
  .split(/\s+/);

/** The ALLOW rules per capability (generate/seccomp/seccomp_default.go). */
const BY_CAPABILITY: Readonly<Record<string, string[]>> = {
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_SYS_ADMIN: ['bpf', 'clone', 'fanotify_init', 'lookup_dcookie', 'mount', 'name_to_handle_at', 'perf_event_open', 'setdomainname', 'sethostname', 'setns', 'umount', 'umount2', 'unshare'],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_CHROOT: ['chroot'],
  CAP_SYS_MODULE: ['delete_module', 'init_module', 'finit_module', 'query_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['kcmp', 'process_vm_readv', 'process_vm_writev', 'ptrace'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'adjtimex'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
};

/** generate/generate.go's default capabilities (the same list in every set). */
export const RUNTIME_TOOLS_DEFAULT_CAPABILITIES = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];

/** CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP. */
const CLONE_NAMESPACE_FLAGS = 0x20000 | 0x4000000 | 0x8000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x2000000;

/** linux.seccomp as `oci-runtime-tool generate` writes it on amd64 for a process with these capabilities. */
export function runtimeToolsSeccomp(capabilities: string[]): Record<string, any> {
  const syscalls: Record<string, any>[] = [
    { names: ALLOWED, action: 'SCMP_ACT_ALLOW' },
    ...[0, 0x0008, 0xffffffff].map((value) => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
  ];
  for (const capability of new Set(capabilities)) {
    const names = BY_CAPABILITY[capability];
    if (names) syscalls.push({ names, action: 'SCMP_ACT_ALLOW' });
  }
  if (!capabilities.includes('CAP_SYS_ADMIN')) {
    syscalls.push({ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] });
  }
  syscalls.push({ names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW' }, { names: ['modify_ldt'], action: 'SCMP_ACT_ALLOW' });
  return { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], syscalls };
}
