// The built shim binary's command line (src/shim/main.ts): -v, Go flag errors, and `delete`
// answering a DeleteResponse protobuf on stdout as containerd reads it.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import t from 'tap';
import { task } from '../../src/shim/proto';
import { REPO_ROOT, requireRoot, tempDir, uniqueId } from '../lib';
import { envWithoutTap } from '../lib/env';

const SHIM = path.join(REPO_ROOT, 'bin', 'containerd-shim-runts-v2');
const shim = (args: string[], cwd?: string) => spawnSync(SHIM, args, { cwd, env: envWithoutTap() });

t.test('-v prints the version; a bad command line exits 2 with the usage, no namespace 1', async (t) => {
  const v = shim(['-v']);
  t.equal(v.status, 0);
  t.match(v.stdout.toString(), /^containerd-shim-runts-v2:\n {2}Version: {2}\S+\n {2}Revision: \S+\n/);
  const bad = shim(['-namespace', 'ns', '-bogus', 'start']);
  t.equal(bad.status, 2);
  t.match(bad.stderr.toString(), /^flag provided but not defined: -bogus\nUsage: containerd-shim-runts-v2 /);
  const noNs = shim(['-id', 'c', 'start']);
  t.equal(noNs.status, 1);
  t.equal(noNs.stderr.toString(), 'shim namespace cannot be empty\n');
  const action = shim(['-namespace', 'ns', 'frobnicate']);
  t.equal(action.status, 2);
  t.match(action.stderr.toString(), /^unknown action "frobnicate"/);
});

t.test('delete of a container that is gone answers exit 137 at now, as runc\'s shim', async (t) => {
  if (!requireRoot(t)) return; // the default state root is under /run/containerd
  const bundle = tempDir(t, 'bundle');
  const before = BigInt(Math.floor(Date.now() / 1000));
  const r = shim(['-namespace', uniqueId('ns'), '-id', uniqueId('c'), '-address', '/run/x.sock', '-bundle', bundle, 'delete'], bundle);
  t.equal(r.status, 0, r.stderr.toString());
  const response = task.DeleteResponse.decode(r.stdout) as { pid: number; exitStatus: number; exitedAt: { seconds: bigint } };
  t.equal(response.exitStatus, 137);
  t.ok(response.exitedAt.seconds >= before && response.exitedAt.seconds <= before + 60n, 'exited_at is now');
});
