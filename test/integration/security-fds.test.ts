// Security rules about file descriptors and the working directory (SECURITY.md 4, 5, 10):
// fds inherited from the caller never reach the container (CVE-2024-21626), the cwd is
// verified after chdir, and the waiting init holds exec.fifo only as an O_PATH fd.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { makeBundle, requireRoot, runtimeEnv, tempDir, uniqueId, waitFor, type BundleConfig } from '../lib';
import { createOk, fdFlags, O_PATH, processFds, setup, spawnRuntime } from '../fixtures/security/helpers';

/** A host directory holding a marker file: if the container ever lists it, it escaped. */
function hostDir(t: Test): { dir: string; marker: string } {
  const dir = tempDir(t, 'hostdir');
  const marker = `HOST-MARKER-${path.basename(dir)}`;
  fs.writeFileSync(path.join(dir, marker), 'host\n');
  return { dir, marker };
}

/**
 * `runts run` from a hostile caller: fd 3 and fd 7 of the runtime are open directories
 * (the marker dir and /sys/fs/cgroup), not close-on-exec.
 */
async function runWithLeakedFds(t: Test, root: string, bundle: string, id: string, extraArgs: string[] = []) {
  const leakedDir = fs.openSync(hostDir(t).dir, 'r');
  const leakedCgroup = fs.openSync('/sys/fs/cgroup', 'r');
  try {
    const runtime = spawnRuntime(
      ['--root', root, 'run', ...extraArgs, '--bundle', bundle, id],
      ['ignore', 'pipe', 'pipe', leakedDir, 'ignore', 'ignore', 'ignore', leakedCgroup],
      runtimeEnv(),
    );
    return await runtime.done;
  } finally {
    fs.closeSync(leakedDir);
    fs.closeSync(leakedCgroup);
  }
}

/** The fd numbers `ls` printed, one per line. */
const fdList = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);

t.test('rule 4: fds leaked by the caller are closed before the container runs', async (t) => {
  if (!requireRoot(t)) return;
  const { root } = setup(t);
  // ls lists the shell's fds, not its own ("; true" stops sh from exec'ing ls in its place).
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', 'ls /proc/$$/fd; true'] });
  const run = await runWithLeakedFds(t, root, bundle, uniqueId());
  t.equal(run.code, 0, `run: ${run.stderr}`);
  t.same(fdList(run.stdout), [0, 1, 2], `only stdio reaches the container (got ${JSON.stringify(run.stdout)})`);
});

t.test('rule 4: --preserve-fds keeps exactly its range', async (t) => {
  if (!requireRoot(t)) return;
  const { root } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', 'ls /proc/$$/fd; echo LISTEN_FDS=$LISTEN_FDS'] });
  const run = await runWithLeakedFds(t, root, bundle, uniqueId(), ['--preserve-fds', '1']);
  t.equal(run.code, 0, `run: ${run.stderr}`);
  t.same(fdList(run.stdout), [0, 1, 2, 3], 'fd 3 is preserved, fd 7 is not');
  t.match(run.stdout, /LISTEN_FDS=1/);
});

t.test('rule 4: cwd through a leaked or internal fd (/proc/self/fd/N) never lands on the host', async (t) => {
  if (!requireRoot(t)) return;
  const { root } = setup(t);
  // Without --preserve-fds every N is gone or internal; with it, fd 3 is a live host directory.
  const cases: [number, string[]][] = [[3, []], [4, []], [5, []], [7, []], [3, ['--preserve-fds', '1']]];
  for (const [fd, extraArgs] of cases) {
    const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
      args: ['sh', '-c', 'pwd; ls -a'],
      config: (config) => {
        config.process!.cwd = `/proc/self/fd/${fd}`;
      },
    });
    const run = await runWithLeakedFds(t, root, bundle, uniqueId(), extraArgs);
    const what = `cwd /proc/self/fd/${fd} ${extraArgs.join(' ')}: exit ${run.code}, stdout ${JSON.stringify(run.stdout)}, stderr ${JSON.stringify(run.stderr)}`;
    t.notMatch(run.stdout, /HOST-MARKER|state\.json|exec\.fifo|\(unreachable\)/, `no host directory is visible: ${what}`);
    if (run.code === 0) {
      t.match(run.stdout.split('\n')[0], /^\//, `a successful start has a cwd inside the container: ${what}`);
    } else {
      t.ok(run.stderr.includes(`/proc/self/fd/${fd}`) || /cwd/.test(run.stderr), `a refusal names the cwd: ${what}`);
    }
  }
});

