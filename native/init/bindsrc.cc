#include "bindsrc.h"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdpass.h"
#include "sync.h"

// Protocol on the SOCK_SEQPACKET pair: stage1 sends one byte carrying its mount namespace's
// fd; the opener answers with an errno (int32, 0 for success) for its setns, then one per op,
// in plan order, each success carrying the source's fd. It stops at the first failure.

namespace {

void reply(int sock, int32_t err, int fd) {
  if (fd >= 0) send_with_fd(sock, reinterpret_cast<const char*>(&err), sizeof err, fd);
  else send(sock, &err, sizeof err, MSG_NOSIGNAL);
}

// The opener never reports over the sync socket (stage1 does, with the errno it sends).
[[noreturn]] void run_opener(const Plan& plan, int sock) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  char byte;
  int mntns;
  // Nothing received: stage1 failed before it got there, and says why itself.
  if (receive_with_fd(sock, &byte, 1, &mntns) != 1 || mntns < 0) _exit(1);
  // Stage1's mount namespace, not ours: mount(2) takes a bind source only from the caller's
  // own, and its copies of our mounts carry the flags the kernel locked (security rule 16).
  if (setns(mntns, CLONE_NEWNS) != 0) {
    reply(sock, errno, -1);
    _exit(1);
  }
  reply(sock, 0, -1);
  for (const RootfsOp& op : plan.rootfs_ops) {
    if (!op.open_source_on_host) continue;
    // Followed as mount(2) follows a source path, with the runtime's credentials.
    int fd = open(op.source.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) {
      reply(sock, errno, -1);
      _exit(1);
    }
    reply(sock, 0, fd);
    close(fd);
  }
  _exit(0);
}

// The opener's next answer: its errno, and *fd the fd it carried (-1 without).
int32_t next_reply(const BindSourceOpener& opener, int* fd) {
  int32_t err = 0;
  ssize_t n = receive_with_fd(opener.sock, reinterpret_cast<char*>(&err), sizeof err, fd);
  if (n < 0) fail_errno("bind sources: receive from the opener");
  if (n != sizeof err) fail("bind sources: the opener (pid " + std::to_string(opener.pid) + ") exited without answering");
  return err;
}

}  // namespace

BindSourceOpener start_bind_source_opener(const Plan& plan) {
  BindSourceOpener opener;
  bool needed = false;
  for (const RootfsOp& op : plan.rootfs_ops) needed |= op.open_source_on_host;
  if (!needed) return opener;
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) fail_errno("bind sources: socketpair");
  pid_t pid = fork();
  if (pid < 0) fail_errno("bind sources: fork the opener");
  if (pid == 0) {
    close(pair[0]);
    run_opener(plan, pair[1]);
  }
  close(pair[1]);
  opener.pid = pid;
  opener.sock = pair[0];
  return opener;
}

void receive_bind_sources(Plan& plan, BindSourceOpener& opener) {
  if (opener.pid < 0) return;
  int mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (mntns < 0) fail_errno("bind sources: open /proc/self/ns/mnt");
  if (send_with_fd(opener.sock, "", 1, mntns) != 1) fail_errno("bind sources: hand the mount namespace to the opener");
  close(mntns);
  int fd;
  int32_t err = next_reply(opener, &fd);
  if (err != 0) fail(error_text("bind sources: join the container's mount namespace as the runtime", err));
  for (RootfsOp& op : plan.rootfs_ops) {
    if (!op.open_source_on_host) continue;
    err = next_reply(opener, &fd);
    if (err != 0) fail(error_text("open bind source " + op.source + " for " + op.target + " as the runtime", err));
    if (fd < 0) fail("bind sources: the opener sent no fd for " + op.source);
    op.host_source_fd = fd;
  }
  close(opener.sock);
  while (waitpid(opener.pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  opener = BindSourceOpener();
}
