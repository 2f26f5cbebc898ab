// The semantic checks of src/spec/semantic.ts, run through validateConfig: each rule with a
// config it accepts and one it rejects, and the exact message of the rejection.

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { validateConfig, type ValidateOptions } from '../../src/spec/validate';
import type { Spec } from '../../src/spec/types';
import runcSpecConfig from './data/runc-spec-config.json';

const base = runcSpecConfig as Spec;
const detached: ValidateOptions = { file: 'config.json', detached: true };

function config(edit: (spec: any) => void): unknown {
  const copy = structuredClone(base);
  edit(copy);
  return copy;
}

function accepts(t: Test, name: string, edit: (spec: any) => void, opts: ValidateOptions = detached): void {
  t.doesNotThrow(() => validateConfig(config(edit), opts), `accepts: ${name}`);
}

function rejects(t: Test, name: string, edit: (spec: any) => void, message: string, opts: ValidateOptions = detached): void {
  t.throws(() => validateConfig(config(edit), opts), { name: 'SpecError', message }, `rejects: ${name}`);
}

const namespaceIndex = (spec: any, type: string): number => spec.linux.namespaces.findIndex((ns: any) => ns.type === type);
const withoutNamespace = (type: string) => (s: any) => s.linux.namespaces.splice(namespaceIndex(s, type), 1);
const userMappings = (s: any) => {
  s.linux.namespaces.push({ type: 'user' });
  s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
};

t.test('the runc-like base config passes', async (t) => {
  t.same(validateConfig(config(() => {}), detached), { spec: base, warnings: [] });
});

t.test('duplicate namespace types', async (t) => {
  accepts(t, 'one of each', () => {});
  rejects(t, 'pid twice', (s) => s.linux.namespaces.push({ type: 'pid', path: '/proc/1/ns/pid' }), 'config.json: /linux/namespaces/6: duplicate namespace type "pid"');
});

t.test('namespace paths must be namespaces of their type', async (t) => {
  accepts(t, 'network from /proc/self/ns/net', (s) => (s.linux.namespaces[namespaceIndex(s, 'network')].path = '/proc/self/ns/net'));
  accepts(t, 'mount from /proc/self/ns/mnt', (s) => (s.linux.namespaces[namespaceIndex(s, 'mount')].path = '/proc/self/ns/mnt'));
  accepts(t, 'time from /proc/self/ns/time_for_children', (s) => s.linux.namespaces.push({ type: 'time', path: '/proc/self/ns/time_for_children' }));
  accepts(t, 'an empty path means a new namespace', (s) => (s.linux.namespaces[namespaceIndex(s, 'pid')].path = ''));
  rejects(
    t,
    'a pid namespace for network',
    (s) => (s.linux.namespaces[namespaceIndex(s, 'network')].path = '/proc/self/ns/pid'),
    'config.json: /linux/namespaces/1/path: /proc/self/ns/pid is not a namespace of type "network" (it is a pid namespace)',
  );
  rejects(
    t,
    'a regular file',
    (s) => (s.linux.namespaces[namespaceIndex(s, 'ipc')].path = '/etc/hostname'),
    'config.json: /linux/namespaces/2/path: /etc/hostname is not a namespace',
  );
  rejects(
    t,
    'a missing file',
    (s) => (s.linux.namespaces[namespaceIndex(s, 'uts')].path = '/nonexistent/ns'),
    'config.json: /linux/namespaces/3/path: open /nonexistent/ns: no such file or directory',
  );
});

t.test('root is required on Linux (runc: "root must be specified")', async (t) => {
  rejects(t, 'no root', (s) => delete s.root, 'config.json: /root: is required on Linux');
});

