// Who puts a container's next process (the init helper, for create and exec) into its
// cgroups. Writing a pid to cgroup.procs, v1 or v2, takes the kernel's global threadgroup
// lock for writing, which waits for an RCU grace period: 10-20 ms on every create and exec.
// The helper can do without it (PlanCgroupJoin): a single-threaded process writing "0" to a
// v1 tasks file moves only itself, which needs no global lock, and clone3(CLONE_INTO_CGROUP)
// has stage2 born in the v2 cgroup. Where it cannot, the runtime writes the helper's pid, in
// every hierarchy: one such write already pays the grace period, so it is never mixed.
import { kernelAtLeast, kernelVersion } from '../kernel';

export interface JoinConditions {
  /** --systemd-cgroup: systemd starts the scope with the pid in it. */
  systemd: boolean;
  /** Rootless cgroups: permission errors are tolerated hierarchy by hierarchy. */
  rootless: boolean;
  /** The container has a cgroup in the v2 (unified) hierarchy. */
  unified: boolean;
  /** The process enters a user namespace (a new one or a joined one). */
  userns: boolean;
  /** os.release() */
  kernelRelease: string;
}

export type JoinMethod = { by: 'helper' } | { by: 'runtime'; reason: string };

const CLONE_INTO_CGROUP_KERNEL = [5, 7] as const;

export function chooseJoinMethod(c: JoinConditions): JoinMethod {
  const runtime = (reason: string): JoinMethod => ({ by: 'runtime', reason });
  if (c.systemd) return runtime('systemd starts the scope with the pid in it');
  if (c.rootless) return runtime('rootless cgroups tolerate permission errors');
  if (!c.unified) return { by: 'helper' };
  // clone3 checks write access to the v2 cgroup.procs with the helper's credentials, which
  // in a user namespace are those of the mapped root, not the runtime's.
  if (c.userns) return runtime('clone3 into the v2 cgroup from a user namespace');
  if (!kernelAtLeast(kernelVersion(c.kernelRelease), CLONE_INTO_CGROUP_KERNEL)) {
    return runtime(`kernel ${c.kernelRelease} has no CLONE_INTO_CGROUP (5.7)`);
  }
  return { by: 'helper' };
}
