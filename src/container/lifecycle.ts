// start, kill and delete of an existing container, each under the container's lock.
import { closeSync, constants as fsConstants, openSync, readSync, unlinkSync } from 'node:fs';
import { NotExistError, RuntimeError } from '../errors';
import { HookError, runHooks } from '../hooks/run';
import { log } from '../log';
import type { Spec } from '../spec/types';
import { StateStore, type ContainerRecord } from '../state/store';
import { openContainer, type OpenedContainer } from '../state/open';
import { isAlive } from '../state/process';
import { execFifoPath, holdsFile, stateJson } from '../state/status';
import { native } from '../native';
import { openPidfd, signalAll, signalInit, waitForExit } from './processes';
import { asRuntimeError, cgroupsOf, killCgroupMembers, removeContainerCgroups } from './cgroups';
import { crashPoint } from './crash-point';
import { removeResctrlGroup } from '../intelrdt/resctrl';

const SIGKILL = 9;

function specOf(rec: ContainerRecord): Spec {
  return rec.config as Spec;
}

/**
 * Release a created container: open the fifo for reading without blocking, read the
 * init's byte (the init is blocked opening it for writing until we open it), then read on
 * until EOF. The init keeps its write end open, close-on-exec, through the startContainer
 * hooks, so EOF means the user process has been exec'd (or the init died). Between reads we
 * poll the fifo together with the init's pidfd: a byte, the writer's close or the init's
 * death wakes us at once, and a dead init cannot leave us hanging.
 */
function releaseInit(fifo: string, rec: ContainerRecord): void {
  // Opened before the liveness checks below, which so make sure it is the init's.
  const pidfd = openPidfd(rec.initPid);
  const fd = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  const buf = Buffer.alloc(1);
  // 1: got the byte; 0: EOF (no writer); -1: a writer, nothing written yet.
  const readOnce = (): number => {
    try {
      return readSync(fd, buf, 0, 1, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return -1;
      throw err;
    }
  };
  try {
    let released = false;
    for (;;) {
      const got = readOnce();
      if (got === 1) released = true;
      else if (got === 0 && released) return;
      else if (!isAlive(rec.initPid, rec.initStartTime)) {
        // It may have written, exec'd and exited between our read and this check.
        if (released || readOnce() === 1) return;
        throw new RuntimeError('cannot start a container that has stopped');
      }
      // Released and exec'd without us: a start killed between its read and the unlink.
      else if (got === 0 && !holdsFile(rec.initPid, fifo)) return;
      if (got !== 1) native().pollIn([fd, pidfd ?? -1], -1);
    }
  } finally {
    closeSync(fd);
    if (pidfd !== null) closeSync(pidfd);
  }
}

export function startContainer(root: string, id: string): void {
  const { handle, rec, status } = openContainer(root, id, { lock: true });
  try {
    if (status === 'stopped') throw new RuntimeError('cannot start a container that has stopped');
    if (status === 'running') throw new RuntimeError('cannot start an already running container');
    if (status === 'paused') throw new RuntimeError('cannot start a paused container');
    const spec = specOf(rec);
    if (!spec.process) throw new RuntimeError(`cannot start container ${id}: config.json has no process`);
    const fifo = execFifoPath(handle);
    releaseInit(fifo, rec);
    crashPoint('start:released');
    unlinkSync(fifo);
    crashPoint('start:unlinked');
    try {
      runHooks('poststart', spec.hooks?.poststart, stateJson(rec, 'running'));
    } catch (err) {
      // runtime-spec 1.3: a failed poststart hook is an error; the container is stopped.
      signalAll(rec.initPid, rec.initStartTime, SIGKILL);
      throw new RuntimeError((err as Error).message);
    }
  } finally {
    handle.close();
  }
}

export function killContainer(root: string, id: string, signal: number, all: boolean): void {
  const { handle, rec, status } = openContainer(root, id, { lock: true });
  try {
    const cg = cgroupsOf(rec);
    if (status === 'stopped') {
      if (!all) throw new RuntimeError('container not running');
      // As runc 1.1: --all still signals what is left in the cgroup of a stopped container (a
      // container without a PID namespace outlives its init) and succeeds. CRI-O sends it after
      // every exit of such a container and takes a failure as an unknown container status.
      if (cg && cg.pids().length > 0) asRuntimeError(() => cg.signalAll(signal));
      return;
    }
    if (all && cg) {
      asRuntimeError(() => cg.signalAll(signal));
    } else if (all) {
      signalAll(rec.initPid, rec.initStartTime, signal);
    } else if (!signalInit(rec.initPid, rec.initStartTime, signal)) {
      throw new RuntimeError('container not running');
    }
  } finally {
    handle.close();
  }
}

export function deleteContainer(root: string, id: string, force: boolean): void {
  let opened: OpenedContainer;
  try {
    opened = openContainer(root, id, { lock: true });
  } catch (err) {
    if (!(err instanceof NotExistError)) throw err;
    // A dir without state.json: a create killed before its first record left it (removed, with
    // or without --force, as runc does) or one is under way (it has the lock again by now).
    if (new StateStore(root).removeAbandoned(id) === 'recorded') return deleteContainer(root, id, force);
    if (force) return;
    throw err;
  }
  const { handle, rec, status } = opened;
  try {
    // A create killed mid-way (its record still names its creator) is stopped, but may have
    // left an init and cgroups behind: they go as a live container's do.
    const unfinished = rec.creator !== undefined;
    if (status !== 'stopped' || unfinished) {
      // Like runc, a created (never started) container is deleted without --force: the
      // containerd shim deletes a task that was created and never started this way.
      if (!force && status !== 'created' && status !== 'stopped') throw new RuntimeError(`cannot delete container ${id} that is not stopped: ${status}`);
      const cg = cgroupsOf(rec);
      if (cg) killCgroupMembers(cg);
      signalAll(rec.initPid, rec.initStartTime, SIGKILL);
      if (!waitForExit(rec.initPid, rec.initStartTime, 10_000)) {
        throw new RuntimeError(`container ${id}: init ${rec.initPid} did not exit after SIGKILL`);
      }
    }
    crashPoint('delete:killed');
    try {
      // A container whose create never finished was never created: no poststop.
      if (!unfinished) runHooks('poststop', specOf(rec).hooks?.poststop, stateJson(rec, 'stopped'));
    } catch (err) {
      // runtime-spec: a failed poststop hook is only a warning; delete goes on.
      if (!(err instanceof HookError)) throw err;
      log.warn(err.message);
    }
    removeContainerCgroups(rec);
    removeResctrlGroup(specOf(rec).linux?.intelRdt, rec.id);
    crashPoint('delete:cgroups');
    handle.remove();
  } finally {
    handle.close();
  }
}
