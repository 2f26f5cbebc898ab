// events' interval flag (src/commands/events.ts).
import t from 'tap';
import { parseDuration } from '../../src/commands/events';

t.test('events: Go durations', async (t) => {
  t.equal(parseDuration('5s'), 5000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('1m30s'), 90000);
  t.throws(() => parseDuration('5'), /invalid duration/);
  t.throws(() => parseDuration('5s junk'), /invalid duration/);
});
