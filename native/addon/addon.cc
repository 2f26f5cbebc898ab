// The Node-API addon: only the syscalls Node lacks, each a thin wrapper. All policy lives in
// TypeScript (src/native.ts is the one typed boundary). Nothing here enters a container's
// namespace: spawnInit execs the single-threaded init helper, which does that (probeMount's
// child only makes a throwaway mount namespace of its own, and exits).
#include <napi.h>
#include <poll.h>
#include <sched.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/netlink.h>
#include <spawn.h>
#include <string>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "../init/fdpass.h"

namespace {

// A JS Error whose message carries the syscall, the subject and errno text, plus `code`
// (e.g. "ENOENT") and `errno` properties like Node's own errors.
Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err) {
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  const char* name = strerrorname_np(err);
  e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  return e;
}

void ThrowErrno(Napi::Env env, const std::string& what, int err) {
  ErrnoError(env, what, err).ThrowAsJavaScriptException();
}

int IntArg(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().Int32Value();
}

// A sealed, close-on-exec in-memory copy of the helper binary (security rule 2): the
// container can see the helper as /proc/<pid>/exe but can never write through it.
int SealedCopy(const std::string& path, std::string* err) {
  int src = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) {
    *err = "open " + path + ": " + strerror(errno);
    return -1;
  }
  struct stat st;
  if (fstat(src, &st) < 0) {
    *err = "stat " + path + ": " + strerror(errno);
    close(src);
    return -1;
  }
  int mfd = memfd_create("runts-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) {
    *err = std::string("memfd_create: ") + strerror(errno);
    close(src);
    return -1;
  }
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sendfile(mfd, src, nullptr, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *err = "copy " + path + " into memfd: " + (n < 0 ? strerror(errno) : "short read");
      close(src);
      close(mfd);
      return -1;
    }
    left -= n;
  }
  close(src);
  if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    *err = std::string("seal memfd: ") + strerror(errno);
    close(mfd);
    return -1;
  }
  return mfd;
}

// spawnInit(helperPath, inheritFds, stdio?) -> { pid, syncFd }
// posix_spawn (clone+exec, safe in a multi-threaded process) of the sealed helper with an
// empty environment and default signal dispositions (Node ignores SIGPIPE; the container
// must not inherit that; glibc still leaves its internal signals 32 and 33 ignored, which
// the helper resets itself). Only fds 0-2 (ours, or the three `stdio` fds moved there), the
// listed fds and the child's end of the sync socket survive the exec; everything Node
// opened is O_CLOEXEC.
Napi::Value SpawnInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string helper = info[0].As<Napi::String>().Utf8Value();
  Napi::Array inherit = info[1].As<Napi::Array>();
  int stdio[3] = {0, 1, 2};
  if (info.Length() > 2 && info[2].IsArray()) {
    Napi::Array given = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < 3; i++) stdio[i] = given.Get(i).As<Napi::Number>().Int32Value();
  }

  std::string err;
  int mfd = SealedCopy(helper, &err);
  if (mfd < 0) {
    Napi::Error::New(env, err).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    close(mfd);
    ThrowErrno(env, "socketpair", errno);
    return env.Undefined();
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2(fd, fd) in a spawn file action clears FD_CLOEXEC (glibc >= 2.29). Node marks
  // its stdio close-on-exec, so 0-2 need it as much as the listed fds.
  // Node keeps 0-2 open, so replacement stdio fds are >= 3 and survive these dup2s.
  for (int fd = 0; fd <= 2; fd++) posix_spawn_file_actions_adddup2(&actions, stdio[fd], fd);
  posix_spawn_file_actions_adddup2(&actions, sv[1], sv[1]);
  for (uint32_t i = 0; i < inherit.Length(); i++) {
    int fd = inherit.Get(i).As<Napi::Number>().Int32Value();
    posix_spawn_file_actions_adddup2(&actions, fd, fd);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::string exe = "/proc/self/fd/" + std::to_string(mfd);
  std::string fdArg = std::to_string(sv[1]);
  char* argv[] = {const_cast<char*>("runts-init"), const_cast<char*>(fdArg.c_str()), nullptr};
  char* envp[] = {nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, exe.c_str(), &actions, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(mfd);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    ThrowErrno(env, "exec init helper " + helper, rc);
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, pid));
  out.Set("syncFd", Napi::Number::New(env, sv[0]));
  return out;
}

