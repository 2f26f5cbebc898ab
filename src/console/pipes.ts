// A foreground `run` or `exec` without a terminal gives the container three pipes as its
// stdio instead of our own fds 0-2 (as runc does): in a user namespace the container's
// root could not reopen ours (/dev/stdout → EACCES, they belong to the host's root), so the
// pipes are chowned to that root. Our stdin goes into the first (closed at our EOF, so the
// container sees EOF) and the other two out to our stdout and stderr until EOF: all of it,
// with the wait for the process, in one native operation on a worker thread (no Node
// streams, whose modules alone cost a run more start-up time than the copying).
import { closeSync, fchownSync } from 'node:fs';
import { native, type WaitStatus } from '../native';

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
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

  /** Relay until `pid` (our child, the process using the pipes) has exited and everything
   *  it wrote is delivered; the native side owns our ends from here on. */
  relayUntilExit(pid: number): Promise<WaitStatus> {
    this.closeContainerEnds();
    this.ourEndsOpen = false;
    const [stdinTo, stdoutFrom, stderrFrom] = this.ourFds;
    return native().waitAndRelay(pid, { stdinTo, stdoutFrom, stderrFrom });
  }
}