t.test('without a mount namespace, every field that needs one is refused, naming it (issue #12)', async (t) => {
  // What is left of the base config once nothing needs a mount.
  const noMounts = (s: any) => {
    withoutNamespace('mount')(s);
    delete s.mounts;
    delete s.root.readonly;
    delete s.linux.maskedPaths;
    delete s.linux.readonlyPaths;
  };
  accepts(t, 'no mount namespace, nothing that needs one', noMounts);
  accepts(t, 'and no linux section at all', (s) => {
    noMounts(s);
    delete s.linux;
    delete s.hostname;
  });
  const refused: [string, string, (s: any) => void][] = [
    ['/mounts', 'mounts', (s) => (s.mounts = [{ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' }])],
    ['/root/readonly', 'a read-only root', (s) => (s.root.readonly = true)],
    ['/linux/rootfsPropagation', 'rootfsPropagation', (s) => (s.linux.rootfsPropagation = 'rshared')],
    ['/linux/devices', 'devices', (s) => (s.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }])],
    ['/linux/maskedPaths', 'masked paths', (s) => (s.linux.maskedPaths = ['/proc/kcore'])],
    ['/linux/readonlyPaths', 'readonly paths', (s) => (s.linux.readonlyPaths = ['/proc/sys'])],
    ['/linux/sysctl', 'sysctls', (s) => (s.linux.sysctl = { 'net.ipv4.ip_forward': '1' })],
    ['/process/terminal', 'a terminal', (s) => (s.process.terminal = true)],
  ];
  for (const [pointer, name, edit] of refused) {
    rejects(t, name, (s) => {
      noMounts(s);
      edit(s);
    }, `config.json: ${pointer}: requires a mount namespace (linux.namespaces has none)`, { ...detached, consoleSocket: '/dev/null' });
  }
});

t.test('user namespaces and ID mappings', async (t) => {
  accepts(t, 'a new user namespace with mappings', userMappings);
  accepts(t, 'a joined user namespace without mappings', (s) => s.linux.namespaces.push({ type: 'user', path: '/proc/self/ns/user' }));
  rejects(t, 'a new user namespace without uidMappings', (s) => {
    userMappings(s);
    delete s.linux.uidMappings;
  }, 'config.json: /linux/uidMappings: required when creating a user namespace');
  rejects(t, 'a new user namespace with empty gidMappings', (s) => {
    userMappings(s);
    s.linux.gidMappings = [];
  }, 'config.json: /linux/gidMappings: required when creating a user namespace');
  rejects(t, 'mappings without a user namespace', (s) => {
    userMappings(s);
    s.linux.namespaces.pop();
  }, 'config.json: /linux/uidMappings: given, but there is no user namespace');
});

t.test('time offsets need a new time namespace', async (t) => {
  const offsets = { monotonic: { secs: 86400, nanosecs: 0 } };
  accepts(t, 'a new time namespace', (s) => {
    s.linux.namespaces.push({ type: 'time' });
    s.linux.timeOffsets = offsets;
  });
  accepts(t, 'an empty timeOffsets object', (s) => (s.linux.timeOffsets = {}));
  rejects(t, 'no time namespace', (s) => (s.linux.timeOffsets = offsets), 'config.json: /linux/timeOffsets: requires a new time namespace');
  rejects(t, 'a joined time namespace', (s) => {
    s.linux.namespaces.push({ type: 'time', path: '/proc/self/ns/time' });
    s.linux.timeOffsets = offsets;
  }, 'config.json: /linux/timeOffsets: requires a new time namespace');
});

t.test('hostname and domainname need a UTS namespace', async (t) => {
  // CRI-O: every container of a pod joins the pod's pinned UTS namespace, with its hostname.
  const other = spawn('unshare', ['--user', '--uts', 'sleep', '60'], { stdio: 'ignore' });
  t.teardown(() => other.kill('SIGKILL'));
  const otherUts = `/proc/${other.pid}/ns/uts`;
  while (readlinkSync(otherUts) === readlinkSync('/proc/self/ns/uts')) await new Promise((r) => setTimeout(r, 10));
  accepts(t, 'a UTS namespace joined by path', (s) => (s.linux.namespaces[namespaceIndex(s, 'uts')].path = otherUts));
  rejects(
    t,
    "the runtime's own UTS namespace",
    (s) => (s.linux.namespaces[namespaceIndex(s, 'uts')].path = '/proc/self/ns/uts'),
    "config.json: /hostname: unable to set the hostname in the runtime's own UTS namespace (linux.namespaces joins it by path)",
  );
  rejects(
    t,
    "a domainname in the runtime's own UTS namespace",
    (s) => {
      s.linux.namespaces[namespaceIndex(s, 'uts')].path = '/proc/self/ns/uts';
      delete s.hostname;
      s.domainname = 'example.org';
    },
    "config.json: /domainname: unable to set the domainname in the runtime's own UTS namespace (linux.namespaces joins it by path)",
  );
  accepts(t, "the runtime's own UTS namespace without a hostname", (s) => {
    s.linux.namespaces[namespaceIndex(s, 'uts')].path = '/proc/self/ns/uts';
    delete s.hostname;
  });
  accepts(t, 'no UTS namespace and no hostname', (s) => {
    withoutNamespace('uts')(s);
    delete s.hostname;
  });
  rejects(t, 'hostname', withoutNamespace('uts'), 'config.json: /hostname: setting the hostname requires a UTS namespace');
  rejects(t, 'domainname', (s) => {
    withoutNamespace('uts')(s);
    delete s.hostname;
    s.domainname = 'example.org';
  }, 'config.json: /domainname: setting the domainname requires a UTS namespace');
});

t.test('sysctls must be namespaced by a namespace the container has', async (t) => {
  const sysctl = (entries: Record<string, string>, edit: (s: any) => void = () => {}) => (s: any) => {
    s.linux.sysctl = entries;
    edit(s);
  };
  accepts(t, 'IPC sysctls with an IPC namespace', sysctl({ 'kernel.shmmax': '1', 'kernel.msgmnb': '1', 'fs.mqueue.msg_max': '10' }));
  accepts(t, 'IPC sysctls with a joined IPC namespace', sysctl({ 'kernel.sem': '1 2 3 4' }, (s) => (s.linux.namespaces[namespaceIndex(s, 'ipc')].path = '/proc/self/ns/ipc')));
  accepts(t, 'net.* with a new network namespace', sysctl({ 'net.ipv4.ip_forward': '1', 'net/ipv4/conf/eth0.100/rp_filter': '1' }));
  accepts(t, 'kernel.domainname with a UTS namespace', sysctl({ 'kernel.domainname': 'example.org' }));
  rejects(t, 'IPC sysctl without an IPC namespace', sysctl({ 'kernel.shmmax': '1' }, withoutNamespace('ipc')), 'config.json: /linux/sysctl/kernel.shmmax: sysctl "kernel.shmmax" requires an IPC namespace');
  rejects(t, 'fs.mqueue.* without an IPC namespace', sysctl({ 'fs.mqueue.msg_max': '1' }, withoutNamespace('ipc')), 'config.json: /linux/sysctl/fs.mqueue.msg_max: sysctl "fs.mqueue.msg_max" requires an IPC namespace');
  rejects(
    t,
    'net.* without a network namespace, "/" separators',
    sysctl({ 'net/ipv4/conf/eth0.100/rp_filter': '1' }, withoutNamespace('network')),
    'config.json: /linux/sysctl/net~1ipv4~1conf~1eth0.100~1rp_filter: sysctl "net.ipv4.conf.eth0/100.rp_filter" is not allowed in the host\'s network namespace',
  );
  rejects(
    t,
    'net.* in the joined host network namespace',
    sysctl({ 'net.ipv4.ip_forward': '1' }, (s) => (s.linux.namespaces[namespaceIndex(s, 'network')].path = '/proc/self/ns/net')),
    'config.json: /linux/sysctl/net.ipv4.ip_forward: sysctl "net.ipv4.ip_forward" is not allowed in the host\'s network namespace',
  );
  rejects(t, 'kernel.hostname', sysctl({ 'kernel.hostname': 'x' }), 'config.json: /linux/sysctl/kernel.hostname: sysctl "kernel.hostname" conflicts with the "hostname" field');
  rejects(
    t,
    'kernel.domainname without a UTS namespace',
    sysctl({ 'kernel.domainname': 'x' }, (s) => {
      withoutNamespace('uts')(s);
      delete s.hostname;
    }),
    'config.json: /linux/sysctl/kernel.domainname: sysctl "kernel.domainname" is not namespaced, so a container may not set it',
  );
  rejects(t, 'a global sysctl', sysctl({ 'vm.swappiness': '10' }), 'config.json: /linux/sysctl/vm.swappiness: sysctl "vm.swappiness" is not namespaced, so a container may not set it');
});

t.test('process', async (t) => {
  accepts(t, 'no process at create (runtime-tools)', (s) => delete s.process);
  rejects(t, 'relative cwd', (s) => (s.process.cwd = 'home'), 'config.json: /process/cwd: must be an absolute path');
  rejects(t, 'empty args', (s) => (s.process.args = []), 'config.json: /process/args: must not be empty');
  rejects(t, 'no args', (s) => delete s.process.args, 'config.json: /process/args: must not be empty');
  for (const program of ['', '.', '..', '/', '/bin/', '/bin/..', 'bin/.']) {
    rejects(t, `args[0] ${JSON.stringify(program)}`, (s) => (s.process.args = [program]), 'config.json: /process/args/0: is no program: an empty path, or one ending in "/", "." or "..", never names a file exec can run');
  }
  accepts(t, 'a program found on PATH, or by a path', (s) => s.process.args.splice(0, 1, '.hidden-tool'));
  accepts(t, 'a program by a relative path', (s) => (s.process.args = ['./run.sh']));
});

t.test('rlimits', async (t) => {
  accepts(t, 'distinct known rlimits, unlimited values', (s) =>
    s.process.rlimits.push({ type: 'RLIMIT_CORE', soft: 18446744073709551615, hard: 18446744073709551615 }, { type: 'RLIMIT_RTTIME', soft: 1, hard: 2 }),
  );
  rejects(t, 'duplicate', (s) => s.process.rlimits.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }), 'config.json: /process/rlimits/1/type: duplicate rlimit type "RLIMIT_NOFILE"');
  rejects(t, 'unknown', (s) => (s.process.rlimits[0].type = 'RLIMIT_FOO'), 'config.json: /process/rlimits/0/type: unknown rlimit "RLIMIT_FOO"');
  rejects(t, 'soft above hard', (s) => (s.process.rlimits[0].soft = 2048), 'config.json: /process/rlimits/0: soft limit 2048 exceeds hard limit 1024');
});