// sealedHelper(helperPath) -> fd: a sealed, close-on-exec memfd copy of the helper, for
// running it as /proc/self/fd/<fd> (the runtime hooks' guard, src/hooks/run.ts).
Napi::Value SealedHelper(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string err;
  int mfd = SealedCopy(info[0].As<Napi::String>().Utf8Value(), &err);
  if (mfd < 0) {
    Napi::Error::New(env, err).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, mfd);
}

Napi::Object StatusObject(Napi::Env env, int status) {
  Napi::Object out = Napi::Object::New(env);
  if (WIFEXITED(status)) {
    out.Set("exitCode", Napi::Number::New(env, WEXITSTATUS(status)));
  } else if (WIFSIGNALED(status)) {
    out.Set("signal", Napi::Number::New(env, WTERMSIG(status)));
  }
  return out;
}

// Blocking waitpid of a child, EINTR retried: 0, or the errno.
int Reap(pid_t pid, int* status) {
  pid_t r;
  do r = waitpid(pid, status, 0);
  while (r < 0 && errno == EINTR);
  return r < 0 ? errno : 0;
}

// waitPid(pid) -> { exitCode } | { signal }: blocking; for short-lived children only.
Napi::Value WaitPid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = IntArg(info, 0);
  int status;
  if (int err = Reap(pid, &status)) {
    ThrowErrno(env, "waitpid " + std::to_string(pid), err);
    return env.Undefined();
  }
  return StatusObject(env, status);
}

// waitPidAsync(pid) -> Promise<{ exitCode } | { signal }>: waits on a worker thread so the
// event loop keeps forwarding signals and the console while a foreground container runs.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, pid_t pid)
      : Napi::AsyncWorker(env), pid_(pid), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { err_ = Reap(pid_, &status_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_) {
      deferred_.Reject(ErrnoError(env, "waitpid " + std::to_string(pid_), err_).Value());
    } else {
      deferred_.Resolve(StatusObject(env, status_));
    }
  }

 private:
  pid_t pid_;
  int status_ = 0;
  int err_ = 0;
  Napi::Promise::Deferred deferred_;
};

