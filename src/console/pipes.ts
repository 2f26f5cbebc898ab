// A foreground `run` or `exec` without a terminal gives the container three pipes as its
// stdio instead of our own fds 0-2 (as runc does): in a user namespace the container's
// root could not reopen ours (/dev/stdout → EACCES, they belong to the host's root), so the
// pipes are chowned to that root. We copy our stdin into the first (closing it at our EOF,
// so the container sees EOF) and the other two out to our stdout and stderr until EOF.
// Everything goes through non-blocking Node streams: binary-safe, with backpressure.
import { closeSync, fchownSync } from 'node:fs';
import * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { native } from '../native';

export interface StdioRelay {
  /** Resolves once the container's stdout and stderr are at EOF and written out. */
  drained: Promise<void>;
  /** Stop copying our stdin (the container is gone) and close what is left. */
  stop(): void;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** Copies one of the container's output pipes to `to` until EOF; resolves when written. */
function copyOut(fd: number, to: Writable): { done: Promise<void>; source: Readable } {
  const source = new net.Socket({ fd, readable: true, writable: false });
  // Nobody reads our output any more: close the pipe, so that the container gets EPIPE
  // instead of blocking on a full pipe forever.
  to.on('error', () => source.destroy());
  const done = new Promise<void>((resolve) => {
    source.once('close', () => {
      source.unpipe(to);
      if (to.writableLength === 0 || to.destroyed) resolve();
      else to.once('drain', resolve).once('close', resolve);
    });
  });
  source.on('error', () => undefined);
  source.pipe(to, { end: false });
  return { done, source };
}

export class StdioPipes {
  /** The container's ends: stdin (read end), stdout and stderr (write ends). */
  readonly containerFds: [number, number, number];
  /** Ours: the write end of its stdin, the read ends of its stdout and stderr. */
  private readonly ourFds: [number, number, number];
  private containerEndsOpen = true;
  private ourEndsOpen = true;

  constructor() {
    const made: number[] = [];
    try {
      for (let i = 0; i < 3; i++) made.push(...native().pipe());
    } catch (err) {
      made.forEach(closeQuietly);
      throw err;
    }
    const [stdinR, stdinW, stdoutR, stdoutW, stderrR, stderrW] = made;
    this.containerFds = [stdinR, stdoutW, stderrW];
    this.ourFds = [stdinW, stdoutR, stderrR];
  }

  /** Hand the pipes to the container's root (its host ids), as runc does, so that it can
   *  reopen them through /proc/self/fd (/dev/stdin, /dev/stdout, /dev/stderr). */
  chown(uid: number, gid: number): void {
    // Both ends of a pipe are one inode.
    for (const fd of this.containerFds) fchownSync(fd, uid, gid);
  }

  /** Once the container holds its ends: drop ours, or its output would never reach EOF. */
  closeContainerEnds(): void {
    if (!this.containerEndsOpen) return;
    this.containerEndsOpen = false;
    this.containerFds.forEach(closeQuietly);
  }

  /** Nothing will be relayed (the container did not start, or has a terminal). */
  close(): void {
    this.closeContainerEnds();
    if (!this.ourEndsOpen) return;
    this.ourEndsOpen = false;
    this.ourFds.forEach(closeQuietly);
  }

  /** Start copying; the streams own our ends from here on. */
  relay(): StdioRelay {
    this.closeContainerEnds();
    this.ourEndsOpen = false;
    const [stdinW, stdoutR, stderrR] = this.ourFds;
    const input = new net.Socket({ fd: stdinW, readable: false, writable: true });
    // The container closed its stdin (or exited): stop feeding it.
    input.on('error', () => process.stdin.unpipe(input));
    process.stdin.on('error', () => input.end());
    // At our stdin's EOF, pipe() ends `input`, which closes the container's stdin.
    process.stdin.pipe(input);
    const out = copyOut(stdoutR, process.stdout);
    const err = copyOut(stderrR, process.stderr);
    return {
      drained: Promise.all([out.done, err.done]).then(() => undefined),
      stop(): void {
        process.stdin.unpipe(input);
        process.stdin.pause();
        input.destroy();
        out.source.destroy();
        err.source.destroy();
      },
    };
  }
}
