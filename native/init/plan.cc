#include "plan.h"

#include "sync.h"

namespace {

// Typed field readers: a missing or mistyped field is a runtime bug, reported by name.
const json::Value& field(const json::Value& obj, const char* name, json::Kind kind) {
  const json::Value& v = obj[name];
  if (v.kind != kind) fail(std::string("invalid init plan: field \"") + name + "\" missing or of the wrong type");
  return v;
}

std::string str(const json::Value& obj, const char* name) { return field(obj, name, json::Kind::String).text; }

double num(const json::Value& obj, const char* name) { return field(obj, name, json::Kind::Number).number; }

bool flag(const json::Value& obj, const char* name) { return field(obj, name, json::Kind::Bool).boolean; }

const std::vector<json::Value>& list(const json::Value& obj, const char* name) {
  return field(obj, name, json::Kind::Array).items;
}

std::vector<std::string> strings(const json::Value& obj, const char* name) {
  std::vector<std::string> out;
  for (const json::Value& v : list(obj, name)) {
    if (!v.is_string()) fail(std::string("invalid init plan: \"") + name + "\" must hold strings");
    out.push_back(v.text);
  }
  return out;
}

template <typename T>
std::vector<T> numbers(const json::Value& obj, const char* name) {
  std::vector<T> out;
  for (const json::Value& v : list(obj, name)) {
    if (!v.is_number()) fail(std::string("invalid init plan: \"") + name + "\" must hold numbers");
    out.push_back(T(v.number));
  }
  return out;
}

RootfsOp decode_op(const json::Value& v) {
  RootfsOp op;
  std::string kind = str(v, "op");
  if (kind == "mount") {
    op.kind = RootfsOp::Kind::Mount;
    op.source = str(v, "source");
    op.target = str(v, "target");
    op.fstype = str(v, "fstype");
    op.flags = (unsigned long)num(v, "flags");
    op.data = str(v, "data");
    op.mkdir = str(v, "mkdir");
    op.remount_flags = (unsigned long)num(v, "remountFlags");
    op.copy_up = flag(v, "copyUp");
    op.propagation = numbers<unsigned long>(v, "propagation");
    op.open_source_on_host = !v["openSourceOnHost"].is_null() && flag(v, "openSourceOnHost");
    const json::Value& idmap = v["idmap"];
    if (!idmap.is_null()) {
      op.has_idmap = true;
      op.idmap_recursive = flag(idmap, "recursive");
      const json::Value& userns = field(idmap, "userns", json::Kind::Object);
      if (userns["path"].is_null()) {
        op.idmap_uid_map = str(userns, "uidMap");
        op.idmap_gid_map = str(userns, "gidMap");
      } else {
        op.idmap_userns_path = str(userns, "path");
      }
    }
  } else if (kind == "mknod") {
    op.kind = RootfsOp::Kind::Mknod;
    op.path = str(v, "path");
    std::string dev = str(v, "kind");
    if (dev.size() != 1 || std::string("cbpu").find(dev[0]) == std::string::npos)
      fail("invalid init plan: mknod kind \"" + dev + "\"");
    op.device_kind = dev[0];
    op.major = unsigned(num(v, "major"));
    op.minor = unsigned(num(v, "minor"));
    op.mode = unsigned(num(v, "mode"));
    op.uid = unsigned(num(v, "uid"));
    op.gid = unsigned(num(v, "gid"));
  } else if (kind == "bind-device") {
    op.kind = RootfsOp::Kind::BindDevice;
    op.path = str(v, "path");
  } else if (kind == "symlink") {
    op.kind = RootfsOp::Kind::Symlink;
    op.path = str(v, "path");
    op.link_target = str(v, "target");
  } else if (kind == "mkdir") {
    op.kind = RootfsOp::Kind::Mkdir;
    op.path = str(v, "path");
  } else if (kind == "remount") {
    op.kind = RootfsOp::Kind::Remount;
    op.target = str(v, "target");
    op.flags = (unsigned long)num(v, "flags");
  } else if (kind == "mount-setattr") {
    op.kind = RootfsOp::Kind::MountSetattr;
    op.target = str(v, "target");
    op.attr_set = (unsigned long long)num(v, "attrSet");
    op.attr_clear = (unsigned long long)num(v, "attrClear");
  } else {
    fail("invalid init plan: unknown rootfs op \"" + kind + "\"");
  }
  return op;
}

std::vector<Hook> decode_hooks(const json::Value& plan, const char* name) {
  std::vector<Hook> hooks;
  for (const json::Value& v : list(plan, name)) {
    Hook hook;
    hook.path = str(v, "path");
    hook.args = strings(v, "args");
    hook.env = strings(v, "env");
    hook.timeout = int(num(v, "timeout"));
    hooks.push_back(hook);
  }
  return hooks;
}

// Standard base64 (with padding), as Buffer.toString('base64') writes it.
std::string decode_base64(const std::string& text, const char* name) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    int v = value(c);
    if (v < 0) fail(std::string("invalid init plan: \"") + name + "\" is not base64");
    bits = (bits << 6) | unsigned(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(char((bits >> count) & 0xff));
    }
  }
  return out;
}

