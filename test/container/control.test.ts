// The pure part of the cgroup-driven commands on a container (src/container/control.ts).
import t from 'tap';
import { mergeResources } from '../../src/container/control';

t.test('update: a patch merges field by field over the recorded resources', async (t) => {
  t.same(mergeResources({ memory: { limit: 1, swap: 2 }, pids: { limit: 5 } }, { memory: { limit: 3 } }), { memory: { limit: 3, swap: 2 }, pids: { limit: 5 } });
  t.same(mergeResources({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, { hugepageLimits: [] }), { hugepageLimits: [] }, 'lists are replaced');
});
