// The host's cgroup hierarchies as this process sees them: v1 controllers, the v2 unified
// hierarchy (pure v2 or hybrid), and this process's place in each.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface Hierarchy {
  /** 'cgroup2' for the unified hierarchy, 'cgroup' for a v1 one. */
  fstype: 'cgroup' | 'cgroup2';
  /** Where the host mounted it, e.g. /sys/fs/cgroup/cpu,cpuacct or /sys/fs/cgroup/unified. */
  mountpoint: string;
  /** The cgroup path the mount shows as its root (not "/" inside a cgroup namespace). */
  mountRoot: string;
  /** v1: controllers and name= options (e.g. ["cpu","cpuacct"], ["name=systemd"]); v2: []. */
  subsystems: string[];
  /** This process's cgroup in that hierarchy (from /proc/self/cgroup). */
  cgroup: string;
}

/** Unescape the octal escapes (\040 for space …) mountinfo uses in paths. */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parse /proc/self/mountinfo and /proc/self/cgroup text into hierarchies. */
export function parseHierarchies(mountinfo: string, procCgroup: string): Hierarchy[] {
  const v1Paths = new Map<string, string>();
  let v2Path: string | undefined;
  for (const line of procCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') v2Path = m[3];
    else v1Paths.set(m[2], m[3]);
  }
  const out: Hierarchy[] = [];
  const seen = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const fstype = post[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const mountpoint = unescapeMountPath(pre[4]);
    const mountRoot = unescapeMountPath(pre[3]);
    if (fstype === 'cgroup2') {
      if (v2Path === undefined || seen.has('cgroup2')) continue;
      seen.add('cgroup2');
      out.push({ fstype, mountpoint, mountRoot, subsystems: [], cgroup: v2Path });
      continue;
    }
    const superOptions = (post[2] ?? '').split(',');
    const subsystems = superOptions.filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent=') && o !== 'clone_children' && o !== 'noprefix' && o !== 'xattr' && o !== 'cpuset_v2_mode' && o !== 'favordynmods');
    const key = subsystems.join(',');
    if (seen.has(key)) continue;
    const cgroup = v1Paths.get(key);
    if (cgroup === undefined) continue;
    seen.add(key);
    out.push({ fstype, mountpoint, mountRoot, subsystems, cgroup });
  }
  return out;
}

export function hostHierarchies(): Hierarchy[] {
  return parseHierarchies(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'));
}

/** Host path of `cgroup` inside hierarchy `h`, honouring the mount's own root. */
export function hostCgroupDir(h: Hierarchy, cgroup: string): string {
  const rel = path.posix.relative(h.mountRoot, cgroup);
  return rel.startsWith('..') ? h.mountpoint : path.posix.join(h.mountpoint, rel);
}
