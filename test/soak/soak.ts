// Shared by the soak tests: one create/start/delete cycle, and what the host holds for
// the test (fds, mounts, cgroups, processes, state dirs, temp files) so that growth
// between checkpoints shows up. Counts come from env so a long run is one variable away.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listCgroupDirs, listProcesses, readMounts, RUNTS_BIN, runtimeEnv, runts, runtsToFiles, uniqueId } from '../lib';
import { isWithin } from '../lib/system';

/** $name as a positive integer, or `fallback` (the CI count). RUNTS_SOAK_FULL=1 picks `full`. */
export function soakCount(name: string, fallback: number, full: number): number {
  const fromEnv = Number(process.env[name]);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return process.env.RUNTS_SOAK_FULL === '1' ? full : fallback;
}

export interface Footprint {
  /** This test process's own open fds. */
  ownFds: number;
  /** fds of any process on the host that point into the test's dirs or name its containers. */
  foreignFds: string[];
  mounts: string[];
  cgroups: string[];
  processes: string[];
  stateDirs: string[];
  tempFiles: string[];
}

/** What the host holds for this soak: `dirs` are its root and bundle, `idPrefix` starts its IDs. */
export function footprint(dirs: string[], root: string, idPrefix: string, runtimeTmp: string): Footprint {
  const mine = (s: string) => s.includes(idPrefix) || dirs.some((d) => isWithin(s, d) || s.includes(`${d}/`));
  const foreignFds: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited, or not ours to read
    }
    for (const fd of fds) {
      try {
        const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (mine(target)) foreignFds.push(`${pid}:${fd} → ${target}`);
      } catch {
        // closed meanwhile
      }
    }
  }
  return {
    ownFds: fs.readdirSync('/proc/self/fd').length,
    foreignFds,
    mounts: readMounts().map((m) => m.mountPoint).filter(mine),
    cgroups: listCgroupDirs().filter((d) => d.includes(idPrefix)),
    processes: listProcesses()
      // Children of the test that are runtimes (not the test runner's helpers, like tsx's esbuild).
      .filter((p) => (p.ppid === process.pid && /runts|runc|python3/.test(p.cmdline)) || mine(p.cmdline) || p.cgroup.includes(idPrefix))
      .map((p) => `${p.pid} ${p.cmdline}`),
    stateDirs: fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name),
    tempFiles: [
      ...fs.readdirSync(runtimeTmp).map((n) => path.join(runtimeTmp, n)),
      ...fs.readdirSync(os.tmpdir()).filter((n) => n.includes(idPrefix)).map((n) => path.join(os.tmpdir(), n)),
    ],
  };
}

/**
 * The footprint once it matches `expected`, or as it is after `timeoutMs`: a just-exited
 * runts (a zombie until node reaps it) or a container's last process may take a moment.
 */
export async function settledFootprint(measure: () => Footprint, expected: Partial<Footprint>, timeoutMs = 5000): Promise<Footprint> {
  const deadline = Date.now() + timeoutMs;
  const matches = (f: Footprint) => Object.entries(expected).every(([key, value]) => JSON.stringify(f[key as keyof Footprint]) === JSON.stringify(value));
  for (;;) {
    const now = measure();
    if (matches(now) || Date.now() >= deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs `runts ARGS` under python's getrusage to learn its peak RSS (KiB); stdio go to files. */
export async function runtsWithPeakRss(outDir: string, args: string[]): Promise<{ code: number; stderr: string; peakKiB: number }> {
  const report = path.join(outDir, `rss-${process.hrtime.bigint()}`);
  const err = `${report}.err`;
  const script = [
    'import os, resource, subprocess, sys',
    'out = open(sys.argv[2], "wb"); err = open(sys.argv[3], "wb")',
    'code = subprocess.call(sys.argv[4:], stdin=subprocess.DEVNULL, stdout=out, stderr=err)',
    'open(sys.argv[1], "w").write("%d %d" % (code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))',
  ].join('\n');
  const child = spawn('python3', ['-c', script, report, `${report}.out`, err, RUNTS_BIN, ...args], { env: runtimeEnv(), stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve());
  });
  const [code, peakKiB] = fs.readFileSync(report, 'utf8').split(' ').map(Number);
  const stderr = fs.readFileSync(err, 'utf8');
  for (const f of [report, `${report}.out`, err]) fs.rmSync(f, { force: true });
  return { code, stderr, peakKiB };
}

export interface CycleResult {
  /** The failed step and its stderr; undefined when every step exited 0. */
  failure?: string;
  /** Peak RSS (KiB) of create, start and delete, when measured. */
  peaks?: number[];
}

/** create → start → delete --force (the process is `true`: it may have exited already).
 *  `outDir` belongs to this caller alone: its files are removed after the cycle. */
export async function cycle(root: string, bundle: string, outDir: string, idPrefix: string, measure: boolean): Promise<CycleResult> {
  const id = uniqueId(idPrefix);
  const steps = [
    ['create', '--bundle', bundle, id],
    ['start', id],
    ['delete', '--force', id],
  ];
  const peaks: number[] = [];
  for (const step of steps) {
    const args = ['--root', root, ...step];
    let code: number;
    let stderr: string;
    if (measure) {
      const r = await runtsWithPeakRss(outDir, args);
      ({ code, stderr } = r);
      peaks.push(r.peakKiB);
    } else {
      // create's container keeps its stdio: files, not pipes.
      const r = step[0] === 'create' ? await runtsToFiles(outDir, args) : await runts(args);
      ({ code, stderr } = r);
    }
    if (code !== 0) {
      await runts(['--root', root, 'delete', '--force', id]);
      return { failure: `${step[0]} ${id} exited ${code}: ${stderr.trim()}` };
    }
  }
  for (const f of fs.readdirSync(outDir)) fs.rmSync(path.join(outDir, f), { force: true });
  return measure ? { peaks } : {};
}
