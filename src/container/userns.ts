// The container's user namespace seen from the host, for what the runtime itself does there:
// exec.fifo must belong to the container's root, whose host ids come from config.json's maps
// for a new namespace and from the kernel's for a joined one.
import { chownSync, readFileSync } from 'node:fs';
import { InitError } from '../init/launch';
import { idMapText } from '../plan/id-maps';
import type { LinuxIDMapping, Spec } from '../spec/types';

/** The host id that id 0 in the container maps to (0 when unmapped). */
export function hostIdOfRoot(mappings: readonly LinuxIDMapping[] | undefined): number {
  const m = (mappings ?? []).find((r) => r.containerID <= 0 && 0 < r.containerID + r.size);
  return m ? m.hostID - m.containerID : 0;
}

/** /proc/<pid>/uid_map or gid_map as mappings (host ids as the runtime's namespace sees them). */
export function readIdMap(pid: number, file: 'uid_map' | 'gid_map'): LinuxIDMapping[] {
  return readFileSync(`/proc/${pid}/${file}`, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [containerID, hostID, size] = line.trim().split(/\s+/).map(Number);
      return { containerID, hostID, size };
    });
}

/** The host uid and gid of root in the user namespace of process `pid` (0 in ours). */
export function rootIdsOf(pid: number): { uid: number; gid: number } {
  return { uid: hostIdOfRoot(readIdMap(pid, 'uid_map')), gid: hostIdOfRoot(readIdMap(pid, 'gid_map')) };
}

/**
 * A container joining a user namespace by path: once its init (`pid`) is inside, check the
 * namespace's maps against any config.json gives (runc refuses different ones and warns
 * about matching ones), and hand exec.fifo to the namespace's root.
 */
export function adoptJoinedUserNs(spec: Spec, pid: number, execFifo: string, warn: (message: string) => void): void {
  const uidMap = readIdMap(pid, 'uid_map');
  const gidMap = readIdMap(pid, 'gid_map');
  const linux = spec.linux ?? {};
  if (linux.uidMappings !== undefined || linux.gidMappings !== undefined) {
    const same = idMapText(linux.uidMappings ?? []) === idMapText(uidMap) && idMapText(linux.gidMappings ?? []) === idMapText(gidMap);
    if (!same) throw new InitError('user namespaces enabled, but both namespace path and non-matching mapping specified -- you may only provide one');
    warn('config.json has both a userns path to join and a matching userns mapping specified -- you may only provide one');
  }
  chownSync(execFifo, hostIdOfRoot(uidMap), hostIdOfRoot(gidMap));
}
