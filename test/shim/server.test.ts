// The task service's dispatch (src/shim/server.ts) over real ttrpc with a fake TaskService, and
// the event publisher against a fake containerd events service; no root needed.
import t, { type Test } from 'tap';
import { Any, events, ForwardRequest, metricsV1, metricsV2, ProcessDetails, RuncOptions, task, Timestamp, type MessageType } from '../../src/shim/proto';
import { EVENTS_SERVICE, EventPublisher, SPEC_LINUX_RESOURCES_URL, SPEC_PROCESS_URL, statusOf, TASK_SERVICE, taskHandlers } from '../../src/shim/server';
import { ShimError, ShimErrorCode, TaskStatus, type TaskEvent, type TaskService } from '../../src/shim/task-service';
import { Code, TtrpcClient, type Handler } from '../../src/shim/ttrpc';
import { serveTtrpc } from './serve';

const exitedAt = { seconds: 1733400000n, nanos: 5 };

/** A TaskService recording its calls; `fail` makes a method throw. */
function fakeTasks() {
  const calls: [string, unknown][] = [];
  const fail: Record<string, Error> = {};
  let empty = false;
  const rec =
    <R>(name: string, result: R) =>
    async (req: unknown): Promise<R> => {
      calls.push([name, req]);
      if (fail[name]) throw fail[name];
      return result;
    };
  const tasks: TaskService = {
    create: rec('create', { pid: 42 }),
    start: rec('start', { pid: 42 }),
    state: rec('state', { id: 'c', bundle: '/b', pid: 42, status: TaskStatus.Stopped, stdin: '', stdout: '/o', stderr: '', terminal: false, exitStatus: 3, exitedAt, execId: '' }),
    wait: rec('wait', { pid: 42, exitStatus: 3, exitedAt }),
    kill: rec('kill', undefined),
    exec: rec('exec', undefined),
    resizePty: rec('resizePty', undefined),
    closeIO: rec('closeIO', undefined),
    pids: rec('pids', [{ pid: 42 }, { pid: 43, execId: 'e1' }]),
    pause: rec('pause', undefined),
    resume: rec('resume', undefined),
    update: rec('update', undefined),
    stats: rec('stats', { cgroupVersion: 1 as const, data: { pids: { current: 2 } } }),
    delete: rec('delete', { pid: 42, exitStatus: 3, exitedAt }),
    connect: rec('connect', { taskPid: 42 }),
    isEmpty: () => empty,
    onEvent: () => {},
  };
  return { tasks, calls, fail, setEmpty: (v: boolean) => (empty = v) };
}

const serveOn = (t: Test, services: Map<string, Map<string, Handler>>) =>
  serveTtrpc(t, { services, mapError: (err, _s, method) => statusOf(err, () => {}, method) });

async function setup(t: Test) {
  const fake = fakeTasks();
  let shutdowns = 0;
  const socket = await serveOn(t, new Map([[TASK_SERVICE, taskHandlers({ tasks: fake.tasks, shutdown: () => shutdowns++, log: () => {} })]]));
  const client = await TtrpcClient.connect(socket);
  t.teardown(() => client.close());
  const call = async <Req extends object, Res extends object>(method: string, req: MessageType<Req>, value: Req, res: MessageType<Res>) =>
    res.decode(await client.call(TASK_SERVICE, method, req.encode(value)));
  return { ...fake, client, call, shutdowns: () => shutdowns };
}

const json = (typeUrl: string, value: unknown) => ({ typeUrl, value: Buffer.from(JSON.stringify(value)) });
const Empty = task.ExecProcessResponse;

