import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildPlan, CLONE_FLAGS, PlanError } from '../../src/plan/build';
import type { PlanInputs } from '../../src/plan/build';
import { MOUNT_ATTR, MS } from '../../src/plan/mount-options';
import type { RootfsOp } from '../../src/plan/types';
import type { Spec } from '../../src/spec/types';
import type { Hierarchy } from '../../src/cgroups/hierarchy';

const bundle = mkdtempSync(path.join(tmpdir(), 'runts-plan-'));
mkdirSync(path.join(bundle, 'rootfs'));
mkdirSync(path.join(bundle, 'data'));
writeFileSync(path.join(bundle, 'file.txt'), 'x');
t.teardown(() => require('node:fs').rmSync(bundle, { recursive: true, force: true }));

function baseSpec(): Spec {
  return {
    ociVersion: '1.3.0',
    root: { path: 'rootfs' },
    process: { cwd: '/', args: ['sh'], env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'uts' }] },
  } as Spec;
}

function inputs(spec: Spec, extra: Partial<PlanInputs> = {}): PlanInputs {
  return {
    id: 'c1',
    bundle,
    spec,
    execFifo: '/run/runts/c1/exec.fifo',
    console: null,
    noPivot: false,
    preserveFds: 0,
    hierarchies: [],
    lastCap: 40,
    hasKcore: true,
    ...extra,
  };
}

function mountsOf(ops: RootfsOp[]) {
  return ops.filter((o): o is Extract<RootfsOp, { op: 'mount' }> => o.op === 'mount');
}

t.test('namespaces: new ones become unshare flags, paths become joins with user first', async (t) => {
  const spec = baseSpec();
  spec.linux!.namespaces = [{ type: 'network', path: '/proc/1/ns/net' }, { type: 'mount' }, { type: 'user', path: '/proc/1/ns/user' }, { type: 'ipc' }];
  const { plan } = buildPlan(inputs(spec));
  t.equal(plan.namespaces.unshareFlags, CLONE_FLAGS.mount | CLONE_FLAGS.ipc);
  t.same(plan.namespaces.join.map((j) => j.type), ['user', 'network']);
  t.equal(plan.namespaces.newUser, false);
});

t.test('a new user namespace is flagged, not unshared with the others; devices are bound', async (t) => {
  const spec = baseSpec();
  spec.linux!.namespaces!.push({ type: 'user' });
  const { plan } = buildPlan(inputs(spec));
  t.equal(plan.namespaces.newUser, true);
  t.equal(plan.namespaces.unshareFlags & CLONE_FLAGS.user, 0);
  t.ok(plan.rootfsOps.some((o) => o.op === 'bind-device' && o.path === '/dev/null'));
  t.notOk(plan.rootfsOps.some((o) => o.op === 'mknod'));
});

t.test('bind mounts: source relative to the bundle, file or dir target, remount for attributes', async (t) => {
  const spec = baseSpec();
  spec.mounts = [
    { destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro', 'nosuid', 'rprivate'] },
    { destination: '/etc/x.txt', source: 'file.txt', options: ['bind'] },
  ];
  const [dir, file] = mountsOf(buildPlan(inputs(spec)).plan.rootfsOps);
  t.equal(dir.source, path.join(bundle, 'data'));
  t.equal(dir.flags, MS.BIND | MS.REC);
  t.equal(dir.remountFlags, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID);
  t.same(dir.propagation, [MS.PRIVATE | MS.REC]);
  t.equal(dir.mkdir, 'dir');
  t.equal(file.mkdir, 'file');
  t.equal(file.remountFlags, 0);
});

t.test('a missing bind source is an error naming the source and destination', async (t) => {
  const spec = baseSpec();
  spec.mounts = [{ destination: '/x', source: '/nonexistent/src', options: ['bind'] }];
  t.throws(() => buildPlan(inputs(spec)), { message: 'error mounting "/nonexistent/src" to rootfs at "/x": stat /nonexistent/src: no such file or directory' });
});

t.test('filesystem mounts keep fs data and flags', async (t) => {
  const spec = baseSpec();
  spec.mounts = [{ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] }];
  const [m] = mountsOf(buildPlan(inputs(spec)).plan.rootfsOps);
  t.equal(m.fstype, 'tmpfs');
  t.equal(m.flags, MS.NOSUID | MS.NOEXEC | MS.NODEV);
  t.equal(m.data, 'mode=1777,size=65536k');
});

const hybrid: Hierarchy[] = [
  { fstype: 'cgroup', mountpoint: '/sys/fs/cgroup/cpu,cpuacct', mountRoot: '/', subsystems: ['cpu', 'cpuacct'], cgroup: '/a' },
  { fstype: 'cgroup', mountpoint: '/sys/fs/cgroup/memory', mountRoot: '/', subsystems: ['memory'], cgroup: '/a' },
  { fstype: 'cgroup2', mountpoint: '/sys/fs/cgroup/unified', mountRoot: '/', subsystems: [], cgroup: '/a' },
];

