// The one place that picks a container's cgroup driver: from the host's hierarchies,
// --systemd-cgroup and rootless cgroups for a new container, from its record afterwards.
import { CgroupfsDriver } from './cgroupfs';
import { CgroupError, type CgroupDriver, type CgroupRecord } from './driver';
import { hostHierarchies, type Hierarchy } from './hierarchy';
import { parseSystemdPath, placeContainer, placeSystemdUnit } from './paths';
import { rootlessPolicy, STRICT } from './rootless';
import { systemdIsRunning } from './systemd';
import { SystemdDriver } from './systemd-driver';

export interface NewCgroupsRequest {
  id: string;
  /** linux.cgroupsPath */
  cgroupsPath: string | undefined;
  /** --systemd-cgroup */
  systemd: boolean;
  /** Rootless cgroups (src/rootless/mode.ts useRootlessCgroups). */
  rootless: boolean;
  hierarchies?: Hierarchy[];
  systemdRunning?: () => boolean;
}

/** The driver for a new container (nothing made yet). */
export function newCgroupDriver(req: NewCgroupsRequest): CgroupDriver {
  const { id, cgroupsPath, hierarchies = hostHierarchies(), systemdRunning = systemdIsRunning } = req;
  if (hierarchies.length === 0) throw new CgroupError('no cgroup hierarchy is mounted on this host');
  // With linux.cgroupsPath given, every permission error stays an error.
  const policy = req.rootless ? rootlessPolicy(Boolean(cgroupsPath)) : STRICT;
  if (!req.systemd) return new CgroupfsDriver(placeContainer(hierarchies, id, cgroupsPath), [], policy);
  const unit = parseSystemdPath(cgroupsPath, id);
  if (!systemdRunning()) {
    throw new CgroupError(`--systemd-cgroup: systemd is not running on this host (no /run/systemd/system), cannot create ${unit.cgroup}`);
  }
  return new SystemdDriver(placeSystemdUnit(hierarchies, unit), [], policy, { unit: unit.unit, slice: unit.slice, description: `runts container ${id}` });
}

/** The driver of a recorded container, acting on what its create recorded. */
export function cgroupDriverFromRecord(rec: CgroupRecord): CgroupDriver {
  // Later joins (exec) tolerate permission errors whatever the path, as runc's do.
  const policy = rec.rootless ? rootlessPolicy(false) : STRICT;
  if (rec.systemd) return new SystemdDriver(rec.placements, [...rec.created], policy, rec.systemd);
  return new CgroupfsDriver(rec.placements, [...rec.created], policy);
}
