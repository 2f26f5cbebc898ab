// The launcher (native/shim/main.cc, bin/containerd-shim-runts-v2) and the resident's Launcher
// service (src/shim/launcher.ts): containerd's `start` and `delete` answered by the namespace's
// resident without booting Node, everything else handed to the Node shim, and the resident's
// idle exit (src/shim/resident.ts).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import t from 'tap';
import { launcherHandlers } from '../../src/shim/launcher';
import { parseFlags, type ShimFlags } from '../../src/shim/flags';
import { LaunchRequest, task } from '../../src/shim/proto';
import { idleSeconds } from '../../src/shim/resident';
import { ShimErrorCode } from '../../src/shim/task-service';
import { leakGuard, REPO_ROOT, requireRoot, tempDir, uniqueId, waitFor } from '../lib';
import { envWithoutTap } from '../lib/env';

const RESIDENT = parseFlags(['-namespace', 'ns', '-address', '/run/c.sock', '-socket', 'unix:///run/containerd/s/abc']);

function runHandler(cleanup: (flags: ShimFlags, bundle: string) => Promise<Uint8Array> = async () => new Uint8Array(0)) {
  const run = launcherHandlers({ resident: RESIDENT, cleanup }).get('Run')!;
  return (args: string[], cwd: string) => run(LaunchRequest.encode({ args, cwd }));
}

t.test('Run start: the resident writes the bundle\'s shim files and answers its own address', async (t) => {
  const bundle = tempDir(t, 'bundle');
  const answer = await runHandler()(['-namespace', 'ns', '-address', '/run/c.sock', '-id', 'c1', '-publish-binary', '/bin/containerd', 'start'], bundle);
  t.equal(Buffer.from(answer).toString(), 'unix:///run/containerd/s/abc');
  t.equal(fs.readFileSync(path.join(bundle, 'address'), 'utf8'), 'unix:///run/containerd/s/abc');
  t.equal(fs.readFileSync(path.join(bundle, 'shim.pid'), 'utf8'), String(process.pid));
  const other = tempDir(t, 'bundle');
  await runHandler()(['-namespace=ns', '--address', '/run/c.sock', '-id', 'c2', '-bundle', other, 'start'], '/');
  t.ok(fs.existsSync(path.join(other, 'address')), '-bundle wins over the cwd');
});

t.test('Run delete: the cleanup\'s DeleteResponse, for the id and bundle asked', async (t) => {
  const calls: [string, string][] = [];
  const answer = await runHandler(async (flags, bundle) => {
    calls.push([flags.id, bundle]);
    return Uint8Array.of(1, 2, 3);
  })(['-namespace', 'ns', '-address', '/run/c.sock', '-id', 'c1', 'delete'], '/b');
  t.same([...answer], [1, 2, 3]);
  t.same(calls, [['c1', '/b']]);
});

t.test('Run refuses what is not its to answer (the launcher then execs the Node shim)', async (t) => {
  const run = runHandler();
  const base = ['-address', '/run/c.sock', '-id', 'c1'];
  await t.rejects(run(['-namespace', 'other', ...base, 'start'], '/'), { code: ShimErrorCode.FailedPrecondition, message: 'this shim serves namespace "ns" of /run/c.sock' });
  await t.rejects(run(['-namespace', 'ns', '-address', '/run/d.sock', '-id', 'c1', 'start'], '/'), { code: ShimErrorCode.FailedPrecondition });
  await t.rejects(run(['-namespace', 'ns', ...base, '-bogus', 'start'], '/'), { code: ShimErrorCode.InvalidArgument, message: 'flag provided but not defined: -bogus' });
  await t.rejects(run(['-namespace', 'ns', '-address', '/run/c.sock', 'start'], '/'), { code: ShimErrorCode.InvalidArgument, message: 'start: -id is required' });
  await t.rejects(run(['-namespace', 'ns', ...base, 'frobnicate'], '/'), { code: ShimErrorCode.Unimplemented });
});

t.test('RUNTS_SHIM_IDLE_SECONDS: how long an idle resident waits, 60 unless a number', async (t) => {
  t.equal(idleSeconds({}), 60);
  t.equal(idleSeconds({ RUNTS_SHIM_IDLE_SECONDS: '2' }), 2);
  t.equal(idleSeconds({ RUNTS_SHIM_IDLE_SECONDS: '0.5' }), 0.5);
  t.equal(idleSeconds({ RUNTS_SHIM_IDLE_SECONDS: 'soon' }), 60);
  t.equal(idleSeconds({ RUNTS_SHIM_IDLE_SECONDS: '-1' }), 60);
});

