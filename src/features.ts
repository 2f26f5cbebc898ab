// The `runts features` document (runtime-spec features.md): what this build implements.
// Every list is read from the module that implements it, so the report cannot drift from
// the code; test/commands/features.test.ts checks each claim against its implementation.
import * as os from 'node:os';
import { commitString, OCI_SPEC_VERSION, RUNTS_VERSION } from './cli/version';
import { kernelAtLeast, kernelVersion } from './kernel';
import { CLONE_FLAGS } from './plan/build';
import { CAPABILITY_NUMBERS } from './plan/capabilities';
import { honouredMountOptions } from './plan/mount-options';
import { MPOL_FLAGS, MPOL_MODES } from './plan/process-attrs';
import { SECCOMP_SUPPORT } from './seccomp/compile';
import type { Hooks } from './spec/types';

/** The runtime-spec features document (features-schema.json, Linux part). */
export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean; rdma: boolean };
    seccomp: { enabled: boolean; actions: string[]; operators: string[]; archs: string[]; knownFlags: string[]; supportedFlags: string[] };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
    memoryPolicy: { modes: string[]; flags: string[] };
    intelRdt: { enabled: boolean; schemata: boolean; monitoring: boolean };
    mountExtensions: { idmap: { enabled: boolean } };
    netDevices: { enabled: boolean };
  };
  annotations: Record<string, string>;
  potentiallyUnsafeConfigAnnotations: string[];
}

/** The oldest config version runts accepts (any 1.x, as runc). */
const OCI_VERSION_MIN = '1.0.0';

/** Every hook phase, in lifecycle order: prestart and createRuntime (src/container/create.ts),
 *  createContainer and startContainer (run by the init helper from the plan), poststart
 *  (src/container/lifecycle.ts start), poststop (delete). */
const HOOK_PHASES = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const satisfies readonly (keyof Hooks)[];
// A phase added to the spec's Hooks type without being listed here fails to compile.
const everyHookPhaseListed: Exclude<keyof Hooks, (typeof HOOK_PHASES)[number]> extends never ? true : false = true;
void everyHookPhaseListed;

/** The kernel release that introduced each seccomp filter flag runts passes to seccomp(2).
 *  TSYNC is accepted and ignored (see src/seccomp/compile.ts), so any kernel will do. */
const SECCOMP_FLAG_MIN_KERNEL: Readonly<Record<string, readonly [number, number]>> = {
  SECCOMP_FILTER_FLAG_TSYNC: [0, 0],
  SECCOMP_FILTER_FLAG_LOG: [4, 14],
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: [4, 17],
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: [5, 19],
};

/** Idmapped bind mounts (open_tree + mount_setattr MOUNT_ATTR_IDMAP, native/init/idmap.cc)
 *  need Linux 5.12. */
const IDMAP_MIN_KERNEL = [5, 12] as const;

/** The kernel release that introduced each memory policy mode and flag newer than 4.x. */
const MEMPOLICY_MIN_KERNEL: Readonly<Record<string, readonly [number, number]>> = {
  MPOL_F_NUMA_BALANCING: [5, 12],
  MPOL_PREFERRED_MANY: [5, 15],
  MPOL_WEIGHTED_INTERLEAVE: [6, 9],
};

/** The document for a kernel release (default: the running kernel, for supportedFlags). */
export function buildFeatures(kernelRelease: string = os.release()): Features {
  const kernel = kernelVersion(kernelRelease);
  const knownFlags = [...SECCOMP_SUPPORT.flags];
  // Sorted like runc's lists; only what this kernel's set_mempolicy(2) takes.
  const mempolicy = (names: string[]) => names.filter((n) => kernelAtLeast(kernel, MEMPOLICY_MIN_KERNEL[n] ?? [0, 0])).sort();
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: OCI_SPEC_VERSION,
    hooks: [...HOOK_PHASES],
    mountOptions: honouredMountOptions(),
    linux: {
      namespaces: Object.keys(CLONE_FLAGS).sort(),
      // Like runc: every capability this build knows, in kernel order, whatever this kernel knows.
      capabilities: Object.entries(CAPABILITY_NUMBERS)
        .sort(([, a], [, b]) => a - b)
        .map(([name]) => name),
      // src/cgroups drives v1 and v2 hierarchies (hybrid too) through cgroupfs, rdma included,
      // and systemd (--systemd-cgroup, as root); not a user's systemd (rootless).
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: false, rdma: true },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_SUPPORT.actions].sort(),
        operators: [...SECCOMP_SUPPORT.operators].sort(),
        archs: [...SECCOMP_SUPPORT.archs].sort(),
        knownFlags,
        supportedFlags: knownFlags.filter((flag) => {
          const min = SECCOMP_FLAG_MIN_KERNEL[flag];
          return min !== undefined && kernelAtLeast(kernel, min);
        }),
      },
      // Applied where the host runs the LSM (src/plan/process-attrs.ts); like runc, this says
      // what runts supports, not what the host has.
      apparmor: { enabled: true },
      selinux: { enabled: true },
      memoryPolicy: { modes: mempolicy(Object.keys(MPOL_MODES)), flags: mempolicy(Object.keys(MPOL_FLAGS)) },
      // Compiled in (src/intelrdt/resctrl.ts), whether or not this host mounts resctrl, as runc.
      intelRdt: { enabled: true, schemata: true, monitoring: true },
      // containerd and CRI-O read this to decide whether user-namespaced pods can work.
      mountExtensions: { idmap: { enabled: kernelAtLeast(kernel, IDMAP_MIN_KERNEL) } },
      netDevices: { enabled: true },
    },
    annotations: {
      'io.github.runts.commit': commitString(),
      'io.github.runts.libseccomp.version': 'none (BPF compiled in TypeScript)',
      'io.github.runts.version': RUNTS_VERSION,
    },
    // No config.json annotation changes what runts does.
    potentiallyUnsafeConfigAnnotations: [],
  };
}

/** What `runts features` prints: indented like runc's (four spaces). */
export function featuresText(kernelRelease?: string): string {
  return `${JSON.stringify(buildFeatures(kernelRelease), null, 4)}\n`;
}
