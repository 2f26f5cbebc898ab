// Small helpers shared by the integration tests.
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { watch } from './watch';

let idCounter = 0;

/** A container ID no other test (or test file) uses; the leak guard watches for it. */
export function uniqueId(prefix = 'c'): string {
  const id = `${prefix}-${process.pid}-${++idCounter}-${randomBytes(3).toString('hex')}`;
  watch.id(id);
  return id;
}

/** Skips the test with a reason unless it runs as root; returns whether it may go on. */
export function requireRoot(t: Test): boolean {
  if (process.getuid?.() === 0) return true;
  t.plan(0, 'needs root: it starts real containers');
  return false;
}

/** Polls `cond` every 20 ms until it returns a truthy value, which it resolves to; rejects after `timeoutMs`. */
export async function waitFor<T>(cond: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await cond();
    if (value) return value;
    if (Date.now() >= deadline) throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