const withUserNs = (spec: Spec, hostID = 100000): Spec => {
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.linux!.uidMappings = [{ containerID: 0, hostID, size: 65536 }];
  spec.linux!.gidMappings = [{ containerID: 0, hostID, size: 65536 }];
  return spec;
};

t.test('a mount\'s own mappings make an idmapped bind, with or without a user namespace', async (t) => {
  for (const spec of [baseSpec(), withUserNs(baseSpec())]) {
    spec.mounts = [
      {
        destination: '/d',
        source: 'data',
        options: ['rbind', 'ro'],
        uidMappings: [{ containerID: 1000, hostID: 5000, size: 10 }, { containerID: 0, hostID: 7000, size: 1 }],
        gidMappings: [{ containerID: 1000, hostID: 6000, size: 1 }],
      },
    ];
    const [m] = mountsOf(buildPlan(inputs(spec)).plan.rootfsOps);
    t.equal(m.flags, MS.BIND | MS.REC, 'cloned recursively (rbind)');
    t.equal(m.remountFlags, MS.BIND | MS.REMOUNT | MS.RDONLY, 'flags still applied after attaching');
    t.same(m.idmap, { recursive: false, userns: { uidMap: '1000 5000 10\n0 7000 1\n', gidMap: '1000 6000 1\n' } });
  }
});

t.test('idmap and ridmap without mappings take the container\'s user namespace', async (t) => {
  const spec = withUserNs(baseSpec(), 200000);
  spec.mounts = [
    { destination: '/a', source: 'data', options: ['bind', 'idmap'] },
    { destination: '/b', source: 'data', options: ['rbind', 'ridmap'] },
    { destination: '/c', source: 'data', options: ['bind'] },
  ];
  const [a, b, c] = mountsOf(buildPlan(inputs(spec)).plan.rootfsOps);
  const userns = { uidMap: '0 200000 65536\n', gidMap: '0 200000 65536\n' };
  t.same(a.idmap, { recursive: false, userns });
  t.same(b.idmap, { recursive: true, userns });
  t.notOk('idmap' in c, 'a plain bind is not idmapped');

  const joined = baseSpec();
  joined.linux!.namespaces!.push({ type: 'user', path: '/proc/42/ns/user' });
  joined.mounts = [{ destination: '/a', source: 'data', options: ['bind', 'idmap'] }];
  t.same(mountsOf(buildPlan(inputs(joined)).plan.rootfsOps)[0].idmap, { recursive: false, userns: { path: '/proc/42/ns/user' } }, 'a joined user namespace by its path');
});

t.test('idmapped mounts are refused as runc refuses them', async (t) => {
  const cases: [string, Spec['mounts'], Spec, string][] = [
    ['idmap without a user namespace', [{ destination: '/d', source: 'data', options: ['bind', 'idmap'] }], baseSpec(), 'mounts: /d: id-mapped mounts must have both uid and gid mappings specified'],
    ['only uid mappings', [{ destination: '/d', source: 'data', options: ['bind'], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] }], withUserNs(baseSpec()), 'mounts: /d: id-mapped mounts must have both uid and gid mappings specified'],
    ['empty mappings', [{ destination: '/d', source: 'data', options: ['bind', 'idmap'], uidMappings: [], gidMappings: [] }], withUserNs(baseSpec()), 'mounts: /d: id-mapped mounts must have both uid and gid mappings specified'],
    ['not a bind mount', [{ destination: '/d', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }], withUserNs(baseSpec()), 'mounts: /d: id-mapped mounts are only supported for bind-mounts'],
  ];
  for (const [name, mounts, spec, message] of cases) {
    spec.mounts = mounts;
    t.throws(() => buildPlan(inputs(spec)), new PlanError(message), name);
  }
});

t.test('recursive attribute options become one mount-setattr after the mount', async (t) => {
  const spec = baseSpec();
  spec.mounts = [
    { destination: '/d', source: 'data', options: ['rbind', 'rro', 'rnosuid', 'rnoexec', 'rexec', 'rnoatime'] },
    { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['rnodev', 'rnosymfollow', 'rrelatime'] },
    { destination: '/u', type: 'tmpfs', source: 'tmpfs', options: ['ro'] },
  ];
  const ops = buildPlan(inputs(spec)).plan.rootfsOps;
  const targets = ops.filter((o) => o.op === 'mount' || o.op === 'mount-setattr').map((o) => `${o.op} ${'target' in o ? o.target : ''}`);
  t.same(targets, ['mount /d', 'mount-setattr /d', 'mount /t', 'mount-setattr /t', 'mount /u'], 'only mounts with recursive options get one');
  const setattrs = ops.filter((o): o is Extract<RootfsOp, { op: 'mount-setattr' }> => o.op === 'mount-setattr');
  // rnoatime: NOATIME set, the whole atime field cleared; rexec cancels rnoexec.
  t.same([setattrs[0].attrSet, setattrs[0].attrClear], [MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NOATIME, MOUNT_ATTR.NOEXEC | MOUNT_ATTR.ATIME_MASK]);
  // rrelatime is the atime value 0: nothing set, the field cleared.
  t.same([setattrs[1].attrSet, setattrs[1].attrClear], [MOUNT_ATTR.NODEV | MOUNT_ATTR.NOSYMFOLLOW, MOUNT_ATTR.ATIME_MASK]);
  t.equal(mountsOf(ops)[0].remountFlags, 0, 'recursive options are no mount(2) flags');
});

