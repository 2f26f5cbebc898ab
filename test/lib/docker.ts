// A private Docker Engine (Debian docker.io 20.10) for end-to-end tests: its own data root,
// exec root, socket and cgroup parent under one temp dir, no bridge and no iptables, runts
// added as a runtime beside runc. dockerd starts its own containerd under the exec root.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pidsWithArgs } from './containerd';
import { envWithoutTap } from './env';
import { BUSYBOX_IMAGE_REF, busyboxDockerArchive, imageToolsMissing } from './oci-image';
import { runCommand, type CommandOptions, type CommandResult } from './podman';
import { removeCgroupParent, removeServerBase } from './system';
import { waitFor } from './util';

/**
 * The CLI that matches Debian's dockerd. Some machines have a newer docker CLI earlier on
 * PATH (/usr/local/bin) that speaks an API version dockerd 20.10 refuses.
 */
export const DOCKER_CLI = '/usr/bin/docker';
export const DOCKER_IMAGE = BUSYBOX_IMAGE_REF;

/** Why a private dockerd cannot run here, or undefined. */
export function dockerMissing(): string | undefined {
  if (!fs.existsSync('/usr/sbin/dockerd') || !fs.existsSync(DOCKER_CLI)) return 'dockerd or /usr/bin/docker is not installed (apt-get install docker.io)';
  return imageToolsMissing();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class PrivateDocker {
  readonly socket: string;
  /** Every container goes under this cgroup parent (removed at stop). */
  readonly cgroupParent: string;
  private daemon: ChildProcess | undefined;

  private constructor(readonly base: string) {
    this.socket = path.join(base, 'docker.sock');
    this.cgroupParent = `/runts-docker-${process.pid}`;
  }

  /** The runtime's state root dockerd hands it (--root): <exec-root>/runtime-<name>. */
  runtimeRoot(runtime: string): string {
    return path.join(this.base, 'exec', `runtime-${runtime}`);
  }

  /** Starts dockerd with `runts` added as a runtime and loads the busybox image. */
  static async start(runts: string): Promise<PrivateDocker> {
    const docker = new PrivateDocker(fs.mkdtempSync(path.join(os.tmpdir(), 'runts-docker-')));
    const b = docker.base;
    try {
      fs.writeFileSync(path.join(b, 'daemon.json'), '{}');
      const log = fs.openSync(path.join(b, 'dockerd.log'), 'a');
      try {
        docker.daemon = spawn(
          'dockerd',
          [
            '--config-file', path.join(b, 'daemon.json'),
            '--data-root', path.join(b, 'data'),
            '--exec-root', path.join(b, 'exec'),
            '--pidfile', path.join(b, 'dockerd.pid'),
            '-H', `unix://${docker.socket}`,
            '--bridge', 'none', '--iptables=false', '--ip6tables=false',
            '--cgroup-parent', docker.cgroupParent,
            '--add-runtime', `runts=${runts}`,
          ],
          { detached: true, stdio: ['ignore', log, log], env: envWithoutTap() },
        );
      } finally {
        fs.closeSync(log);
      }
      await waitFor(async () => (await docker.docker(['version'], { timeoutMs: 10_000 })).code === 0, 60_000, 'dockerd answering');
      const loaded = await docker.docker(['load', '--quiet', '--input', busyboxDockerArchive(b)]);
      if (loaded.code !== 0) throw new Error(`docker load: ${loaded.stderr.trim()}`);
      return docker;
    } catch (err) {
      const problems = await docker.stop();
      throw new Error(`${(err as Error).message}; dockerd log:\n${docker.logTail()}${problems.length ? `\n(cleanup: ${problems.join('; ')})` : ''}`);
    }
  }

  /** The argv of `docker ARGS` against this daemon (for a pty driver). */
  dockerCommand(args: string[]): string[] {
    return [DOCKER_CLI, '-H', `unix://${this.socket}`, ...args];
  }

  /** Runs `docker ARGS`; never rejects for a non-zero exit. */
  docker(args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
    const [file, ...rest] = this.dockerCommand(args);
    return runCommand(file, rest, { env: envWithoutTap({ DOCKER_CONFIG: path.join(this.base, 'cli') }), ...opts });
  }

  logTail(lines = 20): string {
    try {
      return fs.readFileSync(path.join(this.base, 'dockerd.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /**
   * Removes every container, stops dockerd (which stops its containerd), kills shims that
   * outlived it, unmounts leftovers, removes the cgroup parent and the base dir.
   */
  async stop(): Promise<string[]> {
    const problems: string[] = [];
    const daemon = this.daemon;
    if (daemon?.pid !== undefined && daemon.exitCode === null && daemon.signalCode === null) {
      const ids = (await this.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) {
        const removed = await this.docker(['rm', '-f', ...ids]);
        if (removed.code !== 0) problems.push(`docker rm -f: ${removed.stderr.trim()}`);
      }
      const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
      daemon.kill('SIGTERM');
      if (!(await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]))) {
        problems.push('dockerd ignored SIGTERM for 20 s: killed');
        daemon.kill('SIGKILL');
        await exited;
      }
    }
    const containerdSocket = path.join(this.base, 'exec', 'containerd', 'containerd.sock');
    for (const pid of [...pidsWithArgs(['-address', containerdSocket]), ...pidsWithArgs(['--address', containerdSocket])]) {
      problems.push(`process ${pid} outlived dockerd: killed`);
      process.kill(pid, 'SIGKILL');
    }
    problems.push(...removeCgroupParent(this.cgroupParent));
    problems.push(...removeServerBase(this.base).problems);
    return problems;
  }
}
