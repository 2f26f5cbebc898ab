// The process section: args, env, cwd, user, umask, rlimits, capabilities, noNewPrivileges,
// oomScoreAdj; each read back from inside the container.
import * as fs from 'node:fs';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runts, runtsRoot, tempDir, uniqueId, type BundleConfig, type RuntsResult } from '../lib';
import { CAPABILITY_NUMBERS } from '../../src/plan/capabilities';

type ConfigEdit = (config: BundleConfig) => BundleConfig | void;

/** Runs a container with `args` (default: sh -c script) and the config edited by `edit`. */
async function run(t: Test, args: string[], edit?: ConfigEdit): Promise<RuntsResult> {
  const made = await makeBundle(tempDir(t, 'bundle'), { args, config: edit });
  return runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('proc')]);
}

/** Runs `sh -c script` and returns its stdout lines; fails the test on a non-zero exit. */
async function runIn(t: Test, script: string, edit?: ConfigEdit): Promise<string[]> {
  const result = await run(t, ['sh', '-c', script], edit);
  t.equal(result.code, 0, `container exits 0 (stderr: ${result.stderr.trim()})`);
  return result.stdout.trim().split('\n');
}

/** The lines of /proc/1/status whose names are given, as name → value. */
async function initStatus(t: Test, names: string[], edit?: ConfigEdit): Promise<Record<string, string>> {
  const lines = await runIn(t, 'cat /proc/1/status', edit);
  const fields = Object.fromEntries(lines.map((l) => l.split(':\t') as [string, string]));
  return Object.fromEntries(names.map((n) => [n, fields[n]?.trim()]));
}

t.test('args and env, exactly as given', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // `; true` keeps sh as pid 1: busybox sh execs a lone last command in its own place.
  const script = 'tr "\\0" "|" < /proc/1/cmdline; true';
  const args = await run(t, ['sh', '-c', script, 'zero', 'one arg', '']);
  t.equal(args.code, 0, args.stderr);
  t.equal(args.stdout, `sh|-c|${script}|zero|one arg||`, 'argv with spaces and empty strings');

  const env = ['PATH=/bin:/usr/bin', 'WITH_SPACES=a b  c', 'EMPTY=', 'EQUALS=x=y', 'HOME=/elsewhere'];
  const lines = await runIn(t, 'tr "\\0" "\\n" < /proc/1/environ; true', (c) => {
    c.process!.env = env;
  });
  t.same(lines, env, 'env in order, nothing added');
});

t.test('HOME comes from the container\'s /etc/passwd when env lacks it (as runc)', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const asRoot = await runIn(t, 'echo "$HOME"');
  const asNobody = await runIn(t, 'echo "$HOME"', (c) => {
    c.process!.user = { uid: 65534, gid: 65534 };
  });
  const unknownUser = await runIn(t, 'echo "$HOME"', (c) => {
    c.process!.user = { uid: 4242, gid: 4242 };
  });
  t.same([asRoot[0], asNobody[0], unknownUser[0]], ['/root', '/nonexistent', '/'], 'root, nobody, and / for a uid not in passwd');
});

t.test('cwd: the process starts there; a missing one is created', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const existing = await runIn(t, 'pwd; readlink /proc/1/cwd', (c) => {
    c.process!.cwd = '/etc';
  });
  t.same(existing, ['/etc', '/etc']);
  const made = await run(t, ['sh', '-c', 'readlink /proc/1/cwd; stat -c %a:%u /work/dir'], (c) => {
    c.process!.cwd = '/work/dir/made';
  });
  t.same([made.code, made.stdout], [0, '/work/dir/made\n755:0\n'], `created 0755, owned by root, even on a read-only root (${made.stderr.trim()})`);
});

t.test('a missing executable fails with a clear error', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const result = await run(t, ['/no/such/binary']);
  t.not(result.code, 0);
  t.match(result.stderr, /\/no\/such\/binary.*no such file or directory/i);
});

