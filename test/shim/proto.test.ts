// The protobuf codecs of src/shim/proto.ts: byte-exact fixtures written by hand from the field
// numbers of containerd's protos, and round trips.
import t from 'tap';
import { Any, events, metricsV1, RpcRequest, RpcResponse, RuncOptions, task, Timestamp } from '../../src/shim/proto';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

t.test('byte-exact encodings', async (t) => {
  // field 1 varint 1, field 2 varint 5
  t.equal(hex(Timestamp.encode({ seconds: 1n, nanos: 5 })), '08011005');
  // proto3 leaves default values out: execId "" is not written
  t.equal(hex(task.StartRequest.encode({ id: 'c1', execId: '' })), '0a026331');
  // id=1 "c", exec_id=2 "e", signal=3 9, all=4 true
  t.equal(hex(task.KillRequest.encode({ id: 'c', execId: 'e', signal: 9, all: true })), '0a0163' + '120165' + '1809' + '2001');
  // TaskExit: container_id=1, id=2, pid=3 (300 = ac 02), exit_status=4 (137 = 89 01), exited_at=5 {seconds=2}
  t.equal(
    hex(events.TaskExit.encode({ containerId: 'c', id: 'c', pid: 300, exitStatus: 137, exitedAt: { seconds: 2n, nanos: 0 } })),
    '0a0163120163' + '18ac02' + '208901' + '2a020802',
  );
  // map<string,string> annotations=3: one entry message {key=1 "a", value=2 "b"}
  t.equal(hex(task.UpdateTaskRequest.encode({ id: '', annotations: { a: 'b' } })), '1a060a0161120162');
  // repeated uint64 per_cpu=4 is packed: Metrics.cpu=3 { usage=1 { per_cpu=4 [1, 300] } }
  t.equal(hex(metricsV1.encode({ cpu: { usage: { perCpu: [1, 300] } } })), '1a07' + '0a05' + '220301ac02');
  // ttrpc Request: service=1, method=2, payload=3
  t.equal(hex(RpcRequest.encode({ service: 's', method: 'm', payload: Uint8Array.of(1, 2), timeoutNano: 0n, metadata: [] })), '0a0173' + '12016d' + '1a020102');
  // Response with an OK status: status=1 is an empty message, payload=2
  t.equal(hex(RpcResponse.encode({ status: { code: 0, message: '' }, payload: Uint8Array.of(7) })), '0a00' + '120107');
  // Any: type_url=1, value=2
  t.equal(hex(Any.encode({ typeUrl: 'x', value: Uint8Array.of(0xff) })), '0a0178' + '1201ff');
});

t.test('decoding fills proto3 defaults, skips unknown fields, accepts unpacked repeated numbers', async (t) => {
  t.same(task.StateRequest.decode(new Uint8Array(0)), { id: '', execId: '' });
  // field 9 (unknown to StartRequest) as a varint, then id
  t.same(task.StartRequest.decode(Buffer.from('48010a0161', 'hex')), { id: 'a', execId: '' });
  // per_cpu written unpacked: two tag-4 varints
  const cpu = metricsV1.decode(Buffer.from('1a06' + '0a04' + '20012002', 'hex')) as { cpu: { usage: { perCpu: bigint[] } } };
  t.same(cpu.cpu.usage.perCpu, [1n, 2n]);
  // a negative int32 (status codes are int32) takes ten bytes and comes back
  t.equal(RpcResponse.decode(RpcResponse.encode({ status: { code: -1, message: 'x' }, payload: new Uint8Array(0) })).status?.code, -1);
});

t.test('round trips', async (t) => {
  const options = { typeUrl: RuncOptions.typeName, value: RuncOptions.encode({ root: '/r', systemdCgroup: true, ioUid: 1000 }) };
  const create = {
    id: 'c',
    bundle: '/b',
    rootfs: [{ type: 'overlay', source: 'overlay', target: '', options: ['lowerdir=/l', 'upperdir=/u'] }],
    terminal: true,
    stdin: '/fifo/in',
    stdout: 'binary:///bin/log?x=1',
    stderr: 'file:///tmp/e',
    checkpoint: '',
    parentCheckpoint: '',
    options,
  };
  t.same(task.CreateTaskRequest.decode(task.CreateTaskRequest.encode(create)), create);
  const state = {
    id: 'c',
    bundle: '/b',
    pid: 42,
    status: 3,
    stdin: '',
    stdout: '/o',
    stderr: '',
    terminal: false,
    exitStatus: 255,
    exitedAt: { seconds: 1733400000n, nanos: 999999999 },
    execId: 'e',
  };
  t.same(task.StateResponse.decode(task.StateResponse.encode(state)), state);
  const opts = RuncOptions.decode(options.value) as Record<string, unknown>;
  t.equal(opts.root, '/r');
  t.equal(opts.systemdCgroup, true);
  t.equal(opts.ioUid, 1000);
  t.equal(opts.noPivotRoot, false);
  // uint64 past 2^53 survives (memory limits are 2^63 - 4096 on v1)
  const big = 9223372036854771712n;
  const m = metricsV1.decode(metricsV1.encode({ memory: { usage: { limit: big } } })) as { memory: { usage: { limit: bigint } } };
  t.equal(m.memory.usage.limit, big);
});
