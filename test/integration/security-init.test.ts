// Security rules about the init helper itself (SECURITY.md 1, 2, 3 and 14): what sits
// in the container's namespaces before the user's execve, what /proc/<pid>/exe exposes, whether
// it can be inspected or outlive its runtime, and the order of the last steps before execve.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { listCgroupDirs, makeBundle, REPO_ROOT, requireRoot, runtimeEnv, tempDir, uniqueId, waitFor, type BundleConfig } from '../lib';
import {
  createOk,
  isLive,
  parseStatus,
  procStatus,
  python,
  setup,
  sha256,
  shareDir,
  spawnRuntime,
} from '../fixtures/security/helpers';

const HELPER = path.join(REPO_ROOT, 'build', 'Release', 'runts-init');

/** A user namespace mapping container root to host uid/gid 100000 (no /sys: a bare userns container). */
function inUserNamespace(config: BundleConfig): void {
  config.linux!.namespaces.push({ type: 'user' });
  config.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  config.mounts = config.mounts.filter((m: { destination: string }) => !m.destination.startsWith('/sys'));
}

t.test('rule 1: the created container waits in the small single-threaded helper, never in node', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '100'] });
  const id = uniqueId();
  const pid = await createOk(t, rt, bundle, id);

  const exe = fs.readlinkSync(`/proc/${pid}/exe`);
  t.match(exe, /^\/memfd:runts-init/, `/proc/${pid}/exe is the sealed helper copy (got ${exe})`);
  t.not(exe, process.execPath, 'the waiting init is not node');
  const status = procStatus(pid);
  t.equal(status.Threads, '1', 'single-threaded');
  const rssKiB = parseInt(status.VmRSS, 10);
  t.ok(rssKiB > 0 && rssKiB < 4096, `VmRSS ${status.VmRSS} is well under 4 MiB (node is tens of MiB)`);

  // Nothing else in the container's mount namespace either (a stray node child would show here).
  const mntNs = fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  const members = fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return fs.readlinkSync(`/proc/${name}/ns/mnt`) === mntNs;
      } catch {
        return false;
      }
    });
  t.same(members, [String(pid)], 'the init is the only process in the container mount namespace');

  t.equal((await rt('delete', '--force', id)).code, 0, 'delete --force');
});

t.test('rule 2: the init runs from a sealed memfd that nobody can write', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '100'] });
  const id = uniqueId();
  const pid = await createOk(t, rt, bundle, id);

  // F_GET_SEALS on the executable's inode: SEAL|SHRINK|GROW|WRITE = 1|2|4|8.
  const seals = Number(
    python('import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); print(fcntl.fcntl(fd, fcntl.F_GET_SEALS))', [
      `/proc/${pid}/exe`,
    ]).trim(),
  );
  t.equal(seals & 0xf, 0xf, `/proc/${pid}/exe has F_SEAL_SEAL|SHRINK|GROW|WRITE (seals ${seals})`);
  t.throws(() => fs.closeSync(fs.openSync(`/proc/${pid}/exe`, 'r+')), 'opening /proc/PID/exe for writing from the host fails');

  t.equal((await rt('delete', '--force', id)).code, 0, 'delete --force');
});

// CVE-2019-5736: a process in the container keeps /proc/<init>/exe open, waits until the init
// has exec'd the user process (so the file is no longer busy), then writes through the fd.
// It writes the byte 0x7f at offset 0, which every ELF file already has there: the probe
// never changes a binary, and its exit status tells whether the write was possible.
// $1 result file, $2 file whose existence means "the user process runs", $3 the pid to attack:
// "state" (the host pid from the state on stdin: createContainer hooks still see the host's
// /proc) or a number.
const ATTACK = `
if [ "$3" = state ]; then p=$(tr -d ' \\n' | grep -o '"pid":[0-9]*' | grep -o '[0-9]*$'); else p=$3; fi
if ! [ -r /proc/$p/exe ] || ! exec 3</proc/$p/exe; then echo no-open > "$1"; exit 0; fi
(
  i=0
  while [ ! -e "$2" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
  if printf '\\177' | dd of=/proc/self/fd/3 bs=1 count=1 conv=notrunc 2>/dev/null; then r=wrote; else r=refused; fi
  echo $r > "$1.tmp" && mv "$1.tmp" "$1"
) </dev/null >/dev/null 2>&1 &
`;

