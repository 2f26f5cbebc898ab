import t from 'tap';
import { flagNames, mountFlagsAt, withLockedFlags } from '../../src/plan/locked-flags';
import { MS } from '../../src/plan/mount-options';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '30 22 0:26 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw',
  '31 30 0:27 / /run/a\\040b ro,nosuid,noatime shared:6 - tmpfs tmpfs rw',
  '32 22 0:28 / /data rw,nodev shared:7 - tmpfs tmpfs rw',
  '33 22 0:29 / /data ro,nosuid,relatime shared:8 - tmpfs tmpfs rw',
].join('\n');

t.test('the flags of the mount holding a path: deepest mount point, the top of a stack', async (t) => {
  t.equal(mountFlagsAt('/etc/passwd', MOUNTINFO), MS.RELATIME);
  t.equal(mountFlagsAt('/run/x', MOUNTINFO), MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME);
  t.equal(mountFlagsAt('/run/a b/c', MOUNTINFO), MS.RDONLY | MS.NOSUID | MS.NOATIME, 'escaped mount point');
  t.equal(mountFlagsAt('/runner', MOUNTINFO), MS.RELATIME, 'not a path prefix');
  t.equal(mountFlagsAt('/data', MOUNTINFO), MS.RDONLY | MS.NOSUID | MS.RELATIME, 'the last (top) of stacked mounts');
  t.equal(mountFlagsAt('/x', '22 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw'), MS.STRICTATIME, 'no atime option: strictatime');
});

t.test('a bind remount in a user namespace carries the locked flags, and refuses to clear one', async (t) => {
  const source = MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RDONLY | MS.RELATIME;
  t.equal(withLockedFlags(MS.NODEV, 0, source), MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RDONLY, 'atime left to the kernel (kept)');
  t.throws(() => withLockedFlags(0, MS.NOEXEC, source), { message: 'cannot clear locked flags MS_NOEXEC' });
  t.throws(() => withLockedFlags(0, MS.RDONLY | MS.NOSUID, source), { message: 'cannot clear locked flags MS_RDONLY|MS_NOSUID' });
  t.throws(() => withLockedFlags(MS.NOATIME, 0, source), { message: 'cannot change locked atime flags MS_RELATIME' });
  t.equal(withLockedFlags(MS.RELATIME, 0, source), source & ~MS.RELATIME | MS.RELATIME, 'the same atime mode is fine');
  t.equal(withLockedFlags(MS.NOSUID, MS.RDONLY, MS.NOSUID), MS.NOSUID, 'clearing a flag the source does not have is fine');
  t.equal(flagNames(MS.RDONLY | MS.NOEXEC), 'MS_RDONLY|MS_NOEXEC');
});
