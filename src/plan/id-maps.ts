// User namespace id mappings as /proc/<pid>/uid_map and gid_map take them.
import type { LinuxIDMapping } from '../spec/types';

/** One "containerID hostID size" line per mapping, the whole map written at once. */
export function idMapText(mappings: readonly LinuxIDMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}
