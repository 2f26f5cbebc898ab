// Sending one fd with SCM_RIGHTS (the console master, the seccomp listener).
#pragma once

#include <cstddef>
#include <sys/types.h>

// One sendmsg of len bytes of data carrying fd; retries EINTR. Returns sendmsg's result.
ssize_t send_with_fd(int sock, const char* data, size_t len, int fd);
