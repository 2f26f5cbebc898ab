// run: create + start, then (unless detached) wait for the container's init like a shell
// waits for a child: forward signals, relay the terminal, exit with its status (128+N for
// signal N) and delete the container afterwards unless --keep.
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { relayConsole } from '../console/proxy';
import type { ConsoleRelay } from '../console/proxy';
import { native } from '../native';
import type { Spec } from '../spec/types';
import { createContainer } from './create';
import { deleteContainer, startContainer } from './lifecycle';
import { signalInit } from './processes';

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
}

// Signals a foreground run passes on to the container (SIGCHLD, SIGPIPE and the
// uncatchable ones excluded; SIGWINCH becomes a pty resize instead).
const FORWARDED: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU'];

export async function runContainer(opts: RunOptions): Promise<number> {
  const foregroundConsole = !opts.detach && !opts.consoleSocket;
  const pair = foregroundConsole ? native().socketPair() : null;
  let created;
  try {
    created = createContainer({
      root: opts.root,
      id: opts.id,
      bundle: opts.bundle,
      pidFile: opts.pidFile,
      consoleSocket: opts.consoleSocket,
      consoleFd: pair ? pair[1] : undefined,
      noPivot: opts.noPivot,
      preserveFds: opts.preserveFds,
      detached: opts.detach,
    });
  } finally {
    if (pair) closeSync(pair[1]);
  }
  const terminal = (created.record.config as Spec).process?.terminal === true;
  let relay: ConsoleRelay | null = null;
  try {
    if (pair && terminal) relay = relayConsole(native().recvFd(pair[0]));
  } finally {
    if (pair) closeSync(pair[0]);
  }
  try {
    startContainer(opts.root, opts.id);
  } catch (err) {
    relay?.stop();
    if (!opts.detach) deleteContainer(opts.root, opts.id, true);
    throw err;
  }
  if (opts.detach) return 0;

  const { initPid, initStartTime } = created.record;
  const forward = (signal: NodeJS.Signals): void => {
    signalInit(initPid, initStartTime, constants.signals[signal]);
  };
  for (const s of FORWARDED) process.on(s, forward);
  // The init is our child (the helper forks it with CLONE_PARENT), so we can reap it.
  const status = await native().waitPidAsync(initPid);
  for (const s of FORWARDED) process.off(s, forward);
  if (relay) {
    await Promise.race([relay.closed, new Promise((r) => setTimeout(r, 200))]);
    relay.stop();
  }
  if (!opts.keep) deleteContainer(opts.root, opts.id, true);
  return status.signal !== undefined ? 128 + status.signal : status.exitCode ?? 0;
}
