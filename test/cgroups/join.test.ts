// Who joins a container's next process to its cgroups: the helper itself (no global
// threadgroup lock) or the runtime (cgroup.procs), decided without touching the host.
import t from 'tap';
import { chooseJoinMethod, type JoinConditions } from '../../src/cgroups/join';

const fast: JoinConditions = { systemd: false, rootless: false, unified: true, userns: false, kernelRelease: '6.18.44-fc-v657' };
const by = (change: Partial<JoinConditions>) => chooseJoinMethod({ ...fast, ...change }).by;

t.test('the helper joins by itself: cgroupfs, as root, no user namespace, a kernel with CLONE_INTO_CGROUP', async (t) => {
  t.same(chooseJoinMethod(fast), { by: 'helper' });
  t.equal(by({ kernelRelease: '5.7.0' }), 'helper', '5.7 has CLONE_INTO_CGROUP');
  t.equal(by({ kernelRelease: '10.0.1' }), 'helper');
});

t.test('the runtime writes cgroup.procs for systemd, rootless cgroups, a v2 cgroup from a user namespace, old kernels', async (t) => {
  t.match(chooseJoinMethod({ ...fast, systemd: true }), { by: 'runtime', reason: /systemd/ });
  t.match(chooseJoinMethod({ ...fast, rootless: true }), { by: 'runtime', reason: /rootless/ });
  t.match(chooseJoinMethod({ ...fast, userns: true }), { by: 'runtime', reason: /user namespace/ });
  t.match(chooseJoinMethod({ ...fast, kernelRelease: '5.6.19' }), { by: 'runtime', reason: 'kernel 5.6.19 has no CLONE_INTO_CGROUP (5.7)' });
  t.equal(by({ kernelRelease: '4.19.0' }), 'runtime');
  t.equal(by({ kernelRelease: 'weird' }), 'runtime', 'an unreadable release is taken as too old');
});

t.test('without a v2 cgroup only v1 tasks are written: a user namespace or an old kernel does not matter', async (t) => {
  t.equal(by({ unified: false, userns: true }), 'helper');
  t.equal(by({ unified: false, kernelRelease: '4.19.0' }), 'helper');
  t.equal(by({ unified: false, systemd: true }), 'runtime', 'systemd still starts the scope with the pid');
  t.equal(by({ unified: false, rootless: true }), 'runtime', 'rootless still tolerates permission errors');
});
