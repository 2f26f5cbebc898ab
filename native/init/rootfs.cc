#include "rootfs.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <vector>

#include "sync.h"

namespace {

// Symlinks followed while creating a path before giving up (as the kernel's MAXSYMLINKS).
constexpr int kMaxSymlinks = 40;

int openat2_fd(int dirfd, const std::string& path, int flags, unsigned long long resolve) {
  struct open_how how = {};
  how.flags = unsigned(flags | O_CLOEXEC);
  how.resolve = resolve;
  const char* p = path.empty() ? "." : path.c_str();
  return int(syscall(SYS_openat2, dirfd, p, &how, sizeof how));
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (!part.empty() && part != ".") parts.push_back(part);
    i = j + 1;
  }
  return parts;
}

// "/"-prefixed, slash-normalised form of a path inside the container, for messages.
std::string clean_path(const std::string& path) {
  std::string out;
  for (const std::string& part : split_path(path)) out += "/" + part;
  return out.empty() ? "/" : out;
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string fd_target(int fd) {
  char buf[PATH_MAX];
  ssize_t n = readlink(fd_path(fd).c_str(), buf, sizeof buf - 1);
  if (n < 0) return std::string();
  return std::string(buf, size_t(n));
}

// Whether fd (as the kernel names it now) lies within root_real.
bool fd_inside(int fd, const std::string& root_real) {
  std::string path = fd_target(fd);
  // A rootfs of "/" (root.path "/") holds every path.
  if (root_real == "/") return !path.empty() && path[0] == '/';
  return path == root_real || (path.size() > root_real.size() && path.compare(0, root_real.size(), root_real) == 0 &&
                               path[root_real.size()] == '/');
}

bool is_procfs(int fd) {
  struct statfs st;
  return fstatfs(fd, &st) == 0 && st.f_type == PROC_SUPER_MAGIC;
}

int create_empty_file(int dirfd, const std::string& name) {
  int fd = openat(dirfd, name.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

// Splits a container path into its parent directory and last component.
void split_last(const std::string& path, std::string& dir, std::string& name) {
  std::vector<std::string> parts = split_path(path);
  name = parts.empty() ? std::string() : parts.back();
  dir.clear();
  for (size_t i = 0; i + 1 < parts.size(); i++) dir += "/" + parts[i];
  if (dir.empty()) dir = "/";
}

// The MS_* flags a mount already has, from statvfs: in a user namespace these are locked
// and a remount must keep them.
unsigned long existing_mount_flags(int fd) {
  struct statvfs st;
  if (fstatvfs(fd, &st) != 0) return 0;
  unsigned long flags = 0;
  if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

// Attaches the detached mount tree `tree` onto the object target_fd refers to.
int move_mount_to_fd(int tree, int target_fd) {
  return move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

// Copies the contents of directory src into directory dst, keeping modes, owners and
// symlinks; never follows a link (both fds are real directories we opened).
void copy_tree(int src, int dst, const std::string& what) {
  int scan = fcntl(src, F_DUPFD_CLOEXEC, 3);
  DIR* dir = scan < 0 ? nullptr : fdopendir(scan);
  if (!dir) fail_errno(what + ": read directory");
  while (struct dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) fail_errno(what + ": stat " + name);
    mode_t perms = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(dst, name.c_str(), perms) != 0) fail_errno(what + ": mkdir " + name);
      int s2 = openat(src, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int d2 = openat(dst, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s2 < 0 || d2 < 0) fail_errno(what + ": open " + name);
      copy_tree(s2, d2, what);
      close(s2);
      close(d2);
    } else if (S_ISREG(st.st_mode)) {
      int in = openat(src, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      int out = openat(dst, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perms);
      if (in < 0 || out < 0) fail_errno(what + ": open " + name);
      char buf[65536];
      ssize_t n;
      while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, size_t(n)) != n) fail_errno(what + ": write " + name);
      }
      if (n < 0) fail_errno(what + ": read " + name);
      close(in);
      close(out);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(src, name.c_str(), target, sizeof target - 1);
      if (n < 0) fail_errno(what + ": readlink " + name);
      target[n] = '\0';
      if (symlinkat(target, dst, name.c_str()) != 0) fail_errno(what + ": symlink " + name);
    } else if (mknodat(dst, name.c_str(), st.st_mode, st.st_rdev) != 0) {
      fail_errno(what + ": mknod " + name);
    }
    if (fchownat(dst, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) fail_errno(what + ": chown " + name);
    if (!S_ISLNK(st.st_mode) && fchmodat(dst, name.c_str(), perms, 0) != 0) fail_errno(what + ": chmod " + name);
  }
  closedir(dir);
}

class RootfsBuilder {
 public:
  RootfsBuilder(const Plan& plan, int rootfd) : plan_(plan), rootfd_(rootfd), root_real_(fd_target(rootfd)) {
    if (root_real_.empty()) fail_errno("readlink rootfs fd of " + plan.rootfs);
  }

  int rootfd() const { return rootfd_; }

  void run(const RootfsOp& op) {
    switch (op.kind) {
      case RootfsOp::Kind::Mount: mount_op(op); break;
      case RootfsOp::Kind::Mknod: mknod_op(op); break;
      case RootfsOp::Kind::BindDevice: bind_device_op(op); break;
      case RootfsOp::Kind::Symlink: symlink_op(op); break;
      case RootfsOp::Kind::Remount: remount_op(op); break;
      case RootfsOp::Kind::Mkdir: mkdir_op(op); break;
      case RootfsOp::Kind::MountSetattr: setattr_op(op); break;
    }
  }

 private:
  const Plan& plan_;
  int rootfd_;
  std::string root_real_;

  std::string host_path(const std::string& path) const {
    std::string clean = clean_path(path);
    if (clean == "/") return plan_.rootfs;
    return plan_.rootfs == "/" ? clean : plan_.rootfs + clean;
  }

  void check_inside(int fd, const std::string& what) const {
    if (!fd_inside(fd, root_real_)) fail(what + ": destination resolves outside the rootfs (" + fd_target(fd) + ")");
  }

  // The rootfs path now leads to the mount on top of it: it becomes the root the ops work in.
  void reopen_root(const std::string& what) {
    int top = open(plan_.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (top < 0) fail_errno(what + ": reopen rootfs " + plan_.rootfs);
    check_inside(top, what);
    close(rootfd_);
    rootfd_ = top;
  }

  void mount_op(const RootfsOp& op) {
    std::string dest = host_path(op.target);
    std::string what = "mount " + op.source + " on " + dest;
    MakeLast last = op.mkdir == "dir" ? MakeLast::Dir : op.mkdir == "file" ? MakeLast::File : MakeLast::None;
    int fd = make_path_in_root(rootfd_, op.target, last);
    if (fd < 0) fail_errno(what);
    // Kernel filesystems must land on a real directory, never on a symlink's target.
    bool kernel_fs = op.fstype == "proc" || op.fstype == "sysfs";
    if (kernel_fs) {
      close(fd);
      fd = open_in_root(rootfd_, op.target, O_NOFOLLOW);
      struct stat st;
      if (fd < 0 || fstat(fd, &st) != 0) fail_errno(what);
      if (!S_ISDIR(st.st_mode)) fail(what + ": destination is not a directory (symlinks are not followed)");
    }
    check_inside(fd, what);
    // tmpcopyup: keep a handle on the image's directory; the tmpfs is about to cover it.
    int image_dir = op.copy_up ? openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (op.copy_up && image_dir < 0) fail_errno(what + ": open the directory to copy up");
    const char* fstype = op.fstype.empty() ? nullptr : op.fstype.c_str();
    const char* data = op.data.empty() ? nullptr : op.data.c_str();
    if (op.idmap_tree >= 0) {
      // An idmapped bind, prepared in stage1 (idmap.cc): attach it onto the resolved target.
      if (move_mount_to_fd(op.idmap_tree, fd) != 0) fail_errno(what + ": move_mount");
      close(op.idmap_tree);
    } else {
      // A source opened by the runtime's side (bindsrc.h) is bound through its fd: the magic
      // link needs no search permission on the source's path.
      std::string source = op.host_source_fd >= 0 ? fd_path(op.host_source_fd) : op.source;
      if (mount(source.c_str(), fd_path(fd).c_str(), fstype, op.flags, data) != 0) fail_errno(what);
      if (op.host_source_fd >= 0) close(op.host_source_fd);
    }
    close(fd);
    // A mount on "/" covers the rootfs, as in runc: the steps after it, pivot_root included,
    // go into the new mount, which the fd of the rootfs below it does not see.
    if (clean_path(op.target) == "/") reopen_root(what);

    // Re-resolve: the new mount must still sit inside the rootfs.
    int mnt = open_in_root(rootfd_, op.target, kernel_fs ? O_NOFOLLOW : 0);
    if (mnt < 0) fail_errno(what + ": reopen mountpoint");
    check_inside(mnt, what);
    // Security rule 8: /proc is procfs, a fresh one or a bind of one (checked again here: the
    // bind's source may have changed since the plan was made).
    if ((op.fstype == "proc" || op.target == "/proc") && !is_procfs(mnt)) fail(what + ": mounted filesystem is not procfs");
    if (image_dir >= 0) {
      int tmpfs_root = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (tmpfs_root < 0) fail_errno(what + ": open the new tmpfs");
      copy_tree(image_dir, tmpfs_root, "tmpcopyup " + dest);
      close(tmpfs_root);
      close(image_dir);
    }
    if (op.remount_flags != 0) {
      int rc = mount(op.source.c_str(), fd_path(mnt).c_str(), fstype, op.remount_flags, data);
      if (rc != 0 && errno == EPERM) {
        rc = mount(op.source.c_str(), fd_path(mnt).c_str(), fstype, op.remount_flags | existing_mount_flags(mnt), data);
      }
      if (rc != 0) fail_errno("remount " + dest);
    }
    for (unsigned long propagation : op.propagation) {
      if (mount(nullptr, fd_path(mnt).c_str(), nullptr, propagation, nullptr) != 0)
        fail_errno("change propagation of " + dest);
    }
    close(mnt);
  }

  // Returns an fd of the parent directory of path (created as needed) and its last component.
  int open_parent(const std::string& path, std::string& name, const std::string& what) const {
    std::string dir;
    split_last(path, dir, name);
    if (name.empty() || name == "..") fail(what + ": invalid path");
    int parent = make_path_in_root(rootfd_, dir, MakeLast::Dir);
    if (parent < 0) fail_errno(what);
    check_inside(parent, what);
    return parent;
  }

  void mknod_op(const RootfsOp& op) {
    std::string what = "mknod " + host_path(op.path);
    std::string name;
    int parent = open_parent(op.path, name, what);
    mode_t type = op.device_kind == 'b' ? S_IFBLK : op.device_kind == 'p' ? S_IFIFO : S_IFCHR;
    dev_t dev = op.device_kind == 'p' ? 0 : makedev(op.major, op.minor);
    if (mknodat(parent, name.c_str(), type | (op.mode & 07777), dev) != 0) {
      // Replace a stale node (e.g. from the image); never a directory.
      if (errno != EEXIST || unlinkat(parent, name.c_str(), 0) != 0 ||
          mknodat(parent, name.c_str(), type | (op.mode & 07777), dev) != 0)
        fail_errno(what);
    }
    if (fchownat(parent, name.c_str(), op.uid, op.gid, AT_SYMLINK_NOFOLLOW) != 0)
      fail_errno("chown " + host_path(op.path));
    close(parent);
  }

  void bind_device_op(const RootfsOp& op) {
    std::string dest = host_path(op.path);
    std::string what = "mount " + op.path + " on " + dest;
    int fd = make_path_in_root(rootfd_, op.path, MakeLast::File);
    if (fd < 0) fail_errno(what);
    check_inside(fd, what);
    if (mount(op.path.c_str(), fd_path(fd).c_str(), "bind", MS_BIND, nullptr) != 0) fail_errno(what);
    close(fd);
  }

  void mkdir_op(const RootfsOp& op) {
    std::string what = "mkdir " + host_path(op.path);
    int fd = make_path_in_root(rootfd_, op.path, MakeLast::Dir);
    if (fd < 0) fail_errno(what);
    check_inside(fd, what);
    close(fd);
  }

  void remount_op(const RootfsOp& op) {
    std::string dest = host_path(op.target);
    int fd = open_in_root(rootfd_, op.target, O_NOFOLLOW);
    if (fd < 0) fail_errno("remount " + dest);
    check_inside(fd, "remount " + dest);
    int rc = mount(nullptr, fd_path(fd).c_str(), nullptr, op.flags, nullptr);
    if (rc != 0 && errno == EPERM) rc = mount(nullptr, fd_path(fd).c_str(), nullptr, op.flags | existing_mount_flags(fd), nullptr);
    if (rc != 0) fail_errno("remount " + dest);
    close(fd);
  }

  void setattr_op(const RootfsOp& op) {
    std::string what = "set recursive mount attributes on " + host_path(op.target);
    int fd = open_in_root(rootfd_, op.target);
    if (fd < 0) fail_errno(what);
    check_inside(fd, what);
    struct mount_attr attr = {};
    attr.attr_set = op.attr_set;
    attr.attr_clr = op.attr_clear;
    if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) fail_errno(what);
    close(fd);
  }

  void symlink_op(const RootfsOp& op) {
    std::string what = "symlink " + op.link_target + " " + host_path(op.path);
    std::string name;
    int parent = open_parent(op.path, name, what);
    if (symlinkat(op.link_target.c_str(), parent, name.c_str()) != 0 && errno != EEXIST) fail_errno(what);
    close(parent);
  }
};

// Mount id of path (not following a trailing symlink), or 0.
uint64_t mount_id(const std::string& path) {
  struct statx stx = {};
  if (statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) != 0 || !(stx.stx_mask & STATX_MNT_ID))
    return 0;
  return stx.stx_mnt_id;
}

std::string read_mountinfo() {
  int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("open /proc/self/mountinfo");
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
  close(fd);
  return text;
}

// Whether mount `id` has shared propagation, from /proc/self/mountinfo ("shared:N" tag).
bool mount_is_shared(uint64_t id) {
  std::string text = read_mountinfo();
  std::string prefix = std::to_string(id) + " ";
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text.compare(start, prefix.size(), prefix) == 0) {
      size_t fields_end = text.find(" - ", start);  // optional fields end at the " - " separator
      if (fields_end > end) fields_end = end;
      return text.substr(start, fields_end - start).find(" shared:") != std::string::npos;
    }
    start = end + 1;
  }
  return false;
}