Napi::Value WaitPidAsync(const Napi::CallbackInfo& info) {
  auto* worker = new WaitWorker(info.Env(), IntArg(info, 0));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

// waitAndRelay(pid, { stdinTo, stdoutFrom, stderrFrom }) -> Promise<{ exitCode } | { signal }>:
// the whole wait of a foreground process without a terminal, in one poll(2) loop on a worker
// thread: our fd 0 into stdinTo (closed at our EOF, so the process sees EOF), stdoutFrom and
// stderrFrom out to our fds 1 and 2 until EOF, and its exit (a pidfd). It resolves once the
// process has exited and both outputs are at EOF, so that everything it wrote is delivered,
// and reaps it only then: until the promise settles, its pid is ours to signal. The three fds
// are closed in every case. Our own fds 0-2 keep their flags (their file descriptions are
// shared with whoever started us); blocking writes to them are fine on this thread.
class RelayWorker : public Napi::AsyncWorker {
 public:
  RelayWorker(Napi::Env env, pid_t pid, int stdinTo, int stdoutFrom, int stderrFrom)
      : Napi::AsyncWorker(env),
        pid_(pid),
        stdinTo_(stdinTo),
        from_{stdoutFrom, stderrFrom},
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    Relay();
    CloseFd(&stdinTo_);
    CloseFd(&from_[0]);
    CloseFd(&from_[1]);
    CloseFd(&pidfd_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_) {
      deferred_.Reject(ErrnoError(env, failed_, err_).Value());
    } else {
      deferred_.Resolve(StatusObject(env, status_));
    }
  }

 private:
  static constexpr size_t kBufSize = 64 * 1024;

  static void CloseFd(int* fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  void Fail(const std::string& what, int err) {
    failed_ = what;
    err_ = err;
  }

  void Relay() {
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0) return Fail("pidfd_open " + std::to_string(pid_), errno);
    // Only our end of its stdin is non-blocking: a process that never reads its stdin must
    // not stall the copies of its output.
    int flags = fcntl(stdinTo_, F_GETFL);
    if (flags < 0 || fcntl(stdinTo_, F_SETFL, flags | O_NONBLOCK) < 0) {
      return Fail("fcntl O_NONBLOCK fd " + std::to_string(stdinTo_), errno);
    }
    bool exited = false;
    while (!exited || from_[0] >= 0 || from_[1] >= 0) {
      struct pollfd fds[4];
      nfds_t n = 0;
      int exitAt = -1, inAt = -1, outAt[2] = {-1, -1};
      if (!exited) {
        exitAt = n;
        fds[n++] = {pidfd_, POLLIN, 0};
      }
      if (stdinTo_ >= 0) {
        // Read our stdin only once what we read before has gone in.
        inAt = n;
        fds[n++] = pending_ > 0 ? pollfd{stdinTo_, POLLOUT, 0} : pollfd{0, POLLIN, 0};
      }
      for (int i = 0; i < 2; i++) {
        if (from_[i] < 0) continue;
        outAt[i] = n;
        fds[n++] = {from_[i], POLLIN, 0};
      }
      if (poll(fds, n, -1) < 0) {
        if (errno == EINTR) continue;
        return Fail("poll", errno);
      }
      if (exitAt >= 0 && fds[exitAt].revents) exited = true;
      if (inAt >= 0 && fds[inAt].revents) {
        if (pending_ > 0) {
          FeedStdin();
        } else {
          ReadStdin();
        }
      }
      for (int i = 0; i < 2; i++) {
        if (outAt[i] >= 0 && fds[outAt[i]].revents && !CopyOut(i)) return;
      }
    }
    if (int err = Reap(pid_, &status_)) Fail("waitpid " + std::to_string(pid_), err);
  }

  // Our EOF, or an error reading fd 0, is the process's EOF.
  void ReadStdin() {
    ssize_t n = read(0, inBuf_, kBufSize);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) return CloseFd(&stdinTo_);
    pending_ = static_cast<size_t>(n);
    offset_ = 0;
    FeedStdin();
  }

  // As much as its stdin pipe takes now; the rest once poll says there is room. EPIPE (it
  // closed its stdin) ends the copy: we read no more of ours.
  void FeedStdin() {
    while (pending_ > 0) {
      ssize_t n = write(stdinTo_, inBuf_ + offset_, pending_);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n < 0) {
        pending_ = 0;
        return CloseFd(&stdinTo_);
      }
      offset_ += static_cast<size_t>(n);
      pending_ -= static_cast<size_t>(n);
    }
  }

  // One read of output pipe i, written out whole to our fd 1 or 2. When that write fails
  // (nobody reads our output any more), the pipe is closed so that the process gets EPIPE
  // instead of blocking on a full pipe forever. False after an error reading the pipe.
  bool CopyOut(int i) {
    ssize_t n = read(from_[i], outBuf_, kBufSize);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n < 0) {
      Fail("read fd " + std::to_string(from_[i]), errno);
      return false;
    }
    if (n == 0 || !WriteAll(i + 1, outBuf_, static_cast<size_t>(n))) CloseFd(&from_[i]);
    return true;
  }

  // A blocking write of everything; our fd may still be non-blocking (its flags belong to
  // whoever shares it): then wait for room instead of spinning.
  static bool WriteAll(int fd, const char* data, size_t len) {
    while (len > 0) {
      ssize_t n = write(fd, data, len);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        struct pollfd room = {fd, POLLOUT, 0};
        poll(&room, 1, -1);
        continue;
      }
      if (n < 0) return false;
      data += n;
      len -= static_cast<size_t>(n);
    }
    return true;
  }

  pid_t pid_;
  int pidfd_ = -1;
  int stdinTo_;
  int from_[2];
  int status_ = 0;
  std::string failed_;
  int err_ = 0;
  size_t pending_ = 0;
  size_t offset_ = 0;
  char inBuf_[kBufSize];
  char outBuf_[kBufSize];
  Napi::Promise::Deferred deferred_;
};

