// The process attributes in the plan: kernel numbers for each name, runc's checks and
// wording for bad values, the cpu-list syntax, which process gets execCPUAffinity, and the
// LSM labels against the host's LSMs.
import t from 'tap';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildExecProcess, buildPlan, PlanError, type PlanInputs } from '../../src/plan/build';
import { MPOL_FLAGS, MPOL_MODES, parseCpuList, planProcessAttrs, SCHED_FLAGS, SCHED_POLICIES, type HostLsm } from '../../src/plan/process-attrs';
import type { RootfsOp } from '../../src/plan/types';
import type { Linux, Process, Spec } from '../../src/spec/types';

const NO_LSM: HostLsm = { apparmor: false, selinux: false };
const BOTH_LSMS: HostLsm = { apparmor: true, selinux: true };
const noLsm = () => NO_LSM;
const process: Process = { cwd: '/', args: ['sh'] };

function attrs(p: Partial<Process>, linux: Linux = {}, lsm = noLsm) {
  return planProcessAttrs({ ...process, ...p }, linux, lsm);
}

t.test('cpu lists: ranges, single numbers, spaces and empty items, as runc reads them', async (t) => {
  t.same(parseCpuList('0-3,7'), [[0, 3], [7, 7]]);
  t.same(parseCpuList(' 1 ,, 2-2 ,'), [[1, 1], [2, 2]]);
  t.equal(parseCpuList(''), null, 'empty: no set');
  t.throws(() => parseCpuList('3-1'), { message: 'invalid range: 3-1' });
  t.throws(() => parseCpuList(','), { message: 'no members found in set ","' });
  t.throws(() => parseCpuList('a'), { message: 'invalid number "a"' });
  t.throws(() => parseCpuList('-1'), { message: 'invalid number ""' });
  t.throws(() => parseCpuList('65537'), { message: 'values larger than 65536 are not supported' });
});

t.test('scheduler: policy and flag numbers of sched_setattr(2), times as decimal strings', async (t) => {
  t.same(SCHED_POLICIES, { SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6 });
  const planned = attrs({
    scheduler: { policy: 'SCHED_DEADLINE', runtime: 1e6, deadline: 2e6, period: 2 ** 60, flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_UTIL_CLAMP_MAX'] },
  });
  t.same(planned.scheduler, { policy: 6, flags: 0x41, nice: 0, priority: 0, runtime: '1000000', deadline: '2000000', period: '1152921504606846976' });
  t.same(attrs({ scheduler: { policy: 'SCHED_RR', priority: 50 } }).scheduler, { policy: 2, flags: 0, nice: 0, priority: 50, runtime: '0', deadline: '0', period: '0' });
  t.same(Object.values(SCHED_FLAGS), [1, 2, 4, 8, 16, 32, 64]);
  t.throws(() => attrs({ scheduler: { policy: 'SCHED_X' as 'SCHED_OTHER' } }), { message: 'invalid scheduler policy: SCHED_X' });
  t.equal(attrs({}).scheduler, null, 'none configured: left alone');
});

t.test('ioPriority: (class << 13) | priority', async (t) => {
  t.equal(attrs({ ioPriority: { class: 'IOPRIO_CLASS_RT', priority: 3 } }).ioPriority, (1 << 13) | 3);
  t.equal(attrs({ ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 7 } }).ioPriority, (2 << 13) | 7);
  t.equal(attrs({ ioPriority: { class: 'IOPRIO_CLASS_IDLE' } }).ioPriority, 3 << 13);
  t.throws(() => attrs({ ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 8 } }), { message: 'invalid ioPriority.Priority: 8' });
  t.throws(() => attrs({ ioPriority: { class: 'IOPRIO_CLASS_NONE' as 'IOPRIO_CLASS_BE' } }), { message: 'invalid ioPriority.Class: "IOPRIO_CLASS_NONE"' });
});