t.test('oomScoreAdj, ioPriority and scheduler values the kernel accepts', async (t) => {
  accepts(t, 'oomScoreAdj at the limits', (s) => (s.process.oomScoreAdj = -1000));
  accepts(t, 'ioPriority 7', (s) => (s.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 7 }));
  accepts(t, 'SCHED_FIFO with a priority', (s) => (s.process.scheduler = { policy: 'SCHED_FIFO', priority: 10, nice: 19 }));
  accepts(t, 'SCHED_DEADLINE parameters', (s) => (s.process.scheduler = { policy: 'SCHED_DEADLINE', runtime: 1e6, deadline: 2e6, period: 3e6 }));
  rejects(t, 'oomScoreAdj 1001', (s) => (s.process.oomScoreAdj = 1001), 'config.json: /process/oomScoreAdj: must be between -1000 and 1000');
  rejects(t, 'ioPriority 8', (s) => (s.process.ioPriority = { class: 'IOPRIO_CLASS_RT', priority: 8 }), 'config.json: /process/ioPriority/priority: must be between 0 and 7');
  rejects(t, 'nice -21', (s) => (s.process.scheduler = { policy: 'SCHED_OTHER', nice: -21 }), 'config.json: /process/scheduler/nice: must be between -20 and 19');
  rejects(
    t,
    'a priority for SCHED_OTHER',
    (s) => (s.process.scheduler = { policy: 'SCHED_OTHER', priority: 1 }),
    'config.json: /process/scheduler/priority: only SCHED_FIFO and SCHED_RR take a priority',
  );
  rejects(
    t,
    'a deadline for SCHED_RR',
    (s) => (s.process.scheduler = { policy: 'SCHED_RR', deadline: 5 }),
    'config.json: /process/scheduler: runtime, deadline and period are only for SCHED_DEADLINE',
  );
});

