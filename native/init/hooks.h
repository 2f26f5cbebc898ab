// OCI hooks the init runs itself (createContainer, startContainer).
#pragma once

#include <string>
#include <vector>

#include "plan.h"

// Runs each hook in order with state on its stdin; fails on the first that fails.
void run_hooks(const std::vector<Hook>& hooks, const std::string& state);

// runts-init --hook-guard <runtime pid> <path> <argv0> [args...]: runs one runtime hook
// (prestart, createRuntime, poststart, poststop) for Node, which has no PR_SET_PDEATHSIG. The
// hook runs in a process group of its own; when the runtime dies (our parent-death signal) or
// gives up on the hook (SIGTERM at its timeout) the whole group is killed, so no hook outlives
// the runtime. Exits as the hook did.
int hook_guard(int argc, char** argv);
