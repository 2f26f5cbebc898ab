#include "idmap.h"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <linux/magic.h>
#include <map>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sync.h"

namespace {

// Writes a whole /proc file in one write, only if it is on real procfs (security rule 8).
void write_proc_file(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("open " + path);
  struct statfs st;
  if (fstatfs(fd, &st) != 0 || st.f_type != PROC_SUPER_MAGIC) fail(path + " is not on procfs");
  if (write(fd, text.data(), text.size()) != ssize_t(text.size())) fail_errno("write " + path);
  close(fd);
}

// A user namespace holding the given maps: a child unshares it and blocks on a pipe while we
// (root in the parent namespace) write its maps and open it; closing the pipe ends the child.
int new_userns(const std::string& uid_map, const std::string& gid_map) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) fail_errno("idmapped mount: pipe");
  long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) fail_errno("idmapped mount: clone into a new user namespace");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    close(pipefd[1]);
    char byte;
    while (read(pipefd[0], &byte, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(pipefd[0]);
  std::string proc = "/proc/" + std::to_string(pid) + "/";
  // As runc: the namespace only carries a mapping, nobody in it needs setgroups.
  write_proc_file(proc + "setgroups", "deny");
  write_proc_file(proc + "uid_map", uid_map);
  write_proc_file(proc + "gid_map", gid_map);
  int fd = open((proc + "ns/user").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("idmapped mount: open " + proc + "ns/user");
  close(pipefd[1]);
  while (waitpid(pid_t(pid), nullptr, 0) < 0 && errno == EINTR) {
  }
  return fd;
}

}  // namespace

void prepare_idmapped_mounts(Plan& plan) {
  // One user namespace per distinct mapping, shared by the mounts that use it.
  std::map<std::string, int> userns_by_key;
  for (RootfsOp& op : plan.rootfs_ops) {
    if (op.kind != RootfsOp::Kind::Mount || !op.has_idmap) continue;
    std::string what = "idmapped mount " + op.source + " on " + op.target;
    std::string key = op.idmap_userns_path.empty() ? op.idmap_uid_map + "\n/\n" + op.idmap_gid_map : op.idmap_userns_path;
    auto found = userns_by_key.find(key);
    int userns;
    if (found != userns_by_key.end()) {
      userns = found->second;
    } else if (op.idmap_userns_path.empty()) {
      userns = new_userns(op.idmap_uid_map, op.idmap_gid_map);
    } else {
      userns = open(op.idmap_userns_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (userns < 0) fail_errno(what + ": open user namespace " + op.idmap_userns_path);
    }
    userns_by_key[key] = userns;

    unsigned clone_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((op.flags & MS_REC) ? AT_RECURSIVE : 0);
    int tree = open_tree(AT_FDCWD, op.source.c_str(), clone_flags);
    if (tree < 0) fail_errno(what + ": open_tree " + op.source);
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = unsigned(userns);
    if (mount_setattr(tree, "", AT_EMPTY_PATH | (op.idmap_recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) != 0) {
      int err = errno;
      std::string hint = err == EINVAL ? " (does the filesystem support idmapped mounts on this kernel?)" : "";
      fail(error_text(what + ": set MOUNT_ATTR_IDMAP on " + op.source, err) + hint);
    }
    op.idmap_tree = tree;
  }
  for (const auto& entry : userns_by_key) close(entry.second);
}
