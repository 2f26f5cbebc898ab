// The stdio pipes of a foreground process hand our ends to the native relay, which closes
// them whatever happens: a failure carries the syscall and errno, and nothing of ours is
// closed twice (a second close would hit whatever fd took over the number).
import * as fs from 'node:fs';
import t from 'tap';
import { StdioPipes } from '../../src/console/pipes';

// Above any pid_max: no such process.
const NO_SUCH_PID = 2 ** 31 - 1;

/** Our open pipe fds: number → what they are ("pipe:[inode]"). Anything else the test
 *  process opens meanwhile (tap, tsx) is no pipe; a reused number links elsewhere. */
function openPipes(): Map<number, string> {
  const pipes = new Map<number, string>();
  for (const name of fs.readdirSync('/proc/self/fd')) {
    try {
      const link = fs.readlinkSync(`/proc/self/fd/${name}`);
      if (link.startsWith('pipe:')) pipes.set(Number(name), link);
    } catch {
      // closed meanwhile (the directory's own fd, for one)
    }
  }
  return pipes;
}

t.test('relayUntilExit fails naming pidfd_open and the pid, with all six fds closed', async (t) => {
  const before = openPipes();
  const pipes = new StdioPipes();
  const six = [...openPipes()].filter(([fd]) => !before.has(fd));
  t.equal(six.length, 6, 'three pipes');
  await t.rejects(pipes.relayUntilExit(NO_SUCH_PID), { message: `pidfd_open ${NO_SUCH_PID}: No such process`, code: 'ESRCH', errno: 3 });
  const after = openPipes();
  t.same(six.filter(([fd, link]) => after.get(fd) === link), [], 'both ends of all three are closed');
  const later = fs.openSync('/dev/null', 'r');
  t.teardown(() => fs.closeSync(later));
  pipes.close();
  t.doesNotThrow(() => fs.fstatSync(later), 'close() afterwards leaves an fd that reused a number alone');
});