// pivot_root and MS_MOVE refuse a rootfs whose parent mount is shared (e.g. with
// rootfsPropagation "shared"): make that parent mount private, in our mount namespace only.
void make_rootfs_parent_private(const std::string& rootfs) {
  char real[PATH_MAX];
  if (realpath(rootfs.c_str(), real) == nullptr) fail_errno("root.path: resolve rootfs " + rootfs);
  std::string mountpoint = real;
  uint64_t id = mount_id(mountpoint);
  if (id == 0) fail_errno("statx " + mountpoint);
  while (mountpoint != "/") {
    size_t slash = mountpoint.rfind('/');
    std::string parent = slash == 0 ? "/" : mountpoint.substr(0, slash);
    if (mount_id(parent) != id) break;
    mountpoint = parent;
  }
  if (mount_is_shared(id) && mount(nullptr, mountpoint.c_str(), nullptr, MS_PRIVATE, nullptr) != 0)
    fail_errno("make mount " + mountpoint + " (parent of the rootfs) private");
}

}  // namespace

int open_in_root(int rootfd, const std::string& path, int extra_flags) {
  return openat2_fd(rootfd, path, O_PATH | extra_flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int make_path_in_root(int rootfd, const std::string& path, MakeLast last) {
  std::vector<std::string> pending = split_path(path);
  std::reverse(pending.begin(), pending.end());  // next component at the back
  int parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
  if (parent < 0) return -1;
  std::string prefix;  // path (inside the root) of parent
  int links = 0;
  while (!pending.empty()) {
    std::string name = pending.back();
    pending.pop_back();
    bool is_last = pending.empty();
    std::string next = prefix + "/" + name;
    int fd = open_in_root(rootfd, next);
    if (fd < 0 && errno == ENOENT && last != MakeLast::None) {
      bool as_dir = !is_last || last == MakeLast::Dir;
      int rc = as_dir ? mkdirat(parent, name.c_str(), 0755) : create_empty_file(parent, name);
      if (rc != 0 && errno != EEXIST) {
        int err = errno;
        close(parent);
        errno = err;
        return -1;
      }
      fd = open_in_root(rootfd, next);
      if (fd < 0 && errno == ENOENT) {
        // `name` is a dangling symlink: carry on creating along its target, inside the root.
        char target[PATH_MAX];
        ssize_t n = readlinkat(parent, name.c_str(), target, sizeof target - 1);
        if (n <= 0 || ++links > kMaxSymlinks) {
          close(parent);
          errno = n <= 0 ? ENOENT : ELOOP;
          return -1;
        }
        std::string link(target, size_t(n));
        std::vector<std::string> parts = split_path(link);
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) pending.push_back(*it);
        if (link[0] == '/') {
          close(parent);
          parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
          if (parent < 0) return -1;
          prefix.clear();
        }
        continue;
      }
    }
    if (fd < 0) {
      int err = errno;
      close(parent);
      errno = err;
      return -1;
    }
    struct stat st;
    if (!is_last && (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode))) {
      close(fd);
      close(parent);
      errno = ENOTDIR;
      return -1;
    }
    close(parent);
    parent = fd;
    prefix = next;
  }
  return parent;
}

