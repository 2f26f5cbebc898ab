// `start` in Node (src/shim/start.ts): finding or spawning the namespace's resident shim on the
// socket the launcher names, with a stand-in resident script.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { socketPath } from '../../src/shim/address';
import { parseFlags } from '../../src/shim/flags';
import { canConnect, startShim } from '../../src/shim/start';
import { requireRoot, tempDir, uniqueId } from '../lib';

t.test('a socket address names its path', async (t) => {
  t.equal(socketPath('unix:///run/containerd/s/ab'), '/run/containerd/s/ab');
  t.equal(socketPath('/run/x.sock'), '/run/x.sock');
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

t.test('start spawns the resident on -socket and hands later tasks its address', async (t) => {
  if (!requireRoot(t)) return; // /run/containerd/s is root's
  const script = fakeResident(t, 'listen');
  const address = `unix:///run/containerd/s/runts-test-${uniqueId('start')}`;
  const flags = (id: string) => parseFlags(['-namespace', 'ns', '-id', id, '-address', `/run/runts-test-${process.pid}.sock`, '-socket', address, 'start']);
  const first = tempDir(t, 'bundle');
  t.equal(await startShim(flags('c1'), first, script), address);
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
  t.same(JSON.parse(fs.readFileSync(path.join(first, 'argv'), 'utf8')), ['-namespace', 'ns', '-address', `/run/runts-test-${process.pid}.sock`, '-socket', address]);
  t.ok(await canConnect(address));

  const second = tempDir(t, 'bundle');
  t.equal(await startShim(flags('c2'), second, script), address, 'a live resident serves the next task');
  t.notOk(fs.existsSync(path.join(second, 'shim.pid')), 'no second shim');
  t.equal(fs.readFileSync(path.join(second, 'address'), 'utf8'), address);

  // A killed shim leaves its socket: the next start replaces it with a new shim.
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && (await canConnect(address)); i++) await new Promise((r) => setTimeout(r, 20));
  const third = tempDir(t, 'bundle');
  t.equal(await startShim(flags('c3'), third, script), address);
  const pid3 = Number(fs.readFileSync(path.join(third, 'shim.pid'), 'utf8'));
  t.not(pid3, pid);
  t.teardown(() => process.kill(pid3, 'SIGKILL'));
});

t.test('start fails with the resident shim\'s reason when it cannot listen, and without -socket', async (t) => {
  if (!requireRoot(t)) return;
  const bundle = tempDir(t, 'bundle');
  const args = ['-namespace', 'ns', '-id', uniqueId('c'), '-address', `/run/runts-test-${process.pid}.sock`];
  const socket = `unix:///run/containerd/s/runts-test-${uniqueId('fail')}`;
  await t.rejects(startShim(parseFlags([...args, '-socket', socket, 'start']), bundle, fakeResident(t, 'fail')), {
    message: /^start: the shim exited before listening on unix:\/\/\/run\/containerd\/s\/runts-test-\S+: listen on .*: EACCES$/,
  });
  t.notOk(fs.existsSync(path.join(bundle, 'address')));
  await t.rejects(startShim(parseFlags([...args, 'start']), bundle, fakeResident(t, 'fail')), { message: 'start: -socket is required (bin/containerd-shim-runts-v2 names it)' });
});
