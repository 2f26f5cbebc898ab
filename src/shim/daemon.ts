// What the shim binary loads only when it needs the engine (dist/shim-daemon.js): the resident
// shim, and `delete`, containerd's cleanup of a container whose shim is gone.
import type * as net from 'node:net';
import * as path from 'node:path';
import type { ShimFlags } from './flags';
import { task } from './proto';
import { fifoLogger, serveShim } from './resident';
import { cleanupContainer, ShimTasks } from './tasks';

/** The namespace's resident shim: serves on `listener` until it is idle or told to stop. */
export function runResident(flags: ShimFlags, listener: net.Server): void {
  const log = fifoLogger(path.join(process.cwd(), 'log'), flags.debug);
  // The bundle it was started in goes with that task; the resident outlives it.
  process.chdir('/');
  process.on('uncaughtException', (err) => {
    log('error', `uncaught: ${err.stack ?? err.message}`);
    process.exit(1);
  });
  const tasks = new ShimTasks({ namespace: flags.namespace });
  serveShim(flags, listener, tasks, log, async (deleted, bundle) => {
    await tasks.abandon(deleted.id);
    return cleanupAfterShim(deleted, bundle);
  });
}

/** `delete`, run after containerd lost the task's connection (a Shutdown or a dead shim): what
 *  is left of the container goes through the engine (forced), its rootfs is unmounted, and the
 *  answer is a DeleteResponse as runc's shim gives (status 128 + SIGKILL). */
export function cleanupAfterShim(flags: ShimFlags, bundle: string): Uint8Array {
  const { pid, exitStatus, exitedAt } = cleanupContainer({ namespace: flags.namespace, id: flags.id, bundle });
  return task.DeleteResponse.encode({ pid, exitStatus, exitedAt });
}
