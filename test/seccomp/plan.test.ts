// linux.seccomp in the init plan: compiled into PlanProcess.seccomp (checked through the
// exec planner, which shares planProcess with the init's), errors as PlanError.
import t from 'tap';
import { buildExecProcess, PlanError } from '../../src/plan/build';
import { SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_FILTER_FLAG_SPEC_ALLOW } from '../../src/seccomp/compile';
import { OCI_SPEC_VERSION } from '../../src/cli/version';
import type { Spec } from '../../src/spec/types';
import { decodeProgram, runFilter } from './interpreter';

const process = { cwd: '/', args: ['sh'] };
const spec = (seccomp: unknown): Spec => ({ ociVersion: '1.0.2', process, linux: { seccomp } } as Spec);

t.test('no profile: no filter', async (t) => {
  t.equal(buildExecProcess({ ociVersion: '1.0.2', process } as Spec, process, 40).process.seccomp, null);
});

t.test('a profile becomes a base64 filter, flags and no listener', async (t) => {
  const { process: planned, notes } = buildExecProcess(
    spec({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'not_a_syscall'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] }),
    process,
    40,
  );
  const seccomp = planned.seccomp!;
  t.equal(seccomp.flags, SECCOMP_FILTER_FLAG_SPEC_ALLOW);
  t.equal(seccomp.listener, null);
  const program = decodeProgram(Buffer.from(seccomp.filter, 'base64'));
  t.equal(runFilter(program, { nr: 83, arch: 0xc000003e }), 0x00050026, 'mkdir: ENOSYS');
  t.match(notes, ['unknown seccomp syscall "not_a_syscall" ignored'], 'skipped names are debug notes');
});

t.test('SCMP_ACT_NOTIFY: a listener with path, metadata and the spec version', async (t) => {
  const { process: planned } = buildExecProcess(
    spec({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', listenerMetadata: 'meta', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }),
    process,
    40,
  );
  t.strictSame(planned.seccomp!.listener, { path: '/run/agent.sock', metadata: 'meta', ociVersion: OCI_SPEC_VERSION });
  t.equal(planned.seccomp!.flags, SECCOMP_FILTER_FLAG_SPEC_ALLOW | SECCOMP_FILTER_FLAG_NEW_LISTENER);
});

t.test('an invalid profile is a PlanError', async (t) => {
  t.throws(() => buildExecProcess(spec({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/a' }), process, 40), new PlanError('SCMP_ACT_NOTIFY cannot be used as default action'));
});