t.test('user: uid, gid, additionalGids; umask', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const lines = await runIn(t, 'id -u; id -g; id -G; umask; touch /tmp/f; stat -c %a:%u:%g /tmp/f; grep -E "^(Uid|Gid|Groups):" /proc/self/status', (c) => {
    c.process!.user = { uid: 1234, gid: 2345, additionalGids: [3456, 4567], umask: 0o027 };
    c.root.readonly = false;
  });
  const tidy = lines.map((l) => l.trim().split(/\s+/).join(' '));
  t.same(tidy, [
    '1234',
    '2345',
    '2345 3456 4567',
    '0027',
    '640:1234:2345',
    'Uid: 1234 1234 1234 1234',
    'Gid: 2345 2345 2345 2345',
    'Groups: 3456 4567',
  ]);
  const defaults = await runIn(t, 'id; umask; grep "^Groups:" /proc/self/status');
  t.same(defaults.map((l) => l.trim().split(/\s+/).join(' ')), ['uid=0(root) gid=0(root)', '0022', 'Groups:'], 'root, umask 0022 and no supplementary groups by default');
});

t.test('rlimits', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // This VM lacks CAP_SYS_RESOURCE: hard limits may only be lowered.
  const lines = await runIn(t, 'ulimit -Sn; ulimit -Hn; ulimit -Sc; ulimit -Hc; ulimit -Ss; grep -E "^Max (open files|core file size|processes)" /proc/1/limits', (c) => {
    c.process!.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 100, hard: 200 },
      { type: 'RLIMIT_CORE', soft: 4096, hard: 8192 },
      { type: 'RLIMIT_STACK', soft: 2 * 1024 * 1024, hard: 8 * 1024 * 1024 },
      { type: 'RLIMIT_NPROC', soft: 500, hard: 600 },
    ];
  });
  t.same(lines.slice(0, 5), ['100', '200', '8', '16', '2048'], 'ulimit shows nofile 100/200, core 8/16 blocks, stack 2048 KiB');
  t.match(lines[5], /^Max core file size\s+4096\s+8192\s+bytes/);
  t.match(lines[6], /^Max processes\s+500\s+600\s+processes/);
  t.match(lines[7], /^Max open files\s+100\s+200\s+files/);

  // RLIM_INFINITY (2^64-1, which JSON.parse rounds to 2^64) means unlimited; the host's core hard limit is unlimited.
  const hostCoreHard = fs.readFileSync('/proc/self/limits', 'utf8').match(/^Max core file size\s+\S+\s+(\S+)/m)![1];
  if (hostCoreHard === 'unlimited') {
    const made = await makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', 'ulimit -Sc; ulimit -Hc'] });
    // Written by hand: JSON.stringify cannot express 18446744073709551615 exactly.
    const text = fs.readFileSync(made.configPath, 'utf8');
    const rlimits = '"rlimits": [{ "type": "RLIMIT_CORE", "soft": 18446744073709551615, "hard": 18446744073709551615 }]';
    fs.writeFileSync(made.configPath, text.replace(/"rlimits": \[[^\]]*\]/, rlimits));
    const unlimited = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('proc')]);
    t.same([unlimited.code, unlimited.stdout], [0, 'unlimited\nunlimited\n'], `RLIM_INFINITY is unlimited (${unlimited.stderr.trim()})`);
  }

  const hostHard = Number(fs.readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+\d+\s+(\d+)/m)![1]);
  const tooHigh = await run(t, ['true'], (c) => {
    c.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: hostHard + 1000 }];
  });
  t.not(tooHigh.code, 0, 'raising the hard limit above the caller\'s fails (no CAP_SYS_RESOURCE)');
  t.match(tooHigh.stderr, /rlimit|setrlimit/i, `the error names the rlimit (${tooHigh.stderr.trim()})`);
});

/** The capability mask /proc/PID/status shows for these names (16 hex digits). */
function capMask(names: string[]): string {
  const mask = names.reduce((m, n) => m | (1n << BigInt(CAPABILITY_NUMBERS[n])), 0n);
  return mask.toString(16).padStart(16, '0');
}

