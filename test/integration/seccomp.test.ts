// linux.seccomp in real containers: errno, default actions, kill, argument conditions,
// podman's default profile, the load order without no_new_privs, and seccomp notify with
// an agent at listenerPath (runc's protocol: state JSON + the listener fd over SCM_RIGHTS).
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, onCleanup, requireRoot, runts, runtsRoot, tempDir, uniqueId, waitFor, type Bundle, type BundleConfig, type RuntsResult } from '../lib';
import { PODMAN_PROFILE, podmanSeccomp } from '../seccomp/podman-profile';

const NR = { mkdir: 83, personality: 135, kexec_load: 246, perf_event_open: 298 };

// A static probe copied into the rootfs: `probe NR [ARG...]` prints "ok RET" or "err ERRNO".
const PROBE_SOURCE = `
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  unsigned long a[6] = {0};
  if (argc < 2) return 2;
  for (int i = 2; i < argc && i < 8; i++) a[i - 2] = strtoul(argv[i], NULL, 0);
  long r = syscall(strtol(argv[1], NULL, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
  if (r < 0) printf("err %d\\n", errno); else printf("ok %ld\\n", r);
  return 0;
}
`;

/** Compiled once per test file, in t.before. */
let probeBinary = '';

async function bundleWith(t: Test, script: string, seccomp: Record<string, any>, edit?: (c: BundleConfig) => void): Promise<Bundle> {
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', script],
    config: (c) => {
      c.root.readonly = false; // so that a denied mkdir is the filter's doing
      c.linux!.seccomp = seccomp;
      edit?.(c);
    },
  });
  fs.copyFileSync(probeBinary, path.join(made.rootfs, 'probe'));
  return made;
}

async function run(t: Test, made: Bundle): Promise<RuntsResult> {
  return runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('sc')]);
}

t.before(() => {
  const dir = fs.mkdtempSync('/tmp/runts-seccomp-probe-');
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'probe.c'), PROBE_SOURCE);
  execFileSync('gcc', ['-static', '-O2', '-o', path.join(dir, 'probe'), path.join(dir, 'probe.c')]);
  probeBinary = path.join(dir, 'probe');
});

t.test('a denied mkdir with errnoRet 38 fails with "Function not implemented"', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const made = await bundleWith(t, 'mkdir /tmp/x; echo "rc=$?"; ls / >/dev/null && echo ls-ok', {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
  });
  const result = await run(t, made);
  t.equal(result.code, 0, `run exits 0 (stderr: ${result.stderr.trim()})`);
  t.match(result.stderr, /mkdir: can't create directory '\/tmp\/x': Function not implemented/);
  t.match(result.stdout, /rc=1\nls-ok/);
});

t.test('defaultAction ERRNO with an allow list', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const { SYSCALLS_X86_64 } = await import('../../src/seccomp/generated/syscalls');
  const allowed = [...SYSCALLS_X86_64.keys()].filter((name) => !['mkdir', 'mkdirat', 'uname'].includes(name));
  // uname(NULL) fails with EFAULT when the kernel gets to run it.
  const made = await bundleWith(t, 'mkdir /tmp/x; echo "mkdir=$?"; /probe 63 0; echo still-running', {
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [{ names: allowed, action: 'SCMP_ACT_ALLOW' }],
  });
  const result = await run(t, made);
  t.equal(result.code, 0, `run exits 0 (stderr: ${result.stderr.trim()})`);
  t.match(result.stderr, /Operation not permitted/, 'the default errno is EPERM');
  t.equal(result.stdout, 'mkdir=1\nerr 1\nstill-running\n', 'mkdir and uname get EPERM, the rest runs');
});

t.test('SCMP_ACT_KILL kills the process with SIGSYS (128+31)', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const made = await bundleWith(t, 'mkdir /tmp/x; echo "status=$?"', {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_KILL' }],
  });
  const result = await run(t, made);
  t.equal(result.code, 0, `run exits 0 (stderr: ${result.stderr.trim()})`);
  t.match(result.stdout, /status=159/);
  t.match(result.stderr, /Bad system call/);
});

t.test('argument conditions: only personality(0xffffffff) is denied, 64-bit values compared whole', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const p = NR.personality;
  const made = await bundleWith(t, `/probe ${p} 0xffffffff; /probe ${p} 0x1ffffffff; /probe ${p} 0; /probe ${p} 8`, {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_EQ' }] }],
  });
  const result = await run(t, made);
  t.equal(result.code, 0, `run exits 0 (stderr: ${result.stderr.trim()})`);
  t.strictSame(result.stdout.trim().split('\n'), ['err 22', 'ok 0', 'ok 0', 'ok 0'], 'only the exact 64-bit value matches');
});

t.test('without noNewPrivileges the filter is loaded before the user switch (it needs CAP_SYS_ADMIN)', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  for (const noNewPrivileges of [false, true]) {
    const made = await bundleWith(
      t,
      `id -u; /probe ${NR.mkdir} 0`,
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 5 }] },
      (c) => {
        c.process!.noNewPrivileges = noNewPrivileges;
        c.process!.user = { uid: 1000, gid: 1000 };
      },
    );
    const result = await run(t, made);
    t.equal(result.code, 0, `noNewPrivileges ${noNewPrivileges}: run exits 0 (stderr: ${result.stderr.trim()})`);
    t.equal(result.stdout, '1000\nerr 5\n', `noNewPrivileges ${noNewPrivileges}: uid 1000 under the filter`);
  }
});

