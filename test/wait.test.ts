// waitAtMost: the promise or the deadline, whichever comes first.
import t from 'tap';
import { waitAtMost } from '../src/wait';

const after = (ms: number, value: string) => new Promise<string>((resolve) => setTimeout(() => resolve(value), ms));

t.test('waitAtMost returns with the promise, or at the deadline when it never settles', async (t) => {
  const quick = waitAtMost(after(10, 'ignored'), 60_000).then(() => 'waitAtMost');
  t.equal(await Promise.race([quick, after(5000, 'our 5 s timer')]), 'waitAtMost', 'returned once the promise resolved, long before its deadline');
  const never = waitAtMost(new Promise(() => {}), 50).then(() => 'waitAtMost');
  t.equal(await Promise.race([never, after(5000, 'our 5 s timer')]), 'waitAtMost', 'a promise that never settles: returns at the deadline');
  await t.rejects(waitAtMost(Promise.reject(new Error('boom')), 1000), /boom/, "the promise's rejection comes through");
});