t.test('recursive attributes of a cgroup mount follow its hierarchies', async (t) => {
  const spec = baseSpec();
  spec.mounts = [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['rro'] }];
  const ops = buildPlan(inputs(spec, { hierarchies: hybrid })).plan.rootfsOps;
  const cgroupOps = ops.filter((o) => ('target' in o && o.target.startsWith('/sys/fs/cgroup')) || ('path' in o && o.path.startsWith('/sys/fs/cgroup')));
  t.ok(cgroupOps.length > 3, 'a tmpfs, binds and links');
  t.same(cgroupOps.pop(), { op: 'mount-setattr', target: '/sys/fs/cgroup', attrSet: MOUNT_ATTR.RDONLY, attrClear: 0 }, 'last');
});

t.test('bind sources are opened on the runtime\'s side only with a user namespace, runts root, no idmap (issue #12 item 12)', async (t) => {
  const mounts: { destination: string; source: string; type?: string; options: string[] }[] = [
    { destination: '/a', source: 'data', options: ['bind'] },
    { destination: '/b', source: 'file.txt', options: ['rbind', 'ro'] },
    { destination: '/c', source: 'data', options: ['bind', 'idmap'] },
    { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: [] },
  ];
  const marked = (spec: Spec, extra: Partial<PlanInputs> = {}) => {
    spec.mounts = structuredClone(mounts);
    return mountsOf(buildPlan(inputs(spec, extra)).plan.rootfsOps).map((m) => `${m.target}:${m.openSourceOnHost ?? '-'}`);
  };
  const joined = baseSpec();
  joined.linux!.namespaces!.push({ type: 'user', path: '/proc/42/ns/user' });
  t.same(marked(withUserNs(baseSpec())), ['/a:true', '/b:true', '/c:-', '/t:-'], 'a new user namespace: the binds, not the idmapped one (its tree is opened there)');
  t.same(marked(joined), ['/a:true', '/b:true', '/c:-', '/t:-'], 'a joined user namespace likewise');
  t.same(marked(withUserNs(baseSpec()), { rootlessEuid: true }), ['/a:-', '/b:-', '/c:-', '/t:-'], 'runts unprivileged: the container\'s root is the caller anyway');
  const hostUserns = baseSpec();
  hostUserns.mounts = mounts.filter((m) => !m.options.includes('idmap'));
  t.same(mountsOf(buildPlan(inputs(hostUserns)).plan.rootfsOps).map((m) => m.openSourceOnHost), [undefined, undefined, undefined], 'no user namespace: stage2 has the runtime\'s credentials');
});

t.test('a joined user namespace binds devices too (no mknod)', async (t) => {
  const spec = baseSpec();
  spec.linux!.namespaces!.push({ type: 'user', path: '/proc/42/ns/user' });
  spec.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
  const ops = buildPlan(inputs(spec)).plan.rootfsOps;
  t.notOk(ops.some((o) => o.op === 'mknod'));
  t.ok(ops.some((o) => o.op === 'bind-device' && o.path === '/dev/fuse'));
});


t.test('cgroup mount on a hybrid host: tmpfs, per-hierarchy binds, comount links', async (t) => {
  const spec = baseSpec();
  spec.mounts = [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'ro'] }];
  const ops = buildPlan(inputs(spec, { hierarchies: hybrid })).plan.rootfsOps;
  const mounts = mountsOf(ops);
  t.equal(mounts[0].fstype, 'tmpfs');
  t.equal(mounts[0].flags & MS.RDONLY, 0, 'the tmpfs stays writable until its submounts exist');
  t.same(mounts.slice(1).map((m) => [m.source, m.target]), [
    ['/sys/fs/cgroup/cpu,cpuacct/a', '/sys/fs/cgroup/cpu,cpuacct'],
    ['/sys/fs/cgroup/memory/a', '/sys/fs/cgroup/memory'],
    ['/sys/fs/cgroup/unified/a', '/sys/fs/cgroup/unified'],
  ]);
  t.ok(mounts.slice(1).every((m) => (m.remountFlags & MS.RDONLY) !== 0), 'hierarchies are read-only');
  t.ok(ops.some((o) => o.op === 'symlink' && o.path === '/sys/fs/cgroup/cpu' && o.target === 'cpu,cpuacct'));
  t.same(ops.find((o) => o.op === 'remount'), { op: 'remount', target: '/sys/fs/cgroup', flags: MS.REMOUNT | MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY }, 'then the tmpfs goes read-only');
});

