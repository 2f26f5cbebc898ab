// Waiting on processes without sleep loops (src/container/processes.ts, native pollIn).
import { spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { native } from '../../src/native';
import { openPidfd, waitForExit } from '../../src/container/processes';
import { readStartTime } from '../../src/state/process';

const POLLIN = 1;

t.test('pollIn: a pidfd turns readable when its process exits, not before', async (t) => {
  const child = spawn('sleep', ['0.3'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const pidfd = openPidfd(child.pid!);
  t.not(pidfd, null);
  try {
    t.same(native().pollIn([pidfd!], 0), [0], 'running: not readable');
    await exited;
    const [revents, ignored] = native().pollIn([pidfd!, -1], 0);
    t.ok(revents & POLLIN, 'exited: readable');
    t.equal(ignored, 0, 'a negative fd is ignored');
  } finally {
    closeSync(pidfd!);
  }
});

t.test('pollIn: a fifo wakes it with a byte, and with its writer gone', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runts-poll-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'fifo');
  native().mkfifo(fifo, 0o600);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    t.same(native().pollIn([reader], 0), [0], 'no writer yet: nothing to report');
    const writer = openSync(fifo, constants.O_WRONLY);
    t.same(native().pollIn([reader], 0), [0], 'a writer, nothing written');
    closeSync(writer);
    t.ok(native().pollIn([reader], 0)[0] !== 0, 'the writer closed: hang-up reported');
  } finally {
    closeSync(reader);
  }
});

t.test('waitForExit returns when the process exits, and false on timeout', async (t) => {
  const child = spawn('sleep', ['0.5'], { stdio: 'ignore' });
  const startTime = readStartTime(child.pid!)!;
  t.equal(waitForExit(child.pid!, startTime, 50), false, 'still running after 50 ms');
  // The child is ours: Node reaps it on its own, so the wait sees it gone (zombie or reaped).
  const t0 = Date.now();
  t.equal(waitForExit(child.pid!, startTime, 5000), true);
  t.ok(Date.now() - t0 < 3000, 'returned once it exited');
  t.equal(waitForExit(child.pid!, startTime, 0), true, 'gone: at once');
});
