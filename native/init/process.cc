#include "process.h"

#include <cerrno>
#include <cstdlib>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attrs.h"
#include "fdpass.h"
#include "fds.h"
#include "sync.h"

namespace {

rlim_t parse_rlimit(const std::string& value, int resource) {
  if (value == "unlimited") return RLIM_INFINITY;
  char* end = nullptr;
  errno = 0;
  unsigned long long n = strtoull(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0)
    fail("rlimit " + std::to_string(resource) + ": invalid value \"" + value + "\"");
  return rlim_t(n);
}

// Value of the last NAME= entry in env (later entries win, as when exported in order).
std::string env_value(const std::vector<std::string>& env, const std::string& name) {
  std::string found;
  std::string prefix = name + "=";
  for (const std::string& entry : env)
    if (entry.compare(0, prefix.size(), prefix) == 0) found = entry.substr(prefix.size());
  return found;
}

// 0 when path is an executable regular file; otherwise the errno Go's findExecutable reports.
int check_executable(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode) || (st.st_mode & 0111) == 0) return EACCES;
  return 0;
}

uint64_t cap_mask(const std::vector<int>& caps) {
  uint64_t mask = 0;
  for (int cap : caps)
    if (cap >= 0 && cap < 64) mask |= uint64_t(1) << cap;
  return mask;
}

void apply_capabilities(const Capabilities& caps) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  uint64_t effective = cap_mask(caps.effective), permitted = cap_mask(caps.permitted),
           inheritable = cap_mask(caps.inheritable);
  for (int i = 0; i < 2; i++) {
    data[i].effective = uint32_t(effective >> (32 * i));
    data[i].permitted = uint32_t(permitted >> (32 * i));
    data[i].inheritable = uint32_t(inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &header, data) != 0) fail_errno("capset");
  for (int cap : caps.ambient) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
      fail_errno("raise ambient capability " + std::to_string(cap));
  }
}

void drop_bounding_set(const Capabilities& caps) {
  uint64_t keep = cap_mask(caps.bounding);
  // PR_CAPBSET_READ fails past the last capability this kernel knows (cap_last_cap).
  for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
    if ((keep & (uint64_t(1) << cap)) == 0 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
      fail_errno("drop capability " + std::to_string(cap) + " from the bounding set");
  }
}

void switch_user(const Process& process) {
  std::vector<gid_t> groups(process.additional_gids.begin(), process.additional_gids.end());
  if (setgroups(groups.size(), groups.data()) != 0) {
    // With setgroups denied (user namespace without a mapping privilege) only an empty
    // list is acceptable: it is what we already have.
    if (!(errno == EPERM && groups.empty())) fail_errno("setgroups");
  }
  if (setresgid(process.gid, process.gid, process.gid) != 0) fail_errno("setresgid " + std::to_string(process.gid));
  if (setresuid(process.uid, process.uid, process.uid) != 0) fail_errno("setresuid " + std::to_string(process.uid));
}

// Go's spelling of an errno in exec errors ("no such file or directory").
std::string go_error_text(const std::string& what, int err) {
  std::string text = error_text(what, err);
  size_t at = what.size() + 2;
  if (at < text.size() && text[at] >= 'A' && text[at] <= 'Z') text[at] = char(text[at] - 'A' + 'a');
  return text;
}

// The seccomp agent's socket, the state and pid it is sent; see connect_seccomp_agent.
int seccomp_agent_sock = -1;
std::string seccomp_agent_state;
long long seccomp_agent_pid = 0;
// Set once the user's filter is in force (load_listener_filter may load it before exec_process).
bool seccomp_loaded = false;

// runc's seccomp agent message (specs.ContainerProcessState) for the state JSON.
std::string seccomp_agent_message(const Seccomp& seccomp, const std::string& state) {
  if (state.empty() || seccomp_agent_pid <= 0) fail("seccomp agent: no container state or pid to send");
  std::string message = "{\"ociVersion\":";
  json::append_quoted(message, seccomp.listener_oci_version);
  message += ",\"fds\":[\"seccompFd\"],\"pid\":" + std::to_string(seccomp_agent_pid);
  if (!seccomp.listener_metadata.empty()) {
    message += ",\"metadata\":";
    json::append_quoted(message, seccomp.listener_metadata);
  }
  message += ",\"state\":" + state + "}";
  return message;
}

