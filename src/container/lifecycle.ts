// start, kill and delete of an existing container, each under the container's lock.
import { closeSync, constants as fsConstants, openSync, readSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { NotExistError, RuntimeError } from '../errors';
import { HookError, runHooks } from '../hooks/run';
import { log } from '../log';
import type { Spec } from '../spec/types';
import { StateStore } from '../state/store';
import type { ContainerHandle, ContainerRecord } from '../state/store';
import { isAlive } from '../state/process';
import { containerStatus, stateJson } from '../state/status';
import { signalAll, signalInit, sleepMs, waitForExit } from './processes';

const SIGKILL = 9;

function openLocked(root: string, id: string): { handle: ContainerHandle; rec: ContainerRecord } {
  const handle = new StateStore(root).open(id);
  handle.lock();
  return { handle, rec: handle.read() };
}

function specOf(rec: ContainerRecord): Spec {
  return rec.config as Spec;
}

/**
 * Open the fifo for reading without blocking, then read the init's byte: the init is
 * blocked opening it for writing and proceeds to exec once we have read. A dead init
 * cannot leave us hanging: we poll its liveness while waiting.
 */
function releaseInit(fifo: string, rec: ContainerRecord): void {
  const fd = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(1);
    for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
      try {
        if (readSync(fd, buf, 0, 1, null) === 1) return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      }
      if (!isAlive(rec.initPid, rec.initStartTime)) throw new RuntimeError('cannot start a container that has stopped');
      sleepMs(delay);
    }
  } finally {
    closeSync(fd);
  }
}

export function startContainer(root: string, id: string): void {
  const { handle, rec } = openLocked(root, id);
  try {
    const status = containerStatus(handle, rec);
    if (status === 'stopped') throw new RuntimeError('cannot start a container that has stopped');
    if (status === 'running') throw new RuntimeError('cannot start an already running container');
    if (status === 'paused') throw new RuntimeError('cannot start a paused container');
    const spec = specOf(rec);
    if (!spec.process) throw new RuntimeError(`cannot start container ${id}: config.json has no process`);
    const fifo = path.join(handle.dir, 'exec.fifo');
    releaseInit(fifo, rec);
    unlinkSync(fifo);
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
  const { handle, rec } = openLocked(root, id);
  try {
    const status = containerStatus(handle, rec);
    if (status === 'stopped') throw new RuntimeError('container not running');
    if (all) {
      signalAll(rec.initPid, rec.initStartTime, signal);
    } else if (!signalInit(rec.initPid, rec.initStartTime, signal)) {
      throw new RuntimeError('container not running');
    }
  } finally {
    handle.close();
  }
}

export function deleteContainer(root: string, id: string, force: boolean): void {
  let handle: ContainerHandle;
  let rec: ContainerRecord;
  try {
    ({ handle, rec } = openLocked(root, id));
  } catch (err) {
    if (force && err instanceof NotExistError) return;
    throw err;
  }
  try {
    const status = containerStatus(handle, rec);
    if (status !== 'stopped') {
      if (!force) throw new RuntimeError(`cannot delete container ${id} that is not stopped: ${status}`);
      signalAll(rec.initPid, rec.initStartTime, SIGKILL);
      if (!waitForExit(rec.initPid, rec.initStartTime, 10_000)) {
        throw new RuntimeError(`container ${id}: init ${rec.initPid} did not exit after SIGKILL`);
      }
    }
    try {
      runHooks('poststop', specOf(rec).hooks?.poststop, stateJson(rec, 'stopped'));
    } catch (err) {
      // runtime-spec: a failed poststop hook is only a warning; delete goes on.
      if (!(err instanceof HookError)) throw err;
      log.warn(err.message);
    }
    handle.remove();
  } finally {
    handle.close();
  }
}
