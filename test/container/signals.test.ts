// Signal arguments (kill) and the signals a foreground run or exec forwards
// (src/container/signals.ts).
import t from 'tap';
import { UsageError } from '../../src/errors';
import { forwardSignals, parseSignal } from '../../src/container/signals';

t.test('parseSignal: numbers, names with or without SIG, real-time signals, as runc', async (t) => {
  t.equal(parseSignal(undefined), 15, 'TERM by default');
  t.equal(parseSignal(''), 15);
  t.equal(parseSignal('9'), 9);
  t.equal(parseSignal(9), 9);
  t.equal(parseSignal('KILL'), 9);
  t.equal(parseSignal('sigusr1'), 10);
  t.equal(parseSignal('SIGRTMIN'), 34);
  t.equal(parseSignal('RTMIN+3'), 37);
  t.equal(parseSignal('SIGRTMAX-1'), 63);
  t.throws(() => parseSignal('65'), new UsageError('invalid signal: 65'));
  t.throws(() => parseSignal('0'), new UsageError('invalid signal: 0'));
  t.throws(() => parseSignal(' 9'), new UsageError('unknown signal " 9"'));
  t.throws(() => parseSignal('SIGNOPE'), new UsageError('unknown signal "SIGNOPE"'));
});

t.test('forwardSignals: a caught signal is handed on by number until stopped', async (t) => {
  const counts = () => ['SIGHUP', 'SIGTERM', 'SIGUSR2'].map((s) => process.listenerCount(s));
  const before = counts();
  const got: number[] = [];
  const stop = forwardSignals((signo) => got.push(signo));
  process.kill(process.pid, 'SIGUSR2');
  process.kill(process.pid, 'SIGHUP');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(got.sort(), [1, 12]);
  stop();
  t.same(counts(), before, 'no handler left behind');
});
