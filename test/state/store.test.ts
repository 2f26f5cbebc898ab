import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import t, { type Test } from 'tap';
import { NotExistError, RuntimeError } from '../../src/errors';
import { StateStore, validateContainerId, type ContainerRecord } from '../../src/state/store';

const addonBuilt = fs.existsSync(path.join(__dirname, '..', '..', 'build', 'Release', 'runts_native.node'));

function tempRoot(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-store-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'nested', 'root');
}

const record = (id: string): ContainerRecord => ({
  ociVersion: '1.3.0',
  id,
  initPid: 1234,
  initStartTime: '5678',
  bundle: '/b',
  rootfs: '/b/rootfs',
  created: '2026-11-28T06:30:25.700163104Z',
  owner: '',
  annotations: { k: 'v' },
  config: { process: { args: ['sh'] } },
});

const mode = (p: string) => fs.statSync(p).mode & 0o777;

t.test('create makes root and container dir 0700, even under a lax umask', async (t) => {
  const root = tempRoot(t);
  const oldUmask = process.umask(0);
  t.teardown(() => process.umask(oldUmask));
  const handle = new StateStore(root).create('c1');
  t.equal(handle.id, 'c1');
  t.equal(handle.dir, path.join(root, 'c1'));
  t.equal(mode(root), 0o700);
  t.equal(mode(handle.dir), 0o700);
  handle.close();
});

t.test('create twice fails; open of a missing ID is NotExistError', async (t) => {
  const store = new StateStore(tempRoot(t));
  const first = store.create('c1');
  first.write(record('c1'));
  first.close();
  t.throws(() => store.create('c1'), new RuntimeError('container with given ID already exists: c1'));
  t.throws(() => store.open('nope'), NotExistError);
  t.throws(() => store.open('nope'), { message: 'container does not exist' });
});

t.test('ID validation', async (t) => {
  for (const id of ['a', 'A-b_c+d.e', '0123', '-x', '...']) t.doesNotThrow(() => validateContainerId(id), id);
  for (const id of ['.', '..', 'a/b', '../x', 'a b', 'a\n', 'é']) {
    t.throws(() => validateContainerId(id), { message: `invalid container ID format: ${JSON.stringify(id)}` }, JSON.stringify(id));
  }
  t.throws(() => validateContainerId(''), { message: 'container id cannot be empty' });
  const store = new StateStore(tempRoot(t));
  t.throws(() => store.create('../escape'), /invalid container ID format/);
  t.throws(() => store.open('..'), /invalid container ID format/);
});

t.test('write is atomic and private; read returns the record', async (t) => {
  const store = new StateStore(tempRoot(t));
  const handle = store.create('c1');
  t.throws(() => handle.read(), NotExistError, 'no state.json yet: creation unfinished');
  handle.write(record('c1'));
  const file = path.join(handle.dir, 'state.json');
  t.equal(mode(file), 0o600);
  t.same(handle.read(), record('c1'));
  const inode = fs.statSync(file).ino;
  handle.write({ ...record('c1'), initPid: 99 });
  t.not(fs.statSync(file).ino, inode, 'replaced by rename, not rewritten in place');
  t.equal(store.open('c1').read().initPid, 99);
  t.same(fs.readdirSync(handle.dir), ['state.json'], 'no temp file left behind');
  handle.close();
});

t.test('a corrupt state file is an error naming the file', async (t) => {
  const store = new StateStore(tempRoot(t));
  const handle = store.create('c1');
  fs.writeFileSync(path.join(handle.dir, 'state.json'), '{');
  t.throws(() => handle.read(), { message: new RegExp(`^parse ${handle.dir}/state.json: `) });
  handle.close();
});

t.test('list: sorted container dirs only; empty when the root is missing', async (t) => {
  const root = tempRoot(t);
  const store = new StateStore(root);
  t.same(store.list(), []);
  for (const id of ['b', 'a', 'c']) store.create(id).close();
  fs.writeFileSync(path.join(root, 'stray-file'), '');
  t.same(store.list(), ['a', 'b', 'c']);
});

t.test('remove deletes the dir; a closed handle refuses to lock', async (t) => {
  const store = new StateStore(tempRoot(t));
  const handle = store.create('c1');
  handle.write(record('c1'));
  fs.writeFileSync(path.join(handle.dir, '.state.json.123.tmp'), '{}', { mode: 0o600 });
  handle.remove();
  t.notOk(fs.existsSync(handle.dir), 'gone with state.json and a leftover temp file');
  t.throws(() => store.open('c1'), NotExistError);
  handle.remove();
  t.pass('removing it again is no error');
  handle.close();
  handle.close();
  t.throws(() => handle.lock(), /already closed/);
});

t.test('a claim left without a record is taken over once its lock is free, never while held', { skip: !addonBuilt && 'native addon not built' }, async (t) => {
  const store = new StateStore(tempRoot(t));
  const held = store.create('c1');
  t.throws(() => store.create('c1'), new RuntimeError('container with given ID already exists: c1'), 'its creator still holds it');
  t.equal(store.removeAbandoned('c1'), 'live');
  held.close(); // as a create killed before its first record
  const again = store.create('c1');
  t.ok(fs.existsSync(again.dir), 'the ID is claimed again');
  again.write(record('c1'));
  again.close();
  t.equal(store.removeAbandoned('c1'), 'recorded');
  t.equal(store.removeAbandoned('nope'), 'absent');
});

t.test('lock is an exclusive flock on the directory', { skip: !addonBuilt && 'native addon not built' }, async (t) => {
  const store = new StateStore(tempRoot(t));
  const created = store.create('c1');
  // flock(1) -n fails with 1 when the lock is taken.
  const tryLock = () => spawnSync('flock', ['-n', created.dir, 'true']).status;
  t.equal(tryLock(), 1, 'create returns it locked');
  created.write(record('c1'));
  created.close();
  const handle = store.open('c1');
  t.equal(tryLock(), 0);
  handle.lock();
  t.equal(tryLock(), 1, 'held');
  handle.remove();
  t.throws(() => handle.lock(), NotExistError, 'deleted while we waited for the lock');
  handle.close();
  const again = store.create('c1');
  again.lock();
  again.close();
  t.equal(spawnSync('flock', ['-n', again.dir, 'true']).status, 0, 'released by close');
});
