// buildExecProcess: the process of `runts exec` is planned like the init's, against the
// container's config, but without the socket-activation variables create adds.
import t from 'tap';
import { buildExecProcess } from '../../src/plan/build';
import type { Process, Spec } from '../../src/spec/types';

const config = {
  ociVersion: '1.3.0',
  root: { path: 'rootfs' },
  process: { cwd: '/', args: ['sleep', '1000'], env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
  linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] },
} as Spec;

t.test('the exec process, not the config process, is planned', async (t) => {
  const exec: Process = {
    cwd: '/tmp',
    args: ['sh', '-c', 'true'],
    env: ['A=1'],
    user: { uid: 5, gid: 6, additionalGids: [7] },
    noNewPrivileges: true,
    capabilities: { bounding: ['CAP_KILL', 'CAP_NOPE'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
    rlimits: [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }],
  };
  const { process, warnings } = buildExecProcess(config, exec, 40);
  t.same(process.args, ['sh', '-c', 'true']);
  t.same(process.env, ['A=1'], 'its own env, and no LISTEN_FDS/LISTEN_PID');
  t.match(process, { cwd: '/tmp', uid: 5, gid: 6, additionalGids: [7], noNewPrivileges: true, terminal: false });
  t.same(process.capabilities?.bounding, [5], 'capability names become numbers (CAP_KILL = 5)');
  t.match(warnings, [/CAP_NOPE/], 'unknown capabilities are a warning, as for create');
  t.same(process.rlimits, [{ resource: 7, soft: '10', hard: '20' }], 'rlimits as numbers (RLIMIT_NOFILE = 7)');
});
