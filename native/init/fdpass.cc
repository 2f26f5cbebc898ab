#include "fdpass.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>

namespace {

// A msghdr over one data buffer with room for exactly one SCM_RIGHTS fd. It points into
// itself: build it where it is used, never copy it.
struct OneFdMessage {
  struct iovec iov;
  struct msghdr msg;
  // Last: cmsghdr ends in a flexible array.
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;

  OneFdMessage(void* data, size_t len) : iov{data, len}, msg{}, control{} {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
  }
  OneFdMessage(const OneFdMessage&) = delete;
  OneFdMessage& operator=(const OneFdMessage&) = delete;
};

}  // namespace

ssize_t send_with_fd(int sock, const char* data, size_t len, int fd) {
  OneFdMessage m(const_cast<char*>(data), len);
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&m.msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  ssize_t n;
  do n = sendmsg(sock, &m.msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n;
}

ssize_t receive_with_fd(int sock, char* data, size_t len, int* fd) {
  OneFdMessage m(data, len);
  ssize_t n;
  do n = recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  *fd = -1;
  struct cmsghdr* cmsg = n < 0 ? nullptr : CMSG_FIRSTHDR(&m.msg);
  if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS && cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
    memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
  return n;
}
