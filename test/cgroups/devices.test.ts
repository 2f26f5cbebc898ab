// Device cgroup rules: the container's, then runc's defaults, then its linux.devices.
import t from 'tap';
import { deviceRuleLine, deviceRulesV1, effectiveDeviceRules } from '../../src/cgroups/devices';

t.test('v1 lines', async (t) => {
  t.equal(deviceRuleLine({ allow: false, access: 'rwm' }, 0), 'a');
  t.equal(deviceRuleLine({ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }, 0), 'c 1:3 rw');
  t.equal(deviceRuleLine({ allow: true, type: 'b', major: -1, access: 'm' }, 0), 'b *:* m');
  t.throws(() => deviceRuleLine({ allow: true, type: 'x' }, 2), /devices\[2\].type/);
  t.throws(() => deviceRuleLine({ allow: true, type: 'c', access: 'x' }, 0), /devices\[0\]\.access: invalid access "x" \(none of r, w, m\)/);
});

t.test('access letters besides rwm are ignored, as runc does (issue #12: "rwa")', async (t) => {
  t.equal(deviceRuleLine({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwa' }, 0), 'c 1:3 rw');
  t.equal(deviceRuleLine({ allow: true, type: 'c', major: 1, minor: 3, access: 'mwrr' }, 0), 'c 1:3 rwm', 'rwm order, once each');
  t.equal(deviceRuleLine({ allow: true, type: 'c', major: 1, minor: 3 }, 0), 'c 1:3 rwm', 'absent: all three');
});

t.test('order: the config\'s rules first (deny-all), then defaults, then linux.devices', async (t) => {
  const rules = effectiveDeviceRules([{ allow: false, access: 'rwm' }], [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }]);
  const lines = deviceRulesV1(rules).map((w) => `${w.file} ${w.value}`);
  t.equal(lines[0], 'devices.deny a');
  t.ok(lines.includes('devices.allow c 1:3 rwm'), '/dev/null allowed');
  t.ok(lines.includes('devices.allow c 136:* rwm'), 'ptys allowed');
  t.equal(lines[lines.length - 1], 'devices.allow c 10:229 rwm', 'linux.devices allowed last');
});
