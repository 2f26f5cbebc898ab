// linux.netDevices checks and address selection, without root.
import t from 'tap';
import { addressesToKeep, planNetDevices, validInterfaceName } from '../../src/network/devices';
import type { InterfaceAddress } from '../../src/network/netlink';
import type { Spec } from '../../src/spec/types';

const spec = (linux: Spec['linux']): Spec => ({ ociVersion: '1.3.0', linux });
const withNetns = (netDevices: Record<string, { name?: string }>, path?: string): Spec =>
  spec({ namespaces: [{ type: 'mount' }, path ? { type: 'network', path } : { type: 'network' }], netDevices });

t.test('interface names follow the kernel: 1-15 bytes, not . or .., no / : or space', async (t) => {
  for (const good of ['eth0', 'a', 'x'.repeat(15), 'ctr%d', 'é1']) t.ok(validInterfaceName(good), good);
  for (const bad of ['', 'x'.repeat(16), '.', '..', 'a/b', 'a:b', 'a b', 'a\tb', 'éééééééé']) t.notOk(validInterfaceName(bad), JSON.stringify(bad));
});

t.test('planNetDevices: the moves, renamed or not', async (t) => {
  t.same(planNetDevices(spec({ namespaces: [{ type: 'mount' }] }), 'config.json'), [], 'none asked: no network namespace needed');
  t.same(planNetDevices(withNetns({ eth1: {}, eth2: { name: 'ctr0' }, eth3: { name: '' } }), 'config.json'), [
    { hostName: 'eth1', containerName: 'eth1' },
    { hostName: 'eth2', containerName: 'ctr0' },
    { hostName: 'eth3', containerName: 'eth3' },
  ]);
});

t.test('planNetDevices refuses what runc refuses, naming the field', async (t) => {
  t.throws(() => planNetDevices(spec({ namespaces: [{ type: 'mount' }], netDevices: { eth1: {} } }), 'config.json'), {
    name: 'SpecError',
    message: 'config.json: /linux/netDevices: unable to move network devices without a NET namespace',
  });
  t.throws(() => planNetDevices(withNetns({ 'a/b': {} }), 'config.json'), { message: 'config.json: /linux/netDevices/a~1b: invalid network device name "a/b"' });
  t.throws(() => planNetDevices(withNetns({ eth1: { name: 'x'.repeat(16) } }), 'config.json'), {
    message: `config.json: /linux/netDevices/eth1/name: invalid network device name "${'x'.repeat(16)}"`,
  });
});

t.test("planNetDevices refuses the runtime's own network namespace joined by path", async (t) => {
  t.throws(() => planNetDevices(withNetns({ eth1: {} }, '/proc/self/ns/net'), 'config.json'), {
    message: "config.json: /linux/namespaces/1/path: unable to move network devices into the runtime's own network namespace",
  });
  // Another namespace file (here our pid namespace stands in for "not our netns").
  t.same(planNetDevices(withNetns({ eth1: {} }, '/proc/self/ns/pid'), 'config.json'), [{ hostName: 'eth1', containerName: 'eth1' }]);
});

t.test('addresses that move: permanent and of global scope only', async (t) => {
  const addr = (flags: number, scope: number): InterfaceAddress => ({ family: 2, prefixLength: 24, flags, scope, index: 3, attrs: [] });
  const kept = addressesToKeep([addr(0x80, 0), addr(0x80, 254), addr(0x80, 253), addr(0, 0), addr(0xc0, 0)]);
  t.same(
    kept.map((a) => [a.flags, a.scope]),
    [
      [0x80, 0],
      [0xc0, 0],
    ],
  );
});
