// Rootless decisions that need no privilege: map method, rootless cgroups mode, the spec
// checks and /proc/self/limits parsing.
import t from 'tap';
import { checkRootlessSpec, parseLimits, RootlessError, setgroupsDenied, type CallerLimits } from '../../src/rootless/checks';
import { idMapMethod, isOwnIdOnly } from '../../src/rootless/idmap';
import { inUserNamespace, isRootlessEuid, useRootlessCgroups } from '../../src/rootless/mode';
import type { Spec } from '../../src/spec/types';

const ids = { uid: 1000, gid: 1001 };
const own = (id: number) => [{ containerID: 0, hostID: id, size: 1 }];
const range = (id: number) => [...own(id), { containerID: 1, hostID: 100000, size: 65536 }];

t.test('id maps: root writes any map; the user writes its own single id, else newuidmap/newgidmap', async (t) => {
  t.same(idMapMethod(range(0), range(0), { uid: 0, gid: 0 }), { uid: 'self', gid: 'self' });
  t.same(idMapMethod(own(1000), own(1001), ids), { uid: 'self', gid: 'self' });
  t.same(idMapMethod(range(1000), own(1001), ids), { uid: 'helper', gid: 'self' });
  t.same(idMapMethod(own(1000), own(5), ids), { uid: 'self', gid: 'helper' }, 'another gid needs newgidmap');
  t.ok(isOwnIdOnly([{ containerID: 7, hostID: 1000, size: 1 }], 1000), 'any container id');
  t.notOk(isOwnIdOnly([{ containerID: 0, hostID: 1000, size: 2 }], 1000));
});

t.test('mode: rootless euid, user namespace detection, --rootless true|false|auto', async (t) => {
  t.equal(isRootlessEuid(0), false);
  t.equal(isRootlessEuid(1000), true);
  t.equal(inUserNamespace('         0          0 4294967295\n'), false);
  t.equal(inUserNamespace('         0       1000          1\n'), true);
  t.equal(useRootlessCgroups(undefined, 1000, () => false), true, 'auto: not root');
  t.equal(useRootlessCgroups(undefined, 0, () => false), false, 'auto: real root');
  t.equal(useRootlessCgroups('auto', 0, () => true), true, 'auto: root in a user namespace');
  t.equal(useRootlessCgroups('false', 1000, () => false), false);
  t.equal(useRootlessCgroups('true', 0, () => false), true);
});

const LIMITS_TEXT = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max file size             unlimited            unlimited            bytes
Max data size             unlimited            unlimited            bytes
Max stack size            8388608              unlimited            bytes
Max core file size        0                    unlimited            bytes
Max resident set          unlimited            unlimited            bytes
Max processes             63510                63510                processes
Max open files            1024                 4096                 files
`;

t.test('/proc/self/limits: hard limits by resource number', async (t) => {
  const limits = parseLimits(LIMITS_TEXT);
  t.equal(limits.get(0), 'unlimited');
  t.equal(limits.get(6), 63510n);
  t.equal(limits.get(7), 4096n);
});

function rootlessSpec(): Spec {
  return {
    ociVersion: '1.3.0',
    process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } },
    mounts: [{ destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'gid=0'] }],
    linux: { namespaces: [{ type: 'user' }, { type: 'mount' }], uidMappings: own(1000), gidMappings: own(1001) },
  } as Spec;
}

const caller: CallerLimits = { hardLimits: parseLimits(LIMITS_TEXT), oomScoreAdj: 0 };

function refusal(edit: (s: Spec) => void): string {
  const spec = rootlessSpec();
  edit(spec);
  try {
    checkRootlessSpec(spec, ids, caller);
  } catch (err) {
    if (err instanceof RootlessError) return err.message;
    throw err;
  }
  return '';
}

t.test('rootless spec checks: each refusal names its field', async (t) => {
  t.equal(refusal(() => {}), '', 'the plain rootless config passes');
  t.match(refusal((s) => (s.linux!.namespaces = [{ type: 'mount' }])), /^linux\.namespaces: rootless container requires user namespaces$/);
  t.match(refusal((s) => (s.linux!.gidMappings = [])), /^linux\.gidMappings: rootless containers requires at least one GID mapping$/);
  t.match(refusal((s) => (s.linux!.netDevices = { eth1: {} })), /^linux\.netDevices: network devices are not supported for rootless containers$/);
  t.match(refusal((s) => s.mounts!.push({ destination: '/data', type: 'bind', source: '/data', options: ['rbind', 'idmap'] })), /^mounts: \/data: id-mapped mounts are not supported for rootless containers$/);
  t.match(refusal((s) => s.mounts!.push({ destination: '/data', type: 'bind', source: '/data', options: ['rbind'], uidMappings: own(0), gidMappings: own(0) })), /id-mapped mounts are not supported/);
  t.equal(refusal((s) => (s.linux!.namespaces = [{ type: 'user', path: '/proc/1/ns/user' }])), '', 'joining a user namespace needs no maps');
  t.match(refusal((s) => s.mounts![0].options!.push('uid=5')), /^mounts: \/dev\/pts: cannot specify uid=5 mount option for rootless container: uid 5 is not mapped/);
  t.match(refusal((s) => (s.process!.user!.additionalGids = [0])), /^process\.user\.additionalGids: cannot set any additional groups/);
  t.equal(refusal((s) => {
    s.process!.user!.additionalGids = [1];
    s.linux!.gidMappings = range(1001);
  }), '', 'supplementary groups are fine when newgidmap leaves setgroups allowed');
  t.match(refusal((s) => (s.process!.oomScoreAdj = -1)), /^process\.oomScoreAdj: -1 is below the caller's 0/);
  t.equal(refusal((s) => (s.process!.oomScoreAdj = 500)), '', 'raising oom_score_adj is allowed');
  t.match(refusal((s) => (s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 8192 }])), /^process\.rlimits: RLIMIT_NOFILE hard limit 8192 is above the caller's hard limit 4096/);
  t.match(refusal((s) => (s.process!.rlimits = [{ type: 'RLIMIT_NPROC', soft: 2 ** 64, hard: 2 ** 64 }])), /RLIMIT_NPROC hard limit unlimited is above/);
  t.equal(refusal((s) => (s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 1024 }, { type: 'RLIMIT_CPU', soft: 2 ** 64, hard: 2 ** 64 }])), '', 'lowering, or keeping unlimited, is fine');
});

t.test('setgroups is denied exactly when the caller writes a new single-id gid map itself', async (t) => {
  const spec = rootlessSpec();
  t.equal(setgroupsDenied(spec, ids), true);
  spec.linux!.gidMappings = range(1001);
  t.equal(setgroupsDenied(spec, ids), false);
  t.equal(setgroupsDenied(rootlessSpec(), { uid: 0, gid: 0 }), false, 'root maps with setgroups allowed');
});
