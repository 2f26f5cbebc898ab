// An init helper that ends before "created" without sending its reason (issue #12 item 15):
// killed by a signal, it cannot say why, so the runtime says how it ended. Before, the caller
// saw only "container init exited before the container was created".
import t from 'tap';
import { leakGuard, makeBundle, requireRoot, runts, runtsRoot, tempDir, uniqueId } from '../lib';

t.test('the container init killed by a signal during create: the error names the signal', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  // A createRuntime hook runs while the container's init waits for it; it sends SIGKILL to
  // that init (the pid in the state on its stdin), as an OOM kill or a harness timeout would.
  const killer = 'read -r state; pid=${state#*\\"pid\\":}; pid=${pid%%,*}; kill -KILL "$pid"';
  for (const command of ['create', 'run']) {
    const made = await makeBundle(tempDir(t, 'bundle'), {
      args: ['true'],
      config: (c) => {
        c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', killer] }] };
      },
    });
    const root = runtsRoot(t);
    const id = uniqueId('ie');
    const result = await runts(['--root', root, command, '-b', made.bundle, id]);
    t.equal(result.code, 1, `${command} fails`);
    t.match(result.stderr, 'container init exited before the container was created (killed by signal SIGKILL)', `${command}: the signal is named`);
    const state = await runts(['--root', root, 'state', id]);
    t.not(state.code, 0, `${command}: nothing is left behind (state: ${state.stdout.trim()})`);
  }
});