t.test('terminal and console socket', async (t) => {
  const terminal = (s: any) => (s.process.terminal = true);
  const withSocket: ValidateOptions = { ...detached, consoleSocket: '/run/console.sock' };
  const foreground: ValidateOptions = { file: 'config.json', detached: false };
  accepts(t, 'detached with a terminal and a console socket', terminal, withSocket);
  accepts(t, 'foreground with a terminal', terminal, foreground);
  rejects(t, 'detached with a terminal and no console socket', terminal, 'config.json: /process/terminal: a detached container with a terminal requires --console-socket');
  rejects(t, 'a console socket without a terminal', () => {}, 'config.json: /process/terminal: --console-socket is only used by a detached container with terminal: true', withSocket);
  rejects(
    t,
    'a console socket in the foreground',
    terminal,
    'config.json: /process/terminal: --console-socket is only used by a detached container with terminal: true',
    { ...foreground, consoleSocket: '/run/console.sock' },
  );
});

t.test('hook paths must be absolute', async (t) => {
  accepts(t, 'absolute', (s) => (s.hooks = { createRuntime: [{ path: '/usr/bin/true' }], poststop: [{ path: '/bin/true' }] }));
  rejects(t, 'relative', (s) => (s.hooks = { poststart: [{ path: '/bin/true' }, { path: 'bin/true' }] }), 'config.json: /hooks/poststart/1/path: must be an absolute path');
});

t.test('NUL bytes in strings that reach syscalls are refused, at any depth', async (t) => {
  rejects(t, 'in a mount destination', (s) => (s.mounts[2].destination = '/dev/a\u0000b'), 'config.json: /mounts/2/destination: must not contain a NUL byte');
  rejects(t, 'in an argument', (s) => (s.process.args = ['sh', '\u0000']), 'config.json: /process/args/1: must not contain a NUL byte');
  rejects(t, 'in a sysctl name', (s) => (s.linux.sysctl = { 'net.ipv4.ip_forward\u0000x': '1' }), 'config.json: /linux/sysctl: key "net.ipv4.ip_forward\\u0000x" must not contain a NUL byte');
  rejects(t, 'in cgroupsPath', (s) => (s.linux.cgroupsPath = '/a\u0000'), 'config.json: /linux/cgroupsPath: must not contain a NUL byte');
  accepts(t, 'in an annotation', (s) => (s.annotations = { 'a\u0000': 'b\u0000' }));
  let deep: unknown = 'x';
  for (let i = 0; i < 200_000; i++) deep = [deep];
  accepts(t, 'a deeply nested unknown field', (s) => (s.linux.unknownField = deep));
});

