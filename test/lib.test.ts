// Self-test of the integration-test helpers in test/lib (needs no built runtime).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import {
  defaultConfig,
  leakGuard,
  makeBundle,
  readMounts,
  requireRoot,
  runtsRoot,
  startLeakWatch,
  tempDir,
  uniqueId,
  waitFor,
} from './lib';
import { makeRuntimeTmpdir, RUNTIME_TMPDIR, runtimeEnv } from './lib/runts';

t.test('uniqueId gives distinct IDs in the runtime-spec ID alphabet', async (t) => {
  const a = uniqueId('x');
  const b = uniqueId('x');
  t.not(a, b);
  t.match(a, /^x-[A-Za-z0-9_+.-]+$/);
});

t.test('waitFor resolves to the first truthy value and times out with a message', async (t) => {
  let calls = 0;
  t.equal(await waitFor(() => (++calls >= 3 ? 'done' : ''), 1000), 'done');
  await t.rejects(waitFor(() => false, 50, 'never'), /never not met within 50 ms/);
});

t.test('makeBundle writes a busybox rootfs and the default config', async (t) => {
  leakGuard(t);
  const b = await makeBundle(tempDir(t, 'bundle'), {
    args: ['echo', 'hi'],
    config: (c) => {
      c.hostname = 'edited';
    },
  });
  t.equal(fs.readlinkSync(path.join(b.rootfs, 'bin/sh')), '/bin/busybox');
  t.ok(fs.statSync(path.join(b.rootfs, 'bin/busybox')).mode & 0o111, 'busybox is executable');
  for (const dir of ['proc', 'sys', 'dev', 'tmp']) t.ok(fs.statSync(path.join(b.rootfs, dir)).isDirectory(), dir);
  t.match(fs.readFileSync(path.join(b.rootfs, 'etc/passwd'), 'utf8'), /^root:x:0:0:.*\nnobody:x:65534:65534:/);
  t.match(fs.readFileSync(path.join(b.rootfs, 'etc/group'), 'utf8'), /^root:x:0:\nnobody:x:65534:/);
  const written = JSON.parse(fs.readFileSync(b.configPath, 'utf8'));
  t.same(written.process.args, ['echo', 'hi']);
  t.equal(written.process.terminal, false);
  t.equal(written.hostname, 'edited');
  t.equal(written.root.path, 'rootfs');
  t.notOk('resources' in written.linux, 'no linux.resources');
  t.same((await defaultConfig()).process?.args, ['sh']);
});

t.test('runtsRoot is an empty directory that goes away at teardown', async (t) => {
  let root = '';
  t.test('inner', async (t) => {
    root = runtsRoot(t);
    t.same(fs.readdirSync(root), []);
  });
  await t.test('after teardown', async (t) => {
    t.notOk(fs.existsSync(root), `${root} removed`);
  });
});

t.test('the leak watch finds and removes a mount, a process, a cgroup, state and temp files', async (t) => {
  if (!requireRoot(t)) return;
  const dir = tempDir(t, 'leaky');
  const root = runtsRoot(t);
  const id = uniqueId('leak');
  const leakWatch = startLeakWatch();
  t.same(await leakWatch.findLeaks(0), [], 'nothing leaked yet');

  const mountPoint = path.join(dir, 'mnt');
  fs.mkdirSync(mountPoint);
  spawnSyncOk('mount', ['-t', 'tmpfs', 'leaktest', mountPoint]);
  const sleeper = spawn('sleep', ['60'], { cwd: dir, stdio: 'ignore', detached: true });
  sleeper.unref();
  // The cgroup2 mount: /sys/fs/cgroup/unified on a hybrid host like this one, else /sys/fs/cgroup.
  const cgroup2 = fs.existsSync('/sys/fs/cgroup/unified') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
  const cgroup = path.join(cgroup2, id);
  fs.mkdirSync(cgroup);
  fs.mkdirSync(path.join(root, id));
  makeRuntimeTmpdir();
  fs.writeFileSync(path.join(RUNTIME_TMPDIR, `${id}.tmp`), '');

  const leaks = await leakWatch.findLeaks(0);
  t.match(leaks.join('\n'), `mount tmpfs leaktest on ${mountPoint}`);
  t.match(leaks.join('\n'), `process ${sleeper.pid} `);
  t.match(leaks.join('\n'), `cgroup ${cgroup}`);
  t.match(leaks.join('\n'), `file ${path.join(root, id)}`, 'a state dir');
  t.match(leaks.join('\n'), `file ${path.join(RUNTIME_TMPDIR, `${id}.tmp`)}`);
  t.same(await leakWatch.removeLeftovers(), [], 'everything removed');
  t.same(await leakWatch.findLeaks(0), [], 'nothing left');
  t.notOk(readMounts().some((m) => m.mountPoint === mountPoint), 'unmounted');
});

function spawnSyncOk(cmd: string, args: string[]): void {
  const { status, stderr } = spawnSync(cmd, args, { encoding: 'utf8' });
  if (status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${status}: ${stderr}`);
}

t.test("node children of a test load none of tap's hooks (they made every runts call ~170 ms slower)", async (t) => {
  const script = "process.stdout.write(process.env.NODE_OPTIONS ?? '')";
  for (const [how, env] of [
    ['the env the tests give runts', runtimeEnv()],
    ["this process's own env", process.env],
  ] as const) {
    const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
    t.notMatch(r.stdout, /tapjs|processinfo/, `${how}: no tap loader in NODE_OPTIONS`);
  }
});
