// End to end under a real client: podman 4.x with conmon drives runts (`--runtime runts`)
// through run --rm (output, stdin, the default seccomp profile), exit codes, run -it, exec,
// exec -it, pause/unpause, update --cpu-shares, stop, kill, rm -f, --read-only/--tmpfs and
// --privileged. Every scenario also runs with
// runc, so a red runts test next to a green runc one is runts's fault. The podman is private
// (its own config, storage and temp dirs); containers go under a cgroup parent of this
// file's own making.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, onCleanup, OWN_RUNTS, requireRoot, runts, uniqueId, waitFor } from '../lib';
import {
  BUSYBOX_IMAGE,
  podmanMissing,
  runcInstalled,
  RUNTIME_STATE_ROOTS,
  startPodman,
  watchPodman,
  type CommandOptions,
  type CommandResult,
  type Podman,
  type PodmanRuntime,
} from '../lib/podman';


/** A container that reports the signals it handles by exit status, once it says `ready`. */
const SIGNAL_REPORTER = [
  'sh', '-c',
  "trap 'echo got-term; exit 42' TERM; trap 'echo got-usr1; exit 43' USR1; echo ready; sleep 1000 & wait",
];

interface Scenario {
  t: Test;
  podman: Podman;
  runtime: PodmanRuntime;
  /** A new container name, removed (rm -f) at teardown if the test left it. */
  newName(): string;
  /** `podman --runtime RUNTIME run --cgroup-parent PARENT ARGS...` */
  run(args: string[], opts?: CommandOptions): Promise<CommandResult>;
  /** `podman run -d` of `command`; resolves with the container's full ID once it says `ready` (if asked). */
  runDetached(name: string, command: string[], opts?: { waitReady?: boolean }): Promise<string>;
  /** `podman inspect --format FORMAT NAME`, trimmed. */
  inspect(name: string, format: string): Promise<string>;
}

function describeResult(r: CommandResult): string {
  return `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}; stdout: ${JSON.stringify(r.stdout)}; stderr: ${JSON.stringify(r.stderr)}`;
}

/** The file of `controller` (v1) or `v2File` (unified) in the cgroup of process `pid`. */
function cgroupFile(pid: number, controller: string, v1File: string, v2File: string): string {
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v1 = lines.map((l) => l.split(':')).find(([, controllers]) => controllers.split(',').includes(controller));
  if (v1) return path.join('/sys/fs/cgroup', controller, v1.slice(2).join(':'), v1File);
  const unified = lines.find((l) => l.startsWith('0::'));
  if (!unified) throw new Error(`/proc/${pid}/cgroup names neither a v1 ${controller} cgroup nor a unified one`);
  const mount = fs.existsSync('/sys/fs/cgroup/unified/cgroup.controllers') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
  return path.join(mount, unified.slice(3), v2File);
}

/** True once the runtime has no state left for container `id` (podman deletes it asynchronously). */
function runtimeStateGone(runtime: PodmanRuntime, id: string): boolean {
  return !fs.existsSync(path.join(RUNTIME_STATE_ROOTS[runtime], id));
}

