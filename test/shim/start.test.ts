// `start` (src/shim/start.ts, address.ts): the socket address containerd's shim package derives,
// grouping, and finding or spawning the resident shim, with a stand-in resident script.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { groupOf, shimSocketAddress, socketPath } from '../../src/shim/address';
import { parseFlags } from '../../src/shim/flags';
import { canConnect, startShim } from '../../src/shim/start';
import { requireRoot, tempDir, uniqueId } from '../lib';

t.test('the socket address is sha256(address/namespace/group) under /run/containerd/s', async (t) => {
  // sha256 of "/run/containerd/containerd.sock/default/c1", as `printf %s … | sha256sum` prints it
  const expected = createHash('sha256').update('/run/containerd/containerd.sock/default/c1').digest('hex');
  t.equal(shimSocketAddress('/run/containerd/containerd.sock', 'default', 'c1'), `unix:///run/containerd/s/${expected}`);
  // Go's filepath.Join cleans: a trailing slash or doubled one changes nothing
  t.equal(shimSocketAddress('/run/containerd//containerd.sock/', 'default', 'c1'), `unix:///run/containerd/s/${expected}`);
  t.equal(socketPath('unix:///run/containerd/s/ab'), '/run/containerd/s/ab');
  t.equal(socketPath('/run/x.sock'), '/run/x.sock');
});

t.test('grouping: runc group annotation first, then the CRI sandbox id, else the container id', async (t) => {
  t.equal(groupOf('c1', undefined), 'c1');
  t.equal(groupOf('c1', { other: 'x' }), 'c1');
  t.equal(groupOf('c1', { 'io.kubernetes.cri.sandbox-id': 'pod' }), 'pod');
  t.equal(groupOf('c1', { 'io.kubernetes.cri.sandbox-id': 'pod', 'io.containerd.runc.v2.group': 'g' }), 'g');
});

t.test('flags as Go parses them; the action is the first non-flag', async (t) => {
  t.match(parseFlags(['-namespace', 'ns', '--id=c', '-address', '/a', '-publish-binary', '/bin/containerd', '-debug', 'start']), {
    namespace: 'ns', id: 'c', address: '/a', publishBinary: '/bin/containerd', debug: true, action: 'start',
  });
  t.match(parseFlags(['-v']), { version: true, action: '' });
  t.match(parseFlags(['-debug=false', '-bundle', '/b', 'delete', '-x']), { debug: false, bundle: '/b', action: 'delete' });
  t.throws(() => parseFlags(['-nope']), { message: 'flag provided but not defined: -nope' });
  t.throws(() => parseFlags(['-id']), { message: 'flag needs an argument: -id' });
  t.throws(() => parseFlags(['-debug=maybe']), { message: 'invalid boolean value "maybe" for -debug' });
});

/** A stand-in for the resident shim: listens on -socket, says ready on fd 3 (or fails as told). */
function fakeResident(t: Test, behaviour: 'listen' | 'fail'): string {
  const script = path.join(tempDir(t, 'fake-shim'), 'shim.js');
  fs.writeFileSync(
    script,
    `const fs = require('fs'); const net = require('net');
const socket = process.argv[process.argv.indexOf('-socket') + 1].replace('unix://', '');
if (${JSON.stringify(behaviour)} === 'fail') { fs.writeSync(3, 'listen on ' + socket + ': EACCES\\n'); process.exit(1); }
fs.writeFileSync(process.cwd() + '/argv', JSON.stringify(process.argv.slice(2)));
net.createServer((c) => c.end()).listen(socket, () => { fs.writeSync(3, 'ready\\n'); fs.closeSync(3); });
setTimeout(() => process.exit(0), 60000);
`,
  );
  return script;
}

function bundleWith(t: Test, annotations: Record<string, string>): string {
  const dir = tempDir(t, 'bundle');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', annotations }));
  return dir;
}

t.test('start spawns one resident per group and hands later containers of the group its address', async (t) => {
  if (!requireRoot(t)) return; // /run/containerd/s is root's
  const script = fakeResident(t, 'listen');
  const group = uniqueId('group');
  const flags = (id: string) => parseFlags(['-namespace', 'ns', '-id', id, '-address', `/run/runts-test-${process.pid}.sock`, 'start']);
  const first = bundleWith(t, { 'io.containerd.runc.v2.group': group });
  const address = await startShim(flags('c1'), first, script);
  t.equal(address, shimSocketAddress(`/run/runts-test-${process.pid}.sock`, 'ns', group));
  const pid = Number(fs.readFileSync(path.join(first, 'shim.pid'), 'utf8'));
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
    fs.rmSync(socketPath(address), { force: true });
  });
  t.equal(fs.readFileSync(path.join(first, 'address'), 'utf8'), address);
  t.same(JSON.parse(fs.readFileSync(path.join(first, 'argv'), 'utf8')), ['-namespace', 'ns', '-id', 'c1', '-address', `/run/runts-test-${process.pid}.sock`, '-socket', address]);
  t.ok(await canConnect(address));

  const second = bundleWith(t, { 'io.containerd.runc.v2.group': group });
  t.equal(await startShim(flags('c2'), second, script), address, 'same group, same shim');
  t.notOk(fs.existsSync(path.join(second, 'shim.pid')), 'no second shim');
  t.equal(fs.readFileSync(path.join(second, 'address'), 'utf8'), address);

  // A killed shim leaves its socket: the next start replaces it with a new shim.
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && (await canConnect(address)); i++) await new Promise((r) => setTimeout(r, 20));
  const third = bundleWith(t, { 'io.containerd.runc.v2.group': group });
  t.equal(await startShim(flags('c3'), third, script), address);
  const pid3 = Number(fs.readFileSync(path.join(third, 'shim.pid'), 'utf8'));
  t.not(pid3, pid);
  t.teardown(() => process.kill(pid3, 'SIGKILL'));
});

t.test('start fails with the resident shim\'s reason when it cannot listen', async (t) => {
  if (!requireRoot(t)) return;
  const bundle = bundleWith(t, {});
  const id = uniqueId('c');
  const flags = parseFlags(['-namespace', 'ns', '-id', id, '-address', `/run/runts-test-${process.pid}.sock`, 'start']);
  await t.rejects(startShim(flags, bundle, fakeResident(t, 'fail')), { message: /^start: the shim exited before listening on unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}: listen on .*: EACCES$/ });
  t.notOk(fs.existsSync(path.join(bundle, 'address')));
  await t.rejects(startShim(flags, path.join(bundle, 'absent'), fakeResident(t, 'fail')), { message: /^start: reading .*absent\/config.json: ENOENT/ });
});