int prepare_rootfs(const Plan& plan) {
  // Without a mount namespace of its own every mount here would be the host's.
  if (plan.setup_propagation != 0) {
    if (mount(nullptr, "/", nullptr, plan.setup_propagation, nullptr) != 0) fail_errno("change propagation of /");
    make_rootfs_parent_private(plan.rootfs);
    if (mount(plan.rootfs.c_str(), plan.rootfs.c_str(), "bind", MS_BIND | MS_REC, nullptr) != 0)
      fail_errno("mount rootfs " + plan.rootfs + " on itself");
  }
  int rootfd = open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) fail_errno("open rootfs " + plan.rootfs);
  return rootfd;
}

int run_rootfs_ops(const Plan& plan, int rootfd) {
  RootfsBuilder builder(plan, rootfd);
  for (const RootfsOp& op : plan.rootfs_ops) builder.run(op);
  return builder.rootfd();
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
static std::string unescape_mountinfo(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); i++) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += char(std::strtol(field.substr(i + 1, 3).c_str(), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

// --no-pivot leaves the host's mounts underneath the container's root in its mount namespace.
// A whole (root "/") procfs or sysfs mount there lets a process of the container that can
// mount (in a user namespace) mount a fresh procfs or sysfs, which the kernel allows only where
// an unobstructed one is already visible. So, as runc does before its MS_MOVE, detach every
// such host mount outside the rootfs (rslave first, so nothing propagates to the host), or
// cover it with a tmpfs where unmounting is refused.
static void detach_host_proc_and_sys(const std::string& rootfs) {
  std::string text = read_mountinfo();
  std::vector<std::string> targets;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    // "id parent major:minor root mountpoint options [optional...] - fstype source superopts"
    std::vector<std::string> f;
    size_t pos = 0;
    while (pos <= line.size()) {
      size_t sp = line.find(' ', pos);
      if (sp == std::string::npos) sp = line.size();
      f.push_back(line.substr(pos, sp - pos));
      pos = sp + 1;
    }
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash + 1 == f.end()) continue;
    const std::string& fstype = *(dash + 1);
    if (f[3] != "/" || (fstype != "proc" && fstype != "sysfs")) continue;
    std::string mountpoint = unescape_mountinfo(f[4]);
    if (mountpoint == rootfs || mountpoint.rfind(rootfs + "/", 0) == 0) continue;
    targets.push_back(mountpoint);
  }
  for (const std::string& target : targets) {
    if (mount(nullptr, target.c_str(), nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;  // gone with a parent detached before
      fail_errno("make host mount " + target + " rslave");
    }
    if (umount2(target.c_str(), MNT_DETACH) == 0) continue;
    if (errno != EINVAL && errno != EPERM) fail_errno("detach host mount " + target);
    if (mount("tmpfs", target.c_str(), "tmpfs", 0, nullptr) != 0) fail_errno("cover host mount " + target);
  }
}

void enter_rootfs(const Plan& plan, int rootfd) {
  if (plan.setup_propagation == 0) {
    if (fchdir(rootfd) != 0) fail_errno("chdir to rootfs " + plan.rootfs);
    if (chroot(".") != 0) fail_errno("chroot to rootfs " + plan.rootfs);
  } else if (plan.no_pivot) {
    char real[PATH_MAX];
    if (realpath(plan.rootfs.c_str(), real) == nullptr) fail_errno("resolve rootfs " + plan.rootfs);
    detach_host_proc_and_sys(real);
    if (fchdir(rootfd) != 0) fail_errno("chdir to rootfs " + plan.rootfs);
    if (mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) fail_errno("move rootfs " + plan.rootfs + " to /");
    if (chroot(".") != 0) fail_errno("chroot to rootfs " + plan.rootfs);
  } else {
    int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (oldroot < 0) fail_errno("open old root");
    if (fchdir(rootfd) != 0) fail_errno("chdir to rootfs " + plan.rootfs);
    if (syscall(SYS_pivot_root, ".", ".") != 0) fail_errno("pivot_root " + plan.rootfs);
    // The old root is now stacked on the new one: detach it, without the unmount
    // propagating back to the host.
    if (fchdir(oldroot) != 0) fail_errno("chdir to old root");
    if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) fail_errno("make old root rslave");
    if (umount2(".", MNT_DETACH) != 0) fail_errno("unmount old root");
    close(oldroot);
  }
  if (chdir("/") != 0) fail_errno("chdir to / of the container");
}

