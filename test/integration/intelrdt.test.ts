// linux.intelRdt on a host without resctrl: runc's error, nothing made. The resctrl writes
// themselves are unit-tested against a laid-out tree (test/intelrdt/resctrl.test.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { findResctrlRoot } from '../../src/intelrdt/resctrl';
import { leakGuard, makeBundle, requireRoot, runts, runtsRoot, tempDir, uniqueId } from '../lib';

t.test('intelRdt without a mounted resctrl: exit 1 naming the field, nothing left behind', async (t) => {
  if (!requireRoot(t)) return;
  if (findResctrlRoot()) return t.plan(0, 'this host has resctrl mounted');
  leakGuard(t);
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['true'],
    config: (c) => {
      c.linux!.intelRdt = { closID: 'runts-test', l3CacheSchema: 'L3:0=f' };
    },
  });
  const root = runtsRoot(t);
  const id = uniqueId('rdt');
  for (const command of [['run'], ['create']]) {
    const result = await runts(['--root', root, ...command, '-b', made.bundle, id]);
    t.equal(result.code, 1, `${command[0]}: exit 1`);
    t.match(result.stderr, /config\.json: \/linux\/intelRdt: intelRdt is specified in config, but Intel RDT is not enabled/, `${command[0]}: runc's wording, naming the field`);
    t.notOk(fs.existsSync(path.join(root, id)), `${command[0]}: no state dir`);
  }
});
