// openContainer (src/state/open.ts): how every command on one container opens it, with a
// test process standing in for the containers' init (no root needed).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { NotExistError, RuntimeError } from '../../src/errors';
import { openContainer } from '../../src/state/open';
import { makeRoot } from './fixture';

/** Whether another process could take the container's lock right now. */
function lockFree(dir: string): boolean {
  return spawnSync('flock', ['--nonblock', dir, 'true']).status === 0;
}

t.test('record and status, read with or without the lock', async (t) => {
  const { root, cleanup } = makeRoot();
  t.teardown(cleanup);
  for (const [id, status] of [
    ['c-created', 'created'],
    ['c-running', 'running'],
    ['c-stopped', 'stopped'],
  ]) {
    const opened = openContainer(root, id, { lock: false });
    t.equal(opened.rec.id, id);
    t.equal(opened.status, status, id);
    t.ok(lockFree(opened.handle.dir), 'state and list leave the lock alone');
    opened.handle.close();
  }
  const locked = openContainer(root, 'c-running', { lock: true });
  t.notOk(lockFree(locked.handle.dir), 'held until the handle is closed');
  locked.handle.close();
  t.ok(lockFree(locked.handle.dir));
});

t.test('no such container: NotExistError, in runc words', async (t) => {
  const { root, cleanup } = makeRoot();
  t.teardown(cleanup);
  t.throws(() => openContainer(root, 'nope', { lock: true }), new NotExistError('nope'));
  t.throws(() => openContainer(root, 'nope', { lock: true }), { message: 'container does not exist' });
  t.throws(() => openContainer(root, '../c-running', { lock: false }), RuntimeError, 'an ID that is no path component is refused');
});

t.test('a directory without state.json: NotExistError, the directory left alone and its lock released', async (t) => {
  const { root, cleanup } = makeRoot();
  t.teardown(cleanup);
  t.throws(() => openContainer(root, 'c-half', { lock: true }), NotExistError);
  t.ok(fs.existsSync(path.join(root, 'c-half')), 'left alone (delete decides, through the store)');
  t.ok(lockFree(path.join(root, 'c-half')), 'the handle was closed, so its lock is free');
});
