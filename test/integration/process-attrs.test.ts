// The process attributes set by one syscall each: process.scheduler, process.ioPriority,
// process.execCPUAffinity, linux.personality, linux.memoryPolicy, and the LSM labels
// (refused on this host, which has no LSM). Each is read back from inside the container:
// /proc/self/sched (policy, prio, dl.*), /proc/self/stat (nice), busybox ionice and taskset,
// uname -m and /proc/self/personality, /proc/self/numa_maps and /proc/self/status.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, requireRoot, runtimeEnv, runts, runtsRoot, RUNTS_BIN, tempDir, uniqueId, type BundleConfig, type RuntsResult } from '../lib';

type ConfigEdit = (config: BundleConfig) => void;

/** Runs `sh -c script` in a new container; returns the result. */
async function run(t: Test, script: string, edit: ConfigEdit): Promise<RuntsResult> {
  const made = await makeBundle(tempDir(t, 'bundle'), { args: ['sh', '-c', script], config: edit });
  return runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('attrs')]);
}

/** Runs the script and returns its stdout; fails the test unless it exits 0. */
async function output(t: Test, script: string, edit: ConfigEdit): Promise<string> {
  const result = await run(t, script, edit);
  t.equal(result.code, 0, `container exits 0 (stderr: ${result.stderr.trim()})`);
  return result.stdout;
}

/** "name : value" lines of /proc/PID/sched as a map. */
function schedFields(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => / : /.test(l))
      .map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]),
  );
}

/** `bin/runts ARGS` pinned to CPU 1 by taskset, as a runtime started by a pinned caller.
 *  Output goes through files: a detached container keeps its stdio open. */
async function runtsPinned(dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = path.join(dir, `pinned-${process.hrtime.bigint()}`);
  const fds = [fs.openSync(`${out}.1`, 'w'), fs.openSync(`${out}.2`, 'w')];
  try {
    const child = spawn('taskset', ['-c', '1', RUNTS_BIN, ...args], { env: runtimeEnv(), stdio: ['ignore', fds[0], fds[1]] });
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 128)));
    return { code, stdout: fs.readFileSync(`${out}.1`, 'utf8'), stderr: fs.readFileSync(`${out}.2`, 'utf8') };
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
}

const cpus = fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
const twoCpus = cpus === '0-1' || /^0-[1-9]/.test(cpus) ? false : `needs CPUs 0 and 1 online (have ${cpus})`;

t.test('scheduler: SCHED_BATCH with nice, SCHED_IDLE, SCHED_FIFO with a priority', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // `; true` keeps sh itself the process read (busybox execs a lone last command).
  const batch = await output(t, 'cat /proc/self/sched; cut -d" " -f19 /proc/$$/stat; true', (c) => {
    c.process!.scheduler = { policy: 'SCHED_BATCH', nice: 7 };
  });
  t.equal(schedFields(batch).policy, '3', 'policy 3 (SCHED_BATCH)');
  t.match(batch, /\n7\n$/, 'nice 7 (/proc/self/stat field 19)');

  const idle = schedFields(await output(t, 'cat /proc/self/sched', (c) => {
    c.process!.scheduler = { policy: 'SCHED_IDLE' };
  }));
  t.equal(idle.policy, '5', 'policy 5 (SCHED_IDLE)');

  // RT group scheduling: the container's cpu cgroup needs a real-time budget for FIFO/RR.
  const fifo = schedFields(await output(t, 'cat /proc/self/sched', (c) => {
    c.process!.scheduler = { policy: 'SCHED_FIFO', priority: 10 };
    c.linux!.resources = { cpu: { realtimeRuntime: 10000, realtimePeriod: 1000000 } };
  }));
  t.equal(fifo.policy, '1', 'policy 1 (SCHED_FIFO)');
  t.equal(fifo.prio, String(99 - 10), 'kernel prio 89 is rt priority 10');
});

t.test('scheduler: SCHED_DEADLINE with runtime, deadline and period; errors name the scheduler', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // A deadline task cannot fork, so the process reads its own sched file with no shell.
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['cat', '/proc/self/sched'],
    config: (c) => {
      c.process!.scheduler = { policy: 'SCHED_DEADLINE', runtime: 2_000_000, deadline: 5_000_000, period: 10_000_000, flags: ['SCHED_FLAG_RESET_ON_FORK'] };
    },
  });
  const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, uniqueId('dl')]);
  t.equal(result.code, 0, result.stderr);
  const sched = schedFields(result.stdout);
  t.equal(sched.policy, '6', 'policy 6 (SCHED_DEADLINE)');
  // What is left of this period's runtime: never more than the 2 ms budget.
  t.ok(sched['dl.runtime'] !== undefined && Number(sched['dl.runtime']) <= 2_000_000, `dl.runtime within the 2 ms budget (${sched['dl.runtime']})`);

  // Real-time policy without a real-time budget: the kernel refuses, and the error says why.
  const fifo = await run(t, 'true', (c) => {
    c.process!.scheduler = { policy: 'SCHED_FIFO', priority: 1 };
  });
  t.equal(fifo.code, 1);
  t.match(fifo.stderr, /error setting scheduler: operation not permitted \(a real-time policy needs .*realtimeRuntime\)/);
  const iso = await run(t, 'true', (c) => {
    c.process!.scheduler = { policy: 'SCHED_ISO' };
  });
  t.equal(iso.code, 1);
  t.match(iso.stderr, /error setting scheduler: invalid argument/, 'SCHED_ISO is reserved: the kernel says no');
});