t.test('every method reaches the TaskService with its request decoded, Anys included', async (t) => {
  const s = await setup(t);
  const options = { typeUrl: 'containerd.runc.v1.Options', value: RuncOptions.encode({ root: '/run/x', systemdCgroup: true, ioUid: 7, ioGid: 8, shimCgroup: '/s' }) };
  const created = await s.call('Create', task.CreateTaskRequest, { id: 'c', bundle: '/b', rootfs: [{ type: 'bind', source: '/s', target: '', options: ['rbind'] }], terminal: false, stdin: '', stdout: '/o', stderr: '/e', options }, task.CreateTaskResponse);
  t.same(created, { pid: 42 });
  t.same(s.calls.pop(), [
    'create',
    {
      id: 'c',
      bundle: '/b',
      rootfs: [{ type: 'bind', source: '/s', target: '', options: ['rbind'] }],
      terminal: false,
      stdin: '',
      stdout: '/o',
      stderr: '/e',
      checkpoint: '',
      options: { noPivotRoot: false, noNewKeyring: false, systemdCgroup: true, root: '/run/x', ioUid: 7, ioGid: 8, shimCgroup: '/s' },
    },
  ]);
  t.same(await s.call('Start', task.StartRequest, { id: 'c', execId: 'e' }, task.StartResponse), { pid: 42 });
  t.same(s.calls.pop(), ['start', { id: 'c', execId: 'e' }]);
  t.same(await s.call('State', task.StateRequest, { id: 'c' }, task.StateResponse), {
    id: 'c', bundle: '/b', pid: 42, status: TaskStatus.Stopped, stdin: '', stdout: '/o', stderr: '', terminal: false, exitStatus: 3, exitedAt, execId: '',
  });
  t.same(await s.call('Wait', task.WaitRequest, { id: 'c' }, task.WaitResponse), { exitStatus: 3, exitedAt });
  t.same(await s.call('Delete', task.DeleteRequest, { id: 'c' }, task.DeleteResponse), { pid: 42, exitStatus: 3, exitedAt });
  await s.call('Kill', task.KillRequest, { id: 'c', signal: 9, all: true }, Empty);
  t.same(s.calls.at(-1), ['kill', { id: 'c', execId: '', signal: 9, all: true }]);
  await s.call('Exec', task.ExecProcessRequest, { id: 'c', execId: 'e', terminal: true, stdout: '/o', spec: json(SPEC_PROCESS_URL, { args: ['sh'], cwd: '/' }) }, Empty);
  t.same(s.calls.at(-1), ['exec', { id: 'c', execId: 'e', terminal: true, stdin: '', stdout: '/o', stderr: '', spec: { args: ['sh'], cwd: '/' } }]);
  await s.call('ResizePty', task.ResizePtyRequest, { id: 'c', width: 80, height: 24 }, Empty);
  t.same(s.calls.at(-1), ['resizePty', { id: 'c', execId: '', width: 80, height: 24 }]);
  await s.call('CloseIO', task.CloseIORequest, { id: 'c', stdin: true }, Empty);
  t.same(s.calls.at(-1), ['closeIO', { id: 'c', execId: '', stdin: true }]);
  const pids = (await s.call('Pids', task.PidsRequest, { id: 'c' }, task.PidsResponse)) as { processes: { pid: number; info?: Any }[] };
  t.equal(pids.processes[0].pid, 42);
  t.equal(pids.processes[0].info, undefined);
  t.equal(pids.processes[1].info?.typeUrl, 'containerd.runc.v1.ProcessDetails');
  t.same(ProcessDetails.decode(pids.processes[1].info!.value), { execId: 'e1' });
  await s.call('Pause', task.PauseRequest, { id: 'c' }, Empty);
  await s.call('Resume', task.ResumeRequest, { id: 'c' }, Empty);
  t.same(s.calls.slice(-2), [['pause', { id: 'c' }], ['resume', { id: 'c' }]]);
  await s.call('Update', task.UpdateTaskRequest, { id: 'c', resources: json(SPEC_LINUX_RESOURCES_URL, { pids: { limit: 5 } }), annotations: { a: 'b' } }, Empty);
  t.same(s.calls.at(-1), ['update', { id: 'c', resources: { pids: { limit: 5 } }, annotations: { a: 'b' } }]);
  const stats = (await s.call('Stats', task.StatsRequest, { id: 'c' }, task.StatsResponse)) as { stats: Any };
  t.equal(stats.stats.typeUrl, 'io.containerd.cgroups.v1.Metrics');
  t.equal((metricsV1.decode(stats.stats.value) as { pids: { current: bigint } }).pids.current, 2n);
  t.same(await s.call('Connect', task.ConnectRequest, { id: 'c' }, task.ConnectResponse), { shimPid: process.pid, taskPid: 42, version: '' });
});

