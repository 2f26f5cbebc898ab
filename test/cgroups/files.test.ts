// cgroupfs file operations (src/cgroups/files.ts) on directories in a temp dir.
import * as path from 'node:path';
import t from 'tap';
import { fillCpusetDown, missingDirs } from '../../src/cgroups/files';
import { tempDir } from '../lib';
import { readIn, writeFiles } from './fake-cgroupfs';

t.test('a new v1 cpuset cgroup gets its CPUs and memory nodes from the nearest level above that has them', async (t) => {
  const mount = tempDir(t, 'cpuset');
  writeFiles(mount, { 'cpuset.cpus': '0-3', 'cpuset.mems': '0' });
  // A pod cgroup made with a bare mkdir is empty too; one that has its own CPUs keeps them.
  writeFiles(path.join(mount, 'pod'), { 'cpuset.cpus': '', 'cpuset.mems': '' });
  writeFiles(path.join(mount, 'pod/c1'), { 'cpuset.cpus': '', 'cpuset.mems': '' });
  writeFiles(path.join(mount, 'own'), { 'cpuset.cpus': '1', 'cpuset.mems': '' });
  writeFiles(path.join(mount, 'own/c2'), { 'cpuset.cpus': '', 'cpuset.mems': '' });
  fillCpusetDown(mount, path.join(mount, 'pod/c1'));
  fillCpusetDown(mount, path.join(mount, 'own/c2'));
  t.same(['pod', 'pod/c1'].map((d) => [readIn(path.join(mount, d), 'cpuset.cpus'), readIn(path.join(mount, d), 'cpuset.mems')]), [['0-3', '0'], ['0-3', '0']]);
  t.equal(readIn(path.join(mount, 'own'), 'cpuset.cpus'), '1', 'its own value stays');
  t.equal(readIn(path.join(mount, 'own/c2'), 'cpuset.cpus'), '1', 'filled from the level above, not the root');
});

t.test('the directories still to make, parents first, stopping at what exists', async (t) => {
  const mount = tempDir(t, 'missing');
  writeFiles(path.join(mount, 'a'), {});
  const dir = path.join(mount, 'a/b/c');
  t.same(missingDirs({ fstype: 'cgroup', subsystems: ['pids'], mountpoint: mount, cgroup: '/a/b/c', dir }), [path.join(mount, 'a/b'), dir]);
});
