// runts-init <syncfd>: the container's init. Stage1 joins the container's cgroups (unless
// the runtime put it there), enters or creates the namespaces (stage2 enters the cgroup
// namespace) and forks stage2 as a sibling (CLONE_PARENT); stage2 builds the rootfs,
// reports "created", waits on exec.fifo and execs the container process. For `runts exec`
// (an ExecPlan) the same stage1 joins the namespaces of a running container and
// exec_stage2 only sets up the process and execs it. See src/init/protocol.ts.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <sched.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attrs.h"
#include "bindsrc.h"
#include "console.h"
#include "fds.h"
#include "hooks.h"
#include "idmap.h"
#include "plan.h"
#include "process.h"
#include "rootfs.h"
#include "sync.h"

namespace {

int namespace_flag(const std::string& type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "network") return CLONE_NEWNET;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  if (type == "time") return CLONE_NEWTIME;
  fail("unknown namespace type \"" + type + "\"");
}

// PlanCgroupJoin, v1: moves this (single-threaded) process by writing "0" to each tasks
// file, which the kernel does without its global threadgroup lock. Runs before any
// namespace or credential change.
void join_v1_cgroups(const Plan& plan) {
  for (const CgroupTasks& tasks : plan.cgroup_tasks) {
    std::string what = "join cgroup " + tasks.cgroup + ": write \"0\" to " + tasks.file;
    int fd = open(tasks.file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) fail_errno(what);
    close(fd);
  }
}

// A cgroup namespace is entered by stage2, once it is in all the container's cgroups: a new
// one is rooted at the cgroups of the process that unshares it, and clone3 cannot move a
// child into a cgroup outside the caller's namespace (nsdelegate). With a new user namespace
// a path is joined by stage1 before it (stage2 would lack CAP_SYS_ADMIN in its owner); such
// a container never clones into a cgroup (src/cgroups/join.ts).
bool cgroupns_joined_by_stage2(const Plan& plan, const NamespaceJoin& join) {
  return join.type == "cgroup" && !plan.new_user;
}

// A cgroup namespace stage1 opened for stage2 to join (fd -1: none).
struct CgroupNamespace {
  int fd = -1;
  std::string path;
};

// Opens every path first (joining the user or mount namespace changes what later paths
// and permission checks would see), then joins them in plan order, except the cgroup
// namespace left for stage2.
CgroupNamespace join_namespaces(const Plan& plan) {
  std::vector<int> fds;
  for (const NamespaceJoin& join : plan.joins) {
    int fd = open(join.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_errno("open " + join.type + " namespace " + join.path);
    int actual = ioctl(fd, NS_GET_NSTYPE);
    if (actual < 0) fail_errno("join " + join.type + " namespace: " + join.path + " is not a namespace");
    if (actual != namespace_flag(join.type))
      fail("join " + join.type + " namespace: " + join.path + " is not a " + join.type + " namespace");
    fds.push_back(fd);
  }
  CgroupNamespace cgroupns;
  for (size_t i = 0; i < fds.size(); i++) {
    if (cgroupns_joined_by_stage2(plan, plan.joins[i])) {
      cgroupns = {fds[i], plan.joins[i].path};
      continue;
    }
    if (setns(fds[i], namespace_flag(plan.joins[i].type)) != 0)
      fail_errno("join " + plan.joins[i].type + " namespace " + plan.joins[i].path);
    close(fds[i]);
  }
  return cgroupns;
}

// Stage2, first thing: the cgroup namespace (see cgroupns_joined_by_stage2).
void enter_cgroup_namespace(const Plan& plan, const CgroupNamespace& cgroupns) {
  if (cgroupns.fd >= 0) {
    if (setns(cgroupns.fd, CLONE_NEWCGROUP) != 0) fail_errno("join cgroup namespace " + cgroupns.path);
    close(cgroupns.fd);
  } else if ((plan.unshare_flags & CLONE_NEWCGROUP) != 0 && unshare(CLONE_NEWCGROUP) != 0) {
    fail_errno("unshare cgroup namespace");
  }
}

// Forks stage2 as a sibling, not a child (the runtime reaps both stages); with a v2 cgroup
// in the plan, stage2 is born in it (stage1 never enters it). Returns 0 in stage2.
long fork_stage2(const Plan& plan) {
  long pid;
  if (plan.unified_cgroup_fd < 0) {
    pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (pid < 0) fail_errno("clone stage2");
    return pid;
  }
  struct clone_args args = {};
  // exit_signal stays 0: with CLONE_PARENT the kernel refuses any other and gives stage2
  // stage1's own (SIGCHLD), as clone() does.
  args.flags = CLONE_PARENT | CLONE_INTO_CGROUP;
  args.cgroup = unsigned(plan.unified_cgroup_fd);
  pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) fail_errno("join cgroup " + plan.unified_cgroup + ": clone3 into " + plan.unified_cgroup_dir);
  close(plan.unified_cgroup_fd);
  return pid;
}

