// OCI hooks with real containers: each phase runs at its point of the lifecycle, in the
// right namespaces, with the state JSON on stdin and its own args and env; failures and
// timeouts fail create/start and leave nothing behind; a failed poststop only warns.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { leakGuard, listProcesses, makeBundle, requireRoot, RUNTS_BIN, runtimeEnv, runts, runtsRoot, runtsToFiles, tempDir, uniqueId, waitFor, type BundleConfig } from '../lib';

type Phase = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';
const PHASES: Phase[] = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

function setup(t: Test) {
  leakGuard(t);
  const root = runtsRoot(t);
  const outDir = tempDir(t, 'out');
  const rt = (...args: string[]) => (args[0] === 'create' ? runtsToFiles(outDir, ['--root', root, ...args]) : runts(['--root', root, ...args]));
  return { root, rt };
}

/** The marker dir: a host dir, also bind-mounted at /x for hooks that run after pivot_root. */
function markerDir(t: Test) {
  const dir = tempDir(t, 'markers');
  return {
    dir,
    mount: (c: BundleConfig) => {
      c.mounts.push({ destination: '/x', type: 'bind', source: dir, options: ['rbind', 'rw'] });
    },
    read: (name: string) => fs.readFileSync(path.join(dir, name), 'utf8'),
    exists: (name: string) => fs.existsSync(path.join(dir, name)),
    order: () => (fs.existsSync(path.join(dir, 'order')) ? fs.readFileSync(path.join(dir, 'order'), 'utf8').trim().split('\n') : []),
  };
}

/**
 * A hook that records its phase in `order`, and its stdin, args, env, hostname and
 * namespaces in files named after the phase. `dir` is where the marker dir is seen from
 * the hook (the host path, or /x inside the container).
 */
function recordingHook(phase: Phase, dir: string): Record<string, any> {
  const script = [
    `cat > ${dir}/${phase}.stdin`,
    `echo "$0|$1|$#" > ${dir}/${phase}.args`,
    `echo "$HOOK_VAR" > ${dir}/${phase}.env`,
    `cat /proc/sys/kernel/hostname > ${dir}/${phase}.hostname`,
    `readlink /proc/self/ns/mnt > ${dir}/${phase}.mntns`,
    `readlink /proc/self/ns/uts > ${dir}/${phase}.utsns`,
    `echo ${phase} >> ${dir}/order`,
  ].join('\n');
  return { path: '/bin/sh', args: ['sh', '-c', script, `${phase}-arg1`, 'arg2'], env: [`HOOK_VAR=${phase}-env`] };
}

