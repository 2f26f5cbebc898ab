// The links of procfs's fixed layout, which the init's path resolution inside the container
// treats apart (SECURITY.md): it follows no magic link (rule 6: /proc/self/root, cwd, exe,
// fd/N, map_files/X, ns/X) and a masked path follows no symlink at all (rule 9: also
// /proc/self, /proc/thread-self, /proc/mounts, /proc/net). A path the config names through one
// of them would fail deep in the init with ELOOP; the plan refuses it first, by this layout.

import type { RootfsOp } from './types';

/** A planned mount that puts a procfs there: a fresh proc, or a bind of the host's /proc. */
export function mountsProcfs(op: RootfsOp): boolean {
  return op.op === 'mount' && (op.fstype === 'proc' || (op.fstype === 'bind' && op.source === '/proc'));
}

export interface ProcfsLink {
  /** The link, as a path below the procfs's root ("self/root"). */
  at: string;
  /** A magic link (the kernel's own jump to an object, not a path). */
  magic: boolean;
}

const TOP_SYMLINKS = new Map<string, 'process' | 'end'>([
  ['self', 'process'],
  ['thread-self', 'process'],
  ['mounts', 'end'],
  ['net', 'end'],
]);
const PROCESS_MAGIC_LINKS = new Set(['root', 'cwd', 'exe']);
const PROCESS_MAGIC_DIRS = new Set(['fd', 'map_files', 'ns']);

/** The links, in order, that `relative` (a path below a procfs's root) crosses or ends on,
 *  as far as procfs's layout fixes them: up to the first magic link. */
export function procfsLinks(relative: string): ProcfsLink[] {
  const names = relative.split('/').filter((n) => n !== '' && n !== '.');
  const links: ProcfsLink[] = [];
  const upTo = (i: number) => names.slice(0, i + 1).join('/');
  const top = TOP_SYMLINKS.get(names[0] ?? '');
  if (top) links.push({ at: names[0], magic: false });
  if (top === 'end' || (!top && !/^\d+$/.test(names[0] ?? ''))) return links;
  let i = 1;
  // A process's or a thread's directory: task/N is a thread's, laid out the same.
  if (names[i] === 'task' && /^\d+$/.test(names[i + 1] ?? '')) i += 2;
  const name = names[i];
  if (PROCESS_MAGIC_LINKS.has(name)) links.push({ at: upTo(i), magic: true });
  else if (PROCESS_MAGIC_DIRS.has(name) && names[i + 1] !== undefined) links.push({ at: upTo(i + 1), magic: true });
  return links;
}
