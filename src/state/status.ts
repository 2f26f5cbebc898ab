// A container's status is derived, never stored: from whether its init is still the process
// we started, whether exec.fifo is still there (start removes it), and the cgroup freezer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive } from './process';
import type { ContainerHandle, ContainerRecord } from './store';

export type ContainerStatus = 'created' | 'running' | 'stopped' | 'paused';

/** The fifo the init blocks on until `start` (kept in the container's state directory). */
export const EXEC_FIFO = 'exec.fifo';

export function execFifoPath(handle: ContainerHandle): string {
  return path.join(handle.dir, EXEC_FIFO);
}

export function containerStatus(
  handle: ContainerHandle,
  rec: ContainerRecord,
  isPaused?: () => boolean,
): ContainerStatus {
  if (!isAlive(rec.initPid, rec.initStartTime)) return 'stopped';
  if (isPaused?.()) return 'paused';
  return fs.existsSync(execFifoPath(handle)) ? 'created' : 'running';
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
