// Whether a recorded process is still the one we started. A PID alone is not enough: after
// the container's init dies, the kernel may hand its PID to an unrelated process (security
// rule 12), so we also compare the start time, field 22 of /proc/PID/stat.
import * as fs from 'node:fs';

export interface ProcStat {
  /** One-letter state (R, S, D, Z, T, t, X, ...). */
  state: string;
  /** Start time in clock ticks after boot, as the decimal text the kernel prints. */
  startTime: string;
}

/** Parse /proc/PID/stat. The command name (field 2) is in parentheses and may itself hold
 *  spaces and parentheses, so fields are counted after the LAST ')'. */
export function parseProcStat(text: string): ProcStat | null {
  const end = text.lastIndexOf(')');
  if (end < 0) return null;
  // After ") " come field 3 (state), 4 (ppid), ... so field N is at index N - 3.
  const fields = text.slice(end + 1).trim().split(/\s+/);
  const state = fields[0];
  const startTime = fields[22 - 3];
  if (!state || !startTime || !/^\d+$/.test(startTime)) return null;
  return { state, startTime };
}

export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    // utf8, though the command name may hold any bytes: a byte that is not UTF-8 becomes
    // U+FFFD, never ')', and only the fields after the last ')' are read. node reads utf8 in
    // C++; other encodings take a JS path whose first call costs ~1 ms.
    return parseProcStat(fs.readFileSync(`${procRoot}/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** Field 22 of /proc/PID/stat, or null when the process does not exist. */
export function readStartTime(pid: number, procRoot = '/proc'): string | null {
  return readProcStat(pid, procRoot)?.startTime ?? null;
}

/** True when PID exists, is not a zombie, and started at `startTime`. */
export function isAlive(pid: number, startTime: string, procRoot = '/proc'): boolean {
  const stat = readProcStat(pid, procRoot);
  if (!stat) return false;
  if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return false;
  return stat.startTime === startTime;
}