t.test('the launcher: the resident answers start and delete; without one it execs the Node shim', async (t) => {
  if (!requireRoot(t)) return; // /run/containerd/s is root's
  leakGuard(t);
  const address = `/run/runts-test-${uniqueId('cd')}.sock`;
  const namespace = uniqueId('ns');
  // The oracle: the launcher names the socket sha256("runts-shim\0" address "\0" namespace).
  const socket = `/run/containerd/s/${createHash('sha256').update(`runts-shim\0${address}\0${namespace}`).digest('hex')}`;
  // A copy of the launcher with no dist/shim.js beside it: whatever it answers, the resident did.
  const lonely = path.join(tempDir(t, 'launcher'), 'bin', 'containerd-shim-runts-v2');
  fs.mkdirSync(path.dirname(lonely));
  fs.copyFileSync(path.join(REPO_ROOT, 'bin', 'containerd-shim-runts-v2'), lonely);
  fs.chmodSync(lonely, 0o755);
  const env = { ...envWithoutTap(), RUNTS_SHIM_IDLE_SECONDS: '2' };
  const call = (bin: string, id: string, bundle: string, ...rest: string[]) =>
    spawnSync(bin, ['-namespace', namespace, '-address', address, '-publish-binary', '/bin/true', '-id', id, ...rest], { cwd: bundle, env });

  const noResident = call(lonely, 'c0', tempDir(t, 'bundle'), 'start');
  t.equal(noResident.status, 1, 'no resident: it execs the Node shim');
  t.equal(noResident.stderr.toString(), `containerd-shim-runts-v2: exec ${path.dirname(lonely)}/../dist/shim.js: No such file or directory\n`);

  const first = tempDir(t, 'bundle');
  const started = call(path.join(REPO_ROOT, 'bin', 'containerd-shim-runts-v2'), 'c1', first, 'start');
  t.equal(started.status, 0, started.stderr.toString());
  t.equal(started.stdout.toString(), `unix://${socket}`, 'the socket named by the namespace and containerd address');
  const pid = Number(fs.readFileSync(path.join(first, 'shim.pid'), 'utf8'));
  t.teardown(() => {
    if (fs.existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
    fs.rmSync(socket, { force: true });
  });
  const oomScoreAdj = (p: number | string) => Number(fs.readFileSync(`/proc/${p}/oom_score_adj`, 'utf8'));
  t.equal(oomScoreAdj(pid), Math.min(oomScoreAdj('self') + 1, 1000), "the resident's oom_score_adj is its caller's (containerd's) + 1");

  // Security rule 18: a 0600 path, which another user (a container's, say) cannot connect to.
  const mode = fs.statSync(socket);
  t.ok(mode.isSocket() && (mode.mode & 0o777) === 0o600, 'the socket is a path with mode 0600');
  const stranger = spawnSync(process.execPath, ['-e', `require('net').createConnection(${JSON.stringify(socket)}).on('error', (e) => { console.log(e.code); process.exit(0) }).on('connect', () => { console.log('connected'); process.exit(0) })`], { uid: 65534, gid: 65534, env, encoding: 'utf8' });
  t.equal(stranger.stdout.trim(), 'EACCES', 'another user cannot connect');

  const second = tempDir(t, 'bundle');
  const answered = call(lonely, 'c2', second, 'start');
  t.equal(answered.status, 0, answered.stderr.toString());
  t.equal(answered.stdout.toString(), `unix://${socket}`, 'start answered by the resident');
  t.equal(fs.readFileSync(path.join(second, 'shim.pid'), 'utf8'), String(pid));

  const deleted = call(lonely, 'c2', second, '-bundle', second, 'delete');
  t.equal(deleted.status, 0, deleted.stderr.toString());
  t.equal((task.DeleteResponse.decode(deleted.stdout) as { exitStatus: number }).exitStatus, 137, 'delete answered by the resident');

  const refused = call(lonely, 'c2', second, '-bogus', 'start');
  t.equal(refused.status, 1, 'a call the resident refuses goes to the Node shim');
  t.match(refused.stderr.toString(), /exec .*dist\/shim\.js: No such file or directory/);

  // Idle means no task and no connection: a connection holds it.
  const held = net.createConnection(socket);
  await new Promise((resolve) => held.once('connect', resolve));
  await new Promise((resolve) => setTimeout(resolve, 3000));
  t.ok(fs.existsSync(`/proc/${pid}`), 'a resident with a connection stays');
  held.destroy();
  await waitFor(() => !fs.existsSync(`/proc/${pid}`), 10_000, 'the resident exits once idle for 2 s');
  t.notOk(fs.existsSync(socket), 'and removes its socket');
});
