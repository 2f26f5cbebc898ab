// Locked mount flags (security rule 16). Mounts a container's mount namespace inherits from a
// more privileged one are locked by the kernel (MNT_LOCK_*): in a user namespace a bind
// mount of them may add ro/nosuid/nodev/noexec but never clear one, nor change the atime
// mode, and a bind remount that leaves out a locked flag fails with EPERM. So, as runc does,
// a bind remount in a user namespace carries the source's flags, and asking to clear one is
// an error naming it rather than a mount that silently differs from the request.
import { realpathSync } from 'node:fs';
import { MS } from './mount-options';

/** The flags the kernel locks; the atime ones may only be kept as they are. */
const LOCKABLE = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC;
const ATIME = MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME;

const OPTION_FLAGS: Record<string, number> = {
  ro: MS.RDONLY,
  nosuid: MS.NOSUID,
  nodev: MS.NODEV,
  noexec: MS.NOEXEC,
  noatime: MS.NOATIME,
  nodiratime: MS.NODIRATIME,
  relatime: MS.RELATIME,
};

const NAMES: [number, string][] = [
  [MS.RDONLY, 'MS_RDONLY'],
  [MS.NOSUID, 'MS_NOSUID'],
  [MS.NODEV, 'MS_NODEV'],
  [MS.NOEXEC, 'MS_NOEXEC'],
  [MS.NOATIME, 'MS_NOATIME'],
  [MS.NODIRATIME, 'MS_NODIRATIME'],
  [MS.RELATIME, 'MS_RELATIME'],
  [MS.STRICTATIME, 'MS_STRICTATIME'],
];

export function flagNames(flags: number): string {
  return NAMES.filter(([f]) => flags & f).map(([, n]) => n).join('|');
}

const unescape = (p: string) => p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));

const within = (p: string, dir: string) => dir === '/' || p === dir || p.startsWith(`${dir}/`);

/**
 * The per-mount flags (from mountinfo text) of the mount that holds `realPath`: the one with
 * the longest mount point above it, the last listed (the top) when several are stacked.
 * A mount with neither relatime nor noatime is strictatime.
 */
export function mountFlagsAt(realPath: string, mountinfo: string): number {
  let best: { depth: number; options: string } | undefined;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 6) continue;
    const mountPoint = unescape(fields[4]);
    if (!within(realPath, mountPoint)) continue;
    const depth = mountPoint === '/' ? 0 : mountPoint.split('/').length;
    if (!best || depth >= best.depth) best = { depth, options: fields[5] };
  }
  let flags = 0;
  for (const option of best?.options.split(',') ?? []) flags |= OPTION_FLAGS[option] ?? 0;
  if (!(flags & (MS.NOATIME | MS.RELATIME))) flags |= MS.STRICTATIME;
  return flags;
}

/** The flags of the host mount holding `source` (a bind mount's source path). */
export function sourceMountFlags(source: string, mountinfo: string): number {
  let real = source;
  try {
    real = realpathSync(source);
  } catch {
    // stat of the source already passed; a race leaves the lexical path
  }
  return mountFlagsAt(real, mountinfo);
}

/**
 * The bind remount flags for a mount in a user namespace: the requested ones plus the
 * source's lockable flags. Throws (a message without the mount's name) when the request
 * clears a locked flag or changes the locked atime mode.
 */
export function withLockedFlags(requested: number, cleared: number, source: number): number {
  const cannotClear = source & cleared & (LOCKABLE | MS.NOATIME | MS.NODIRATIME | MS.RELATIME);
  if (cannotClear) throw new Error(`cannot clear locked flags ${flagNames(cannotClear)}`);
  if (requested & ATIME && (requested & ATIME) !== (source & ATIME)) {
    throw new Error(`cannot change locked atime flags ${flagNames(source & ATIME)}`);
  }
  return requested | (source & LOCKABLE);
}
