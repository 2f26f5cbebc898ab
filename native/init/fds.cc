#include "fds.h"

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <string>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

#include "sync.h"

namespace {

// The fd numbers open in [first, last], read from /proc/self/fd; false when that directory
// is not procfs (no proc mount in the container, or something else mounted there).
bool list_open_fds(unsigned first, unsigned last, std::vector<unsigned>& fds) {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  struct statfs st;
  if (fstatfs(dir, &st) != 0 || st.f_type != PROC_SUPER_MAGIC) {
    close(dir);
    return false;
  }
  alignas(8) char buf[4096];
  long n;
  while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
    for (long at = 0; at < n;) {
      // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
      unsigned short reclen;
      __builtin_memcpy(&reclen, buf + at + 16, sizeof reclen);
      const char* name = buf + at + 19;
      char* end = nullptr;
      unsigned long fd = strtoul(name, &end, 10);
      if (name[0] >= '0' && name[0] <= '9' && *end == '\0' && fd >= first && fd <= last && fd != unsigned(dir))
        fds.push_back(unsigned(fd));
      at += reclen;
    }
  }
  int err = errno;
  close(dir);
  if (n < 0) {
    errno = err;
    fail_errno("list open fds in /proc/self/fd");
  }
  return true;
}

// Without procfs every number up to the largest fd the process may hold is tried (fds above
// a lowered RLIMIT_NOFILE can still be open; 1<<20 is the kernel's default fs.nr_open).
void candidate_fds(unsigned first, unsigned last, std::vector<unsigned>& fds) {
  struct rlimit rl;
  rlim_t bound = 1u << 20;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max > bound) bound = rl.rlim_max;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > bound) bound = rl.rlim_cur;
  if (bound > rlim_t(last) + 1) bound = rlim_t(last) + 1;
  for (rlim_t fd = first; fd < bound; fd++) fds.push_back(unsigned(fd));
}

}  // namespace

void close_fd_range(unsigned first, unsigned last, bool cloexec) {
  if (first > last) return;
  if (syscall(SYS_close_range, first, last, cloexec ? CLOSE_RANGE_CLOEXEC : 0) == 0) return;
  std::vector<unsigned> fds;
  if (!list_open_fds(first, last, fds)) candidate_fds(first, last, fds);
  for (unsigned fd : fds) {
    int rc = cloexec ? fcntl(int(fd), F_SETFD, FD_CLOEXEC) : close(int(fd));
    if (rc != 0 && errno != EBADF)
      fail_errno(std::string(cloexec ? "mark fd " : "close fd ") + std::to_string(fd) +
                 " (close_range is unavailable)");
  }
}
