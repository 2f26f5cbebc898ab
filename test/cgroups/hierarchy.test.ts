import t from 'tap';
import { hostCgroupDir, parseHierarchies } from '../../src/cgroups/hierarchy';

const mountinfo = [
  '24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
  '30 24 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate',
  '35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct',
  '36 30 0:32 /nested /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory',
  '37 30 0:33 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
].join('\n');
const procCgroup = ['5:memory:/nested/job', '4:cpu,cpuacct:/job', '1:name=systemd:/', '0::/job'].join('\n');

t.test('parses v1, named and unified hierarchies with this process\'s cgroups', async (t) => {
  const hs = parseHierarchies(mountinfo, procCgroup);
  t.same(
    hs.map((h) => [h.fstype, h.mountpoint, h.subsystems.join(','), h.cgroup]),
    [
      ['cgroup2', '/sys/fs/cgroup/unified', '', '/job'],
      ['cgroup', '/sys/fs/cgroup/cpu,cpuacct', 'cpu,cpuacct', '/job'],
      ['cgroup', '/sys/fs/cgroup/memory', 'memory', '/nested/job'],
      ['cgroup', '/sys/fs/cgroup/systemd', 'name=systemd', '/'],
    ],
  );
});

t.test('host directory honours the mount root', async (t) => {
  const mem = parseHierarchies(mountinfo, procCgroup).find((h) => h.subsystems[0] === 'memory')!;
  t.equal(hostCgroupDir(mem, '/nested/job'), '/sys/fs/cgroup/memory/job');
});
