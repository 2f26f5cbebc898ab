// Bounded waits for work whose end is only good to have (output drained, events delivered).

/** Resolves once `promise` has (or rejects with its error), or after `ms`, whichever is first. */
export async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
