// Security rule 15 (SECURITY.md): the pty is allocated inside the container from its own
// devpts instance, after pivot_root, and only the master is sent over --console-socket.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { makeBundle, readMounts, REPO_ROOT, requireRoot, tempDir, uniqueId, waitFor } from '../lib';
import { setup } from '../fixtures/security/helpers';

const SERVER = path.join(REPO_ROOT, 'test', 'fixtures', 'security', 'console-server.py');

t.test('rule 15: the console master comes from the container devpts, alone', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const dir = tempDir(t, 'console');
  const socketPath = path.join(dir, 'console.sock');
  const resultPath = path.join(dir, 'result.json');
  const server = spawn('/usr/bin/python3', [SERVER, socketPath, resultPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const serverExit = new Promise<number | null>((resolve) => server.on('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`console server exited ${code} before listening`)));
    });
    const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
      args: ['sh', '-c', 'tty; cat /proc/self/mountinfo'],
      config: (config) => {
        config.process!.terminal = true;
      },
    });
    const id = uniqueId();
    const create = await rt('create', '--bundle', bundle, '--console-socket', socketPath, id);
    t.equal(create.code, 0, `create: ${create.stderr}`);
    t.equal((await rt('start', id)).code, 0, 'start');
    await waitFor(() => fs.existsSync(resultPath), 15_000, 'console server result');
    await serverExit;
    const result = JSON.parse(fs.readFileSync(resultPath, 'utf8'));

    t.equal(result.count, 1, 'exactly one fd arrives over the console socket');
    const fdinfo: string = result.fdinfo ?? '';
    t.match(fdinfo, /^tty-index:\s*\d+$/m, `the fd is a pty master (fdinfo: ${JSON.stringify(fdinfo)})`);
    const output: string = (result.output ?? '').replace(/\r/g, '');
    t.match(output, /^\/dev\/pts\/0$/m, 'the container sees its terminal as /dev/pts/0 of a fresh devpts instance');

    const masterMount = /^mnt_id:\s*(\d+)$/m.exec(fdinfo)?.[1];
    const containerDevpts = output
      .split('\n')
      .map((line) => line.split(' '))
      .find((fields) => fields[4] === '/dev/pts' && fields[fields.indexOf('-') + 1] === 'devpts')?.[0];
    t.ok(containerDevpts, 'the container has a devpts mount at /dev/pts');
    t.equal(masterMount, containerDevpts, "the master belongs to the container's devpts mount");
    const hostDevpts = readMounts()
      .filter((m) => m.fsType === 'devpts')
      .map((m) => m.id);
    t.notOk(hostDevpts.includes(masterMount ?? ''), `the master is not from a host devpts (host: ${hostDevpts.join(', ')})`);

    await waitFor(async () => JSON.parse((await rt('state', id)).stdout).status === 'stopped', 5000, 'stopped');
    t.equal((await rt('delete', id)).code, 0, 'delete');
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
});
