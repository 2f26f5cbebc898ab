#include "console.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "rootfs.h"
#include "fdpass.h"
#include "sync.h"

namespace {

// /dev/pts/N of the console (as the container sees it), for errors.
std::string console_path;

// Unix98 pty slaves use majors 136..143.
bool is_pty_slave(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143;
}

void send_master(int sock, int master) {
  static const char payload[] = "/dev/ptmx";
  if (send_with_fd(sock, payload, sizeof payload - 1, master) < 0) fail_errno("send console master to the console socket: sendmsg");
}

// What a failing ioctl on the console's slave most likely means: EIO is a hung-up tty, i.e.
// the receiver closed the master (the last one: ours is closed once it is sent).
std::string console_error(const std::string& what, int err) {
  std::string text = error_text(what, err);
  return err == EIO ? text + " (the --console-socket receiver closed the pty master)" : text;
}

// Binds the pty slave (by fd, so no path can be swapped in) over /dev/console.
void bind_console(int slave) {
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail_errno("open /");
  int target = make_path_in_root(root, "/dev/console", MakeLast::File);
  if (target < 0) fail_errno("create /dev/console");
  int tree = open_tree(slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0) fail_errno("bind console on /dev/console: open_tree");
  if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    fail_errno("bind console on /dev/console");
  close(tree);
  close(target);
  close(root);
}

}  // namespace

int connect_console_socket(const std::string& path) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) fail("console socket path too long: " + path);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) fail_errno("create console socket");
  if (connect(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0)
    fail_errno("connect to console socket " + path);
  return sock;
}

void setup_console(const Process& process, int console_sock, bool bind_dev_console) {
  int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail_errno("open /dev/pts/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) != 0) fail_errno("unlockpt");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) fail_errno("open pty slave (TIOCGPTPEER)");
  if (!is_pty_slave(slave)) fail("console: pty slave is not a pts device");
  if (process.has_console_size) {
    struct winsize ws = {};
    ws.ws_row = process.console_height;
    ws.ws_col = process.console_width;
    if (ioctl(slave, TIOCSWINSZ, &ws) != 0) fail_errno("set console size");
  }
  unsigned pty_number = 0;
  if (ioctl(master, TIOCGPTN, &pty_number) != 0) fail_errno("console: ioctl TIOCGPTN on /dev/pts/ptmx");
  console_path = "/dev/pts/" + std::to_string(pty_number);
  if (bind_dev_console) bind_console(slave);
  send_master(console_sock, master);
  close(master);
  close(console_sock);
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(slave, fd) < 0) fail_errno("dup console " + console_path + " to fd " + std::to_string(fd));
  if (slave > 2) close(slave);
  // As runc: the master is sent (and ours closed) first. A receiver that has closed its copy
  // by now has hung the slave up, and this fails with EIO.
  if (ioctl(0, TIOCSCTTY, 0) != 0)
    fail(console_error("make console " + console_path + " the controlling terminal: ioctl TIOCSCTTY", errno));
}

void check_console_open() {
  pid_t pgrp;
  if (ioctl(0, TIOCGPGRP, &pgrp) != 0) fail(console_error("console " + console_path + ": ioctl TIOCGPGRP", errno));
}
