// The seccomp compiler, checked by running its BPF through an interpreter the way the
// kernel would (no root needed): actions, argument conditions, architectures, runc's
// -ENOSYS stub, flags, errors, and podman's default profile.
import * as fs from 'node:fs';
import t from 'tap';
import type { LinuxSeccomp } from '../../src/spec/types';
import {
  AUDIT_ARCH_I386,
  AUDIT_ARCH_X86_64,
  compileSeccomp,
  SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_NEW_LISTENER,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
  X32_SYSCALL_BIT,
} from '../../src/seccomp/compile';
import { SYSCALLS_I386, SYSCALLS_X32, SYSCALLS_X86_64 } from '../../src/seccomp/generated/syscalls';
import { decodeProgram, runFilter } from './interpreter';
import { PODMAN_PROFILE, podmanSeccomp } from './podman-profile';

const ALLOW = 0x7fff0000;
const KILL_THREAD = 0;
const KILL_PROCESS = 0x80000000;
const errno = (n: number): number => 0x00050000 + n;
const EPERM = 1;
const EINVAL = 22;
const ENOSYS = 38;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;

const nr64 = (name: string): number => SYSCALLS_X86_64.get(name)!;

/** Compiles config and returns a function giving the action for one syscall. */
function filterOf(config: LinuxSeccomp) {
  const compiled = compileSeccomp(config);
  // Exercise the wire form too: the base64 the helper loads decodes to the same program.
  const program = decodeProgram(Buffer.from(compiled.filter, 'base64'));
  return {
    compiled,
    action: (nr: number, args: (bigint | number)[] = [], arch = AUDIT_ARCH_X86_64): number => runFilter(program, { nr, arch, args }),
  };
}

t.test('default action and one denied syscall, with errnoRet', async (t) => {
  const { action } = filterOf({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS }] });
  t.equal(action(nr64('mkdir')), errno(ENOSYS), 'mkdir returns ENOSYS');
  t.equal(action(nr64('mkdirat')), errno(ENOSYS), 'mkdirat returns ENOSYS');
  for (const name of ['read', 'write', 'execve', 'rmdir', 'clone3']) t.equal(action(nr64(name)), ALLOW, `${name} allowed`);
  t.equal(action(100000), ALLOW, 'a number beyond every syscall gets the (allow) default: no ENOSYS stub for an allowing default');
});

