// The --host probes of src/validate/host.ts against hosts other than this one (HostFacts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { buildFeatures } from '../../src/features';
import type { PlanProcess, RootfsOp } from '../../src/plan/types';
import type { Spec } from '../../src/spec/types';
import { helperGrants, parseSubordinateIds, subidService } from '../../src/rootless/idmap';
import { devicesOnDirectories, hiddenBindSources, hostFacts, hostFilesystem, hostMountRefusal, hostProblems, hostProcfsDir, missingExecutable, procfsProblem, refusedMountData, rootfsProblem, unknownFilesystems, type HostFacts, type RootlessCaller } from '../../src/validate/host';
import { requireRoot } from '../lib';

const spec = (linux: Spec['linux'], more: Partial<Spec> = {}): Spec => ({ ociVersion: '1.3.0', root: { path: 'rootfs' }, linux, ...more });

/** A host like this one, with `change` applied. */
function facts(change: Partial<HostFacts> = {}, kernel = os.release()): HostFacts {
  return { kernelRelease: kernel, features: buildFeatures(kernel), timeNamespaces: true, lsm: { apparmor: true, selinux: true }, interfaceExists: () => true, executable: () => true, ...change };
}

t.test('this host: what the probes read', async (t) => {
  const here = hostFacts();
  t.equal(typeof here.timeNamespaces, 'boolean');
  t.equal(here.rootless, undefined, 'root is not rootless');
  t.ok(here.interfaceExists('lo'));
  t.notOk(here.interfaceExists('no-such-if0'));
  t.ok(here.executable('/bin/sh'));
  t.notOk(here.executable('/etc/passwd'), 'a file without an execute bit');
  t.notOk(here.executable('/bin'), 'a directory');
  t.notOk(here.executable('/no/such/hook'));
});

t.test('hooks create runs on the host, whose program is not there', async (t) => {
  const hook = (p: string) => ({ path: p });
  const s = spec({}, { hooks: { prestart: [hook('/bin/ok')], createRuntime: [hook('/bin/ok'), hook('/gone')], poststart: [hook('/gone')], createContainer: [hook('/gone')], startContainer: [hook('/gone')] } });
  t.same(
    hostProblems(s, facts({ executable: (file) => file === '/bin/ok' })),
    [
      { pointer: '/hooks/createRuntime/1/path', message: '/gone is not an executable file on this host, where create runs createRuntime hooks' },
      { pointer: '/hooks/createContainer/0/path', message: '/gone is not an executable file on this host, where create runs createContainer hooks' },
    ],
    'createContainer runs before pivot_root, from the host\'s root; poststart runs at start, startContainer inside the container: neither is for create to find here',
  );
});

t.test('a time namespace on a kernel without them', async (t) => {
  const s = spec({ namespaces: [{ type: 'mount' }, { type: 'time' }] });
  t.same(hostProblems(s, facts()), []);
  t.match(hostProblems(s, facts({ timeNamespaces: false })), [{ pointer: '/linux/namespaces/1', message: /no time namespaces/ }]);
  t.same(hostProblems(spec({ namespaces: [{ type: 'time', path: '/proc/1/ns/time' }] }), facts({ timeNamespaces: false })), [], 'joining one is for the path check');
});

t.test('idmapped mounts before Linux 5.12', async (t) => {
  const s = spec({ namespaces: [{ type: 'mount' }] }, { mounts: [{ destination: '/a', source: '/a', type: 'bind', options: ['bind'] }, { destination: '/b', source: '/b', type: 'bind', options: ['bind', 'idmap'] }] });
  t.same(hostProblems(s, facts({}, '6.1.0')), []);
  t.match(hostProblems(s, facts({}, '5.10.0')), [{ pointer: '/mounts/1', message: /need Linux 5\.12/ }]);
});

