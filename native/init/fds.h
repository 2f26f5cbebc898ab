// Closing or marking the fds a hostile caller may have left open (security rule 4).
#pragma once

// Closes, or with cloexec marks close-on-exec, every open fd from first to last (inclusive).
// close_range first; where it is missing (ENOSYS before Linux 5.9, EINVAL for
// CLOSE_RANGE_CLOEXEC before 5.11) or a seccomp filter the caller runs us under denies it
// (any errno), each open fd is handled one by one. Fails naming the fd it could not handle.
void close_fd_range(unsigned first, unsigned last, bool cloexec);
