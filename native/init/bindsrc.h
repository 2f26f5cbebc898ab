// Bind sources opened with the runtime's credentials (RootfsOp openSourceOnHost in
// src/plan/types.ts): a container's root in its user namespace may be unable to search a
// source's path that the runtime can.
#pragma once

#include <sys/types.h>

#include "plan.h"

struct BindSourceOpener {
  pid_t pid = -1;  // -1: no op needs one
  int sock = -1;   // stage1's end of the socketpair to it
};

// Before stage1 joins or creates any namespace: forks the opener, which keeps the runtime's
// namespaces and credentials and waits for stage1's mount namespace.
BindSourceOpener start_bind_source_opener(const Plan& plan);

// Stage1, once it has all its namespaces: hands the opener its mount namespace, stores the
// O_PATH fd of each such op's source in op.host_source_fd and reaps the opener.
void receive_bind_sources(Plan& plan, BindSourceOpener& opener);
