// The resident shim of a containerd namespace: serves containerd.task.v2.Task for every task of
// the namespace, and the launcher's calls (src/shim/launcher.ts), publishing the task service's
// events to containerd's TTRPC_ADDRESS. It stays while it has a task or a connection, and for a
// while after (RUNTS_SHIM_IDLE_SECONDS), so that the next task needs no Node boot; then it exits,
// as on Shutdown with `now` or SIGTERM. Its log goes to the `log` FIFO of the bundle it was
// started in, which containerd reads and copies into its own log.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { formatLogLine, writeFdQuietly } from '../log';
import type { ShimFlags } from './flags';
import { LAUNCHER_SERVICE, launcherHandlers, type LauncherOptions } from './launcher';
import { EventPublisher, statusOf, TASK_SERVICE, taskHandlers, type Logger } from './server';
import type { TaskService } from './task-service';
import { TtrpcServer } from './ttrpc';

/** A logger writing logrus text lines to BUNDLE/log (containerd's FIFO) when it can be opened
 *  without blocking; otherwise to nowhere (the shim's stdio is /dev/null). */
export function fifoLogger(file: string, debug: boolean): Logger {
  let fd = -1;
  try {
    // O_NONBLOCK: a FIFO nobody reads must not stop the shim (ENXIO: no reader yet).
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch {
    // no log
  }
  return (level, message) => {
    if (fd < 0 || (level === 'info' && !debug)) return;
    writeFdQuietly(fd, `${formatLogLine(level, message, new Date(), 'text')} runtime=io.containerd.runts.v2 pid=${process.pid}\n`);
  };
}

/** How long an idle resident waits for the next task: RUNTS_SHIM_IDLE_SECONDS (default 60). */
export function idleSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.RUNTS_SHIM_IDLE_SECONDS);
  return env.RUNTS_SHIM_IDLE_SECONDS && Number.isFinite(value) && value >= 0 ? value : 60;
}

/** Serves on `listener` (already listening: see listenForStart) until shut down, then exits the
 *  process. Attaches to the listener before it returns to the event loop, so no connection that
 *  queued meanwhile is missed. */
export function serveShim(flags: ShimFlags, listener: net.Server, tasks: TaskService, log: Logger, cleanup: LauncherOptions['cleanup']): void {
  const ttrpcAddress = process.env.TTRPC_ADDRESS ?? '';
  if (!ttrpcAddress) log('warn', 'TTRPC_ADDRESS is not set: events are not published');
  const publisher = new EventPublisher(ttrpcAddress, flags.namespace, log);
  tasks.onEvent((event) => (ttrpcAddress ? publisher.publish(event) : undefined));

  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(idleCheck);
    log('info', `shutting down: ${why}`);
    // Closing the listener removes its socket file, as runc's shim removes its socket.
    listener.close();
    await server.idle();
    await publisher.drain(5000);
    server.close();
    publisher.close();
    process.exit(0);
  };
  const server = new TtrpcServer({
    services: new Map([
      [TASK_SERVICE, taskHandlers({ tasks, shutdown: () => void shutdown('Shutdown now'), log })],
      [LAUNCHER_SERVICE, launcherHandlers({ resident: flags, cleanup })],
    ]),
    mapError: (err, _service, method) => statusOf(err, log, method),
  });
  server.serve(listener);
  const idleMs = idleSeconds() * 1000;
  const idleCheck = setInterval(() => {
    if (tasks.isEmpty() && server.connectionCount === 0 && Date.now() - server.lastActive >= idleMs) void shutdown(`no task for ${idleMs / 1000} s`);
  }, Math.min(Math.max(idleMs, 100), 5000));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void shutdown(signal));
  log('info', `serving namespace ${flags.namespace} on ${flags.socket}`);
}
