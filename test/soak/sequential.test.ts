// Soak, one after another: create/start/delete cycles must not make the host hold more
// (fds, mounts, cgroups, processes, state dirs, temp files) or runts need more memory as
// they go on. CI runs 100 cycles; RUNTS_SOAK_FULL=1 runs 500 (or RUNTS_SOAK_SEQUENTIAL=N).
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { leakGuard, makeBundle, requireRoot, runtsRoot, tempDir } from '../lib';
import { makeRuntimeTmpdir, RUNTIME_TMPDIR } from '../lib/runts';
import { cycle, footprint, settledFootprint, soakCount } from './soak';

const cycles = soakCount('RUNTS_SOAK_SEQUENTIAL', 100, 500);
// A cycle took about 6 s on a 2-core machine at load 15: the limit leaves room for that.
t.setTimeout(Math.max(300_000, cycles * 10_000));

t.test(`${cycles} sequential create/start/delete cycles: no growth, stable peak RSS`, async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const work = tempDir(t, 'soak');
  const outDir = path.join(work, 'out');
  fs.mkdirSync(outDir);
  makeRuntimeTmpdir();
  const { bundle } = await makeBundle(path.join(work, 'bundle'), { args: ['true'] });
  const idPrefix = `soak-${process.pid}-`;
  const measureNow = () => footprint([root, work], root, idPrefix, RUNTIME_TMPDIR);

  // Warm-up: the first runs may make lasting things once (the root's lock file, node's own fds).
  for (let i = 0; i < 3; i++) t.notOk((await cycle(root, bundle, outDir, 'soak', false)).failure, 'warm-up cycle');
  const baseline = await settledFootprint(measureNow, { foreignFds: [], mounts: [], cgroups: [], processes: [], stateDirs: [] });
  t.same([baseline.foreignFds, baseline.mounts, baseline.cgroups, baseline.processes, baseline.stateDirs], [[], [], [], [], []], 'nothing held after the warm-up');

  // Peak RSS of each step, sampled every 5th cycle.
  const samples: number[][] = [];
  const failures: string[] = [];
  for (let i = 0; i < cycles && failures.length < 3; i++) {
    const result = await cycle(root, bundle, outDir, 'soak', i % 5 === 0);
    if (result.failure) failures.push(`cycle ${i}: ${result.failure}`);
    if (result.peaks) samples.push(result.peaks);
    if (i === Math.floor(cycles / 2)) t.same(await settledFootprint(measureNow, baseline), baseline, `halfway (cycle ${i}): the same footprint as after the warm-up`);
  }
  t.same(failures, [], 'every step of every cycle exited 0');
  t.same(await settledFootprint(measureNow, baseline), baseline, `after ${cycles} cycles: the same footprint as after the warm-up`);

  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  ['create', 'start', 'delete'].forEach((step, s) => {
    const early = median(samples.slice(0, quarter).map((p) => p[s]));
    const late = median(samples.slice(-quarter).map((p) => p[s]));
    t.comment(`peak RSS of ${step} (median of ${quarter} samples): ${early} KiB early, ${late} KiB late`);
    // Each call is a fresh process, whose peak varies with garbage collection by some
    // megabytes: more than that would be something (state, a file it reads) growing with use.
    t.ok(late <= early * 1.2 + 4096, `${step}: peak RSS stays flat (${early} → ${late} KiB)`);
  });
});