Napi::Value WaitAndRelay(const Napi::CallbackInfo& info) {
  Napi::Object fds = info[1].As<Napi::Object>();
  auto fd = [&](const char* name) { return fds.Get(name).As<Napi::Number>().Int32Value(); };
  auto* worker = new RelayWorker(info.Env(), IntArg(info, 0), fd("stdinTo"), fd("stdoutFrom"), fd("stderrFrom"));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Array FdPair(Napi::Env env, const int fds[2]) {
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fds[0]));
  out.Set(1u, Napi::Number::New(env, fds[1]));
  return out;
}

// socketPair() -> [fd, fd]: AF_UNIX stream pair, both close-on-exec.
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    ThrowErrno(env, "socketpair", errno);
    return env.Undefined();
  }
  return FdPair(env, sv);
}

// unixConnect(path, timeoutMs) -> fd: a blocking, close-on-exec AF_UNIX stream socket
// connected to `path`, whose reads and writes fail with EAGAIN after timeoutMs (Node has no
// synchronous connect; the systemd D-Bus client reads and writes it with fs.readSync/writeSync).
Napi::Value UnixConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int timeoutMs = IntArg(info, 1);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ThrowErrno(env, "connect " + path, ENAMETOOLONG);
    return env.Undefined();
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, "socket", errno);
    return env.Undefined();
  }
  struct timeval tv = {timeoutMs / 1000, (timeoutMs % 1000) * 1000};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "setsockopt " + path, err);
    return env.Undefined();
  }
  int rc;
  do rc = connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "connect " + path, err);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// pipe() -> [readFd, writeFd], both close-on-exec (a container's stdio in foreground run/exec).
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    ThrowErrno(env, "pipe2", errno);
    return env.Undefined();
  }
  return FdPair(env, fds);
}

// recvFd(sock) -> fd: receives one SCM_RIGHTS fd (the console master), close-on-exec.
Napi::Value RecvFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = IntArg(info, 0);
  char payload[4096];
  int fd;
  ssize_t n = receive_with_fd(sock, payload, sizeof payload, &fd);
  if (n < 0) {
    ThrowErrno(env, "recvmsg console socket", errno);
    return env.Undefined();
  }
  if (n == 0 || fd < 0) {
    if (fd >= 0) close(fd);
    Napi::Error::New(env, "recvmsg console socket: no file descriptor received").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// flock(fd, exclusive, wait = true) -> locked: an advisory lock, released when the fd closes
// or the process dies. Without `wait`, false when another holds it (EWOULDBLOCK).
Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0);
  int op = info[1].As<Napi::Boolean>().Value() ? LOCK_EX : LOCK_SH;
  bool wait = info.Length() < 3 || info[2].As<Napi::Boolean>().Value();
  if (!wait) op |= LOCK_NB;
  int r;
  do r = flock(fd, op);
  while (r < 0 && errno == EINTR);
  if (r < 0 && !wait && errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  if (r < 0) ThrowErrno(env, "flock", errno);
  return Napi::Boolean::New(env, true);
}

// mkfifo(path, mode)
Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (mkfifo(path.c_str(), IntArg(info, 1)) < 0) ThrowErrno(env, "mkfifo " + path, errno);
  return env.Undefined();
}

// pidfdOpen(pid) -> fd (close-on-exec)
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = IntArg(info, 0);
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) {
    ThrowErrno(env, "pidfd_open " + std::to_string(pid), errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// pidfdSendSignal(pidfd, signal)
Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (syscall(SYS_pidfd_send_signal, IntArg(info, 0), IntArg(info, 1), nullptr, 0) < 0) {
    ThrowErrno(env, "pidfd_send_signal", errno);
  }
  return env.Undefined();
}

// waitPidNoHang(pid) -> { exitCode } | { signal } | null: reaps `pid` if it has exited, without
// blocking (the shim's SIGCHLD handler asks this for each process it watches).
Napi::Value WaitPidNoHang(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = IntArg(info, 0);
  int status;
  pid_t r;
  do r = waitpid(pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    ThrowErrno(env, "waitpid " + std::to_string(pid), errno);
    return env.Undefined();
  }
  if (r == 0) return env.Null();
  return StatusObject(env, status);
}

// setChildSubreaper(): prctl(PR_SET_CHILD_SUBREAPER, 1)
Napi::Value SetChildSubreaper(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) ThrowErrno(env, "prctl PR_SET_CHILD_SUBREAPER", errno);
  return env.Undefined();
}

