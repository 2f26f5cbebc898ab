// Timestamps as runc's state JSON carries them (src/state/time.ts).
import t from 'tap';
import { formatRfc3339Nano, nowRfc3339Nano } from '../../src/state/time';

t.test('RFC 3339 with nanoseconds, trailing zeros trimmed (Go RFC3339Nano)', async (t) => {
  t.equal(formatRfc3339Nano(1795847425700163104n), '2026-11-28T06:30:25.700163104Z');
  t.equal(formatRfc3339Nano(1795847425700000000n), '2026-11-28T06:30:25.7Z');
  t.equal(formatRfc3339Nano(1795847425000000000n), '2026-11-28T06:30:25Z');
});

t.test('nowRfc3339Nano is close to the wall clock', async (t) => {
  const now = nowRfc3339Nano();
  t.match(now, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  t.ok(Math.abs(Date.parse(now) - Date.now()) < 1000);
});

t.test('nowRfc3339Nano has nanoseconds, as runc writes them, not just microseconds', async (t) => {
  // Go trims trailing zeros, so one reading may have fewer digits: of 20, some have more than 6.
  const digits = Array.from({ length: 20 }, () => /\.(\d+)Z$/.exec(nowRfc3339Nano())?.[1].length ?? 0);
  t.ok(digits.some((n) => n > 6), `fraction digits: ${digits.join(' ')}`);
});
