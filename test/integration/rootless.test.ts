// Rootless mode: runts run by a real unprivileged user (runts-rootless, made by .ci/run with
// subordinate id ranges; and nobody, which has none) through setpriv, with a private
// XDG_RUNTIME_DIR it owns. Security rule 16: locked mount flags survive a bind remount,
// and a delegated (user-writable) parent cgroup is never handed to the container.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { leakGuard, makeBundle, onCleanup, requireRoot, runtimeEnv, runts, RUNTS_BIN, runtsToFiles, tempDir, uniqueId, waitFor } from '../lib';
import type { BundleConfig, RuntsResult } from '../lib';
import { watch } from '../lib/watch';
import { guestAvailable, parseReport, runInGuest } from '../vm/guest';

const ROOTLESS_USER = 'runts-rootless';

interface User {
  name: string;
  uid: number;
  gid: number;
}

function lookupUser(name: string): User | undefined {
  try {
    const [, , uid, gid] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
    return { name, uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

function subordinateRange(file: string, user: User): { start: number; count: number } | undefined {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.split(':');
    if (owner === user.name || owner === String(user.uid)) return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

/** The user, or a skip with the reason it cannot be used here. */
function requireUser(t: Test, name: string): User | undefined {
  if (!requireRoot(t)) return undefined;
  const user = lookupUser(name);
  if (!user) {
    t.plan(0, `user ${name} does not exist: .ci/run creates it (useradd --system ${ROOTLESS_USER})`);
    return undefined;
  }
  try {
    execFileSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'test', '-x', RUNTS_BIN]);
  } catch {
    t.plan(0, `${RUNTS_BIN} is not executable by ${name} (the repository must be readable by other users)`);
    return undefined;
  }
  return user;
}

const asUser = (user: User) => ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups'];

/** A clean environment first (tap's spawn hook would make the user's node write tap's
 *  process records, which it may not), then `command`. */
const withEnv = (vars: Record<string, string>, command: string[]) => [
  'env',
  '-i',
  `PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
  ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
  ...command,
];

interface Rootless {
  user: User;
  /** The user's private XDG_RUNTIME_DIR; runts's default root is <xdg>/runts. */
  xdg: string;
  dir: string;
  /** Runs runts as the user; `via` (a command line becoming setpriv's) runs first. */
  run(args: string[], via?: string[]): Promise<RuntsResult>;
  /** For commands whose container inherits stdio (create, run -d, exec -d). */
  runToFiles(args: string[]): Promise<RuntsResult>;
}

/** A temp dir other users can enter, an XDG_RUNTIME_DIR owned by the user, and runts as it. */
function rootless(t: Test, user: User): Rootless {
  const dir = tempDir(t, 'rootless');
  fs.chmodSync(dir, 0o755);
  const xdg = path.join(dir, 'xdg');
  fs.mkdirSync(xdg, { mode: 0o700 });
  fs.chownSync(xdg, user.uid, user.gid);
  const root = path.join(xdg, 'runts');
  watch.root(root);
  const wrap = (via: string[] = []) => withEnv({ XDG_RUNTIME_DIR: xdg }, [...via, ...asUser(user)]);
  const self: Rootless = {
    user,
    xdg,
    dir,
    run: (args, via) => runts(args, { wrap: wrap(via) }),
    runToFiles: (args) => runtsToFiles(dir, args, { wrap: wrap(), env: runtimeEnv() }),
  };
  onCleanup(t, 'graceful', async () => {
    const left = fs.existsSync(root) ? fs.readdirSync(root) : [];
    for (const id of left) {
      const result = await self.run(['delete', '--force', id]);
      if (result.code !== 0) throw new Error(`delete --force ${id} as ${user.name}: ${result.stderr.trim()}`);
    }
  });
  return self;
}

/** A busybox bundle with `runts spec --rootless` (run as the user) as its config. */
async function rootlessBundle(rl: Rootless, script: string, edit?: (c: BundleConfig) => void): Promise<{ bundle: string; rootfs: string }> {
  const specDir = path.join(rl.dir, `spec-${uniqueId('s')}`);
  fs.mkdirSync(specDir);
  fs.chownSync(specDir, rl.user.uid, rl.user.gid);
  const spec = await rl.run(['spec', '--rootless', '--bundle', specDir]);
  if (spec.code !== 0) throw new Error(`runts spec --rootless: ${spec.stderr}`);
  const config = JSON.parse(fs.readFileSync(path.join(specDir, 'config.json'), 'utf8')) as BundleConfig;
  config.process!.terminal = false;
  config.process!.args = ['sh', '-c', script];
  edit?.(config);
  const made = await makeBundle(path.join(rl.dir, `bundle-${uniqueId('b')}`), { config: () => config });
  return made;
}

const lines = (text: string) => text.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));

/** Every path under `dir` not owned by `uid`. */
function notOwnedBy(dir: string, uid: number): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.uid !== uid) out.push(p);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

t.test('rootless run: root inside through a single-uid map runts writes itself; files land with the user', async (t) => {
  const user = requireUser(t, ROOTLESS_USER);
  if (!user) return;
  leakGuard(t);
  const rl = rootless(t, user);
  const made = await rootlessBundle(rl, 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; touch /tmp/made-inside', (c) => {
    c.root.readonly = false;
  });
  const id = uniqueId('rl');
  const result = await rl.run(['run', '--bundle', made.bundle, id]);
  t.equal(result.code, 0, result.stderr);
  t.same(lines(result.stdout), ['0', '0', `0 ${user.uid} 1`, `0 ${user.gid} 1`, 'deny'], 'uid 0 inside, own ids mapped, setgroups denied');
  const file = fs.statSync(path.join(made.rootfs, 'tmp/made-inside'));
  t.same([file.uid, file.gid], [user.uid, user.gid], 'a file made by root inside belongs to the user on the host');
  const root = path.join(rl.xdg, 'runts');
  t.ok(fs.existsSync(root), 'the default --root is $XDG_RUNTIME_DIR/runts');
  t.equal(fs.statSync(root).mode & 0o7777, 0o1700, '0700 and sticky, as runc keeps it (no pruning by the session)');
  t.same(notOwnedBy(rl.xdg, user.uid), [], 'nothing in the state root belongs to root');
});

t.test('rootless lifecycle: create, state, list, start, exec, kill, delete', async (t) => {
  const user = requireUser(t, ROOTLESS_USER);
  if (!user) return;
  leakGuard(t);
  const rl = rootless(t, user);
  const made = await rootlessBundle(rl, 'sleep 1000');
  const id = uniqueId('rl');
  const created = await rl.runToFiles(['create', '--bundle', made.bundle, id]);
  t.equal(created.code, 0, created.stderr);
  const state = await rl.run(['state', id]);
  t.equal(state.code, 0, state.stderr);
  const pid = JSON.parse(state.stdout).pid as number;
  t.equal(JSON.parse(state.stdout).status, 'created');
  t.equal(fs.statSync(`/proc/${pid}`).uid, user.uid, 'the container init runs as the user on the host');
  const list = await rl.run(['list', '-q']);
  t.same(lines(list.stdout), [id], 'list reads the default root');
  const started = await rl.run(['start', id]);
  t.equal(started.code, 0, started.stderr);
  const exec = await rl.run(['exec', id, 'sh', '-c', 'id -u; readlink /proc/1/exe']);
  t.equal(exec.code, 0, exec.stderr);
  t.same(lines(exec.stdout), ['0', '/bin/busybox'], 'exec joins the container as its root');
  const ps = await rl.run(['ps', '--format', 'json', id]);
  t.equal(ps.code, 0, ps.stderr);
  t.same(JSON.parse(ps.stdout), [pid], 'ps finds its processes without a cgroup of its own (by its pid namespace)');
  const killed = await rl.run(['kill', id, 'KILL']);
  t.equal(killed.code, 0, killed.stderr);
  await waitFor(async () => JSON.parse((await rl.run(['state', id])).stdout).status === 'stopped', 10_000, 'container stopped');
  const deleted = await rl.run(['delete', id]);
  t.equal(deleted.code, 0, deleted.stderr);
  t.same(fs.readdirSync(path.join(rl.xdg, 'runts')), [], 'delete removed the state dir');
  t.same(notOwnedBy(rl.xdg, user.uid), [], 'no root-owned leftovers');
});

t.test('rootless ranges through newuidmap/newgidmap from /etc/subuid and /etc/subgid', async (t) => {
  const user = requireUser(t, ROOTLESS_USER);
  if (!user) return;
  const subuid = subordinateRange('/etc/subuid', user);
  const subgid = subordinateRange('/etc/subgid', user);
  if (!subuid || !subgid) return t.plan(0, `${user.name} has no /etc/subuid or /etc/subgid entry (.ci/run adds them)`);
  leakGuard(t);
  const rl = rootless(t, user);
  const made = await rootlessBundle(rl, 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; touch /tmp/f; chown 1000:1000 /tmp/f', (c) => {
    c.root.readonly = false;
    c.linux!.uidMappings = [{ containerID: 0, hostID: user.uid, size: 1 }, { containerID: 1, hostID: subuid.start, size: 65536 }];
    c.linux!.gidMappings = [{ containerID: 0, hostID: user.gid, size: 1 }, { containerID: 1, hostID: subgid.start, size: 65536 }];
    for (const set of ['bounding', 'effective', 'permitted']) c.process!.capabilities[set].push('CAP_CHOWN');
  });
  const result = await rl.run(['run', '--bundle', made.bundle, uniqueId('rl')]);
  t.equal(result.code, 0, result.stderr);
  t.same(lines(result.stdout), [`0 ${user.uid} 1`, `1 ${subuid.start} 65536`, `0 ${user.gid} 1`, `1 ${subgid.start} 65536`, 'allow']);
  const file = fs.statSync(path.join(made.rootfs, 'tmp/f'));
  t.same([file.uid, file.gid], [subuid.start + 999, subgid.start + 999], 'container id 1000 is subordinate id start+999');
});

t.test('rootless without subordinate ids (nobody): its own id works, ranges fail clearly', async (t) => {
  const user = requireUser(t, 'nobody');
  if (!user) return;
  if (subordinateRange('/etc/subuid', user)) return t.plan(0, 'nobody has a /etc/subuid entry here');
  leakGuard(t);
  const rl = rootless(t, user);
  const made = await rootlessBundle(rl, 'id -u; cat /proc/self/uid_map');
  const ok = await rl.run(['run', '--bundle', made.bundle, uniqueId('rl')]);
  t.equal(ok.code, 0, ok.stderr);
  t.same(lines(ok.stdout), ['0', `0 ${user.uid} 1`]);

  const config = JSON.parse(fs.readFileSync(path.join(made.bundle, 'config.json'), 'utf8')) as BundleConfig;
  config.linux!.uidMappings.push({ containerID: 1, hostID: 1_500_000, size: 10 });
  fs.writeFileSync(path.join(made.bundle, 'config.json'), JSON.stringify(config));
  const id = uniqueId('rl');
  const refused = await rl.run(['run', '--bundle', made.bundle, id]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /linux\.uidMappings: newuidmap \d+ 0 65534 1 1 1500000 10 failed: newuidmap: /, 'newuidmap says why');
  t.notOk(fs.existsSync(path.join(rl.xdg, 'runts', id)), 'no state dir left');
});

t.test('rootless in the host pid namespace: a bind of /proc stands in for a fresh proc, as with runc (issue #12 item 11)', async (t) => {
  const user = requireUser(t, ROOTLESS_USER);
  if (!user) return;
  leakGuard(t);
  const rl = rootless(t, user);
  // A new user namespace cannot mount a fresh proc over the runtime's pid namespace.
  const made = await rootlessBundle(rl, 'test -e /proc/1/stat && grep " /proc " /proc/self/mountinfo | cut -d" " -f9', (c) => {
    c.linux!.namespaces = c.linux!.namespaces.filter((n: { type: string }) => n.type !== 'pid');
    c.mounts = c.mounts.map((m: { destination: string }) => (m.destination === '/proc' ? { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind', 'nosuid', 'noexec', 'nodev'] } : m));
  });
  const id = uniqueId('rl');
  const result = await rl.run(['run', '--bundle', made.bundle, id]);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout.trim(), 'proc', "the host's procfs at /proc");
});

t.test('rootless refusals name the field and leave nothing behind', async (t) => {
  const user = requireUser(t, ROOTLESS_USER);
  if (!user) return;
  leakGuard(t);
  const rl = rootless(t, user);
  const cases: [string, (c: BundleConfig) => void, RegExp][] = [
    [
      'no user namespace',
      (c) => {
        c.linux!.namespaces = c.linux!.namespaces.filter((n: { type: string }) => n.type !== 'user');
        delete c.linux!.uidMappings;
        delete c.linux!.gidMappings;
      },
      /linux\.namespaces: rootless container requires user namespaces/,
    ],
    ['unmapped gid= option', (c) => c.mounts.find((m: { destination: string }) => m.destination === '/dev/pts').options.push('gid=5'), /mounts: \/dev\/pts: cannot specify gid=5 mount option for rootless container/],
    ['supplementary groups with setgroups denied', (c) => (c.process!.user.additionalGids = [0]), /process\.user\.additionalGids: cannot set any additional groups/],
    ['a lower oom_score_adj', (c) => (c.process!.oomScoreAdj = -1000), /process\.oomScoreAdj: -1000 is below the caller's/],
    ['a higher rlimit', (c) => (c.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1 << 30 }]), /process\.rlimits: RLIMIT_NOFILE hard limit 1073741824 is above the caller's hard limit/],
    ['a cgroupsPath the user may not write', (c) => (c.linux!.cgroupsPath = `/${uniqueId('cg')}`), /create cgroup \/sys\/fs\/cgroup\/.*permission denied/],
    ['a memory limit without a cgroup', (c) => (c.linux!.resources = { memory: { limit: 64 << 20 } }), /cannot set memory limit: container could not join or create cgroup/],
    [
      'sysfs without a network namespace',
      (c) => (c.mounts = c.mounts.map((m: { destination: string }) => (m.destination === '/sys' ? { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'ro'] } : m))),
      /mounts: \/sys: sysfs cannot be mounted in a new user namespace that shares the runtime's network namespace/,
    ],
  ];
  for (const [what, edit, expected] of cases) {
    const made = await rootlessBundle(rl, 'true', edit);
    const id = uniqueId('rl');
    const result = await rl.run(['run', '--bundle', made.bundle, id]);
    t.equal(result.code, 1, `${what}: exit 1`);
    t.match(result.stderr, expected, what);
    t.notOk(fs.existsSync(path.join(rl.xdg, 'runts', id)), `${what}: no state dir`);
  }

  const made = await rootlessBundle(rl, 'sleep 1000');
  const noXdg = await runts(['run', '-d', '--bundle', made.bundle, uniqueId('rl')], { wrap: withEnv({}, asUser(user)) });
  t.equal(noXdg.code, 1, 'without XDG_RUNTIME_DIR the default root is /run/runts, as runc');
  t.match(noXdg.stderr, /\/run\/runts.*permission denied \(runts is not running as root: set XDG_RUNTIME_DIR or pass --root a directory you own\)/);

  const id = uniqueId('rl');
  const created = await rl.runToFiles(['create', '--bundle', made.bundle, id]);
  t.equal(created.code, 0, created.stderr);
  const exec = await rl.run(['exec', '--additional-gids', '0', id, 'true']);
  t.equal(exec.code, 255, 'exec refuses supplementary groups too');
  t.match(exec.stderr, /exec failed: process\.user\.additionalGids: cannot set any additional groups/);
  t.equal((await rl.run(['delete', '--force', id])).code, 0);
});

t.test('validate --host as the user foresees what rootless create refuses, and the device rules it goes on without (issue #14)', async (t) => {
  const user = requireUser(t, ROOTLESS_USER);
  if (!user) return;
  const subuid = subordinateRange('/etc/subuid', user);
  if (!subuid) return t.plan(0, `${user.name} has no /etc/subuid entry (.ci/run adds it)`);
  if (fs.existsSync('/sys/fs/cgroup/cgroup.subtree_control') && fs.statSync('/sys/fs/cgroup/cgroup.subtree_control').uid === user.uid) {
    return t.plan(0, `the cgroup root is delegated to ${user.name} here: nothing it may not write`);
  }
  leakGuard(t);
  const rl = rootless(t, user);
  const cases: { what: string; edit: (c: BundleConfig) => void; pointer: string; message: RegExp; create: RegExp }[] = [
    {
      what: 'a uid range past the one /etc/subuid grants',
      edit: (c) => c.linux!.uidMappings.push({ containerID: 1, hostID: subuid.start, size: subuid.count + 1 }),
      pointer: '/linux/uidMappings/1',
      message: new RegExp(`^newuidmap refuses host uids ${subuid.start}-${subuid.start + subuid.count}: /etc/subuid grants ${user.name} \\(uid ${user.uid}\\) ${subuid.start}-${subuid.start + subuid.count - 1}`),
      create: /linux\.uidMappings: newuidmap .* not allowed/,
    },
    {
      what: 'a cgroupsPath the user may not write',
      edit: (c) => (c.linux!.cgroupsPath = `/${uniqueId('cg')}`),
      pointer: '/linux/cgroupsPath',
      message: /^create cgroup \/sys\/fs\/cgroup\/.*: permission denied.*with linux\.cgroupsPath given/,
      create: /create cgroup \/sys\/fs\/cgroup\/.*permission denied/,
    },
    {
      what: 'a memory limit without a cgroup',
      edit: (c) => (c.linux!.resources = { memory: { limit: 64 << 20 } }),
      pointer: '/linux/resources/memory/limit',
      message: /^cannot set memory limit: container could not join or create cgroup \(create cgroup .*permission denied\)/,
      create: /linux\.resources\.memory\.limit: cannot set memory limit: container could not join or create cgroup/,
    },
  ];
  for (const { what, edit, pointer, message, create } of cases) {
    const made = await rootlessBundle(rl, 'true', edit);
    const validated = await rl.run(['validate', '--host', '--format', 'json', '-b', made.bundle]);
    t.equal(validated.code, 1, `${what}: validate --host exits 1`);
    const report = JSON.parse(validated.stdout) as { findings: { severity: string; stage: string; pointer: string | null; message: string }[] };
    const errors = report.findings.filter((f) => f.severity === 'error');
    t.same(errors.map((f) => [f.stage, f.pointer]), [['host', pointer]], `${what}: one host error, at ${pointer}`);
    t.match(errors[0]?.message, message, what);
    const id = uniqueId('rl');
    const result = await rl.run(['run', '--bundle', made.bundle, id]);
    t.equal(result.code, 1, `${what}: create fails as validate said`);
    t.match(result.stderr, create, what);
    t.notOk(fs.existsSync(path.join(rl.xdg, 'runts', id)), `${what}: no state dir`);
  }

  // Device rules the user cannot write: runc goes on without them, and so does runts; validate warns.
  const made = await rootlessBundle(rl, 'true', (c) => (c.linux!.resources = { devices: [{ allow: false, access: 'rwm' }] }));
  const validated = await rl.run(['validate', '--host', '--format', 'json', '-b', made.bundle]);
  t.equal(validated.code, 0, 'validate --host accepts it, with warnings');
  t.match(JSON.parse(validated.stdout).findings, [{ severity: 'warning', pointer: '/linux/resources/devices', message: /^not applied: the caller may not write the device rules/ }]);
  t.match(JSON.parse(validated.stdout).hostFacts, { rootless: { euid: true, cgroups: true }, cgroups: { join: { by: 'runtime', reason: 'rootless cgroups tolerate permission errors' } } }, 'the host facts say rootless');
  const ran = await rl.run(['run', '--bundle', made.bundle, uniqueId('rl')]);
  t.equal(ran.code, 0, `runts runs it: ${ran.stderr}`);
  const runcRoot = path.join(rl.xdg, 'runc');
  const runc = await runts(['--root', runcRoot, 'run', '--bundle', made.bundle, uniqueId('rl')], { wrap: withEnv({ XDG_RUNTIME_DIR: rl.xdg }, [...asUser(user), 'sh', '-c', 'shift; exec runc "$@"', 'sh']) });
  t.equal(runc.code, 0, `runc runs it too: ${runc.stderr}`);
  fs.rmSync(runcRoot, { recursive: true, force: true });
});

t.test('security rule 16: a bind mount in the user namespace keeps its source\'s locked flags', async (t) => {
  const user = requireUser(t, ROOTLESS_USER);
  if (!user) return;
  const rl = rootless(t, user);
  const source = path.join(rl.dir, 'locked');
  fs.mkdirSync(source);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,noexec,mode=755', 'tmpfs', source]);
  onCleanup(t, 'graceful', () => {
    execFileSync('umount', [source]);
  });
  fs.copyFileSync('/bin/busybox', path.join(source, 'busybox'));
  fs.chmodSync(path.join(source, 'busybox'), 0o755);
  execFileSync('mount', ['-o', 'remount,ro,nosuid,nodev,noexec', source]);
  leakGuard(t); // after the test's own source mount, which its cleanup removes
  // /root exists in the image: the container's root (the user) cannot make mount points in
  // a rootfs that belongs to root.
  const script = 'grep " /root " /proc/self/mounts; /root/busybox true 2>/dev/null && echo exec-allowed || echo exec-refused';
  // Asking only for nodev: the remount must carry ro, nosuid and noexec or the kernel refuses it.
  const kept = await rootlessBundle(rl, script, (c) => c.mounts.push({ destination: '/root', type: 'none', source, options: ['bind', 'nodev'] }));
  const result = await rl.run(['run', '--bundle', kept.bundle, uniqueId('rl')]);
  t.equal(result.code, 0, result.stderr);
  const [mountLine, execResult] = result.stdout.trim().split('\n');
  const options = mountLine.split(' ')[3].split(',');
  for (const flag of ['ro', 'nosuid', 'nodev', 'noexec']) t.ok(options.includes(flag), `${flag} kept (${mountLine})`);
  t.equal(execResult, 'exec-refused', 'noexec still holds inside');

  for (const clear of ['exec', 'rw', 'suid']) {
    const made = await rootlessBundle(rl, 'true', (c) => c.mounts.push({ destination: '/root', type: 'none', source, options: ['bind', clear] }));
    const id = uniqueId('rl');
    const refused = await rl.run(['run', '--bundle', made.bundle, id]);
    t.equal(refused.code, 1, `clearing with "${clear}" is refused`);
    t.match(refused.stderr, /mounts: \/root: cannot clear locked flags MS_\w+ of .* \(a bind mount in a user namespace keeps them\)/);
    t.notOk(fs.existsSync(path.join(rl.xdg, 'runts', id)), 'no state dir left');
  }
});

t.test('security rule 16: a rootless container never gets a writable delegated parent cgroup', async (t) => {
  const user = requireUser(t, ROOTLESS_USER);
  if (!user) return;
  const pidsRoot = '/sys/fs/cgroup/pids';
  if (!fs.existsSync(path.join(pidsRoot, 'cgroup.procs'))) return t.plan(0, 'needs the cgroup v1 pids hierarchy at /sys/fs/cgroup/pids');
  const rl = rootless(t, user);
  // Delegate a pids cgroup to the user, as systemd does: it owns the directory and its procs.
  const delegated = path.join(pidsRoot, uniqueId('deleg'));
  fs.mkdirSync(delegated);
  onCleanup(t, 'remove', () => fs.rmdirSync(delegated));
  for (const f of ['', 'cgroup.procs', 'tasks']) fs.chownSync(path.join(delegated, f), user.uid, user.gid);
  const joinOnly = path.join(pidsRoot, uniqueId('joinonly'));
  fs.mkdirSync(joinOnly);
  onCleanup(t, 'remove', () => fs.rmdirSync(joinOnly));
  for (const f of ['cgroup.procs', 'tasks']) fs.chownSync(path.join(joinOnly, f), user.uid, user.gid);
  leakGuard(t); // after the test's own cgroups, which it removes itself
  // runts runs inside the delegated cgroup (the shell joins it, then becomes runts).
  const inDelegated = ['sh', '-c', 'echo $$ > "$0" && exec "$@"', path.join(delegated, 'cgroup.procs')];
  const escape = `echo $$ > /sys/fs/cgroup/pids/${path.basename(delegated)}/cgroup.procs 2>/dev/null && echo escaped-by-path;` +
    ' echo $$ > /sys/fs/cgroup/pids/../cgroup.procs 2>/dev/null && echo escaped-by-dotdot;' +
    ' grep -qx $$ /sys/fs/cgroup/pids/cgroup.procs 2>/dev/null && echo own-cgroup-visible; touch /sys/fs/cgroup/cpu/x 2>/dev/null && echo wrote-unjoined; grep :pids: /proc/self/cgroup';
  for (const withCgroupMount of [true, false]) {
    const made = await rootlessBundle(rl, escape, (c) => {
      if (!withCgroupMount) c.mounts = c.mounts.filter((m: { type: string }) => m.type !== 'cgroup');
    });
    const id = uniqueId('rl');
    const result = await rl.run(['run', '--bundle', made.bundle, id], inDelegated);
    t.equal(result.code, 0, result.stderr);
    const out = lines(result.stdout);
    t.notOk(out.includes('escaped-by-path') || out.includes('escaped-by-dotdot'), `no way into the delegated parent (cgroup mount: ${withCgroupMount}): ${result.stdout}`);
    t.notOk(out.includes('wrote-unjoined'), 'hierarchies without a cgroup of its own are read-only');
    t.match(out[out.length - 1], new RegExp(`^\\d+:pids:/${path.basename(delegated)}/${id}$`), 'the container sat in a child of the delegated cgroup, not in it');
    t.equal(out.includes('own-cgroup-visible'), withCgroupMount, 'a cgroup mount shows the container its own cgroup (and only that)');
  }

  // In a cgroup the user may join but not make children in, the container stays in the
  // caller's cgroup (as runc); its cgroup mount must not show that one.
  const made = await rootlessBundle(rl, 'ls /sys/fs/cgroup/pids | grep -c .; echo $$ > /sys/fs/cgroup/pids/cgroup.procs 2>/dev/null && echo wrote-caller-cgroup; grep :pids: /proc/self/cgroup', (c) => {
    const cgroupMount = c.mounts.find((m: { type: string }) => m.type === 'cgroup');
    cgroupMount.options = cgroupMount.options.filter((o: string) => o !== 'ro');
  });
  const result = await rl.run(['run', '--bundle', made.bundle, uniqueId('rl')], ['sh', '-c', 'echo $$ > "$0" && exec "$@"', path.join(joinOnly, 'cgroup.procs')]);
  t.equal(result.code, 0, result.stderr);
  const out = lines(result.stdout);
  t.equal(out[0], '0', 'the pids hierarchy is an empty mask inside');
  t.notOk(out.includes('wrote-caller-cgroup'), "the caller's (writable) cgroup is not reachable");
  t.match(out[out.length - 1], new RegExp(`:pids:/${path.basename(joinOnly)}$`), 'the container stayed in the caller\'s cgroup');
});

t.test('pure cgroup v2 (guest): limits in a delegated cgroup, an error without one, never the parent', async (t) => {
  const user = requireUser(t, ROOTLESS_USER);
  if (!user) return;
  const unavailable = guestAvailable();
  if (unavailable) return t.plan(0, unavailable);
  leakGuard(t);
  const rl = rootless(t, user);
  const script = 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max; (echo $$ > /sys/fs/cgroup/../cgroup.procs) 2>/dev/null && echo wrote-parent';
  const limited = await rootlessBundle(rl, script, (c) => {
    c.linux!.resources = { memory: { limit: 32 << 20 } };
    c.mounts.find((m: { type: string }) => m.type === 'cgroup').options = ['nosuid', 'noexec', 'nodev'];
  });
  const [a, b] = [uniqueId('rl'), uniqueId('rl')];
  // The guest's /sys/fs/cgroup/deleg is delegated to the user as systemd delegates (the
  // directory and its procs, subtree_control and threads files); runts runs in deleg/run.
  const guestScript = `
    report() { printf '%s=%s\\n' "$1" "$(printf '%s' "$2" | tr '\\n' '|')"; }
    D=/sys/fs/cgroup/deleg
    mkdir $D $D/run && chown "$U:" $D $D/cgroup.procs $D/cgroup.subtree_control $D/cgroup.threads $D/run $D/run/cgroup.procs
    mkdir -m 700 /tmp/xdg && chown "$U:" /tmp/xdg
    AS_USER="env -i PATH=$PATH XDG_RUNTIME_DIR=/tmp/xdg setpriv --reuid=$U --regid=$U --clear-groups $RUNTIME"
    IN_DELEG='echo $$ > "$0"/run/cgroup.procs && exec "$@"'
    sh -c "$IN_DELEG" $D $AS_USER validate --host --format json -b "$BUNDLE" >/tmp/valid.json 2>&1
    report validate-delegated-rc "$?"
    report validate-delegated "$(tr -d '\\n' </tmp/valid.json)"
    report delegated "$(sh -c "$IN_DELEG" $D $AS_USER run -b "$BUNDLE" "$A" 2>&1)"
    report left "$(ls $D | grep -c rl- )"
    $AS_USER validate --host --format json -b "$BUNDLE" >/tmp/invalid.json 2>&1
    report validate-undelegated-rc "$?"
    report validate-undelegated "$(tr -d '\\n' </tmp/invalid.json)"
    out=$($AS_USER run -b "$BUNDLE" "$B" 2>&1)
    rc=$?
    report undelegated "$out"
    report undelegated-rc "$rc"
  `;
  const result = await runInGuest(t, ['bash', '-c', guestScript], {
    share: [rl.dir],
    env: { RUNTIME: RUNTS_BIN, BUNDLE: limited.bundle, A: a, B: b, U: user.name },
    mem: '384M',
    timeoutSeconds: 180,
  });
  t.equal(result.code, 0, `guest script: ${result.stderr}`);
  const r = parseReport(result.stdout);
  t.same((r.delegated ?? '').split('|'), [`0::/deleg/${a}`, String(32 << 20)], 'a child of the delegated cgroup, with its memory limit; the parent unreachable');
  t.equal(r.left, '0', 'delete removed the cgroup it made');
  // validate --host in the same two places agrees with run (issue #14's promise, on pure v2).
  t.equal(r['validate-delegated-rc'], '0', 'validate --host accepts it in the delegated cgroup', { report: r['validate-delegated'] });
  t.match(JSON.parse(r['validate-delegated'] ?? '{}').hostFacts, { rootless: { euid: true, cgroups: true }, cgroups: { layout: 'v2' } }, 'as rootless on pure v2');
  t.equal(r['validate-undelegated-rc'], '1', 'and refuses it outside one');
  const undelegatedErrors = (JSON.parse(r['validate-undelegated'] ?? '{"findings":[]}').findings as { severity: string; pointer: string; message: string }[]).filter((f) => f.severity === 'error');
  t.match(undelegatedErrors, [{ pointer: '/linux/resources/memory' }], 'naming the limit run fails on', { report: r['validate-undelegated'] });
  t.equal(r['undelegated-rc'], '1');
  t.match(r.undelegated, /linux\.resources\.memory.*cannot set memory limit: container could not join or create cgroup \(.*permission denied/, 'a limit without a writable cgroup is an error that says so');
});