// mount(source, target, fstype, flags, data)
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source = info[0].As<Napi::String>().Utf8Value();
  std::string target = info[1].As<Napi::String>().Utf8Value();
  std::string fstype = info[2].As<Napi::String>().Utf8Value();
  unsigned long flags = static_cast<unsigned long>(info[3].As<Napi::Number>().Int64Value());
  std::string data = info[4].As<Napi::String>().Utf8Value();
  if (mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
            data.empty() ? nullptr : data.c_str()) < 0) {
    ThrowErrno(env, "mount " + source + " " + target, errno);
  }
  return env.Undefined();
}

// probeMount(fstype, flags, data): the errno mount(2) of that filesystem fails with, 0 when it
// mounts. The mount is made on / in a child cloned into a mount namespace of its own, all
// private first, so nothing of it is seen outside and it is gone when the child exits. A raw
// clone (a fork without glibc's atfork handlers): the child makes two syscalls and exits.
Napi::Value ProbeMount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string fstype = info[0].As<Napi::String>().Utf8Value();
  unsigned long flags = static_cast<unsigned long>(info[1].As<Napi::Number>().Int64Value());
  std::string data = info[2].As<Napi::String>().Utf8Value();
  long pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) {
    ThrowErrno(env, "clone(CLONE_NEWNS) to probe a " + fstype + " mount", errno);
    return env.Undefined();
  }
  if (pid == 0) {
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(255);
    int rc = mount(fstype.c_str(), "/", fstype.c_str(), flags, data.empty() ? nullptr : data.c_str());
    _exit(rc == 0 ? 0 : errno);
  }
  int status;
  while (waitpid(pid_t(pid), &status, 0) < 0) {
    if (errno != EINTR) {
      ThrowErrno(env, "waitpid mount probe " + std::to_string(pid), errno);
      return env.Undefined();
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 255) {
    Napi::Error::New(env, "mount probe of " + fstype + ": could not make its mount namespace private").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, WEXITSTATUS(status));
}

// umount2(target, flags)
Napi::Value Umount2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target = info[0].As<Napi::String>().Utf8Value();
  if (umount2(target.c_str(), IntArg(info, 1)) < 0) ThrowErrno(env, "umount2 " + target, errno);
  return env.Undefined();
}

// setWinsize(fd, rows, cols)
Napi::Value SetWinsize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(IntArg(info, 1));
  ws.ws_col = static_cast<unsigned short>(IntArg(info, 2));
  if (ioctl(IntArg(info, 0), TIOCSWINSZ, &ws) < 0) ThrowErrno(env, "ioctl TIOCSWINSZ", errno);
  return env.Undefined();
}

// fstatfsType(fd) -> f_type (e.g. PROC_SUPER_MAGIC), to check procfs is real before writing to it.
Napi::Value FstatfsType(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct statfs sfs;
  if (fstatfs(IntArg(info, 0), &sfs) < 0) {
    ThrowErrno(env, "fstatfs", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(sfs.f_type));
}

// pollIn(fds, timeoutMs) -> revents per fd: one poll(2) for POLLIN (a fifo's byte or its
// writer's close, a pidfd's process exiting), so waits need no sleep loop. timeoutMs -1: no
// limit. A signal ends it early with nothing reported; callers loop with the time left.
Napi::Value PollIn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array fdArray = info[0].As<Napi::Array>();
  std::vector<struct pollfd> fds(fdArray.Length());
  for (uint32_t i = 0; i < fds.size(); i++) {
    fds[i] = {fdArray.Get(i).As<Napi::Number>().Int32Value(), POLLIN, 0};
  }
  if (poll(fds.data(), fds.size(), IntArg(info, 1)) < 0) {
    if (errno != EINTR) {
      ThrowErrno(env, "poll", errno);
      return env.Undefined();
    }
    for (auto& p : fds) p.revents = 0;
  }
  Napi::Array out = Napi::Array::New(env, fds.size());
  for (uint32_t i = 0; i < fds.size(); i++) out.Set(i, Napi::Number::New(env, fds[i].revents));
  return out;
}

