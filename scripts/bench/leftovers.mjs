// What the benchmark may have left behind, found only through what marks it as the
// benchmark's own: its state roots, its container ID prefix, its temp dir, and the marker
// file every command (and so every container process) has as stdin.
import * as fs from 'node:fs';
import * as path from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';
/** How long container processes get to exit after delete --force before they count as leftovers. */
const SETTLE_MS = 3000;

function subdirs(dir) {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw new Error(`listing ${dir}: ${err.message}`);
  }
}

/** Processes other than this one whose stdin is the marker file (also once it was removed). */
function markedProcesses(stdinMarker) {
  const pids = [];
  const links = [stdinMarker, `${stdinMarker} (deleted)`];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (links.includes(fs.readlinkSync(`/proc/${name}/fd/0`))) pids.push(Number(name));
    } catch {
      // exited while we looked, or a kernel thread without fds
    }
  }
  return pids;
}

/** Cgroup directories (any hierarchy, any depth) named with the benchmark's ID prefix. */
function markedCgroups(idPrefix) {
  const found = [];
  const walk = (dir) => {
    for (const sub of subdirs(dir)) {
      if (path.basename(sub).startsWith(idPrefix)) found.push(sub);
      walk(sub);
    }
  };
  walk(CGROUP_ROOT);
  return found;
}

function markedMounts(tmpDir, idPrefix) {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint) => mountPoint && (mountPoint.startsWith(`${tmpDir}/`) || mountPoint.includes(idPrefix)));
}

/**
 * @param {{ roots: string[], runtimeTmp: string, tmpDir: string, stdinMarker: string, idPrefix: string }} marks
 */
function findLeftovers(marks) {
  return {
    stateDirs: marks.roots.flatMap(subdirs),
    processes: markedProcesses(marks.stdinMarker),
    cgroups: markedCgroups(marks.idPrefix),
    mounts: markedMounts(marks.tmpDir, marks.idPrefix),
    runtimeTmp: fs.existsSync(marks.runtimeTmp) ? fs.readdirSync(marks.runtimeTmp) : [],
  };
}

const count = (l) => l.stateDirs.length + l.processes.length + l.cgroups.length + l.mounts.length + l.runtimeTmp.length;

/**
 * Waits for leftovers to go away, then removes what it safely can (kills the marked
 * processes by pid, removes empty cgroups). Returns a description of everything that was
 * left over (an empty list when nothing was), and whether mounts remain, in which case
 * the temp dir must not be removed recursively.
 */
export async function checkLeftovers(marks) {
  const deadline = Date.now() + SETTLE_MS;
  let left = findLeftovers(marks);
  while (count(left) > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = findLeftovers(marks);
  }
  const found = [
    ...left.stateDirs.map((dir) => `state dir ${dir}`),
    ...left.processes.map((pid) => `process ${pid}: ${readCmdline(pid)}`),
    ...left.cgroups.map((dir) => `cgroup ${dir}`),
    ...left.mounts.map((mountPoint) => `mount on ${mountPoint}`),
    ...left.runtimeTmp.map((name) => `file ${path.join(marks.runtimeTmp, name)} in the runtimes' TMPDIR`),
  ];
  for (const pid of left.processes) {
    try {
      process.kill(pid, 'SIGKILL'); // it has this run's marker as stdin: one of our containers or runtimes
    } catch (err) {
      if (err.code !== 'ESRCH') found.push(`could not kill ${pid}: ${err.message}`);
    }
  }
  const killDeadline = Date.now() + SETTLE_MS;
  while (left.processes.length > 0 && markedProcesses(marks.stdinMarker).length > 0 && Date.now() < killDeadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const dir of left.cgroups.sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(dir);
    } catch (err) {
      found.push(`could not remove cgroup ${dir}: ${err.message}`);
    }
  }
  return { found, mountsRemain: left.mounts.length > 0 };
}

function readCmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '(exited)';
  }
}
