// Soak, side by side: 8 workers run create/start/delete cycles at once on one --root. Every
// step must succeed and the host must hold nothing more afterwards. CI runs 8 × 25 cycles;
// RUNTS_SOAK_FULL=1 runs 8 × 50 (or RUNTS_SOAK_PARALLEL=N cycles per worker).
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { leakGuard, makeBundle, requireRoot, runtsRoot, tempDir } from '../lib';
import { makeRuntimeTmpdir, RUNTIME_TMPDIR } from '../lib/runts';
import { cycle, footprint, settledFootprint, soakCount } from './soak';

const WORKERS = 8;
const perWorker = soakCount('RUNTS_SOAK_PARALLEL', 25, 50);
t.setTimeout(Math.max(300_000, perWorker * WORKERS * 5_000));

t.test(`${WORKERS} × ${perWorker} parallel create/start/delete cycles on one root: all succeed, no growth`, async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const root = runtsRoot(t);
  const work = tempDir(t, 'soak');
  makeRuntimeTmpdir();
  const { bundle } = await makeBundle(path.join(work, 'bundle'), { args: ['true'] });
  const idPrefix = `psoak-${process.pid}-`;
  const outDirs = Array.from({ length: WORKERS }, (_, w) => {
    const dir = path.join(work, `out-${w}`);
    fs.mkdirSync(dir);
    return dir;
  });
  const measureNow = () => footprint([root, work], root, idPrefix, RUNTIME_TMPDIR);

  t.notOk((await cycle(root, bundle, outDirs[0], 'psoak', false)).failure, 'warm-up cycle');
  const baseline = await settledFootprint(measureNow, { foreignFds: [], mounts: [], cgroups: [], processes: [], stateDirs: [] });

  const failures: string[] = [];
  await Promise.all(
    outDirs.map(async (outDir, w) => {
      for (let i = 0; i < perWorker && failures.length < 5; i++) {
        const result = await cycle(root, bundle, outDir, 'psoak', false);
        if (result.failure) failures.push(`worker ${w} cycle ${i}: ${result.failure}`);
      }
    }),
  );
  t.same(failures, [], 'every step of every cycle exited 0');
  t.same(await settledFootprint(measureNow, baseline), baseline, `after ${WORKERS * perWorker} cycles: the same footprint as after the warm-up`);
});
