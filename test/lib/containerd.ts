// A private containerd for end-to-end tests: its own config, root, state, temp dir and
// socket under one temp dir, the CRI plugin off, one namespace of its own. Never touches
// the system containerd (/run/containerd/containerd.sock, /var/lib/containerd).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { envWithoutTap } from './env';
import { missingCommand } from './oci-image';
import { socketPath } from '../../src/shim/address';
import { defaultStateRoot } from '../../src/shim/tasks';
import { removeEmptyDir, removeServerBase } from './system';

export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CtrOptions {
  /** Written to ctr's stdin, which is then closed (stdin is empty otherwise). */
  input?: string;
  /** SIGKILLs ctr after this long (default 60 s). */
  timeoutMs?: number;
}

/** A running ctr: its process, and its result once it exits. */
export interface CtrProcess {
  child: ChildProcess;
  /** stdout so far. */
  output(): string;
  result: Promise<CtrResult>;
}

/** Why a private containerd cannot run here (a missing command), or undefined. */
export function containerdMissing(): string | undefined {
  const missing = missingCommand(['containerd', 'ctr', 'containerd-shim-runc-v2']);
  return missing ? `${missing} is not installed (apt-get install containerd)` : undefined;
}

function configToml(base: string, socket: string): string {
  return `version = 2
root = "${base}/root"
state = "${base}/state"
temp = "${base}/tmp"
oom_score = 0
# CRI wants CNI and a sandbox image; the other snapshotters only log errors here.
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[debug]
  address = ""
  level = "debug"
[metrics]
  address = ""
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "${base}/opt"
`;
}

/**
 * python3 program: runs argv[1:] on a new pty of 33 rows x 101 columns (so ctr -t has a
 * terminal whose size it forwards), copies everything it prints to stdout, and exits
 * with its status. Gives up after 30 s.
 */
const PTY_DRIVER = `
import fcntl, os, pty, select, signal, struct, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 33, 101, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
deadline = time.monotonic() + 30
out = bytearray()
while time.monotonic() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.5)
    if not ready:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:  # EIO: every holder of the pty's other side closed it
        break
    if not data:
        break
    out += data
else:
    os.kill(pid, signal.SIGKILL)
sys.stdout.buffer.write(bytes(out))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
`;

/** Runs `argv` on a pty through PTY_DRIVER. */
export function runOnPty(argv: string[], env: NodeJS.ProcessEnv): Promise<CtrResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', PTY_DRIVER, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => reject(new Error(`spawning python3 pty driver: ${err.message}`)));
    child.on('close', (code) =>
      resolve({ code: code ?? -1, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString(), timedOut: false }),
    );
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** PIDs of live processes whose argv contains every one of `words` (read from /proc). */
export function pidsWithArgs(words: string[]): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    if (words.every((w) => argv.includes(w))) pids.push(Number(name));
  }
  return pids;
}

/** The runts shim's residents serving containerd `address` (src/shim/resident.ts): one per
 *  namespace, named by the -socket the launcher gave it. */
export function runtsResidents(address: string): { pid: number; namespace: string; socket: string }[] {
  return pidsWithArgs(['-address', address, '-socket']).map((pid) => {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return { pid, namespace: argv[argv.indexOf('-namespace') + 1], socket: socketPath(argv[argv.indexOf('-socket') + 1]) };
  });
}

/** Stops the runts residents of containerd `address` once its tasks are gone. An idle resident
 *  stays a while for the next task (RUNTS_SHIM_IDLE_SECONDS); SIGTERM ends it, and it removes
 *  its socket. One that ignores SIGTERM for 5 s is a problem: killed, its socket removed. */
export async function stopRuntsResidents(address: string): Promise<string[]> {
  const problems: string[] = [];
  const residents = runtsResidents(address);
  for (const { pid } of residents) process.kill(pid, 'SIGTERM');
  for (const { pid, socket } of residents) {
    for (let i = 0; i < 50 && fs.existsSync(`/proc/${pid}`); i++) await sleep(100);
    if (!fs.existsSync(`/proc/${pid}`)) continue;
    problems.push(`runts shim ${pid} ignored SIGTERM for 5 s: killed`);
    process.kill(pid, 'SIGKILL');
    fs.rmSync(socket, { force: true });
  }
  return problems;
}

