// The sync socket's framing (src/init/protocol.ts) over a real socket pair, without root:
// what the helper's side (native/init/sync.cc) writes and reads is a 4-byte little-endian
// length and then JSON.
import { closeSync, readSync, writeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import t, { type Test } from 'tap';
import { readMessage, writeMessage, type SyncMessage } from '../../src/init/protocol';
import { native } from '../../src/native';

/** A connected socket pair; `close` ends one side early, teardown closes what is left. */
function socketPair(t: Test): { a: number; b: number; close(fd: number): void } {
  const [a, b] = native().socketPair();
  const open = new Set([a, b]);
  t.teardown(() => open.forEach((fd) => closeSync(fd)));
  return { a, b, close: (fd) => open.delete(fd) && closeSync(fd) };
}

t.test('a message written is read back whole, framed as length (LE) + JSON', async (t) => {
  const { a, b } = socketPair(t);
  const msg: SyncMessage = { type: 'error', message: 'mount proc on /b/rootfs/proc: Operation not permitted' };
  writeMessage(a, msg);
  const head = Buffer.alloc(4);
  t.equal(readSync(b, head, 0, 4, null), 4);
  const body = Buffer.alloc(head.readUInt32LE(0));
  t.equal(readSync(b, body, 0, body.length, null), body.length);
  t.same(JSON.parse(body.toString('utf8')), msg, 'the body is the message as JSON');

  writeMessage(a, { type: 'pid', pid: 4242 });
  writeMessage(a, { type: 'created' });
  t.same(readMessage(b), { type: 'pid', pid: 4242 }, 'back to back messages stay apart');
  t.same(readMessage(b), { type: 'created' });
});

t.test('a frame that arrives in pieces is put together', async (t) => {
  const { a, b, close } = socketPair(t);
  const msg = { type: 'warning', message: 'ü'.repeat(100) };
  // Another process writes the frame in three pieces with pauses between; our read blocks
  // meanwhile and gets each piece as it comes.
  const writer = spawn(
    process.execPath,
    [
      '-e',
      `const body = Buffer.from(process.argv[1]);
       const frame = Buffer.concat([Buffer.alloc(4), body]);
       frame.writeUInt32LE(body.length, 0);
       const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30);
       require('fs').writeSync(1, frame, 0, 2); pause();
       require('fs').writeSync(1, frame, 2, 50); pause();
       require('fs').writeSync(1, frame, 52);`,
      JSON.stringify(msg),
    ],
    { stdio: ['ignore', a, 'inherit'] },
  );
  const exited = new Promise((resolve) => writer.on('exit', resolve));
  close(a);
  t.same(readMessage(b), msg);
  t.equal(await exited, 0);
});

t.test('EOF, also in the middle of a frame, reads as null (the helper exited)', async (t) => {
  const { a, b, close } = socketPair(t);
  const half = Buffer.alloc(6);
  half.writeUInt32LE(100, 0);
  half.write('{"', 4);
  writeSync(a, half);
  close(a);
  t.equal(readMessage(b), null);
  t.equal(readMessage(b), null, 'and again at plain EOF');
});

t.test('a length beyond 64 MiB is refused, not allocated', async (t) => {
  const { a, b } = socketPair(t);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(0xffffffff, 0);
  writeSync(a, head);
  t.throws(() => readMessage(b), /init sync: frame of 4294967295 bytes is too large/);
});
