// Where a container's cgroups go, as runc places them (pure: no file system access).
// linux.cgroupsPath absolute → that path from each hierarchy's root; relative → under the
// runtime's own cgroup (on a pure v2 host: under its parent, which can hold controllers);
// absent → the container ID, relative. --systemd-cgroup takes "slice:prefix:name".
import { EngineError } from '../errors';
import * as path from 'node:path';
import type { Hierarchy } from './hierarchy';

export class CgroupPathError extends EngineError {
  override name = 'CgroupPathError';
}

/** One hierarchy the container joins and the host directory of its cgroup there. */
export interface CgroupPlacement {
  fstype: 'cgroup' | 'cgroup2';
  /** v1 controllers and name= options of the hierarchy; [] for the unified one. */
  subsystems: string[];
  mountpoint: string;
  /** The cgroup path as the hierarchy names it ("/a/b"). */
  cgroup: string;
  /** Host directory of that cgroup (mountpoint joined with the cgroup below the mount root). */
  dir: string;
}

/** A relative path with every ".." resolved inside it: it can never climb above its base. */
function cleanRelative(p: string): string {
  return path.posix.normalize(`/${p}`).replace(/^\/+/, '').replace(/\/+$/, '');
}

/** The host directory of `cgroup` in `h`; an error when the mount does not show it. */
function dirOf(h: Hierarchy, cgroup: string): string {
  const rel = path.posix.relative(h.mountRoot, cgroup);
  if (rel.startsWith('..') || path.posix.isAbsolute(rel)) {
    throw new CgroupPathError(`cgroup ${cgroup} is outside what ${h.mountpoint} shows (mount root ${h.mountRoot})`);
  }
  return rel === '' ? h.mountpoint : path.posix.join(h.mountpoint, rel);
}

/** True when the host has only the unified hierarchy. */
export function isPureV2(hierarchies: Hierarchy[]): boolean {
  return hierarchies.length > 0 && hierarchies.every((h) => h.fstype === 'cgroup2');
}

/**
 * The cgroup path (not yet a host directory) of the container in hierarchy `h`.
 * `cgroupsPath` is linux.cgroupsPath ('' or undefined when absent).
 */
export function containerCgroup(h: Hierarchy, pureV2: boolean, id: string, cgroupsPath: string | undefined): string {
  if (cgroupsPath && path.posix.isAbsolute(cgroupsPath)) {
    // Absolute: from the root the mount shows, like runc (mountpoint + path).
    return path.posix.join(h.mountRoot, path.posix.normalize(cgroupsPath)).replace(/(.)\/+$/, '$1');
  }
  const inner = cleanRelative(cgroupsPath || id);
  if (inner === '') throw new CgroupPathError(`linux.cgroupsPath ${JSON.stringify(cgroupsPath)} names no cgroup below the runtime's own`);
  // A pure v2 host forbids controllers in a cgroup with processes: go beside our own cgroup.
  const base = pureV2 ? path.posix.dirname(h.cgroup) : h.cgroup;
  return path.posix.join(base, inner);
}

/** Every hierarchy the container joins (all v1 ones incl. name=, and the unified one). */
export function placeContainer(hierarchies: Hierarchy[], id: string, cgroupsPath: string | undefined): CgroupPlacement[] {
  const pureV2 = isPureV2(hierarchies);
  return hierarchies.map((h) => {
    const cgroup = containerCgroup(h, pureV2, id, cgroupsPath);
    const dir = dirOf(h, cgroup);
    if (dir === h.mountpoint) throw new CgroupPathError(`linux.cgroupsPath ${JSON.stringify(cgroupsPath)}: the container cannot use the root cgroup of ${h.mountpoint}`);
    return { fstype: h.fstype, subsystems: h.subsystems, mountpoint: h.mountpoint, cgroup, dir };
  });
}

export interface SystemdUnit {
  /** The unit's name: prefix-name.scope. */
  unit: string;
  slice: string;
  prefix: string;
  name: string;
  /** The cgroup path systemd gives the scope: /a.slice/a-b.slice/prefix-name.scope. */
  cgroup: string;
}

/** Expand a slice name into its cgroup path ("a-b.slice" → "/a.slice/a-b.slice"). */
export function expandSlice(slice: string): string {
  if (!slice.endsWith('.slice') || slice.includes('/')) throw new CgroupPathError(`invalid slice name ${JSON.stringify(slice)}`);
  const stem = slice.slice(0, -'.slice'.length);
  if (stem === '-.' || stem === '-' || stem === '') return '/';
  if (stem.startsWith('-') || stem.endsWith('-') || stem.includes('--')) throw new CgroupPathError(`invalid slice name ${JSON.stringify(slice)}`);
  const parts = stem.split('-');
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('-')}.slice`).join('');
}

/** Parse --systemd-cgroup's cgroupsPath "slice:prefix:name" (absent: system.slice:runts:ID). */
export function parseSystemdPath(cgroupsPath: string | undefined, id: string): SystemdUnit {
  const parts = cgroupsPath ? cgroupsPath.split(':') : ['system.slice', 'runts', id];
  if (parts.length !== 3) throw new CgroupPathError(`expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cgroupsPath)}`);
  const [slice, prefix, name] = parts;
  if (name === '') throw new CgroupPathError(`cgroupsPath ${JSON.stringify(cgroupsPath)}: empty unit name`);
  const sliceName = slice === '' ? 'system.slice' : slice;
  // runc also accepts a slice as the name (for callers that make pod slices); a container's
  // processes belong in a scope.
  if (name.endsWith('.slice')) throw new CgroupPathError(`cgroupsPath ${JSON.stringify(cgroupsPath)}: runts puts a container in a scope, not in the slice ${name}`);
  const unit = `${prefix === '' ? '' : `${prefix}-`}${name}.scope`;
  return { unit, slice: sliceName, prefix, name, cgroup: path.posix.join(expandSlice(sliceName), unit) };
}

/** The systemd unit's cgroup in every hierarchy (systemd names it the same in all). */
export function placeSystemdUnit(hierarchies: Hierarchy[], unit: SystemdUnit): CgroupPlacement[] {
  return hierarchies.map((h) => ({ fstype: h.fstype, subsystems: h.subsystems, mountpoint: h.mountpoint, cgroup: unit.cgroup, dir: dirOf(h, unit.cgroup) }));
}