t.test('cgroup mount with a cgroup namespace mounts the hierarchies afresh', async (t) => {
  const spec = baseSpec();
  spec.linux!.namespaces!.push({ type: 'cgroup' });
  spec.mounts = [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] }];
  const mounts = mountsOf(buildPlan(inputs(spec, { hierarchies: hybrid })).plan.rootfsOps);
  t.same(mounts.slice(1).map((m) => [m.fstype, m.data]), [
    ['cgroup', 'cpu,cpuacct'],
    ['cgroup', 'memory'],
    ['cgroup2', ''],
  ]);
});

t.test('a filesystem of one superblock per namespace on top of itself is refused (EBUSY), as runc fails there', async (t) => {
  const mount = (destination: string, type: string) => ({ destination, type, source: type });
  const plan = (mounts: Spec['mounts'], extra: Partial<PlanInputs> = {}, cgroupns = false) => {
    const spec = baseSpec();
    if (cgroupns) spec.linux!.namespaces!.push({ type: 'cgroup' });
    spec.mounts = mounts;
    return () => buildPlan(inputs(spec, extra));
  };
  const onItself = (index: number, fstype: string, target: string) => ({
    name: 'PlanError',
    message: new RegExp(`^mounts\\[${index}\\]: type "\\w+" at destination "[^"]+": ${fstype} is mounted on ${target} already, by an earlier mount with nothing mounted over it since: the kernel refuses the same filesystem on top of itself \\(EBUSY\\)$`),
  });
  t.throws(plan([mount('/dev/mqueue', 'mqueue'), mount('/dev/mqueue', 'mqueue')]), onItself(1, 'mqueue', '/dev/mqueue'));
  t.throws(plan([mount('/sys', 'sysfs'), mount('/tmp', 'tmpfs'), mount('/sys/', 'sysfs')]), onItself(2, 'sysfs', '/sys'), 'a mount elsewhere changes nothing; the destination is normalised');
  t.throws(plan([mount('/dev/mqueue', 'mqueue'), mount('/dev/mqueue/x', 'tmpfs'), mount('/dev/mqueue', 'mqueue')]), onItself(2, 'mqueue', '/dev/mqueue'), 'nor does one below it');
  t.doesNotThrow(plan([mount('/dev/mqueue', 'mqueue'), mount('/dev/mqueue', 'tmpfs'), mount('/dev/mqueue', 'mqueue')]), 'another filesystem on top in between');
  t.doesNotThrow(plan([mount('/dev/mqueue', 'mqueue'), mount('/dev', 'tmpfs'), mount('/dev/mqueue', 'mqueue')]), 'a fresh filesystem over its parent in between');
  t.doesNotThrow(plan([mount('/proc', 'proc'), mount('/proc', 'proc'), mount('/dev/pts', 'devpts'), mount('/dev/pts', 'devpts'), mount('/t', 'tmpfs'), mount('/t', 'tmpfs')]), 'proc, devpts and tmpfs are new each time');
  const unified: Hierarchy[] = [{ fstype: 'cgroup2', mountpoint: '/sys/fs/cgroup', mountRoot: '/', subsystems: [], cgroup: '/a' }];
  const cgroupTwice = [mount('/sys/fs/cgroup', 'cgroup'), mount('/sys/fs/cgroup', 'cgroup')];
  t.throws(plan(cgroupTwice, { hierarchies: unified }, true), onItself(1, 'cgroup2', '/sys/fs/cgroup'), 'cgroup v2 mounted afresh in a cgroup namespace, twice');
  t.doesNotThrow(plan(cgroupTwice, { hierarchies: unified }), 'without a cgroup namespace: binds of the cgroup directory');
  t.doesNotThrow(plan(cgroupTwice, { hierarchies: hybrid }, true), 'a hybrid host: each goes under a tmpfs of its own');
});

t.test('a filesystem on / after the proc mount hides it: refused unless a proc mount follows, or it is a bound tree', async (t) => {
  const plan = (mounts: Spec['mounts']) => () => {
    const spec = baseSpec();
    spec.mounts = mounts;
    return buildPlan(inputs(spec));
  };
  const proc = { destination: '/proc', type: 'proc', source: 'proc' };
  t.throws(plan([proc, { destination: '/', type: 'tmpfs', source: 'tmpfs' }]), {
    name: 'PlanError',
    message: "mounts[1]: destination \"/\" puts the tmpfs mount on /, which covers /proc, and no proc mount on /proc follows it: the init needs the container's own procfs there (runc too)",
  });
  t.doesNotThrow(plan([{ destination: '/', type: 'tmpfs', source: 'tmpfs' }, proc]), 'a proc mount after it');
  t.doesNotThrow(plan([proc, { destination: '/', type: 'bind', source: 'data', options: ['rbind'] }]), 'a bound tree may bring its own');
  t.doesNotThrow(plan([{ destination: '/dev', type: 'tmpfs', source: 'tmpfs' }]), 'no mount over /proc: the rootfs\'s own, for validate --host to judge');
});

