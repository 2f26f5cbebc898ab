// update's flags (src/commands/update.ts): byte sizes and per-knob flags as runc reads them.
import t from 'tap';
import { parseBytes, resourcesFromFlags } from '../../src/commands/update';

t.test('update: byte sizes as runc reads them', async (t) => {
  t.equal(parseBytes('memory', '1048576'), 1048576);
  t.equal(parseBytes('memory', '64m'), 64 << 20);
  t.equal(parseBytes('memory', '1G'), 1 << 30);
  t.equal(parseBytes('memory', '512KiB'), 512 << 10);
  t.equal(parseBytes('memory-swap', '-1'), -1);
  t.throws(() => parseBytes('memory', 'lots'), /invalid value for --memory/);
});

t.test('update: per-knob flags → LinuxResources with only what was given', async (t) => {
  t.same(resourcesFromFlags({}), {});
  t.same(resourcesFromFlags({ memory: '32m', memorySwap: '-1', cpuShare: '512', cpuQuota: '-1', cpusetCpus: '0-1', pidsLimit: '0', blkioWeight: '300' }), {
    memory: { limit: 32 << 20, swap: -1 },
    cpu: { shares: 512, quota: -1, cpus: '0-1' },
    pids: { limit: 0 },
    blockIO: { weight: 300 },
  });
  t.throws(() => resourcesFromFlags({ cpuQuota: '1.5' }), /--cpu-quota/);
});