// ---- eBPF cgroup device filters (cgroup v2 has no devices.allow/deny files).

long Bpf(int cmd, union bpf_attr* attr) {
  return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

// bpfProgLoadDevice(insns, license, name) -> fd: loads a BPF_PROG_TYPE_CGROUP_DEVICE program
// (close-on-exec fd). On failure the verifier log is loaded again and put in the message.
Napi::Value BpfProgLoadDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Buffer<uint8_t> insns = info[0].As<Napi::Buffer<uint8_t>>();
  std::string license = info[1].As<Napi::String>().Utf8Value();
  std::string name = info[2].As<Napi::String>().Utf8Value();
  if (insns.Length() == 0 || insns.Length() % sizeof(struct bpf_insn) != 0) {
    Napi::TypeError::New(env, "bpfProgLoadDevice: instructions must be a non-empty multiple of 8 bytes")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto load = [&](char* log, uint32_t logSize) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = reinterpret_cast<uintptr_t>(insns.Data());
    attr.insn_cnt = static_cast<uint32_t>(insns.Length() / sizeof(struct bpf_insn));
    attr.license = reinterpret_cast<uintptr_t>(license.c_str());
    strncpy(attr.prog_name, name.c_str(), sizeof attr.prog_name - 1);
    if (log) {
      attr.log_buf = reinterpret_cast<uintptr_t>(log);
      attr.log_size = logSize;
      attr.log_level = 1;
    }
    long fd;
    int tries = 0;
    do fd = Bpf(BPF_PROG_LOAD, &attr);
    while (fd < 0 && errno == EAGAIN && ++tries < 5);  // the verifier may be interrupted
    return fd;
  };
  long fd = load(nullptr, 0);
  if (fd >= 0) return Napi::Number::New(env, static_cast<double>(fd));
  int err = errno;
  std::vector<char> log(1 << 20, '\0');
  long again = load(log.data(), static_cast<uint32_t>(log.size()));
  if (again >= 0) close(static_cast<int>(again));
  std::string text(log.data());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  ThrowErrno(env, "bpf(BPF_PROG_LOAD) cgroup device program" +
                      (text.empty() ? std::string() : " (verifier log: " + text + ")"), err);
  return env.Undefined();
}

// The bpf_attr naming a device program on a cgroup: (cgroupFd, progFd) arguments.
union bpf_attr DeviceProgAttr(const Napi::CallbackInfo& info) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = IntArg(info, 0);
  attr.attach_bpf_fd = IntArg(info, 1);
  attr.attach_type = BPF_CGROUP_DEVICE;
  return attr;
}

// bpfProgAttachDevice(cgroupFd, progFd, flags): BPF_PROG_ATTACH as BPF_CGROUP_DEVICE.
Napi::Value BpfProgAttachDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  union bpf_attr attr = DeviceProgAttr(info);
  attr.attach_flags = info[2].As<Napi::Number>().Uint32Value();
  if (Bpf(BPF_PROG_ATTACH, &attr) < 0) ThrowErrno(env, "bpf(BPF_PROG_ATTACH) cgroup device program", errno);
  return env.Undefined();
}

// bpfProgDetachDevice(cgroupFd, progFd): BPF_PROG_DETACH of that program from BPF_CGROUP_DEVICE.
Napi::Value BpfProgDetachDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  union bpf_attr attr = DeviceProgAttr(info);
  if (Bpf(BPF_PROG_DETACH, &attr) < 0) ThrowErrno(env, "bpf(BPF_PROG_DETACH) cgroup device program", errno);
  return env.Undefined();
}

