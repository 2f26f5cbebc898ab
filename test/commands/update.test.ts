// The pure parts of the cgroup-driven commands: flag values, ps filtering, resource merging.
import t from 'tap';
import { filterPsOutput } from '../../src/commands/ps';
import { parseBytes, resourcesFromFlags } from '../../src/commands/update';
import { parseDuration } from '../../src/commands/events';
import { mergeResources } from '../../src/container/control';

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

t.test('update: a patch merges field by field over the recorded resources', async (t) => {
  t.same(mergeResources({ memory: { limit: 1, swap: 2 }, pids: { limit: 5 } }, { memory: { limit: 3 } }), { memory: { limit: 3, swap: 2 }, pids: { limit: 5 } });
  t.same(mergeResources({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, { hugepageLimits: [] }), { hugepageLimits: [] }, 'lists are replaced');
});

t.test('events: Go durations', async (t) => {
  t.equal(parseDuration('5s'), 5000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('1m30s'), 90000);
  t.throws(() => parseDuration('5'), /invalid duration/);
  t.throws(() => parseDuration('5s junk'), /invalid duration/);
});

t.test('ps: keep the header and the container\'s PIDs only', async (t) => {
  const out = ['UID        PID  PPID  C STIME TTY          TIME CMD', 'root         1     0  0 07:00 ?        00:00:01 /sbin/init', 'root       812     1  0 07:01 ?        00:00:00 sleep 100', ''].join('\n');
  t.equal(filterPsOutput(out, [812]), 'UID        PID  PPID  C STIME TTY          TIME CMD\nroot       812     1  0 07:01 ?        00:00:00 sleep 100\n');
  t.throws(() => filterPsOutput('USER COMMAND\nroot init\n', [1]), /couldn't find PID field/);
});
