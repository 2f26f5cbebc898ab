// Whole reads and writes, shared by the init helper and the shim launcher (native/shim).
#include "io.h"

#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>

bool write_all(int fd, const char* data, size_t len) {
  bool is_socket = true;
  while (len > 0) {
    ssize_t n = is_socket ? send(fd, data, len, MSG_NOSIGNAL) : write(fd, data, len);
    if (n < 0 && errno == ENOTSOCK) {
      is_socket = false;
      continue;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    len -= size_t(n);
  }
  return true;
}

bool read_all(int fd, char* data, size_t len) {
  while (len > 0) {
    ssize_t n = read(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EPIPE;
      return false;
    }
    data += n;
    len -= size_t(n);
  }
  return true;
}