// bpfProgQueryDevice(cgroupFd) -> ids of the programs attached to the cgroup itself as
// BPF_CGROUP_DEVICE (not the inherited ones).
Napi::Value BpfProgQueryDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int cgroupFd = IntArg(info, 0);
  std::vector<uint32_t> ids;
  for (;;) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.query.target_fd = cgroupFd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    long r = Bpf(BPF_PROG_QUERY, &attr);
    // ENOSPC: more programs than room; prog_cnt then holds how many there are.
    if (r < 0 && errno == ENOSPC && attr.query.prog_cnt > ids.size()) {
      ids.resize(attr.query.prog_cnt);
      continue;
    }
    if (r < 0) {
      ThrowErrno(env, "bpf(BPF_PROG_QUERY) cgroup device programs", errno);
      return env.Undefined();
    }
    if (attr.query.prog_cnt > ids.size()) {  // a first call with no room: ask again
      ids.resize(attr.query.prog_cnt);
      continue;
    }
    ids.resize(attr.query.prog_cnt);
    break;
  }
  Napi::Array out = Napi::Array::New(env, ids.size());
  for (uint32_t i = 0; i < ids.size(); i++) out.Set(i, Napi::Number::New(env, ids[i]));
  return out;
}

// bpfProgGetFdById(id) -> fd (close-on-exec).
Napi::Value BpfProgGetFdById(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_id = info[0].As<Napi::Number>().Uint32Value();
  long fd = Bpf(BPF_PROG_GET_FD_BY_ID, &attr);
  if (fd < 0) {
    ThrowErrno(env, "bpf(BPF_PROG_GET_FD_BY_ID) " + std::to_string(attr.prog_id), errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(fd));
}

// bpfProgName(progFd) -> the name given at load (BPF_OBJ_GET_INFO_BY_FD).
Napi::Value BpfProgName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct bpf_prog_info progInfo;
  memset(&progInfo, 0, sizeof progInfo);
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.info.bpf_fd = IntArg(info, 0);
  attr.info.info_len = sizeof progInfo;
  attr.info.info = reinterpret_cast<uintptr_t>(&progInfo);
  if (Bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0) {
    ThrowErrno(env, "bpf(BPF_OBJ_GET_INFO_BY_FD) program", errno);
    return env.Undefined();
  }
  return Napi::String::New(env, std::string(progInfo.name, strnlen(progInfo.name, sizeof progInfo.name)));
}

// netlinkRouteSocket() -> fd: a NETLINK_ROUTE socket (close-on-exec) in the runtime's own
// network namespace. Messages are built and read in TypeScript (src/network/netlink.ts).
Napi::Value NetlinkRouteSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    ThrowErrno(env, "socket NETLINK_ROUTE", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("spawnInit", Napi::Function::New(env, SpawnInit));
  exports.Set("sealedHelper", Napi::Function::New(env, SealedHelper));
  exports.Set("waitPid", Napi::Function::New(env, WaitPid));
  exports.Set("waitPidAsync", Napi::Function::New(env, WaitPidAsync));
  exports.Set("waitAndRelay", Napi::Function::New(env, WaitAndRelay));
  exports.Set("socketPair", Napi::Function::New(env, SocketPair));
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd));
  exports.Set("unixConnect", Napi::Function::New(env, UnixConnect));
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize));
  exports.Set("fstatfsType", Napi::Function::New(env, FstatfsType));
  exports.Set("pollIn", Napi::Function::New(env, PollIn));
  exports.Set("bpfProgLoadDevice", Napi::Function::New(env, BpfProgLoadDevice));
  exports.Set("bpfProgAttachDevice", Napi::Function::New(env, BpfProgAttachDevice));
  exports.Set("bpfProgDetachDevice", Napi::Function::New(env, BpfProgDetachDevice));
  exports.Set("bpfProgQueryDevice", Napi::Function::New(env, BpfProgQueryDevice));
  exports.Set("bpfProgGetFdById", Napi::Function::New(env, BpfProgGetFdById));
  exports.Set("bpfProgName", Napi::Function::New(env, BpfProgName));
  exports.Set("netlinkRouteSocket", Napi::Function::New(env, NetlinkRouteSocket));
  exports.Set("waitPidNoHang", Napi::Function::New(env, WaitPidNoHang));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount2", Napi::Function::New(env, Umount2));
  exports.Set("probeMount", Napi::Function::New(env, ProbeMount));
  return exports;
}

}  // namespace

NODE_API_MODULE(runts_native, Init)
