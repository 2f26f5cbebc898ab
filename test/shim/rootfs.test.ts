// The option words of a rootfs layer, read as containerd's mount package reads them: flags
// (set or cleared, in order), propagation apart, everything else passed to the filesystem.
import t from 'tap';
import { parseMountOptions } from '../../src/shim/rootfs';

const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MS_PRIVATE = 0x40000;

t.test('an overlay layer: no flags, every option is filesystem data', async (t) => {
  t.same(parseMountOptions(['index=off', 'lowerdir=/l2:/l1', 'upperdir=/u', 'workdir=/w']), {
    flags: 0,
    propagation: 0,
    data: 'index=off,lowerdir=/l2:/l1,upperdir=/u,workdir=/w',
  });
});

t.test('a read-only recursive bind: flags only', async (t) => {
  t.same(parseMountOptions(['rbind', 'ro', 'nosuid', 'nodev']), { flags: MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID | MS_NODEV, propagation: 0, data: '' });
});

t.test('a later word clears what an earlier one set; propagation stays apart', async (t) => {
  t.same(parseMountOptions(['ro', 'rw', 'nosuid', 'suid', 'rprivate', 'size=1m']), { flags: 0, propagation: MS_PRIVATE | MS_REC, data: 'size=1m' });
});