t.test('with noNewPrivileges the filter comes last: the runtime\'s own setup syscalls are not filtered (rule 14)', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const setupSyscalls = ['mount', 'umount2', 'pivot_root', 'sethostname', 'setgroups', 'setresuid', 'setresgid', 'capset', 'close_range', 'umask', 'chdir', 'prctl'];
  const made = await bundleWith(t, 'echo started', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: setupSyscalls, action: 'SCMP_ACT_ERRNO' }] }, (c) => {
    c.process!.noNewPrivileges = true;
  });
  const result = await run(t, made);
  t.equal(result.code, 0, `run exits 0 (stderr: ${result.stderr.trim()})`);
  t.equal(result.stdout, 'started\n');
});

t.test('podman\'s default profile: a busybox shell runs, denied syscalls fail', { skip: !fs.existsSync(PODMAN_PROFILE) && `${PODMAN_PROFILE} is not installed` }, async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  let seccomp: Record<string, any> = {};
  const script = [
    'echo hello',
    'ls / >/dev/null && echo ls-ok',
    'mkdir /tmp/d && rmdir /tmp/d && echo dir-ok',
    'grep "^Seccomp:" /proc/self/status',
    `/probe ${NR.kexec_load} 0 0 0 0`,
    `/probe ${NR.perf_event_open} 0 0 0 0 0`,
    '/probe 1000',
    `/probe ${NR.personality} 0x1234`,
  ].join('; ');
  const made = await bundleWith(t, script, {}, (c) => {
    seccomp = podmanSeccomp(c.process!.capabilities!.bounding);
    c.linux!.seccomp = seccomp;
  });
  t.ok(seccomp.syscalls.length > 10, 'profile converted');
  const result = await run(t, made);
  t.equal(result.code, 0, `run exits 0 (stderr: ${result.stderr.trim()})`);
  t.strictSame(result.stdout.trim().split('\n'), [
    'hello',
    'ls-ok',
    'dir-ok',
    'Seccomp:\t2',
    'err 1', // kexec_load: the profile's EPERM rule
    'err 1', // perf_event_open without CAP_SYS_ADMIN (the kernel alone says EFAULT)
    'err 38', // no such syscall: ENOSYS
    'err 38', // a persona the profile does not allow: the default ENOSYS
  ]);
});

t.test('SCMP_ACT_NOTIFY: the agent at listenerPath gets the state and the listener fd', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const dir = tempDir(t, 'agent');
  const socketPath = path.join(dir, 'agent.sock');
  const report = path.join(dir, 'report.json');
  // The agent records the message, then answers every notification with a fake success.
  const agentScript = `
import array, fcntl, json, socket, struct, sys
path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
open(out + '.ready', 'w').close()
conn, _ = srv.accept()
fds = array.array('i')
msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_LEN(4 * fds.itemsize))
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
calls = []
def save():
    with open(out + '.tmp', 'w') as f:
        json.dump({'message': json.loads(msg), 'fds': len(fds), 'calls': calls}, f)
    import os; os.rename(out + '.tmp', out)
save()
while True:
    buf = bytearray(80)
    try:
        fcntl.ioctl(fds[0], 0xc0502100, buf)  # SECCOMP_IOCTL_NOTIF_RECV
    except OSError:
        break  # no task uses the filter any more
    nid, pid, flags, nr = struct.unpack_from('=QIIi', buf)
    fcntl.ioctl(fds[0], 0xc0182101, struct.pack('=QqiI', nid, 0, 0, 0))  # NOTIF_SEND: return 0
    calls.append(nr)
    save()
`;
  fs.writeFileSync(path.join(dir, 'agent.py'), agentScript);
  // Debian's python3 itself: a version manager's shim starts slowly and outlives a kill.
  const agent = spawn('/usr/bin/python3', [path.join(dir, 'agent.py'), socketPath, report], { stdio: 'ignore' });
  const agentExited = new Promise<void>((resolve) => agent.once('exit', () => resolve()));
  onCleanup(t, 'graceful', async () => {
    if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    await agentExited;
  });
  await waitFor(() => fs.existsSync(`${report}.ready`), 10_000, 'the agent listening');

  const made = await bundleWith(t, 'mkdir /tmp/x; echo "rc=$?"; test -d /tmp/x && echo exists || echo absent', {
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath: socketPath,
    listenerMetadata: 'test-metadata',
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
  });
  const id = uniqueId('sc');
  const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, id]);
  t.equal(result.code, 0, `run exits 0 (stderr: ${result.stderr.trim()})`);
  t.equal(result.stdout, 'rc=0\nabsent\n', 'the agent answered mkdir with success without creating the directory');

  const got = JSON.parse(fs.readFileSync(report, 'utf8'));
  t.equal(got.fds, 1, 'one fd over SCM_RIGHTS');
  t.strictSame(got.calls, [NR.mkdir], 'the agent saw the mkdir notification');
  t.match(got.message, {
    ociVersion: String,
    fds: ['seccompFd'],
    pid: Number,
    metadata: 'test-metadata',
    state: { id, status: 'creating', bundle: made.bundle },
  });
  t.equal(got.message.pid, got.message.state.pid, 'pid is the container init\'s');
});

t.test('SCMP_ACT_NOTIFY without a listening agent fails at create', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const socketPath = path.join(tempDir(t, 'agent'), 'nobody.sock');
  const made = await bundleWith(t, 'true', {
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath: socketPath,
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
  });
  const result = await run(t, made);
  t.not(result.code, 0);
  t.match(result.stderr, `failed to connect with seccomp agent specified in the seccomp profile: dial unix ${socketPath}`);
});
