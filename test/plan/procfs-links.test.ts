import t from 'tap';
import { mountsProcfs, procfsLinks } from '../../src/plan/procfs-links';
import type { RootfsOp } from '../../src/plan/types';

t.test('the links a path below procfs crosses, up to the first magic link', async (t) => {
  t.same(procfsLinks('self/root/tmp/x'), [{ at: 'self', magic: false }, { at: 'self/root', magic: true }]);
  t.same(procfsLinks('thread-self/cwd'), [{ at: 'thread-self', magic: false }, { at: 'thread-self/cwd', magic: true }]);
  t.same(procfsLinks('1/task/1/exe'), [{ at: '1/task/1/exe', magic: true }]);
  t.same(procfsLinks('42/fd/3/x'), [{ at: '42/fd/3', magic: true }]);
  t.same(procfsLinks('self/ns/net'), [{ at: 'self', magic: false }, { at: 'self/ns/net', magic: true }]);
  t.same(procfsLinks('self/map_files/1000-2000'), [{ at: 'self', magic: false }, { at: 'self/map_files/1000-2000', magic: true }]);
  t.same(procfsLinks('self/status'), [{ at: 'self', magic: false }], 'a plain symlink only');
  t.same(procfsLinks('mounts'), [{ at: 'mounts', magic: false }]);
  t.same(procfsLinks('net/dev'), [{ at: 'net', magic: false }]);
});

t.test('no link: procfs directories of no process, a directory of fds itself, the root', async (t) => {
  t.same(procfsLinks('sys/kernel/core_pattern'), []);
  t.same(procfsLinks('1/fd'), [], '/proc/1/fd is a directory');
  t.same(procfsLinks('1/rootfs'), []);
  t.same(procfsLinks('kcore'), []);
  t.same(procfsLinks(''), []);
  t.same(procfsLinks('./1/./cwd'), [{ at: '1/cwd', magic: true }]);
});

t.test('which planned mounts put a procfs there: a fresh proc or a bind of the host\'s /proc', async (t) => {
  const mount = (fstype: string, source: string): RootfsOp => ({ op: 'mount', source, target: '/proc', fstype, flags: 0, data: '', mkdir: 'dir', remountFlags: 0, propagation: [], copyUp: false });
  t.ok(mountsProcfs(mount('proc', 'proc')));
  t.ok(mountsProcfs(mount('bind', '/proc')));
  t.notOk(mountsProcfs(mount('bind', '/srv/proc')));
  t.notOk(mountsProcfs(mount('tmpfs', 'proc')));
  t.notOk(mountsProcfs({ op: 'mkdir', path: '/proc' }));
});
