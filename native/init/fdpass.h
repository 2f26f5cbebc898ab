// Passing one fd with SCM_RIGHTS (the console master, the seccomp listener, bind sources).
// The addon builds this file too, for receiving a console master.
#pragma once

#include <cstddef>
#include <sys/types.h>

// One sendmsg of len bytes of data carrying fd; retries EINTR. Returns sendmsg's result.
ssize_t send_with_fd(int sock, const char* data, size_t len, int fd);
// One recvmsg of up to len bytes into data; *fd gets the fd it carried (close-on-exec), or -1.
// Retries EINTR. Returns recvmsg's result.
ssize_t receive_with_fd(int sock, char* data, size_t len, int* fd);
