// Where a container's freezer is and whether it is frozen, from its recorded placements
// alone: `state` and `list` need only this, not a cgroup driver (a third of their bundle).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupPlacement } from './paths';

export interface Freezer {
  /** 1: the v1 freezer controller (freezer.state); 2: cgroup v2's cgroup.freeze. */
  kind: 1 | 2;
  dir: string;
}

/** The v1 freezer hierarchy's cgroup, else the v2 cgroup when it has cgroup.freeze. */
export function freezerOf(placements: readonly CgroupPlacement[]): Freezer | undefined {
  const v1 = placements.find((p) => p.fstype === 'cgroup' && p.subsystems.includes('freezer'));
  if (v1) return { kind: 1, dir: v1.dir };
  const u = placements.find((p) => p.fstype === 'cgroup2');
  if (u && existsSync(join(u.dir, 'cgroup.freeze'))) return { kind: 2, dir: u.dir };
  return undefined;
}

/** A file's text, undefined when it cannot be read (gone with its cgroup). */
export function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether the freezer says frozen; false without a freezer or when its file is gone. */
export function isFrozen(placements: readonly CgroupPlacement[]): boolean {
  const f = freezerOf(placements);
  if (!f) return false;
  if (f.kind === 1) return readOptional(join(f.dir, 'freezer.state'))?.trim() === 'FROZEN';
  return readOptional(join(f.dir, 'cgroup.freeze'))?.trim() === '1';
}

/** The isPaused callback containerStatus takes: the container's recorded freezer says frozen. */
export function pausedProbe(rec: { cgroups?: { placements: CgroupPlacement[] } }): () => boolean {
  return () => isFrozen(rec.cgroups?.placements ?? []);
}