t.test('ioPriority: each class, read back with ionice', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const be = await output(t, 'ionice', (c) => {
    c.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 };
  });
  t.equal(be.trim(), 'best-effort: prio 6');
  const rt = await output(t, 'ionice', (c) => {
    c.process!.ioPriority = { class: 'IOPRIO_CLASS_RT', priority: 2 };
  });
  t.equal(rt.trim(), 'realtime: prio 2');
  const idle = await output(t, 'ionice', (c) => {
    c.process!.ioPriority = { class: 'IOPRIO_CLASS_IDLE' };
  });
  t.equal(idle.trim(), 'idle');
});

t.test('personality: LINUX32 makes uname report i686; flags are ORed in', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const plain = await output(t, 'uname -m; cat /proc/self/personality', () => {});
  t.equal(plain, 'x86_64\n00000000\n', 'default: no personality');
  const linux32 = await output(t, 'uname -m; cat /proc/self/personality', (c) => {
    c.linux!.personality = { domain: 'LINUX32', flags: ['ADDR_NO_RANDOMIZE'] };
  });
  t.equal(linux32, 'i686\n00040008\n', 'PER_LINUX32 (0x8) | ADDR_NO_RANDOMIZE (0x40000)');
});

t.test('memoryPolicy: interleave and bind on node 0, read from numa_maps', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // The heap mapping carries the policy the process allocated it under.
  const script = 'grep -m1 " heap " /proc/self/numa_maps | cut -d" " -f2';
  t.equal((await output(t, script, () => {})).trim(), 'default');
  t.equal(
    (await output(t, script, (c) => {
      c.linux!.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '0' };
    })).trim(),
    'interleave:0',
  );
  t.equal(
    (await output(t, script, (c) => {
      c.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] };
    })).trim(),
    'bind=static:0',
  );
  t.equal(
    (await output(t, script, (c) => {
      c.linux!.memoryPolicy = { mode: 'MPOL_LOCAL' };
    })).trim(),
    'local',
  );
});

t.test('memoryPolicy: refusals are create errors that leave nothing behind', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const noNodes = await run(t, 'true', (c) => {
    c.linux!.memoryPolicy = { mode: 'MPOL_BIND' };
  });
  t.equal(noNodes.code, 1);
  t.match(noNodes.stderr, /memory policy mode requires at least one node but got 0/);
  const badList = await run(t, 'true', (c) => {
    c.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '3-1' };
  });
  t.equal(badList.code, 1);
  t.match(badList.stderr, /invalid memory policy nodes \\"3-1\\": invalid range: 3-1/);
  // Only the kernel knows which modes take MPOL_F_NUMA_BALANCING: its EINVAL is reported.
  const kernel = await run(t, 'true', (c) => {
    c.linux!.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_NUMA_BALANCING'] };
  });
  t.equal(kernel.code, 1);
  t.match(kernel.stderr, /set_mempolicy: invalid argument/);
});

