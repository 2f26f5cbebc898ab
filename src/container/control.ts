// The cgroup-driven commands on an existing container: pause, resume, ps, update, events.
import { RuntimeError } from '../errors';
import { log } from '../log';
import type { CgroupDriver } from '../cgroups/driver';
import { collectStats, statsJson } from '../cgroups/stats';
import type { LinuxResources, Spec } from '../spec/types';
import { openContainer, type OpenedContainer } from '../state/open';
import type { ContainerRecord } from '../state/store';
import { asRuntimeError, cgroupsOf } from './cgroups';
import { containerPids } from './processes';

interface Opened extends OpenedContainer {
  cg: CgroupDriver;
}

/** Run `action` on the container under its lock; without cgroups, `withoutCgroups` or an error. */
function withContainer<T>(root: string, id: string, action: (c: Opened) => T, withoutCgroups?: (rec: ContainerRecord) => T): T {
  const opened = openContainer(root, id, { lock: true });
  try {
    const cg = cgroupsOf(opened.rec);
    if (!cg && withoutCgroups) return withoutCgroups(opened.rec);
    if (!cg) throw new RuntimeError(`container ${id} has no cgroups (created by an older runts, or rootless without a cgroup the caller may write)`);
    return asRuntimeError(() => action({ ...opened, cg }));
  } finally {
    opened.handle.close();
  }
}

export function pauseContainer(root: string, id: string): void {
  withContainer(root, id, ({ status, cg }) => {
    if (status !== 'running' && status !== 'created') throw new RuntimeError('container not running');
    cg.setFrozen(true);
  });
}

export function resumeContainer(root: string, id: string): void {
  withContainer(root, id, ({ status, cg }) => {
    if (status !== 'paused') throw new RuntimeError('container not paused');
    cg.setFrozen(false);
  });
}

/** Host PIDs of the container's processes (from its cgroup, else its pid namespace), ascending. */
export function containerProcesses(root: string, id: string): number[] {
  const ascending = (pids: number[]) => pids.sort((a, b) => a - b);
  return withContainer(root, id, ({ cg }) => ascending(cg.pids()), (rec) => ascending(containerPids(rec.initPid, rec.initStartTime)));
}

/** Overlay `patch` on `base`: objects merge field by field, anything else is replaced. */
export function mergeResources(base: LinuxResources, patch: LinuxResources): LinuxResources {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const old = out[key];
    const bothObjects = [old, value].every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    out[key] = bothObjects ? { ...(old as object), ...(value as object) } : value;
  }
  return out as LinuxResources;
}

/**
 * Apply the patch `readPatch` returns (read once the container is known) to a live container and record the merged resources in its state. Device
 * rules are not changed by an update (as with runc).
 */
export function updateContainer(root: string, id: string, readPatch: () => LinuxResources): void {
  withContainer(root, id, ({ handle, rec, status, cg }) => {
    if (status === 'stopped') throw new RuntimeError('container not running');
    const patch = readPatch();
    const spec = rec.config as Spec;
    const current = spec.linux?.resources ?? {};
    const { devices, ...changes } = patch;
    if (devices) log.warn('linux.resources.devices: device rules are not changed by update; ignored');
    const merged = mergeResources(current, changes);
    const limit = changes.memory?.limit;
    if (merged.memory?.checkBeforeUpdate && limit !== undefined && limit > 0) {
      const usage = cg.memoryUsage();
      if (usage !== undefined && limit < usage) {
        throw new RuntimeError(`linux.resources.memory.limit: new limit ${limit} is below the current usage ${usage} (memory.checkBeforeUpdate)`);
      }
    }
    // Swap is checked against the memory limit in force: the two are written together.
    if (changes.memory && (changes.memory.swap !== undefined || changes.memory.limit !== undefined)) {
      changes.memory = { ...changes.memory, limit: merged.memory?.limit, swap: merged.memory?.swap };
    }
    cg.update(changes);
    handle.write({ ...rec, config: { ...spec, linux: { ...spec.linux, resources: merged } } });
  });
}

/** One line of `events` output. */
function eventLine(type: 'stats' | 'oom', id: string, data?: unknown): string {
  return `${statsJson(data === undefined ? { type, id } : { type, id, data })}\n`;
}

/** The current statistics of a live container, with the cgroup version they come from (1 on
 *  a v1 or hybrid host, as containerd's cgroups.Mode() sees it). */
export function containerStats(root: string, id: string): { cgroupVersion: 1 | 2; data: Record<string, unknown> } {
  return withContainer(root, id, ({ status, cg }) => {
    if (status === 'stopped') throw new RuntimeError(`container with id ${id} is not running`);
    return { cgroupVersion: cg.placements.some((p) => p.fstype === 'cgroup') ? 1 : 2, data: collectStats(cg) };
  });
}

/** `events --stats`: the current statistics, once. */
export function statsEvent(root: string, id: string): string {
  return eventLine('stats', id, containerStats(root, id).data);
}

/**
 * `events`: a stats line every `intervalMs`, an oom line whenever the OOM-kill counter
 * rises; ends when the container stops.
 */
export async function streamEvents(root: string, id: string, intervalMs: number, write: (line: string) => void): Promise<void> {
  const probe = () =>
    withContainer(root, id, ({ status, cg }) => ({ stopped: status === 'stopped', oom: cg.oomKillCount() ?? 0, stats: () => collectStats(cg) }));
  let last = probe();
  if (last.stopped) throw new RuntimeError(`container with id ${id} is not running`);
  let nextStats = 0;
  const OOM_POLL_MS = 100;
  for (;;) {
    const now = Date.now();
    if (now >= nextStats) {
      write(eventLine('stats', id, last.stats()));
      nextStats = now + intervalMs;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(OOM_POLL_MS, Math.max(1, nextStats - Date.now()))));
    let cur;
    try {
      cur = probe();
    } catch {
      return; // deleted meanwhile
    }
    if (cur.oom > last.oom) write(eventLine('oom', id));
    if (cur.stopped) return;
    last = cur;
  }
}