Seccomp decode_seccomp(const json::Value& v) {
  Seccomp sc;
  sc.filter = decode_base64(str(v, "filter"), "seccomp.filter");
  if (sc.filter.empty() || sc.filter.size() % 8 != 0 || sc.filter.size() / 8 > 4096)
    fail("invalid init plan: seccomp.filter is not a BPF program");
  sc.flags = unsigned(num(v, "flags"));
  const json::Value& listener = v["listener"];
  if (!listener.is_null()) {
    sc.has_listener = true;
    sc.listener_path = str(listener, "path");
    sc.listener_metadata = str(listener, "metadata");
    sc.listener_oci_version = str(listener, "ociVersion");
  }
  return sc;
}

std::vector<CpuRange> decode_ranges(const json::Value& v, const char* name) {
  std::vector<CpuRange> ranges;
  for (const json::Value& r : list(v, name)) {
    if (!r.is_array() || r.items.size() != 2 || !r.items[0].is_number() || !r.items[1].is_number() ||
        r.items[0].number < 0 || r.items[0].number > r.items[1].number || r.items[1].number > 65536)
      fail(std::string("invalid init plan: \"") + name + "\" must hold [first, last] ranges");
    ranges.push_back({unsigned(r.items[0].number), unsigned(r.items[1].number)});
  }
  return ranges;
}

ProcessAttrs decode_attrs(const json::Value& v) {
  ProcessAttrs a;
  const json::Value& sched = v["scheduler"];
  if (!sched.is_null()) {
    a.has_scheduler = true;
    a.scheduler.policy = unsigned(num(sched, "policy"));
    a.scheduler.flags = (unsigned long long)num(sched, "flags");
    a.scheduler.nice = int(num(sched, "nice"));
    a.scheduler.priority = unsigned(num(sched, "priority"));
    a.scheduler.runtime = str(sched, "runtime");
    a.scheduler.deadline = str(sched, "deadline");
    a.scheduler.period = str(sched, "period");
  }
  if (!v["ioPriority"].is_null()) {
    a.has_io_priority = true;
    a.io_priority = int(num(v, "ioPriority"));
  }
  if (!v["personality"].is_null()) {
    a.has_personality = true;
    a.personality = unsigned(num(v, "personality"));
  }
  const json::Value& mpol = v["memoryPolicy"];
  if (!mpol.is_null()) {
    a.has_memory_policy = true;
    a.memory_policy.mode = int(num(mpol, "mode"));
    a.memory_policy.nodes = decode_ranges(mpol, "nodes");
  }
  const json::Value& affinity = field(v, "cpuAffinity", json::Kind::Object);
  if (!affinity["initial"].is_null()) {
    a.has_initial_affinity = true;
    a.initial_affinity = decode_ranges(affinity, "initial");
  }
  if (!affinity["final"].is_null()) {
    a.has_final_affinity = true;
    a.final_affinity = decode_ranges(affinity, "final");
  }
  if (!v["apparmorProfile"].is_null()) a.apparmor_profile = str(v, "apparmorProfile");
  if (!v["selinuxLabel"].is_null()) a.selinux_label = str(v, "selinuxLabel");
  return a;
}

Process decode_process(const json::Value& v) {
  Process p;
  p.args = strings(v, "args");
  if (p.args.empty()) fail("invalid init plan: process.args is empty");
  p.env = strings(v, "env");
  p.cwd = str(v, "cwd");
  p.uid = unsigned(num(v, "uid"));
  p.gid = unsigned(num(v, "gid"));
  p.additional_gids = numbers<unsigned>(v, "additionalGids");
  p.umask = int(num(v, "umask"));
  for (const json::Value& r : list(v, "rlimits")) {
    Rlimit limit;
    limit.resource = int(num(r, "resource"));
    limit.soft = str(r, "soft");
    limit.hard = str(r, "hard");
    p.rlimits.push_back(limit);
  }
  const json::Value& caps = v["capabilities"];
  if (!caps.is_null()) {
    p.has_capabilities = true;
    p.capabilities.bounding = numbers<int>(caps, "bounding");
    p.capabilities.effective = numbers<int>(caps, "effective");
    p.capabilities.inheritable = numbers<int>(caps, "inheritable");
    p.capabilities.permitted = numbers<int>(caps, "permitted");
    p.capabilities.ambient = numbers<int>(caps, "ambient");
  }
  p.no_new_privileges = flag(v, "noNewPrivileges");
  if (!v["oomScoreAdj"].is_null()) {
    p.has_oom_score_adj = true;
    p.oom_score_adj = int(num(v, "oomScoreAdj"));
  }
  p.terminal = flag(v, "terminal");
  const json::Value& size = v["consoleSize"];
  if (!size.is_null()) {
    p.has_console_size = true;
    p.console_height = (unsigned short)num(size, "height");
    p.console_width = (unsigned short)num(size, "width");
  }
  const json::Value& seccomp = v["seccomp"];
  if (!seccomp.is_null()) {
    p.has_seccomp = true;
    p.seccomp = decode_seccomp(seccomp);
  }
  p.attrs = decode_attrs(field(v, "attrs", json::Kind::Object));
  return p;
}

