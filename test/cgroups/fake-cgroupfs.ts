// Cgroup hierarchies faked as plain directories in a temp dir, for the drivers' unit tests
// (no root, no real cgroupfs): each hierarchy is a directory standing for its mountpoint, the
// runtime's own cgroup is its root, and the files the kernel would provide are made by hand.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Test } from 'tap';
import type { Hierarchy } from '../../src/cgroups/hierarchy';
import { tempDir } from '../lib';

export interface FakeHierarchy {
  /** The mountpoint's name below the temp dir. */
  name: string;
  /** Absent: the unified (v2) hierarchy. */
  subsystems?: string[];
  /** Files at the mountpoint (v2: cgroup.controllers, cgroup.subtree_control). */
  files?: Record<string, string>;
}

export function fakeCgroupfs(t: Test, fakes: FakeHierarchy[]): Hierarchy[] {
  const root = tempDir(t, 'cgroupfs');
  return fakes.map(({ name, subsystems, files }) => {
    const mountpoint = path.join(root, name);
    writeFiles(mountpoint, files ?? {});
    const fstype = subsystems ? 'cgroup' : 'cgroup2';
    return { fstype, mountpoint, mountRoot: '/', subsystems: subsystems ?? [], cgroup: '/' };
  });
}

/** Make `dir` (and its parents) and write `files` in it. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
}

export const readIn = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
