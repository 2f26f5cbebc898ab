#include "hooks.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
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
    // A hook does not outlive the init that runs it (security rule 17).
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
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

int hook_guard(int argc, char** argv) {
  if (argc < 5) fail("usage: runts-init --hook-guard <runtime pid> <path> <argv0> [args...]");
  prctl(PR_SET_NAME, "runts:hook", 0, 0, 0);
  pid_t runtime = pid_t(strtol(argv[2], nullptr, 10));
  sigset_t waited, old;
  sigemptyset(&waited);
  for (int sig : {SIGCHLD, SIGTERM, SIGHUP, SIGINT}) sigaddset(&waited, sig);
  sigprocmask(SIG_BLOCK, &waited, &old);
  prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
  // The runtime may have died before the parent-death signal was armed.
  if (getppid() != runtime) return 128 + SIGKILL;
  pid_t hook = fork();
  if (hook < 0) fail_errno("hook " + std::string(argv[3]) + ": fork");
  if (hook == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);  // should we die by SIGKILL ourselves
    sigprocmask(SIG_SETMASK, &old, nullptr);
    execve(argv[3], argv + 4, environ);
    std::string line = "runts-init: " + error_text("exec hook " + std::string(argv[3]), errno) + "\n";
    ssize_t ignored = write(2, line.data(), line.size());
    (void)ignored;
    _exit(127);
  }
  setpgid(hook, hook);  // also here: no window in which a kill(-hook) misses it
  close(0);             // the hook alone holds the state pipe: its early exit means EPIPE
  for (;;) {
    int sig = sigwaitinfo(&waited, nullptr);
    if (sig < 0) continue;
    int status;
    if (sig != SIGCHLD) {
      kill(-hook, SIGKILL);
      while (waitpid(hook, &status, 0) < 0 && errno == EINTR) {
      }
      return 128 + SIGKILL;
    }
    pid_t done = waitpid(hook, &status, WNOHANG);
    if (done != hook) continue;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    // Killed by a signal: die of the same one, so the runtime reports it as such.
    int term = WTERMSIG(status);
    signal(term, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, term);
    sigprocmask(SIG_UNBLOCK, &only, nullptr);
    raise(term);
    return 128 + term;
  }
}
