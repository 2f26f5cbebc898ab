// linux.intelRdt against a resctrl tree laid out in a temp dir (this host has no resctrl).
// findResctrlRoot only ever returns a real resctrl mount, so the fake tree is passed in.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { checkIntelRdt, findResctrlRoot, ResctrlGroup } from '../../src/intelrdt/resctrl';

/** A resctrl-like tree: info/{L3,MB}, info/last_cmd_status, the root group's files. */
function fakeResctrl(t: Test, features: ('L3' | 'MB')[] = ['L3', 'MB']): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-test-resctrl-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const f of features) fs.mkdirSync(path.join(root, 'info', f), { recursive: true });
  fs.mkdirSync(path.join(root, 'info'), { recursive: true });
  fs.writeFileSync(path.join(root, 'info', 'last_cmd_status'), 'ok\n');
  fs.writeFileSync(path.join(root, 'schemata'), 'L3:0=fff\nMB:0=100\n');
  fs.writeFileSync(path.join(root, 'tasks'), '');
  return root;
}

t.test('a host without resctrl: runc\'s error naming linux.intelRdt', async (t) => {
  t.throws(() => checkIntelRdt({ closID: 'x' }, undefined, 'config.json'), {
    name: 'SpecError',
    message: 'config.json: /linux/intelRdt: intelRdt is specified in config, but Intel RDT is not enabled',
  });
  t.doesNotThrow(() => checkIntelRdt(undefined, undefined, 'config.json'), 'no intelRdt: nothing to check');
});

t.test('findResctrlRoot: a resctrl mount in mountinfo, nothing otherwise', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-test-mountinfo-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const without = path.join(dir, 'without');
  fs.writeFileSync(without, '22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw\n');
  const withIt = path.join(dir, 'with');
  fs.writeFileSync(withIt, '22 1 0:21 / /proc rw shared:5 - proc proc rw\n40 22 0:40 / /mnt/rdt\\040x rw,relatime shared:9 - resctrl resctrl rw\n');
  // /sys/fs/resctrl is not resctrl on this host (see the integration test), so mountinfo decides.
  if (fs.existsSync('/sys/fs/resctrl')) return t.plan(0, 'this host has /sys/fs/resctrl');
  t.equal(findResctrlRoot(without), undefined);
  t.equal(findResctrlRoot(withIt), '/mnt/rdt x', 'octal escapes undone');
});

t.test('checkIntelRdt: closID and the CAT/MBA features', async (t) => {
  const root = fakeResctrl(t, ['L3']);
  for (const bad of ['.', '..', 'a/b']) {
    t.throws(() => checkIntelRdt({ closID: bad }, root, 'config.json'), { message: `config.json: /linux/intelRdt/closID: invalid intelRdt.ClosID ${JSON.stringify(bad)}` });
  }
  t.doesNotThrow(() => checkIntelRdt({ closID: '/', l3CacheSchema: 'L3:0=f' }, root, 'config.json'), '"/" is the root group; L3 is there');
  t.throws(() => checkIntelRdt({ memBwSchema: 'MB:0=20' }, root, 'config.json'), {
    message: 'config.json: /linux/intelRdt/memBwSchema: intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled',
  });
  const noCat = fakeResctrl(t, ['MB']);
  t.throws(() => checkIntelRdt({ l3CacheSchema: 'L3:0=f' }, noCat, 'config.json'), {
    message: 'config.json: /linux/intelRdt/l3CacheSchema: intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled',
  });
});

t.test('a group named after the container: made, joined, schemata written in runc\'s order, removed on delete', async (t) => {
  const root = fakeResctrl(t);
  const group = new ResctrlGroup(root, 'ctr1', { l3CacheSchema: 'L3:0=f0', memBwSchema: 'MB:0=20', schemata: ['L2:0=3'] });
  group.apply(4242);
  t.equal(fs.readFileSync(path.join(root, 'ctr1', 'tasks'), 'utf8'), '4242');
  t.equal(fs.readFileSync(path.join(root, 'ctr1', 'schemata'), 'utf8'), 'L3:0=f0\nMB:0=20\nL2:0=3\n');
  // The kernel's files go with rmdir; a plain directory must be empty first.
  fs.rmSync(path.join(root, 'ctr1', 'tasks'));
  fs.rmSync(path.join(root, 'ctr1', 'schemata'));
  group.destroy();
  t.notOk(fs.existsSync(path.join(root, 'ctr1')), 'the group is removed');
  t.doesNotThrow(() => group.destroy(), 'a second delete finds nothing to do');
});

t.test('a shared closID group: must exist when no schemata is given; only the monitoring group is removed', async (t) => {
  const root = fakeResctrl(t);
  t.throws(() => new ResctrlGroup(root, 'ctr2', { closID: 'shared' }).apply(1), { name: 'ResctrlError', message: /clos dir .*shared not accessible/ });
  t.notOk(fs.existsSync(path.join(root, 'shared')), 'nothing made');
  // The kernel gives every group a mon_groups directory.
  fs.mkdirSync(path.join(root, 'shared', 'mon_groups'), { recursive: true });
  const group = new ResctrlGroup(root, 'ctr2', { closID: 'shared', enableMonitoring: true });
  group.apply(77);
  t.equal(fs.readFileSync(path.join(root, 'shared', 'tasks'), 'utf8'), '77');
  t.equal(fs.readFileSync(path.join(root, 'shared', 'mon_groups', 'ctr2', 'tasks'), 'utf8'), '77', 'and its monitoring group');
  t.notOk(fs.existsSync(path.join(root, 'shared', 'schemata')), 'no schemata given: none written');
  fs.rmSync(path.join(root, 'shared', 'mon_groups', 'ctr2', 'tasks'));
  group.destroy();
  t.notOk(fs.existsSync(path.join(root, 'shared', 'mon_groups', 'ctr2')), 'the monitoring group is removed');
  t.ok(fs.existsSync(path.join(root, 'shared')), 'the shared group stays');
});

t.test('a refused write carries last_cmd_status', async (t) => {
  const root = fakeResctrl(t);
  fs.writeFileSync(path.join(root, 'info', 'last_cmd_status'), 'Invalid schema\n');
  // A directory where the schemata file should be makes the write fail.
  fs.mkdirSync(path.join(root, 'ctr3', 'schemata'), { recursive: true });
  t.throws(() => new ResctrlGroup(root, 'ctr3', { l3CacheSchema: 'L3:0=zz' }).apply(5), {
    name: 'ResctrlError',
    message: /^intelrdt: unable to write "L3:0=zz\\n" to .*ctr3\/schemata: .*, last_cmd_status: Invalid schema$/,
  });
});