export class PrivateContainerd {
  /** Everything containerd writes lives under here. */
  readonly base: string;
  readonly socket: string;
  /** The containerd namespace; containerd names cgroups /<namespace>/<container id>. */
  readonly namespace: string;
  /** containerd's debug log (shim and runtime errors end up here). */
  readonly logPath: string;
  /** Pass as ctr's --fifo-dir: ctr's stdio fifos then live here, not in /run/containerd/fifo. */
  readonly fifoDir: string;
  private daemon: ChildProcess | undefined;
  /** Added to containerd's environment. */
  private env: NodeJS.ProcessEnv = {};

  private constructor(base: string) {
    this.base = base;
    this.socket = path.join(base, 'run', 'containerd.sock');
    this.namespace = `runts-e2e-${process.pid}`;
    this.logPath = path.join(base, 'containerd.log');
    this.fifoDir = path.join(base, 'fifo');
  }

  /** Starts containerd in its own session and waits until it answers; `env` is added to its
   *  environment (and so to its shims'). */
  static async start(env: NodeJS.ProcessEnv = {}): Promise<PrivateContainerd> {
    const cd = new PrivateContainerd(fs.mkdtempSync(path.join(os.tmpdir(), 'runts-containerd-')));
    cd.env = env;
    for (const sub of ['root', 'state', 'run', 'opt', 'tmp', 'fifo']) fs.mkdirSync(path.join(cd.base, sub));
    fs.writeFileSync(path.join(cd.base, 'config.toml'), configToml(cd.base, cd.socket));
    await cd.spawnDaemon();
    return cd;
  }

