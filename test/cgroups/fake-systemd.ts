// A stand-in for systemd's D-Bus manager on a unix socket, for test/cgroups/dbus.test.ts: it
// speaks the server side of SASL (EXTERNAL, with or without an initial response, and fd
// negotiation, as sd-bus clients such as busctl send it), answers Hello as a bus would, and
// answers StartTransientUnit / StopUnit with a job path followed by that job's JobRemoved
// signal (none for units whose name contains "slow"), SetUnitProperties with an empty reply and anything else with an error.
// It reads as late and as lazily as a busy systemd 252: nothing for a while after its OK, and
// what arrives in the same read as BEGIN is parsed only once more data comes.
// Run as `node --import=tsx fake-systemd.ts SOCKET`: prints "ready", then one JSON line per
// method call it received ({member, signature, body}), and exits when its stdin closes.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { decodeMessage, encodeMessage, MessageType, Variant, type DBusValue, type Message } from '../../src/cgroups/dbus';

const GUID = '0123456789abcdef0123456789abcdef';
/** The job result this fake reports for units whose name contains "fail". */
const FAILED = 'failed';

/** JSON for received bodies: variants as {signature, value}, bigints as strings. */
function plain(v: DBusValue): unknown {
  if (v instanceof Variant) return { signature: v.signature, value: plain(v.value) };
  if (Array.isArray(v)) return v.map(plain);
  return typeof v === 'bigint' ? `${v}n` : v;
}

function serve(socket: net.Socket): void {
  let buf = Buffer.alloc(0);
  let authenticated = false;
  let serial = 1000;
  let jobs = 0;
  const send = (m: Omit<Message, 'serial' | 'flags'>) => socket.write(encodeMessage({ ...m, flags: 1, serial: ++serial }));
  const reply = (to: Message, signature: string, body: DBusValue[]) => send({ type: MessageType.MethodReturn, replySerial: to.serial, signature, body });
  const handle = (m: Message) => {
    process.stdout.write(`${JSON.stringify({ member: m.member, path: m.path, interface: m.interface, destination: m.destination, signature: m.signature, body: plain(m.body) })}\n`);
    switch (m.member) {
      case 'Hello':
        return reply(m, 's', [':1.42']);
      case 'StartTransientUnit':
      case 'StopUnit': {
        const unit = String(m.body[0]);
        const job = `/org/freedesktop/systemd1/job/${++jobs}`;
        if (unit.includes('missing') && m.member === 'StopUnit') {
          return send({ type: MessageType.Error, replySerial: m.serial, errorName: 'org.freedesktop.systemd1.NoSuchUnit', signature: 's', body: [`Unit ${unit} not loaded.`] });
        }
        // An unrelated signal first: the client must skip it.
        send({ type: MessageType.Signal, path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'UnitNew', signature: 'so', body: ['other.service', '/x'] });
        reply(m, 'o', [job]);
        // A systemd too busy to finish the job in the client's time.
        if (unit.includes('slow')) return;
        return send({
          type: MessageType.Signal,
          path: '/org/freedesktop/systemd1',
          interface: 'org.freedesktop.systemd1.Manager',
          member: 'JobRemoved',
          signature: 'uoss',
          body: [jobs, job, unit, unit.includes('fail') ? FAILED : 'done'],
        });
      }
      case 'SetUnitProperties':
      case 'ResetFailedUnit':
        return reply(m, '', []);
      default:
        return send({ type: MessageType.Error, replySerial: m.serial, errorName: 'org.freedesktop.DBus.Error.UnknownMethod', signature: 's', body: [`no method ${m.member}`] });
    }
  };
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (!authenticated) {
      while (!authenticated) {
        if (buf[0] === 0) buf = buf.subarray(1);
        const end = buf.indexOf('\r\n');
        if (end < 0) return;
        const line = buf.toString('utf8', 0, end);
        buf = buf.subarray(end + 2);
        if (line === 'AUTH EXTERNAL') socket.write('DATA\r\n');
        else if (line.startsWith('AUTH EXTERNAL ') || line === 'DATA') {
          socket.write(`OK ${GUID}\r\n`);
          socket.pause();
          setTimeout(() => socket.resume(), 50);
        } else if (line === 'NEGOTIATE_UNIX_FD') socket.write('AGREE_UNIX_FD\r\n');
        else if (line === 'BEGIN') authenticated = true;
        else socket.write('ERROR\r\n');
      }
      // As sd-bus: whatever came in the same read as BEGIN waits for the next data.
      return;
    }
    for (let decoded = decodeMessage(buf); decoded; decoded = decodeMessage(buf)) {
      buf = buf.subarray(decoded.length);
      handle(decoded.message);
    }
  });
}

const socketPath = process.argv[2];
const server = net.createServer(serve);
server.listen(socketPath, () => process.stdout.write('ready\n'));
process.stdin.on('end', () => {
  server.close();
  fs.rmSync(socketPath, { force: true });
  process.exit(0);
});
process.stdin.resume();
