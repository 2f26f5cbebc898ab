// The container's terminal: a pty from the container's own devpts whose master goes to
// the caller's console socket.
#pragma once

#include <string>

#include "plan.h"

// Connects to the console socket at path (done before any namespace change).
int connect_console_socket(const std::string& path);

// Inside the container's root: allocates the pty from /dev/pts/ptmx, binds the slave over
// /dev/console (only for the container's init: bind_dev_console), sends the master over
// console_sock (then closes both) and makes the slave this process's stdio and
// controlling terminal.
void setup_console(const Process& process, int console_sock, bool bind_dev_console);

// Fails (naming the console and errno) when the console made by setup_console has been hung
// up, i.e. the receiver closed the pty master: the container would start with a dead
// terminal. runc's init fails there, or dies of the SIGHUP.
void check_console_open();
