// The rootless failure policy (runc's rootless cgroup manager): which errors make a driver
// skip a hierarchy or go on without device rules. How the cgroupfs driver applies it:
// cgroupfs.test.ts.
import t from 'tap';
import { isPermissionError, rootlessPolicy, STRICT } from '../../src/cgroups/rootless';

t.test('the rootless policy skips a hierarchy only for a permission error and only without linux.cgroupsPath', async (t) => {
  const eacces = Object.assign(new Error('mkdir: permission denied'), { code: 'EACCES' });
  const wrapped = new Error('create cgroup /x: permission denied', { cause: eacces });
  const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' });
  t.ok(isPermissionError(wrapped), 'found in the cause chain');
  t.ok(isPermissionError(Object.assign(new Error('ro'), { code: 'EROFS' })));
  t.equal(rootlessPolicy(false).skipsHierarchy(wrapped), true);
  t.equal(rootlessPolicy(false).skipsHierarchy(enoent), false);
  t.equal(rootlessPolicy(true).skipsHierarchy(wrapped), false, 'linux.cgroupsPath given');
  t.equal(rootlessPolicy(true).skipsDeviceRules(wrapped), true, 'device rules: whatever the path');
  t.equal(STRICT.skipsHierarchy(wrapped) || STRICT.skipsDeviceRules(wrapped), false);
});
