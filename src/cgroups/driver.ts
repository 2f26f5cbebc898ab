// What the engine asks of a container's cgroups, whatever driver keeps them: cgroupfs
// (cgroupfs.ts: v1, hybrid and v2 directories runts makes itself) or systemd
// (systemd-driver.ts: a transient scope). factory.ts picks one; rootless.ts is the mode in
// which either tolerates hierarchies the caller may not write. Callers use only this.
import { EngineError } from '../errors';
import type { PlanCgroupJoin } from '../plan/types';
import type { LinuxDevice, LinuxResources } from '../spec/types';
import type { JoinMethod } from './join';
import type { ControllerWrites } from './resources';
import type { CgroupPlacement } from './paths';

export class CgroupError extends EngineError {
  override name = 'CgroupError';
}

/** What the state record keeps, so later commands act on the same directories. */
export interface CgroupRecord {
  placements: CgroupPlacement[];
  /** Directories create made (parents before children): delete removes exactly these. */
  created: string[];
  /** Rootless cgroups (runc's --rootless): joining a cgroup without permission is tolerated. */
  rootless?: boolean;
  /** --systemd-cgroup: the transient scope unit systemd made for the container, stopped on delete. */
  systemd?: { unit: string; slice: string; description: string };
}

/** What create would do where the caller may not write (CgroupDriver.predictPermissions). */
export interface PermissionOutcome {
  /** What create fails on, as it would say it. */
  errors: string[];
  /** Rootless: hierarchies create skips (the container stays in the caller's cgroup there). */
  skipped: { mountpoint: string; error: string }[];
  /** Rootless: linux.resources.devices is not applied (the host's device permissions stay). */
  deviceRulesDropped: boolean;
}

export interface CgroupDriver {
  /** The hierarchies the container has a cgroup of its own in. */
  readonly placements: readonly CgroupPlacement[];
  record(): CgroupRecord;
  /** The record with every directory create() may make: written before they are made, so a
   *  create killed half-way leaves nothing delete cannot find. */
  intendedRecord(): CgroupRecord;

  // ---- create, in this order ----
  /** Refuse limits the host (or the driver) cannot enforce; makes nothing. Returns the files
   *  create would write, per controller (what `runts explain` shows). */
  checkResources(resources: LinuxResources): ControllerWrites[];
  /** What create() and applyOnCreate would fail on or skip where `canWrite(path)` says the
   *  caller may not write (`runts validate --host`, rootless); makes nothing. */
  predictPermissions(resources: LinuxResources, canWrite: (path: string) => boolean): PermissionOutcome;
  /** Make the container's cgroups (systemd: deferred to joinInit, which starts the unit). */
  create(): void;
  /** Rootless: the hierarchies skipped for lack of permission, with the errors. */
  skippedHierarchies(): { mountpoint: string; error: string }[];
  /** The controllers the container's limits can use: v1 ones of its hierarchies, v2 ones of
   *  the unified hierarchy's root (what checkResources checks limits against). */
  availableControllers(): { v1: string[]; v2: string[] };
  /** Who puts the next process in the cgroups (join.ts); `userns`: it enters a user namespace. */
  joinMethod(userns: boolean): JoinMethod;
  /** What the helper needs to join the cgroups itself (an fd the caller closes). */
  openHelperJoin(): PlanCgroupJoin;
  /** Put the container's init in its cgroups (systemd: start its scope with these limits). */
  joinInit(pid: number, resources: LinuxResources): void;
  /** A new container's limits and device rules (`devices`: linux.devices, allowed too). */
  applyOnCreate(resources: LinuxResources, devices: LinuxDevice[] | undefined): void;

  // ---- a created container ----
  /** Put an exec'd process in the container's cgroups. */
  join(pid: number): void;
  /** `update`: new limits; device rules stay as create wrote them. */
  update(resources: LinuxResources): void;
  canFreeze(): boolean;
  isFrozen(): boolean;
  /** Freeze (true) or thaw (false), waiting until the kernel reports it done. */
  setFrozen(frozen: boolean): void;
  /** Host PIDs of every process in the container's cgroup and the cgroups below it. */
  pids(): number[];
  /** Signal every process of the cgroup, none escaping by forking (security rule 13). */
  signalAll(signal: number): void;
  /** The current memory usage in bytes (for memory.checkBeforeUpdate). */
  memoryUsage(): number | undefined;
  /** The OOM-kill counter. */
  oomKillCount(): number | undefined;
  /** Where a controller's files are for this container (stats.ts). */
  controllerDir(v1Name: string, v2Name: string): { version: 1 | 2; dir: string } | undefined;
  /** Remove what create made (systemd: stop the scope too). */
  destroy(): void;
}