t.test('relative mount destinations are deprecated: warned about and made absolute', async (t) => {
  const raw = config((s) => {
    s.mounts[0].destination = 'proc';
    s.mounts[3].destination = 'dev/../tmp';
  }) as Spec;
  const { spec, warnings } = validateConfig(raw, detached);
  t.same(warnings, [
    'config.json: /mounts/0/destination: relative destination "proc" is deprecated, using "/proc"',
    'config.json: /mounts/3/destination: relative destination "dev/../tmp" is deprecated, using "/tmp"',
  ]);
  t.same(spec.mounts!.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/tmp', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
  t.equal(raw.mounts![0].destination, 'proc', 'the input is not modified');
});

t.test('a mount that is no bind mount must name its filesystem type (mount(2): ENODEV, as in runc)', async (t) => {
  const typeMessage = 'must name the filesystem to mount unless the options make a bind mount (bind or rbind)';
  rejects(t, 'no type', (s) => delete s.mounts[3].type, `config.json: /mounts/3/type: ${typeMessage}`);
  rejects(t, 'an empty type', (s) => (s.mounts[3].type = ''), `config.json: /mounts/3/type: ${typeMessage}`);
  rejects(t, 'type "none"', (s) => (s.mounts[3].type = 'none'), `config.json: /mounts/3/type: ${typeMessage}`);
  accepts(t, 'no type with bind', (s) => s.mounts.push({ destination: '/data', source: '/tmp', options: ['bind'] }));
  accepts(t, 'type "none" with rbind', (s) => s.mounts.push({ destination: '/data', type: 'none', source: '/tmp', options: ['rbind', 'ro'] }));
  accepts(t, 'an empty type with bind', (s) => s.mounts.push({ destination: '/data', type: '', source: '/tmp', options: ['bind'] }));
});

t.test('a mount on the container\'s root: a bound tree covers the rootfs, a kernel filesystem cannot be the root', async (t) => {
  const rootMessage = (type: string) => `is the container's root, which a ${type} filesystem cannot be: the mountpoints and devices that follow are made in it`;
  rejects(t, 'cgroup on ".."', (s) => (s.mounts[6].destination = '..'), `config.json: /mounts/6/destination: ${rootMessage('cgroup')}`);
  rejects(t, 'proc on "/"', (s) => (s.mounts[0].destination = '/'), `config.json: /mounts/0/destination: ${rootMessage('proc')}`);
  rejects(t, 'mqueue on "/dev/.."', (s) => (s.mounts[4].destination = '/dev/..'), `config.json: /mounts/4/destination: ${rootMessage('mqueue')}`);
  rejects(t, 'sysfs on "."', (s) => (s.mounts[5].destination = '.'), `config.json: /mounts/5/destination: ${rootMessage('sysfs')}`);
  accepts(t, 'a bind of another tree on "/"', (s) => s.mounts.unshift({ destination: '/', type: 'bind', source: '/srv/rootfs', options: ['rbind'] }));
  accepts(t, 'a tmpfs on "/" (later mounts may fill it)', (s) => s.mounts.unshift({ destination: '/', type: 'tmpfs', source: 'tmpfs' }));
  accepts(t, 'an overlay on "/"', (s) => s.mounts.unshift({ destination: '/', type: 'overlay', source: 'overlay', options: ['lowerdir=/a,upperdir=/b,workdir=/c'] }));
});

t.test('cgroup settings pass validation (the cgroup manager checks what the host can enforce)', async (t) => {
  accepts(t, 'the deny-all device rule of runc spec', () => {});
  accepts(t, 'cgroupsPath', (s) => (s.linux.cgroupsPath = '/runts/c1'));
  accepts(t, 'a memory limit', (s) => (s.linux.resources.memory = { limit: 1 << 20 }));
  accepts(t, 'a device allow rule', (s) => s.linux.resources.devices.push({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }));
});

t.test('a seccomp profile passes validation (src/seccomp compiles it when planning)', async (t) => {
  accepts(t, 'a seccomp profile', (s) => (s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }));
});