t.test('default devices, overridden by linux.devices; /dev links', async (t) => {
  const spec = baseSpec();
  spec.linux!.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 5, gid: 6 }, { path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
  const ops = buildPlan(inputs(spec)).plan.rootfsOps;
  const nodes = ops.filter((o) => o.op === 'mknod') as Extract<RootfsOp, { op: 'mknod' }>[];
  t.same(nodes.map((n) => n.path).sort(), ['/dev/full', '/dev/fuse', '/dev/null', '/dev/random', '/dev/tty', '/dev/urandom', '/dev/zero']);
  const devNull = nodes.find((n) => n.path === '/dev/null')!;
  t.same([devNull.mode, devNull.uid, devNull.gid], [0o600, 5, 6]);
  t.ok(ops.some((o) => o.op === 'symlink' && o.path === '/dev/ptmx' && o.target === 'pts/ptmx'));
  t.ok(ops.some((o) => o.op === 'symlink' && o.path === '/dev/fd' && o.target === '/proc/self/fd'));
});

t.test('process: rlimits, capabilities with unknown names warned, LISTEN_FDS with preserved fds', async (t) => {
  const spec = baseSpec();
  spec.process!.rlimits = [{ type: 'RLIMIT_CORE', soft: 1024, hard: 18446744073709551615 }];
  spec.process!.capabilities = { bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NOT_A_CAP'], effective: ['CAP_KILL'] };
  const { plan, warnings } = buildPlan(inputs(spec, { preserveFds: 2 }));
  t.same(plan.process!.rlimits, [{ resource: 4, soft: '1024', hard: 'unlimited' }]);
  t.same(plan.process!.capabilities!.bounding, [0, 5]);
  t.same(plan.process!.capabilities!.effective, [5]);
  t.same(warnings, ['ignoring unknown or unavailable capabilities: [CAP_NOT_A_CAP]']);
  t.ok(plan.process!.env.includes('LISTEN_FDS=2') && plan.process!.env.includes('LISTEN_PID=1'));
  t.equal(plan.process!.umask, 0o022);
});

t.test('RLIMIT_NOFILE above the host\'s fs.nr_open is refused: setrlimit fails (EPERM) even for root, as in runc', async (t) => {
  const plan = (hard: number) => () => {
    const spec = baseSpec();
    spec.process!.rlimits = [{ type: 'RLIMIT_CORE', soft: 1, hard: 1 }, { type: 'RLIMIT_NOFILE', soft: 1024, hard }];
    return buildPlan(inputs(spec, { nrOpen: 1048576 }));
  };
  t.doesNotThrow(plan(1048576), 'at fs.nr_open');
  t.throws(plan(1048577), { name: 'PlanError', message: "process.rlimits[1]: RLIMIT_NOFILE hard limit 1048577 is above this host's fs.nr_open (1048576): setrlimit refuses it (EPERM), even to root" });
  t.throws(plan(18446744073709551615), { message: /^process\.rlimits\[1\]: RLIMIT_NOFILE hard limit unlimited is above this host's fs\.nr_open/ });
});

t.test('capabilities above the kernel last_cap are unknown', async (t) => {
  const spec = baseSpec();
  spec.process!.capabilities = { bounding: ['CAP_BPF', 'CAP_CHOWN'] };
  const { plan, warnings } = buildPlan(inputs(spec, { lastCap: 38 }));
  t.same(plan.process!.capabilities!.bounding, [0]);
  t.match(warnings[0], /CAP_BPF/);
});

t.test('hostname: set in a new UTS namespace or in one joined by path (CRI-O pods)', async (t) => {
  const spec = baseSpec();
  spec.hostname = 'box';
  t.equal(buildPlan(inputs(spec)).plan.hostname, 'box');
  spec.linux!.namespaces = [{ type: 'mount' }, { type: 'uts', path: '/var/run/utsns/pod' }];
  const { plan } = buildPlan(inputs(spec));
  t.equal(plan.hostname, 'box');
  t.same(plan.namespaces.join, [{ type: 'uts', path: '/var/run/utsns/pod' }]);
});

t.test('no mount namespace: no mount, no device, no propagation; only the cwd is made', async (t) => {
  const spec = baseSpec();
  spec.linux!.namespaces = [{ type: 'pid' }, { type: 'uts' }];
  spec.process!.cwd = '/work';
  const { plan } = buildPlan(inputs(spec));
  t.same(plan.rootfsOps, [{ op: 'mkdir', path: '/work' }]);
  t.equal(plan.setupPropagation, 0, 'the helper changes no mount and chroots');
  t.equal(plan.rootPropagation, 0);
});

t.test('root is required', async (t) => {
  const spec = baseSpec();
  delete spec.root;
  t.throws(() => buildPlan(inputs(spec)), { message: 'root must be specified' });
});

t.test('no process: the plan carries none; hooks split by where they run', async (t) => {
  const spec = baseSpec();
  delete spec.process;
  spec.hooks = { prestart: [{ path: '/bin/true' }], createContainer: [{ path: '/bin/cc', args: ['cc', '-x'], timeout: 3 }] };
  const { plan } = buildPlan(inputs(spec));
  t.equal(plan.process, null);
  t.equal(plan.runtimeHooks, true);
  t.same(plan.createContainerHooks, [{ path: '/bin/cc', args: ['cc', '-x'], env: [], timeout: 3 }]);
});

t.test('linux.netDevices: the init lends a netlink socket only when devices are to move', async (t) => {
  const spec = baseSpec();
  t.equal(buildPlan(inputs(spec)).plan.netlinkSocket, false);
  spec.linux!.netDevices = { eth1: { name: 'ctr0' } };
  t.equal(buildPlan(inputs(spec)).plan.netlinkSocket, true);
});

t.test('rootfsPropagation and root.readonly', async (t) => {
  const spec = baseSpec();
  const propagation = (value?: NonNullable<Spec['linux']>['rootfsPropagation']) => {
    spec.linux!.rootfsPropagation = value;
    const { setupPropagation, rootPropagation } = buildPlan(inputs(spec)).plan;
    return [setupPropagation, rootPropagation];
  };
  // Setup: rslave (nothing reaches the host) unless shared, where volumes keep the host's
  // peer groups. After: the value for the container's root, but for the slave kinds, which
  // the setup already gave it (and which must not undo the volumes' own options).
  t.same(propagation(undefined), [MS.SLAVE | MS.REC, 0], 'rslave by default');
  t.same(propagation('rslave'), [MS.SLAVE | MS.REC, 0]);
  t.same(propagation('slave'), [MS.SLAVE | MS.REC, 0]);
  t.same(propagation('private'), [MS.SLAVE | MS.REC, MS.PRIVATE]);
  t.same(propagation('rprivate'), [MS.SLAVE | MS.REC, MS.PRIVATE | MS.REC]);
  t.same(propagation('shared'), [MS.SHARED, MS.SHARED]);
  t.same(propagation('rshared'), [MS.SHARED | MS.REC, MS.SHARED | MS.REC]);
  t.same(propagation('unbindable'), [MS.SLAVE | MS.REC, MS.UNBINDABLE]);
  t.same(propagation('runbindable'), [MS.SLAVE | MS.REC, MS.UNBINDABLE | MS.REC]);
  spec.root!.readonly = true;
  const { plan } = buildPlan(inputs(spec));
  t.equal(plan.rootReadonly, true);
  t.equal(plan.rootfs, path.join(bundle, 'rootfs'));
});

t.test('only procfs may be mounted at /proc (rule 8)', async (t) => {
  const spec = baseSpec();
  spec.mounts = [{ destination: '/proc', type: 'tmpfs', source: 'tmpfs' }];
  t.throws(() => buildPlan(inputs(spec)), { message: /\/proc cannot be mounted because it is not of type proc/ });
  spec.mounts = [{ destination: '/proc/', source: 'data', options: ['rbind'] }];
  t.throws(() => buildPlan(inputs(spec)), { message: /not of type proc/ });
  spec.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }];
  t.doesNotThrow(() => buildPlan(inputs(spec)));
});

t.test('a bind of procfs at /proc without a pid namespace, as runc allows it (issue #12 item 11)', async (t) => {
  const spec = baseSpec();
  const procBind = { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind', 'nosuid', 'noexec', 'nodev'] };
  spec.mounts = [procBind];
  t.throws(() => buildPlan(inputs(spec)), { message: /a bind of \/proc would show the host's processes/ }, 'refused with a pid namespace');
  spec.linux!.namespaces = [{ type: 'mount' }];
  const [m] = mountsOf(buildPlan(inputs(spec)).plan.rootfsOps);
  t.match(m, { source: '/proc', target: '/proc', fstype: 'bind' }, 'allowed in the host pid namespace');
  // Still only procfs (security rule 8): a procfs-looking path on another filesystem is not.
  spec.mounts = [{ ...procBind, source: 'data' }];
  t.throws(() => buildPlan(inputs(spec)), { message: /\/proc cannot be mounted because it is not of type proc \(a bind of / });
  spec.mounts = [{ ...procBind, source: 'missing' }];
  t.throws(() => buildPlan(inputs(spec)), { message: /mounts: \/proc: statfs .*missing: ENOENT/ });
});

t.test('paths through a procfs link the init would not follow are refused, naming the field (security rules 6, 9)', async (t) => {
  const spec = baseSpec();
  spec.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }];
  spec.process!.cwd = '/proc/self/root/tmp';
  t.throws(() => buildPlan(inputs(spec)), { message: 'config.json: /process/cwd: "/proc/self/root/tmp" goes through /proc/self/root, a procfs magic link, which runts never follows inside the container (SECURITY.md rule 6)' });
  spec.process!.cwd = '/proc/self/task';
  t.doesNotThrow(() => buildPlan(inputs(spec)), 'plain symlinks are followed');
  spec.linux!.devices = [{ path: '/dev/x', type: 'c', major: 1, minor: 3 }, { path: '/proc/1/fd/0/x', type: 'c', major: 1, minor: 3 }];
  t.throws(() => buildPlan(inputs(spec)), { message: /^config\.json: \/linux\/devices\/1\/path: .* goes through \/proc\/1\/fd\/0, a procfs magic link/ });
  delete spec.linux!.devices;
  spec.linux!.readonlyPaths = ['/proc/sys', '/proc/thread-self/exe'];
  t.throws(() => buildPlan(inputs(spec)), { message: /^config\.json: \/linux\/readonlyPaths\/1: .* goes through \/proc\/thread-self\/exe, a procfs magic link/ });
  spec.linux!.readonlyPaths = ['/proc/self/attr'];
  t.doesNotThrow(() => buildPlan(inputs(spec)), 'a read-only path follows plain symlinks');
  spec.linux!.maskedPaths = ['/proc/kcore', '/proc/self/attr'];
  t.throws(() => buildPlan(inputs(spec)), { message: 'config.json: /linux/maskedPaths/1: "/proc/self/attr" goes through /proc/self, a procfs symlink, and a masked path follows no symlink (SECURITY.md rule 9)' });
  spec.mounts = [];
  t.doesNotThrow(() => buildPlan(inputs(spec)), 'without a procfs there, the rootfs decides what the path is');
});

t.test('paths longer than the kernel takes are refused, naming the field (ENAMETOOLONG)', async (t) => {
  const spec = baseSpec();
  spec.linux!.maskedPaths = ['/proc/kcore', 'x'.repeat(4097)];
  t.throws(() => buildPlan(inputs(spec)), { message: `config.json: /linux/maskedPaths/1: ${JSON.stringify('x'.repeat(80))}… (4097 characters) is longer than the kernel takes (a path of at most 4095 bytes, each name at most 255): ENAMETOOLONG` });
  spec.linux!.maskedPaths = [`/${'a/'.repeat(2047)}b`];
  t.throws(() => buildPlan(inputs(spec)), { message: /^config\.json: \/linux\/maskedPaths\/0: .* is longer than the kernel takes/ }, '4096 bytes');
  spec.linux!.maskedPaths = [`/${'a/'.repeat(2046)}`];
  t.doesNotThrow(() => buildPlan(inputs(spec)), '4093 bytes once normalised');
  delete spec.linux!.maskedPaths;
  spec.process!.cwd = `/${'é'.repeat(128)}`;
  t.throws(() => buildPlan(inputs(spec)), { message: /^config\.json: \/process\/cwd: .* ENAMETOOLONG$/ }, 'a name of 256 bytes');
  spec.process!.cwd = `/${'e'.repeat(255)}`;
  t.doesNotThrow(() => buildPlan(inputs(spec)));
  spec.mounts = [{ destination: `/${'m'.repeat(300)}`, type: 'tmpfs', source: 'tmpfs' }];
  t.throws(() => buildPlan(inputs(spec)), { message: /^config\.json: \/mounts\/0\/destination: / });
});

t.test('inside /proc only what lxcfs emulates may be covered, as in runc', async (t) => {
  const spec = baseSpec();
  spec.mounts = [{ destination: '/proc/meminfo', type: 'bind', source: 'file.txt', options: ['bind'] }];
  t.doesNotThrow(() => buildPlan(inputs(spec)));
  spec.mounts = [{ destination: '/proc/sys/kernel/core_pattern', type: 'bind', source: 'file.txt', options: ['bind'] }];
  t.throws(() => buildPlan(inputs(spec)), { message: 'mounts: /proc/sys/kernel/core_pattern cannot be mounted because it is inside /proc' });
  spec.mounts = [{ destination: '/proc/sys', type: 'tmpfs', source: 'tmpfs' }];
  t.throws(() => buildPlan(inputs(spec)), { message: /\/proc\/sys cannot be mounted because it is inside \/proc/ });
});

t.test('read-only tmpfs and /dev are mounted read-write and made read-only last; a bound /dev gets no devices', async (t) => {
  const spec = baseSpec();
  spec.mounts = [
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid'] },
    { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['ro'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['ro'] },
  ];
  let { plan } = buildPlan(inputs(spec));
  const [dev, run, sys] = mountsOf(plan.rootfsOps);
  t.equal(dev.flags & MS.RDONLY, 0, '/dev is mounted read-write');
  t.equal(run.flags & MS.RDONLY, 0, 'so is a tmpfs');
  t.not(sys.flags & MS.RDONLY, 0, 'other filesystems are read-only at once');
  t.same(plan.lateReadonlyMounts, ['/dev', '/run']);
  t.ok(plan.rootfsOps.some((op) => op.op === 'mknod' || op.op === 'bind-device'), 'devices made in a tmpfs /dev');
  spec.mounts = [{ destination: '/dev', type: 'bind', source: 'data', options: ['bind', 'ro'] }];
  ({ plan } = buildPlan(inputs(spec)));
  t.same(plan.lateReadonlyMounts, [], 'a bind is read-only at once, as in runc');
  t.notOk(plan.rootfsOps.some((op) => op.op === 'mknod' || op.op === 'bind-device' || op.op === 'symlink'), 'no devices or links in a bound /dev');
});

t.test('tmpcopyup marks a tmpfs for copy-up and is refused on anything else', async (t) => {
  const spec = baseSpec();
  spec.mounts = [{ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'nosuid', 'tmpcopyup'] }];
  const [m] = mountsOf(buildPlan(inputs(spec)).plan.rootfsOps);
  t.equal(m.copyUp, true);
  t.equal(m.data, '', 'not passed to the kernel as tmpfs data');
  spec.mounts = [{ destination: '/x', type: 'bind', source: 'data', options: ['rbind', 'tmpcopyup'] }];
  t.throws(() => buildPlan(inputs(spec)), { message: /tmpcopyup is only valid for tmpfs mounts/ });
});

t.test('LSM labels are never silently dropped: on a host without the LSM they are refused', async (t) => {
  const none = { apparmor: false, selinux: false };
  for (const edit of [(s: Spec) => (s.process!.apparmorProfile = 'p'), (s: Spec) => (s.process!.selinuxLabel = 'l'), (s: Spec) => (s.linux!.mountLabel = 'm')]) {
    const spec = baseSpec();
    edit(spec);
    t.throws(() => buildPlan(inputs(spec, { lsm: none })), { name: 'PlanError', message: /apparmor is disabled|selinux is disabled/ });
  }
});

t.test('a bind mount in a user namespace keeps its source\'s locked flags; clearing one is refused', async (t) => {
  const spec = baseSpec();
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.mounts = [{ destination: '/data', type: 'bind', source: 'data', options: ['bind', 'nodev'] }];
  const mountinfo = `1 0 8:1 / / rw,nosuid,noexec,relatime shared:1 - ext4 /dev/sda1 rw`;
  const { plan } = buildPlan(inputs(spec, { mountinfo }));
  t.equal(mountsOf(plan.rootfsOps)[0].remountFlags, MS.BIND | MS.REMOUNT | MS.NODEV | MS.NOSUID | MS.NOEXEC);
  spec.mounts[0].options = ['bind', 'suid'];
  t.throws(() => buildPlan(inputs(spec, { mountinfo })), new PlanError(`mounts: /data: cannot clear locked flags MS_NOSUID of ${path.join(bundle, 'data')} (a bind mount in a user namespace keeps them)`));
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'user');
  t.equal(mountsOf(buildPlan(inputs(spec, { mountinfo })).plan.rootfsOps)[0].remountFlags, 0, 'without a user namespace nothing is locked');
});

t.test('sysfs (proc) in a new user namespace without a network (pid) namespace is refused', async (t) => {
  const spec = baseSpec();
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.mounts = [{ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['ro'] }];
  t.throws(() => buildPlan(inputs(spec)), { message: /^mounts: \/sys: sysfs cannot be mounted in a new user namespace that shares the runtime's network namespace/ });
  spec.linux!.namespaces!.push({ type: 'network' });
  t.doesNotThrow(() => buildPlan(inputs(spec)));
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'pid');
  spec.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }];
  t.throws(() => buildPlan(inputs(spec)), { message: /^mounts: \/proc: proc cannot be mounted in a new user namespace that shares the runtime's pid namespace/ });
});

t.test('rootless: hierarchies without a cgroup of the container\'s own are masked, also under an rbind of /sys', async (t) => {
  const hierarchies: Hierarchy[] = [
    { fstype: 'cgroup', mountpoint: '/sys/fs/cgroup/pids', mountRoot: '/', subsystems: ['pids'], cgroup: '/deleg/c1' },
    { fstype: 'cgroup', mountpoint: '/sys/fs/cgroup/cpu', mountRoot: '/', subsystems: ['cpu'], cgroup: '/' },
  ];
  const spec = baseSpec();
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.mounts = [
    { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'ro'] },
  ];
  const mountinfo = '1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw';
  const rootless = { unjoinedHierarchies: ['/sys/fs/cgroup/cpu'] };
  const mounts = mountsOf(buildPlan(inputs(spec, { hierarchies, rootless, mountinfo })).plan.rootfsOps);
  const masks = mounts.filter((m) => m.fstype === 'tmpfs' && m.flags & MS.RDONLY);
  t.same(masks.map((m) => m.target), ['/sys/fs/cgroup/pids', '/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu'], 'the rbind\'s host cgroups, then the unjoined hierarchy');
  t.ok(mounts.some((m) => m.source === '/sys/fs/cgroup/pids/deleg/c1' && m.target === '/sys/fs/cgroup/pids'), 'its own cgroup is bound');
  t.notOk(mounts.some((m) => m.source.startsWith('/sys/fs/cgroup/cpu')), 'the caller\'s cgroup is never bound');
  const asRoot = mountsOf(buildPlan(inputs(spec, { hierarchies, mountinfo })).plan.rootfsOps);
  t.notOk(asRoot.some((m) => m.fstype === 'tmpfs' && m.flags & MS.RDONLY), 'no masks when runts runs as root');
});