t.test('defaultAction ERRNO with an allow list; ERRNO without errnoRet is EPERM, as runc', async (t) => {
  const { action } = filterOf({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' }] });
  t.equal(action(nr64('read')), ALLOW);
  t.equal(action(nr64('exit_group')), ALLOW);
  t.equal(action(nr64('mkdir')), errno(EPERM), 'unlisted syscall gets the default EPERM');
  t.equal(action(nr64('exit_group') + 1), errno(ENOSYS), 'above the highest listed syscall: runc\'s -ENOSYS stub');
  const withErrno = filterOf({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 5, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
  t.equal(withErrno.action(nr64('write')), errno(5), 'defaultErrnoRet is the default errno');
});

t.test('every action maps to its SECCOMP_RET value', async (t) => {
  const cases: [string, number | undefined, number][] = [
    ['SCMP_ACT_KILL', undefined, KILL_THREAD],
    ['SCMP_ACT_KILL_THREAD', undefined, KILL_THREAD],
    ['SCMP_ACT_KILL_PROCESS', undefined, KILL_PROCESS],
    ['SCMP_ACT_TRAP', undefined, 0x00030000],
    ['SCMP_ACT_ERRNO', undefined, errno(EPERM)],
    ['SCMP_ACT_ERRNO', 38, errno(38)],
    ['SCMP_ACT_TRACE', undefined, 0x7ff00000 + EPERM],
    ['SCMP_ACT_TRACE', 7, 0x7ff00007],
    ['SCMP_ACT_LOG', undefined, 0x7ffc0000],
    ['SCMP_ACT_NOTIFY', undefined, 0x7fc00000],
  ];
  for (const [name, errnoRet, expected] of cases) {
    const { action, compiled } = filterOf({
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: '/run/agent.sock',
      syscalls: [{ names: ['mkdir'], action: name as LinuxSeccomp['defaultAction'], ...(errnoRet !== undefined ? { errnoRet } : {}) }],
    });
    t.equal(action(nr64('mkdir')) >>> 0, expected >>> 0, `${name}${errnoRet !== undefined ? ` errnoRet ${errnoRet}` : ''}`);
    t.equal(compiled.listener, name === 'SCMP_ACT_NOTIFY', `${name}: listener only for NOTIFY`);
    t.equal((compiled.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) !== 0, name === 'SCMP_ACT_NOTIFY', `${name}: NEW_LISTENER flag only for NOTIFY`);
  }
});

t.test('rules with the default action are dropped; unknown names are skipped with a note', async (t) => {
  const { action, compiled } = filterOf({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }, // same as the default (EPERM)
      { names: ['no_such_syscall', 'read'], action: 'SCMP_ACT_ALLOW' },
    ],
  });
  t.equal(action(nr64('read')), ALLOW, 'the known name of a rule still applies');
  t.equal(action(nr64('mkdir')), errno(EPERM));
  t.match(compiled.notes, ['unknown seccomp syscall "no_such_syscall" ignored']);
});

// Reference semantics for one 64-bit comparison (libseccomp's, unsigned).
function holds(op: string, arg: bigint, value: bigint, valueTwo: bigint): boolean {
  switch (op) {
    case 'SCMP_CMP_EQ': return arg === value;
    case 'SCMP_CMP_NE': return arg !== value;
    case 'SCMP_CMP_LT': return arg < value;
    case 'SCMP_CMP_LE': return arg <= value;
    case 'SCMP_CMP_GT': return arg > value;
    case 'SCMP_CMP_GE': return arg >= value;
    case 'SCMP_CMP_MASKED_EQ': return (arg & value) === (valueTwo & value);
  }
  throw new Error(op);
}

t.test('each operator on 64-bit arguments, high and low words', async (t) => {
  const value = 0x1_0000_0005n;
  const probes = [0n, 4n, 5n, 6n, 0xffff_ffffn, 0x1_0000_0004n, 0x1_0000_0005n, 0x1_0000_0006n, 0x2_0000_0000n, 0x0_ffff_ffff_ffffn, 0xffff_ffff_ffff_ffffn];
  for (const op of ['SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GT', 'SCMP_CMP_GE'] as const) {
    const { action } = filterOf({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: EINVAL, args: [{ index: 0, value: Number(value), op }] }],
    });
    for (const arg of probes) {
      const expected = holds(op, arg, value, 0n) ? errno(EINVAL) : ALLOW;
      t.equal(action(nr64('personality'), [arg]), expected, `${op} 0x${value.toString(16)}: arg 0x${arg.toString(16)}`);
    }
  }
});

t.test('SCMP_CMP_MASKED_EQ: (arg & value) == valueTwo, in both words', async (t) => {
  // podman's clone rule shape: no namespace flags set.
  const clone = filterOf({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }],
  });
  t.equal(clone.action(nr64('clone'), [0x01200011]), ALLOW, 'fork-like clone flags pass');
  t.equal(clone.action(nr64('clone'), [0x01200011 | 0x20000000]), errno(EPERM), 'CLONE_NEWPID is refused');
  t.equal(clone.action(nr64('clone'), [0x00020000]), errno(EPERM), 'CLONE_NEWNS is refused');

  const mask = 0xff00_0000_00ffn;
  const valueTwo = 0x1200_0000_0034n;
  const wide = filterOf({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: Number(mask), valueTwo: Number(valueTwo), op: 'SCMP_CMP_MASKED_EQ' }] }],
  });
  for (const arg of [0x1200_0000_0034n, 0x12ff_ffff_ff34n, 0x1300_0000_0034n, 0x1200_0000_0035n, 0x34n, 0xffff_ffff_ffff_ffffn]) {
    const expected = holds('SCMP_CMP_MASKED_EQ', arg, mask, valueTwo) ? errno(EPERM) : ALLOW;
    t.equal(wide.action(nr64('ioctl'), [0, arg]), expected, `masked 0x${arg.toString(16)}`);
  }
});

