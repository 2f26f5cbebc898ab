// Podman's default seccomp profile (/usr/share/containers/seccomp.json, from containers-common)
// turned into a config.json linux.seccomp the way containers/common does it for an x86_64
// host: the arch map entry of the native arch gives the architectures, and each rule is kept
// only if its includes/excludes (capabilities, arches, minimum kernel) hold.
import * as fs from 'node:fs';
import * as os from 'node:os';

export const PODMAN_PROFILE = '/usr/share/containers/seccomp.json';

interface PodmanRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[] | null;
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[] };
}

function kernelAtLeast(minimum: string): boolean {
  const [major = 0, minor = 0] = os.release().split(/[.-]/).map(Number);
  const [wantMajor = 0, wantMinor = 0] = minimum.split('.').map(Number);
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** The linux.seccomp podman would write for a container with these (bounding) capabilities. */
export function podmanSeccomp(capabilities: string[]): Record<string, any> {
  const profile = JSON.parse(fs.readFileSync(PODMAN_PROFILE, 'utf8'));
  const arch = 'amd64';
  const native = (profile.archMap as { architecture: string; subArchitectures: string[] }[]).find((a) => a.architecture === 'SCMP_ARCH_X86_64');
  const syscalls = (profile.syscalls as PodmanRule[])
    .filter((rule) => {
      const inc = rule.includes ?? {};
      const exc = rule.excludes ?? {};
      if (exc.caps?.some((cap) => capabilities.includes(cap))) return false;
      if (exc.arches?.includes(arch)) return false;
      if (inc.arches && inc.arches.length > 0 && !inc.arches.includes(arch)) return false;
      if (inc.caps && inc.caps.length > 0 && !inc.caps.every((cap) => capabilities.includes(cap))) return false;
      if (inc.minKernel && !kernelAtLeast(inc.minKernel)) return false;
      return true;
    })
    .map((rule) => ({
      names: rule.names,
      action: rule.action,
      ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
      ...(rule.args && rule.args.length > 0 ? { args: rule.args } : {}),
    }));
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures: native ? [native.architecture, ...native.subArchitectures] : [],
    syscalls,
  };
}