void apply_sysctl(const Plan& plan) {
  if (plan.sysctl.empty()) return;
  int procsys = open("/proc/sys", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (procsys < 0) fail_errno("open /proc/sys");
  if (!is_procfs(procsys)) fail("/proc/sys in the container is not procfs");
  for (const auto& [key, value] : plan.sysctl) {
    std::string rel = key;
    std::replace(rel.begin(), rel.end(), '.', '/');
    // Stay on this procfs mount, below /proc/sys, without symlinks.
    int fd = openat2_fd(procsys, rel, O_WRONLY | O_NOFOLLOW,
                        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
    if (fd < 0) fail_errno("open sysctl " + key + " (/proc/sys/" + rel + ")");
    if (!is_procfs(fd)) fail("sysctl " + key + ": /proc/sys/" + rel + " is not on procfs");
    if (write(fd, value.data(), value.size()) != ssize_t(value.size()))
      fail_errno("write sysctl " + key + " = " + value + " (/proc/sys/" + rel + ")");
    close(fd);
  }
  close(procsys);
}

void apply_readonly_paths(const Plan& plan) {
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail_errno("open /");
  for (const std::string& path : plan.readonly_paths) {
    int fd = open_in_root(root, path);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) continue;
    if (fd < 0) fail_errno("readonly path " + path);
    // Bind a copy of the tree onto itself, read-only (locked flags can only be added to).
    int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
    if (tree < 0) fail_errno("readonly path " + path + ": open_tree");
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
      fail_errno("readonly path " + path + ": mount_setattr");
    if (move_mount_to_fd(tree, fd) != 0) fail_errno("readonly path " + path + ": move_mount");
    close(tree);
    close(fd);
  }
  close(root);
}

void apply_masked_paths(const Plan& plan) {
  if (plan.masked_paths.empty()) return;
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail_errno("open /");
  // The image may have replaced /dev/null: bind only the genuine null device.
  int null_fd = openat2_fd(root, "/dev/null", O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
  struct stat null_st;
  if (null_fd < 0 || fstat(null_fd, &null_st) != 0) fail_errno("mask paths: open /dev/null");
  if (!S_ISCHR(null_st.st_mode) || null_st.st_rdev != makedev(1, 3))
    fail("mask paths: /dev/null is not the null device (char 1:3)");
  for (const std::string& path : plan.masked_paths) {
    int fd = openat2_fd(root, path, O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) continue;
    if (fd < 0) fail_errno("mask " + path);
    struct stat st;
    if (fstat(fd, &st) != 0) fail_errno("mask " + path + ": stat");
    int tree;
    if (S_ISDIR(st.st_mode)) {
      int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
      if (fs >= 0 && !plan.masked_dir_label.empty() &&
          fsconfig(fs, FSCONFIG_SET_STRING, "context", plan.masked_dir_label.c_str(), 0) != 0)
        fail_errno("mask " + path + ": tmpfs context=" + plan.masked_dir_label);
      if (fs < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
        fail_errno("mask " + path + ": create tmpfs");
      tree = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
      if (tree < 0) fail_errno("mask " + path + ": fsmount");
      close(fs);
    } else {
      tree = open_tree(null_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
      if (tree < 0) fail_errno("mask " + path + ": open_tree /dev/null");
    }
    if (move_mount_to_fd(tree, fd) != 0) fail_errno("mask " + path + ": move_mount");
    close(tree);
    close(fd);
  }
  close(null_fd);
  close(root);
}

void apply_root_propagation(const Plan& plan) {
  if (plan.root_propagation != 0 && mount(nullptr, "/", nullptr, plan.root_propagation, nullptr) != 0)
    fail_errno("apply linux.rootfsPropagation to the container's /");
}

void make_root_readonly() {
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (mount_setattr(AT_FDCWD, "/", 0, &attr, sizeof attr) != 0) fail_errno("remount / read-only");
}

void finish_readonly_mounts(const Plan& plan) {
  if (plan.late_readonly_mounts.empty()) return;
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail_errno("open /");
  for (const std::string& path : plan.late_readonly_mounts) {
    // The mount made at `path` is on top there; a symlink put there since is not followed.
    int fd = open_in_root(root, path, O_NOFOLLOW);
    if (fd < 0) fail_errno("remount " + path + " read-only");
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) fail_errno("remount " + path + " read-only");
    close(fd);
  }
  close(root);
}