t.test('errors: ShimError keeps its code, other throws are Internal, bad Anys name the field', async (t) => {
  const s = await setup(t);
  s.fail.state = new ShimError(ShimErrorCode.NotFound, 'container c: not found');
  await t.rejects(s.call('State', task.StateRequest, { id: 'c' }, task.StateResponse), { code: ShimErrorCode.NotFound, message: 'container c: not found' });
  s.fail.kill = new TypeError('x is undefined');
  await t.rejects(s.call('Kill', task.KillRequest, { id: 'c' }, Empty), { code: Code.Internal, message: 'x is undefined' });
  await t.rejects(s.call('Checkpoint', task.CheckpointTaskRequest, { id: 'c', path: '/p' }, Empty), { code: Code.Unimplemented, message: /checkpoint c: runts does not support/ });
  await t.rejects(s.call('Exec', task.ExecProcessRequest, { id: 'c', execId: 'e', spec: json('types.containerd.io/opencontainers/runtime-spec/1/LinuxResources', {}) }, Empty), {
    code: Code.InvalidArgument,
    message: /^spec: type "types.containerd.io\/opencontainers\/runtime-spec\/1\/LinuxResources" is not supported/,
  });
  await t.rejects(s.call('Exec', task.ExecProcessRequest, { id: 'c', execId: 'e', spec: { typeUrl: SPEC_PROCESS_URL, value: Buffer.from('{') } }, Empty), { code: Code.InvalidArgument, message: /^spec: invalid JSON/ });
  await t.rejects(s.call('Update', task.UpdateTaskRequest, { id: 'c' }, Empty), { code: Code.InvalidArgument, message: /^resources: missing/ });
  await t.rejects(s.call('Create', task.CreateTaskRequest, { id: 'c', options: { typeUrl: 'io.containerd.runhcs.v1.Options', value: new Uint8Array(0) } }, Empty), {
    code: Code.InvalidArgument,
    message: /^options: type "io.containerd.runhcs.v1.Options" is not supported/,
  });
  // CRI sends runtimeoptions.v1.Options (config_path=2) to any runtime type but runc's: no runc options
  await s.call('Create', task.CreateTaskRequest, { id: 'c', options: { typeUrl: 'runtimeoptions.v1.Options', value: Buffer.from('12042f612f62', 'hex') } }, task.CreateTaskResponse);
  t.equal((s.calls.pop()?.[1] as { options?: unknown }).options, undefined, 'CRI runtime options: none for the task side');
  t.equal(s.calls.filter(([name]) => name === 'exec' || name === 'update' || name === 'create').length, 0, 'bad requests never reach the task side');
});

t.test('Shutdown ends the resident only when told now: it stays for the namespace\'s next task', async (t) => {
  const s = await setup(t);
  await s.call('Shutdown', task.ShutdownRequest, { id: 'c' }, Empty);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(s.shutdowns(), 0, 'a shim serving containers stays');
  s.setEmpty(true);
  await s.call('Shutdown', task.ShutdownRequest, { id: 'c' }, Empty);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(s.shutdowns(), 0, 'so does one with none left (it exits once idle)');
  await s.call('Shutdown', task.ShutdownRequest, { id: 'c', now: true }, Empty);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(s.shutdowns(), 1);
});

/** A fake containerd events service: records the envelopes; `failFirst` answers errors first. */
async function fakeContainerd(t: Test, failFirst = 0) {
  const received: { namespace: string; topic: string; typeUrl: string; event: Record<string, unknown>; timestamp: Timestamp }[] = [];
  let failures = failFirst;
  const decoders: Record<string, MessageType<object>> = Object.fromEntries(Object.values(events).map((m) => [m.typeName, m]));
  const socket = await serveOn(
    t,
    new Map([
      [
        EVENTS_SERVICE,
        new Map<string, Handler>([
          [
            'Forward',
            async (payload) => {
              if (failures-- > 0) throw new Error('not yet');
              const { envelope } = ForwardRequest.decode(payload);
              received.push({ namespace: envelope.namespace, topic: envelope.topic, typeUrl: envelope.event.typeUrl, event: decoders[envelope.event.typeUrl].decode(envelope.event.value) as Record<string, unknown>, timestamp: envelope.timestamp });
              return new Uint8Array(0);
            },
          ],
        ]),
      ],
    ]),
  );
  return { socket, received };
}

t.test('events reach containerd in the order raised, as containerd.events.* Anys', async (t) => {
  const cd = await fakeContainerd(t, 2);
  const publisher = new EventPublisher(cd.socket, 'ns1', () => {}, 1);
  t.teardown(() => publisher.close());
  const raised: TaskEvent[] = [
    { topic: '/tasks/create', containerId: 'c', bundle: '/b', rootfs: [], io: { stdin: '', stdout: '/o', stderr: '', terminal: false }, pid: 42 },
    { topic: '/tasks/start', containerId: 'c', pid: 42 },
    { topic: '/tasks/exec-added', containerId: 'c', execId: 'e' },
    { topic: '/tasks/exec-started', containerId: 'c', execId: 'e', pid: 43 },
    { topic: '/tasks/paused', containerId: 'c' },
    { topic: '/tasks/resumed', containerId: 'c' },
    { topic: '/tasks/oom', containerId: 'c' },
    { topic: '/tasks/exit', containerId: 'c', id: 'c', pid: 42, exitStatus: 137, exitedAt },
    { topic: '/tasks/delete', containerId: 'c', pid: 42, exitStatus: 137, exitedAt, id: 'c' },
  ];
  for (const e of raised) publisher.publish(e);
  await publisher.drain(10_000);
  t.same(
    cd.received.map((r) => [r.namespace, r.topic, r.typeUrl]),
    raised.map((e, i) => ['ns1', e.topic, ['TaskCreate', 'TaskStart', 'TaskExecAdded', 'TaskExecStarted', 'TaskPaused', 'TaskResumed', 'TaskOOM', 'TaskExit', 'TaskDelete'].map((n) => `containerd.events.${n}`)[i]]),
  );
  t.same(cd.received[0].event, { containerId: 'c', bundle: '/b', rootfs: [], io: { stdin: '', stdout: '/o', stderr: '', terminal: false }, checkpoint: '', pid: 42 });
  t.same(cd.received[7].event, { containerId: 'c', id: 'c', pid: 42, exitStatus: 137, exitedAt });
  t.ok(cd.received[0].timestamp.seconds > 1_700_000_000n, 'envelopes carry the wall clock');
});

