// End to end under Docker Engine (Debian docker.io 20.10, runts added with --add-runtime):
// run --rm with output and exit codes, -d, exec, pause/unpause, update --memory, top, stop,
// rm, -it, and --read-only --cap-drop ALL --user. Each scenario runs with --runtime runts
// and with runc as the reference. One private dockerd serves the whole file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { onCleanup, requireRoot, RUNTS_BIN, uniqueId, waitFor } from '../lib';
import { DOCKER_IMAGE, dockerMissing, PrivateDocker } from '../lib/docker';
import { findCommand } from '../lib/oci-image';
import { runInPty, type CommandResult } from '../lib/podman';

type DockerRuntime = 'runts' | 'runc';

if (requireRoot(t)) {
  const missing = dockerMissing() ?? (findCommand('runc') ? undefined : 'runc is not installed') ?? (findCommand('python3') ? undefined : 'python3 is not installed');
  if (missing) {
    t.plan(0, `skipped: ${missing}`);
  } else {
    let docker: PrivateDocker | undefined;
    t.before(async () => {
      docker = await PrivateDocker.start(path.resolve(RUNTS_BIN));
    });
    t.teardown(async () => {
      const problems = (await docker?.stop()) ?? [];
      if (problems.length > 0) throw new Error(`stopping the private dockerd: ${problems.join('; ')}`);
    });
    for (const runtime of ['runts', 'runc'] as DockerRuntime[]) {
      t.test(`docker --runtime ${runtime}`, async (t) => scenarios(t, runtime, () => docker!));
    }
  }
}

function scenarios(t: Test, runtime: DockerRuntime, getDocker: () => PrivateDocker): void {
  const prepare = (t: Test) => {
    const docker = getDocker();
    const name = uniqueId('dk');
    onCleanup(t, 'graceful', async () => {
      await docker.docker(['unpause', name]);
      await docker.docker(['rm', '-f', name]);
    });
    const explain = (r: CommandResult) => ({ docker: { ...r }, dockerdLog: docker.logTail(10) });
    const run = (args: string[], command: string[]) =>
      docker.docker(['run', '--runtime', runtime, '--name', name, ...args, DOCKER_IMAGE, ...command]);
    const exists = async () => (await docker.docker(['ps', '-aq', '--filter', `name=^${name}$`])).stdout.trim() !== '';
    return { docker, name, explain, run, exists };
  };

  t.test('run --rm relays stdout, stderr and the exit code', async (t) => {
    const { explain, run, exists } = prepare(t);
    const r = await run(['--rm'], ['sh', '-c', 'echo out-$((6*7)); echo err-1 >&2; exit 3']);
    t.equal(r.code, 3, 'exit code of the container process', explain(r));
    t.equal(r.stdout, 'out-42\n');
    t.equal(r.stderr, 'err-1\n');
    t.notOk(await exists(), 'the container is gone after --rm');
  });

  t.test('run -d, exec, top, pause/unpause, update --memory, stop, rm', async (t) => {
    const { docker, name, explain, run, exists } = prepare(t);
    const started = await run(['-d'], ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done']);
    t.equal(started.code, 0, 'run -d', explain(started));
    const exec = await docker.docker(['exec', name, 'sh', '-c', 'echo exec-$((1+1)); exit 4']);
    t.equal(exec.code, 4, 'exec exit code', explain(exec));
    t.equal(exec.stdout, 'exec-2\n');
    const top = await docker.docker(['top', name]);
    t.equal(top.code, 0, 'docker top', explain(top));
    t.match(top.stdout, 'while :', 'top lists the container process');

    const paused = await docker.docker(['pause', name]);
    t.equal(paused.code, 0, 'pause', explain(paused));
    t.equal((await docker.docker(['inspect', '-f', '{{.State.Status}}', name])).stdout.trim(), 'paused');
    const pid = Number((await docker.docker(['inspect', '-f', '{{.State.Pid}}', name])).stdout.trim());
    t.match(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), /^State:\s+D|^State:\s+S/m, 'the process still exists while paused');
    const refused = await docker.docker(['exec', name, 'true']);
    t.not(refused.code, 0, 'exec into a paused container is refused');
    const unpaused = await docker.docker(['unpause', name]);
    t.equal(unpaused.code, 0, 'unpause', explain(unpaused));
    t.equal((await docker.docker(['exec', name, 'echo', 'thawed'])).stdout, 'thawed\n', 'exec works again');

    const updated = await docker.docker(['update', '--memory', '64m', '--memory-swap', '64m', name]);
    t.equal(updated.code, 0, 'update --memory 64m', explain(updated));
    const limit = (await docker.docker(['exec', name, 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'])).stdout.trim();
    t.equal(limit, String(64 << 20), "the container's memory cgroup has the new limit");

    const stopped = await docker.docker(['stop', '--time', '10', name]);
    t.equal(stopped.code, 0, 'stop', explain(stopped));
    t.equal((await docker.docker(['inspect', '-f', '{{.State.ExitCode}}', name])).stdout.trim(), '0', 'its TERM trap exited 0');
    await waitFor(() => !fs.existsSync(`/proc/${pid}`), 10_000, `pid ${pid} gone`);
    const removed = await docker.docker(['rm', name]);
    t.equal(removed.code, 0, 'rm', explain(removed));
    t.notOk(await exists(), 'the container is gone');
    t.same(fs.existsSync(docker.runtimeRoot(runtime)) ? fs.readdirSync(path.join(docker.runtimeRoot(runtime))).flatMap((ns) => fs.readdirSync(path.join(docker.runtimeRoot(runtime), ns))) : [], [], 'no runtime state left');
  });

  t.test('run -it gives the process a terminal', async (t) => {
    const { docker, name, explain } = prepare(t);
    const r = await runInPty(docker.dockerCommand(['run', '--rm', '-it', '--runtime', runtime, '--name', name, DOCKER_IMAGE, 'sh']), {
      marker: '# ',
      answer: 'tty; stty size; exit 5\n',
      timeoutMs: 60_000,
    });
    t.equal(r.code, 5, 'exit code through the terminal', explain(r));
    t.match(r.stdout, /\/dev\/pts\/\d+/, 'the process has a pty');
    t.match(r.stdout, '30 100', 'of the caller terminal size');
  });

  t.test('--read-only --cap-drop ALL --user', async (t) => {
    const { explain, run } = prepare(t);
    const r = await run(['--rm', '--read-only', '--cap-drop', 'ALL', '--user', '1000:1001'], [
      'sh', '-c', 'id -u; id -g; grep CapEff /proc/self/status; touch /x 2>&1; echo done',
    ]);
    t.equal(r.code, 0, 'runs', explain(r));
    t.equal(r.stdout, '1000\n1001\nCapEff:\t0000000000000000\ntouch: /x: Read-only file system\ndone\n');
  });
}