t.test('rule 2: hooks inside the container cannot write through /proc/<init>/exe', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const shared = shareDir(t);
  const hook = (result: string, target: string) => ({
    path: '/bin/sh',
    args: ['sh', '-c', ATTACK, 'attack', result, '/x/started', target],
    env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
  });
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
    // Stays alive until both attackers have reported: they live in its PID namespace.
    args: ['sh', '-c', 'touch /x/started; i=0; while [ ! -e /x/start-result ] || [ ! -e /x/create-result ]; do [ $i -ge 200 ] && break; sleep 0.05; i=$((i+1)); done'],
    config: (config) => {
      shared.mount(config);
      // createContainer runs before pivot_root (its bg child is moved into the new root with it).
      config.hooks = { createContainer: [hook('/x/create-result', 'state')], startContainer: [hook('/x/start-result', '1')] };
    },
  });
  const before = { helper: sha256(HELPER), node: sha256(process.execPath) };
  const id = uniqueId();
  const run = await rt('run', '--bundle', bundle, id);
  t.equal(run.code, 0, `run: ${run.stderr}`);
  const result = (name: string) => {
    try {
      return fs.readFileSync(path.join(shared.dir, name), 'utf8').trim();
    } catch {
      return 'missing';
    }
  };
  t.equal(result('create-result'), 'refused', 'createContainer hook: writing the init executable is refused');
  t.equal(result('start-result'), 'refused', 'startContainer hook: writing the init executable is refused');
  t.equal(sha256(HELPER), before.helper, 'build/Release/runts-init unchanged');
  t.equal(sha256(process.execPath), before.node, `${process.execPath} unchanged`);
});

t.test('rule 2 (control): the same probe does write through an unsealed executable', async (t) => {
  // Proves the attack above would notice a writable /proc/<pid>/exe: the parent runs from a
  // plain on-disk copy of busybox and then execs something else, as the init does.
  const dir = tempDir(t, 'control');
  const copy = path.join(dir, 'busybox');
  fs.copyFileSync('/bin/busybox', copy);
  fs.chmodSync(copy, 0o755);
  const result = path.join(dir, 'result');
  const started = path.join(dir, 'started');
  // "started" appears only after the parent has exec'd sleep, as /x/started does after the init's execve.
  const parent = `/bin/sh -c "$0" attack ${result} ${started} $$; (sleep 0.2; touch ${started}) </dev/null >/dev/null 2>&1 & exec /bin/sleep 0.5`;
  execFileSync(copy, ['sh', '-c', parent, ATTACK]);
  await waitFor(() => fs.existsSync(result), 5000, 'control probe result');
  t.equal(fs.readFileSync(result, 'utf8').trim(), 'wrote', 'an unsealed executable is writable through /proc/<pid>/exe');
});

t.test('rule 3: the waiting init is not dumpable (its /proc files belong to root, not to its uid)', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const bundleDir = tempDir(t, 'bundle');
  fs.chmodSync(bundleDir, 0o755); // the init reaches the rootfs as the mapped uid
  const { bundle } = await makeBundle(bundleDir, { args: ['sleep', '100'], config: inUserNamespace });
  const id = uniqueId();
  const pid = await createOk(t, rt, bundle, id);

  t.equal(procStatus(pid).Uid.split(/\s+/)[0], '100000', 'the init runs as the mapped uid');
  // A non-dumpable task's /proc/PID files are owned by root; a dumpable one's by its own uid.
  for (const file of ['environ', 'mem', 'fd']) {
    t.equal(fs.statSync(`/proc/${pid}/${file}`).uid, 0, `/proc/<init>/${file} is owned by root (PR_SET_DUMPABLE 0)`);
  }
  // A host process with the container's uid cannot read the init's memory or environment.
  const probe = (file: string) => {
    try {
      execFileSync('setpriv', ['--reuid=100000', '--regid=100000', '--clear-groups', 'cat', `/proc/${pid}/${file}`], { stdio: 'pipe' });
      return 'read';
    } catch {
      return 'denied';
    }
  };
  t.equal(probe('environ'), 'denied', 'uid 100000 cannot read /proc/<init>/environ');

  // Control: after execve the user process is dumpable again, and the same check flips.
  t.equal((await rt('start', id)).code, 0, 'start');
  await waitFor(() => fs.statSync(`/proc/${pid}/environ`).uid === 100000, 5000, 'exec of the user process');
  t.pass('after execve the same files belong to uid 100000: the check tells the two apart');

  t.equal((await rt('delete', '--force', id)).code, 0, 'delete --force');
});

