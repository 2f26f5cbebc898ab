// ttrpc framing, server and client (src/shim/ttrpc.ts), over a real unix socket; no root needed.
import * as net from 'node:net';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { RpcRequest, RpcResponse } from '../../src/shim/proto';
import { Code, frame, FrameReader, MAX_MESSAGE_LENGTH, TtrpcClient, TtrpcError, type Handler } from '../../src/shim/ttrpc';
import { tempDir } from '../lib';
import { serveTtrpc } from './serve';

t.test('frame: big-endian length and stream id, type, flags, payload', async (t) => {
  t.equal(frame(1, 1, Uint8Array.of(0xaa)).toString('hex'), '00000001' + '00000001' + '01' + '00' + 'aa');
  t.equal(frame(0x01020304, 2, new Uint8Array(0), 4).toString('hex'), '00000000' + '01020304' + '02' + '04');
});

t.test('FrameReader: messages split and joined across chunks; oversized ones skipped unbuffered', async (t) => {
  const r = new FrameReader();
  const a = frame(1, 1, Buffer.from('hello'));
  const b = frame(3, 1, Buffer.from('world!'));
  const both = Buffer.concat([a, b]);
  t.same(r.push(both.subarray(0, 4)), []);
  const first = r.push(both.subarray(4, a.length + 3));
  t.equal(first.length, 1);
  t.equal(first[0].payload?.toString(), 'hello');
  const second = r.push(both.subarray(a.length + 3));
  t.equal(second[0].streamId, 3);
  t.equal(second[0].payload?.toString(), 'world!');
  // a header announcing more than 4 MiB, then 3 of its bytes, the rest later, then a normal message
  const header = Buffer.alloc(10);
  header.writeUInt32BE(MAX_MESSAGE_LENGTH + 1, 0);
  header.writeUInt32BE(5, 4);
  header.writeUInt8(1, 8);
  const big = r.push(Buffer.concat([header, Buffer.alloc(3)]));
  t.same(big.map((m) => [m.streamId, m.payload, m.length]), [[5, undefined, MAX_MESSAGE_LENGTH + 1]]);
  t.same(r.push(Buffer.alloc(MAX_MESSAGE_LENGTH - 2)), []);
  t.equal(r.push(frame(7, 1, Buffer.from('x')))[0].payload?.toString(), 'x');
});

const serve = (t: Test, services: Record<string, Record<string, Handler>>) =>
  serveTtrpc(t, { services: new Map(Object.entries(services).map(([name, methods]) => [name, new Map(Object.entries(methods))])) });

/** Sends raw frames and collects the responses' (stream id, status code, message). */
async function raw(socket: string, frames: Buffer[], expect: number): Promise<[number, number, string][]> {
  const conn = net.createConnection(socket);
  const reader = new FrameReader();
  const out: [number, number, string][] = [];
  return new Promise((resolve, reject) => {
    conn.on('error', reject);
    conn.on('data', (chunk: Buffer) => {
      for (const m of reader.push(chunk)) {
        const response = RpcResponse.decode(m.payload!);
        out.push([m.streamId, response.status?.code ?? 0, response.status?.message ?? '']);
      }
      if (out.length >= expect) {
        conn.destroy();
        resolve(out);
      }
    });
    for (const f of frames) conn.write(f);
  });
}

const echo: Handler = async (p) => p;

t.test('server: concurrent calls on one connection, errors as statuses', async (t) => {
  let release: () => void = () => {};
  const socket = await serve(t, {
    svc: {
      Echo: echo,
      Block: () => new Promise((resolve) => (release = () => resolve(Buffer.from('late')))),
      Fail: async () => {
        throw new TtrpcError(Code.InvalidArgument, 'bad field x');
      },
      Crash: async () => {
        throw new Error('boom');
      },
    },
  });
  const client = await TtrpcClient.connect(`unix://${socket}`);
  t.teardown(() => client.close());
  const blocked = client.call('svc', 'Block', new Uint8Array(0));
  // answered while Block is still pending: requests are served concurrently
  t.equal(Buffer.from(await client.call('svc', 'Echo', Buffer.from('hi'))).toString(), 'hi');
  release();
  t.equal(Buffer.from(await blocked).toString(), 'late');
  await t.rejects(client.call('svc', 'Fail', new Uint8Array(0)), { code: Code.InvalidArgument, message: 'bad field x' });
  await t.rejects(client.call('svc', 'Crash', new Uint8Array(0)), { code: Code.Internal, message: 'boom' });
  await t.rejects(client.call('svc', 'Nope', new Uint8Array(0)), { code: Code.Unimplemented, message: 'method Nope' });
  await t.rejects(client.call('other', 'Echo', new Uint8Array(0)), { code: Code.Unimplemented, message: 'service other' });
});

t.test('server: even stream ids, oversized and undecodable requests answered, the connection lives on', async (t) => {
  const socket = await serve(t, { svc: { Echo: echo } });
  const request = RpcRequest.encode({ service: 'svc', method: 'Echo', payload: new Uint8Array(0), timeoutNano: 0n, metadata: [] });
  const header = Buffer.alloc(10);
  header.writeUInt32BE(MAX_MESSAGE_LENGTH + 1, 0);
  header.writeUInt32BE(3, 4);
  header.writeUInt8(1, 8);
  const replies = await raw(
    socket,
    [frame(2, 1, request), header, Buffer.alloc(MAX_MESSAGE_LENGTH + 1), frame(5, 1, Buffer.from([0x0a, 0x05])), frame(9, 2, request), frame(7, 1, request)],
    4,
  );
  t.same(replies, [
    [2, Code.InvalidArgument, 'StreamID must be odd for client initiated streams'],
    [3, Code.ResourceExhausted, `message length ${MAX_MESSAGE_LENGTH + 1} exceed maximum message size of ${MAX_MESSAGE_LENGTH}`],
    [5, Code.InvalidArgument, replies[2]?.[2]],
    // stream 9 was a response-type message: ignored, no reply
    [7, Code.OK, ''],
  ]);
  t.match(replies[2][2], /^unmarshal request error: /);
});

t.test('client: a dead peer fails the pending calls', async (t) => {
  const socket = path.join(tempDir(t, 'ttrpc'), 's');
  const listener = net.createServer((conn) => conn.on('data', () => conn.destroy()));
  await new Promise<void>((resolve) => listener.listen(socket, resolve));
  t.teardown(() => listener.close());
  const client = await TtrpcClient.connect(socket);
  await t.rejects(client.call('svc', 'Echo', new Uint8Array(0)), /connection closed|ECONNRESET/);
  t.ok(client.closed);
  await t.rejects(TtrpcClient.connect(path.join(path.dirname(socket), 'absent')), /connecting to .*absent: .*ENOENT/);
});
