// The container process: resolving its executable, its limits and working directory, and
// the final credential switch and execve.
#pragma once

#include <string>

#include "plan.h"

// Every signal disposition to SIG_DFL and an empty signal mask, for the helper and all it
// forks and execs. glibc's posix_spawn leaves its internal signals 32 and 33 ignored in the
// child (the addon spawns the helper that way), and a caller may block signals: the user's
// process must start clean, as runc's does.
void reset_signals();
// Sets /proc/self/oom_score_adj (procfs verified).
void write_oom_score_adj(int value);
void apply_rlimits(const Process& process);
// Resolves args[0] like Go's exec.LookPath with PATH from process.env.
std::string resolve_executable(const Process& process);
// chdir to process.cwd and verify the result lies inside the container root.
void enter_cwd(const Process& process);
// The seccomp agent (linux.seccomp.listenerPath): connected while the runtime's mount
// namespace is still ours (no-op without a listener); told the container state and the
// process's host pid once they are known. The listener fd goes to it right after the filter
// is loaded.
void connect_seccomp_agent(const Process& process);
void set_seccomp_agent_state(const std::string& state, long long pid);
// With a listener (SCMP_ACT_NOTIFY) the container's init loads the filter and sends the
// agent its fd during create, as runc does: an agent must get it even for a container that
// is deleted before start. No-op otherwise (exec_process loads the filter then).
void load_listener_filter(const Process& process);
// Final CPU affinity (exec), LSM exec labels, fd cleanup, capabilities, user switch,
// no_new_privs, umask, seccomp, execve (seccomp before the capabilities without no_new_privs,
// as runc). Never returns.
[[noreturn]] void exec_process(const Plan& plan, const std::string& executable);
