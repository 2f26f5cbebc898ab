#include "process.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

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

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

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
    fail(error_text("chdir to cwd (\"" + process.cwd + "\") set in config.json failed", errno));
  // getcwd fails (or yields "(unreachable)...") when the directory lies outside our root.
  char buf[4096];
  if (getcwd(buf, sizeof buf) == nullptr || buf[0] != '/') fail("cwd escapes the container root");
}

void exec_process(const Plan& plan, const std::string& executable) {
  const Process& process = plan.process;
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
  // Fds inherited from the caller are hostile: only stdio and the preserved range survive.
  unsigned first_closed = 3u + unsigned(plan.preserve_fds);
  if (syscall(SYS_close_range, first_closed, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail_errno("close_range");
  if (process.umask >= 0) umask(mode_t(process.umask));
  std::vector<char*> argv = c_strings(process.args);
  std::vector<char*> envp = c_strings(process.env);
  execve(executable.c_str(), argv.data(), envp.data());
  int err = errno;
  std::string msg = error_text("exec " + executable, err);
  std::string line = "runts-init: " + msg + "\n";
  ssize_t ignored = write(2, line.data(), line.size());
  (void)ignored;
  _exit(err == ENOENT ? 127 : err == EACCES ? 126 : 1);
}
