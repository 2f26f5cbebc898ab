#!/usr/bin/env node
// `npm run demo`: builds a busybox bundle in a temp dir, runs it with bin/runts in
// the foreground, then deletes the container and the bundle. Exits with the
// container's exit status.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBundle } from './make-bundle.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// RUNTS_BIN lets the demo run another runtime (e.g. runc) for comparison.
const runtsBin = process.env.RUNTS_BIN || path.join(repoRoot, 'bin', 'runts');

// Each line shows one thing a container changes: its own hostname, PID namespace, user and root.
const script = [
  'echo "hostname: $(hostname)"',
  'echo "pid: $$ (the container has its own PID namespace)"',
  'echo "uid: $(id -u) ($(id -un))"',
  'echo "root:" $(ls /)',
  'echo "processes:"; ps -o pid,user,args',
].join('; ');

/** Removes `dir`, unless a mount was left inside it (rm would then reach into the mounted filesystem). */
function removeUnlessMounted(dir) {
  const mountPoints = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint) => mountPoint && mountPoint.startsWith(`${dir}/`));
  if (mountPoints.length > 0) {
    console.error(`demo: not removing ${dir}: still mounted inside it: ${mountPoints.join(', ')}`);
    return;
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

function main() {
  if (!fs.existsSync(runtsBin)) {
    console.error(`demo: ${runtsBin} not found: build first (npm ci, or npm run build)`);
    return 1;
  }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-demo-'));
  const id = `runts-demo-${process.pid}`;
  try {
    const { bundle } = makeBundle(path.join(workDir, 'bundle'), { args: ['sh', '-c', script] });
    console.log(`$ runts run -b ${bundle} ${id}`);
    const run = spawnSync(runtsBin, ['run', '-b', bundle, id], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (run.error) throw new Error(`spawning ${runtsBin}: ${run.error.message}`);
    const signalNumber = run.signal ? os.constants.signals[run.signal] : 0;
    const status = run.status ?? 128 + signalNumber;
    console.log(`container exited with status ${status}`);
    return status;
  } catch (err) {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    // The container is gone after a foreground run; --force also covers a run that failed half-way.
    spawnSync(runtsBin, ['delete', '--force', id], { stdio: 'inherit' });
    removeUnlessMounted(workDir);
  }
}

process.exitCode = main();
