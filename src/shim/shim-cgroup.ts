// RuncOptions.shim_cgroup: the cgroup a shim runs in, which runc's shim moves itself into when
// it starts. The resident serves the whole namespace, so it joins the first one a task names
// and stays there (runc's shim of a pod does the same with its first container's options).
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { writeValue } from '../cgroups/files';
import { hostHierarchies, type Hierarchy } from '../cgroups/hierarchy';

/** Moves `pid` into `cgroup` (a path from each hierarchy's root) in every hierarchy that has
 *  it, as runc's shim does for v1 (each controller's copy) and v2. */
export function joinShimCgroup(cgroup: string, pid: number, hierarchies: Hierarchy[] = hostHierarchies()): void {
  const dirs = hierarchies.map((h) => path.posix.join(h.mountpoint, cgroup)).filter((dir) => existsSync(dir));
  if (dirs.length === 0) throw new Error(`shim_cgroup ${JSON.stringify(cgroup)}: no such cgroup in any hierarchy`);
  for (const dir of dirs) writeValue(path.join(dir, 'cgroup.procs'), String(pid), 'shim_cgroup');
}
