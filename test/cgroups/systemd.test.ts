// The systemd driver's unit properties (pure conversions, as runc makes them). The driver
// against a real systemd is test/integration/cgroups-systemd.test.ts (in the UML guest).
import t from 'tap';
import { rangeToBits, resourceProperties, scopeProperties, type UnitProperty } from '../../src/cgroups/systemd';

/** Properties as name → [signature, value] for comparison. */
const plain = (props: UnitProperty[]) => Object.fromEntries(props.map(([name, v]) => [name, [v.signature, v.value]]));

t.test('resources → unit properties', async (t) => {
  t.same(
    plain(resourceProperties({ memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20 }, pids: { limit: 30 }, cpu: { shares: 1024, quota: 50000, period: 100000 } })),
    {
      MemoryMax: ['t', 64n << 20n],
      MemoryLow: ['t', 32n << 20n],
      MemorySwapMax: ['t', 32n << 20n],
      CPUWeight: ['t', 39n],
      CPUQuotaPeriodUSec: ['t', 100000n],
      CPUQuotaPerSecUSec: ['t', 500000n],
      TasksMax: ['t', 30n],
    },
  );
  const infinity = 2n ** 64n - 1n;
  t.same(plain(resourceProperties({ memory: { limit: -1 }, pids: { limit: -1 } })), { MemoryMax: ['t', infinity], MemorySwapMax: ['t', infinity], TasksMax: ['t', infinity] }, '-1 is infinity (memory -1 lifts swap too, as runc)');
  t.same(plain(resourceProperties({ pids: { limit: 0 } })), { TasksMax: ['t', 1n] }, 'systemd refuses TasksMax=0: 1');
  t.same(plain(resourceProperties({ cpu: { quota: 33333 } })), { CPUQuotaPerSecUSec: ['t', 340000n] }, 'quota per second rounded up to 10 ms, default period');
  t.same(plain(resourceProperties({ cpu: { period: 50000 } })), { CPUQuotaPeriodUSec: ['t', 50000n], CPUQuotaPerSecUSec: ['t', infinity] }, 'a period alone: no quota');
  t.same(plain(resourceProperties({ cpu: { idle: 1, shares: 512 } })), { CPUWeight: ['t', 0n] }, 'idle is CPUWeight=0 (systemd ≥ 252) and wins over shares');
  t.same(plain(resourceProperties({ cpu: { cpus: '0-2,9', mems: '0' } })), { AllowedCPUs: ['ay', [0x07, 0x02]], AllowedMemoryNodes: ['ay', [0x01]] });
  t.same(resourceProperties({ blockIO: { weight: 100 }, unified: { 'io.weight': '10' }, devices: [{ allow: false }] }), [], 'the rest is cgroupfs only');
  t.same(
    plain(resourceProperties({ unified: { 'memory.high': '1048576', 'memory.swap.max': 'max', 'pids.max': '0', 'cpu.weight': '77', 'cpu.max': 'max 20000', 'cpuset.cpus': '1' } })),
    {
      MemoryHigh: ['t', 1048576n],
      MemorySwapMax: ['t', infinity],
      TasksMax: ['t', 1n],
      CPUWeight: ['t', 77n],
      CPUQuotaPeriodUSec: ['t', 20000n],
      CPUQuotaPerSecUSec: ['t', infinity],
      AllowedCPUs: ['ay', [0x02]],
    },
    'unified values systemd knows become properties too',
  );
  t.same(plain(resourceProperties({ unified: { 'cpu.idle': '1', 'cpu.weight': '50' } })), { CPUWeight: ['t', 0n] }, 'unified cpu.idle 1 wins over cpu.weight');
  t.same(plain(resourceProperties({ unified: { 'cpu.max': '25000' } })), { CPUQuotaPeriodUSec: ['t', 100000n], CPUQuotaPerSecUSec: ['t', 250000n] });
  t.throws(() => resourceProperties({ unified: { 'memory.max': '1g' } }), /linux\.resources\.unified\.memory\.max: invalid value "1g"/);
  t.throws(() => resourceProperties({ unified: { 'cpu.max': '1 2 3' } }), /unified\.cpu\.max: invalid value/);
  t.throws(() => resourceProperties({ memory: { swap: 10 } }), /swap limit needs a memory limit/);
});

t.test('cpuset lists as byte masks', async (t) => {
  t.same(rangeToBits('0', 'f'), [1]);
  t.same(rangeToBits('7-8', 'f'), [0x80, 0x01]);
  t.same(rangeToBits('1,3, 5', 'f'), [0x2a]);
  t.same(rangeToBits('', 'f'), []);
  for (const bad of ['a', '3-1', '1-', '-1', '1,,x']) t.throws(() => rangeToBits(bad, 'linux.resources.cpu.cpus'), /linux\.resources\.cpu\.cpus: invalid list/, bad);
});

t.test('the scope: delegated, in its slice, holding the init', async (t) => {
  t.same(plain(scopeProperties('machine.slice', 'runts container c1', 42)), {
    Description: ['s', 'runts container c1'],
    Slice: ['s', 'machine.slice'],
    Delegate: ['b', true],
    PIDs: ['au', [42]],
    MemoryAccounting: ['b', true],
    CPUAccounting: ['b', true],
    IOAccounting: ['b', true],
    TasksAccounting: ['b', true],
    DefaultDependencies: ['b', false],
  });
});