t.test('conditions: distinct arguments AND, a repeated argument splits into OR (runc), rules OR', async (t) => {
  const and = filterOf({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: EINVAL, args: [{ index: 0, value: 16, op: 'SCMP_CMP_EQ' }, { index: 2, value: 9, op: 'SCMP_CMP_EQ' }] }],
  });
  t.equal(and.action(nr64('socket'), [16, 3, 9]), errno(EINVAL), 'both conditions hold');
  t.equal(and.action(nr64('socket'), [16, 3, 0]), ALLOW, 'only arg0 holds');
  t.equal(and.action(nr64('socket'), [2, 3, 9]), ALLOW, 'only arg2 holds');

  const repeated = filterOf({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 0, value: 2, op: 'SCMP_CMP_EQ' }] }],
  });
  t.equal(repeated.action(nr64('personality'), [1]), errno(EPERM), 'first condition alone matches');
  t.equal(repeated.action(nr64('personality'), [2]), errno(EPERM), 'second condition alone matches');
  t.equal(repeated.action(nr64('personality'), [3]), ALLOW, 'neither');

  const rules = filterOf({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: ENOSYS,
    syscalls: [0, 8, 0x20000, 0x20008, 0xffffffff].map((value) => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW' as const, args: [{ index: 0, value, op: 'SCMP_CMP_EQ' as const }] })),
  });
  for (const value of [0, 8, 0x20000, 0x20008, 0xffffffff]) t.equal(rules.action(nr64('personality'), [value]), ALLOW, `personality(0x${value.toString(16)}) allowed`);
  t.equal(rules.action(nr64('personality'), [0x1234]), errno(ENOSYS), 'any other persona gets the default');
  t.equal(rules.action(nr64('personality'), [0x1_ffff_ffffn]), errno(ENOSYS), 'a 64-bit value with the same low word does not match');
});

t.test('an unconditional rule overrides conditional ones for its syscall; the first unconditional wins', async (t) => {
  const { action } = filterOf({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 5, args: [{ index: 1, value: 0o700, op: 'SCMP_CMP_EQ' }] },
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 6 },
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 7 },
    ],
  });
  t.equal(action(nr64('mkdir'), [0, 0o700]), errno(6));
  t.equal(action(nr64('mkdir'), [0, 0o755]), errno(6));
});

t.test('a comparison that always holds (zero mask) leaves an unconditional rule, as libseccomp', async (t) => {
  const { action } = filterOf({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 5, args: [{ index: 1, value: 0o700, op: 'SCMP_CMP_EQ' }] },
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 6, args: [{ index: 0, value: 0, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
    ],
  });
  t.equal(action(nr64('mkdir'), [0, 0o700]), errno(6), 'the unconditional rule replaced the conditional one');
});

t.test('a profile naming no syscall warns as runc does', async (t) => {
  t.strictSame(compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO' }).warnings, ['could not find any syscalls for arch amd64']);
  t.strictSame(compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' }).warnings, [], 'no stub, no warning');
});

t.test('architectures: native always present, others killed, i386 and x32 on request', async (t) => {
  const rules: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
  const nativeOnly = filterOf({ ...rules, architectures: ['SCMP_ARCH_AARCH64'] });
  t.equal(nativeOnly.action(nr64('mkdir')), errno(EPERM), 'x86_64 is filtered though not listed');
  t.equal(nativeOnly.action(nr64('read'), [], AUDIT_ARCH_AARCH64), KILL_THREAD, 'a foreign arch is killed');
  t.equal(nativeOnly.action(SYSCALLS_I386.get('read')!, [], AUDIT_ARCH_I386), KILL_THREAD, 'i386 not in the filter: killed');
  t.equal(nativeOnly.action(SYSCALLS_X32.get('read')!), KILL_THREAD, 'x32 not in the filter: killed');
  t.equal(nativeOnly.action(-1), ALLOW, 'nr -1 (a tracer skipping a syscall) is not an x32 syscall');
  t.match(nativeOnly.compiled.notes, [/SCMP_ARCH_AARCH64 is not supported by this build/]);

  const all = filterOf({ ...rules, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'] });
  t.equal(all.action(SYSCALLS_I386.get('mkdir')!, [], AUDIT_ARCH_I386), errno(EPERM), 'i386 mkdir (39) by its own number');
  t.equal(all.action(nr64('mkdir'), [], AUDIT_ARCH_I386), ALLOW, 'x86_64 mkdir number (83) on i386 is another syscall');
  t.equal(all.action(SYSCALLS_X32.get('mkdir')!), errno(EPERM), 'x32 mkdir has __X32_SYSCALL_BIT set');
  t.equal(SYSCALLS_X32.get('mkdir'), (X32_SYSCALL_BIT | nr64('mkdir')) >>> 0);
  t.equal(all.action(SYSCALLS_X32.get('read')!), ALLOW);
});

t.test('32-bit ABIs compare the low word of arguments only (libseccomp)', async (t) => {
  const { action } = filterOf({
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86'],
    syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0x1_0000_0008, op: 'SCMP_CMP_EQ' }] }],
  });
  t.equal(action(SYSCALLS_I386.get('personality')!, [8], AUDIT_ARCH_I386), errno(EPERM), 'i386: low word 8 matches');
  t.equal(action(nr64('personality'), [8]), ALLOW, 'x86_64: the high word counts');
  t.equal(action(nr64('personality'), [0x1_0000_0008n]), errno(EPERM));
});