// One sendmsg: the message with the listener fd as SCM_RIGHTS, as runc's agent expects.
void send_seccomp_listener(const Seccomp& seccomp, const std::string& message, int listener) {
  ssize_t sent = send_with_fd(seccomp_agent_sock, message.data(), message.size(), listener);
  if (sent < 0) fail_errno("cannot send seccomp fd to " + seccomp.listener_path);
  if (size_t(sent) != message.size()) fail("cannot send seccomp fd to " + seccomp.listener_path + ": short write");
  close(listener);
  close(seccomp_agent_sock);
  seccomp_agent_sock = -1;
}

// seccomp(SECCOMP_SET_MODE_FILTER); with a listener the new fd goes to the agent at once.
// Every syscall from here on passes the filter: only sendmsg/close (listener) follow.
void load_seccomp(const Seccomp& seccomp) {
  std::string message;
  if (seccomp.has_listener) message = seccomp_agent_message(seccomp, seccomp_agent_state);
  struct sock_fprog prog = {(unsigned short)(seccomp.filter.size() / sizeof(struct sock_filter)),
                            reinterpret_cast<struct sock_filter*>(const_cast<char*>(seccomp.filter.data()))};
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, seccomp.flags, &prog);
  if (fd < 0) fail_errno("error loading seccomp filter into kernel: error loading seccomp filter");
  seccomp_loaded = true;
  if (seccomp.has_listener) send_seccomp_listener(seccomp, message, int(fd));
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

void reset_signals() {
  // The raw syscalls: glibc's sigaction refuses its internal signals (32 and 33) with EINVAL.
  struct {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
  } dfl = {SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask) != 0)
      fail_errno("rt_sigaction(" + std::to_string(sig) + ", SIG_DFL)");
  }
  uint64_t none = 0;
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof none) != 0) fail_errno("rt_sigprocmask(SIG_SETMASK, empty)");
}

void write_oom_score_adj(int value) {
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("open /proc/self/oom_score_adj");
  struct statfs st;
  if (fstatfs(fd, &st) != 0 || st.f_type != PROC_SUPER_MAGIC) fail("/proc/self/oom_score_adj is not on procfs");
  std::string text = std::to_string(value);
  if (write(fd, text.data(), text.size()) != ssize_t(text.size())) fail_errno("write oom_score_adj " + text);
  close(fd);
}

void apply_rlimits(const Process& process) {
  for (const Rlimit& limit : process.rlimits) {
    struct rlimit rl = {parse_rlimit(limit.soft, limit.resource), parse_rlimit(limit.hard, limit.resource)};
    if (setrlimit(__rlimit_resource(limit.resource), &rl) != 0)
      fail_errno("setrlimit " + std::to_string(limit.resource) + " (soft " + limit.soft + ", hard " + limit.hard + ")");
  }
}

std::string resolve_executable(const Process& process) {
  const std::string& name = process.args[0];
  if (name.find('/') != std::string::npos) {
    int err = check_executable(name);
    if (err == ENOENT || err == ENOTDIR) fail(go_error_text("exec: \"" + name + "\": stat " + name, err));
    if (err != 0) fail(go_error_text("exec: \"" + name + "\"", err));
    return name;
  }
  std::string path = env_value(process.env, "PATH");
  size_t start = 0;
  while (start <= path.size() && !path.empty()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";  // an empty PATH entry means the working directory
    std::string candidate = dir + "/" + name;
    if (check_executable(candidate) == 0) return candidate;
    start = end + 1;
  }
  fail("exec: \"" + name + "\": executable file not found in $PATH");
}

void enter_cwd(const Process& process) {
  if (chdir(process.cwd.c_str()) != 0)
    fail(go_error_text("chdir to cwd (\"" + process.cwd + "\") set in config.json failed", errno));
  // getcwd fails (or yields "(unreachable)...") when the directory lies outside our root.
  char buf[4096];
  if (getcwd(buf, sizeof buf) == nullptr || buf[0] != '/') fail("cwd escapes the container root");
}