t.test('CPU affinity: the init gets every CPU whatever the runtime is pinned to; execCPUAffinity is for exec', { skip: twoCpus }, async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sleep', '1000'],
    config: (c) => {
      // Not applicable to the init (runtime-spec); exec'd processes take it unless overridden.
      c.process!.execCPUAffinity = { initial: '1', final: '1' };
    },
  });
  const id = uniqueId('aff');
  const scratch = tempDir(t, 'out');
  const started = await runtsPinned(scratch, ['--root', root, 'run', '-d', '-b', made.bundle, id]);
  t.equal(started.code, 0, `pinned run -d: ${started.stderr}`);
  const state = JSON.parse((await runts(['--root', root, 'state', id])).stdout);
  const initCpus = /Cpus_allowed_list:\s*(\S+)/.exec(fs.readFileSync(`/proc/${state.pid}/status`, 'utf8'))?.[1];
  t.equal(initCpus, '0-1', 'the init is not pinned like its runtime, nor by execCPUAffinity');

  const read = 'grep Cpus_allowed_list /proc/self/status | cut -f2';
  const fromConfig = await runts(['--root', root, 'exec', id, 'sh', '-c', read]);
  t.equal(fromConfig.stdout.trim(), '1', "exec takes the config's execCPUAffinity");

  const dir = tempDir(t, 'process');
  const processFile = (name: string, affinity?: object): string => {
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify({ cwd: '/', args: ['sh', '-c', read], env: ['PATH=/bin'], ...(affinity ? { execCPUAffinity: affinity } : {}) }));
    return file;
  };
  const initialOnly = await runts(['--root', root, 'exec', '-p', processFile('initial', { initial: '0' }), id]);
  t.equal(initialOnly.stdout.trim(), '0', 'initial alone: the process keeps it');
  const both = await runts(['--root', root, 'exec', '-p', processFile('both', { initial: '0', final: ' 1 ,' }), id]);
  t.equal(both.stdout.trim(), '1', 'final replaces initial before execve (spaces and empty items allowed)');
  const none = await runtsPinned(scratch, ['--root', root, 'exec', '-p', processFile('none'), id]);
  t.equal(none.stdout.trim(), '0-1', 'no affinity: reset to every CPU, not the pinned runtime\'s');
  const bad = await runts(['--root', root, 'exec', '-p', processFile('bad', { final: '1-0' }), id]);
  t.equal(bad.code, 255);
  t.match(bad.stderr, /bad CPUAffinity.Final: invalid range: 1-0/);
  t.equal((await runts(['--root', root, 'delete', '--force', id])).code, 0, 'delete --force');
});

t.test('exec applies the process fields too, and the container-wide personality', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const made = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sleep', '1000'],
    config: (c) => {
      c.linux!.personality = { domain: 'LINUX32' };
      c.process!.ioPriority = { class: 'IOPRIO_CLASS_IDLE' };
    },
  });
  const id = uniqueId('exattr');
  t.equal((await runts(['--root', root, 'run', '-d', '-b', made.bundle, id])).code, 0);
  const script = 'uname -m; ionice; grep policy /proc/$$/sched; true';
  const flags = await runts(['--root', root, 'exec', id, 'sh', '-c', script]);
  t.match(flags.stdout, /^i686\nidle\npolicy\s+:\s+0\n$/, "the config's process fields and personality");
  const file = path.join(tempDir(t, 'process'), 'p.json');
  fs.writeFileSync(file, JSON.stringify({ cwd: '/', args: ['sh', '-c', script], env: ['PATH=/bin'], ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 1 }, scheduler: { policy: 'SCHED_BATCH' } }));
  const own = await runts(['--root', root, 'exec', '-p', file, id]);
  t.match(own.stdout, /^i686\nbest-effort: prio 1\npolicy\s+:\s+3\n$/, '--process: its own scheduler and ioPriority');
  t.equal((await runts(['--root', root, 'delete', '--force', id])).code, 0, 'delete --force');
});

const hostHasLsm = fs.existsSync('/sys/kernel/security/apparmor') || fs.existsSync('/sys/fs/selinux/enforce') ? 'this host runs AppArmor or SELinux' : false;

t.test('LSM labels on a host without AppArmor or SELinux: refused as runc refuses them, nothing left behind', { skip: hostHasLsm }, async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const cases: [ConfigEdit, RegExp][] = [
    [(c) => {
      c.process!.apparmorProfile = 'runts-test';
    }, /unable to apply apparmor profile \\"runts-test\\": apparmor is disabled or not supported/],
    [(c) => {
      c.process!.selinuxLabel = 'system_u:system_r:container_t:s0';
    }, /selinux label is specified in config, but selinux is disabled or not supported/],
    [(c) => {
      c.linux!.mountLabel = 'system_u:object_r:container_file_t:s0';
    }, /selinux mount label is specified in config, but selinux is disabled or not supported/],
  ];
  for (const [edit, message] of cases) {
    const result = await run(t, 'true', edit);
    t.equal(result.code, 1);
    t.match(result.stderr, message);
  }
  const root = runtsRoot(t);
  const made = await makeBundle(tempDir(t, 'bundle'), { args: ['sleep', '1000'] });
  const id = uniqueId('lsm');
  t.equal((await runts(['--root', root, 'run', '-d', '-b', made.bundle, id])).code, 0);
  const apparmor = await runts(['--root', root, 'exec', '--apparmor', 'runts-test', id, 'true']);
  t.equal(apparmor.code, 255);
  t.match(apparmor.stderr, /exec failed: unable to apply apparmor profile \\"runts-test\\"/);
  const label = await runts(['--root', root, 'exec', '--process-label', 'system_u:system_r:container_t:s0', id, 'true']);
  t.equal(label.code, 255);
  t.match(label.stderr, /exec failed: selinux label is specified/);
  t.equal((await runts(['--root', root, 'delete', '--force', id])).code, 0, 'delete --force');
});
