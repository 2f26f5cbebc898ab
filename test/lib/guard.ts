// leakGuard: fails a test that leaves mounts, processes, state, cgroups or temp files behind.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Test } from 'tap';
import { RUNTIME_TMPDIR } from './runts';
import { setLeakChecker } from './scope';
import { isWithin, listCgroupDirs, listNames, listProcesses, listSubdirs, readMounts, type MountEntry, type ProcessEntry } from './system';
import { watch } from './watch';

/** Where runts keeps state when no --root is given; tests must never touch it. */
const DEFAULT_STATE_ROOT = '/run/runts';
/** How long leftovers get to disappear on their own (a container's processes exiting) before they count. */
const SETTLE_MS = 3000;

interface Snapshot {
  mountIds: Set<string>;
  processKeys: Set<string>;
  cgroupDirs: Set<string>;
  stateNames: Set<string>;
  tmpNames: Set<string>;
  runtimeTmpNames: Set<string>;
}

interface Leftovers {
  mounts: MountEntry[];
  processes: ProcessEntry[];
  cgroups: string[];
  /** Files and directories: state dirs, temp files. */
  files: string[];
}

const processKey = (p: ProcessEntry) => `${p.pid}:${p.startTime}`;

function takeSnapshot(): Snapshot {
  return {
    mountIds: new Set(readMounts().map((m) => m.id)),
    processKeys: new Set(listProcesses().map(processKey)),
    cgroupDirs: new Set(listCgroupDirs()),
    stateNames: new Set(listNames(DEFAULT_STATE_ROOT)),
    tmpNames: new Set(listNames(os.tmpdir())),
    runtimeTmpNames: new Set(listNames(RUNTIME_TMPDIR)),
  };
}

/** What exists now, was not there at the snapshot, and belongs to this test. */
function findLeftovers(before: Snapshot): Leftovers {
  const ids = watch.ids();
  const paths = watch.paths();
  const namesAnId = (s: string) => ids.some((id) => s.includes(id));
  const underAPath = (p: string) => paths.some((dir) => isWithin(p, dir));
  const mentionsTest = (s: string) => namesAnId(s) || paths.some((dir) => s.includes(dir));

  const mounts = readMounts().filter(
    (m) => !before.mountIds.has(m.id) && (underAPath(m.mountPoint) || namesAnId(m.mountPoint)),
  );

  const all = listProcesses();
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const ownsProcess = (p: ProcessEntry) =>
    mentionsTest(p.cmdline) || underAPath(p.root) || underAPath(p.cwd) || namesAnId(p.cgroup);
  const belongsToTest = (p: ProcessEntry) => {
    // Walk up the parent chain: a child of this test process, or of anything the test owns.
    for (let cur: ProcessEntry | undefined = p, hops = 0; cur && hops < 64; cur = byPid.get(cur.ppid), hops++) {
      if (cur.ppid === process.pid || ownsProcess(cur)) return true;
    }
    return false;
  };
  const processes = all.filter(
    (p) => p.pid !== process.pid && !before.processKeys.has(processKey(p)) && belongsToTest(p),
  );

  const cgroups = listCgroupDirs().filter(
    (dir) => !before.cgroupDirs.has(dir) && dir.split('/').some((segment) => namesAnId(segment)),
  );

  const files = [
    // Container state dirs; files the runtime keeps beside them (locks) are not per-container.
    ...watch.roots().flatMap((root) => listSubdirs(root).map((name) => path.join(root, name))),
    ...listNames(DEFAULT_STATE_ROOT)
      .filter((n) => !before.stateNames.has(n) && namesAnId(n))
      .map((n) => path.join(DEFAULT_STATE_ROOT, n)),
    ...listNames(os.tmpdir())
      .filter((n) => !before.tmpNames.has(n) && namesAnId(n))
      .map((n) => path.join(os.tmpdir(), n)),
    ...listNames(RUNTIME_TMPDIR)
      .filter((n) => !before.runtimeTmpNames.has(n))
      .map((n) => path.join(RUNTIME_TMPDIR, n)),
  ];
  return { mounts, processes, cgroups, files };
}