void connect_seccomp_agent(const Process& process) {
  if (!process.has_seccomp || !process.seccomp.has_listener) return;
  const std::string& path = process.seccomp.listener_path;
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    fail("failed to connect with seccomp agent specified in the seccomp profile: socket path too long: " + path);
  memcpy(addr.sun_path, path.data(), path.size());
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) fail_errno("seccomp agent socket");
  if (connect(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0)
    fail_errno("failed to connect with seccomp agent specified in the seccomp profile: dial unix " + path + ": connect");
  seccomp_agent_sock = sock;
}

void set_seccomp_agent_state(const std::string& state, long long pid) {
  seccomp_agent_state = state;
  seccomp_agent_pid = pid;
}

void load_listener_filter(const Process& process) {
  if (process.has_seccomp && process.seccomp.has_listener) load_seccomp(process.seccomp);
}

// HOME for uid from the container's /etc/passwd, "/" when the uid has no entry (runc sets
// HOME this way when process.env does not).
std::string home_for_uid(unsigned uid) {
  int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "/";
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 && text.size() < (1u << 20)) text.append(buf, size_t(n));
  close(fd);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::vector<std::string> fields;
    size_t f = start;
    for (;;) {
      size_t colon = text.find(':', f);
      if (colon == std::string::npos || colon > end) {
        fields.push_back(text.substr(f, end - f));
        break;
      }
      fields.push_back(text.substr(f, colon - f));
      f = colon + 1;
    }
    if (fields.size() >= 6 && fields[2] == std::to_string(uid) && !fields[5].empty()) return fields[5];
    start = end + 1;
  }
  return "/";
}

bool has_env(const std::vector<std::string>& env, const std::string& name) {
  for (const std::string& kv : env)
    if (kv.compare(0, name.size() + 1, name + "=") == 0) return true;
  return false;
}

void exec_process(const Plan& plan, const std::string& executable) {
  const Process& process = plan.process;
  std::vector<std::string> env = process.env;
  if (!has_env(env, "HOME")) env.push_back("HOME=" + home_for_uid(process.uid));
  if (plan.exec) apply_final_affinity(process.attrs);
  // While /proc/thread-self is still ours to write and no filter can block it.
  write_exec_labels(process.attrs);
  // Fds inherited from the caller are hostile: only stdio and the preserved range survive.
  // Before any filter is loaded: a profile without close_range (Docker's before 20.10,
  // runtime-tools' default) denies it (security rules 4 and 14).
  close_fd_range(3u + unsigned(plan.preserve_fds), ~0U, true);
  // Without no_new_privs loading a filter needs CAP_SYS_ADMIN: runc loads it before the
  // capabilities are dropped and the user is switched; otherwise as late as possible. After
  // it come only what runc also makes there (prctl, setgroups, setres[ug]id, capset, umask,
  // execve; sendmsg and close for an agent), which every real profile allows.
  if (process.has_seccomp && !process.no_new_privileges && !seccomp_loaded) load_seccomp(process.seccomp);
  if (process.has_capabilities) {
    drop_bounding_set(process.capabilities);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) fail_errno("prctl(PR_SET_KEEPCAPS)");
  }
  switch_user(process);
  if (process.has_capabilities) {
    apply_capabilities(process.capabilities);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) fail_errno("prctl(PR_SET_KEEPCAPS)");
  }
  if (process.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail_errno("prctl(PR_SET_NO_NEW_PRIVS)");
  if (process.umask >= 0) umask(mode_t(process.umask));
  std::vector<char*> argv = c_strings(process.args);
  std::vector<char*> envp = c_strings(env);
  if (process.has_seccomp && process.no_new_privileges && !seccomp_loaded) load_seccomp(process.seccomp);
  execve(executable.c_str(), argv.data(), envp.data());
  int err = errno;
  // `runts exec` still listens on the sync socket: it reports the failure (exit 255).
  if (channel::attached()) fail(error_text("exec " + executable, err));
  std::string msg = error_text("exec " + executable, err);
  std::string line = "runts-init: " + msg + "\n";
  ssize_t ignored = write(2, line.data(), line.size());
  (void)ignored;
  _exit(err == ENOENT ? 127 : err == EACCES ? 126 : 1);
}
