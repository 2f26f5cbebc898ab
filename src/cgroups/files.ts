// cgroupfs file operations both drivers use (systemd's as well: runc's systemd manager also
// writes limits through cgroupfs): writes that name the field, file and errno, the v1
// write orders, cpuset initialisation, and removal of cgroup directories.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoMessage } from '../errors';
import { CgroupError } from './driver';
import { readOptional } from './freezer';
import type { CgroupPlacement } from './paths';
import type { CgroupWrite } from './resources';

export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export const errCode = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code;

/** Write one value to a cgroup file, reporting which field, file and errno failed. A missing
 *  file is ENOENT (kernfs refuses O_CREAT with EACCES, so the file is opened without it). */
export function writeValue(file: string, value: string, field: string): void {
  try {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
    try {
      fs.writeSync(fd, value);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new CgroupError(`${field}: write ${JSON.stringify(value)} to ${file}: ${errnoMessage(err)}`, { cause: err });
  }
}

/** The directories of `p` from below its mountpoint down to its cgroup that do not exist
 *  yet, parents first. */
export function missingDirs(p: CgroupPlacement): string[] {
  const missing: string[] = [];
  for (let dir = p.dir; dir !== p.mountpoint && !fs.existsSync(dir); dir = path.dirname(dir)) missing.unshift(dir);
  return missing;
}

/**
 * A new v1 cpuset cgroup starts with no CPUs or memory nodes, and no task can join one that
 * has none. Fill every level from the mountpoint down to `dir` that is empty from the level
 * above, as runc does: a parent made by someone else (a pod cgroup made with a bare mkdir)
 * may be empty too.
 */
export function fillCpusetDown(mountpoint: string, dir: string): void {
  const levels: string[] = [];
  for (let d = dir; d !== mountpoint && d.startsWith(mountpoint + '/'); d = path.dirname(d)) levels.unshift(d);
  for (const level of levels) {
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const own = path.join(level, file);
      if ((readOptional(own) ?? '').trim() !== '') continue;
      const parent = (readOptional(path.join(path.dirname(level), file)) ?? '').trim();
      if (parent) writeValue(own, parent, `initialise ${file}`);
    }
  }
}

export function writeOne(dir: string, w: CgroupWrite): void {
  const file = path.join(dir, w.file);
  try {
    writeValue(file, w.value, w.field);
    return;
  } catch (err) {
    if (errCode((err as Error).cause) !== 'ENOENT') throw err;
  }
  if (w.ifExists) return;
  if (w.orElse && fs.existsSync(path.join(dir, w.orElse.file))) {
    writeValue(path.join(dir, w.orElse.file), w.orElse.value, w.field);
    return;
  }
  throw new CgroupError(`${w.field}: ${file} does not exist (the kernel does not support it)`);
}

/**
 * v1 pairs the kernel checks against each other, so that raising (or lowering) both needs one
 * order or the other: memory.limit_in_bytes <= memory.memsw.limit_in_bytes, and the rt runtime
 * must fit in its period. The other writes go first, in order; then the pair, in the given
 * order and, when that fails, the other way round (as runc does).
 */
const INTERDEPENDENT: Record<string, [string, string]> = {
  memory: ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes'],
  cpu: ['cpu.rt_period_us', 'cpu.rt_runtime_us'],
};

export function writeV1(dir: string, controller: string, writes: CgroupWrite[]): void {
  const pair = INTERDEPENDENT[controller] ?? [];
  const first = writes.find((w) => w.file === pair[0]);
  const second = writes.find((w) => w.file === pair[1]);
  for (const w of writes) if (w !== first && w !== second) writeOne(dir, w);
  if (first && second) {
    try {
      writeOne(dir, first);
      writeOne(dir, second);
    } catch {
      writeOne(dir, second);
      writeOne(dir, first);
    }
  } else {
    for (const w of [first, second]) if (w) writeOne(dir, w);
  }
}

/**
 * Remove `created` (directories create made), deepest first, and any cgroups the container
 * made inside its own cgroups (`leaves`). A parent create made that is still in use (another
 * container's cgroup under a shared cgroupsPath parent, as a CRI pod's) stays, as runc leaves
 * every parent. Returns the errors; the rest is still removed.
 */
export function removeCgroupDirs(created: readonly string[], leaves: ReadonlySet<string>): string[] {
  const errors: string[] = [];
  const ordered = [...created].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const dir of ordered) {
    try {
      // Listed for sub-cgroups (the container may make some in its own) only when it has
      // any, or processes, that rmdir reports (EBUSY): most often it is empty, and a readdir
      // per hierarchy was half of delete's cgroup work.
      if (rmdirIfEmpty(dir) || !leaves.has(dir)) continue;
      removeChildren(dir);
      rmdirRetrying(dir);
    } catch (err) {
      errors.push(err instanceof CgroupError ? err.message : `remove cgroup ${dir}: ${errnoMessage(err)}`);
    }
  }
  return errors;
}

function removeChildren(dir: string): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (errCode(err) === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const child = path.join(dir, e.name);
    removeChildren(child);
    rmdirRetrying(child);
  }
}

/** rmdir; false when the cgroup still has sub-cgroups or processes (EBUSY). */
function rmdirIfEmpty(dir: string): boolean {
  try {
    fs.rmdirSync(dir);
    return true;
  } catch (err) {
    if (errCode(err) === 'ENOENT') return true;
    if (errCode(err) === 'EBUSY') return false;
    throw new CgroupError(`remove cgroup ${dir}: ${errnoMessage(err)}`);
  }
}

/** A cgroup that still has (dying) processes is retried briefly. */
function rmdirRetrying(dir: string): void {
  const deadline = Date.now() + 3000;
  for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      if (errCode(err) === 'ENOENT') return;
      if (errCode(err) !== 'EBUSY' || Date.now() > deadline) throw new CgroupError(`remove cgroup ${dir}: ${errnoMessage(err)}`);
    }
    sleepMs(delay);
  }
}
