// Seccomp profiles that deny close_range (issue #12 item 2, security rules 4 and 14): Docker's
// and runtime-tools' default profiles from before Linux 5.9 have no close_range, and their
// default action is an errno. The helper marks inherited fds close-on-exec before it loads the
// user's filter, and falls back to one fd at a time where close_range itself fails (an older
// kernel, or a filter the caller runs the runtime under).
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runts, runtimeEnv, runtsRoot, tempDir, uniqueId, type Bundle } from '../lib';
import { legacySeccomp } from '../seccomp/legacy-profile';

// `deny-close-range ERRNO PROGRAM ARGS...`: runs PROGRAM under a seccomp filter that fails
// close_range with ERRNO, as a kernel before 5.9 (ENOSYS) or a caller's profile (EPERM) does.
// The filter is inherited by everything PROGRAM starts, the init helper included.
const WRAPPER_SOURCE = `
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  unsigned err = (unsigned)atoi(argv[1]);
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 436 /* close_range, x86_64 */, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) { perror("seccomp"); return 2; }
  execv(argv[2], argv + 2);
  perror("execv");
  return 2;
}
`;

let wrapper = '';

t.before(() => {
  const dir = fs.mkdtempSync('/tmp/runts-close-range-');
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'wrapper.c'), WRAPPER_SOURCE);
  execFileSync('gcc', ['-O2', '-o', path.join(dir, 'deny-close-range'), path.join(dir, 'wrapper.c')]);
  wrapper = path.join(dir, 'deny-close-range');
});

/** The fd numbers `ls` printed, one per line. */
const fdList = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);

// ls lists the shell's fds, not its own ("; true" stops sh from exec'ing ls in its place).
const LIST_FDS = 'ls /proc/$$/fd; true';

async function legacyBundle(t: Test, noNewPrivileges: boolean, args = ['sh', '-c', `echo started; ${LIST_FDS}`]): Promise<Bundle> {
  return makeBundle(tempDir(t, 'bundle'), {
    args,
    config: (c) => {
      c.process!.noNewPrivileges = noNewPrivileges;
      c.linux!.seccomp = legacySeccomp();
    },
  });
}

/** Runs PROGRAM ARGS with fds 3 and 7 leaked (open directories, not close-on-exec). */
function runLeaking(t: Test, program: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const leakedDir = fs.openSync(tempDir(t, 'leaked'), 'r');
  const leakedCgroup = fs.openSync('/sys/fs/cgroup', 'r');
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe', leakedDir, 'ignore', 'ignore', 'ignore', leakedCgroup], env: runtimeEnv() });
  fs.closeSync(leakedDir);
  fs.closeSync(leakedCgroup);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => out.push(c));
  child.stderr!.on('data', (c: Buffer) => err.push(c));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

t.test('a profile without close_range (Docker 19.03, runtime-tools), noNewPrivileges false and true: the container runs, as under runc', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const runcRoot = tempDir(t, 'runc-root');
  for (const noNewPrivileges of [false, true]) {
    const made = await legacyBundle(t, noNewPrivileges);
    const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('cr')]);
    t.equal(result.code, 0, `runts, noNewPrivileges ${noNewPrivileges}: exits 0 (stderr: ${result.stderr.trim()})`);
    t.equal(result.stdout.split('\n')[0], 'started', `runts, noNewPrivileges ${noNewPrivileges}: the process ran`);
    t.same(fdList(result.stdout), [0, 1, 2], 'only stdio reaches the container');
    // The reference: runc 1.1.5 runs the same bundle.
    const runc = await runLeaking(t, 'runc', ['--root', runcRoot, 'run', '-b', made.bundle, uniqueId('cr')]);
    t.equal(runc.code, 0, `runc, noNewPrivileges ${noNewPrivileges}: exits 0 (stderr: ${runc.stderr.trim()})`);
  }
});

t.test('close_range failing (ENOSYS as before Linux 5.9, EPERM from a filter): leaked fds still never reach the container', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  for (const [name, errno] of [['ENOSYS', 38], ['EPERM', 1]] as const) {
    for (const noNewPrivileges of [false, true]) {
      const made = await legacyBundle(t, noNewPrivileges);
      const result = await runLeaking(t, wrapper, [String(errno), process.execPath, ...runtsArgv(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('cr')])]);
      const what = `close_range ${name}, noNewPrivileges ${noNewPrivileges}`;
      t.equal(result.code, 0, `${what}: run exits 0 (stderr: ${result.stderr.trim()})`);
      t.same(fdList(result.stdout), [0, 1, 2], `${what}: leaked fds 3 and 7 are closed (got ${JSON.stringify(result.stdout)})`);
    }
  }
});

t.test('close_range failing in `runts exec`: leaked fds never reach the exec\'d process', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const id = uniqueId('cr');
  // No profile on the container: the exec's own helper meets the failing close_range.
  const made = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '300'] });
  const started = await runts(['--root', root, 'run', '-d', '-b', made.bundle, id]);
  t.equal(started.code, 0, `run -d: ${started.stderr.trim()}`);
  t.teardown(() => runts(['--root', root, 'delete', '--force', id]));
  const result = await runLeaking(t, wrapper, ['38', process.execPath, ...runtsArgv(['--root', root, 'exec', id, 'sh', '-c', LIST_FDS])]);
  t.equal(result.code, 0, `exec exits 0 (stderr: ${result.stderr.trim()})`);
  t.same(fdList(result.stdout), [0, 1, 2], `only stdio reaches the exec'd process (got ${JSON.stringify(result.stdout)})`);
});

/** node's argv for bin/runts ARGS (the wrapper execs node itself: bin/runts is a script). */
function runtsArgv(args: string[]): string[] {
  return [path.join(__dirname, '..', '..', 'bin', 'runts'), ...args];
}
