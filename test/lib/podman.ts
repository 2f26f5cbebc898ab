// A private podman (4.x, with conmon) for the end-to-end tests: its own config,
// storage, run and temp dirs under one temp dir, a busybox image built offline,
// and runts registered as an OCI runtime beside runc.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Test } from 'tap';
import { BUSYBOX_IMAGE_REF, busyboxDockerArchive, findCommand } from './oci-image';
import { REPO_ROOT } from './runts';
import { onCleanup, tempDir } from './scope';
import { waitFor } from './util';
import { watch } from './watch';

/** The runtimes the e2e tests drive podman with; runc is the reference. */
export type PodmanRuntime = 'runts' | 'runc';
/** The absolute path podman runs for `--runtime runts`: the repository's own build. */
export const RUNTS_PATH = path.join(REPO_ROOT, 'bin', 'runts');
/** The image the tests load: built offline from busybox-static (see oci-image.ts). */
export const BUSYBOX_IMAGE = BUSYBOX_IMAGE_REF;
/**
 * Where each runtime keeps container state. podman passes `--root` to the runtime only
 * through `--runtime-flag`, which its cleanup process (conmon's exit command) does not
 * repeat, so the runtimes use their default roots, as in a real installation.
 */
export const RUNTIME_STATE_ROOTS: Record<PodmanRuntime, string> = { runts: '/run/runts', runc: '/run/runc' };

export interface CommandResult {
  /** Exit status; 128 + signal number when killed by a signal. */
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CommandOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** SIGKILLs the command after this long (default 60 s). */
  timeoutMs?: number;
}

/** Why the podman e2e tests cannot run here (podman or conmon not installed), or undefined. */
export function podmanMissing(): string | undefined {
  const missing = ['podman', 'conmon'].filter((name) => !findCommand(name) && !fs.existsSync(`/usr/libexec/podman/${name}`));
  return missing.length > 0 ? `not installed: ${missing.join(', ')} (apt-get install podman)` : undefined;
}

/** True if runc is installed: the reference runtime for the same scenarios. */
export function runcInstalled(): boolean {
  return findCommand('runc') !== undefined;
}