void create_user_namespace() {
  if (unshare(CLONE_NEWUSER) != 0) fail_errno("unshare user namespace");
  // The runtime writes our uid_map/gid_map meanwhile; that needs us dumpable.
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  channel::send_type("userns");
  json::Value reply;
  channel::receive("userns-done", reply);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void write_time_offsets(const Plan& plan) {
  if (plan.time_offsets.empty()) return;
  int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("open /proc/self/timens_offsets");
  struct statfs st;
  if (fstatfs(fd, &st) != 0 || st.f_type != PROC_SUPER_MAGIC) fail("/proc/self/timens_offsets is not on procfs");
  std::string text;
  for (const TimeOffset& offset : plan.time_offsets)
    text += offset.clock + " " + std::to_string(offset.secs) + " " + std::to_string(offset.nanosecs) + "\n";
  if (write(fd, text.data(), text.size()) != ssize_t(text.size())) fail_errno("write time namespace offsets");
  close(fd);
}

// Returns the console socket fd, or -1 when the process has no terminal.
int open_console_socket(const Plan& plan) {
  if (!plan.has_process || !plan.process.terminal) return -1;
  if (!plan.console_socket_path.empty()) return connect_console_socket(plan.console_socket_path);
  if (plan.console_fd < 0) fail("process.terminal is set but the plan has no console socket");
  if (fcntl(plan.console_fd, F_SETFD, FD_CLOEXEC) != 0)
    fail_errno("console socket fd " + std::to_string(plan.console_fd));
  return plan.console_fd;
}

// Stage1: returns only in the forked stage2, with the cgroup namespace it is to join.
CgroupNamespace stage1(Plan& plan, BindSourceOpener& opener) {
  if (plan.has_process && plan.process.has_oom_score_adj) write_oom_score_adj(plan.process.oom_score_adj);
  CgroupNamespace cgroupns = join_namespaces(plan);
  bool in_user_namespace = plan.new_user;
  for (const NamespaceJoin& join : plan.joins) in_user_namespace |= join.type == "user";
  if (plan.new_user) create_user_namespace();
  if (in_user_namespace) {
    if (setresgid(0, 0, 0) != 0) fail_errno("setresgid 0 in the user namespace");
    if (setresuid(0, 0, 0) != 0) fail_errno("setresuid 0 in the user namespace");
  }
  int unshare_flags = int(plan.unshare_flags) & ~CLONE_NEWCGROUP;
  if (unshare_flags != 0 && unshare(unshare_flags) != 0) fail_errno("unshare namespaces");
  receive_bind_sources(plan, opener);
  write_time_offsets(plan);

  long pid = fork_stage2(plan);
  if (pid == 0) return cgroupns;
  channel::send_raw("{\"type\":\"pid\",\"pid\":" + std::to_string(pid) + "}");
  _exit(0);
}

// linux.netDevices: the runtime moves the devices in and configures them through a route
// netlink socket made here (a socket stays in the network namespace it was made in), so the
// runtime never has to enter the container's namespace.
void lend_netlink_socket() {
  int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (sock < 0) fail_errno("socket NETLINK_ROUTE in the container's network namespace");
  channel::send_type("netlink");
  channel::send_fd(sock);
  close(sock);
  json::Value reply;
  channel::receive("netlink-done", reply);
}

// Catches at create time what would otherwise fail only at start: the container's root
// (a mapped uid in a user namespace) must be able to open the fifo for writing.
void check_fifo_writable(int fifo) {
  std::string path = "/proc/self/fd/" + std::to_string(fifo);
  if (access(path.c_str(), W_OK) == 0) return;
  // Without a proc mount (config.json mounts) the fd's /proc link is missing, as in runc.
  if (errno == ENOENT) fail_errno("access exec fifo through " + path + " (do mounts have proc on /proc?)");
  fail_errno("exec fifo is not writable by the container's root");
}

// Blocks until `runts start` opens exec.fifo for reading, then releases it.
void wait_for_start(int fifo) {
  std::string path = "/proc/self/fd/" + std::to_string(fifo);
  int fd;
  do fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) fail_errno("open exec fifo for writing");
  if (write(fd, "0", 1) != 1) fail_errno("write exec fifo");
  // The write end stays open (close-on-exec) through the startContainer hooks: `start`
  // reads until EOF, which comes with the execve of the user process or our exit.
  close(fifo);
}

