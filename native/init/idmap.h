// Idmapped bind mounts (PlanIdmap in src/plan/types.ts), prepared while the helper is still
// the host's root in the host's namespaces.
#pragma once

#include "plan.h"

// For every mount op with an idmap: clones its source with open_tree(OPEN_TREE_CLONE) and
// sets MOUNT_ATTR_IDMAP on the clone, storing the detached tree's fd in op.idmap_tree (the
// op attaches it later, in the container's mount namespace). Call before joining or creating
// any namespace.
void prepare_idmapped_mounts(Plan& plan);
