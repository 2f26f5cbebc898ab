import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { readStartTime } from '../../src/state/process';
import { containerStatus, execFifoPath, holdsFile, stateJson, stateObject } from '../../src/state/status';
import { StateStore, type ContainerRecord } from '../../src/state/store';

const myStart = readStartTime(process.pid)!;

const record = (over: Partial<ContainerRecord> = {}): ContainerRecord => ({
  ociVersion: '1.3.0',
  id: 'c1',
  initPid: process.pid,
  initStartTime: myStart,
  bundle: '/b',
  rootfs: '/b/rootfs',
  created: '2026-11-28T06:30:25.700163104Z',
  owner: '',
  annotations: {},
  config: {},
  ...over,
});

t.test('status from init liveness, exec.fifo and the freezer', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-status-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const handle = new StateStore(root).create('c1');
  t.teardown(() => handle.close());
  fs.writeFileSync(execFifoPath(handle), '');
  t.equal(containerStatus(handle, record()), 'running', 'an init that no longer holds exec.fifo has been released');
  // This process stands in for the init, which holds exec.fifo until it execs.
  const fifoFd = fs.openSync(execFifoPath(handle), 'r');
  t.equal(containerStatus(handle, record()), 'created');
  t.equal(containerStatus(handle, record(), () => true), 'paused');
  fs.closeSync(fifoFd);
  fs.rmSync(execFifoPath(handle));
  t.equal(containerStatus(handle, record()), 'running');
  t.equal(containerStatus(handle, record(), () => false), 'running');
  t.equal(containerStatus(handle, record({ initStartTime: '1' })), 'stopped', 'pid reused by another process');
  t.equal(containerStatus(handle, record({ initPid: 0 })), 'stopped');
  t.equal(containerStatus(handle, record({ initStartTime: '1' }), () => true), 'stopped', 'a dead init is never paused');
  // A record that still names its creator: a create in progress, or one that was killed.
  t.equal(containerStatus(handle, record({ creator: { pid: process.pid, startTime: myStart } })), 'creating');
  t.equal(containerStatus(handle, record({ initPid: 0, creator: { pid: process.pid, startTime: myStart } })), 'creating');
  t.equal(containerStatus(handle, record({ creator: { pid: process.pid, startTime: '1' } })), 'stopped', 'creator pid reused: the create was killed');
  t.equal(containerStatus(handle, record({ creator: { pid: 0, startTime: '' } }), () => true), 'stopped', 'an unfinished create is never paused or running');
});

t.test('holdsFile: whether a process has a descriptor on a file', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-holds-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, '');
  t.notOk(holdsFile(process.pid, file));
  const fd = fs.openSync(file, 'r');
  t.ok(holdsFile(process.pid, file));
  t.notOk(holdsFile(process.pid, path.join(dir, 'missing')), 'a missing file is held by nobody');
  t.notOk(holdsFile(2 ** 22 + 1, file), 'a missing process holds nothing');
  fs.closeSync(fd);
  t.notOk(holdsFile(process.pid, file));
});

t.test('state JSON: runc field order, pid 0 when stopped, annotations only when set', async (t) => {
  t.equal(
    stateJson(record(), 'running'),
    JSON.stringify(
      { ociVersion: '1.3.0', id: 'c1', pid: process.pid, status: 'running', bundle: '/b', rootfs: '/b/rootfs', created: '2026-11-28T06:30:25.700163104Z', owner: '' },
      null,
      2,
    ),
  );
  t.equal(stateObject(record(), 'stopped').pid, 0);
  t.same(stateObject(record({ annotations: { a: 'b' } }), 'created').annotations, { a: 'b' });
  t.equal(stateObject(record(), 'created', 'root').owner, 'root');
});