t.test('an event containerd never takes is dropped after 5 tries, the next ones still go', async (t) => {
  const cd = await fakeContainerd(t, 5);
  const logged: string[] = [];
  const publisher = new EventPublisher(cd.socket, 'ns1', (_level, m) => logged.push(m), 1);
  t.teardown(() => publisher.close());
  const dropped = publisher.publish({ topic: '/tasks/oom', containerId: 'a' });
  const sent = publisher.publish({ topic: '/tasks/oom', containerId: 'b' });
  await dropped;
  t.same(cd.received, [], 'the promise of a dropped event resolves when it is given up');
  await sent;
  t.same(cd.received.map((r) => r.event.containerId), ['b'], "and an event's promise once containerd took it");
  t.match(logged, [/^event \/tasks\/oom dropped after 5 tries: not yet/]);
});

t.test('Metrics: runts stats data → cgroups v1 / v2 Metrics', async (t) => {
  const { metricsAny } = await import('../../src/shim/metrics');
  const data = {
    cpu: { usage: { total: 5_000_000, percpu: [3_000_000, 2_000_000], kernel: 1_000_000, user: 4_000_000 }, throttling: { periods: 3, throttled_periods: 1, throttled_time: 7000 } },
    memory: {
      usage: { usage: 4096, limit: 1 << 20, max: 8192 },
      swap: { usage: 4096 + 100, limit: (1 << 20) + 50 },
      kernel: { usage: 1 },
      raw: { cache: 11, pgpgin: 12, total_pgmajfault: 13, hierarchical_memsw_limit: 14, anon: 21, kernel_stack: 22, thp_fault_alloc: 23 },
    },
    pids: { current: 2, limit: 10 },
    blkio: { io_service_bytes_recursive: [{ major: 8, minor: 0, op: 'Read', value: 100 }, { major: 8, minor: 0, op: 'Write', value: 200 }], io_serviced_recursive: [{ major: 8, minor: 0, op: 'Read', value: 1 }] },
    hugetlb: { '2MB': { usage: 5, max: 6, failcnt: 1 } },
  };
  const v1 = metricsAny({ cgroupVersion: 1, data });
  t.equal(v1.typeUrl, 'io.containerd.cgroups.v1.Metrics');
  t.match(metricsV1.decode(v1.value), {
    pids: { current: 2n, limit: 10n },
    cpu: { usage: { total: 5_000_000n, kernel: 1_000_000n, user: 4_000_000n, perCpu: [3_000_000n, 2_000_000n] }, throttling: { periods: 3n, throttledPeriods: 1n, throttledTime: 7000n } },
    memory: { cache: 11n, pgPgIn: 12n, totalPgMajFault: 13n, hierarchicalSwapLimit: 14n, usage: { usage: 4096n, limit: 1048576n, max: 8192n }, kernel: { usage: 1n } },
    blkio: { ioServiceBytesRecursive: [{ op: 'Read', major: 8n, value: 100n }, { op: 'Write', value: 200n }], ioServicedRecursive: [{ op: 'Read', value: 1n }] },
    hugetlb: [{ pagesize: '2MB', usage: 5n, max: 6n, failcnt: 1n }],
  });
  const v2 = metricsAny({ cgroupVersion: 2, data });
  t.equal(v2.typeUrl, 'io.containerd.cgroups.v2.Metrics');
  t.match(metricsV2.decode(v2.value), {
    pids: { current: 2n, limit: 10n },
    cpu: { usageUsec: 5000n, userUsec: 4000n, systemUsec: 1000n, nrPeriods: 3n, nrThrottled: 1n, throttledUsec: 7n },
    memory: { anon: 21n, kernelStack: 22n, thpFaultAlloc: 23n, usage: 4096n, usageLimit: 1048576n, maxUsage: 8192n, swapUsage: 100n, swapLimit: 50n },
    io: { usage: [{ major: 8n, minor: 0n, rbytes: 100n, wbytes: 200n, rios: 1n, wios: 0n }] },
    hugetlb: [{ pagesize: '2MB', current: 5n, max: 6n, failcnt: 1n }],
  });
});
