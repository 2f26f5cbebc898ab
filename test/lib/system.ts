// Views of host state (mounts, processes, cgroup directories) and the cleanups the private
// servers (containerd, CRI, dockerd) share.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanPath, isAtOrUnder } from '../../src/plan/paths';

export interface MountEntry {
  /** Mount ID (field 1 of mountinfo): unique while mounted. */
  id: string;
  mountPoint: string;
  /** The mounted directory within its filesystem (differs from / for bind mounts). */
  root: string;
  fsType: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** True if `p` is `dir` (with or without a trailing slash) or inside it. */
export function isWithin(p: string, dir: string): boolean {
  return isAtOrUnder(p, cleanPath(dir));
}

/** The mounts of this process's mount namespace, from /proc/self/mountinfo. */
export function readMounts(): MountEntry[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      const separator = fields.indexOf('-');
      return {
        id: fields[0],
        root: unescapeMountField(fields[3]),
        mountPoint: unescapeMountField(fields[4]),
        fsType: fields[separator + 1],
        source: unescapeMountField(fields[separator + 2] ?? ''),
      };
    });
}

export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot (field 22 of stat): pid plus this names one process. */
  startTime: string;
  state: string;
  cmdline: string;
  /** Targets of /proc/PID/root and /proc/PID/cwd ('' when unreadable). */
  root: string;
  cwd: string;
  cgroup: string;
}

function readOr(file: string, fallback: string, read: (f: string) => string): string {
  try {
    return read(file);
  } catch {
    return fallback; // the process exited while we looked
  }
}

/** Every process visible in /proc (kernel threads excluded). */
export function listProcesses(): ProcessEntry[] {
  const processes: ProcessEntry[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const dir = `/proc/${name}`;
    const stat = readOr(`${dir}/stat`, '', (f) => fs.readFileSync(f, 'utf8'));
    // The command name in parentheses may hold spaces: split after its closing paren.
    const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (afterComm.length < 20) continue;
    const ppid = Number(afterComm[1]);
    if (ppid === 2 || name === '2') continue;
    processes.push({
      pid: Number(name),
      ppid,
      state: afterComm[0],
      startTime: afterComm[19],
      cmdline: readOr(`${dir}/cmdline`, '', (f) => fs.readFileSync(f, 'utf8').replace(/\0/g, ' ').trim()),
      root: readOr(`${dir}/root`, '', fs.readlinkSync),
      cwd: readOr(`${dir}/cwd`, '', fs.readlinkSync),
      cgroup: readOr(`${dir}/cgroup`, '', (f) => fs.readFileSync(f, 'utf8')),
    });
  }
  return processes;
}

/** Every directory under /sys/fs/cgroup (all v1 hierarchies and the unified one). */
export function listCgroupDirs(base = '/sys/fs/cgroup'): string[] {
  const dirs: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // removed while we walked
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const child = path.join(dir, entry.name);
      dirs.push(child);
      walk(child);
    }
  };
  walk(base);
  return dirs;
}

/** The names in a directory, or none if it does not exist. */
export function listNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The subdirectories of a directory (by name), or none if it does not exist. */
export function listSubdirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

/**
 * Removes a cgroup parent of the test's own making (an absolute cgroup path such as
 * `/runts-cri-containerd-123`) from every hierarchy, deepest first. Each cgroup still
 * under it is reported (a client left it behind), unless `expected` says the client always
 * leaves it, and removed too.
 */
export function removeCgroupParent(parent: string, expected: (name: string) => boolean = () => false, base = '/sys/fs/cgroup'): string[] {
  const problems: string[] = [];
  for (const hierarchy of listSubdirs(base)) {
    const top = path.join(base, hierarchy, parent);
    if (!fs.existsSync(top)) continue;
    const left = listCgroupDirs(top).sort((a, b) => b.length - a.length);
    for (const dir of [...left, top]) {
      if (dir !== top && !expected(path.basename(dir))) problems.push(`cgroup left: ${dir}`);
      try {
        fs.rmdirSync(dir);
      } catch (err) {
        problems.push(`rmdir ${dir}: ${(err as Error).message}`);
      }
    }
  }
  return problems;
}

/**
 * Removes a private server's base dir: what is still mounted under it is unmounted first
 * (lazily, deepest first) and returned; the dir stays, with a problem saying so, if a mount
 * would not go.
 */
export function removeServerBase(base: string): { unmounted: string[]; problems: string[] } {
  const unmounted = readMounts()
    .map((m) => m.mountPoint)
    .filter((m) => isWithin(m, base))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of unmounted) spawnSync('umount', ['--lazy', mountPoint], { stdio: 'ignore' });
  if (readMounts().some((m) => isWithin(m.mountPoint, base))) return { unmounted, problems: [`not removing ${base}: still mounted inside it`] };
  fs.rmSync(base, { recursive: true, force: true });
  return { unmounted, problems: [] };
}

/** Removes `dir` if it exists and is empty; a problem naming what is left otherwise. */
export function removeEmptyDir(dir: string, what: string): string[] {
  try {
    fs.rmdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    return [`${what} ${dir}: ${code === 'ENOTEMPTY' ? `left: ${fs.readdirSync(dir).join(', ')}` : (err as Error).message}`];
  }
  return [];
}