t.test('seccomp flags and memory policies this kernel lacks', async (t) => {
  const s = spec({ seccomp: { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }, memoryPolicy: { mode: 'MPOL_PREFERRED_MANY', nodes: '0' } });
  t.same(hostProblems(s, facts({}, '6.10.0')), []);
  t.match(hostProblems(s, facts({}, '5.4.0')), [
    { pointer: '/linux/seccomp/flags/1', message: /SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported by this kernel \(5\.4\.0\)/ },
    { pointer: '/linux/memoryPolicy/mode', message: /MPOL_PREFERRED_MANY is not supported/ },
  ]);
});

t.test('a network device the host does not have', async (t) => {
  const s = spec({ namespaces: [{ type: 'network' }], netDevices: { eth9: {}, 'a/b': {} } });
  t.match(hostProblems(s, facts({ interfaceExists: (name) => name === 'eth9' })), [{ pointer: '/linux/netDevices/a~1b', message: 'no network interface "a/b" in the runtime\'s network namespace' }]);
});

/** A rootless caller (uid 1000, gid 1000, user "me") with what /etc/subuid and /etc/subgid grant it. */
const caller = (mapHelpers: boolean, subordinate: RootlessCaller['subordinate'] = { uid: [], gid: [] }): RootlessCaller => ({ ids: { uid: 1000, gid: 1000 }, mapHelpers, user: 'me', subordinate });

t.test('rootless: subordinate ids without newuidmap/newgidmap', async (t) => {
  const s = spec({ namespaces: [{ type: 'user' }], uidMappings: [{ containerID: 0, hostID: 1000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] });
  t.same(hostProblems(s, facts({ rootless: caller(true, { uid: [{ start: 1000, count: 65536 }], gid: [] }) })), []);
  t.match(hostProblems(s, facts({ rootless: caller(false) })), [{ pointer: '/linux/uidMappings', message: /needs newuidmap \(package uidmap\)/ }]);
});

t.test('rootless: each mapping entry newuidmap/newgidmap would refuse, against /etc/subuid and /etc/subgid', async (t) => {
  const granted = { uid: [{ start: 100000, count: 65536 }], gid: [{ start: 200000, count: 1000 }, { start: 201000, count: 1000 }] };
  const s = spec({
    namespaces: [{ type: 'user' }],
    uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }, { containerID: 70000, hostID: 165536, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 200000, size: 2000 }, { containerID: 3000, hostID: 1001, size: 1 }],
  });
  t.same(
    hostProblems(s, facts({ rootless: caller(true, granted) })).map((p) => p.pointer),
    ['/linux/uidMappings/2', '/linux/gidMappings/2'],
    "the caller's own id alone and granted ranges pass (two adjacent ranges join); one id past the range and another gid do not",
  );
  t.match(hostProblems(s, facts({ rootless: caller(true, granted) }))[0].message, 'newuidmap refuses host uids 165536: /etc/subuid grants me (uid 1000) 100000-165535, besides the caller\'s own uid 1000 alone');
  t.match(hostProblems(s, facts({ rootless: caller(true) }))[1].message, /\/etc\/subuid grants me \(uid 1000\) no range/, 'nothing granted');
  const ownOnly = spec({ namespaces: [{ type: 'user' }], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] });
  t.same(hostProblems(ownOnly, facts({ rootless: caller(true) })), [], 'runts writes a map of its own id itself: no helper, nothing to grant');
  const joined = spec({ namespaces: [{ type: 'user', path: '/proc/1/ns/user' }], uidMappings: [{ containerID: 0, hostID: 5, size: 10 }] });
  t.same(hostProblems(joined, facts({ rootless: caller(true) })), [], 'a joined user namespace has its maps already');
});

t.test('rootless: grants an NSS service holds (nsswitch.conf subid:) are not judged from /etc/subuid', async (t) => {
  const s = spec({ namespaces: [{ type: 'user' }], uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] });
  t.equal(hostProblems(s, facts({ rootless: caller(true) })).length, 1, 'from the files: nothing granted');
  t.same(hostProblems(s, facts({ rootless: { ...caller(true), subidService: 'sss' } })), [], 'from sss: newuidmap judges');
  t.equal(subidService('passwd: files\nsubid:   sss\n'), 'sss');
  t.equal(subidService('passwd: files\nsubid: files\n'), undefined, '"files" is /etc/subuid');
  t.equal(subidService('passwd: files\n#subid: sss\n'), undefined, 'a comment is none');
  t.equal(subidService(''), undefined);
});