void decode_console(const json::Value& v, Plan& plan) {
  const json::Value& console = v["console"];
  if (console.is_null()) return;
  if (console["socketPath"].is_string()) plan.console_socket_path = console["socketPath"].text;
  else plan.console_fd = int(num(console, "fd"));
}

void decode_preserve_fds(const json::Value& v, Plan& plan) {
  plan.preserve_fds = int(num(v, "preserveFds"));
  if (plan.preserve_fds < 0) fail("invalid init plan: preserveFds is negative");
}

std::vector<NamespaceJoin> decode_joins(const json::Value& namespaces) {
  std::vector<NamespaceJoin> joins;
  for (const json::Value& j : list(namespaces, "join")) joins.push_back({str(j, "type"), str(j, "path")});
  return joins;
}

void decode_cgroup_join(const json::Value& v, Plan& plan) {
  const json::Value& join = v["cgroupJoin"];
  if (join.is_null()) return;
  plan.has_cgroup_join = true;
  for (const json::Value& t : list(join, "tasks")) plan.cgroup_tasks.push_back({str(t, "cgroup"), str(t, "file")});
  const json::Value& unified = join["unified"];
  if (unified.is_null()) return;
  plan.unified_cgroup = str(unified, "cgroup");
  plan.unified_cgroup_dir = str(unified, "dir");
  plan.unified_cgroup_fd = int(num(unified, "fd"));
  if (plan.unified_cgroup_fd < 3) fail("invalid init plan: cgroupJoin.unified.fd is not an inherited fd");
}

// ExecPlan: join the container's namespaces and run one process.
Plan decode_exec_plan(const json::Value& v) {
  Plan plan;
  plan.exec = true;
  plan.container_id = str(v, "containerId");
  plan.joins = decode_joins(field(v, "namespaces", json::Kind::Object));
  decode_console(v, plan);
  decode_preserve_fds(v, plan);
  plan.has_process = true;
  plan.process = decode_process(field(v, "process", json::Kind::Object));
  decode_cgroup_join(v, plan);
  return plan;
}

}  // namespace

Plan decode_plan(const json::Value& v) {
  if (!v.is_object()) fail("invalid init plan: not an object");
  const json::Value& mode = v["mode"];
  if (mode.is_string() && mode.text == "exec") return decode_exec_plan(v);
  if (!mode.is_null()) fail("invalid init plan: unknown mode");
  Plan plan;
  plan.container_id = str(v, "containerId");
  plan.rootfs = str(v, "rootfs");
  if (plan.rootfs.empty() || plan.rootfs[0] != '/') fail("invalid init plan: rootfs must be an absolute path");

  const json::Value& ns = field(v, "namespaces", json::Kind::Object);
  plan.joins = decode_joins(ns);
  plan.unshare_flags = (unsigned long)num(ns, "unshareFlags");
  plan.new_user = flag(ns, "newUser");
  for (const json::Value& t : list(ns, "timeOffsets"))
    plan.time_offsets.push_back({str(t, "clock"), (long long)num(t, "secs"), (long long)num(t, "nanosecs")});

  plan.setup_propagation = (unsigned long)num(v, "setupPropagation");
  plan.root_propagation = (unsigned long)num(v, "rootPropagation");
  for (const json::Value& op : list(v, "rootfsOps")) plan.rootfs_ops.push_back(decode_op(op));
  plan.no_pivot = flag(v, "noPivot");
  plan.root_readonly = flag(v, "rootReadonly");
  plan.readonly_paths = strings(v, "readonlyPaths");
  plan.late_readonly_mounts = strings(v, "lateReadonlyMounts");
  plan.masked_paths = strings(v, "maskedPaths");
  if (!v["maskedDirLabel"].is_null()) plan.masked_dir_label = str(v, "maskedDirLabel");
  for (const json::Value& kv : list(v, "sysctl")) {
    if (!kv.is_array() || kv.items.size() != 2 || !kv.items[0].is_string() || !kv.items[1].is_string())
      fail("invalid init plan: sysctl entries must be [key, value] strings");
    plan.sysctl.emplace_back(kv.items[0].text, kv.items[1].text);
  }
  if (!v["hostname"].is_null()) {
    plan.has_hostname = true;
    plan.hostname = str(v, "hostname");
  }
  if (!v["domainname"].is_null()) {
    plan.has_domainname = true;
    plan.domainname = str(v, "domainname");
  }
  decode_console(v, plan);
  plan.exec_fifo = str(v, "execFifo");
  plan.runtime_hooks = flag(v, "runtimeHooks");
  plan.netlink_socket = flag(v, "netlinkSocket");
  plan.create_container_hooks = decode_hooks(v, "createContainerHooks");
  plan.start_container_hooks = decode_hooks(v, "startContainerHooks");
  decode_preserve_fds(v, plan);
  if (!v["process"].is_null()) {
    plan.has_process = true;
    plan.process = decode_process(field(v, "process", json::Kind::Object));
  }
  decode_cgroup_join(v, plan);
  return plan;
}
