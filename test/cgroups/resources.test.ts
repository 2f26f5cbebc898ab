// linux.resources → cgroup files, per version, as runc converts them.
import t from 'tap';
import {
  blkioToIoWeight,
  blkioV1,
  cpuMax,
  cpuV1,
  cpuV2,
  hugetlbV1,
  hugetlbV2,
  ioV2,
  memoryV1,
  memoryV2,
  pidsWrites,
  planResourceWrites,
  resourceWarnings,
  sharesToWeight,
  swapMaxV2,
  unifiedWrites,
  type CgroupWrite,
} from '../../src/cgroups/resources';

const pairs = (ws: CgroupWrite[]) => ws.map((w) => [w.file, w.value]);

t.test('cpu shares → cpu.weight as runc converts', async (t) => {
  t.equal(sharesToWeight(0), 0, 'unset stays unset');
  t.equal(sharesToWeight(2), 1);
  t.equal(sharesToWeight(1024), 39);
  t.equal(sharesToWeight(262144), 10000);
  t.equal(blkioToIoWeight(10), 1);
  t.equal(blkioToIoWeight(500), 4950);
  t.equal(blkioToIoWeight(1000), 10000);
});

t.test('cpu.max from quota and period', async (t) => {
  t.equal(cpuMax(undefined, undefined), undefined);
  t.equal(cpuMax(50000, 100000), '50000 100000');
  t.equal(cpuMax(-1, 100000), 'max 100000');
  t.equal(cpuMax(undefined, 250000), 'max 250000');
  t.equal(cpuMax(20000, undefined), '20000');
  t.same(pairs(cpuV2({ shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 1 })), [
    ['cpu.weight', '39'],
    ['cpu.max', '50000 100000'],
    ['cpu.max.burst', '1000'],
    ['cpu.idle', '1'],
  ]);
  t.throws(() => cpuV2({ shares: 1 }), /linux.resources.cpu.shares/);
  t.same(pairs(cpuV1({ shares: 512, quota: -1, period: 100000, realtimePeriod: 1000000, realtimeRuntime: 950000 })), [
    ['cpu.shares', '512'],
    ['cpu.cfs_period_us', '100000'],
    ['cpu.cfs_quota_us', '-1'],
    ['cpu.rt_period_us', '1000000'],
    ['cpu.rt_runtime_us', '950000'],
  ]);
});

t.test('memory.swap.max = swap - limit', async (t) => {
  t.equal(swapMaxV2(undefined, 100), undefined);
  t.equal(swapMaxV2(0, 100), undefined);
  t.equal(swapMaxV2(-1, 100), 'max');
  t.equal(swapMaxV2(300, 100), '200');
  t.equal(swapMaxV2(100, 100), '0');
  t.throws(() => swapMaxV2(50, 100), /must be >= memory limit/);
  t.throws(() => swapMaxV2(300, undefined), /needs a memory limit/);
  t.equal(swapMaxV2(300, -1), '300', 'unlimited memory: swap as it is');
  t.equal(swapMaxV2(undefined, -1), 'max', 'unlimited memory, swap unset: unlimited swap');
  t.same(pairs(memoryV2({ limit: 1 << 20, swap: 3 << 20, reservation: 1 << 19 })), [
    ['memory.swap.max', String(2 << 20)],
    ['memory.max', String(1 << 20)],
    ['memory.low', String(1 << 19)],
  ]);
  t.same(pairs(memoryV2({ limit: -1 })), [
    ['memory.swap.max', 'max'],
    ['memory.max', 'max'],
  ]);
});

t.test('v1 memory files', async (t) => {
  t.same(pairs(memoryV1({ limit: 1 << 20, swap: 2 << 20, reservation: 1 << 19, kernelTCP: 4096, swappiness: 10, disableOOMKiller: true, useHierarchy: true })), [
    ['memory.limit_in_bytes', String(1 << 20)],
    ['memory.memsw.limit_in_bytes', String(2 << 20)],
    ['memory.soft_limit_in_bytes', String(1 << 19)],
    ['memory.kmem.tcp.limit_in_bytes', '4096'],
    ['memory.swappiness', '10'],
    ['memory.oom_control', '1'],
    ['memory.use_hierarchy', '1'],
  ]);
  t.same(pairs(memoryV1({ limit: -1 })), [['memory.limit_in_bytes', '-1'], ['memory.memsw.limit_in_bytes', '-1']], 'unlimited memory lifts memsw too');
  t.throws(() => memoryV1({ swappiness: 101 }), /swappiness/);
  t.same(resourceWarnings({ memory: { kernel: 1 << 20 } }).length, 1, 'kernel memory is a warning, as with runc');
});

t.test('pids: 0 is a real limit, negative is unlimited', async (t) => {
  t.same(pairs(pidsWrites({ limit: 0 })), [['pids.max', '0']]);
  t.same(pairs(pidsWrites({ limit: 20 })), [['pids.max', '20']]);
  t.same(pairs(pidsWrites({ limit: -1 })), [['pids.max', 'max']]);
});