t.test('rule 5: a cwd reached through another process (/proc/PID/cwd, shared PID namespace) is refused', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const { dir, marker } = hostDir(t);
  // A host process whose cwd is the marker dir; the container shares the host PID namespace.
  const sleeper = spawn('sleep', ['60'], { cwd: dir, stdio: 'ignore' });
  try {
    const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
      args: ['sh', '-c', 'pwd; ls -a'],
      config: (config) => {
        config.linux!.namespaces = config.linux!.namespaces.filter((ns: { type: string }) => ns.type !== 'pid');
        config.process!.cwd = `/proc/${sleeper.pid}/cwd`;
      },
    });
    const run = await rt('run', '--bundle', bundle, uniqueId());
    t.notMatch(run.stdout, new RegExp(marker), 'the container never lists the host directory');
    t.not(run.code, 0, 'run fails');
    // Refused either while creating the cwd inside the rootfs (a magic link) or by the
    // getcwd() check after chdir.
    t.ok(
      run.stderr.includes(`/proc/${sleeper.pid}/cwd`) || /cwd escapes the container root|outside of container/.test(run.stderr),
      `refused with a clear message: ${run.stderr}`,
    );
  } finally {
    sleeper.kill('SIGKILL');
  }
});

t.test('rule 5: cwd through symlinks and .. in the image stays inside the rootfs', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const cases: [string, (rootfs: string) => void][] = [
    ['/evil-abs', (rootfs) => fs.symlinkSync('/..', path.join(rootfs, 'evil-abs'))],
    ['/evil-rel', (rootfs) => fs.symlinkSync('../../../../../../../..', path.join(rootfs, 'evil-rel'))],
    ['/proc/self/cwd/../..', () => {}],
    ['/proc/self/root/..', () => {}],
  ];
  for (const [cwd, prepare] of cases) {
    const { bundle, rootfs } = await makeBundle(tempDir(t, 'bundle'), {
      args: ['sh', '-c', 'pwd; ls -a'],
      config: (config: BundleConfig) => {
        config.process!.cwd = cwd;
      },
    });
    fs.writeFileSync(path.join(rootfs, 'ROOTFS-MARKER'), '');
    prepare(rootfs);
    const run = await rt('run', '--bundle', bundle, uniqueId());
    const what = `cwd ${cwd}: exit ${run.code}, stdout ${JSON.stringify(run.stdout)}, stderr ${JSON.stringify(run.stderr)}`;
    t.equal(run.code, 0, what);
    t.equal(run.stdout.split('\n')[0], '/', `the process starts in the container's / (${cwd})`);
    t.match(run.stdout, /ROOTFS-MARKER/, `and sees the container's root, not the host's (${cwd})`);
  }
});

t.test('rule 10: the waiting init holds exec.fifo only as O_PATH and nothing else of the state dir', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '100'] });
  const id = uniqueId();
  const pid = await createOk(t, rt, bundle, id);
  const stateDir = path.join(root, id);

  const fds = processFds(pid);
  const intoState = [...fds].filter(([, target]) => target.startsWith(root));
  t.same(
    intoState.map(([, target]) => target),
    [path.join(stateDir, 'exec.fifo')],
    `the init's only fd under the state root is exec.fifo (fds: ${JSON.stringify([...fds])})`,
  );
  for (const [fd] of intoState) {
    t.ok(fdFlags(pid, fd) & O_PATH, `fd ${fd} to exec.fifo is O_PATH (flags 0${fdFlags(pid, fd).toString(8)})`);
  }
  t.same(
    [...fds.keys()].filter((fd) => fd > 2 && !intoState.some(([f]) => f === fd)),
    [],
    'the init holds no other fd beyond stdio',
  );

  t.equal((await rt('start', id)).code, 0, 'start');
  await waitFor(() => fs.readlinkSync(`/proc/${pid}/exe`).endsWith('busybox'), 5000, 'exec of the user process');
  const after = [...processFds(pid)];
  t.same(
    after.filter(([, target]) => target.startsWith(root)),
    [],
    `after start the container process holds no fd of the state dir (fds: ${JSON.stringify(after)})`,
  );
  t.same(
    after.map(([fd]) => fd).sort(),
    [0, 1, 2],
    'only stdio',
  );
  t.equal((await rt('delete', '--force', id)).code, 0, 'delete --force');
});
