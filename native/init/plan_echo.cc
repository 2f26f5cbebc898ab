// `runts-init --echo-plan`: decodes the plan on stdin and writes it back as JSON in the shape
// of src/plan/types.ts, so that a test without root can check that the helper reads every
// field the TypeScript side writes (test/init/plan-contract.test.ts). It touches nothing
// else: no namespace, cgroup, mount, fd or credential.
#include "plan.h"

#include <cerrno>
#include <unistd.h>

#include "sync.h"

namespace {

class Writer {
 public:
  std::string out;

  void key(const char* name) {
    comma();
    json::append_quoted(out, name);
    out += ':';
    fresh_ = true;
  }
  void open(char c) {
    comma();
    out += c;
    fresh_ = true;
  }
  void close(char c) {
    out += c;
    fresh_ = false;
  }
  void str(const std::string& s) {
    comma();
    json::append_quoted(out, s);
  }
  void int_(long long v) { raw(std::to_string(v)); }
  void uint(unsigned long long v) { raw(std::to_string(v)); }
  void boolean(bool v) { raw(v ? "true" : "false"); }
  void null() { raw("null"); }
  void str_or_null(bool has, const std::string& s) { has ? str(s) : null(); }
  void strings(const std::vector<std::string>& items) {
    open('[');
    for (const std::string& s : items) str(s);
    close(']');
  }
  template <typename T>
  void numbers(const std::vector<T>& items) {
    open('[');
    for (T v : items) int_((long long)v);
    close(']');
  }

