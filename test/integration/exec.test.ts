// runts exec: one more process in a running container, with runc's semantics: it shares
// every namespace of the container (pid included, without being pid 1), takes its
// user/cwd/env/capabilities from the flags or from --process FILE, propagates its exit
// status, fails with 255 in runc's words, detaches with a pid file, relays a pty, and sees
// none of the caller's leaked fds.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runtimeEnv, runts, runtsRoot, runtsToFiles, RUNTS_BIN, tempDir, uniqueId, waitFor, type BundleConfig, type RuntsResult } from '../lib';

interface Running {
  root: string;
  id: string;
  initPid: number;
  rootfs: string;
  /** Scratch directory for output files and process.json files. */
  dir: string;
  /** `runts --root ROOT exec ...ARGS` with pipes (stdin: `input`). */
  exec(args: string[], input?: string): Promise<RuntsResult>;
}

/** A detached busybox container running `sleep 1000`, force-deleted by the test's own body. */
async function startContainer(t: Test, edit?: (config: BundleConfig) => void): Promise<Running> {
  leakGuard(t);
  const root = runtsRoot(t);
  const dir = tempDir(t, 'exec');
  const { bundle, rootfs } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'], config: edit });
  const id = uniqueId('exec');
  const run = await runtsToFiles(dir, ['--root', root, 'run', '-d', '-b', bundle, id]);
  t.equal(run.code, 0, `run -d: ${run.stderr}`);
  const state = JSON.parse((await runts(['--root', root, 'state', id])).stdout);
  return { root, id, initPid: state.pid, rootfs, dir, exec: (args, input) => runts(['--root', root, 'exec', ...args], { input }) };
}

async function deleteContainer(t: Test, c: Running): Promise<void> {
  const r = await runts(['--root', c.root, 'delete', '--force', c.id]);
  t.equal(r.code, 0, `delete --force: ${r.stderr}`);
}

const NS_FILES = ['pid', 'net', 'mnt', 'ipc', 'uts', 'cgroup', 'user', 'time'];

