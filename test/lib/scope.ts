// Per-test cleanup: one teardown per test that first lets the leak guard look,
// then cleans up what the test made, and fails the test if anything was left.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Test } from 'tap';
import { isWithin, readMounts } from './system';
import { watch } from './watch';

/** `graceful` cleanups ask the runtime to clean (delete --force); `remove` ones delete files. */
export type CleanupPhase = 'graceful' | 'remove';

/** What a leak guard plugs into the teardown. */
export interface LeakChecker {
  /** Describes what the test left behind (waits briefly for it to go away first). */
  findLeaks(): Promise<string[]>;
  /** Removes whatever is still left after the graceful cleanups; returns what it could not. */
  removeLeftovers(): Promise<string[]>;
}

interface Scope {
  cleanups: { phase: CleanupPhase; run: () => void | Promise<void> }[];
  checker?: LeakChecker;
}

const scopes = new WeakMap<Test, Scope>();

function scopeOf(t: Test): Scope {
  let scope = scopes.get(t);
  if (scope) return scope;
  const created: Scope = { cleanups: [] };
  scopes.set(t, created);
  t.teardown(() => finishScope(created));
  return created;
}

async function runPhase(scope: Scope, phase: CleanupPhase, errors: string[]): Promise<void> {
  for (const cleanup of scope.cleanups.filter((c) => c.phase === phase).reverse()) {
    try {
      await cleanup.run();
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
}

async function finishScope(scope: Scope): Promise<void> {
  const leaks = scope.checker ? await scope.checker.findLeaks() : [];
  const errors: string[] = [];
  await runPhase(scope, 'graceful', errors);
  if (scope.checker) errors.push(...(await scope.checker.removeLeftovers()));
  await runPhase(scope, 'remove', errors);
  watch.clear();
  const problems = [...leaks.map((l) => `leaked: ${l}`), ...errors.map((e) => `cleanup failed: ${e}`)];
  // Assertions are not allowed once a test has ended; a throw from a teardown fails it.
  if (problems.length > 0) throw new Error(`test left things behind: ${problems.join('; ')}`);
}

/** Registers a cleanup to run at the test's teardown, after the leak guard has looked. */
export function onCleanup(t: Test, phase: CleanupPhase, run: () => void | Promise<void>): void {
  scopeOf(t).cleanups.push({ phase, run });
}

/** Installs the test's leak checker (one per test). */
export function setLeakChecker(t: Test, checker: LeakChecker): void {
  const scope = scopeOf(t);
  if (scope.checker) throw new Error('leakGuard: already installed for this test');
  scope.checker = checker;
}

/** A new empty directory for this test, removed at teardown (never across a mount point still inside it). */
export function tempDir(t: Test, label = 'tmp'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `runts-test-${label}-`)));
  watch.path(dir);
  onCleanup(t, 'remove', () => {
    const mounted = readMounts().filter((m) => isWithin(m.mountPoint, dir));
    if (mounted.length > 0) {
      throw new Error(`not removing ${dir}: still mounted inside it: ${mounted.map((m) => m.mountPoint).join(', ')}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
