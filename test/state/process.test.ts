import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { isAlive, parseProcStat, readStartTime } from '../../src/state/process';

// Fields 3..22 of a stat line: state, then 18 fields, then the start time.
const statLine = (pid: number, comm: string, state: string, start: string) =>
  `${pid} (${comm}) ${state} 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 ${start} 1000 200 18446744073709551615\n`;

t.test('parses start time past a command name holding spaces and parens', async (t) => {
  t.same(parseProcStat(statLine(42, 'a) (b c) d', 'S', '777')), { state: 'S', startTime: '777' });
  t.same(parseProcStat(statLine(42, ')', 'Z', '5')), { state: 'Z', startTime: '5' });
  t.equal(parseProcStat('garbage'), null);
  t.equal(parseProcStat('1 (x) S 1 2'), null);
});

t.test('real processes', async (t) => {
  const mine = readStartTime(process.pid);
  t.match(mine, /^\d+$/);
  t.equal(isAlive(process.pid, mine!), true);
  t.equal(isAlive(process.pid, String(Number(mine) + 1)), false, 'same pid, other start time: a reused pid');
  t.equal(readStartTime(0), null);
  t.equal(readStartTime(-1), null);
  t.equal(isAlive(2 ** 22 + 1, mine!), false, 'beyond pid_max');
});

t.test('a command name holding bytes that are not UTF-8, and a ")"', async (t) => {
  const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-proc-'));
  t.teardown(() => fs.rmSync(proc, { recursive: true, force: true }));
  fs.mkdirSync(path.join(proc, '7'));
  const line = Buffer.from(statLine(7, 'XX) Y', 'S', '4242'), 'latin1');
  line[3] = 0xff; // the first X
  line[4] = 0xc3; // a lone UTF-8 lead byte
  fs.writeFileSync(path.join(proc, '7', 'stat'), line);
  t.equal(readStartTime(7, proc), '4242');
});

t.test('a zombie or dead process is not alive', async (t) => {
  const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-proc-'));
  t.teardown(() => fs.rmSync(proc, { recursive: true, force: true }));
  for (const [pid, state] of [[100, 'Z'], [101, 'X'], [102, 'S']] as const) {
    fs.mkdirSync(path.join(proc, String(pid)));
    fs.writeFileSync(path.join(proc, String(pid), 'stat'), statLine(pid, 'sleep', state, '999'));
  }
  t.equal(isAlive(100, '999', proc), false);
  t.equal(isAlive(101, '999', proc), false);
  t.equal(isAlive(102, '999', proc), true);
  t.equal(isAlive(103, '999', proc), false);
});
