// `npm run bench` in --quick mode: the benchmark runs end to end, cleans up after itself and
// writes every row to its JSON. Only that it works is checked here, never the numbers.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { leakGuard, onCleanup, REPO_ROOT, requireRoot, tempDir } from './lib';
import { envWithoutTap } from './lib/env';

const BENCH = path.join(REPO_ROOT, 'scripts', 'bench.mjs');
const RUNC = '/usr/sbin/runc';
const RUNTIMES = ['runts', 'runc', 'crun'];

/** Every row the JSON must hold, whether measured or skipped. */
const EXPECTED_ROWS = [
  'time.node',
  ...['version', 'state', 'run', 'lifecycle'].flatMap((key) => RUNTIMES.map((rt) => `time.${rt}.${key}`)),
  'rss.node',
  ...['version', 'state', 'create', 'start', 'delete', 'run'].flatMap((key) => RUNTIMES.map((rt) => `rss.${rt}.${key}`)),
  ...RUNTIMES.map((rt) => `waiting.${rt}.init`),
  ...RUNTIMES.map((rt) => `parallel.${rt}.batch`),
  // Measured only with --clients: skipped here, saying so.
  ...['pod', 'ctr-run', 'docker-run'].flatMap((key) => ['runts', 'runc'].map((rt) => `clients.${rt}.${key}`)),
  'clients.runts.pod-shim',
  'clients.runts.ctr-shim',
  'shims.runts.pods',
  'shims.runc.pods',
];

interface Row {
  id: string;
  label: string;
  unit: string;
  samples?: number[];
  median?: number;
  min?: number;
  max?: number;
  skipped?: string;
  error?: string;
  budget?: { text: string; pass: boolean | null; ratio?: number | null };
}

interface Bench {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** How long the benchmark gets to clean up when the test ends before it does. */
const STOP_GRACE_MS = 60_000;

/**
 * Runs the benchmark with a clean environment (no tap variables, no NODE_OPTIONS loading
 * tsx into every node). Should the test end first (a timeout), SIGTERM makes the benchmark
 * stop measuring and clean up its containers before the leak guard kills what is left.
 */
function runBench(t: Test, args: string[]): Promise<Bench> {
  const env = envWithoutTap();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BENCH, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
    onCleanup(t, 'graceful', async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolveTimeout) => setTimeout(resolveTimeout, STOP_GRACE_MS))]);
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => reject(new Error(`spawning ${BENCH}: ${err.message}`)));
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() }),
    );
  });
}

const benchTempDirs = () => new Set(fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('runts-bench-')));

t.test('an unknown option is a usage error', async (t) => {
  const result = await runBench(t, ['--no-such-option']);
  t.equal(result.code, 2);
  t.match(result.stderr, /usage: node scripts\/bench\.mjs/);
});

t.test('--quick measures every row, writes the JSON and leaves nothing behind', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const jsonPath = path.join(tempDir(t, 'bench'), 'results.json');
  const tempDirsBefore = benchTempDirs();

  const result = await runBench(t, ['--quick', '--json', jsonPath]);
  t.equal(result.code, 0, `bench exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  t.match(result.stdout, /QUICK MODE/);
  t.match(result.stdout, /runts state ID .*(PASS|FAIL) ≤ 1\.15 × node -e 0/);

  const results = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  t.match(results, { mode: 'quick', warmup: 1, runs: 3, parallelCount: 8, concurrency: 8, parallelRounds: 1 });
  t.same(results.errors, [], 'no errors');
  t.same(results.leftovers, [], 'no leftovers');
  const rows: Row[] = results.rows;
  t.same(rows.map((row) => row.id).sort(), [...EXPECTED_ROWS].sort(), 'every row, once');

  const runcInstalled = fs.existsSync(RUNC);
  t.equal(results.runtimes.runts.path, path.join(REPO_ROOT, 'bin', 'runts'));
  t.equal(!results.runtimes.runc.skipped, runcInstalled, 'runc is measured exactly when it is installed');
  for (const row of rows) {
    const runtime = row.id.split('.')[1];
    t.notOk(row.error, `${row.id}: no error`);
    if (row.skipped && (row.id.startsWith('clients.') || row.id.startsWith('shims.'))) {
      t.equal(row.skipped, 'not measured: pass --clients', `${row.id} is measured only with --clients`);
      continue;
    }
    if (row.skipped) {
      t.ok(runtime === 'crun' || (runtime === 'runc' && !runcInstalled), `${row.id} skipped only when unavailable`);
      t.equal(row.skipped, results.runtimes[runtime].skipped, `${row.id} carries the runtime's reason`);
      continue;
    }
    const runs = row.id.startsWith('parallel.') ? results.parallelRounds : results.runs;
    t.equal(row.samples?.length, runs, `${row.id}: one sample per run`);
    t.ok(row.samples?.every((value) => Number.isFinite(value) && value > 0), `${row.id}: positive samples`);
    t.ok(row.min! <= row.median! && row.median! <= row.max!, `${row.id}: min ≤ median ≤ max`);
  }
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const id of ['time.runts.state', 'time.runts.version', 'rss.runts.run', 'waiting.runts.init']) {
    t.type(byId.get(id)?.budget?.pass, 'boolean', `${id} is judged against its budget`);
  }
  if (runcInstalled) {
    for (const id of ['time.runts.run', 'time.runts.lifecycle', 'parallel.runts.batch']) {
      t.type(byId.get(id)?.budget?.pass, 'boolean', `${id} is judged against runc`);
    }
  }

  const newTempDirs = [...benchTempDirs()].filter((name) => !tempDirsBefore.has(name));
  t.same(newTempDirs, [], 'the benchmark removed its temp dir');
});
