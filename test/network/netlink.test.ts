// rtnetlink encoding and decoding, without a socket.
import t from 'tap';
import { decodeAddress, decodeAttrs, decodeMessages, encodeAttrs, encodeMessage, ifinfomsg, NetlinkError } from '../../src/network/netlink';

t.test('attributes are length-prefixed and padded to 4 bytes, and decode back', async (t) => {
  const encoded = encodeAttrs([
    { type: 3, data: Buffer.from('eth0\0') },
    { type: 28, data: Buffer.from([7, 0, 0, 0]) },
  ]);
  t.equal(encoded.length, 12 + 8, 'name: 4 + 5 bytes padded to 12; u32: 8');
  t.equal(encoded.readUInt16LE(0), 9, 'rta_len counts the header and the unpadded data');
  t.equal(encoded.readUInt16LE(2), 3);
  t.same(
    decodeAttrs(encoded).map((a) => [a.type, [...a.data]]),
    [
      [3, [...Buffer.from('eth0\0')]],
      [28, [7, 0, 0, 0]],
    ],
  );
  t.same(decodeAttrs(Buffer.from([200, 0, 1, 0])), [], 'a length past the end stops decoding');
});

t.test('messages carry length, type, flags and sequence; several decode from one datagram', async (t) => {
  const one = encodeMessage(16, 0x5, 7, ifinfomsg(6, 1, 1));
  t.equal(one.readUInt32LE(0), 32, 'nlmsg_len: 16-byte header + 16-byte ifinfomsg');
  t.equal(one.readUInt16LE(4), 16);
  t.equal(one.readUInt16LE(6), 0x5);
  t.equal(one.readUInt32LE(8), 7);
  t.equal(one.readInt32LE(16 + 4), 6, 'ifi_index');
  t.equal(one.readUInt32LE(16 + 8), 1, 'ifi_flags');
  t.equal(one.readUInt32LE(16 + 12), 1, 'ifi_change');
  const two = encodeMessage(3, 0, 8, Buffer.alloc(4));
  const decoded = decodeMessages(Buffer.concat([one, two]));
  t.same(
    decoded.map((d) => [d.seq, d.msg.type, d.msg.body.length]),
    [
      [7, 16, 16],
      [8, 3, 4],
    ],
  );
});

t.test('an address reply: the 32-bit IFA_FLAGS wins over ifa_flags; only address attributes are kept', async (t) => {
  const head = Buffer.from([2, 32, 0x80, 0, 6, 0, 0, 0]);
  const attrs = encodeAttrs([
    { type: 1, data: Buffer.from([169, 254, 169, 77]) },
    { type: 2, data: Buffer.from([169, 254, 169, 77]) },
    { type: 3, data: Buffer.from('eth0\0') },
    { type: 8, data: Buffer.from([0x80, 0x02, 0, 0]) },
  ]);
  const addr = decodeAddress(Buffer.concat([head, attrs]));
  t.match(addr, { family: 2, prefixLength: 32, flags: 0x280, scope: 0, index: 6 });
  t.same(
    addr.attrs.map((a) => a.type),
    [1, 2],
    'IFA_ADDRESS and IFA_LOCAL; not the label or flags',
  );
});

t.test('a refused request names the request, errno text and code', async (t) => {
  const err = new NetlinkError('RTM_GETLINK eth9', 19);
  t.equal(err.message, 'RTM_GETLINK eth9: no such device (ENODEV)');
  t.equal(err.code, 'ENODEV');
});
