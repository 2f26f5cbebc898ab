// Seccomp notify agents written for runc (issue #12 item 8): an agent that reads the listener
// fd exactly as runc's contrib/cmd/seccompagent does (connections one at a time, one recvmsg
// into a 4096-byte buffer with room for exactly one SCM_RIGHTS fd, n < 4096, one control
// message, "seccompFd" in fds) must get it from runts for run, create, exec, with and without
// noNewPrivileges, and the container must see what runc's shows when the agent dies.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { leakGuard, makeBundle, onCleanup, requireRoot, runts, runtsRoot, tempDir, uniqueId, waitFor, type Bundle } from '../lib';

// Each connection and each notification is one JSON line in the report. A mkdir notification
// is answered with success (0) without creating anything, so the container can tell.
const AGENT_SOURCE = `
import fcntl, json, socket, struct, sys, threading
path, report = sys.argv[1], sys.argv[2]
lock = threading.Lock()
def note(entry):
    with lock, open(report, 'a') as f:
        f.write(json.dumps(entry) + '\\n')
def answer(fd):
    while True:
        buf = bytearray(80)
        try:
            fcntl.ioctl(fd, 0xc0502100, buf)  # SECCOMP_IOCTL_NOTIF_RECV
        except OSError:
            return  # no task uses the filter any more
        nid, pid, flags, nr = struct.unpack_from('=QIIi', buf)
        note({'nr': nr})
        fcntl.ioctl(fd, 0xc0182101, struct.pack('=QqiI', nid, 0, 0, 0))  # NOTIF_SEND: return 0
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(16)
open(report + '.ready', 'w').close()
while True:
    conn, _ = srv.accept()
    oob_space = socket.CMSG_SPACE(4)
    data, anc, flags, _ = conn.recvmsg(4096, oob_space)
    conn.close()
    oobn = sum(socket.CMSG_SPACE(len(d)) for _, _, d in anc)
    if len(data) >= 4096 or oobn != oob_space:
        note({'error': 'recvfd: incorrect number of bytes read (n=%d oobn=%d)' % (len(data), oobn)})
        continue
    if len(anc) != 1 or anc[0][:2] != (socket.SOL_SOCKET, socket.SCM_RIGHTS):
        note({'error': 'recvfd: number of SCMs is not 1: %d' % len(anc)})
        continue
    msg = json.loads(data)
    fds = struct.unpack('i' * (len(anc[0][2]) // 4), anc[0][2])
    if msg.get('fds', []).count('seccompFd') != 1 or msg['fds'].index('seccompFd') >= len(fds):
        note({'error': 'seccomp fd not found or malformed containerProcessState.Fds'})
        continue
    note({'message': msg})
    threading.Thread(target=answer, args=(fds[msg['fds'].index('seccompFd')],), daemon=True).start()
`;

interface Agent {
  socket: string;
  /** The report's lines so far. */
  entries(): Record<string, any>[];
  kill(): Promise<void>;
}

async function startAgent(t: Test): Promise<Agent> {
  const dir = tempDir(t, 'agent');
  const socketPath = path.join(dir, 'agent.sock');
  const report = path.join(dir, 'report.jsonl');
  fs.writeFileSync(path.join(dir, 'agent.py'), AGENT_SOURCE);
  // Debian's python3 itself, not a wrapper that would outlive a kill.
  const agent = spawn('/usr/bin/python3', [path.join(dir, 'agent.py'), socketPath, report], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => agent.once('exit', () => resolve()));
  const kill = async () => {
    if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    await exited;
  };
  onCleanup(t, 'graceful', kill);
  await waitFor(() => fs.existsSync(`${report}.ready`), 10_000, 'the agent listening');
  const entries = () =>
    fs.existsSync(report)
      ? fs
          .readFileSync(report, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
  return { socket: socketPath, entries, kill };
}

const MKDIR = 83;
const TRY_MKDIR = 'mkdir /tmp/x 2>/dev/null; echo "rc=$?"; test -d /tmp/x && echo exists || echo absent';

async function notifyBundle(t: Test, agent: Agent, args: string[], noNewPrivileges: boolean): Promise<Bundle> {
  return makeBundle(tempDir(t, 'bundle'), {
    args,
    config: (c) => {
      c.root.readonly = false; // so that an absent directory is the agent's doing
      c.process!.noNewPrivileges = noNewPrivileges;
      c.linux!.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        listenerPath: agent.socket,
        listenerMetadata: 'meta',
        syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
      };
    },
  });
}

t.test('run, noNewPrivileges false and true: runc\'s agent gets one message with the fd and answers mkdir', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const agent = await startAgent(t);
  for (const noNewPrivileges of [false, true]) {
    const made = await notifyBundle(t, agent, ['sh', '-c', TRY_MKDIR], noNewPrivileges);
    const id = uniqueId('ag');
    const result = await runts(['--root', runtsRoot(t), 'run', '-b', made.bundle, id]);
    t.equal(result.code, 0, `noNewPrivileges ${noNewPrivileges}: run exits 0 (stderr: ${result.stderr.trim()})`);
    t.equal(result.stdout, 'rc=0\nabsent\n', `noNewPrivileges ${noNewPrivileges}: mkdir answered by the agent`);
  }
  const entries = agent.entries();
  t.strictSame(entries.filter((e) => e.error), [], 'no message the agent rejects');
  const messages = entries.filter((e) => e.message).map((e) => e.message);
  t.equal(messages.length, 2, 'one message per container');
  for (const m of messages) {
    t.match(m, { fds: ['seccompFd'], metadata: 'meta', state: { status: 'creating' } });
    t.equal(m.pid, m.state.pid, 'pid is the container init\'s');
  }
  t.strictSame(entries.filter((e) => e.nr !== undefined).map((e) => e.nr), [MKDIR, MKDIR]);
  await agent.kill(); // the leak guard looks before cleanups run
});