t.test('block IO: v1 blkio files and v2 io.max lines', async (t) => {
  const b = {
    weight: 500,
    weightDevice: [{ major: 8, minor: 0, weight: 300 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
    throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
    throttleWriteBpsDevice: [{ major: 8, minor: 32, rate: 0 }],
  };
  t.same(pairs(blkioV1(b)), [
    ['blkio.weight', '500'],
    ['blkio.weight_device', '8:0 300'],
    ['blkio.throttle.read_bps_device', '8:0 1048576'],
    ['blkio.throttle.write_bps_device', '8:32 0'],
    ['blkio.throttle.write_iops_device', '8:16 100'],
  ]);
  const v2 = ioV2(b);
  t.same(pairs(v2), [
    ['io.bfq.weight', '500'],
    ['io.bfq.weight', '8:0 300'],
    ['io.max', '8:0 rbps=1048576'],
    ['io.max', '8:32 wbps=max'],
    ['io.max', '8:16 wiops=100'],
  ]);
  t.same(v2[0].orElse, { file: 'io.weight', value: 'default 4950' }, 'without BFQ: io.weight, converted');
});

t.test('hugetlb, with the reservation file when the kernel has it', async (t) => {
  const v1 = hugetlbV1([{ pageSize: '2MB', limit: 4194304 }]);
  t.same(pairs(v1), [['hugetlb.2MB.limit_in_bytes', '4194304'], ['hugetlb.2MB.rsvd.limit_in_bytes', '4194304']]);
  t.ok(v1[1].ifExists);
  t.same(pairs(hugetlbV2([{ pageSize: '1GB', limit: 0 }])), [['hugetlb.1GB.max', '0'], ['hugetlb.1GB.rsvd.max', '0']]);
  t.throws(() => hugetlbV2([{ pageSize: '../2MB', limit: 1 }]), /pageSize/);
});

t.test('unified keys are plain file names of a controller', async (t) => {
  t.same(unifiedWrites({ 'memory.high': '1000000', 'pids.max': '5' }).map((g) => [g.controller, pairs(g.writes)]), [
    ['memory', [['memory.high', '1000000']]],
    ['pids', [['pids.max', '5']]],
  ]);
  t.throws(() => unifiedWrites({ '../memory.max': '1' }), /not a cgroup file name/);
  t.throws(() => unifiedWrites({ 'memory/../../x.max': '1' }), /not a cgroup file name/);
  t.throws(() => unifiedWrites({ '..': '1' }), /not a cgroup file name/);
  t.throws(() => unifiedWrites({ 'cgroup.procs': '1' }), /runtime owns/);
});

const HYBRID = { v1: new Set(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'name=systemd']), v2: new Set(['hugetlb']), v2Mounted: true };
const PURE_V2 = { v1: new Set<string>(), v2: new Set(['cpu', 'io', 'memory', 'pids']), v2Mounted: true };

t.test('each controller comes from the hierarchy that has it', async (t) => {
  const r = { memory: { limit: 1 << 20 }, pids: { limit: 5 }, hugepageLimits: [{ pageSize: '2MB', limit: 0 }], cpu: { shares: 1024 } };
  t.same(planResourceWrites(r, HYBRID).map((g) => [g.controller, g.version]), [['memory', 1], ['cpu', 1], ['pids', 1], ['hugetlb', 2]]);
  t.same(planResourceWrites({ memory: { limit: 1 << 20 }, cpu: { shares: 1024 } }, PURE_V2).map((g) => [g.controller, g.version, pairs(g.writes)]), [
    ['memory', 2, [['memory.max', String(1 << 20)]]],
    ['cpu', 2, [['cpu.weight', '39']]],
  ]);
});

t.test('a limit nothing can enforce is an error naming the field', async (t) => {
  t.throws(() => planResourceWrites({ network: { classID: 1 } }, HYBRID), /^linux.resources.network.classID: no cgroup controller/);
  t.throws(() => planResourceWrites({ rdma: { mlx4_0: { hcaHandles: 2 } } }, HYBRID), /^linux.resources.rdma: no cgroup controller/);
  t.throws(() => planResourceWrites({ cpu: { cpus: '0' } }, PURE_V2), /^linux.resources.cpu.cpus: no cgroup controller/);
  t.throws(() => planResourceWrites({ memory: { swappiness: 10 } }, PURE_V2), /^linux.resources.memory.swappiness: not supported by cgroup v2/);
  t.throws(() => planResourceWrites({ memory: { disableOOMKiller: true } }, PURE_V2), /disableOOMKiller/);
  t.throws(() => planResourceWrites({ cpu: { realtimeRuntime: 1000 } }, PURE_V2), /realtimeRuntime: not supported by cgroup v2/);
  t.throws(() => planResourceWrites({ unified: { 'memory.high': '1' } }, HYBRID), /unified.memory.high: cgroup v2 controller memory is not available/);
  t.throws(() => planResourceWrites({ unified: { 'memory.high': '1' } }, { v1: HYBRID.v1, v2: new Set(), v2Mounted: false }), /unified.memory.high/);
  t.same(planResourceWrites({ memory: {}, cpu: {}, devices: [] }, HYBRID), [], 'empty sections need nothing');
  t.same(planResourceWrites({ unified: { 'cgroup.max.depth': '3' } }, HYBRID).map((g) => g.controller), [''], 'core files need no controller');
});
