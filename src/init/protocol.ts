// Framing on the sync socket with the init helper: 4-byte little-endian length, then JSON.
// Blocking reads and writes: create is a short synchronous conversation.
import { readSync, writeSync } from 'node:fs';
import type { SyncMessage } from '../plan/types';

const MAX_FRAME = 64 * 1024 * 1024;

function readExactly(fd: number, n: number): Buffer | null {
  const buf = Buffer.alloc(n);
  let off = 0;
  while (off < n) {
    let got: number;
    try {
      got = readSync(fd, buf, off, n - off, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN' || (err as NodeJS.ErrnoException).code === 'EINTR') continue;
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') return null;
      throw err;
    }
    if (got === 0) return null;
    off += got;
  }
  return buf;
}

/** Read one message; null at EOF (the helper exited). */
export function readMessage(fd: number): SyncMessage | null {
  const head = readExactly(fd, 4);
  if (!head) return null;
  const len = head.readUInt32LE(0);
  if (len > MAX_FRAME) throw new Error(`init sync: frame of ${len} bytes is too large`);
  const body = readExactly(fd, len);
  if (!body) return null;
  return JSON.parse(body.toString('utf8')) as SyncMessage;
}

export function writeMessage(fd: number, msg: SyncMessage): void {
  const body = Buffer.from(JSON.stringify(msg), 'utf8');
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, 4);
  let off = 0;
  while (off < frame.length) off += writeSync(fd, frame, off, frame.length - off);
}
