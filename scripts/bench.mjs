#!/usr/bin/env node
// npm run bench: times runts side by side with `node -e 0` and runc (and crun where it
// works), as whole processes, and prints medians, ratios and the budgets they are held to.
//   node scripts/bench.mjs [--quick] [--clients] [--json FILE]
// Commands alternate within each round (the starting one rotates) so drift hits all of
// them equally; warm-up rounds are discarded. Needs root: it starts real containers, each
// runtime with its own --root under a temp dir that is removed at the end.
// --quick is for CI, to prove the benchmark works; its numbers mean nothing.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkLeftovers } from './bench/leftovers.mjs';
import { clientRowIds, formatTable, RUNTIME_NAMES, rowDefs, summarize } from './bench/rows.mjs';
import { buildMaxrss, parallelBatch, Runner } from './bench/run.mjs';
import { makeBundle } from './make-bundle.mjs';

const REPO_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNTS = path.join(REPO_ROOT, 'bin', 'runts');
const RUNC = '/usr/sbin/runc';
const DEFAULT_JSON = path.join('bench-results', 'bench.json');

const MODES = {
  full: { warmup: 3, runs: 15, parallelCount: 50, concurrency: 8, parallelRounds: 1 },
  quick: { warmup: 1, runs: 3, parallelCount: 8, concurrency: 8, parallelRounds: 1 },
};

const USAGE = `usage: node scripts/bench.mjs [--quick] [--clients] [--json FILE]
  --quick      1 warm-up, 3 runs, 8 parallel containers: proves the benchmark works, numbers mean nothing
  --clients    also time a pod start (containerd CRI), ctr run --rm and docker run --rm with runts and
               runc, and ctr run --rm with containerd-shim-runts-v2 (starts private servers: about 2 more minutes)
  --json FILE  where to write the results (default ${DEFAULT_JSON}, relative to the cwd)
`;

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let interrupted = false;

/** Progress on stderr: one line rewritten in place on a terminal, a line per step in a log. */
function progress(text) {
  if (process.stderr.isTTY) process.stderr.write(text ? `\r\x1b[K${text}` : '\n');
  else if (text) process.stderr.write(`${text}\n`);
}

function checkInterrupted() {
  if (interrupted) throw new Error('stopped by a signal');
}

/**
 * How bin/runts starts node: its shebang's interpreter and the one argument the kernel
 * passes it (e.g. env -S dropping NODE_EXTRA_CA_CERTS), so that `node -e 0` is the same
 * interpreter started the same way.
 */
function runtsNode() {
  const firstLine = fs.readFileSync(RUNTS, 'utf8').split('\n', 1)[0];
  if (!firstLine.startsWith('#!/')) return [process.execPath];
  const [, interpreter, arg] = /^(\S+)\s*(.*)$/.exec(firstLine.slice(2).trim());
  return arg ? [interpreter, arg] : [interpreter];
}

function firstLineOf(argv) {
  const result = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.split('\n', 1)[0] : `(${argv.join(' ')} failed)`;
}