t.test('rule 3: the init dies with its runtime during setup (PR_SET_PDEATHSIG)', async (t) => {
  if (!requireRoot(t)) return;
  const { root } = setup(t);
  const dir = tempDir(t, 'hook');
  // A createContainer hook, run by the init itself before pivot_root (host paths still
  // visible): while it runs, the init waits on the hook, not on its sync socket, so only the
  // parent-death signal can end it when the runtime dies. The hook records the state (the
  // init's host pid) and its own host pid (/proc is still the host's), then blocks.
  const hook = {
    path: '/bin/sh',
    args: [
      'sh',
      '-c',
      `cat > ${dir}/state.tmp; mv ${dir}/state.tmp ${dir}/state.json; read -r pid rest < /proc/self/stat; echo $pid > ${dir}/hook.pid; exec sleep 30`,
    ],
  };
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['true'],
    config: (config) => {
      config.hooks = { createContainer: [hook] };
    },
  });
  const id = uniqueId();
  // No pipes: the init would inherit them and hold them open.
  const runtime = spawnRuntime(['--root', root, 'create', '--bundle', bundle, id], 'ignore', runtimeEnv());
  await waitFor(() => fs.existsSync(path.join(dir, 'hook.pid')), 10_000, 'createContainer hook started');
  const initPid = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).pid as number;
  const hookPid = Number(fs.readFileSync(path.join(dir, 'hook.pid'), 'utf8'));
  t.ok(isLive(initPid), `the init (${initPid}) waits for the hook`);

  process.kill(runtime.pid, 'SIGKILL');
  await runtime.done;
  const died = await waitFor(() => !isLive(initPid), 3000, 'init gone').catch(() => false);
  t.ok(died, 'the init died with the runtime, without waiting for its hook');

  // Cleanup of what a killed create leaves: the hook (gone with the init's PID namespace,
  // unless the init survived), the half-made state dir and the cgroups.
  for (const pid of [initPid, hookPid]) if (isLive(pid)) process.kill(pid, 'SIGKILL');
  await waitFor(() => !isLive(initPid) && !isLive(hookPid), 5000, 'init and hook gone');
  fs.rmSync(path.join(root, id), { recursive: true, force: true });
  const cgroups = listCgroupDirs().filter((cgroupDir) => cgroupDir.split('/').includes(id));
  for (const cgroupDir of cgroups.sort((a, b) => b.length - a.length)) fs.rmdirSync(cgroupDir);
});

t.test('rule 14: user switch, limited capabilities and no_new_privs all hold after execve', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const caps = ['CAP_KILL', 'CAP_NET_BIND_SERVICE']; // bits 5 and 10
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['cat', '/proc/self/status'],
    config: (config) => {
      config.process!.user = { uid: 1000, gid: 1000, additionalGids: [1001] };
      config.process!.noNewPrivileges = true;
      config.process!.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps };
    },
  });
  const id = uniqueId();
  const run = await rt('run', '--bundle', bundle, id);
  t.equal(run.code, 0, `run: ${run.stderr}`);
  const status = parseStatus(run.stdout);
  t.match(status, {
    Uid: /^1000\s+1000\s+1000\s+1000$/,
    Gid: /^1000\s+1000\s+1000\s+1000$/,
    Groups: '1001',
    CapInh: '0000000000000420',
    CapPrm: '0000000000000420',
    CapEff: '0000000000000420',
    CapBnd: '0000000000000420',
    CapAmb: '0000000000000420',
    NoNewPrivs: '1',
  });
  t.equal(status.Seccomp, '0', 'no seccomp filter (linux.seccomp not configured)');
});

t.test('rule 14: personality and seccomp last, so the filter cannot block the runtime\'s own setup', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const caps = ['CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'cat /proc/self/status; uname -m; cat /proc/self/personality; ionice; mkdir /tmp/blocked 2>/dev/null && echo mkdir-allowed || echo mkdir-denied'],
    config: (config) => {
      config.root!.readonly = false;
      config.process!.user = { uid: 1000, gid: 1000 };
      config.process!.noNewPrivileges = true;
      config.process!.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps };
      config.linux!.personality = { domain: 'LINUX32', flags: ['ADDR_NO_RANDOMIZE'] };
      config.process!.scheduler = { policy: 'SCHED_BATCH' };
      config.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 5 };
      config.linux!.memoryPolicy = { mode: 'MPOL_LOCAL' };
      // Denies exactly what the init needs to set the personality and the other process
      // attributes, switch user and set capabilities (and mkdir, to show the filter is on):
      // it only starts if the filter is installed after all of that.
      config.linux!.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64'],
        syscalls: [
          {
            names: ['setresuid', 'setresgid', 'setgroups', 'capset', 'prctl', 'personality', 'sched_setattr', 'sched_setaffinity', 'ioprio_set', 'set_mempolicy', 'mkdir', 'mkdirat'],
            action: 'SCMP_ACT_ERRNO',
            errnoRet: 1,
          },
        ],
      };
    },
  });
  const run = await rt('run', '--bundle', bundle, uniqueId());
  t.equal(run.code, 0, `run: ${run.stderr}`);
  t.match(parseStatus(run.stdout), {
    Uid: /^1000\s+1000\s+1000\s+1000$/,
    CapEff: '0000000000000420',
    CapAmb: '0000000000000420',
    NoNewPrivs: '1',
    Seccomp: '2',
  });
  t.match(run.stdout, /\ni686\n00040008\nbest-effort: prio 5\nmkdir-denied\n$/, 'personality (flags too) and ioPriority survive the user switch; the filter is active');
});
