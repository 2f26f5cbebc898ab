// What a rootless runtime cannot do, refused before anything is made, each with the field
// that asks for it: a container without a user namespace or maps, network devices and
// id-mapped mounts (runc's rootless checks),
// mount uid=/gid= options naming unmapped ids, supplementary groups when setgroups is denied,
// a lower oom_score_adj or a higher rlimit than the caller has (both need CAP_SYS_RESOURCE).
import { readFileSync } from 'node:fs';
import { RuntimeError } from '../errors';
import { RLIMIT_NUMBERS, rlimitValue } from '../plan/rlimits';
import type { LinuxIDMapping, Process, Spec } from '../spec/types';
import { idMapMethod, type Ids } from './idmap';

/** A refusal: reported as is, exit status 1. */
export class RootlessError extends RuntimeError {}

/** The caller's own limits: hard limit per resource number ('unlimited' or a decimal). */
export type HardLimits = Map<number, bigint | 'unlimited'>;

/** Parse /proc/self/limits; its rows are in resource-number order after the header. */
export function parseLimits(text: string): HardLimits {
  const out: HardLimits = new Map();
  const rows = text.split('\n').slice(1).filter((l) => l.trim() !== '');
  rows.forEach((row, resource) => {
    const m = /^Max .+?\s{2,}(\S+)\s+(\S+)/.exec(row);
    if (m) out.set(resource, m[2] === 'unlimited' ? 'unlimited' : BigInt(m[2]));
  });
  return out;
}

export interface CallerLimits {
  hardLimits: HardLimits;
  oomScoreAdj: number;
}

export function callerLimits(): CallerLimits {
  return {
    hardLimits: parseLimits(readFileSync('/proc/self/limits', 'utf8')),
    oomScoreAdj: Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim()),
  };
}

const isMapped = (id: number, mappings: LinuxIDMapping[]) => mappings.some((m) => id >= m.containerID && id < m.containerID + m.size);

const above = (want: string, have: bigint | 'unlimited' | undefined) =>
  have !== undefined && have !== 'unlimited' && (want === 'unlimited' || BigInt(want) > have);

/** The process checks, shared by create and exec. */
export function checkRootlessProcess(process: Process, at: string, limits: CallerLimits, setgroupsDenied: boolean): void {
  if (setgroupsDenied && (process.user?.additionalGids?.length ?? 0) > 0) {
    throw new RootlessError(
      `${at}.user.additionalGids: cannot set any additional groups in a rootless container whose gid map holds only the caller's gid (setgroups is denied)`,
    );
  }
  if (process.oomScoreAdj !== undefined && process.oomScoreAdj < limits.oomScoreAdj) {
    throw new RootlessError(
      `${at}.oomScoreAdj: ${process.oomScoreAdj} is below the caller's ${limits.oomScoreAdj}; lowering it needs CAP_SYS_RESOURCE, which a rootless runtime does not have`,
    );
  }
  for (const r of process.rlimits ?? []) {
    const resource = RLIMIT_NUMBERS[r.type];
    const have = limits.hardLimits.get(resource);
    for (const [which, value] of [['hard', r.hard], ['soft', r.soft]] as const) {
      const want = rlimitValue(value);
      if (above(want, have)) {
        throw new RootlessError(
          `${at}.rlimits: ${r.type} ${which} limit ${want} is above the caller's hard limit ${have}; raising it needs CAP_SYS_RESOURCE, which a rootless runtime does not have`,
        );
      }
    }
  }
}

/** Whether the container's gid map is written by the caller itself, which denies setgroups. */
export function setgroupsDenied(spec: Spec, ids: Ids): boolean {
  const newUserns = spec.linux?.namespaces?.some((ns) => ns.type === 'user' && !ns.path) ?? false;
  return newUserns && ids.uid !== 0 && idMapMethod(spec.linux?.uidMappings ?? [], spec.linux?.gidMappings ?? [], ids).gid === 'self';
}

/** Everything a rootless create refuses (runc's rootless validation, plus the limits). */
export function checkRootlessSpec(spec: Spec, ids: Ids, limits: CallerLimits): void {
  const userns = spec.linux?.namespaces?.find((ns) => ns.type === 'user');
  if (!userns) throw new RootlessError('linux.namespaces: rootless container requires user namespaces');
  // Both need privileges in the host's namespaces (runc refuses them the same way).
  if (Object.keys(spec.linux?.netDevices ?? {}).length > 0) {
    throw new RootlessError('linux.netDevices: network devices are not supported for rootless containers');
  }
  for (const mount of spec.mounts ?? []) {
    if (mount.uidMappings || mount.gidMappings || mount.options?.some((o) => o === 'idmap' || o === 'ridmap')) {
      throw new RootlessError(`mounts: ${mount.destination}: id-mapped mounts are not supported for rootless containers`);
    }
  }
  if (!userns.path) {
    if (!spec.linux?.uidMappings?.length) throw new RootlessError('linux.uidMappings: rootless containers requires at least one UID mapping');
    if (!spec.linux?.gidMappings?.length) throw new RootlessError('linux.gidMappings: rootless containers requires at least one GID mapping');
    for (const mount of spec.mounts ?? []) {
      for (const option of mount.options ?? []) {
        const m = /^(uid|gid)=(\d+)$/.exec(option);
        if (!m) continue;
        const mappings = m[1] === 'uid' ? spec.linux.uidMappings : spec.linux.gidMappings;
        if (!isMapped(Number(m[2]), mappings)) {
          throw new RootlessError(
            `mounts: ${mount.destination}: cannot specify ${option} mount option for rootless container: ${m[1]} ${m[2]} is not mapped in linux.${m[1]}Mappings`,
          );
        }
      }
    }
  }
  if (spec.process) checkRootlessProcess(spec.process, 'process', limits, setgroupsDenied(spec, ids));
}