function isLive(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** "NAME:\tVALUE" lines of /proc/PID/status text as a map. */
function statusFields(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
}

const CAP_SYS_ADMIN = 21n;

t.test('exec into one running container', async (t) => {
  if (!requireRoot(t)) return;
  const c = await startContainer(t, (config) => {
    config.linux!.namespaces.push({ type: 'cgroup' });
    config.process!.noNewPrivileges = false;
    config.process!.env.push('FROM_CONFIG=yes');
  });
  let detachedPid = 0;

  await t.test('it shares every namespace and the root of the container', async (t) => {
    fs.writeFileSync(path.join(c.rootfs, 'marker'), 'inside the rootfs\n');
    const printNs = NS_FILES.map((f) => `echo ${f} $(readlink /proc/self/ns/${f})`).join('; ');
    const r = await c.exec([c.id, 'sh', '-c', `${printNs}; echo self $$; hostname; cat /marker; ps -o pid,comm`]);
    t.equal(r.code, 0, `exec: ${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    for (const file of NS_FILES) {
      const expected = fs.readlinkSync(`/proc/${c.initPid}/ns/${file}`);
      t.ok(lines.includes(`${file} ${expected}`), `${file} namespace is the init's (${expected})`);
    }
    const pid = Number(lines.find((l) => l.startsWith('self '))?.slice(5));
    t.ok(pid > 1, `the process has pid ${pid} in the container's pid namespace, not 1`);
    t.ok(lines.includes('runts'), "the container's hostname");
    t.ok(lines.includes('inside the rootfs'), "/ is the container's rootfs");
    t.match(r.stdout, /^\s*1\s+sleep$/m, 'ps in the container shows its init as pid 1');
    t.notMatch(r.stdout, /node|runts-init/, 'nothing of the runtime is visible in the container');
    // Both read from inside: cgroup mount roots print relative to the reader's cgroup namespace.
    const mounts = await c.exec([c.id, 'sh', '-c', 'cat /proc/self/mountinfo; echo ---; cat /proc/1/mountinfo']);
    const [own, init] = mounts.stdout.split('---\n');
    t.ok(own.split('\n').some((line) => line.split(' ')[4] === '/'), 'the process sees its root mount');
    t.equal(own, init, "the mount table is the container init's");
  });

  await t.test('user, groups, cwd, env, capabilities and no_new_privs from the flags', async (t) => {
    const show = 'id; pwd; echo "FOO=$FOO FROM_CONFIG=$FROM_CONFIG"; grep -E "^(CapBnd|CapEff|NoNewPrivs)" /proc/self/status';

    const plain = await c.exec([c.id, 'sh', '-c', show]);
    t.equal(plain.code, 0, `exec: ${plain.stderr}`);
    t.match(plain.stdout, /^uid=0\(root\) gid=0\(root\)/m, "the config's user by default");
    t.match(plain.stdout, /^\/$/m, "the config's cwd by default");
    t.match(plain.stdout, /^FOO= FROM_CONFIG=yes$/m, "the config's env");
    const plainStatus = statusFields(plain.stdout);
    t.equal(plainStatus.NoNewPrivs, '0', "the config's noNewPrivileges (false)");
    t.equal((BigInt(`0x${plainStatus.CapBnd}`) >> CAP_SYS_ADMIN) & 1n, 0n, 'no CAP_SYS_ADMIN by default');

    const flagged = await c.exec(['-u', '1000:1001', '-g', '10', '-g', '20', '--cwd', '/tmp', '-e', 'FOO=bar', '--no-new-privs', c.id, 'sh', '-c', show]);
    t.equal(flagged.code, 0, `exec with flags: ${flagged.stderr}`);
    t.match(flagged.stdout, /^uid=1000 gid=1001 groups=10,20$/m, 'uid, gid and additional gids from the flags');
    t.match(flagged.stdout, /^\/tmp$/m, 'cwd from --cwd');
    t.match(flagged.stdout, /^FOO=bar FROM_CONFIG=yes$/m, '--env adds to the config env');
    t.equal(statusFields(flagged.stdout).NoNewPrivs, '1', '--no-new-privs');

    const capped = await c.exec(['--cap', 'CAP_SYS_ADMIN', c.id, 'sh', '-c', show]);
    const capStatus = statusFields(capped.stdout);
    for (const set of ['CapBnd', 'CapEff']) {
      t.equal((BigInt(`0x${capStatus[set]}`) >> CAP_SYS_ADMIN) & 1n, 1n, `--cap adds CAP_SYS_ADMIN to ${set}`);
    }

    const badUser = await c.exec(['-u', 'abc', c.id, 'true']);
    t.equal(badUser.code, 255);
    t.match(badUser.stderr, 'exec failed: parsing abc as int for uid failed');
    const relative = await c.exec(['--cwd', 'tmp', c.id, 'true']);
    t.equal(relative.code, 255);
    t.match(relative.stderr, 'Cwd must be an absolute path');
    const noArgs = await c.exec([c.id]);
    t.equal(noArgs.code, 255);
    t.match(noArgs.stderr, 'process args cannot be empty');
  });

  await t.test('--process FILE gives the whole process; errors name the file', async (t) => {
    const file = path.join(c.dir, 'process.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ args: ['sh', '-c', 'id -u; pwd; echo "$ONLY"; echo "path=$PATH"'], cwd: '/tmp', env: ['ONLY=from-file', 'PATH=/bin'], user: { uid: 7, gid: 8 } }),
    );
    const r = await c.exec(['--process', file, c.id]);
    t.equal(r.code, 0, `exec --process: ${r.stderr}`);
    t.same(r.stdout.trim().split('\n'), ['7', '/tmp', 'from-file', 'path=/bin'], "uid, cwd and env from the file only (not the config's)");

    const invalid = path.join(c.dir, 'invalid.json');
    fs.writeFileSync(invalid, JSON.stringify({ args: ['true'] }));
    const bad = await c.exec(['-p', invalid, c.id]);
    t.equal(bad.code, 255);
    t.match(bad.stderr, /exec failed: .*cwd/i, 'the missing cwd is reported');
    // runc's message does not name the file; ours does.
    if (!process.env.RUNTS_BIN) t.match(bad.stderr, `${invalid}: must have required property 'cwd'`, 'the error names the file');
    const missing = await c.exec(['-p', path.join(c.dir, 'nope.json'), c.id]);
    t.equal(missing.code, 255);
    t.match(missing.stderr, `open ${path.join(c.dir, 'nope.json')}: no such file or directory`);
    // The file's env has no PATH: the lookup happens inside the container, with the process's env.
    fs.writeFileSync(invalid, JSON.stringify({ args: ['sh'], cwd: '/' }));
    const noPath = await c.exec(['-p', invalid, c.id]);
    t.equal(noPath.code, 255);
    t.match(noPath.stderr, /exec: \\?"sh\\?": executable file not found in \$PATH/);
  });

  await t.test('exit status: the process\'s own, 128+N for signal N, 255 when the exec fails', async (t) => {
    t.equal((await c.exec([c.id, 'sh', '-c', 'exit 7'])).code, 7);
    t.equal((await c.exec([c.id, 'sh', '-c', 'kill -TERM $$'])).code, 128 + 15);
    const missing = await c.exec([c.id, 'no-such-binary']);
    t.equal(missing.code, 255);
    t.match(missing.stderr, /exec failed: unable to start container process: exec: \\?"no-such-binary\\?": executable file not found in \$PATH/);
    const missingAbs = await c.exec([c.id, '/no/such']);
    t.equal(missingAbs.code, 255);
    t.match(missingAbs.stderr, /exec: \\?"\/no\/such\\?": stat \/no\/such: no such file or directory/);
    const badCwd = await c.exec(['--cwd', '/no/such', c.id, 'true']);
    t.equal(badCwd.code, 255);
    t.match(badCwd.stderr, /chdir to cwd \(\\?"\/no\/such\\?"\) set in config.json failed: no such file or directory/);
    // A foreground exec passes the signals it gets on to the process.
    const trapping = spawn(RUNTS_BIN, ['--root', c.root, 'exec', c.id, 'sh', '-c', 'trap "exit 42" TERM; echo ready; while :; do sleep 0.05; done'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: runtimeEnv(),
    });
    let trapOut = '';
    trapping.stdout.on('data', (d: Buffer) => (trapOut += d.toString()));
    const trapExit = new Promise<number | null>((resolve) => trapping.on('exit', (code) => resolve(code)));
    await waitFor(() => trapOut.includes('ready'), 10_000, 'the trapping shell runs');
    trapping.kill('SIGTERM');
    t.equal(await trapExit, 42, "SIGTERM to runts reaches the process; runts exits with the process's status");
    const echoed = await c.exec([c.id, 'sh', '-c', 'read line; echo "got $line"'], 'piped input\n');
    t.equal(echoed.stdout, 'got piped input\n', 'stdin is piped through');
  });

  await t.test('--detach --pid-file returns once the process runs in the container', async (t) => {
    const pidFile = path.join(c.dir, 'exec.pid');
    const r = await runtsToFiles(c.dir, ['--root', c.root, 'exec', '--detach', '--pid-file', pidFile, c.id, 'sleep', '1000']);
    t.equal(r.code, 0, `exec --detach: ${r.stderr}`);
    const text = fs.readFileSync(pidFile, 'utf8');
    t.match(text, /^\d+$/, 'the pid file holds a decimal pid, no newline');
    const pid = Number(text);
    t.ok(isLive(pid), `process ${pid} runs`);
    t.equal(fs.readlinkSync(`/proc/${pid}/ns/pid`), fs.readlinkSync(`/proc/${c.initPid}/ns/pid`), "it is in the container's pid namespace");
    t.equal(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\u00001000\u0000', 'it is the process, already exec\'d');
    t.equal(fs.readlinkSync(`/proc/${pid}/exe`), '/bin/busybox', 'its executable is the container\'s, not node or the helper');
    t.equal(fs.readlinkSync(`/proc/${pid}/root`), '/', "its root is its mount namespace's root");
    t.equal(statusFields(fs.readFileSync(`/proc/${pid}/status`, 'utf8')).NSpid.split(/\s+/).length, 2, 'it has a pid in the container too');
    t.equal(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'), fs.readFileSync(`/proc/${c.initPid}/cgroup`, 'utf8'), "it is in the container's cgroups");
    const ps = await c.exec([c.id, 'ps', '-o', 'comm']);
    t.equal(ps.stdout.split('\n').filter((l) => l === 'sleep').length, 2, 'the container sees its init and the detached process');
    detachedPid = pid;
  });

  await t.test('-t gives the process a pty from the container and relays it', async (t) => {
    // python3's pty module gives runts a controlling terminal of 30x100.
    const driver = [
      'import os, pty, sys, time, fcntl, termios, struct',
      'pid, fd = pty.fork()',
      'if pid == 0:',
      "    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))",
      '    os.execv(sys.argv[1], sys.argv[1:])',
      'time.sleep(0.5)',
      "os.write(fd, b'typed\\n')",
      "out = b''",
      'while True:',
      '    try: data = os.read(fd, 4096)',
      '    except OSError: break',
      '    if not data: break',
      '    out += data',
      '_, status = os.waitpid(pid, 0)',
      'sys.stdout.write(out.decode() + "\\nstatus=%d\\n" % os.waitstatus_to_exitcode(status))',
    ].join('\n');
    const script = 'tty; stty size; read line; echo "got $line"; exit 3';
    const child = spawn('python3', ['-c', driver, RUNTS_BIN, '--root', c.root, 'exec', '-t', c.id, 'sh', '-c', script], {
      env: runtimeEnv(),
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.on('close', resolve));
    t.match(out, /^\/dev\/pts\/\d+\r?$/m, "the process's stdio is a pty of the container's devpts");
    t.match(out, /^30 100\r?$/m, 'the window size of the caller');
    t.match(out, /^got typed\r?$/m, 'input is relayed');
    t.match(out, /^status=3$/m, "runts exits with the process's status");
  });

  await t.test('--detach --tty --console-socket sends the pty master (containerd, conmon)', async (t) => {
    const socketPath = path.join(c.dir, 'console.sock');
    // A console socket server: receives one fd, then reads the pty until the process is gone.
    const server = [
      'import os, socket, sys',
      'srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      'srv.bind(sys.argv[1]); srv.listen(1)',
      'print("ready", flush=True)',
      'conn, _ = srv.accept()',
      'msg, fds, _, _ = socket.recv_fds(conn, 4096, 4)',
      'print("payload=%s fds=%d" % (msg.decode(), len(fds)), flush=True)',
      "out = b''",
      'while True:',
      '    try: data = os.read(fds[0], 4096)',
      '    except OSError: break',
      '    if not data: break',
      '    out += data',
      'sys.stdout.write(out.decode())',
    ].join('\n');
    const child = spawn('python3', ['-c', server, socketPath]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise((resolve) => child.on('close', resolve));
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    // Python's start alone took over 5 s once on a loaded machine.
    await waitFor(() => out.includes('ready'), 30_000, 'console socket server ready');
    const pidFile = path.join(c.dir, 'exec.pid');
    const r = await runtsToFiles(c.dir, ['--root', c.root, 'exec', '--detach', '--tty', '--console-socket', socketPath, '--pid-file', pidFile, c.id, 'sh', '-c', 'tty; echo hello; sleep 0.3']);
    t.equal(r.code, 0, `exec -d -t --console-socket: ${r.stderr}`);
    t.match(fs.readFileSync(pidFile, 'utf8'), /^\d+$/, 'pid file written');
    await closed;
    t.match(out, /^payload=\/dev\/ptmx fds=1$/m, 'one message with exactly one fd');
    t.match(out, /^\/dev\/pts\/\d+\r?$/m, "the process's stdio is the pty");
    t.match(out, /^hello\r?$/m, 'its output arrives on the master');
  });

  await t.test('fds: leaked ones never reach the process, --preserve-fds ones do', async (t) => {
    const secret = path.join(c.dir, 'secret');
    fs.writeFileSync(secret, 'host secret\n');
    const fd = fs.openSync(secret, 'r');
    try {
      const probe = 'for n in 3 4; do [ -e /proc/self/fd/$n ] && echo "fd $n: $(cat <&$n)"; done; echo done';
      // fds 3 and 4 are open in runts (leaked by the caller, not close-on-exec).
      const leaked = await runtsToFiles(c.dir, ['--root', c.root, 'exec', c.id, 'sh', '-c', probe], { extraFds: [fd, fd] });
      t.equal(leaked.code, 0, `exec: ${leaked.stderr}`);
      t.equal(leaked.stdout, 'done\n', 'no inherited fd beyond stdio');
      const preserved = await runtsToFiles(c.dir, ['--root', c.root, 'exec', '--preserve-fds', '1', c.id, 'sh', '-c', probe], { extraFds: [fd, fd] });
      t.equal(preserved.code, 0, `exec --preserve-fds 1: ${preserved.stderr}`);
      t.equal(preserved.stdout, 'fd 3: host secret\ndone\n', 'fd 3 passes, fd 4 does not');
    } finally {
      fs.closeSync(fd);
    }
    // CVE-2024-21626: a host directory fd must never become the process's cwd.
    const hostDir = fs.openSync(c.dir, 'r');
    try {
      const leakedCwd = await runtsToFiles(c.dir, ['--root', c.root, 'exec', '--cwd', '/proc/self/fd/4', c.id, 'pwd'], { extraFds: [hostDir, hostDir] });
      t.equal(leakedCwd.code, 255, 'cwd through a leaked fd: the fd is closed before chdir');
      t.equal(leakedCwd.stdout, '');
      const preservedCwd = await runtsToFiles(c.dir, ['--root', c.root, 'exec', '--preserve-fds', '1', '--cwd', '/proc/self/fd/3', c.id, 'pwd'], { extraFds: [hostDir] });
      t.equal(preservedCwd.code, 255, 'cwd through a preserved host directory fd is refused');
      t.equal(preservedCwd.stdout, '');
      if (!process.env.RUNTS_BIN) t.match(preservedCwd.stderr, 'cwd escapes the container root', "runts's reason");
    } finally {
      fs.closeSync(hostDir);
    }
  });

  await deleteContainer(t, c);
  await waitFor(() => !isLive(detachedPid), 5000, "delete --force kills the detached exec'd process with the container");
});

t.test('exec into a created container works (as in runc), into a stopped or missing one fails', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const dir = tempDir(t, 'exec');
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['true'] });
  const id = uniqueId('exec');
  const create = await runtsToFiles(dir, ['--root', root, 'create', '-b', bundle, id]);
  t.equal(create.code, 0, `create: ${create.stderr}`);
  const inCreated = await runts(['--root', root, 'exec', id, 'sh', '-c', 'echo $$']);
  t.equal(inCreated.code, 0, `exec into a created container: ${inCreated.stderr}`);
  t.not(inCreated.stdout.trim(), '1', 'the waiting init keeps pid 1');

  const start = await runts(['--root', root, 'start', id]);
  t.equal(start.code, 0, `start: ${start.stderr}`);
  const { pid } = JSON.parse((await runts(['--root', root, 'state', id])).stdout);
  await waitFor(() => !isLive(pid), 5000, 'the init exits');
  const stopped = await runts(['--root', root, 'exec', id, 'true']);
  t.equal(stopped.code, 255);
  t.match(stopped.stderr, 'exec failed: cannot exec in a stopped container');
  t.equal((await runts(['--root', root, 'delete', id])).code, 0);

  const missing = await runts(['--root', root, 'exec', id, 'true']);
  t.equal(missing.code, 255);
  t.match(missing.stderr, 'container does not exist');
});

t.test('a paused container refuses exec unless --ignore-paused, which waits for resume', async (t) => {
  if (!requireRoot(t)) return;
  const c = await startContainer(t);
  const pause = await runts(['--root', c.root, 'pause', c.id]);
  t.equal(pause.code, 0, `pause: ${pause.stderr}`);
  const refused = await c.exec([c.id, 'echo', 'ok']);
  t.equal(refused.code, 255);
  t.match(refused.stderr, 'exec failed: cannot exec in a paused container (use --ignore-paused to override)');
  // The process joins the frozen cgroups and runs once the container is resumed.
  const ignoring = c.exec(['--ignore-paused', c.id, 'echo', 'ok']);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const resume = await runts(['--root', c.root, 'resume', c.id]);
  t.equal(resume.code, 0, `resume: ${resume.stderr}`);
  const ran = await ignoring;
  t.equal(ran.code, 0, `exec --ignore-paused: ${ran.stderr}`);
  t.equal(ran.stdout, 'ok\n');
  await deleteContainer(t, c);
});
