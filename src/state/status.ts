// A container's status is derived, never stored: from whether its init is still the process
// we started, whether exec.fifo is still there (start removes it) and the init still waits
// on it, the cgroup freezer, and whether the create that made the record has finished.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive } from './process';
import type { ContainerHandle, ContainerRecord } from './store';

export type ContainerStatus = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

/** The fifo the init blocks on until `start` (kept in the container's state directory). */
export const EXEC_FIFO = 'exec.fifo';

export function execFifoPath(handle: ContainerHandle): string {
  return path.join(handle.dir, EXEC_FIFO);
}

/**
 * Whether process `pid` holds an open file descriptor on the file `file` (compared by device
 * and inode). The waiting init holds exec.fifo until it execs the user's process (an O_PATH
 * descriptor, then the write end); nothing in the container can open it. Unreadable fds
 * count as held, so the answer errs towards "still waiting".
 */
export function holdsFile(pid: number, file: string, procRoot = '/proc'): boolean {
  let target: fs.BigIntStats;
  let fds: string[];
  try {
    target = fs.statSync(file, { bigint: true });
    fds = fs.readdirSync(`${procRoot}/${pid}/fd`);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  return fds.some((fd) => {
    try {
      const st = fs.statSync(`${procRoot}/${pid}/fd/${fd}`, { bigint: true });
      return st.ino === target.ino && st.dev === target.dev;
    } catch {
      return false; // closed meanwhile
    }
  });
}

export function containerStatus(
  handle: ContainerHandle,
  rec: ContainerRecord,
  isPaused?: () => boolean,
): ContainerStatus {
  // A create in progress holds the container's lock, so only lock-free readers (state, list)
  // see it; once its process is gone, the unfinished container is stopped for good: it
  // cannot be started, and delete removes whatever it left.
  if (rec.creator) return isAlive(rec.creator.pid, rec.creator.startTime) ? 'creating' : 'stopped';
  if (!isAlive(rec.initPid, rec.initStartTime)) return 'stopped';
  if (isPaused?.()) return 'paused';
  // A `start` killed after releasing the init but before removing the fifo leaves the fifo
  // behind: the init no longer holding it means the user's process runs.
  return holdsFile(rec.initPid, execFifoPath(handle)) ? 'created' : 'running';
}

/** The state object of the OCI runtime spec, in runc's field order. */
export interface StateObject {
  ociVersion: string;
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

export function stateObject(rec: ContainerRecord, status: ContainerStatus, owner = rec.owner): StateObject {
  const state: StateObject = {
    ociVersion: rec.ociVersion,
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.initPid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner,
  };
  // Like runc, leave the field out rather than print an empty object.
  if (rec.annotations && Object.keys(rec.annotations).length > 0) state.annotations = rec.annotations;
  return state;
}

/** What `runts state` prints: the state object, indented by two spaces, no trailing newline. */
export function stateJson(rec: ContainerRecord, status: ContainerStatus): string {
  return JSON.stringify(stateObject(rec, status), null, 2);
}
