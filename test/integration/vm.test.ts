// The cgroup v2 guest (test/vm/cg2vm) itself: one boot runs several checks in a shell script
// (the guest has a pure cgroup v2 hierarchy with the controllers on, bin/runts runs a busybox
// container there, output and exit status come back); then the runner's own exit codes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { RUNTS_BIN, leakGuard, makeBundle, tempDir, uniqueId } from '../lib';
import { guestAvailable, parseReport, runInGuest } from '../vm/guest';

t.test('in one guest: a pure cgroup v2 hierarchy, and runts runs a busybox container', async (t) => {
  const unavailable = guestAvailable();
  if (unavailable) return t.plan(0, unavailable);
  leakGuard(t);
  const id = uniqueId('vm');
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'echo hello from busybox; echo "uid $(id -u)"; cat /proc/self/cgroup'],
  });
  // cg2vm keeps its control directory in $TMPDIR: this one must be empty afterwards.
  const runnerTmp = tempDir(t, 'cg2vm');
  const script = `
    report() { printf '%s=%s\\n' "$1" "$(printf '%s' "$2" | tr '\\n' '|')"; }
    report fstype "$(stat -fc %T /sys/fs/cgroup)"
    report v1-mounts "$(grep -c ' - cgroup ' /proc/self/mountinfo)"
    report v2-mounts "$(awk '/ - cgroup2 / { print $5 }' /proc/self/mountinfo)"
    report self-cgroup "$(cat /proc/self/cgroup)"
    report subtree "$(cat /sys/fs/cgroup/cgroup.subtree_control)"
    report env "$CG2VM"
    report cwd "$PWD"
    report uid "$(id -u)"
    # pids.max=1: a shell moved into the cgroup cannot fork.
    mkdir /sys/fs/cgroup/pids-check && echo 1 > /sys/fs/cgroup/pids-check/pids.max
    sh -c 'echo $$ > /sys/fs/cgroup/pids-check/cgroup.procs && /bin/true' 2>/dev/null
    report pids-fork-exit "$?"
    report pids-events "$(cat /sys/fs/cgroup/pids-check/pids.events)"
    rmdir /sys/fs/cgroup/pids-check
    # Runtime state on the guest's own /run: hostfs cannot share FIFOs with the host.
    out=$("$RUNTIME" --root /run/runts-vm run -b "$BUNDLE" "$ID" 2>&1)
    report runts-exit "$?"
    report runts-output "$out"
    report runts-left "$("$RUNTIME" --root /run/runts-vm list -q)"
    echo to-stderr >&2
    exit 42
  `;
  const result = await runInGuest(t, ['bash', '-c', script], {
    share: [made.bundle],
    env: { RUNTIME: RUNTS_BIN, BUNDLE: made.bundle, ID: id, TMPDIR: runnerTmp },
    timeoutSeconds: 180,
  });
  t.equal(result.code, 42, 'the command\'s exit status comes back');
  t.match(result.stderr, /^to-stderr$/m, 'stderr comes back separately');
  const report = parseReport(result.stdout);
  t.equal(report.fstype, 'cgroup2fs', '/sys/fs/cgroup is cgroup2');
  t.equal(report['v1-mounts'], '0', 'no cgroup v1 hierarchy is mounted');
  t.equal(report['v2-mounts'], '/sys/fs/cgroup', 'the one cgroup2 mount');
  t.equal(report['self-cgroup'], '0::/', '/proc/self/cgroup has only the v2 line');
  for (const controller of ['cpu', 'io', 'memory', 'pids']) {
    t.ok((report.subtree ?? '').split(' ').includes(controller), `${controller} is enabled in the root's subtree_control`);
  }
  t.not(report['pids-fork-exit'], '0', 'pids.max=1: the shell in the cgroup cannot fork');
  t.match(report['pids-events'], /^max [1-9]/, 'pids.events counts the refused fork');
  t.equal(report.env, '1', 'CG2VM=1 is set');
  t.equal(report.cwd, path.resolve(__dirname, '..', '..'), 'the command runs in the caller\'s directory');
  t.equal(report.uid, '0', 'as root');
  t.equal(report['runts-exit'], '0', `runts run exits 0 (output: ${report['runts-output']})`);
  const output = (report['runts-output'] ?? '').split('|');
  t.ok(output.includes('hello from busybox'), 'the container\'s output');
  t.ok(output.includes('uid 0'), 'the container runs as uid 0');
  t.match(output.filter((l) => /^\d+:/.test(l)), [/^0::\//], 'the container sees a single cgroup v2 line in /proc/self/cgroup');
  t.equal(output.filter((l) => /^\d+:/.test(l)).length, 1, 'and no v1 lines');
  t.equal(report['runts-left'], '', 'runts run leaves no container behind');
  t.same(fs.readdirSync(runnerTmp), [], 'cg2vm removed its control directory');
});

t.test('runner exit codes: 124 on timeout, 125 when the guest cannot boot', async (t) => {
  const unavailable = guestAvailable();
  if (unavailable) return t.plan(0, unavailable);
  leakGuard(t);
  const runnerTmp = tempDir(t, 'cg2vm');
  const started = Date.now();
  const timedOut = await runInGuest(t, ['sleep', '60'], { timeoutSeconds: 3, env: { TMPDIR: runnerTmp } });
  t.equal(timedOut.code, 124, 'timeout: 124');
  t.match(timedOut.stderr, /timed out after 3s/);
  t.ok(Date.now() - started < 15_000, 'the guest is stopped at the timeout, not when the command ends');
  // /bin/false as the "kernel": exits at once without the guest ever reporting.
  const noBoot = await runInGuest(t, ['true'], { env: { CG2VM_UML: '/bin/false', TMPDIR: runnerTmp } });
  t.equal(noBoot.code, 125, 'no boot: 125');
  t.match(noBoot.stderr, /stopped without reporting/);
  t.same(fs.readdirSync(runnerTmp), [], 'cg2vm removed its control directories');
});
