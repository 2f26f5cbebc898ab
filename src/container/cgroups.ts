// A recorded container's cgroups, as the engine commands use them: paused status, signalling
// every member, and removal on delete.
import { CgroupError, type CgroupDriver } from '../cgroups/driver';
import { cgroupDriverFromRecord } from '../cgroups/factory';
import { RuntimeError } from '../errors';
import { log } from '../log';
import type { PlanCgroupJoin } from '../plan/types';
import type { ContainerRecord } from '../state/store';
import { sleepMs } from './processes';

const SIGKILL = 9;

/** The container's cgroups; undefined for a record made without them, or a rootless
 *  container that could make none (callers then go by its init and pid namespace). */
export function cgroupsOf(rec: ContainerRecord): CgroupDriver | undefined {
  return rec.cgroups && rec.cgroups.placements.length > 0 ? cgroupDriverFromRecord(rec.cgroups) : undefined;
}

/** Wrap a cgroup failure as the RuntimeError commands report. */
export function asRuntimeError<T>(action: () => T): T {
  try {
    return action();
  } catch (err) {
    if (err instanceof CgroupError) throw new RuntimeError(err.message, { cause: err });
    throw err;
  }
}

/**
 * The plan's cgroupJoin for the helper about to start (src/cgroups/join.ts): how it joins
 * `cg` itself, or null when the runtime is to write its pid to cgroup.procs (beforePlan).
 * `userns`: the process enters a user namespace.
 */
export function helperCgroupJoin(cg: CgroupDriver | undefined, userns: boolean): PlanCgroupJoin | null {
  if (!cg) return null;
  const method = cg.joinMethod(userns);
  if (method.by === 'runtime') {
    log.debug(`cgroups: the runtime writes the helper's pid to cgroup.procs (${method.reason})`);
    return null;
  }
  log.debug('cgroups: the helper joins them itself (v1 tasks, clone3 into the v2 cgroup)');
  return asRuntimeError(() => cg.openHelperJoin());
}

/** Wait until the cgroup has no processes; false on timeout. */
function waitEmpty(cg: CgroupDriver, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    if (cg.pids().length === 0) return true;
    if (Date.now() > deadline) return false;
    sleepMs(delay);
  }
}

/** SIGKILL everything in the container's cgroup (thawing it: frozen v1 tasks die only then).
 *  false: it was empty, nothing to wait for. */
export function killCgroupMembers(cg: CgroupDriver): boolean {
  return asRuntimeError(() => {
    if (cg.pids().length === 0) return false;
    cg.signalAll(SIGKILL);
    if (cg.isFrozen()) cg.setFrozen(false);
    return true;
  });
}

/**
 * Remove the cgroups create made. Anything still inside (processes the init left behind
 * when it shared our PID namespace) is killed first, as runc does.
 */
export function removeContainerCgroups(rec: ContainerRecord): void {
  const cg = cgroupsOf(rec);
  if (!cg) return;
  // An empty cgroup (the usual case: the init took its pid namespace with it) is not
  // listed a second time.
  if (killCgroupMembers(cg) && !waitEmpty(cg, 10_000)) throw new RuntimeError(`container ${rec.id}: processes ${cg.pids().join(' ')} are still in its cgroup after SIGKILL`);
  asRuntimeError(() => cg.destroy());
}