function defineScenarios(getPodman: () => Podman, runtime: PodmanRuntime): void {
  const skip = runtime === 'runc' && !runcInstalled() ? 'runc is not installed (apt-get install runc)' : false;

  /** `known.runtsTodo`: why runts fails this scenario today (marks it todo for runts only; runc must pass it). */
  const scenario = (title: string, body: (s: Scenario) => Promise<void>, known: { runtsTodo?: string } = {}) =>
    t.test(`${runtime}: ${title}`, { skip, todo: runtime === 'runts' ? known.runtsTodo ?? false : false }, async (t) => {
      const podman = getPodman();
      leakGuard(t);
      watchPodman(podman);
      const names: string[] = [];
      onCleanup(t, 'graceful', async () => {
        for (const name of names) {
          const removed = await podman.run(['rm', '--force', '--ignore', '--time', '0', name]);
          if (removed.code !== 0) throw new Error(`podman rm --force ${name}: ${describeResult(removed)}`);
        }
      });
      const run = (args: string[], opts?: CommandOptions) =>
        podman.run(['--runtime', runtime, 'run', '--cgroup-parent', podman.cgroupParent, ...args], opts);
      const inspect = async (name: string, format: string) => {
        const r = await podman.run(['inspect', '--format', format, name]);
        if (r.code !== 0) throw new Error(`podman inspect ${name}: ${describeResult(r)}`);
        return r.stdout.trim();
      };
      const s: Scenario = {
        t,
        podman,
        runtime,
        newName: () => {
          const name = uniqueId('podman');
          names.push(name);
          return name;
        },
        run,
        inspect,
        runDetached: async (name, command, opts = {}) => {
          const started = await run(['-d', '--name', name, BUSYBOX_IMAGE, ...command]);
          if (started.code !== 0) throw new Error(`podman run -d ${command.join(' ')}: ${describeResult(started)}`);
          const id = started.stdout.trim().split('\n').pop() ?? '';
          watchPodman(podman, id);
          if (opts.waitReady) {
            await waitFor(async () => (await podman.run(['logs', name])).stdout.includes('ready'), 10_000, `${name} to log "ready"`);
          }
          return id;
        },
      };
      await body(s);
      await podman.quiesce();
    });

  scenario('run --rm relays output, applies the default seccomp profile and leaves nothing', async (s) => {
    const { t, podman } = s;
    const cidFile = path.join(podman.base, 'files', `${s.newName()}.cid`);
    const r = await s.run(['--rm', '--cidfile', cidFile, BUSYBOX_IMAGE, 'sh', '-c', 'echo out-line; echo err-line >&2; grep ^Seccomp: /proc/self/status']);
    t.equal(r.code, 0, describeResult(r));
    t.match(r.stdout, /^out-line$/m, 'stdout relayed');
    t.match(r.stderr, /^err-line$/m, 'stderr relayed');
    t.match(r.stdout, /^Seccomp:\s+2$/m, "podman's default seccomp profile is in force (filter mode)");
    const id = fs.readFileSync(cidFile, 'utf8').trim();
    watchPodman(podman, id);
    t.equal((await podman.run(['container', 'exists', id])).code, 1, 'podman removed the container');
    await waitFor(() => runtimeStateGone(s.runtime, id), 10_000, `${s.runtime} state of ${id} to be deleted`);

    const unconfined = await s.run(['--rm', '--security-opt', 'seccomp=unconfined', BUSYBOX_IMAGE, 'grep', '^Seccomp:', '/proc/self/status']);
    t.equal(unconfined.code, 0, describeResult(unconfined));
    t.match(unconfined.stdout, /^Seccomp:\s+0$/m, 'no filter without a profile');
  });

  scenario('run -i relays stdin, and large output, intact', async (s) => {
    const { t } = s;
    const input = randomBytes(150_000).toString('base64');
    const piped = await s.run(['--rm', '-i', BUSYBOX_IMAGE, 'sha256sum'], { input });
    t.equal(piped.code, 0, describeResult(piped));
    t.equal(piped.stdout.split(' ')[0], createHash('sha256').update(input).digest('hex'), 'the container read all of stdin');

    const output = await s.run(['--rm', BUSYBOX_IMAGE, 'seq', '1', '100000']);
    t.equal(output.code, 0, `seq: exit ${output.code}, stderr ${JSON.stringify(output.stderr)}`);
    const expected = Array.from({ length: 100_000 }, (_, i) => `${i + 1}\n`).join('');
    t.ok(output.stdout === expected, `all ${expected.length} bytes of output arrived in order (got ${output.stdout.length})`);
  });

  scenario("run --rm propagates the command's exit status", async (s) => {
    const { t } = s;
    const failing = await s.run(['--rm', BUSYBOX_IMAGE, 'sh', '-c', 'exit 3']);
    t.equal(failing.code, 3, `exit 3: ${describeResult(failing)}`);

    const notOnPath = await s.run(['--rm', BUSYBOX_IMAGE, 'no-such-command']);
    t.equal(notOnPath.code, 127, `a command not on PATH: ${describeResult(notOnPath)}`);
    t.match(notOnPath.stderr, /executable file not found in \$PATH/);

    const missingFile = await s.run(['--rm', BUSYBOX_IMAGE, '/no/such/binary']);
    t.equal(missingFile.code, 127, `a missing binary: ${describeResult(missingFile)}`);
    t.match(missingFile.stderr, /no such file or directory/);

    const notExecutable = await s.run(['--rm', BUSYBOX_IMAGE, '/etc/passwd']);
    t.equal(notExecutable.code, 126, `a file that is not executable: ${describeResult(notExecutable)}`);
    t.match(notExecutable.stderr, /permission denied/);
  });

  scenario('run -it talks through a pty', async (s) => {
    const { t, podman } = s;
    const args = ['--runtime', s.runtime, 'run', '-it', '--rm', '--cgroup-parent', podman.cgroupParent, BUSYBOX_IMAGE,
      'sh', '-c', 'tty; stty size; echo READY; read line; echo got:$line; exit 7'];
    const r = await podman.runInPty(args, { marker: 'READY', answer: 'hello\n' });
    t.equal(r.code, 7, `exit status through the pty: ${describeResult(r)}`);
    t.match(r.stdout, /^\/dev\/pts\/\d+\r$/m, 'stdin is a pty');
    t.match(r.stdout, /^30 100\r$/m, "the container's pty has the caller's size");
    t.match(r.stdout, /^got:hello\r$/m, 'typed input reached the container');
  });

  scenario('exec and exec -it in a running container', async (s) => {
    const { t, podman } = s;
    const name = s.newName();
    await s.runDetached(name, ['sleep', '1000']);

    const exec = await podman.run(['exec', '-e', 'GREETING=hi', name, 'sh', '-c', 'echo $GREETING; echo err >&2; exit 5']);
    t.equal(exec.code, 5, `exit status of exec: ${describeResult(exec)}`);
    t.equal(exec.stdout, 'hi\n', 'stdout and env of exec');
    t.equal(exec.stderr, 'err\n', 'stderr of exec');

    const asNobody = await podman.run(['exec', '--user', 'nobody', '--workdir', '/tmp', name, 'sh', '-c', 'id -u; pwd']);
    t.equal(asNobody.code, 0, describeResult(asNobody));
    t.equal(asNobody.stdout, '65534\n/tmp\n', 'exec --user and --workdir');

    const missing = await podman.run(['exec', name, 'no-such-command']);
    t.equal(missing.code, 127, `exec of a missing command: ${describeResult(missing)}`);

    const tty = await podman.runInPty(['exec', '-it', name, 'sh', '-c', 'tty; echo READY; read line; echo got:$line; exit 9'], {
      marker: 'READY',
      answer: 'hello\n',
    });
    t.equal(tty.code, 9, `exit status of exec -it: ${describeResult(tty)}`);
    t.match(tty.stdout, /^\/dev\/pts\/\d+\r$/m, 'exec -it has a pty');
    t.match(tty.stdout, /^got:hello\r$/m, 'typed input reached the exec process');

    const removed = await podman.run(['rm', '--force', '--time', '0', name]);
    t.equal(removed.code, 0, describeResult(removed));
  });

  scenario('pause freezes the container and unpause thaws it', async (s) => {
    const { t, podman } = s;
    const name = s.newName();
    await s.runDetached(name, ['sleep', '1000']);
    const pid = Number(await s.inspect(name, '{{.State.Pid}}'));
    const freezer = cgroupFile(pid, 'freezer', 'freezer.state', 'cgroup.freeze');
    const frozenValue = freezer.endsWith('freezer.state') ? 'FROZEN' : '1';

    const paused = await podman.run(['pause', name]);
    t.equal(paused.code, 0, `pause: ${describeResult(paused)}`);
    t.equal(await s.inspect(name, '{{.State.Status}}'), 'paused');
    t.equal(fs.readFileSync(freezer, 'utf8').trim(), frozenValue, `${freezer} after pause`);

    const unpaused = await podman.run(['unpause', name]);
    t.equal(unpaused.code, 0, `unpause: ${describeResult(unpaused)}`);
    t.equal(await s.inspect(name, '{{.State.Status}}'), 'running');
    t.not(fs.readFileSync(freezer, 'utf8').trim(), frozenValue, `${freezer} after unpause`);
    const alive = await podman.run(['exec', name, 'echo', 'alive']);
    t.equal(alive.stdout, 'alive\n', `the thawed container runs processes: ${describeResult(alive)}`);

    const removed = await podman.run(['rm', '--force', '--time', '0', name]);
    t.equal(removed.code, 0, describeResult(removed));
  });

  scenario('update --cpu-shares changes the running container\'s cgroup', async (s) => {
    const { t, podman } = s;
    const name = s.newName();
    await s.runDetached(name, ['sleep', '1000']);
    const pid = Number(await s.inspect(name, '{{.State.Pid}}'));
    const sharesFile = cgroupFile(pid, 'cpu', 'cpu.shares', 'cpu.weight');
    // cgroup v2 has cpu.weight, which podman's runtimes convert shares into.
    const expected = sharesFile.endsWith('cpu.shares') ? '512' : String(1 + Math.floor(((512 - 2) * 9999) / 262142));
    t.not(fs.readFileSync(sharesFile, 'utf8').trim(), expected, `${sharesFile} before the update`);

    const updated = await podman.run(['update', '--cpu-shares', '512', name]);
    t.equal(updated.code, 0, `update: ${describeResult(updated)}`);
    t.equal(fs.readFileSync(sharesFile, 'utf8').trim(), expected, `${sharesFile} after the update`);
    t.equal(await s.inspect(name, '{{.State.Status}}'), 'running', 'the container keeps running');

    const removed = await podman.run(['rm', '--force', '--time', '0', name]);
    t.equal(removed.code, 0, describeResult(removed));
  });

  scenario('stop delivers SIGTERM and the container exits with its own status', async (s) => {
    const { t, podman } = s;
    const name = s.newName();
    const id = await s.runDetached(name, SIGNAL_REPORTER, { waitReady: true });
    const started = Date.now();
    const stopped = await podman.run(['stop', '--time', '20', name]);
    t.equal(stopped.code, 0, `stop: ${describeResult(stopped)}`);
    t.ok(Date.now() - started < 15_000, 'stopped by SIGTERM, not by the SIGKILL after the timeout');
    t.equal(await s.inspect(name, '{{.State.Status}}'), 'exited');
    t.equal(await s.inspect(name, '{{.State.ExitCode}}'), '42', "the trap's exit status");
    t.match((await podman.run(['logs', name])).stdout, /^got-term$/m, 'the container saw SIGTERM');
    await waitFor(() => runtimeStateGone(s.runtime, id), 10_000, `${s.runtime} state of ${id} to be deleted`);

    const removed = await podman.run(['rm', name]);
    t.equal(removed.code, 0, describeResult(removed));
  });

  scenario('kill delivers the signal asked for, SIGKILL by default', async (s) => {
    const { t, podman } = s;
    const reporter = s.newName();
    await s.runDetached(reporter, SIGNAL_REPORTER, { waitReady: true });
    const usr1 = await podman.run(['kill', '--signal', 'USR1', reporter]);
    t.equal(usr1.code, 0, `kill --signal USR1: ${describeResult(usr1)}`);
    const reporterExit = await podman.run(['wait', reporter]);
    t.equal(reporterExit.stdout.trim(), '43', `the USR1 trap's exit status: ${describeResult(reporterExit)}`);
    t.match((await podman.run(['logs', reporter])).stdout, /^got-usr1$/m, 'the container saw SIGUSR1');

    const sleeper = s.newName();
    await s.runDetached(sleeper, ['sleep', '1000']);
    const killed = await podman.run(['kill', sleeper]);
    t.equal(killed.code, 0, `kill: ${describeResult(killed)}`);
    const sleeperExit = await podman.run(['wait', sleeper]);
    t.equal(sleeperExit.stdout.trim(), '137', `killed by SIGKILL: ${describeResult(sleeperExit)}`);

    const removed = await podman.run(['rm', reporter, sleeper]);
    t.equal(removed.code, 0, describeResult(removed));
  });

  scenario(
    'tmpfs mounts of --read-only and --tmpfs (podman marks them tmpcopyup)',
    async (s) => {
      const { t } = s;
      const r = await s.run(['--rm', '--read-only', '--tmpfs', '/scratch:size=1m', BUSYBOX_IMAGE, 'sh', '-c',
        'touch /rootfile 2>&1; touch /tmp/a /scratch/b && echo writable; grep " /scratch " /proc/mounts']);
      t.equal(r.code, 0, describeResult(r));
      t.match(r.stdout, /Read-only file system/, 'the root filesystem is read-only');
      t.match(r.stdout, /^writable$/m, 'the tmpfs mounts are writable');
      t.match(r.stdout, /^\S+ \/scratch tmpfs \S*size=1024k/m, '--tmpfs options reach the mount');
    },
  );

  scenario(
    '--privileged gets every capability and may mount',
    async (s) => {
      const { t } = s;
      const r = await s.run(['--rm', '--privileged', BUSYBOX_IMAGE, 'sh', '-c',
        'grep ^CapEff: /proc/self/status; mount -t tmpfs scratch /tmp && echo mounted']);
      t.equal(r.code, 0, describeResult(r));
      const capEff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(r.stdout)?.[1] ?? '0'}`);
      t.ok(capEff & (1n << 21n), 'CAP_SYS_ADMIN is effective');
      t.match(r.stdout, /^mounted$/m, 'a privileged container may mount');
    },
  );

  scenario("runts validate --host and explain accept the bundle podman made (issue #14)", async (s) => {
    const { t } = s;
    const name = s.newName();
    const id = await s.runDetached(name, ['sleep', '1000']);
    // conmon runs the runtime with the container's userdata directory as the bundle.
    const bundle = await s.inspect(name, '{{.StaticDir}}');
    t.ok(fs.existsSync(path.join(bundle, 'config.json')), `podman's bundle ${bundle}`);
    const validated = await runts(['validate', '--host', '--format', 'json', '-b', bundle], { wrap: OWN_RUNTS });
    t.equal(validated.code, 0, `validate: ${validated.stdout}${validated.stderr}`);
    t.match(JSON.parse(validated.stdout), { valid: true, host: true, errors: 0 });
    const explained = await runts(['explain', '--format', 'json', '-b', bundle, id], { wrap: OWN_RUNTS });
    t.equal(explained.code, 0, `explain: ${explained.stderr}`);
    const e = JSON.parse(explained.stdout);
    t.ok(e.plan.process.seccomp, "podman's default seccomp profile is in the plan");
    t.ok(e.seccomp.rules.SCMP_ACT_ALLOW?.length > 100, 'and in the seccomp summary');
    const removed = await s.podman.run(['rm', '--force', '--time', '0', name]);
    t.equal(removed.code, 0, `rm -f: ${describeResult(removed)}`);
  });

  scenario('rm -f removes a running container with its processes, cgroup and state', async (s) => {
    const { t, podman } = s;
    const name = s.newName();
    const id = await s.runDetached(name, ['sleep', '1000']);
    const pid = Number(await s.inspect(name, '{{.State.Pid}}'));
    const cgroupDir = path.dirname(cgroupFile(pid, 'freezer', 'freezer.state', 'cgroup.freeze'));
    t.ok(fs.existsSync(cgroupDir), `the container has its cgroup ${cgroupDir}`);

    const removed = await podman.run(['rm', '--force', '--time', '0', name]);
    t.equal(removed.code, 0, `rm -f: ${describeResult(removed)}`);
    t.equal((await podman.run(['container', 'exists', name])).code, 1, 'podman forgot the container');
    await waitFor(() => !fs.existsSync(`/proc/${pid}`), 10_000, `container process ${pid} to be gone`);
    await waitFor(() => runtimeStateGone(s.runtime, id), 10_000, `${s.runtime} state of ${id} to be deleted`);
    await waitFor(() => !fs.existsSync(cgroupDir), 10_000, `${cgroupDir} to be removed`);
  });
}

const missing = podmanMissing();
if (!requireRoot(t)) {
  // skipped: requireRoot said why
} else if (missing) {
  t.plan(0, `podman e2e: ${missing}`);
} else {
  let podman: Podman | undefined;
  t.before(async () => {
    podman = await startPodman(t);
  });
  const getPodman = () => {
    if (!podman) throw new Error('the private podman was not set up');
    return podman;
  };
  for (const runtime of ['runts', 'runc'] as const) defineScenarios(getPodman, runtime);
}