t.test('personality: domain with flags ORed in; unknown names refused', async (t) => {
  t.equal(attrs({}, { personality: { domain: 'LINUX' } }).personality, 0);
  t.equal(attrs({}, { personality: { domain: 'LINUX32', flags: ['ADDR_NO_RANDOMIZE', 'READ_IMPLIES_EXEC'] } }).personality, 0x8 | 0x40000 | 0x400000);
  t.throws(() => attrs({}, { personality: { domain: 'SVR4' as 'LINUX' } }), { message: 'invalid personality domain SVR4' });
  t.throws(() => attrs({}, { personality: { domain: 'LINUX', flags: ['NOPE'] } }), { message: /unknown personality flag "NOPE"/ });
});

t.test('memoryPolicy: mode | flags and node ranges; runc\'s node-count rules and the kernel\'s flag rules', async (t) => {
  t.same(MPOL_MODES, { MPOL_DEFAULT: 0, MPOL_PREFERRED: 1, MPOL_BIND: 2, MPOL_INTERLEAVE: 3, MPOL_LOCAL: 4, MPOL_PREFERRED_MANY: 5, MPOL_WEIGHTED_INTERLEAVE: 6 });
  t.same(MPOL_FLAGS, { MPOL_F_NUMA_BALANCING: 0x2000, MPOL_F_RELATIVE_NODES: 0x4000, MPOL_F_STATIC_NODES: 0x8000 });
  const mp = (memoryPolicy: Linux['memoryPolicy']) => attrs({}, { memoryPolicy }).memoryPolicy;
  t.same(mp({ mode: 'MPOL_BIND', nodes: '0-1,3', flags: ['MPOL_F_STATIC_NODES'] }), { mode: 2 | 0x8000, nodes: [[0, 1], [3, 3]] });
  t.same(mp({ mode: 'MPOL_DEFAULT' }), { mode: 0, nodes: [] });
  t.same(mp({ mode: 'MPOL_PREFERRED' }), { mode: 1, nodes: [] }, 'preferred with no node means local allocation');
  t.same(mp({ mode: 'MPOL_WEIGHTED_INTERLEAVE', nodes: '0' }), { mode: 6, nodes: [[0, 0]] });
  t.throws(() => mp({}), { message: 'invalid memory policy mode ""' });
  t.throws(() => mp({ mode: 'MPOL_LOCAL', nodes: '0-1' }), { message: 'memory policy mode requires 0 nodes but got 2' });
  t.throws(() => mp({ mode: 'MPOL_INTERLEAVE' }), { message: 'memory policy mode requires at least one node but got 0' });
  t.throws(() => mp({ mode: 'MPOL_PREFERRED_MANY', nodes: ' , ' }), { message: 'invalid memory policy nodes " , ": no members found in set " , "' });
  t.throws(() => mp({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_RELATIVE_NODES'] }), { message: /exclude each other/ });
  t.throws(() => mp({ mode: 'MPOL_DEFAULT', flags: ['MPOL_F_RELATIVE_NODES'] }), { message: /MPOL_DEFAULT takes no MPOL_F_STATIC_NODES or MPOL_F_RELATIVE_NODES/ });
});

t.test('execCPUAffinity: exec processes only; bad lists named like runc', async (t) => {
  const spec = {
    ociVersion: '1.3.0',
    root: { path: 'rootfs' },
    process: { ...process, execCPUAffinity: { initial: '0-1', final: '1' } },
    linux: { namespaces: [{ type: 'mount' }] },
  } as Spec;
  const exec = buildExecProcess(spec, spec.process!, 40, NO_LSM).process.attrs.cpuAffinity;
  t.same(exec, { initial: [[0, 1]], final: [[1, 1]] });
  const bundle = mkdtempSync(path.join(tmpdir(), 'runts-attrs-'));
  t.teardown(() => rmSync(bundle, { recursive: true, force: true }));
  mkdirSync(path.join(bundle, 'rootfs'));
  const built = buildPlan(planInputs(bundle, spec));
  t.same(built.plan.process!.attrs.cpuAffinity, { initial: null, final: null }, 'the init: reset, not pinned (runtime-spec: not applicable to init)');
  t.match(built.notes, [/execCPUAffinity applies to exec'd processes only/]);
  t.throws(() => attrs({ execCPUAffinity: { initial: 'x' } }), { message: 'bad CPUAffinity.Initial: invalid number "x"' });
  t.throws(() => attrs({ execCPUAffinity: { final: '2-1' } }), { message: 'bad CPUAffinity.Final: invalid range: 2-1' });
});

function planInputs(bundle: string, spec: Spec, lsm: HostLsm = NO_LSM): PlanInputs {
  return { id: 'c1', bundle, spec, execFifo: '/run/runts/c1/exec.fifo', console: null, noPivot: false, preserveFds: 0, hierarchies: [], lastCap: 40, hasKcore: true, lsm };
}

t.test('LSM labels: applied where the host has the LSM, refused in runc\'s words where not', async (t) => {
  t.same(attrs({ apparmorProfile: 'p', selinuxLabel: 'l' }, {}, () => BOTH_LSMS), expectLabels('p', 'l'));
  t.throws(() => attrs({ apparmorProfile: 'p' }), { message: 'unable to apply apparmor profile "p": apparmor is disabled or not supported on this host' });
  t.throws(() => attrs({ selinuxLabel: 'l' }), { message: 'selinux label is specified in config, but selinux is disabled or not supported' });
  t.throws(() => attrs({ selinuxLabel: 'l' }, {}, () => ({ apparmor: true, selinux: false })), { message: /selinux is disabled/ });
  let asked = 0;
  attrs({}, {}, () => (asked++, NO_LSM));
  t.equal(asked, 0, 'the host is not probed when no label is set');

  const bundle = mkdtempSync(path.join(tmpdir(), 'runts-attrs-'));
  t.teardown(() => rmSync(bundle, { recursive: true, force: true }));
  mkdirSync(path.join(bundle, 'rootfs'));
  const spec = {
    ociVersion: '1.3.0',
    root: { path: 'rootfs' },
    process: { ...process, apparmorProfile: 'p' },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['mode=755'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm' },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue' },
    ],
    linux: { namespaces: [{ type: 'mount' }], mountLabel: 'system_u:object_r:container_file_t:s0' },
  } as Spec;
  t.throws(() => buildPlan(planInputs(bundle, spec)), new PlanError('selinux mount label is specified in config, but selinux is disabled or not supported'));
  const { plan } = buildPlan(planInputs(bundle, spec, BOTH_LSMS));
  const data = plan.rootfsOps.filter((o): o is Extract<RootfsOp, { op: 'mount' }> => o.op === 'mount').map((m) => [m.target, m.data]);
  t.same(
    data,
    [
      ['/proc', ''],
      ['/dev', 'mode=755,context="system_u:object_r:container_file_t:s0"'],
      ['/dev/shm', 'context="system_u:object_r:container_file_t:s0"'],
      ['/dev/mqueue', ''],
    ],
    'context= on tmpfs mounts, as runc formats it; not on proc or mqueue',
  );
  t.equal(plan.maskedDirLabel, 'system_u:object_r:container_file_t:s0', 'and on the tmpfs over masked directories');
  t.equal(buildPlan(planInputs(bundle, { ...spec, linux: { namespaces: [{ type: 'mount' }] } }, BOTH_LSMS)).plan.maskedDirLabel, null);
  t.equal(plan.process!.attrs.apparmorProfile, 'p');
});

function expectLabels(apparmorProfile: string, selinuxLabel: string) {
  return { scheduler: null, ioPriority: null, personality: null, memoryPolicy: null, cpuAffinity: { initial: null, final: null }, apparmorProfile, selinuxLabel };
}
