// The init plan (src/plan/types.ts InitPlan) decoded from its JSON form.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "json.h"

struct NamespaceJoin {
  std::string type;  // config.json name: "pid", "network", ...
  std::string path;
};

// PlanCgroupJoin: the helper joins the container's cgroups itself.
struct CgroupTasks {
  std::string cgroup;  // for error messages
  std::string file;    // the v1 hierarchy's <dir>/tasks
};

struct TimeOffset {
  std::string clock;  // "monotonic" | "boottime"
  long long secs = 0;
  long long nanosecs = 0;
};

struct RootfsOp {
  enum class Kind { Mount, Mknod, BindDevice, Symlink, Remount, Mkdir, MountSetattr } kind = Kind::Mount;
  // mount (remount: target + flags)
  std::string source, target, fstype, data;
  unsigned long flags = 0;
  std::string mkdir;  // "dir" | "file" | "none"
  unsigned long remount_flags = 0;
  bool copy_up = false;  // tmpcopyup: copy the covered directory into the new tmpfs
  std::vector<unsigned long> propagation;
  // mount of an idmapped bind (PlanIdmap): set up by prepare_idmapped_mounts (idmap.h)
  bool has_idmap = false, idmap_recursive = false;
  std::string idmap_uid_map, idmap_gid_map;  // for a fresh user namespace, or
  std::string idmap_userns_path;             // an existing one
  int idmap_tree = -1;                       // the prepared detached tree, attached by the op
  // bind whose source the runtime's side opens (openSourceOnHost): see bindsrc.h
  bool open_source_on_host = false;
  int host_source_fd = -1;  // that O_PATH fd, bound by the op instead of `source`
  // mount-setattr (target): MOUNT_ATTR_* bits, applied recursively
  unsigned long long attr_set = 0, attr_clear = 0;
  // mknod (path), bind-device (path), symlink (path -> link_target), mkdir (path)
  std::string path, link_target;
  char device_kind = 'c';
  unsigned major = 0, minor = 0, mode = 0;
  unsigned uid = 0, gid = 0;
};

struct Hook {
  std::string path;
  std::vector<std::string> args, env;
  int timeout = 0;  // seconds, 0 = none
};

struct Rlimit {
  int resource = 0;
  std::string soft, hard;  // decimal or "unlimited"
};

struct Capabilities {
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

// linux.seccomp compiled to BPF by src/seccomp/compile.ts (PlanSeccomp).
struct Seccomp {
  std::string filter;  // struct sock_filter[] bytes
  unsigned flags = 0;  // SECCOMP_FILTER_FLAG_*
  bool has_listener = false;
  std::string listener_path, listener_metadata, listener_oci_version;
};

struct CpuRange {
  unsigned first = 0, last = 0;
};

// sched_setattr(2) arguments; times are decimal nanoseconds.
struct Scheduler {
  unsigned policy = 0;
  unsigned long long flags = 0;
  int nice = 0;
  unsigned priority = 0;
  std::string runtime, deadline, period;
};

struct MemoryPolicy {
  int mode = 0;  // mode | flags
  std::vector<CpuRange> nodes;
};

// PlanProcessAttrs: each has_* false leaves that attribute alone; empty labels likewise.
struct ProcessAttrs {
  bool has_scheduler = false;
  Scheduler scheduler;
  bool has_io_priority = false;
  int io_priority = 0;
  bool has_personality = false;
  unsigned personality = 0;
  bool has_memory_policy = false;
  MemoryPolicy memory_policy;
  bool has_initial_affinity = false, has_final_affinity = false;
  std::vector<CpuRange> initial_affinity, final_affinity;
  std::string apparmor_profile, selinux_label;
};

struct Process {
  std::vector<std::string> args, env;
  std::string cwd;
  unsigned uid = 0, gid = 0;
  std::vector<unsigned> additional_gids;
  int umask = -1;
  std::vector<Rlimit> rlimits;
  bool has_capabilities = false;
  Capabilities capabilities;
  bool no_new_privileges = false;
  bool has_oom_score_adj = false;
  int oom_score_adj = 0;
  bool terminal = false;
  bool has_console_size = false;
  unsigned short console_height = 0, console_width = 0;
  bool has_seccomp = false;
  Seccomp seccomp;  ProcessAttrs attrs;
};

struct Plan {
  // `runts exec` (an ExecPlan): only container_id, joins, console_*, preserve_fds, process
  // and the cgroup join are set; there is no rootfs to build, no fifo and no hooks.
  bool exec = false;
  std::string container_id;
  std::string rootfs;
  std::vector<NamespaceJoin> joins;
  unsigned long unshare_flags = 0;
  bool new_user = false;
  std::vector<TimeOffset> time_offsets;
  // MS_* flags for "/" before any mount; 0: no mount namespace of its own (chroot only).
  unsigned long setup_propagation = 0;
  // MS_* flags for the container's "/" after every mount; 0: none.
  unsigned long root_propagation = 0;
  std::vector<RootfsOp> rootfs_ops;
  bool no_pivot = false;
  bool root_readonly = false;
  std::vector<std::string> readonly_paths, masked_paths;
  std::vector<std::string> late_readonly_mounts;
  std::string masked_dir_label;  // SELinux context= for masked directories' tmpfs; "" for none
  std::vector<std::pair<std::string, std::string>> sysctl;
  bool has_hostname = false, has_domainname = false;
  std::string hostname, domainname;
  std::string console_socket_path;  // set when console is {socketPath}
  int console_fd = -1;              // set when console is {fd}
  std::string exec_fifo;
  bool runtime_hooks = false;
  bool netlink_socket = false;
  std::vector<Hook> create_container_hooks, start_container_hooks;
  int preserve_fds = 0;
  bool has_process = false;
  Process process;
  // PlanCgroupJoin (none: the runtime put stage1 into the cgroups): v1 tasks files to write
  // "0" to, and the inherited fd of the v2 cgroup directory stage2 is cloned into (-1: none).
  bool has_cgroup_join = false;
  std::vector<CgroupTasks> cgroup_tasks;
  int unified_cgroup_fd = -1;
  std::string unified_cgroup, unified_cgroup_dir;
};

// Decodes the "plan" member of the {type:"plan"} message (an InitPlan, or an ExecPlan when
// its "mode" is "exec"); fails on a malformed plan.
Plan decode_plan(const json::Value& plan);

// `runts-init --echo-plan` (plan_echo.cc): reads a plan on stdin and writes the decoded plan
// back as JSON in the shape of src/plan/types.ts; does nothing else. Returns the exit status.
int echo_plan();