[[noreturn]] void stage2(const Plan& plan, const CgroupNamespace& cgroupns, int console_sock, int fifo) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  enter_cgroup_namespace(plan, cgroupns);
  if (setsid() < 0) fail_errno("setsid");
  // Device and directory modes from the plan are exact.
  mode_t caller_umask = umask(0);

  json::Value message;
  channel::receive("state", message);
  if (!message["state"].is_string()) fail("sync message \"state\" has no state string");
  const std::string state = message["state"].text;
  json::Value parsed_state;
  std::string parse_error;
  if (!json::parse(state, parsed_state, parse_error) || !parsed_state["pid"].is_number())
    fail("sync message \"state\" has no pid");
  set_seccomp_agent_state(state, (long long)parsed_state["pid"].number);
  if (plan.netlink_socket) lend_netlink_socket();

  int rootfd = run_rootfs_ops(plan, prepare_rootfs(plan));
  if (plan.runtime_hooks) {
    channel::send_type("hooks");
    json::Value reply;
    channel::receive("hooks-done", reply);
  }
  umask(caller_umask);  // hooks and the process see the caller's umask
  run_hooks(plan.create_container_hooks, state);
  enter_rootfs(plan, rootfd);
  close(rootfd);

  if (console_sock >= 0) setup_console(plan.process, console_sock, true);
  apply_sysctl(plan);
  apply_readonly_paths(plan);
  apply_masked_paths(plan);
  finish_readonly_mounts(plan);
  if (plan.root_readonly) make_root_readonly();
  apply_root_propagation(plan);
  if (plan.has_hostname && sethostname(plan.hostname.data(), plan.hostname.size()) != 0)
    fail_errno("sethostname " + plan.hostname);
  if (plan.has_domainname && setdomainname(plan.domainname.data(), plan.domainname.size()) != 0)
    fail_errno("setdomainname " + plan.domainname);

  check_fifo_writable(fifo);
  if (console_sock >= 0) check_console_open();
  if (!plan.has_process) {
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    channel::send_type("created");
    channel::detach();
    wait_for_start(fifo);
    for (;;) pause();
  }

  apply_rlimits(plan.process);
  apply_process_attrs(plan.process.attrs, false);
  enter_cwd(plan.process);
  std::string executable = resolve_executable(plan.process);
  load_listener_filter(plan.process);
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);  // the runtime exits once the container is created
  channel::send_type("created");
  channel::detach();
  wait_for_start(fifo);
  run_hooks(plan.start_container_hooks, state);
  exec_process(plan, executable);
}