t.test('every hook phase runs at its point, in its namespaces, with state, args and env', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const m = markerDir(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
    // The user process logs itself once startContainer is done, then waits to be told to exit.
    args: ['sh', '-c', 'echo process >> /x/order; while [ ! -e /x/go ]; do sleep 0.05; done'],
    config: (c) => {
      m.mount(c);
      c.hostname = 'hooked';
      c.hooks = {};
      for (const phase of PHASES) {
        // startContainer runs after pivot_root: it sees the marker dir at /x, and must resolve its path in the container.
        const seenAt = phase === 'startContainer' ? '/x' : m.dir;
        c.hooks[phase] = [recordingHook(phase, seenAt)];
      }
    },
  });
  const id = uniqueId();
  const create = await rt('create', '-b', bundle, id);
  t.equal(create.code, 0, `create: ${create.stderr}`);
  t.same(m.order(), ['prestart', 'createRuntime', 'createContainer'], 'after create: the create-time hooks, in order, and no user process');
  const state = JSON.parse((await rt('state', id)).stdout);
  const hostHostname = fs.readFileSync('/proc/sys/kernel/hostname', 'utf8');
  const hostMntNs = fs.readlinkSync('/proc/self/ns/mnt');
  const containerMntNs = fs.readlinkSync(`/proc/${state.pid}/ns/mnt`);
  const hostUtsNs = fs.readlinkSync('/proc/self/ns/uts');
  const containerUtsNs = fs.readlinkSync(`/proc/${state.pid}/ns/uts`);

  const start = await rt('start', id);
  t.equal(start.code, 0, `start: ${start.stderr}`);
  t.ok(m.exists('poststart.stdin'), 'poststart has run when start returns');
  await waitFor(() => m.order().includes('process'), 15_000, 'user process ran');
  const afterStart = m.order();
  t.same(afterStart.slice(0, 4), ['prestart', 'createRuntime', 'createContainer', 'startContainer'], 'startContainer before the user process');
  t.ok(afterStart.indexOf('startContainer') < afterStart.indexOf('process'));
  t.notOk(afterStart.includes('poststop'));

  fs.writeFileSync(path.join(m.dir, 'go'), '');
  await waitFor(() => {
    try {
      return /\) [ZX] /.test(fs.readFileSync(`/proc/${state.pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  }, 15_000, 'container exited');
  t.notOk(m.order().includes('poststop'), 'poststop waits for delete');
  const del = await rt('delete', id);
  t.equal(del.code, 0, `delete: ${del.stderr}`);
  t.equal(m.order().at(-1), 'poststop', 'poststop runs at delete');

  for (const phase of PHASES) {
    const stdin = JSON.parse(m.read(`${phase}.stdin`));
    t.match(stdin, { id, bundle, ociVersion: '1.3.0' }, `${phase}: state JSON on stdin`);
    t.type(stdin.status, 'string', `${phase}: status`);
    if (phase !== 'poststop') t.equal(stdin.pid, state.pid, `${phase}: the init pid`);
    t.equal(m.read(`${phase}.args`), `${phase}-arg1|arg2|1\n`, `${phase}: args`);
    t.equal(m.read(`${phase}.env`), `${phase}-env\n`, `${phase}: env`);
  }
  // Like runc, the hostname is set after createContainer, before startContainer.
  t.equal(m.read('startContainer.hostname'), 'hooked\n', "startContainer sees the container's hostname");
  t.match(JSON.parse(m.read('poststart.stdin')), { status: 'running' });
  t.match(JSON.parse(m.read('poststop.stdin')), { status: 'stopped' });
  for (const phase of ['prestart', 'createRuntime', 'poststart', 'poststop'] as Phase[]) {
    t.equal(m.read(`${phase}.hostname`), hostHostname, `${phase} sees the host's hostname`);
    t.equal(m.read(`${phase}.utsns`).trim(), hostUtsNs, `${phase} runs in the runtime's UTS namespace`);
    t.equal(m.read(`${phase}.mntns`).trim(), hostMntNs, `${phase} runs in the runtime's mount namespace`);
  }
  for (const phase of ['createContainer', 'startContainer'] as Phase[]) {
    t.equal(m.read(`${phase}.utsns`).trim(), containerUtsNs, `${phase} runs in the container's UTS namespace`);
    t.equal(m.read(`${phase}.mntns`).trim(), containerMntNs, `${phase} runs in the container's mount namespace`);
  }
});

/** Processes whose command line holds `token` (a hook left running). */
const processesWith = (token: string) => listProcesses().filter((p) => p.cmdline.includes(token));

for (const phase of ['prestart', 'createRuntime', 'createContainer'] as Phase[]) {
  t.test(`a failing ${phase} hook fails create and leaves nothing behind`, async (t) => {
    if (!requireRoot(t)) return;
    const { root, rt } = setup(t);
    const m = markerDir(t);
    const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
      args: ['sh', '-c', `echo ran > ${m.dir}/process`],
      config: (c) => {
        c.hooks = { [phase]: [{ path: '/bin/sh', args: ['sh', '-c', 'echo hook-says-no >&2; exit 3'] }] };
      },
    });
    const id = uniqueId();
    const r = await rt('create', '-b', bundle, id);
    t.equal(r.code, 1, 'create fails');
    t.match(r.stderr, '/bin/sh', 'the message names the hook');
    if (phase !== 'createContainer') t.match(r.stderr, phase, 'and its phase');
    t.match(r.stderr, /exit status 3/);
    t.same(fs.existsSync(root) ? fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : [], [], 'no state dir');
    const state = await rt('state', id);
    t.match(state.stderr, /does not exist/);
    t.notOk(m.exists('process'), 'the user process never ran');
    // The leak guard fails the test if the container init (its root is in the bundle) survived.
  });
}

