// How every command on one existing container begins: open its state directory, take its
// lock (unless it only reads), read its record and derive its status.
import { pausedProbe } from '../cgroups/freezer';
import { containerStatus, type ContainerStatus } from './status';
import { StateStore, type ContainerHandle, type ContainerRecord } from './store';

export interface OpenedContainer {
  /** Held (with the lock, when taken) until the caller closes it. */
  handle: ContainerHandle;
  rec: ContainerRecord;
  status: ContainerStatus;
}

export interface OpenOptions {
  /** Take the container's lock before reading: every command that acts on the container.
   *  `state` and `list` read without it (and so can see a create in progress). */
  lock: boolean;
}

/** Open container `id` under `root`; the caller closes the handle, which is closed already
 *  when this throws (NotExistError when there is no such container). */
export function openContainer(root: string, id: string, opts: OpenOptions): OpenedContainer {
  const handle = new StateStore(root).open(id);
  try {
    if (opts.lock) handle.lock();
    const rec = handle.read();
    return { handle, rec, status: containerStatus(handle, rec, pausedProbe(rec)) };
  } catch (err) {
    handle.close();
    throw err;
  }
}
