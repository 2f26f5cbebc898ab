// A foreground run or exec exits like a shell reports its child.
import t from 'tap';
import { shellStatus } from '../../src/console/foreground';

t.test('exit code as is, 128+N for signal N', async (t) => {
  t.equal(shellStatus({ exitCode: 0 }), 0);
  t.equal(shellStatus({ exitCode: 7 }), 7);
  t.equal(shellStatus({ signal: 9 }), 137);
  t.equal(shellStatus({ signal: 13 }), 141);
});
