// runts events [--stats] [--interval D] ID: the container's resource statistics as JSON
// lines ({"type":"stats","id":…,"data":…}) every interval, and {"type":"oom",…} on OOM kills.
import { defineCommand } from '../cli/command';
import { writeStdout } from '../cli/output';
import { UsageError } from '../errors';
import { statsEvent, streamEvents } from '../container/control';

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("5s", "1m30s", "250ms") in milliseconds. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new UsageError(`invalid duration ${JSON.stringify(text)}`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * DURATION_UNITS[p[2]], 0);
}

export default defineCommand({
  name: 'events',
  describe: 'display container events such as OOM notifications and resource statistics',
  flags: {
    interval: { type: 'string', default: '5s', describe: 'the statistics interval' },
    stats: { type: 'boolean', describe: "display the container's stats once, then exit" },
  },
  positionals: [{ name: 'container-id', required: true }],
  run: async (args) => {
    const intervalMs = parseDuration(args.interval);
    if (intervalMs <= 0) throw new UsageError('duration interval must be greater than 0');
    if (args.stats) {
      writeStdout(statsEvent(args.root, args.containerId));
      return;
    }
    await streamEvents(args.root, args.containerId, intervalMs, writeStdout);
  },
});
