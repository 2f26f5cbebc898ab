// The container process: resolving its executable, its limits and working directory, and
// the final credential switch and execve.
#pragma once

#include <string>

#include "plan.h"

// Sets /proc/self/oom_score_adj (procfs verified).
void write_oom_score_adj(int value);
void apply_rlimits(const Process& process);
// Resolves args[0] like Go's exec.LookPath with PATH from process.env.
std::string resolve_executable(const Process& process);
// chdir to process.cwd and verify the result lies inside the container root.
void enter_cwd(const Process& process);
// The seccomp agent (linux.seccomp.listenerPath): connected while the runtime's mount
// namespace is still ours (no-op without a listener); told the container state once it is
// known. exec_process sends it the listener fd right after loading the filter.
void connect_seccomp_agent(const Process& process);
void set_seccomp_agent_state(const std::string& state);
// Final CPU affinity (exec), LSM exec labels, fd cleanup, capabilities, user switch,
// no_new_privs, umask, seccomp, execve (seccomp before the capabilities without no_new_privs,
// as runc). Never returns.
[[noreturn]] void exec_process(const Plan& plan, const std::string& executable);