t.test('device nodes on directories of the rootfs that no mount covers first', async (t) => {
  const dirs = new Set(['/r', '/r/dev/sda', '/r/opt/x']);
  const isDirectory = (file: string) => dirs.has(file);
  const devices = [{ path: '/dev/sda', type: 'b', major: 8, minor: 0 }, { path: '/opt/x/', type: 'c', major: 1, minor: 3 }, { path: '/', type: 'c', major: 1, minor: 5 }];
  const node = (p: string): RootfsOp => ({ op: 'mknod', path: p, kind: 'c', major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 });
  const tmpfsOnDev: RootfsOp = { op: 'mount', source: 'tmpfs', target: '/dev', fstype: 'tmpfs', flags: 0, data: '', mkdir: 'dir', remountFlags: 0, propagation: [], copyUp: false };
  t.same(devicesOnDirectories('/r', [node('/dev/sda'), node('/opt/x/'), node('/')], devices, isDirectory).map((p) => p.pointer), ['/linux/devices/0/path', '/linux/devices/1/path', '/linux/devices/2/path']);
  t.same(devicesOnDirectories('/r', [tmpfsOnDev, node('/dev/sda'), { op: 'bind-device', path: '/opt/x' }], devices, isDirectory).map((p) => p.pointer), ['/linux/devices/1/path'], 'a mount on /dev first: its own tree; a bound node on a directory fails too');
  t.same(devicesOnDirectories('/r', [node('/dev/null')], devices, isDirectory), [], 'no directory there');
  t.same(devicesOnDirectories('/r', [node('/dev/sda')], devices, () => undefined), [], 'the host cannot tell');
});

t.test('/etc/subuid lines: by user name or uid, malformed lines ignored', async (t) => {
  const text = 'me:100000:65536\nother:300000:10\n1000:400000:5\n# comment\nme:bad:1\nme:500000:0\n';
  t.same(parseSubordinateIds(text, { name: 'me', uid: 1000 }), [{ start: 100000, count: 65536 }, { start: 400000, count: 5 }]);
  t.same(parseSubordinateIds('', { name: 'me', uid: 1000 }), []);
  t.ok(helperGrants({ containerID: 0, hostID: 100000, size: 65536 }, [{ start: 100000, count: 65536 }], 1000));
  t.notOk(helperGrants({ containerID: 0, hostID: 99999, size: 2 }, [{ start: 100000, count: 65536 }], 1000), 'starts before the range');
  t.ok(helperGrants({ containerID: 0, hostID: 100, size: 20 }, [{ start: 110, count: 20 }, { start: 90, count: 20 }], 1000), 'joined from unsorted adjacent ranges');
  t.notOk(helperGrants({ containerID: 0, hostID: 1000, size: 2 }, [], 1000), 'the own id is granted only alone');
});

t.test('LSM labels a host without AppArmor or SELinux cannot apply, each at its field', async (t) => {
  const s = spec({ mountLabel: 'system_u:object_r:container_file_t:s0' }, { process: { cwd: '/', user: { uid: 0, gid: 0 }, apparmorProfile: 'runts-default', selinuxLabel: 'system_u:system_r:container_t:s0' } });
  t.same(hostProblems(s, facts()), [], 'a host running both');
  t.same(hostProblems(s, facts({ lsm: { apparmor: false, selinux: false } })), [
    { pointer: '/process/apparmorProfile', message: 'unable to apply apparmor profile "runts-default": apparmor is disabled or not supported on this host' },
    { pointer: '/process/selinuxLabel', message: 'selinux label is specified in config, but selinux is disabled or not supported' },
    { pointer: '/linux/mountLabel', message: 'selinux mount label is specified in config, but selinux is disabled or not supported' },
  ]);
  t.same(hostProblems(s, facts({ lsm: { apparmor: true, selinux: false } })).map((p) => p.pointer), ['/process/selinuxLabel', '/linux/mountLabel'], 'AppArmor only');
});

