#!/usr/bin/python3
# The independent side of test/seccomp/differential.test.ts: builds each linux.seccomp profile
# with the real libseccomp (Debian's python3-seccomp), the way runc 1.1 drives libseccomp-golang,
# and prints libseccomp's BPF. Reads {"profiles": [...]} as JSON on stdin, writes one JSON result
# per profile: {"bpf": base64}, {"pfc": text} (libseccomp's pseudo filter code, printed from its
# rule tree) plus {"highest": {abi: nr}}, the numbers runc's -ENOSYS stub
# (libcontainer/seccomp/patchbpf) takes from libseccomp's own syscall tables; or {"error": text}
# where libseccomp refuses the profile.
#
# runc's steps modelled here: the default action and each rule's action with its errnoRet
# (ERRNO and TRACE default to EPERM); rules whose action equals the default are skipped; names
# libseccomp does not know are skipped; no args: one unconditional rule; args naming each
# argument once: one rule with all of them; an argument named twice: one rule per condition.
import base64
import json
import os
import sys
import tempfile

import seccomp

EPERM = 1
ARCHES = {'SCMP_ARCH_X86_64': ('x86_64', seccomp.Arch.X86_64), 'SCMP_ARCH_X86': ('i386', seccomp.Arch.X86), 'SCMP_ARCH_X32': ('x32', seccomp.Arch.X32)}
OPS = {'SCMP_CMP_NE': seccomp.NE, 'SCMP_CMP_LT': seccomp.LT, 'SCMP_CMP_LE': seccomp.LE, 'SCMP_CMP_EQ': seccomp.EQ,
       'SCMP_CMP_GE': seccomp.GE, 'SCMP_CMP_GT': seccomp.GT, 'SCMP_CMP_MASKED_EQ': seccomp.MASKED_EQ}


def action(name, errno_ret):
    """A (key, libseccomp action) pair; keys compare as runc compares ScmpAction values."""
    if name in ('SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD'):
        return ('kill', seccomp.KILL)
    if name == 'SCMP_ACT_KILL_PROCESS':
        return ('kill_process', seccomp.KILL_PROCESS)
    if name == 'SCMP_ACT_TRAP':
        return ('trap', seccomp.TRAP)
    if name == 'SCMP_ACT_ALLOW':
        return ('allow', seccomp.ALLOW)
    if name == 'SCMP_ACT_LOG':
        return ('log', seccomp.LOG)
    if name == 'SCMP_ACT_NOTIFY':
        return ('notify', seccomp.NOTIFY)
    errno = EPERM if errno_ret is None else errno_ret
    if name == 'SCMP_ACT_ERRNO':
        return (('errno', errno), seccomp.ERRNO(errno))
    if name == 'SCMP_ACT_TRACE':
        return (('trace', errno), seccomp.TRACE(errno))
    raise ValueError('unknown action ' + name)


def resolve(arch, name):
    try:
        return seccomp.resolve_syscall(arch, name)
    except Exception:
        return -1


def build(profile):
    default_key, default_action = action(profile['defaultAction'], profile.get('defaultErrnoRet'))
    f = seccomp.SyscallFilter(default_action)
    abis = {'x86_64': seccomp.Arch.X86_64}
    for name in profile.get('architectures') or []:
        if name in ARCHES:
            abi, arch = ARCHES[name]
            if abi not in abis:
                f.add_arch(arch)
                abis[abi] = arch
    highest = {}
    for rule in profile.get('syscalls') or []:
        key, act = action(rule['action'], rule.get('errnoRet'))
        for name in rule['names']:
            for abi, arch in abis.items():
                nr = resolve(arch, name)
                if nr > highest.get(abi, 0):  # runc: a largest number of 0 means none
                    highest[abi] = nr
            if key == default_key:
                continue
            if resolve(seccomp.Arch.NATIVE, name) == -1:
                continue  # runc: unknown seccomp syscall ignored
            args = rule.get('args') or []
            conds = [seccomp.Arg(a['index'], OPS[a['op']], a['value'], a.get('valueTwo', 0)) for a in args]
            indexes = [a['index'] for a in args]
            if len(set(indexes)) != len(indexes):
                for cond in conds:
                    f.add_rule(act, name, cond)
            else:
                f.add_rule(act, name, *conds)
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        bpf = out.read()
    # libseccomp's pseudo filter code, printed from its rule tree rather than from its BPF.
    with tempfile.TemporaryFile() as out:
        f.export_pfc(out)
        out.seek(0)
        pfc = out.read().decode()
    return {'bpf': base64.b64encode(bpf).decode(), 'pfc': pfc, 'highest': highest}


def main():
    request = json.load(sys.stdin)
    if 'names' in request:  # libseccomp's syscall tables, for the names asked about
        json.dump({abi: {name: resolve(arch, name) for name in request['names']} for abi, arch in ARCHES.values()}, sys.stdout)
        return
    results = []
    for profile in request['profiles']:
        try:
            results.append(build(profile))
        except Exception as e:  # libseccomp refused it (e.g. EEXIST); runts must refuse it too
            results.append({'error': '%s: %s' % (type(e).__name__, e)})
    json.dump({'results': results}, sys.stdout)


if __name__ == '__main__':
    main()
