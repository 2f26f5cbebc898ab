// Whole reads and writes, retrying EINTR. The shim launcher (native/shim) builds this file too.
#pragma once

#include <cstddef>

// Writes everything; on a socket without SIGPIPE (a vanished peer is an error, not a kill).
bool write_all(int fd, const char* data, size_t len);
// Reads exactly len bytes; false on an error or EOF (errno EPIPE then).
bool read_all(int fd, char* data, size_t len);
