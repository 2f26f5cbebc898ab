#include "hooks.h"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sync.h"

namespace {

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

void write_state(int fd, const std::string& state) {
  // A hook that exits without reading its stdin is not an error: ignore SIGPIPE meanwhile.
  struct sigaction ignore = {}, old = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  size_t off = 0;
  while (off < state.size()) {
    ssize_t n = write(fd, state.data() + off, state.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += size_t(n);
  }
  sigaction(SIGPIPE, &old, nullptr);
}

void run_hook(const Hook& hook, const std::string& state) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) fail_errno("hook " + hook.path + ": pipe");
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp = c_strings(hook.env);
  pid_t pid = fork();
  if (pid < 0) fail_errno("hook " + hook.path + ": fork");
  if (pid == 0) {
    // Only stdio reaches the hook; anything else we hold (or inherited) stays behind.
    if (dup2(pipefd[0], 0) < 0) _exit(127);
    syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    execve(hook.path.c_str(), argv.data(), envp.data());
    std::string line = "runts-init: " + error_text("exec hook " + hook.path, errno) + "\n";
    ssize_t ignored = write(2, line.data(), line.size());
    (void)ignored;
    _exit(127);
  }
  close(pipefd[0]);
  int pidfd = int(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) fail_errno("hook " + hook.path + ": pidfd_open");
  write_state(pipefd[1], state);
  close(pipefd[1]);

  struct pollfd pfd = {pidfd, POLLIN, 0};
  int timeout_ms = hook.timeout > 0 ? hook.timeout * 1000 : -1;
  int ready;
  do ready = poll(&pfd, 1, timeout_ms);
  while (ready < 0 && errno == EINTR);
  bool timed_out = ready == 0;
  if (timed_out) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  close(pidfd);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) fail_errno("hook " + hook.path + ": wait");
  if (timed_out) fail("hook " + hook.path + " timed out after " + std::to_string(hook.timeout) + "s");
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    fail("hook " + hook.path + " failed: exit status " + std::to_string(WEXITSTATUS(status)));
  if (WIFSIGNALED(status)) fail("hook " + hook.path + " failed: killed by signal " + std::to_string(WTERMSIG(status)));
}

}  // namespace

void run_hooks(const std::vector<Hook>& hooks, const std::string& state) {
  for (const Hook& hook : hooks) run_hook(hook, state);
}