function findInPath(name) {
  for (const dir of (process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin').split(':')) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** A runtime binary bound to its own state root. */
function makeRuntime(name, bin, root) {
  return { name, bin, root, cmd: (...args) => [bin, '--root', root, ...args] };
}

/**
 * Tries `run` of the bundle once: a reference runtime that cannot run containers here
 * (crun on a hybrid-cgroup host) is skipped with its own error message as the reason.
 */
function probe(runner, runtime, bundle, id) {
  try {
    runner.timed(runtime.cmd('run', '--bundle', bundle, id));
    return undefined;
  } catch (err) {
    try {
      runner.timed(runtime.cmd('delete', '--force', id));
    } catch {
      // Nothing to delete, or this runtime cannot: its root is only checked while it is measured.
    }
    return `${runtime.bin} run fails here: ${err.reason ?? err.message}`;
  }
}

/**
 * Runs the cases round after round; each round runs every case once, starting one
 * further along than the last round. A case that fails is reported on its rows and dropped.
 * @param {{ rows: string[], measure: () => Record<string, number> }[]} cases
 */
function runRounds(phase, cases, warmup, runs, samples, rowErrors) {
  let active = [...cases];
  const total = warmup + runs;
  for (let round = 0; round < total; round++) {
    progress(`${phase}: round ${round + 1}/${total}${round < warmup ? ' (warm-up)' : ''}`);
    const order = active.map((_, k) => active[(round + k) % active.length]);
    for (const benchCase of order) {
      checkInterrupted();
      try {
        const values = benchCase.measure();
        if (round < warmup) continue;
        for (const [id, value] of Object.entries(values)) samples.get(id).push(value);
      } catch (err) {
        checkInterrupted();
        for (const id of benchCase.rows) rowErrors.set(id, err.message);
        active = active.filter((c) => c !== benchCase);
      }
    }
  }
  progress('');
}

/** VmRSS of a process in KiB, from /proc/PID/status. */
function vmRssKib(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

function readPidFile(file) {
  const pid = Number(fs.readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${file} holds no pid`);
  return pid;
}

async function measureAll(ctx) {
  const { mode, runner, bundle, runtimes, node, nextId, samples, rowErrors, stateIds } = ctx;

  // A created container per runtime for `state ID`; deleted by the final cleanup.
  for (const rt of runtimes) {
    const id = nextId();
    stateIds.set(rt.name, id);
    runner.timed(rt.cmd('create', '--bundle', bundle, id));
  }

  const timeCases = [{ rows: ['time.node'], measure: () => ({ 'time.node': runner.timed([...node, '-e', '0']) }) }];
  for (const rt of runtimes) {
    const row = (key) => `time.${rt.name}.${key}`;
    timeCases.push(
      { rows: [row('version')], measure: () => ({ [row('version')]: runner.timed([rt.bin, '--version']) }) },
      { rows: [row('state')], measure: () => ({ [row('state')]: runner.timed(rt.cmd('state', stateIds.get(rt.name))) }) },
      {
        rows: [row('run')],
        measure: () => ({ [row('run')]: runner.timed(rt.cmd('run', '--bundle', bundle, nextId())) }),
      },
      {
        rows: [row('lifecycle')],
        measure: () => {
          const id = nextId();
          const ms =
            runner.timed(rt.cmd('create', '--bundle', bundle, id)) +
            runner.timed(rt.cmd('start', id)) +
            runner.timed(rt.cmd('delete', '--force', id));
          return { [row('lifecycle')]: ms };
        },
      },
    );
  }
  runRounds('wall time', timeCases, mode.warmup, mode.runs, samples, rowErrors);

  const memoryCases = [{ rows: ['rss.node'], measure: () => ({ 'rss.node': runner.peakRss([...node, '-e', '0']) }) }];
  for (const rt of runtimes) {
    const row = (key) => `rss.${rt.name}.${key}`;
    const waitingRow = `waiting.${rt.name}.init`;
    memoryCases.push(
      { rows: [row('version')], measure: () => ({ [row('version')]: runner.peakRss([rt.bin, '--version']) }) },
      { rows: [row('state')], measure: () => ({ [row('state')]: runner.peakRss(rt.cmd('state', stateIds.get(rt.name))) }) },
      { rows: [row('run')], measure: () => ({ [row('run')]: runner.peakRss(rt.cmd('run', '--bundle', bundle, nextId())) }) },
      {
        rows: [row('create'), row('start'), row('delete'), waitingRow],
        measure: () => {
          const id = nextId();
          const pidFile = path.join(ctx.scratchDir, `${id}.pid`);
          const values = { [row('create')]: runner.peakRss(rt.cmd('create', '--bundle', bundle, '--pid-file', pidFile, id)) };
          values[waitingRow] = vmRssKib(readPidFile(pidFile));
          fs.rmSync(pidFile);
          values[row('start')] = runner.peakRss(rt.cmd('start', id));
          values[row('delete')] = runner.peakRss(rt.cmd('delete', '--force', id));
          return values;
        },
      },
    );
  }
  runRounds('peak RSS', memoryCases, 0, mode.runs, samples, rowErrors);

  // Whole batches alternate between runtimes, the first one rotating each round.
  const failing = new Set();
  for (let round = 0; round < mode.parallelRounds; round++) {
    const order = runtimes.map((_, k) => runtimes[(round + k) % runtimes.length]);
    for (const rt of order) {
      checkInterrupted();
      if (failing.has(rt.name)) continue;
      progress(`parallel: ${rt.name}, round ${round + 1}/${mode.parallelRounds}`);
      const row = `parallel.${rt.name}.batch`;
      const ids = Array.from({ length: mode.parallelCount }, nextId);
      try {
        samples.get(row).push(await parallelBatch(runner, rt, bundle, ids, mode.concurrency));
        const left = fs.readdirSync(rt.root).filter((id) => ids.includes(id));
        if (left.length > 0) throw new Error(`state left in ${rt.root} after the batch: ${left.join(' ')}`);
      } catch (err) {
        checkInterrupted();
        rowErrors.set(row, err.message);
        failing.add(rt.name);
      }
    }
  }
}

/**
 * Force-deletes every container still in a runtime's root. Any but the `state ID`
 * containers is a leftover: a command left it behind.
 * @returns {{ leftovers: string[], failures: string[] }}
 */
function deleteRemaining(runner, runtimes, stateIds) {
  const leftovers = [];
  const failures = [];
  for (const rt of runtimes) {
    for (const id of fs.existsSync(rt.root) ? fs.readdirSync(rt.root) : []) {
      if (!fs.statSync(path.join(rt.root, id)).isDirectory()) continue;
      if (stateIds.get(rt.name) !== id) leftovers.push(`container ${id} in ${rt.root} (deleted with delete --force)`);
      try {
        runner.timed(rt.cmd('delete', '--force', id));
      } catch (err) {
        failures.push(err.message);
      }
    }
  }
  return { leftovers, failures };
}

/**
 * The client rows, measured by scripts/bench/clients.ts (TypeScript through tsx: it starts
 * the servers with the end-to-end tests' own helpers). Its output is one JSON object.
 */
function measureClients(mode) {
  const script = path.join(REPO_ROOT, 'scripts', 'bench', 'clients.ts');
  const result = spawnSync(process.execPath, ['--import=tsx', script, String(mode.warmup > 0 ? 1 : 0), String(Math.min(mode.runs, 5))], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 15 * 60_000,
  });
  try {
    return JSON.parse(result.stdout);
  } catch {
    const error = `scripts/bench/clients.ts ${result.signal ? `killed by ${result.signal}` : `exited ${result.status}`} without results`;
    return { errors: Object.fromEntries(clientRowIds().map((id) => [id, error])) };
  }
}

async function main(argv) {
  let options;
  try {
    ({ values: options } = parseArgs({
      args: argv,
      options: { quick: { type: 'boolean' }, clients: { type: 'boolean' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    process.stderr.write(`bench: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (process.getuid() !== 0) {
    process.stderr.write('bench: needs root (it starts real containers)\n');
    return 2;
  }
  if (!fs.existsSync(RUNTS)) {
    process.stderr.write(`bench: ${RUNTS} not found: run npm run build first\n`);
    return 2;
  }
  // Other work on the machine skews every number: the load is recorded and warned about.
  const loadAverageBefore = os.loadavg();
  const modeName = options.quick ? 'quick' : 'full';
  const mode = MODES[modeName];
  const jsonPath = path.resolve(options.json ?? DEFAULT_JSON);

  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-bench-'));
  const runtimeTmp = path.join(tmpDir, 'runtime-tmp');
  const scratchDir = path.join(tmpDir, 'scratch');
  const stdinMarker = path.join(tmpDir, 'stdin-marker');
  fs.mkdirSync(runtimeTmp);
  fs.mkdirSync(scratchDir);
  fs.writeFileSync(stdinMarker, '');
  const stdinFd = fs.openSync(stdinMarker, 'r');
  const idPrefix = `bench-${process.pid}-`;
  let idCounter = 0;
  const nextId = () => `${idPrefix}${++idCounter}`;

  const node = runtsNode();
  const defs = rowDefs(mode.parallelCount, mode.concurrency);
  const samples = new Map(defs.map((def) => [def.id, []]));
  const rowErrors = new Map();
  const skippedRuntimes = new Map();
  const runtimeInfo = {};
  const errors = [];
  const runtimes = [];
  const stateIds = new Map();
  const measuredRuntimes = () => runtimes.filter((rt) => !skippedRuntimes.has(rt.name));
  let runner;
  let leftovers = [];
  // A signal stops the measurements, not the cleanup.
  const onSignal = () => {
    interrupted = true;
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    runner = new Runner({ env: { ...process.env, TMPDIR: runtimeTmp }, stdinFd, maxrss: buildMaxrss(scratchDir), scratchDir });
    const { bundle } = makeBundle(path.join(tmpDir, 'bundle'), { args: ['/bin/true'] });
    const candidates = { runts: RUNTS, runc: fs.existsSync(RUNC) ? RUNC : undefined, crun: findInPath('crun') };
    for (const name of RUNTIME_NAMES) {
      const bin = candidates[name];
      if (!bin) {
        skippedRuntimes.set(name, `not installed${name === 'runc' ? ` (${RUNC})` : ''}`);
        runtimeInfo[name] = { skipped: skippedRuntimes.get(name) };
        continue;
      }
      const rt = makeRuntime(name, bin, path.join(tmpDir, `root-${name}`));
      runtimes.push(rt);
      runtimeInfo[name] = { path: bin, version: firstLineOf([bin, '--version']) };
      const reason = probe(runner, rt, bundle, nextId());
      if (reason && name === 'runts') throw new Error(reason);
      if (reason) {
        skippedRuntimes.set(name, reason);
        runtimeInfo[name].skipped = reason;
      }
    }
    const measured = measuredRuntimes();
    await measureAll({ mode, runner, bundle, runtimes: measured, node, nextId, samples, rowErrors, scratchDir, stateIds });
  } catch (err) {
    errors.push(err.message);
  } finally {
    progress('cleaning up');
    progress('');
    const measured = measuredRuntimes();
    const remaining = runner ? deleteRemaining(runner, measured, stateIds) : { leftovers: [], failures: [] };
    errors.push(...remaining.failures);
    const check = await checkLeftovers({
      roots: measured.map((rt) => rt.root),
      runtimeTmp,
      tmpDir,
      stdinMarker,
      idPrefix,
    });
    leftovers = [...remaining.leftovers, ...check.found];
    fs.closeSync(stdinFd);
    if (check.mountsRemain) errors.push(`mounts remain under ${tmpDir}: not removing it`);
    else fs.rmSync(tmpDir, { recursive: true, force: true });
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }

  const skippedRows = new Map();
  if (options.clients && errors.length === 0 && !interrupted) {
    progress('clients: starting servers');
    const clients = measureClients(mode);
    for (const [id, values] of Object.entries(clients.samples ?? {})) samples.get(id)?.push(...values);
    for (const [id, reason] of Object.entries(clients.skipped ?? {})) skippedRows.set(id, reason);
    for (const [id, message] of Object.entries(clients.errors ?? {})) rowErrors.set(id, message);
    progress('');
  } else {
    const reason = options.clients ? 'not measured: the run stopped first' : 'not measured: pass --clients';
    for (const id of clientRowIds()) skippedRows.set(id, reason);
  }
  const rows = summarize(defs, samples, skippedRuntimes, rowErrors, skippedRows);
  const results = {
    date: new Date().toISOString(),
    mode: modeName,
    ...mode,
    host: {
      kernel: os.release(),
      cpus: os.cpus().length,
      node: firstLineOf([...node, '--version']),
      nodeCommand: node.join(' '),
      loadAverageBefore,
      loadAverageAfter: os.loadavg(),
    },
    runtimes: runtimeInfo,
    rows,
    leftovers,
    errors,
  };
  fs.mkdirSync(path.dirname(jsonPath), { recursive: true });
  fs.writeFileSync(jsonPath, JSON.stringify(results, null, 2) + '\n');

  const out = [
    `runts bench, ${modeName}: ${mode.warmup} warm-up + ${mode.runs} runs per command, alternating; medians.` +
      ` node ${results.host.node}, kernel ${results.host.kernel}, ${results.host.cpus} CPUs`,
    `node -e 0 is started as bin/runts starts node: ${results.host.nodeCommand} -e 0`,
    ...Object.entries(runtimeInfo).map(([name, info]) =>
      info.skipped ? `${name}: skipped: ${info.skipped}` : `${name}: ${info.path} (${info.version})`,
    ),
  ];
  if (modeName === 'quick') out.push('QUICK MODE: proves the benchmark runs; do not judge these numbers.');
  const busiest = Math.max(loadAverageBefore[0], results.host.loadAverageAfter[0]);
  out.push(
    `load average (1 min): ${loadAverageBefore[0].toFixed(2)} before, ${results.host.loadAverageAfter[0].toFixed(2)} after` +
      (busiest > results.host.cpus ? ` — WARNING: above the ${results.host.cpus} CPUs: other work skews these numbers` : ''),
  );
  out.push(formatTable(rows), '', 'Budgets are informational: FAIL does not change the exit status.');
  for (const leftover of leftovers) out.push(`LEFTOVER: ${leftover}`);
  for (const error of errors) out.push(`ERROR: ${error}`);
  out.push(`results: ${jsonPath}`);
  process.stdout.write(out.join('\n') + '\n');
  const rowsFailed = rows.some((row) => row.error);
  return errors.length > 0 || leftovers.length > 0 || rowsFailed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