t.test('a hook that outlives its timeout is killed and fails create', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const token = uniqueId('hook-sleep');
  for (const phase of ['createRuntime', 'createContainer'] as Phase[]) {
    const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
      args: ['true'],
      config: (c) => {
        // exec: the sleep itself is the hook process, with the token in its argv to find it.
        c.hooks = { [phase]: [{ path: '/bin/sh', args: ['sh', '-c', 'exec sleep 30 "$0"', token], timeout: 1 }] };
      },
    });
    const started = Date.now();
    const r = await rt('create', '-b', bundle, uniqueId());
    const took = Date.now() - started;
    t.equal(r.code, 1, `${phase}: create fails`);
    t.match(r.stderr, /time/i, `${phase}: says it timed out`);
    t.ok(took < 15_000, `${phase}: gave up after the timeout (${took} ms)`);
    t.same(processesWith(token).map((p) => p.cmdline), [], `${phase}: the hook was killed`);
  }
  t.same(fs.existsSync(root) ? fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()) : [], []);
});

t.test('a failing poststart hook fails start and stops the container', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sleep', '1000'],
    config: (c) => {
      c.hooks = { poststart: [{ path: '/bin/false' }] };
    },
  });
  const id = uniqueId();
  t.equal((await rt('create', '-b', bundle, id)).code, 0);
  const { pid } = JSON.parse((await rt('state', id)).stdout);
  const r = await rt('start', id);
  t.equal(r.code, 1, 'start fails');
  t.match(r.stderr, /poststart/);
  t.match(r.stderr, '/bin/false');
  await waitFor(() => {
    try {
      return /\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  }, 15_000, 'init killed');
  t.match(JSON.parse((await rt('state', id)).stdout), { status: 'stopped' });
  t.equal((await rt('delete', id)).code, 0);
});

t.test('a failing poststop hook only warns: delete succeeds', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = setup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sleep', '1000'],
    config: (c) => {
      c.hooks = { poststop: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 9'] }] };
    },
  });
  const id = uniqueId();
  t.equal((await rt('create', '-b', bundle, id)).code, 0);
  t.equal((await rt('start', id)).code, 0);
  const r = await rt('delete', '--force', id);
  t.equal(r.code, 0, 'delete succeeds');
  t.match(r.stderr, /warn/i, 'with a warning');
  t.match(r.stderr, /poststop/);
  t.match(r.stderr, /exit status 9/);
  t.notOk(fs.existsSync(path.join(root, id)), 'state removed');
  t.match((await rt('state', id)).stderr, /does not exist/);
});

// Security rule 17: runtime hooks are run by Node, which has no PR_SET_PDEATHSIG; they run
// under the init helper as a guard that kills the hook's process group when runts dies.
t.test('a createRuntime hook still running when runts is SIGKILLed is gone once delete --force returns', async (t) => {
  if (!requireRoot(t)) return;
  const { root } = setup(t);
  const marks = tempDir(t, 'hook-pids');
  const pidsFile = path.join(marks, 'pids');
  // The hook shell and a child of it, both recorded.
  const script = `echo $$ > ${pidsFile}.tmp; sleep 1000 & echo $! >> ${pidsFile}.tmp; mv ${pidsFile}.tmp ${pidsFile}; wait`;
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), {
    args: ['true'],
    config: (c) => {
      c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', script] }] };
    },
  });
  const id = uniqueId();
  const out = fs.openSync(path.join(marks, 'out'), 'w');
  const create = spawn(RUNTS_BIN, ['--root', root, 'create', '--bundle', bundle, id], { stdio: ['ignore', out, out], env: runtimeEnv() });
  fs.closeSync(out);
  const exited = new Promise((resolve) => create.once('exit', resolve));
  await waitFor(() => fs.existsSync(pidsFile), 20_000, 'the hook runs');
  const hookPids = fs.readFileSync(pidsFile, 'utf8').trim().split('\n').map(Number);
  create.kill('SIGKILL');
  await exited;
  const del = await runts(['--root', root, 'delete', '--force', id]);
  t.equal(del.code, 0, `delete --force: ${del.stderr}`);
  const alive = (pid: number) => listProcesses().some((p) => p.pid === pid && !/^[ZX]/.test(p.state));
  t.same(hookPids.filter(alive), [], `the hook ${hookPids[0]} and its child ${hookPids[1]} are gone`);
  for (const pid of hookPids.filter(alive)) process.kill(pid, 'SIGKILL');
});