t.test('runc\'s -ENOSYS stub uses the highest syscall each ABI names', async (t) => {
  const { action } = filterOf({
    defaultAction: 'SCMP_ACT_KILL_PROCESS',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86'],
    syscalls: [{ names: ['read', 'write', 'mkdir'], action: 'SCMP_ACT_ALLOW' }],
  });
  t.equal(action(nr64('mkdir')), ALLOW);
  t.equal(action(nr64('close')), KILL_PROCESS, 'below the highest named syscall: the default');
  t.equal(action(nr64('mkdir') + 1), errno(ENOSYS), 'above it: ENOSYS');
  t.equal(action(SYSCALLS_X32.get('mkdir')! + 1), errno(ENOSYS), 'x32 has its own bound');
  t.equal(action(SYSCALLS_X32.get('close')!), KILL_PROCESS);
  t.equal(action(SYSCALLS_I386.get('mkdir')! + 1, [], AUDIT_ARCH_I386), errno(ENOSYS), 'i386 has its own bound');
  t.equal(action(SYSCALLS_I386.get('write')!, [], AUDIT_ARCH_I386), ALLOW);
  t.equal(action(1, [], AUDIT_ARCH_AARCH64), KILL_THREAD, 'a foreign arch skips the stub and is killed');
});

t.test('flags: SPEC_ALLOW by default, TSYNC accepted and not passed, others mapped', async (t) => {
  const base = { defaultAction: 'SCMP_ACT_ALLOW' as const };
  t.equal(compileSeccomp(base).flags, SECCOMP_FILTER_FLAG_SPEC_ALLOW, 'no flags: runc sets SPEC_ALLOW');
  t.equal(compileSeccomp({ ...base, flags: [] }).flags, 0, 'an empty list: none');
  t.equal(compileSeccomp({ ...base, flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }).flags, 0);
  const notify = { listenerPath: '/run/agent.sock', syscalls: [{ names: ['mkdir'] as [string], action: 'SCMP_ACT_NOTIFY' as const }] };
  t.equal(
    compileSeccomp({ ...base, ...notify, flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }).flags,
    SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | SECCOMP_FILTER_FLAG_NEW_LISTENER,
  );
  t.throws(() => compileSeccomp({ ...base, flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }), /invalid argument/, 'WAIT_KILLABLE_RECV needs a listener (the kernel says EINVAL)');
});

t.test('invalid profiles are refused with runc\'s wording', async (t) => {
  const cases: [Record<string, any>, RegExp][] = [
    [{ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/a' }, /SCMP_ACT_NOTIFY cannot be used as default action/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/a', syscalls: [{ names: ['write'], action: 'SCMP_ACT_NOTIFY' }] }, /SCMP_ACT_NOTIFY cannot be used for the write syscall/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /listenerPath is not set/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_BOGUS'] }, /seccomp flag SECCOMP_FILTER_FLAG_BOGUS is not known/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_M68K'] }, /string SCMP_ARCH_M68K is not a valid arch for seccomp/],
    [{ defaultAction: 'SCMP_ACT_BOGUS' }, /string SCMP_ACT_BOGUS is not a valid action for seccomp/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] }, /argument index 6/],
  ];
  for (const [config, message] of cases) t.throws(() => compileSeccomp(config as LinuxSeccomp), message, message.source);
});