 private:
  bool fresh_ = true;  // nothing written yet at this level (or right after a key)
  void comma() {
    if (!fresh_) out += ',';
    fresh_ = false;
  }
  void raw(const std::string& text) {
    comma();
    out += text;
  }
};

std::string encode_base64(const std::string& bytes) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    unsigned n = unsigned((unsigned char)bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= unsigned((unsigned char)bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= unsigned((unsigned char)bytes[i + 2]);
    out += digits[(n >> 18) & 63];
    out += digits[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? digits[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? digits[n & 63] : '=';
  }
  return out;
}

void write_ranges(Writer& w, const std::vector<CpuRange>& ranges) {
  w.open('[');
  for (const CpuRange& r : ranges) {
    w.open('[');
    w.uint(r.first);
    w.uint(r.last);
    w.close(']');
  }
  w.close(']');
}

void write_joins(Writer& w, const std::vector<NamespaceJoin>& joins) {
  w.key("join");
  w.open('[');
  for (const NamespaceJoin& j : joins) {
    w.open('{');
    w.key("type"), w.str(j.type);
    w.key("path"), w.str(j.path);
    w.close('}');
  }
  w.close(']');
}

void write_op(Writer& w, const RootfsOp& op) {
  w.open('{');
  switch (op.kind) {
    case RootfsOp::Kind::Mount:
      w.key("op"), w.str("mount");
      w.key("source"), w.str(op.source);
      w.key("target"), w.str(op.target);
      w.key("fstype"), w.str(op.fstype);
      w.key("flags"), w.uint(op.flags);
      w.key("data"), w.str(op.data);
      w.key("mkdir"), w.str(op.mkdir);
      w.key("remountFlags"), w.uint(op.remount_flags);
      w.key("propagation"), w.numbers(op.propagation);
      w.key("copyUp"), w.boolean(op.copy_up);
      if (op.has_idmap) {
        w.key("idmap"), w.open('{');
        w.key("recursive"), w.boolean(op.idmap_recursive);
        w.key("userns"), w.open('{');
        if (op.idmap_userns_path.empty()) {
          w.key("uidMap"), w.str(op.idmap_uid_map);
          w.key("gidMap"), w.str(op.idmap_gid_map);
        } else {
          w.key("path"), w.str(op.idmap_userns_path);
        }
        w.close('}');
        w.close('}');
      }
      if (op.open_source_on_host) w.key("openSourceOnHost"), w.boolean(true);
      break;
    case RootfsOp::Kind::Mknod:
      w.key("op"), w.str("mknod");
      w.key("path"), w.str(op.path);
      w.key("kind"), w.str(std::string(1, op.device_kind));
      w.key("major"), w.uint(op.major);
      w.key("minor"), w.uint(op.minor);
      w.key("mode"), w.uint(op.mode);
      w.key("uid"), w.uint(op.uid);
      w.key("gid"), w.uint(op.gid);
      break;
    case RootfsOp::Kind::BindDevice:
      w.key("op"), w.str("bind-device");
      w.key("path"), w.str(op.path);
      break;
    case RootfsOp::Kind::Symlink:
      w.key("op"), w.str("symlink");
      w.key("target"), w.str(op.link_target);
      w.key("path"), w.str(op.path);
      break;
    case RootfsOp::Kind::Remount:
      w.key("op"), w.str("remount");
      w.key("target"), w.str(op.target);
      w.key("flags"), w.uint(op.flags);
      break;
    case RootfsOp::Kind::Mkdir:
      w.key("op"), w.str("mkdir");
      w.key("path"), w.str(op.path);
      break;
    case RootfsOp::Kind::MountSetattr:
      w.key("op"), w.str("mount-setattr");
      w.key("target"), w.str(op.target);
      w.key("attrSet"), w.uint(op.attr_set);
      w.key("attrClear"), w.uint(op.attr_clear);
      break;
  }
  w.close('}');
}

void write_hooks(Writer& w, const char* name, const std::vector<Hook>& hooks) {
  w.key(name), w.open('[');
  for (const Hook& h : hooks) {
    w.open('{');
    w.key("path"), w.str(h.path);
    w.key("args"), w.strings(h.args);
    w.key("env"), w.strings(h.env);
    w.key("timeout"), w.int_(h.timeout);
    w.close('}');
  }
  w.close(']');
}

void write_attrs(Writer& w, const ProcessAttrs& a) {
  w.key("attrs"), w.open('{');
  w.key("scheduler");
  if (a.has_scheduler) {
    w.open('{');
    w.key("policy"), w.uint(a.scheduler.policy);
    w.key("flags"), w.uint(a.scheduler.flags);
    w.key("nice"), w.int_(a.scheduler.nice);
    w.key("priority"), w.uint(a.scheduler.priority);
    w.key("runtime"), w.str(a.scheduler.runtime);
    w.key("deadline"), w.str(a.scheduler.deadline);
    w.key("period"), w.str(a.scheduler.period);
    w.close('}');
  } else {
    w.null();
  }
  w.key("ioPriority");
  a.has_io_priority ? w.int_(a.io_priority) : w.null();
  w.key("personality");
  a.has_personality ? w.uint(a.personality) : w.null();
  w.key("memoryPolicy");
  if (a.has_memory_policy) {
    w.open('{');
    w.key("mode"), w.int_(a.memory_policy.mode);
    w.key("nodes"), write_ranges(w, a.memory_policy.nodes);
    w.close('}');
  } else {
    w.null();
  }
  w.key("cpuAffinity"), w.open('{');
  w.key("initial");
  a.has_initial_affinity ? write_ranges(w, a.initial_affinity) : w.null();
  w.key("final");
  a.has_final_affinity ? write_ranges(w, a.final_affinity) : w.null();
  w.close('}');
  w.key("apparmorProfile"), w.str_or_null(!a.apparmor_profile.empty(), a.apparmor_profile);
  w.key("selinuxLabel"), w.str_or_null(!a.selinux_label.empty(), a.selinux_label);
  w.close('}');
}

void write_process(Writer& w, const Process& p) {
  w.open('{');
  w.key("args"), w.strings(p.args);
  w.key("env"), w.strings(p.env);
  w.key("cwd"), w.str(p.cwd);
  w.key("uid"), w.uint(p.uid);
  w.key("gid"), w.uint(p.gid);
  w.key("additionalGids"), w.numbers(p.additional_gids);
  w.key("umask"), w.int_(p.umask);
  w.key("rlimits"), w.open('[');
  for (const Rlimit& r : p.rlimits) {
    w.open('{');
    w.key("resource"), w.int_(r.resource);
    w.key("soft"), w.str(r.soft);
    w.key("hard"), w.str(r.hard);
    w.close('}');
  }
  w.close(']');
  w.key("capabilities");
  if (p.has_capabilities) {
    w.open('{');
    w.key("bounding"), w.numbers(p.capabilities.bounding);
    w.key("effective"), w.numbers(p.capabilities.effective);
    w.key("inheritable"), w.numbers(p.capabilities.inheritable);
    w.key("permitted"), w.numbers(p.capabilities.permitted);
    w.key("ambient"), w.numbers(p.capabilities.ambient);
    w.close('}');
  } else {
    w.null();
  }
  w.key("noNewPrivileges"), w.boolean(p.no_new_privileges);
  w.key("oomScoreAdj");
  p.has_oom_score_adj ? w.int_(p.oom_score_adj) : w.null();
  w.key("terminal"), w.boolean(p.terminal);
  w.key("consoleSize");
  if (p.has_console_size) {
    w.open('{');
    w.key("height"), w.uint(p.console_height);
    w.key("width"), w.uint(p.console_width);
    w.close('}');
  } else {
    w.null();
  }
  w.key("seccomp");
  if (p.has_seccomp) {
    w.open('{');
    w.key("filter"), w.str(encode_base64(p.seccomp.filter));
    w.key("flags"), w.uint(p.seccomp.flags);
    w.key("listener");
    if (p.seccomp.has_listener) {
      w.open('{');
      w.key("path"), w.str(p.seccomp.listener_path);
      w.key("metadata"), w.str(p.seccomp.listener_metadata);
      w.key("ociVersion"), w.str(p.seccomp.listener_oci_version);
      w.close('}');
    } else {
      w.null();
    }
    w.close('}');
  } else {
    w.null();
  }
  write_attrs(w, p.attrs);
  w.close('}');
}

void write_console(Writer& w, const Plan& plan) {
  w.key("console");
  if (!plan.console_socket_path.empty()) {
    w.open('{');
    w.key("socketPath"), w.str(plan.console_socket_path);
    w.close('}');
  } else if (plan.console_fd >= 0) {
    w.open('{');
    w.key("fd"), w.int_(plan.console_fd);
    w.close('}');
  } else {
    w.null();
  }
}

void write_cgroup_join(Writer& w, const Plan& plan) {
  w.key("cgroupJoin");
  if (!plan.has_cgroup_join) return w.null();
  w.open('{');
  w.key("tasks"), w.open('[');
  for (const CgroupTasks& t : plan.cgroup_tasks) {
    w.open('{');
    w.key("cgroup"), w.str(t.cgroup);
    w.key("file"), w.str(t.file);
    w.close('}');
  }
  w.close(']');
  w.key("unified");
  if (plan.unified_cgroup_fd >= 0) {
    w.open('{');
    w.key("cgroup"), w.str(plan.unified_cgroup);
    w.key("dir"), w.str(plan.unified_cgroup_dir);
    w.key("fd"), w.int_(plan.unified_cgroup_fd);
    w.close('}');
  } else {
    w.null();
  }
  w.close('}');
}

std::string encode_plan(const Plan& plan) {
  Writer w;
  w.open('{');
  if (plan.exec) {
    w.key("mode"), w.str("exec");
    w.key("containerId"), w.str(plan.container_id);
    w.key("namespaces"), w.open('{');
    write_joins(w, plan.joins);
    w.close('}');
    write_console(w, plan);
    w.key("preserveFds"), w.int_(plan.preserve_fds);
    w.key("process"), write_process(w, plan.process);
    write_cgroup_join(w, plan);
    w.close('}');
    return w.out;
  }
  w.key("containerId"), w.str(plan.container_id);
  w.key("rootfs"), w.str(plan.rootfs);
  w.key("namespaces"), w.open('{');
  write_joins(w, plan.joins);
  w.key("unshareFlags"), w.uint(plan.unshare_flags);
  w.key("newUser"), w.boolean(plan.new_user);
  w.key("timeOffsets"), w.open('[');
  for (const TimeOffset& t : plan.time_offsets) {
    w.open('{');
    w.key("clock"), w.str(t.clock);
    w.key("secs"), w.int_(t.secs);
    w.key("nanosecs"), w.int_(t.nanosecs);
    w.close('}');
  }
  w.close(']');
  w.close('}');
  w.key("setupPropagation"), w.uint(plan.setup_propagation);
  w.key("rootPropagation"), w.uint(plan.root_propagation);
  w.key("rootfsOps"), w.open('[');
  for (const RootfsOp& op : plan.rootfs_ops) write_op(w, op);
  w.close(']');
  w.key("noPivot"), w.boolean(plan.no_pivot);
  w.key("rootReadonly"), w.boolean(plan.root_readonly);
  w.key("readonlyPaths"), w.strings(plan.readonly_paths);
  w.key("lateReadonlyMounts"), w.strings(plan.late_readonly_mounts);
  w.key("maskedPaths"), w.strings(plan.masked_paths);
  w.key("maskedDirLabel"), w.str_or_null(!plan.masked_dir_label.empty(), plan.masked_dir_label);
  w.key("sysctl"), w.open('[');
  for (const auto& kv : plan.sysctl) {
    w.open('[');
    w.str(kv.first);
    w.str(kv.second);
    w.close(']');
  }
  w.close(']');
  w.key("hostname"), w.str_or_null(plan.has_hostname, plan.hostname);
  w.key("domainname"), w.str_or_null(plan.has_domainname, plan.domainname);
  write_console(w, plan);
  w.key("execFifo"), w.str(plan.exec_fifo);
  w.key("runtimeHooks"), w.boolean(plan.runtime_hooks);
  w.key("netlinkSocket"), w.boolean(plan.netlink_socket);
  write_hooks(w, "createContainerHooks", plan.create_container_hooks);
  write_hooks(w, "startContainerHooks", plan.start_container_hooks);
  w.key("preserveFds"), w.int_(plan.preserve_fds);
  w.key("process");
  plan.has_process ? write_process(w, plan.process) : w.null();
  write_cgroup_join(w, plan);
  w.close('}');
  return w.out;
}

}  // namespace

int echo_plan() {
  std::string input;
  char buf[65536];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("read plan from stdin");
    if (n == 0) break;
    input.append(buf, size_t(n));
  }
  json::Value value;
  std::string error;
  if (!json::parse(input, value, error)) fail("invalid init plan: " + error);
  std::string out = encode_plan(decode_plan(value)) + "\n";
  for (size_t done = 0; done < out.size();) {
    ssize_t n = write(1, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("write decoded plan to stdout");
    done += size_t(n);
  }
  return 0;
}
