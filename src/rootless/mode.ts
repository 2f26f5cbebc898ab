// Rootless mode: runts run by an unprivileged user. What the runtime may do then (no
// cgroup writes outside a delegated subtree, id maps only through newuidmap, no raising of
// limits) is decided from the effective uid, as runc decides it.
import { readFileSync } from 'node:fs';

/** runts runs without root (runc's RootlessEUID): the container needs a user namespace. */
export function isRootlessEuid(euid = process.geteuid?.() ?? 0): boolean {
  return euid !== 0;
}

/** Whether this process runs in a user namespace other than the initial one. */
export function inUserNamespace(uidMap = readUidMap()): boolean {
  const fields = uidMap.trim().split(/\s+/);
  return !(fields.length === 3 && fields[0] === '0' && fields[1] === '0' && fields[2] === '4294967295');
}

function readUidMap(): string {
  try {
    return readFileSync('/proc/self/uid_map', 'utf8');
  } catch {
    return '';
  }
}

/**
 * runc's --rootless true|false|auto: tolerate cgroup permission errors (runc's
 * RootlessCgroups). auto (the default): when not root, or root inside a user namespace.
 */
export function useRootlessCgroups(flag: string | undefined, euid = process.geteuid?.() ?? 0, inUserns = () => inUserNamespace()): boolean {
  if (flag === 'true') return true;
  if (flag === 'false') return false;
  return isRootlessEuid(euid) || inUserns();
}