function isEmpty(l: Leftovers): boolean {
  return l.mounts.length + l.processes.length + l.cgroups.length + l.files.length === 0;
}

function describe(l: Leftovers): string[] {
  return [
    ...l.mounts.map((m) => `mount ${m.fsType} ${m.source} on ${m.mountPoint}`),
    ...l.processes.map((p) => `process ${p.pid} (ppid ${p.ppid}, state ${p.state}): ${p.cmdline || '?'}`),
    ...l.cgroups.map((c) => `cgroup ${c}`),
    ...l.files.map((f) => `file ${f}`),
  ];
}

/** Deepest paths first, so children go before their parents. */
const deepestFirst = (a: string, b: string) => b.split('/').length - a.split('/').length;

/** Polls the leftovers until `done` says so or `timeoutMs` passes. */
async function settle(before: Snapshot, timeoutMs: number, done = isEmpty): Promise<Leftovers> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leftovers = findLeftovers(before);
    if (done(leftovers) || Date.now() >= deadline) return leftovers;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Kills, unmounts and removes what the test left; returns what could not be removed. */
async function removeLeftovers(before: Snapshot): Promise<string[]> {
  const failures: string[] = [];
  let left = findLeftovers(before);
  for (const p of left.processes) {
    try {
      process.kill(p.pid, 'SIGKILL'); // found by pid + start time just now, and attributed to this test
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') failures.push(`kill ${p.pid}: ${(err as Error).message}`);
    }
  }
  left = await settle(before, left.processes.length > 0 ? 2000 : 0, (l) => l.processes.length === 0);
  for (const mountPoint of left.mounts.map((m) => m.mountPoint).sort(deepestFirst)) {
    try {
      execFileSync('umount', ['--lazy', mountPoint], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      failures.push(`umount ${mountPoint}: ${(err as Error).message.trim()}`);
    }
  }
  for (const dir of [...left.cgroups].sort(deepestFirst)) {
    try {
      fs.rmdirSync(dir);
    } catch (err) {
      failures.push(`rmdir ${dir}: ${(err as Error).message}`);
    }
  }
  const mountPoints = readMounts().map((m) => m.mountPoint);
  for (const file of left.files) {
    // Never recurse into a mount: a leaked bind mount could expose host files.
    if (mountPoints.some((m) => isWithin(m, file))) {
      failures.push(`not removing ${file}: a mount is still inside it`);
      continue;
    }
    fs.rmSync(file, { recursive: true, force: true });
  }
  return failures;
}

/** A snapshot of host state, and what this test added to it since. */
export interface LeakWatch {
  /** Describes the leftovers, waiting up to `settleMs` for them to go away. */
  findLeaks(settleMs?: number): Promise<string[]>;
  /** Kills, unmounts and removes the leftovers; returns what could not be removed. */
  removeLeftovers(): Promise<string[]>;
}

/** Snapshots host state now; used by leakGuard, and directly by the helpers' self-test. */
export function startLeakWatch(): LeakWatch {
  const before = takeSnapshot();
  return {
    findLeaks: async (settleMs = SETTLE_MS) => describe(await settle(before, settleMs)),
    removeLeftovers: () => removeLeftovers(before),
  };
}

/**
 * Snapshots host state now and, at the test's teardown (after the test's own
 * teardowns), fails the test if it left mounts, processes, state dirs, cgroups or
 * temp files that belong to it (found through its IDs from uniqueId, its temp
 * dirs, state roots and bundles, and its child processes); then removes them.
 */
export function leakGuard(t: Test): void {
  const leakWatch = startLeakWatch();
  setLeakChecker(t, { findLeaks: () => leakWatch.findLeaks(), removeLeftovers: leakWatch.removeLeftovers });
}
