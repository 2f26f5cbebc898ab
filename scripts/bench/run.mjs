// Running the measured commands: timed whole processes, peak RSS through the maxrss
// wrapper, and async runs for the parallel batches. Every command gets the same
// environment and the same stdin (an empty marker file: containers inherit it, which is how
// leftovers.mjs recognises this benchmark's processes). stderr goes to a file, never a pipe:
// a created container inherits it and holds it open, so waiting for a pipe's EOF would
// wait for the container.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAXRSS_SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'maxrss.c');

/** Compiles the maxrss wrapper into `dir` with $CC (default cc); returns its path. */
export function buildMaxrss(dir) {
  const compiler = process.env.CC || 'cc';
  const output = path.join(dir, 'maxrss');
  try {
    execFileSync(compiler, ['-O2', '-o', output, MAXRSS_SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const detail = err.stderr?.toString().trim() || err.message;
    throw new Error(`compiling ${MAXRSS_SOURCE} with ${compiler}: ${detail}`);
  }
  return output;
}

/** `cmd args...` exited badly: the error names the command, its status and its stderr. */
function failure(argv, result, stderr) {
  const how = result.error
    ? `could not be spawned: ${result.error.message}`
    : result.signal
      ? `was killed by ${result.signal}`
      : `exited ${result.status}`;
  const error = new Error(`${argv.join(' ')} ${how}${stderr ? `: ${stderr}` : ''}`);
  /** Why it failed, without the command line: the last line of its stderr, or how it ended. */
  error.reason = stderr.split('\n').pop() || how;
  return error;
}

/** A fresh file for one command's stderr; `read()` returns what it holds, `remove()` closes and deletes it. */
function stderrFile(file) {
  const fd = fs.openSync(file, 'w+');
  return {
    fd,
    read: () => fs.readFileSync(file, 'utf8').trim(),
    remove: () => {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
    },
  };
}

export class Runner {
  /**
   * @param {{ env: NodeJS.ProcessEnv, stdinFd: number, maxrss: string, scratchDir: string }} opts
   *   `stdinFd`: an open fd every command gets as stdin; `scratchDir`: where maxrss writes its reports.
   */
  constructor({ env, stdinFd, maxrss, scratchDir }) {
    this.env = env;
    this.stdinFd = stdinFd;
    this.maxrss = maxrss;
    this.scratchDir = scratchDir;
    this.rssReport = path.join(scratchDir, 'maxrss.out');
    this.commandCount = 0;
  }

  /**
   * Runs argv to completion, throws unless it exits 0; returns its wall time in ms (spawn
   * to reaped). Errors name `shownArgv`: the measured command when argv wraps it.
   */
  timed(argv, shownArgv = argv) {
    const stderr = stderrFile(path.join(this.scratchDir, 'stderr'));
    try {
      const started = process.hrtime.bigint();
      const result = spawnSync(argv[0], argv.slice(1), { env: this.env, stdio: [this.stdinFd, 'ignore', stderr.fd] });
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (result.error || result.status !== 0) throw failure(shownArgv, result, stderr.read());
      return elapsedMs;
    } finally {
      stderr.remove();
    }
  }

  /** Runs argv under the maxrss wrapper, throws unless it exits 0; returns its peak RSS in KiB. */
  peakRss(argv) {
    fs.rmSync(this.rssReport, { force: true });
    this.timed([this.maxrss, this.rssReport, ...argv], argv);
    const kib = Number(fs.readFileSync(this.rssReport, 'utf8').trim());
    if (!Number.isFinite(kib) || kib <= 0) throw new Error(`maxrss reported ${kib} KiB for ${argv.join(' ')}`);
    return kib;
  }

  /** Runs argv without blocking; resolves once it exits 0, rejects with its error otherwise. */
  check(argv) {
    const stderr = stderrFile(path.join(this.scratchDir, `stderr-${++this.commandCount}`));
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { env: this.env, stdio: [this.stdinFd, 'ignore', stderr.fd] });
      let settled = false;
      const settle = (result) => {
        if (settled) return; // 'error' may come before or instead of 'exit'
        settled = true;
        const error = result.error || result.status !== 0 ? failure(argv, result, stderr.read()) : undefined;
        stderr.remove();
        if (error) reject(error);
        else resolve();
      };
      child.on('error', (error) => settle({ error }));
      child.on('exit', (status, signal) => settle({ status, signal }));
    });
  }
}

/** Runs `count` create+start+delete --force lifecycles, `concurrency` at a time; resolves with the batch's wall time in ms. */
export async function parallelBatch(runner, runtime, bundle, ids, concurrency) {
  let next = 0;
  const failures = [];
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      try {
        await runner.check(runtime.cmd('create', '--bundle', bundle, id));
        await runner.check(runtime.cmd('start', id));
        await runner.check(runtime.cmd('delete', '--force', id));
      } catch (err) {
        failures.push(err.message);
      }
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (failures.length > 0) {
    throw new Error(`${failures.length} of ${ids.length} containers failed; first: ${failures.slice(0, 3).join(' | ')}`);
  }
  return elapsedMs;
}
