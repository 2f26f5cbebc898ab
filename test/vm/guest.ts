// Running commands in the cgroup v2 guest (test/vm/cg2vm, a User-Mode Linux VM) from tests:
// for what this host's hybrid cgroups cannot show (v2 memory/pids/cpu/io limits, a pure v2
// hierarchy). Booting costs about a second and node starts slowly inside (~3 s): run several
// checks per guest, in one shell script, rather than one guest per check.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Test } from 'tap';
import { envWithoutTap } from '../lib/env';

/** The runner script. */
export const CG2VM = path.join(__dirname, 'cg2vm');
/** Where Debian's user-mode-linux package installs the kernel (CG2VM_UML overrides, as in cg2vm). */
const UML_KERNEL = process.env.CG2VM_UML || '/usr/bin/linux.uml';

export interface GuestOptions {
  /** Guest RAM (default 256M: node and a container fit). */
  mem?: string;
  /** Seconds before the guest is killed (exit code 124); default 120. */
  timeoutSeconds?: number;
  /** A sparse scratch disk of this size as /dev/ubda (block 98:0). */
  disk?: string;
  /** Kernel modules to load first, e.g. ['overlay']. */
  modules?: string[];
  /** Host paths under /tmp the command needs (e.g. a bundle); the guest has its own /tmp. */
  share?: string[];
  /** The command's cwd (default: the repository root). */
  cwd?: string;
  /** Added to (or, when undefined, removed from) the command's environment. */
  env?: Record<string, string | undefined>;
  /** Boot systemd as PID 1 (with only the unit that runs the command). */
  systemd?: boolean;
}

export interface GuestResult {
  /** The command's exit status; 124 on timeout, 125 when the guest did not boot. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Why the guest cannot run here, or undefined when it can: tests skip with this reason. */
export function guestAvailable(): string | undefined {
  if (process.env.CG2VM === '1') return 'already inside the cgroup v2 guest';
  // The guest's init uses x86-64 syscall numbers; Debian builds user-mode-linux for amd64.
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'the cgroup v2 guest needs Linux on x86-64';
  if (process.getuid?.() !== 0) return 'the cgroup v2 guest needs root (its init mounts and runs as root on the host\'s files)';
  try {
    fs.accessSync(UML_KERNEL, fs.constants.X_OK);
  } catch {
    return `no User-Mode Linux kernel at ${UML_KERNEL} (apt-get install user-mode-linux)`;
  }
  for (const tool of ['/usr/bin/perl', '/usr/bin/timeout']) {
    if (!fs.existsSync(tool)) return `${tool} is missing (the guest runner needs it)`;
  }
  return undefined;
}

/** Parses the "key=value" lines a guest script prints (one line per check). */
export function parseReport(stdout: string): Record<string, string> {
  const report: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) report[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return report;
}

/**
 * Boots a guest, runs `command` in it as root and resolves with its exit status and output.
 * Never rejects for a non-zero status; if the test ends first the guest is stopped.
 */
export function runInGuest(t: Test, command: string[], opts: GuestOptions = {}): Promise<GuestResult> {
  const timeoutSeconds = opts.timeoutSeconds ?? 120;
  const args = ['--mem', opts.mem ?? '256M', '--timeout', String(timeoutSeconds)];
  if (opts.disk) args.push('--disk', opts.disk);
  if (opts.modules?.length) args.push('--modules', opts.modules.join(' '));
  for (const shared of opts.share ?? []) args.push('--share', shared);
  if (opts.systemd) args.push('--systemd');
  args.push('--', ...command);
  return new Promise((resolve, reject) => {
    const child = spawn(CG2VM, args, {
      cwd: opts.cwd ?? path.resolve(__dirname, '..', '..'),
      env: envWithoutTap(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let done = false;
    // cg2vm stops its guest on SIGTERM.
    t.teardown(() => {
      if (!done) child.kill('SIGTERM');
    });
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => {
      done = true;
      reject(new Error(`spawning ${CG2VM}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      done = true;
      resolve({
        code: code ?? 128 + (signal ? os.constants.signals[signal] : 0),
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
      });
    });
  });
}
