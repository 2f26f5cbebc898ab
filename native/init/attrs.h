// Process attributes set with one syscall each (src/plan/types.ts PlanProcessAttrs):
// CPU affinity, scheduler, I/O priority, personality, NUMA memory policy, LSM exec labels.
#pragma once

#include "plan.h"

// `runts exec`: execCPUAffinity.initial, as soon as the plan is known (stage1).
void apply_initial_affinity(const ProcessAttrs& attrs);
// Before the process is reported created (exec: before execve). The init's affinity is
// reset to every CPU first (SCHED_DEADLINE admission needs the whole root domain).
void apply_process_attrs(const ProcessAttrs& attrs, bool exec);
// `runts exec`: execCPUAffinity.final, or every CPU when the process has no affinity.
void apply_final_affinity(const ProcessAttrs& attrs);
// The AppArmor profile and SELinux label the next execve takes (procfs verified).
void write_exec_labels(const ProcessAttrs& attrs);
