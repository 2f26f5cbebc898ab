// Timestamps as Go's time.RFC3339Nano prints them (what runc's state JSON carries):
// UTC, nanoseconds with trailing zeros trimmed, "2026-11-28T06:30:25.700163104Z".

export function formatRfc3339Nano(epochNanos: bigint): string {
  const seconds = epochNanos / 1_000_000_000n;
  const nanos = epochNanos % 1_000_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().replace(/\.\d+Z$/, '');
  const fraction = nanos.toString().padStart(9, '0').replace(/0+$/, '');
  return fraction ? `${base}.${fraction}Z` : `${base}Z`;
}

/** The current wall-clock time in nanoseconds since the epoch, as runc's time.Now(): the wall
 *  clock at start-up (performance.timeOrigin, to the microsecond) plus the monotonic nanoseconds
 *  since. Added as integers: one double of epoch milliseconds holds no more than a quarter
 *  microsecond. */
export function nowEpochNanos(): bigint {
  const originNanos = BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n;
  return originNanos + BigInt(Math.round(performance.now() * 1_000_000));
}

export function nowRfc3339Nano(): string {
  return formatRfc3339Nano(nowEpochNanos());
}
