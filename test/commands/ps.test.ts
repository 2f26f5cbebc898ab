// ps's filtering of ps(1) output to the container's processes (src/commands/ps.ts).
import t from 'tap';
import { filterPsOutput } from '../../src/commands/ps';

t.test('ps: keep the header and the container\'s PIDs only', async (t) => {
  const out = ['UID        PID  PPID  C STIME TTY          TIME CMD', 'root         1     0  0 07:00 ?        00:00:01 /sbin/init', 'root       812     1  0 07:01 ?        00:00:00 sleep 100', ''].join('\n');
  t.equal(filterPsOutput(out, [812]), 'UID        PID  PPID  C STIME TTY          TIME CMD\nroot       812     1  0 07:01 ?        00:00:00 sleep 100\n');
  t.throws(() => filterPsOutput('USER COMMAND\nroot init\n', [1]), /couldn't find PID field/);
});