  private async spawnDaemon(): Promise<void> {
    const log = fs.openSync(this.logPath, 'a');
    try {
      // detached: own session and process group. Only stdio is inherited (node sets
      // close-on-exec on every other fd), so nothing of the test leaks into shims and runtimes.
      this.daemon = spawn('containerd', ['--config', path.join(this.base, 'config.toml'), '--log-level', 'debug'], {
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...envWithoutTap(), ...this.env },
      });
    } finally {
      fs.closeSync(log);
    }
    const daemon = this.daemon;
    const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      const version = await this.ctr(['version'], { timeoutMs: 5000 });
      if (version.code === 0) return;
      const gone = await Promise.race([exited.then(() => true), sleep(100).then(() => false)]);
      if (gone || Date.now() > deadline) {
        await this.stop();
        throw new Error(`containerd did not start (${gone ? 'it exited' : 'no answer in 15 s'}); log:\n${this.logTail()}`);
      }
    }
  }

  /** Stops containerd (SIGTERM) leaving its tasks and shims running, and starts it again on the
   *  same config, root and state: it reconnects to the live shims. */
  async restart(): Promise<void> {
    const daemon = this.daemon;
    if (daemon && this.running()) {
      const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
      daemon.kill('SIGTERM');
      await exited;
    }
    await this.spawnDaemon();
  }

  /** The last lines of containerd's log, for failure messages. */
  logTail(lines = 30): string {
    try {
      return fs.readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private ctrArgs(args: string[]): string[] {
    return ['--address', this.socket, '--namespace', this.namespace, ...args];
  }

  /** Starts `ctr ARGS` against this daemon with pipes; the caller drives stdin. */
  spawnCtr(args: string[], timeoutMs = 60_000): CtrProcess {
    const child = spawn('ctr', this.ctrArgs(args), { stdio: ['pipe', 'pipe', 'pipe'], env: envWithoutTap() });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin?.on('error', () => {}); // ctr may exit without reading its input
    const result = new Promise<CtrResult>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`spawning ctr ${args.join(' ')}: ${err.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({
          code: code ?? 128 + (signal ? os.constants.signals[signal] : 0),
          stdout: Buffer.concat(stdout).toString(),
          stderr: Buffer.concat(stderr).toString(),
          timedOut,
        });
      });
    });
    return { child, output: () => Buffer.concat(stdout).toString(), result };
  }

  /** Runs `ctr ARGS` to completion; never rejects for a non-zero exit. */
  ctr(args: string[], opts: CtrOptions = {}): Promise<CtrResult> {
    const proc = this.spawnCtr(args, opts.timeoutMs);
    proc.child.stdin?.end(opts.input ?? '');
    return proc.result;
  }

  /** The argv (for spawning through a pty driver) of `ctr ARGS` against this daemon. */
  ctrCommand(args: string[]): string[] {
    return ['ctr', ...this.ctrArgs(args)];
  }

  /** The environment ctr runs with (without the test runner's node options). */
  ctrEnv(): NodeJS.ProcessEnv {
    return envWithoutTap();
  }

  /** Kills (SIGKILL, all processes) and deletes a task and its container; ignores "not found". */
  async removeContainer(id: string): Promise<string[]> {
    // Stopped already (stop() removed what was left): ctr would only wait for the gone socket.
    if (!this.running()) return [];
    const problems: string[] = [];
    const task = await this.ctr(['task', 'ls']);
    if (new RegExp(`^${id}\\s`, 'm').test(task.stdout)) {
      // A frozen task cannot die: thaw it first (an error just means it was not paused).
      await this.ctr(['task', 'resume', id]);
      await this.ctr(['task', 'kill', '--all', '--signal', 'SIGKILL', id]);
      const deleted = await this.ctr(['task', 'delete', '--force', id]);
      if (deleted.code !== 0) problems.push(`ctr task delete --force ${id}: ${deleted.stderr.trim()}`);
    }
    const containers = await this.ctr(['containers', 'ls', '--quiet']);
    if (containers.stdout.split('\n').includes(id)) {
      const deleted = await this.ctr(['containers', 'delete', id]);
      if (deleted.code !== 0) problems.push(`ctr containers delete ${id}: ${deleted.stderr.trim()}`);
    }
    return problems;
  }

  /**
   * Removes the socket a shim of container `id` listens on, left behind when the shim
   * was killed rather than told to shut down. containerd 1.6 hard-codes the directory
   * and names the socket after sha256(<address>/<namespace>/<id>).
   */
  removeShimSocket(id: string): void {
    const hash = createHash('sha256').update(path.join(this.socket, this.namespace, id)).digest('hex');
    fs.rmSync(path.join('/run/containerd/s', hash), { force: true });
  }

  /**
   * Deletes every task and container of the namespace, stops containerd, kills shims
   * that outlived it, unmounts what is left under the base dir, removes the namespace's
   * cgroups and the base dir. Returns what could not be cleaned.
   */
  private running(): boolean {
    const daemon = this.daemon;
    return daemon?.pid !== undefined && daemon.exitCode === null && daemon.signalCode === null;
  }

  async stop(): Promise<string[]> {
    const problems: string[] = [];
    const daemon = this.daemon;
    if (daemon && this.running()) {
      const containers = await this.ctr(['containers', 'ls', '--quiet'], { timeoutMs: 10_000 });
      for (const id of containers.stdout.split('\n').filter(Boolean)) problems.push(...(await this.removeContainer(id)));
      const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
      daemon.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!stopped) {
        problems.push('containerd ignored SIGTERM for 5 s: killed');
        daemon.kill('SIGKILL');
        await exited;
      }
    }
    problems.push(...(await stopRuntsResidents(this.socket)));
    // Any other shim serves one container of this daemon: its argv names our socket.
    for (const pid of pidsWithArgs(['-address', this.socket])) {
      problems.push(`shim ${pid} outlived containerd: killed`);
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      process.kill(pid, 'SIGKILL');
      this.removeShimSocket(argv[argv.indexOf('-id') + 1]);
    }
    for (let i = 0; i < 50 && pidsWithArgs(['-address', this.socket]).length > 0; i++) await sleep(100);
    problems.push(...this.removeNamespaceCgroups());
    // The runts shim's state root of this namespace (runc's shim leaves /run/containerd/runc/<ns> too).
    problems.push(...removeEmptyDir(defaultStateRoot(this.namespace), "the runts shim's state root"));
    const base = removeServerBase(this.base);
    problems.push(...base.unmounted.map((mountPoint) => `left mounted: ${mountPoint}`), ...base.problems);
    return problems;
  }

  /** Removes /sys/fs/cgroup/<controller>/<namespace> (and the unified one), deepest first. */
  private removeNamespaceCgroups(): string[] {
    const problems: string[] = [];
    const cgroupRoot = '/sys/fs/cgroup';
    const tops = [path.join(cgroupRoot, this.namespace)];
    for (const entry of fs.readdirSync(cgroupRoot, { withFileTypes: true })) {
      if (entry.isDirectory()) tops.push(path.join(cgroupRoot, entry.name, this.namespace));
    }
    const removeTree = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) {
          problems.push(`container cgroup left: ${path.join(dir, entry.name)}`);
          removeTree(path.join(dir, entry.name));
        }
      }
      try {
        fs.rmdirSync(dir);
      } catch (err) {
        problems.push(`rmdir ${dir}: ${(err as Error).message}`);
      }
    };
    for (const top of tops) if (fs.existsSync(top)) removeTree(top);
    return problems;
  }
}
