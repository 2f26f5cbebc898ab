// The D-Bus client the systemd driver uses: marshalling (byte-exact where the spec fixes the
// bytes, round trips for every type the driver sends), message framing, and whole
// conversations with a fake systemd peer, including one with busctl (sd-bus) as the client,
// an independent implementation of the same wire format. No root needed.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { DBusConnection, DBusError, decodeMessage, encodeMessage, marshalBody, MessageType, splitSignature, unmarshalBody, Variant, type DBusValue } from '../../src/cgroups/dbus';
import { SystemdManager } from '../../src/cgroups/systemd';
import { configureLog } from '../../src/log';

const hex = (b: Buffer) => b.toString('hex');

t.test('signatures split into complete types', async (t) => {
  t.same(splitSignature('ssa(sv)a(sa(sv))'), ['s', 's', 'a(sv)', 'a(sa(sv))']);
  t.same(splitSignature('a{sv}uoss'), ['a{sv}', 'u', 'o', 's', 's']);
  t.throws(() => splitSignature('a(sv'), /unclosed/);
  t.throws(() => splitSignature('z'), /unexpected "z"/);
});

t.test('marshalling: the bytes the specification fixes', async (t) => {
  t.equal(hex(marshalBody('yu', [1, 2])), '01000000' + '02000000', 'u is aligned to 4');
  t.equal(hex(marshalBody('s', ['ab'])), '02000000' + '616200', 'string: length, bytes, NUL');
  t.equal(hex(marshalBody('g', ['as'])), '02' + '617300', 'signature: one length byte');
  t.equal(hex(marshalBody('a(yv)', [[]])), '00000000' + '00000000', 'an empty array of structs still pads to 8 after its length');
  t.equal(hex(marshalBody('yt', [1, 2n])), '01' + '00'.repeat(7) + '0200000000000000', 't is aligned to 8');
  t.equal(hex(marshalBody('ab', [[true, false]])), '08000000' + '01000000' + '00000000', 'booleans are 4 bytes; the array length counts bytes');
  t.equal(hex(marshalBody('v', [new Variant('au', [7])])), '02' + '617500' + '04000000' + '07000000', 'variant: signature, then the value aligned as its type');
  t.equal(hex(marshalBody('ay', [[1, 2, 3]])), '03000000' + '010203');
});

t.test('marshalling round trips every type', async (t) => {
  const cases: [string, DBusValue[]][] = [
    ['ynqiuxtdbhsog', [255, -2, 65535, -7, 4294967295, -(2n ** 63n), 2n ** 64n - 1n, 1.5, true, 3, 'héllo', '/org/x', 'a(sv)']],
    ['ssa(sv)a(sa(sv))', ['runts-c1.scope', 'replace', [['Description', new Variant('s', 'x')], ['PIDs', new Variant('au', [42, 43])], ['MemoryMax', new Variant('t', 1n << 40n)], ['Delegate', new Variant('b', true)], ['AllowedCPUs', new Variant('ay', [0x0f, 0x01])]], []]],
    ['a{sv}', [[['a', new Variant('i', 1)], ['b', new Variant('as', ['x', 'y'])]]]],
    ['aay(ya(yt))', [[[1], [], [2, 3]], [9, [[1, 5n], [2, 6n]]]]],
    ['v', [new Variant('v', new Variant('(st)', ['nested', 8n]))]],
  ];
  for (const [sig, values] of cases) t.same(unmarshalBody(sig, marshalBody(sig, values)), values, sig);
});

t.test('marshalling refuses values that do not fit the signature', async (t) => {
  t.throws(() => marshalBody('s', [1]), /cannot marshal 1 as s/);
  t.throws(() => marshalBody('(su)', [['x']]), /as \(su\)/);
  t.throws(() => marshalBody('b', [1]), /as b/);
  t.throws(() => marshalBody('v', [new Variant('ss', 'x')]), /one complete type/);
  t.throws(() => marshalBody('ss', ['x']), /needs 2 values, got 1/);
  t.throws(() => unmarshalBody('s', Buffer.from('05000000616263', 'hex')), /truncated/);
});