/** The test process's environment without tap's variables and node options (runts is a node program). */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key.startsWith('TAP') || key.startsWith('_TAPJS_')) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command to completion; never rejects for a non-zero exit. */
export function runCommand(file: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env ?? cleanEnv({}), stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const killTimer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.on('error', (err) => {
      clearTimeout(killTimer);
      reject(new Error(`spawning ${file} ${args.join(' ')}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      resolve({
        code: code ?? 128 + (signal ? os.constants.signals[signal] : 0),
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        timedOut,
      });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** This process's hard limit on open files or processes (what `ulimit -Hn` / `-Hu` print), from /proc/self/limits. */
function hardLimit(resource: 'nofile' | 'nproc'): number {
  const label = resource === 'nofile' ? 'Max open files' : 'Max processes';
  const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(label));
  // Columns: name, soft, hard, units; the name holds spaces.
  const hard = line?.slice(label.length).trim().split(/\s+/)[1];
  if (!hard) throw new Error(`/proc/self/limits has no "${label}" line`);
  const limit = hard === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(hard);
  if (resource === 'nofile') return limit;
  // podman lowers its own nproc limit to kernel.pid_max; the container may not ask for more.
  const pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
  return Math.min(limit, pidMax);
}

/** PIDs of the processes whose command line mentions `text` (other than this one). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) pids.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** The cgroup v1 hierarchies and the unified one: where podman makes the cgroup parent. */
function cgroupMounts(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => {
      const fsType = fields[fields.indexOf('-') + 1];
      return fsType === 'cgroup' || fsType === 'cgroup2';
    })
    .map((fields) => fields[4]);
}

export interface Podman {
  /** The temp dir holding podman's config, storage, run and temp dirs. */
  base: string;
  /**
   * The absolute cgroup parent every container of this file goes under (pass it with
   * `--cgroup-parent`), so podman leaves nothing in a shared one; removed at teardown.
   */
  cgroupParent: string;
  /** Runs `podman GLOBAL-OPTIONS ARGS...` with the private configuration. */
  run(args: string[], opts?: CommandOptions): Promise<CommandResult>;
  /**
   * Waits until no conmon or podman process of this podman runs (conmon's exit command
   * cleans up after a container asynchronously), then lets a clean podman take down the
   * storage mount a failed one left behind.
   */
  quiesce(): Promise<void>;
  /** Runs that same podman command with a pty as its terminal (see runInPty). */
  runInPty(args: string[], opts: PtyOptions): Promise<CommandResult>;
}

/**
 * Sets up a private podman for this test file: config, storage and the busybox image.
 * At `t`'s teardown its containers are removed, the cgroup parent is removed and the
 * temp dir goes.
 */
export async function startPodman(t: Test): Promise<Podman> {
  const base = tempDir(t, 'podman');
  const dirs = {
    root: path.join(base, 'root'),
    runroot: path.join(base, 'runroot'),
    tmp: path.join(base, 'tmp'),
    files: path.join(base, 'files'), // TMPDIR for podman and the runtimes, and image copies
    networks: path.join(base, 'networks'),
    image: path.join(base, 'image'),
  };
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });

  const nofile = hardLimit('nofile');
  const nproc = hardLimit('nproc');
  const containersConf = path.join(base, 'containers.conf');
  fs.writeFileSync(
    containersConf,
    [
      '[containers]',
      'netns = "none"',
      // podman asks for nofile=1048576 otherwise, and a hard limit cannot be raised here.
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${path.join(base, 'events.log')}"`,
      `image_copy_tmp_dir = "${dirs.files}"`,
      'lock_type = "file"',
      'runtime_supports_json = ["runts", "crun", "runc"]',
      '[engine.runtimes]',
      `runts = ["${RUNTS_PATH}"]`,
      '[network]',
      `network_config_dir = "${dirs.networks}"`,
      '',
    ].join('\n'),
  );
  const storageConf = path.join(base, 'storage.conf');
  fs.writeFileSync(
    storageConf,
    ['[storage]', 'driver = "overlay"', `graphroot = "${dirs.root}"`, `runroot = "${dirs.runroot}"`, ''].join('\n'),
  );

  const env = cleanEnv({ CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf, TMPDIR: dirs.files });
  const globalArgs = ['--root', dirs.root, '--runroot', dirs.runroot, '--tmpdir', dirs.tmp];
  const cgroupName = `runts-e2e-podman-${process.pid}-${Date.now().toString(36)}`;
  const podman: Podman = {
    base,
    cgroupParent: `/${cgroupName}`,
    run: async (args, opts = {}) => {
      const result = await runCommand('podman', [...globalArgs, ...args], { env, ...opts });
      // A podman that fails leaves its storage's private bind mount of root/overlay in
      // place; the next podman that exits cleanly takes it down.
      if (result.code !== 0) await runCommand('podman', [...globalArgs, 'ps', '--all', '--quiet'], { env });
      return result;
    },
    quiesce: async () => {
      await waitFor(() => processesMentioning(base).length === 0, 20_000, `podman and conmon processes using ${base} to exit`);
      await runCommand('podman', [...globalArgs, 'ps', '--all', '--quiet'], { env });
    },
    runInPty: (args, opts) => runInPty(['podman', ...globalArgs, ...args], opts, env),
  };

  onCleanup(t, 'graceful', async () => {
    const removed = await podman.run(['rm', '--all', '--force', '--time', '0']);
    if (removed.code !== 0) throw new Error(`podman rm --all --force exited ${removed.code}: ${removed.stderr.trim()}`);
  });
  onCleanup(t, 'remove', () => {
    // conmon's cgroup ('conmon') and the parent itself; the containers' own are gone with them.
    const failures: string[] = [];
    for (const mount of cgroupMounts()) {
      for (const dir of [path.join(mount, cgroupName, 'conmon'), path.join(mount, cgroupName)]) {
        try {
          fs.rmdirSync(dir);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT') failures.push(`rmdir ${dir}: ${(err as Error).message}`);
        }
      }
    }
    if (failures.length > 0) throw new Error(failures.join('; '));
  });

  const archive = busyboxDockerArchive(dirs.image);
  const loaded = await podman.run(['load', '--quiet', '--input', archive]);
  if (loaded.code !== 0) throw new Error(`podman load --input ${archive} exited ${loaded.code}: ${loaded.stderr.trim()}`);
  return podman;
}

/** Attributes the test's leftovers under the podman dir, and a container's ID, to the running test. */
export function watchPodman(podman: Podman, containerId?: string): void {
  watch.path(podman.base);
  if (containerId) watch.id(containerId);
}

/** python3 program: runs argv[4:] on a new pty, types argv[2] once argv[1] shows up, echoes the output. */
const PTY_DRIVER = `
import fcntl, os, pty, select, struct, sys, termios, time
marker, answer, timeout = sys.argv[1].encode(), sys.argv[2].encode(), float(sys.argv[3])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))
    os.execvp(sys.argv[4], sys.argv[4:])
output, answered, deadline = b'', False, time.time() + timeout
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.1)
    if not ready:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:  # EIO: every slave side is closed
        break
    if not data:
        break
    output += data
    if not answered and marker in output:
        os.write(fd, answer)
        answered = True
else:
    os.kill(pid, 9)
    sys.stderr.write('pty driver: timed out after %s s\\n' % timeout)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(output)
sys.stdout.flush()
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
`;

export interface PtyOptions {
  /** Text to type once `marker` appears in the output. */
  marker: string;
  answer: string;
  timeoutMs?: number;
}

/**
 * Runs a command with a pty (30 rows, 100 columns) as its controlling terminal and
 * stdio; resolves with what it wrote there (CRLF line ends) and its exit status.
 */
export function runInPty(argv: string[], opts: PtyOptions, env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  const timeoutS = (opts.timeoutMs ?? 30_000) / 1000;
  return runCommand('python3', ['-c', PTY_DRIVER, opts.marker, opts.answer, String(timeoutS), ...argv], {
    env: env ?? cleanEnv({}),
    timeoutMs: (timeoutS + 10) * 1000,
  });
}