t.test('conditional jumps beyond 255 instructions become long jumps', async (t) => {
  // Hundreds of conditional rules put the shared return instructions far from the jumps.
  const names = [...SYSCALLS_X86_64.keys()].slice(0, 200);
  const { action, compiled } = filterOf({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: names.map((name) => ({ names: [name], action: 'SCMP_ACT_ALLOW' as const, args: [{ index: 2, value: 7, op: 'SCMP_CMP_GE' as const }] })),
  });
  t.ok(compiled.program.length > 256, `program has ${compiled.program.length} instructions`);
  t.ok(compiled.program.some((insn) => insn.code === 0x05 && insn.k > 255), 'has a ja beyond 255');
  for (const name of [names[0]!, names[100]!, names[199]!]) {
    t.equal(action(nr64(name), [0, 0, 7]), ALLOW, `${name}(…, 7) allowed`);
    t.equal(action(nr64(name), [0, 0, 6]), errno(EPERM), `${name}(…, 6) denied`);
  }
});

t.test('podman\'s default profile compiles and behaves', { skip: !fs.existsSync(PODMAN_PROFILE) && `${PODMAN_PROFILE} is not installed` }, async (t) => {
  const caps = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT'];
  const { action, compiled } = filterOf(podmanSeccomp(caps) as LinuxSeccomp);
  t.ok(compiled.program.length < 1024, `a sane size: ${compiled.program.length} instructions`);
  t.equal(compiled.flags, SECCOMP_FILTER_FLAG_SPEC_ALLOW);
  for (const name of ['read', 'write', 'openat', 'execve', 'clone', 'clone3', 'mkdir', 'exit_group', 'chroot', 'arch_prctl']) t.equal(action(nr64(name)), ALLOW, `${name} allowed`);
  t.equal(action(SYSCALLS_I386.get('socketcall')!, [], AUDIT_ARCH_I386), ALLOW, 'i386 socketcall allowed');
  t.equal(action(nr64('kexec_load')), errno(EPERM), 'kexec_load: EPERM');
  t.equal(action(nr64('perf_event_open')), errno(EPERM), 'perf_event_open without CAP_SYS_ADMIN: EPERM');
  t.equal(action(nr64('personality'), [0xffffffff]), ALLOW, 'personality(0xffffffff) allowed');
  t.equal(action(nr64('personality'), [0x1234]), errno(ENOSYS), 'other personas: default ENOSYS');
  t.equal(action(nr64('socket'), [16, 3, 9]), errno(EINVAL), 'AF_NETLINK/NETLINK_AUDIT socket without CAP_AUDIT_WRITE: EINVAL');
  t.equal(action(nr64('socket'), [2, 1, 0]), ALLOW, 'an inet socket is fine');
  t.equal(action(9999), errno(ENOSYS), 'unknown syscall: ENOSYS');
});

t.test('a rule with the same conditions as an earlier one and another action is refused, as libseccomp (EEXIST) makes runc', async (t) => {
  const rule = (action: 'SCMP_ACT_TRAP' | 'SCMP_ACT_ALLOW', args: any[]) => ({ names: ['fchown'], action, args });
  const eq = (index: number, value: number | bigint, op = 'SCMP_CMP_EQ', valueTwo?: number) => ({ index, op, value, ...(valueTwo !== undefined ? { valueTwo } : {}) });
  const refused = (syscalls: any[], architectures?: string[]) =>
    t.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_KILL', syscalls, ...(architectures ? { architectures } : {}) } as LinuxSeccomp), { message: 'error adding seccomp rule for syscall fchown: file exists' });
  refused([rule('SCMP_ACT_TRAP', [eq(0, 1)]), rule('SCMP_ACT_ALLOW', [eq(0, 1)])]);
  refused([rule('SCMP_ACT_TRAP', [eq(0, 1), eq(1, 2)]), rule('SCMP_ACT_ALLOW', [eq(1, 2), eq(0, 1)])], undefined);
  refused([rule('SCMP_ACT_TRAP', [eq(0, 0xff, 'SCMP_CMP_MASKED_EQ', 257)]), rule('SCMP_ACT_ALLOW', [eq(0, 0xff, 'SCMP_CMP_MASKED_EQ', 1)])]);
  refused([rule('SCMP_ACT_TRAP', [eq(0, 1), eq(0, 1)]), rule('SCMP_ACT_ALLOW', [eq(0, 1)])]);
  refused([rule('SCMP_ACT_TRAP', [eq(0, 2n ** 32n + 1n)]), rule('SCMP_ACT_ALLOW', [eq(0, 1)])], ['SCMP_ARCH_X86']);
  // What libseccomp accepts: same action, a different set, inverse operators, after an unconditional rule.
  const ok = (syscalls: any[]) => t.doesNotThrow(() => compileSeccomp({ defaultAction: 'SCMP_ACT_KILL', syscalls } as LinuxSeccomp));
  ok([rule('SCMP_ACT_TRAP', [eq(0, 1)]), rule('SCMP_ACT_TRAP', [eq(0, 1)])]);
  ok([rule('SCMP_ACT_TRAP', [eq(0, 1)]), rule('SCMP_ACT_ALLOW', [eq(0, 1), eq(1, 2)])]);
  ok([rule('SCMP_ACT_TRAP', [eq(0, 1, 'SCMP_CMP_NE')]), rule('SCMP_ACT_ALLOW', [eq(0, 1)])]);
  ok([rule('SCMP_ACT_TRAP', [eq(0, 2n ** 32n + 1n)]), rule('SCMP_ACT_ALLOW', [eq(0, 1)])]);
  ok([{ names: ['fchown'], action: 'SCMP_ACT_TRAP' }, rule('SCMP_ACT_TRAP', [eq(0, 1)]), rule('SCMP_ACT_ALLOW', [eq(0, 1)])]);
});

