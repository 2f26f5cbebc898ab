// OCI hooks the init runs itself (createContainer, startContainer).
#pragma once

#include <string>
#include <vector>

#include "plan.h"

// Runs each hook in order with state on its stdin; fails on the first that fails.
void run_hooks(const std::vector<Hook>& hooks, const std::string& state);
