// Acting on a container's processes without ever hitting a recycled PID (security rule
// 12): every signal goes through a pidfd opened first and verified second.
import { closeSync, readdirSync, readlinkSync } from 'node:fs';
import { native } from '../native';
import { isAlive, readStartTime } from '../state/process';

export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Signal `pid` only if it is still the process `verify` recognises. false: it is gone. */
function signalVerified(pid: number, signal: number, verify: () => boolean): boolean {
  let pidfd: number;
  try {
    pidfd = native().pidfdOpen(pid);
  } catch {
    return false;
  }
  try {
    if (!verify()) return false;
    native().pidfdSendSignal(pidfd, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  } finally {
    closeSync(pidfd);
  }
}

/** Signal the container init; false when it no longer exists. */
export function signalInit(pid: number, startTime: string, signal: number): boolean {
  return signalVerified(pid, signal, () => isAlive(pid, startTime));
}

function pidNamespace(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/**
 * Every process of the container: the members of the init's PID namespace when it has one
 * of its own; otherwise just the init (cgroup membership will widen this).
 */
export function containerPids(initPid: number, startTime: string): number[] {
  if (!isAlive(initPid, startTime)) return [];
  const ns = pidNamespace(initPid);
  if (!ns || ns === pidNamespace(process.pid)) return [initPid];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pidNamespace(pid) === ns) pids.push(pid);
  }
  return pids;
}

/** Signal every process of the container (kill --all). */
export function signalAll(initPid: number, startTime: string, signal: number): void {
  const ns = pidNamespace(initPid);
  for (const pid of containerPids(initPid, startTime)) {
    const start = readStartTime(pid);
    signalVerified(pid, signal, () => readStartTime(pid) === start && pidNamespace(pid) === ns);
  }
}

/** A pidfd for `pid`, or null when there is no such process. */
export function openPidfd(pid: number): number | null {
  try {
    return native().pidfdOpen(pid);
  } catch {
    return null;
  }
}

/** Wait until the init is gone (or a zombie); false on timeout. Its pidfd turns readable
 *  when it exits, so this wakes then, not at the next tick of a sleep loop. */
export function waitForExit(pid: number, startTime: string, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  const pidfd = openPidfd(pid);
  try {
    for (;;) {
      // Checked after the pidfd is open: it is then known to be this process's.
      if (!isAlive(pid, startTime)) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      if (pidfd === null) sleepMs(Math.min(left, 10));
      else native().pollIn([pidfd], left);
    }
  } finally {
    if (pidfd !== null) closeSync(pidfd);
  }
}