t.test('messages: header fields and body survive encoding; partial input waits for more', async (t) => {
  const call = { type: MessageType.MethodCall, flags: 0, serial: 7, path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'StopUnit', destination: 'org.freedesktop.systemd1', signature: 'ss', body: ['a.scope', 'replace'] };
  const bytes = encodeMessage(call);
  t.equal(String.fromCharCode(bytes[0]), 'l', 'little-endian');
  t.equal(bytes[3], 1, 'protocol version 1');
  const two = Buffer.concat([bytes, encodeMessage({ ...call, serial: 8 })]);
  const first = decodeMessage(two);
  t.same(first?.message, call);
  t.equal(first?.length, bytes.length);
  t.equal(decodeMessage(two.subarray(first!.length))?.message.serial, 8, 'the next message starts right after');
  t.equal(decodeMessage(bytes.subarray(0, bytes.length - 1)), undefined, 'incomplete');
  t.equal(decodeMessage(bytes.subarray(0, 10)), undefined, 'not even the fixed header');
  t.throws(() => decodeMessage(Buffer.concat([Buffer.from('B'), bytes.subarray(1)])), /byte order/);
});

/** Starts the fake systemd peer on a socket in a temp dir; resolves once it listens. */
async function fakeSystemd(t: Test): Promise<{ socket: string; calls: () => Promise<Record<string, unknown>[]> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-test-dbus-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const socket = path.join(dir, 'private');
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import=tsx', path.join(__dirname, 'fake-systemd.ts'), socket]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  t.teardown(() => child.kill());
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => out.startsWith('ready\n') && resolve());
    child.on('exit', (code) => reject(new Error(`fake systemd exited ${code}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    socket,
    calls: async () => {
      child.stdin.end();
      await exited;
      return out.split('\n').slice(1).filter(Boolean).map((l) => JSON.parse(l));
    },
  };
}

t.test('a stop job systemd does not report in time is a warning, not a failure (as runc)', async (t) => {
  const fake = await fakeSystemd(t);
  const systemd = SystemdManager.connect(fake.socket, 300);
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'runts-dbus-log-')), 'log');
  t.teardown(() => fs.rmSync(path.dirname(logFile), { recursive: true, force: true }));
  configureLog({ format: 'text', debug: false, file: logFile });
  try {
    systemd.stopUnit('runts-slow.scope');
  } finally {
    configureLog({ format: 'text', debug: false });
    systemd.close();
  }
  t.match(fs.readFileSync(logFile, 'utf8'), /level=warning msg="systemd: stop runts-slow\.scope: no word from systemd that the stop job finished; going on"/);
  t.throws(() => {
    const again = SystemdManager.connect(fake.socket, 300);
    try {
      again.startTransientUnit('runts-slow2.scope', []);
    } finally {
      again.close();
    }
  }, /no answer in time/, 'a start job that never finishes is still an error');
  await fake.calls();
});

t.test('the client against a fake systemd: SASL, calls, skipped signals, JobRemoved, errors', async (t) => {
  const fake = await fakeSystemd(t);
  const systemd = SystemdManager.connect(fake.socket);
  systemd.startTransientUnit('runts-c1.scope', [['PIDs', new Variant('au', [42])]]);
  t.throws(() => systemd.startTransientUnit('runts-fail.scope', []), /start transient unit runts-fail\.scope: job failed/, 'a failed job is an error');
  systemd.setUnitProperties('runts-c1.scope', [['TasksMax', new Variant('t', 5n)]]);
  systemd.stopUnit('runts-missing.scope');
  systemd.stopUnit('runts-c1.scope');
  systemd.close();
  const conn = DBusConnection.connect(fake.socket);
  const refused = (() => {
    try {
      conn.call({ destination: 'org.freedesktop.systemd1', path: '/', interface: 'x.y', member: 'Nope' });
    } catch (err) {
      return err;
    }
  })();
  t.ok(refused instanceof DBusError, 'an error reply throws a DBusError');
  t.match(refused, { errorName: 'org.freedesktop.DBus.Error.UnknownMethod', message: /no method Nope/ });
  conn.close();
  const calls = await fake.calls();
  t.same(
    calls.map((c) => `${c.member} ${(c.body as unknown[])[0] ?? ''}`),
    [
      'StartTransientUnit runts-c1.scope',
      'StartTransientUnit runts-fail.scope',
      'ResetFailedUnit runts-fail.scope',
      'SetUnitProperties runts-c1.scope',
      'StopUnit runts-missing.scope',
      'ResetFailedUnit runts-missing.scope',
      'StopUnit runts-c1.scope',
      'ResetFailedUnit runts-c1.scope',
      'Nope ',
    ],
    'no Hello on the private socket; failed and stopped units are reset',
  );
  t.same(calls[0], {
    member: 'StartTransientUnit',
    path: '/org/freedesktop/systemd1',
    interface: 'org.freedesktop.systemd1.Manager',
    destination: 'org.freedesktop.systemd1',
    signature: 'ssa(sv)a(sa(sv))',
    body: ['runts-c1.scope', 'replace', [['PIDs', { signature: 'au', value: [42] }]], []],
  });
  t.same(calls[3].body, ['runts-c1.scope', true, [['TasksMax', { signature: 't', value: '5n' }]]], 'runtime-only properties');
});

t.test('the first call is answered by a systemd that reads late: AUTH and BEGIN go in one write', async (t) => {
  // systemd 252 left a StopUnit that it read together with a separate BEGIN unparsed until
  // the client gave up (the fake reads as late and as lazily).
  const fake = await fakeSystemd(t);
  const conn = DBusConnection.connect(fake.socket, 2000);
  try {
    t.same(conn.call({ destination: 'org.freedesktop.systemd1', path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'ResetFailedUnit', signature: 's', body: ['x.scope'] }), []);
  } finally {
    conn.close();
  }
  t.same((await fake.calls()).map((c) => c.member), ['ResetFailedUnit']);
});

t.test('no socket: a clear error', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-test-dbus-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.throws(() => SystemdManager.connect(path.join(dir, 'none')), /cannot talk to systemd: connect .*none: No such file or directory/);
});

t.test('interoperates with sd-bus: busctl calls the fake systemd, which decodes it with this codec', async (t) => {
  if (spawnSync('busctl', ['--version']).status !== 0) return t.plan(0, 'busctl (systemd) is not installed');
  const fake = await fakeSystemd(t);
  const busctl = spawnSync(
    'busctl',
    ['--address', `unix:path=${fake.socket}`, 'call', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'StartTransientUnit', 'ssa(sv)a(sa(sv))', 'runts-x.scope', 'replace', '3', 'PIDs', 'au', '2', '42', '43', 'MemoryMax', 't', '1099511627776', 'Delegate', 'b', 'true', '0'],
    { encoding: 'utf8', timeout: 20_000 },
  );
  t.equal(busctl.stdout.trim(), 'o "/org/freedesktop/systemd1/job/1"', `busctl decoded our reply (stderr: ${busctl.stderr.trim()})`);
  const calls = await fake.calls();
  t.equal(calls[0]?.member, 'Hello', 'busctl, a bus client, says Hello first');
  t.same(calls[1]?.body, ['runts-x.scope', 'replace', [['PIDs', { signature: 'au', value: [42, 43] }], ['MemoryMax', { signature: 't', value: '1099511627776n' }], ['Delegate', { signature: 'b', value: true }]], []], 'we decoded sd-bus\'s message');
});
