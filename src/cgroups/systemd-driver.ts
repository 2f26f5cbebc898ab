// The systemd driver (--systemd-cgroup): the container's cgroup is a transient scope that
// systemd makes when it starts the unit with the init in it (systemd.ts speaks to it), with
// the limits systemd knows as unit properties. Everything else is the cgroupfs driver's, as
// runc's systemd manager writes limits through cgroupfs too: the files are written after the
// properties so both agree, and hierarchies systemd does not manage (v1 ones without its
// controllers) are made by runts.
import type { LinuxResources } from '../spec/types';
import { CgroupfsDriver } from './cgroupfs';
import { CgroupError, type CgroupRecord } from './driver';
import type { JoinMethod } from './join';
import type { CgroupPlacement } from './paths';
import type { ControllerWrites } from './resources';
import type { FailurePolicy } from './rootless';
import { resourceProperties, scopeProperties, withSystemd, type SystemdManager } from './systemd';

export type SystemdUnitRecord = NonNullable<CgroupRecord['systemd']>;

/** Runs an action with a connection to systemd (tests pass one to a fake). */
export type SystemdSession = <T>(action: (systemd: SystemdManager) => T) => T;

export class SystemdDriver extends CgroupfsDriver {
  constructor(
    placements: CgroupPlacement[],
    created: string[],
    policy: FailurePolicy,
    private readonly unit: SystemdUnitRecord,
    private readonly session: SystemdSession = withSystemd,
  ) {
    super(placements, created, policy);
  }

  override record(): CgroupRecord {
    return { ...super.record(), systemd: this.unit };
  }

  /** A systemd failure (or a D-Bus one under it) as the CgroupError the engine reports. */
  private viaSystemd<T>(action: (systemd: SystemdManager) => T): T {
    try {
      return this.session(action);
    } catch (err) {
      throw new CgroupError((err as Error).message);
    }
  }

  /** Nothing yet: systemd makes the scope's cgroup when joinInit starts the unit. */
  override create(): void {}

  override joinMethod(): JoinMethod {
    return { by: 'runtime', reason: 'systemd starts the scope with the pid in it' };
  }

  override joinInit(pid: number, resources: LinuxResources): void {
    const { unit, slice, description } = this.unit;
    this.viaSystemd((systemd) => systemd.startTransientUnit(unit, [...scopeProperties(slice, description, pid), ...resourceProperties(resources)]));
    super.create();
    this.join(pid);
  }

  /** The same values become unit properties: bad ones are refused before anything is made. */
  protected override planWrites(resources: LinuxResources): ControllerWrites[] {
    const writes = super.planWrites(resources);
    try {
      resourceProperties(resources);
    } catch (err) {
      throw new CgroupError((err as Error).message);
    }
    return writes;
  }

  /** The unit's properties are kept in step with the files. */
  override update(resources: LinuxResources): void {
    const writes = this.planWrites(resources);
    this.viaSystemd((systemd) => systemd.setUnitProperties(this.unit.unit, resourceProperties(resources)));
    this.writeLimits(writes);
  }

  /** systemd removes the scope's cgroups (and the ones the container made below it); the
   *  directories runts made go as the cgroupfs driver's do. */
  override destroy(): void {
    const errors: string[] = [];
    try {
      this.viaSystemd((systemd) => systemd.stopUnit(this.unit.unit));
    } catch (err) {
      errors.push((err as Error).message);
    }
    this.removeDirs(errors);
  }
}
