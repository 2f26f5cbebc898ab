// The terminal relay must close the pty master exactly once: a second close, a moment later,
// would close whatever fd had taken over the number (it once closed delete's pidfd, so a
// foreground `run -t` failed with "close: bad file descriptor").
import * as fs from 'node:fs';
import t from 'tap';
import { relayConsole } from '../../src/console/proxy';
import { native } from '../../src/native';

t.test('stop() closes the master once; an fd opened right after survives', async (t) => {
  const [readEnd, writeEnd] = native().pipe();
  const relay = relayConsole(readEnd);
  relay.stop();
  const later = fs.openSync('/dev/null', 'r');
  t.teardown(() => {
    fs.closeSync(later);
    fs.closeSync(writeEnd);
  });
  // Let the relay's stream finish closing the master.
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.doesNotThrow(() => fs.fstatSync(later), 'the fd opened after stop() is still open');
  t.throws(() => fs.fstatSync(readEnd), 'the master is closed');
});