// libseccomp 2.5.4 does not try a syscall's rules in profile order: it merges them into one
// tree of 32-bit comparisons whose levels are sorted (higher argument first, then GT/GE before
// LT/LE before equality, then the operand) and, where two rules' high-word comparisons are
// equal, keeps one action for both. Expected values: libseccomp's own pseudo filter code for
// the same rules (seccomp_export_pfc), and test/seccomp/differential.test.ts on many more.
t.test('rules of one syscall with different actions decide as libseccomp\'s merged tree, not in profile order', async (t) => {
  const fchown = nr64('fchown');
  const rule = (action: 'SCMP_ACT_ERRNO' | 'SCMP_ACT_ALLOW', errnoRet: number | undefined, index: number, op: string, value: number | bigint) =>
    ({ names: ['fchown'], action, ...(errnoRet !== undefined ? { errnoRet } : {}), args: [{ index, op, value }] });
  const build = (syscalls: any[]) => filterOf({ defaultAction: 'SCMP_ACT_KILL', syscalls } as LinuxSeccomp).action;

  const byArgument = build([rule('SCMP_ACT_ERRNO', 1, 0, 'SCMP_CMP_EQ', 1), rule('SCMP_ACT_ALLOW', undefined, 1, 'SCMP_CMP_EQ', 2)]);
  t.equal(byArgument(fchown, [1, 2]), ALLOW, 'both match: arg1\'s rule is tried first, though listed second');
  t.equal(byArgument(fchown, [1, 0]), errno(1), 'only arg0\'s rule matches');
  t.equal(byArgument(fchown, [0, 0]), KILL_THREAD, 'neither');

  const equalityFirst = build([rule('SCMP_ACT_ERRNO', 1, 0, 'SCMP_CMP_GT', 5), rule('SCMP_ACT_ALLOW', undefined, 0, 'SCMP_CMP_EQ', 7)]);
  t.equal(equalityFirst(fchown, [7]), ALLOW, 'both match: equality is tried before GT');
  t.equal(equalityFirst(fchown, [6]), errno(1));
  t.equal(equalityFirst(fchown, [2n ** 32n]), errno(1), 'GT decided on the high word');

  // Both GT rules share the comparison "high word > 1"; libseccomp gives it the action of the
  // rule with the larger operand, so the first rule loses even where only it "should" decide.
  const sharedHigh = build([rule('SCMP_ACT_ERRNO', 1, 0, 'SCMP_CMP_GT', 0x1_0000_0005n), rule('SCMP_ACT_ERRNO', 2, 0, 'SCMP_CMP_GT', 0x1_0000_0009n)]);
  t.equal(sharedHigh(fchown, [2n ** 33n]), errno(2), 'high word above: the larger operand\'s action');
  t.equal(sharedHigh(fchown, [0x1_0000_000an]), errno(2));
  t.equal(sharedHigh(fchown, [0x1_0000_0006n]), errno(1), 'between the operands: only the first rule');
  t.equal(sharedHigh(fchown, [0x1_0000_0005n]), KILL_THREAD);
});