t.test('create then delete without start: the agent still gets the fd during create, as from runc', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const agent = await startAgent(t);
  const root = runtsRoot(t);
  const id = uniqueId('ag');
  const made = await notifyBundle(t, agent, ['sh', '-c', TRY_MKDIR], true);
  const created = await runts(['--root', root, 'create', '-b', made.bundle, id]);
  t.equal(created.code, 0, `create: ${created.stderr.trim()}`);
  await waitFor(() => agent.entries().length > 0, 10_000, 'the agent\'s first entry');
  const deleted = await runts(['--root', root, 'delete', '--force', id]);
  t.equal(deleted.code, 0, `delete: ${deleted.stderr.trim()}`);
  const entries = agent.entries();
  t.strictSame(entries.filter((e) => e.error), [], 'no "recvfd: incorrect number of bytes read (n=0 oobn=0)"');
  t.match(entries[0], { message: { fds: ['seccompFd'], state: { id, status: 'creating' } } });  await agent.kill();
});

t.test('exec, noNewPrivileges false and true: the message carries the exec\'d process\'s pid, as runc\'s', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const agent = await startAgent(t);
  const root = runtsRoot(t);
  for (const noNewPrivileges of [false, true]) {
    const id = uniqueId('ag');
    const made = await notifyBundle(t, agent, ['sleep', '300'], noNewPrivileges);
    const started = await runts(['--root', root, 'run', '-d', '-b', made.bundle, id]);
    t.equal(started.code, 0, `run -d: ${started.stderr.trim()}`);
    const before = agent.entries().filter((e) => e.message).length;
    const result = await runts(['--root', root, 'exec', id, 'sh', '-c', TRY_MKDIR]);
    t.equal(result.code, 0, `noNewPrivileges ${noNewPrivileges}: exec exits 0 (stderr: ${result.stderr.trim()})`);
    t.equal(result.stdout, 'rc=0\nabsent\n', `noNewPrivileges ${noNewPrivileges}: mkdir answered by the agent`);
    const message = agent.entries().filter((e) => e.message)[before]?.message;
    t.match(message, { fds: ['seccompFd'], state: { id, status: 'running' } });
    t.ok(message && message.pid > 0 && message.pid !== message.state.pid, `pid ${message?.pid} is the exec'd process's, not the init's ${message?.state?.pid}`);
    await runts(['--root', root, 'delete', '--force', id]);
  }
  t.strictSame(agent.entries().filter((e) => e.error), [], 'no message the agent rejects');  await agent.kill();
});

/** runc ARGS with its stdio in files (a created container keeps the caller's stdio open). */
function runcCall(t: Test, root: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const dir = tempDir(t, 'runc-out');
  const out = fs.openSync(path.join(dir, 'stdout'), 'w');
  const err = fs.openSync(path.join(dir, 'stderr'), 'w');
  try {
    const result = spawnSync('runc', ['--root', root, ...args], { stdio: ['ignore', out, err] });
    return { code: result.status ?? 128, stdout: fs.readFileSync(path.join(dir, 'stdout'), 'utf8'), stderr: fs.readFileSync(path.join(dir, 'stderr'), 'utf8') };
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
  }
}

t.test('the agent killed after it got the fd: a notified mkdir fails with ENOSYS, as under runc', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const runcRoot = tempDir(t, 'runc-root');
  const root = runtsRoot(t);
  const outputs: Record<string, string> = {};
  for (const runtime of ['runts', 'runc'] as const) {
    const agent = await startAgent(t);
    const made = await notifyBundle(t, agent, ['sh', '-c', 'mkdir /tmp/x 2>/out; echo "rc=$?" >>/out'], true);
    const id = uniqueId('ag');
    const call = async (args: string[]) => (runtime === 'runts' ? runts(['--root', root, ...args]) : runcCall(t, runcRoot, args));
    const created = await call(['create', '-b', made.bundle, id]);
    t.equal(created.code, 0, `${runtime} create: ${created.stderr.trim()}`);
    await waitFor(() => agent.entries().some((e) => e.message), 10_000, 'the agent has the fd');
    await agent.kill();
    const started = await call(['start', id]);
    t.equal(started.code, 0, `${runtime} start: ${started.stderr.trim()}`);
    await waitFor(() => fs.existsSync(path.join(made.rootfs, 'out')) && fs.readFileSync(path.join(made.rootfs, 'out'), 'utf8').includes('rc='), 10_000, 'the container\'s output');
    outputs[runtime] = fs.readFileSync(path.join(made.rootfs, 'out'), 'utf8');
    await call(['delete', '--force', id]);
  }
  t.equal(outputs.runts, outputs.runc, 'the container sees what it sees under runc');
  t.match(outputs.runts, /Function not implemented[\s\S]*rc=1/);
});