// Stage2 of `runts exec`: a child in the container's pid namespace whose root and cwd are
// the root of the container's mount namespace, i.e. the container's root (setns of a mount
// namespace leaves no path into the runtime's tree, so no chroot is needed). It waits for
// the runtime to confirm that the namespaces it joined still belong to the container.
[[noreturn]] void exec_stage2(const Plan& plan, const CgroupNamespace& cgroupns, int console_sock) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  enter_cgroup_namespace(plan, cgroupns);
  // In all the container's cgroups by now (joining a cpuset cgroup resets the affinity).
  apply_initial_affinity(plan.process.attrs);
  if (setsid() < 0) fail_errno("setsid");
  json::Value message;
  channel::receive("exec", message);
  // For a seccomp agent: the container's state (runc: status "running") and, as runc sends,
  // this process's own host pid.
  if (message["state"].is_string() && message["pid"].is_number())
    set_seccomp_agent_state(message["state"].text, (long long)message["pid"].number);
  if (console_sock >= 0) setup_console(plan.process, console_sock, false);
  apply_rlimits(plan.process);
  apply_process_attrs(plan.process.attrs, true);
  enter_cwd(plan.process);
  std::string executable = resolve_executable(plan.process);
  // A detached exec outlives the runtime; the sync socket (close-on-exec) still reports
  // any failure up to execve, and its EOF tells the runtime the process runs.
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  exec_process(plan, executable);
}

// Closes fds inherited from the caller (hostile, CVE-2024-21626) right away, keeping only
// stdio, the preserved range, the sync socket and the console socket.
void close_inherited_fds(const Plan& plan, int sync_fd) {
  std::vector<unsigned> keep = {unsigned(sync_fd)};
  if (plan.console_fd >= 0) keep.push_back(unsigned(plan.console_fd));
  if (plan.unified_cgroup_fd >= 0) {
    keep.push_back(unsigned(plan.unified_cgroup_fd));
    if (fcntl(plan.unified_cgroup_fd, F_SETFD, FD_CLOEXEC) != 0)
      fail_errno("cgroup directory fd " + std::to_string(plan.unified_cgroup_fd));
  }
  std::sort(keep.begin(), keep.end());
  unsigned next = 3u + unsigned(plan.preserve_fds);
  for (unsigned fd : keep) {
    if (fd > next) close_fd_range(next, fd - 1, false);
    if (fd + 1 > next) next = fd + 1;
  }
  close_fd_range(next, ~0U, false);
}

int parse_fd(const char* text) {
  char* end = nullptr;
  long fd = strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || fd < 3 || fd > 1 << 20) return -1;
  return int(fd);
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // Exec'd as /proc/self/fd/N, the kernel names us "N"; say what we are in ps and top.
  prctl(PR_SET_NAME, "runts:INIT", 0, 0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (argc == 2 && std::string(argv[1]) == "--echo-plan") return echo_plan();
  if (argc >= 2 && std::string(argv[1]) == "--hook-guard") return hook_guard(argc, argv);
  int sync_fd = argc == 2 ? parse_fd(argv[1]) : -1;
  if (sync_fd < 0 || fcntl(sync_fd, F_SETFD, FD_CLOEXEC) != 0) fail("usage: runts-init <sync fd>");
  channel::attach(sync_fd);
  // First, so the hooks and the user's process inherit clean signal state.
  reset_signals();

  json::Value message;
  channel::receive("plan", message);
  Plan plan = decode_plan(message["plan"]);
  close_inherited_fds(plan, sync_fd);
  join_v1_cgroups(plan);
  int console_sock = open_console_socket(plan);
  if (plan.has_process) connect_seccomp_agent(plan.process);
  BindSourceOpener opener;  // none for an exec: it builds no rootfs
  if (plan.exec) exec_stage2(plan, stage1(plan, opener), console_sock);
  // Opened while still in the runtime's namespaces and credentials: the state dir (0700,
  // owned by the runtime) is not traversable by a user namespace's root. Only an O_PATH
  // fd, never the directory (security rule 10).
  int fifo = open(plan.exec_fifo.c_str(), O_PATH | O_CLOEXEC);
  if (fifo < 0) fail_errno("open exec fifo " + plan.exec_fifo);
  prepare_idmapped_mounts(plan);
  opener = start_bind_source_opener(plan);
  stage2(plan, stage1(plan, opener), console_sock, fifo);
}
