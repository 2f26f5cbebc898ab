// run: create + start, then (unless detached) wait for the container's init like a shell
// waits for a child: forward signals, relay the terminal or the stdio pipes, exit with its
// status (128+N for signal N) and delete the container afterwards unless --keep.
import { closeSync } from 'node:fs';
import { relayConsole } from '../console/proxy';
import type { ConsoleRelay } from '../console/proxy';
import { finishForeground } from '../console/foreground';
import { StdioPipes } from '../console/pipes';
import { native } from '../native';
import type { Spec } from '../spec/types';
import { createContainer, type Created } from './create';
import { deleteContainer, startContainer } from './lifecycle';
import { signalInit } from './processes';
import { forwardSignals } from './signals';
import { rootIdsOf } from './userns';

export interface RunOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  preserveFds: number;
  detach: boolean;
  keep: boolean;
  /** --systemd-cgroup (global flag). */
  systemdCgroup?: boolean;
  /** --rootless (global flag). */
  rootless?: string;
}

export async function runContainer(opts: RunOptions): Promise<number> {
  if (opts.detach) {
    createAndStart(opts);
    return 0;
  }
  // Catch the forwarded signals from the start: one that arrived before the handlers (the
  // container may already run) would kill us (SIGTERM) or start Node's inspector (SIGUSR1).
  // Node runs the handlers only once create and start (synchronous) are done, so a signal
  // that comes in meanwhile is delivered to the user process, as runc does.
  let target: { pid: number; startTime: string } | null = null;
  const stopForwarding = forwardSignals((signo) => {
    if (target) signalInit(target.pid, target.startTime, signo);
  });
  try {
    const { record, relay, pipes } = createAndStart(opts);
    target = { pid: record.initPid, startTime: record.initStartTime };
    // The init is our child (the helper forks it with CLONE_PARENT), so we can reap it.
    const code = await finishForeground(record.initPid, relay, pipes);
    if (!opts.keep) deleteContainer(opts.root, opts.id, true);
    return code;
  } finally {
    stopForwarding();
  }
}

/** create + start; in the foreground, also the relay of the container's terminal (pty
 *  master) or, without one, the pipes that are its stdio, ready to relay. */
function createAndStart(opts: RunOptions): { record: Created['record']; relay: ConsoleRelay | null; pipes: StdioPipes | null } {
  const foregroundConsole = !opts.detach && !opts.consoleSocket;
  // Without -d the container gets pipes unless it has a terminal (runc's rule); whether it
  // has one is known once create has read config.json. With -d it inherits our stdio.
  let pipes = opts.detach ? null : new StdioPipes();
  let pair: [number, number] | null = null;
  let created;
  try {
    pair = foregroundConsole ? native().socketPair() : null;
    created = createContainer({
      root: opts.root,
      id: opts.id,
      bundle: opts.bundle,
      pidFile: opts.pidFile,
      consoleSocket: opts.consoleSocket,
      consoleFd: pair ? pair[1] : undefined,
      stdio: pipes?.containerFds,
      noPivot: opts.noPivot,
      preserveFds: opts.preserveFds,
      detached: opts.detach,
      systemdCgroup: opts.systemdCgroup,
      rootless: opts.rootless,
    });
  } catch (err) {
    pipes?.close();
    if (pair) closeSync(pair[0]);
    throw err;
  } finally {
    if (pair) closeSync(pair[1]);
  }
  const terminal = (created.record.config as Spec).process?.terminal === true;
  if (terminal) {
    pipes?.close();
    pipes = null;
  }
  let relay: ConsoleRelay | null = null;
  try {
    if (pair && terminal) relay = relayConsole(native().recvFd(pair[0]));
    if (pipes) {
      const root = rootIdsOf(created.record.initPid);
      pipes.chown(root.uid, root.gid);
      pipes.closeContainerEnds();
    }
    startContainer(opts.root, opts.id);
  } catch (err) {
    relay?.stop();
    pipes?.close();
    if (!opts.detach) deleteContainer(opts.root, opts.id, true);
    throw err;
  } finally {
    if (pair) closeSync(pair[0]);
  }
  return { record: created.record, relay, pipes };
}