t.test('bind sources an earlier tmpfs in the rootfs hides (root.path "/" with a v1 cgroup mount), once per config mount', async (t) => {
  const mount = (target: string, fstype: string, source = fstype): RootfsOp => ({ op: 'mount', source, target, fstype, flags: 0, data: '', mkdir: 'dir', remountFlags: 0, propagation: [], copyUp: false });
  const ops = [mount('/sys/fs/cgroup', 'tmpfs'), mount('/sys/fs/cgroup/cpu', 'bind', '/sys/fs/cgroup/cpu/c1'), mount('/sys/fs/cgroup/pids', 'bind', '/sys/fs/cgroup/pids/c1'), mount('/data', 'bind', '/srv/data')];
  const mounts = [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup' }, { destination: '/data', type: 'bind', source: '/srv/data' }];
  t.same(hiddenBindSources('/', ops, mounts), [
    { pointer: '/mounts/0', message: 'the bind source /sys/fs/cgroup/cpu/c1 is hidden by the tmpfs mounted on /sys/fs/cgroup before it (root.path "/"): mounting /sys/fs/cgroup/cpu would fail with "no such file or directory"' },
  ]);
  t.same(hiddenBindSources('/bundle/rootfs', ops, mounts), [], 'a rootfs of its own: the host sources stay visible');
  t.same(hiddenBindSources('/', [mount('/tmp', 'tmpfs'), mount('/x', 'bind', '/tmpdata')], []), [], 'a prefix of the name is not a parent directory');
});

t.test('a rootfs that does not exist, which the init resolves first', async (t) => {
  t.same(rootfsProblem('/agreemark', () => false), { pointer: '/root/path', message: 'root.path: resolve rootfs /agreemark: no such file or directory' });
  t.equal(rootfsProblem('/', () => true), undefined);
});

t.test('no procfs at /proc: no mount of the plan puts one there, and the rootfs has none', async (t) => {
  const mount = (target: string, fstype: string): RootfsOp => ({ op: 'mount', source: fstype, target, fstype, flags: 0, data: '', mkdir: 'dir', remountFlags: 0, propagation: [], copyUp: false });
  const noProcfs = () => false;
  t.same(procfsProblem('/b/rootfs', [mount('/dev', 'tmpfs')], noProcfs), { pointer: '/mounts', message: "no mount puts a procfs on /proc, and /b/rootfs/proc is none: the init needs the container's own procfs there (runc too)" });
  t.equal(procfsProblem('/b/rootfs', [mount('/proc', 'proc')], noProcfs), undefined, 'a proc mount');
  t.equal(procfsProblem('/b/rootfs', [mount('/', 'bind')], noProcfs), undefined, 'a tree bound on / may bring one');
  t.equal(procfsProblem('/', [], () => true), undefined, 'root.path "/": the host\'s procfs');
  t.equal(procfsProblem('/b/rootfs', [], () => undefined), undefined, 'a symlink the init resolves in the container');
});

t.test('mount data the kernel refuses: each probed mount at its options; device-backed and cgroup ones are not tried', async (t) => {
  const mount = (target: string, fstype: string, data: string): RootfsOp => ({ op: 'mount', source: fstype, target, fstype, flags: 0, data, mkdir: 'dir', remountFlags: 0, propagation: [], copyUp: false });
  const tried: string[] = [];
  const refusal = (fstype: string, _flags: number, data: string) => (tried.push(`${fstype} ${data}`), data.includes('bad') ? 'EINVAL' : undefined);
  const ops = [mount('/proc', 'proc', ''), mount('/dev', 'tmpfs', 'mode=755,bad'), mount('/data', 'ext4', 'bad'), mount('/sys/fs/cgroup', 'cgroup', 'bad'), mount('/dev/pts', 'devpts', 'gid=5'), mount('/x', 'tmpfs', 'bad'.repeat(40))];
  const mounts = [{ destination: 'proc', type: 'proc' }, { destination: '/dev/', type: 'tmpfs', options: ['bad'] }, { destination: '/dev/pts', type: 'devpts' }];
  t.same(refusedMountData(ops, mounts, refusal), [
    { pointer: '/mounts/1/options', message: 'the kernel refuses tmpfs with the data "mode=755,bad" (EINVAL, mount(2) tried here in a throwaway mount namespace): create would fail mounting /dev' },
    { pointer: '/mounts', message: `the kernel refuses tmpfs with the data ${JSON.stringify('bad'.repeat(40).slice(0, 80))}… (120 characters) (EINVAL, mount(2) tried here in a throwaway mount namespace): create would fail mounting /x` },
  ]);
  t.same(tried, ['tmpfs mode=755,bad', 'devpts gid=5', `tmpfs ${'bad'.repeat(40)}`], 'no data, no probe');
});

t.test('filesystem types this kernel neither has nor can load: each at its mount\'s type', async (t) => {
  const mount = (target: string, fstype: string): RootfsOp => ({ op: 'mount', source: fstype, target, fstype, flags: 0, data: '', mkdir: 'dir', remountFlags: 0, propagation: [], copyUp: false });
  const known = (fstype: string) => (fstype === 'tmpfs' ? true : fstype === 'maybe' ? undefined : false);
  const ops = [mount('/dev', 'tmpfs'), mount('/data', 'bind'), mount('/x', '-1'), mount('/y', 'maybe'), mount('/z', 'none')];
  const mounts = [{ destination: '/dev', type: 'tmpfs' }, { destination: '/x', type: '-1' }];
  t.same(unknownFilesystems(ops, mounts, known), [
    { pointer: '/mounts/1/type', message: 'this kernel has no filesystem "-1" (/proc/filesystems) and no module to load for it: mounting /x would fail with "no such device"' },
    { pointer: '/mounts', message: 'this kernel has no filesystem "none" (/proc/filesystems) and no module to load for it: mounting /z would fail with "no such device"' },
  ]);
  t.equal(hostFilesystem('tmpfs'), true, 'this host');
  t.not(hostFilesystem('-1'), true);
});

t.test('this host\'s kernel judges mount data, and no probe mount is left behind', async (t) => {
  if (!requireRoot(t)) return;
  const before = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  t.equal(hostMountRefusal('tmpfs', 0, '%s%n%x'), 'EINVAL', 'an option tmpfs does not know');
  t.equal(hostMountRefusal('devpts', 0, 'y'.repeat(70000)), 'EINVAL', 'mount(2) passes a page of it');
  t.equal(hostMountRefusal('tmpfs', 0, 'mode=755,size=65536k'), undefined);
  t.equal(hostMountRefusal('devpts', 0, 'newinstance,ptmxmode=0666,mode=0620,gid=5'), undefined);
  t.equal(fs.readFileSync('/proc/self/mountinfo', 'utf8'), before, 'the probes mounted in namespaces of their own');
});

t.test('process.args[0] the init would not find in the rootfs, looked up as it does: symlinks inside the rootfs, PATH, the cwd', async (t) => {
  const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-lookup-'));
  t.teardown(() => fs.rmSync(rootfs, { recursive: true, force: true }));
  fs.mkdirSync(path.join(rootfs, 'usr/bin'), { recursive: true });
  fs.mkdirSync(path.join(rootfs, 'sbin'));
  fs.writeFileSync(path.join(rootfs, 'usr/bin/true'), '', { mode: 0o755 });
  fs.writeFileSync(path.join(rootfs, 'usr/bin/data'), '', { mode: 0o644 });
  fs.symlinkSync('usr/bin', path.join(rootfs, 'bin'));
  fs.symlinkSync('/usr/bin', path.join(rootfs, 'usr/abs'), 'dir');
  fs.symlinkSync('loop', path.join(rootfs, 'loop'));
  const proc = (args: string[], env = ['PATH=/bin'], cwd = '/'): PlanProcess => ({ args, env, cwd }) as PlanProcess;
  const mount = (target: string): RootfsOp => ({ op: 'mount', source: 'tmpfs', target, fstype: 'tmpfs', flags: 0, data: '', mkdir: 'dir', remountFlags: 0, propagation: [], copyUp: false });
  const lookup = (p: PlanProcess, ops: RootfsOp[] = []) => missingExecutable(rootfs, ops, p)?.message;
  t.equal(lookup(proc(['true'])), undefined, 'along PATH, through a relative symlink');
  t.equal(lookup(proc(['/usr/abs/true'])), undefined, 'an absolute symlink stays in the rootfs');
  t.equal(lookup(proc(['/usr/abs/../bin/true'])), undefined, '".." after a symlink goes up from its target');
  t.equal(lookup(proc(['bin/true'], [], '/usr')), undefined, 'a name with a slash, from the cwd');
  t.equal(lookup(proc(['true'], ['PATH=:/nowhere'], '/usr/bin')), undefined, 'an empty PATH entry is the cwd');
  t.equal(lookup(proc(['true'], ['PATH=/nowhere', 'PATH=/bin'])), undefined, 'the last PATH counts');
  t.equal(lookup(proc(['nothere'])), `exec: "nothere": executable file not found in $PATH (PATH=/bin, in the rootfs ${rootfs}, under no mount of the config)`);
  t.match(lookup(proc(['data'])), /executable file not found in \$PATH/, 'a file without an execute bit is passed over');
  t.match(lookup(proc(['true'], ['HOME=/'])), /not found in \$PATH \(PATH=,/, 'no PATH: nowhere to look');
  t.equal(lookup(proc(['/bin/nothere'])), `exec: "/bin/nothere": stat /bin/nothere: no such file or directory (in the rootfs ${rootfs}, under no mount of the config)`);
  t.match(lookup(proc(['/usr/bin/data'])), /^exec: "\/usr\/bin\/data": permission denied/);
  t.match(lookup(proc(['/sbin'])), /permission denied: a directory/);
  t.match(lookup(proc(['/loop/x'])), /no such file or directory/, 'a symlink loop');
  t.match(lookup(proc(['/usr/bin/true/x'])), /no such file or directory/, 'a file on the way');
  t.equal(lookup(proc(['nothere']), [mount('/usr')]), undefined, 'a mount on the way decides, which only the init sees');
  t.equal(lookup(proc(['/opt/x']), [mount('/opt/x')]), undefined, 'a mount on the file itself');
  t.equal(lookup(proc(['/dev/x']), [{ op: 'symlink', path: '/dev/x', target: '/proc/self/fd/0' }]), undefined, 'a link the plan makes');
  const procMount: RootfsOp = { ...(mount('/proc') as Extract<RootfsOp, { op: 'mount' }>), fstype: 'proc', source: 'proc' };
  t.equal(lookup(proc(['/proc/self/root/bin/true']), [procMount]), undefined, "the init's /proc/self/root is the container's root");
  t.match(lookup(proc(['/proc/thread-self/root/usr/bin/nothere']), [procMount]), /stat .*: no such file or directory/);
  t.equal(lookup(proc(['/proc/1/root/usr/bin/nothere']), [procMount]), undefined, 'which process is 1 only the init sees');
  t.equal(lookup(proc(['/proc/self/cwd/nothere']), [procMount]), undefined, 'other procfs paths only the init sees');
  t.equal(lookup(proc([])), undefined);
  t.equal(missingExecutable(rootfs, [], null), undefined, 'no process');
});

t.test('which directories of this host are procfs', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-procfs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.symlinkSync('/proc', path.join(dir, 'link'));
  t.equal(hostProcfsDir('/proc'), true);
  t.equal(hostProcfsDir(dir), false, 'another filesystem');
  t.equal(hostProcfsDir(path.join(dir, 'proc')), false, 'missing in a tree that exists');
  t.equal(hostProcfsDir(path.join(dir, 'link')), undefined, 'a symlink: only the init resolves it, inside the container');
  t.equal(hostProcfsDir(path.join(dir, 'gone', 'proc')), undefined, 'a missing rootfs, reported as such');
});
