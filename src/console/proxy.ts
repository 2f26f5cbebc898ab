// Foreground `run` with process.terminal: the container's pty master arrives here (the
// init allocates the pty inside the container and sends only the master), and we relay it
// to and from our own terminal, in raw mode, following window size changes.
import { createReadStream, writeSync } from 'node:fs';
import { native } from '../native';

export interface ConsoleRelay {
  /** Resolves once the container side has closed (all output delivered). */
  closed: Promise<void>;
  /** Restore our terminal and stop relaying. */
  stop(): void;
}

/** Writes all of `data` to a non-blocking fd (a pty master, our stdout), retrying on EAGAIN;
 *  stops silently once the other side is gone. */
export function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      return; // the other side is gone; nothing more to deliver
    }
  }
}

/** Our terminal's size, when our stdout is one: the initial size of a foreground process's
 *  pty whose config gives none. The init sets it before the process runs; the relay's first
 *  resize comes only once the pty master has reached us, which for exec is too late. */
export function callerConsoleSize(): { height: number; width: number } | undefined {
  const tty = require('node:tty') as typeof import('node:tty');
  if (!tty.isatty(1) || !process.stdout.rows || !process.stdout.columns) return undefined;
  return { height: process.stdout.rows, width: process.stdout.columns };
}

export function relayConsole(master: number): ConsoleRelay {
  // Loaded here: node:tty pulls in net and streams, which only a terminal relay needs.
  const tty = require('node:tty') as typeof import('node:tty');
  const stdinIsTty = tty.isatty(0);
  const stdoutIsTty = tty.isatty(1);
  const resize = (): void => {
    if (stdoutIsTty && process.stdout.rows && process.stdout.columns) {
      try {
        native().setWinsize(master, process.stdout.rows, process.stdout.columns);
      } catch {
        // the pty may already be closed
      }
    }
  };
  resize();
  if (stdoutIsTty) process.stdout.on('resize', resize);
  if (stdinIsTty) process.stdin.setRawMode(true);
  const onInput = (chunk: Buffer): void => writeAll(master, chunk);
  process.stdin.on('data', onInput);
  process.stdin.on('error', () => undefined);

  const output = createReadStream('', { fd: master, autoClose: false, highWaterMark: 16 * 1024 });
  const closed = new Promise<void>((resolve) => {
    output.on('data', (chunk) => writeAll(1, chunk as Buffer));
    // EIO from a pty master means every slave fd is closed: the container is done.
    output.on('error', () => resolve());
    output.on('end', () => resolve());
  });
  return {
    closed,
    stop(): void {
      process.stdin.off('data', onInput);
      process.stdin.pause();
      if (stdinIsTty) process.stdin.setRawMode(false);
      if (stdoutIsTty) process.stdout.off('resize', resize);
      // destroy() closes the master itself (autoClose only governs closing at end or error),
      // once any read in flight is done. Closing it here as well would, a moment later, close
      // whatever fd had reused the number (a pidfd delete opens, for one).
      output.destroy();
    },
  };
}