const CAP_FIELDS = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'];

t.test('capabilities: the configured sets, for root and for another user', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const bounding = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_SYS_CHROOT'];
  const inheritable = ['CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  const caps = {
    bounding,
    effective: bounding,
    permitted: bounding,
    inheritable,
    ambient: ['CAP_NET_BIND_SERVICE'],
  };
  const asRoot = await initStatus(t, CAP_FIELDS, (c) => {
    c.process!.capabilities = caps;
  });
  t.same(asRoot, {
    CapInh: capMask(inheritable),
    CapPrm: capMask(bounding),
    CapEff: capMask(bounding),
    CapBnd: capMask(bounding),
    CapAmb: capMask(['CAP_NET_BIND_SERVICE']),
  }, 'root: each set as configured');

  // A non-root user keeps, across execve, exactly the ambient capabilities (in permitted and effective).
  const asUser = await initStatus(t, CAP_FIELDS, (c) => {
    c.process!.capabilities = caps;
    c.process!.user = { uid: 1000, gid: 1000 };
  });
  t.same(asUser, {
    CapInh: capMask(inheritable),
    CapPrm: capMask(['CAP_NET_BIND_SERVICE']),
    CapEff: capMask(['CAP_NET_BIND_SERVICE']),
    CapBnd: capMask(bounding),
    CapAmb: capMask(['CAP_NET_BIND_SERVICE']),
  }, 'uid 1000: bounding and inheritable as configured, ambient carried into permitted and effective');

  const none = await initStatus(t, CAP_FIELDS, (c) => {
    c.process!.capabilities = { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] };
  });
  t.same(Object.values(none), Array(5).fill('0'.repeat(16)), 'empty sets: no capabilities at all');
});

t.test('capabilities are enforced, and an unknown name only warns', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const result = await run(t, ['sh', '-c', 'chown 1000 /tmp/f 2>&1; touch /tmp/g && chown 1000 /tmp/g && echo chown-ok; cat /proc/1/status | grep CapBnd'], (c) => {
    c.root.readonly = false;
    c.process!.capabilities = {
      bounding: ['CAP_CHOWN', 'CAP_NOT_A_CAPABILITY'],
      effective: ['CAP_CHOWN'],
      permitted: ['CAP_CHOWN', 'CAP_NOT_A_CAPABILITY'],
    };
  });
  t.equal(result.code, 0, `an unknown capability does not fail the container (${result.stderr.trim()})`);
  t.match(result.stderr, /warn.*CAP_NOT_A_CAPABILITY/, 'it is warned about');
  t.match(result.stdout, /chown-ok\nCapBnd:\s+0000000000000001\n/, 'CAP_CHOWN lets root chown; it is the only one');

  const without = await run(t, ['sh', '-c', 'touch /tmp/g; chown 1000 /tmp/g 2>&1; true'], (c) => {
    c.root.readonly = false;
    c.process!.capabilities = { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] };
  });
  t.match(without.stdout, /Operation not permitted/, 'without CAP_CHOWN root cannot chown');
});

t.test('noNewPrivileges and oomScoreAdj', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const on = await runIn(t, 'grep NoNewPrivs /proc/1/status; cat /proc/1/oom_score_adj', (c) => {
    c.process!.noNewPrivileges = true;
    c.process!.oomScoreAdj = 500;
  });
  t.same(on.map((l) => l.replace(/\s+/g, ' ')), ['NoNewPrivs: 1', '500']);
  const hostAdj = fs.readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
  const off = await runIn(t, 'grep NoNewPrivs /proc/1/status; cat /proc/1/oom_score_adj', (c) => {
    c.process!.noNewPrivileges = false;
    delete c.process!.oomScoreAdj;
  });
  t.same(off.map((l) => l.replace(/\s+/g, ' ')), ['NoNewPrivs: 0', hostAdj], 'off: no flag, and the runtime\'s oom_score_adj is inherited');
});
