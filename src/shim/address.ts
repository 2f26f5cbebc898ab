// Where a shim listens, as containerd 1.6's shim package computes it (runtime/v2/shim/util_unix.go)
// and how runc's shim groups containers (runtime/v2/runc/manager): containers of one group (the
// runc group annotation, or CRI's sandbox id) share one shim, whose socket address is derived
// from containerd's address, the namespace and the group.
import { createHash } from 'node:crypto';
import * as path from 'node:path';

/** containerd 1.6 puts shim sockets here (defaults.DefaultStateDir + "/s"), whatever its config. */
export const SHIM_SOCKET_DIR = '/run/containerd/s';

/** Annotations that put a container in an existing shim's group, in the order runc's shim reads
 *  them: its own label, then the CRI plugin's sandbox id (a pod's containers share one shim). */
export const GROUP_ANNOTATIONS = ['io.containerd.runc.v2.group', 'io.kubernetes.cri.sandbox-id'];

/** The group a container's shim serves: the first group annotation present, else the id. */
export function groupOf(id: string, annotations: Record<string, string> | undefined): string {
  for (const key of GROUP_ANNOTATIONS) {
    const group = annotations?.[key];
    if (typeof group === 'string') return group;
  }
  return id;
}

/** unix:///run/containerd/s/<sha256 of containerdAddress/namespace/group>, as containerd's
 *  shim.SocketAddress (its filepath.Join cleans the path, so does path.join). */
export function shimSocketAddress(containerdAddress: string, namespace: string, group: string): string {
  const digest = createHash('sha256').update(path.join(containerdAddress, namespace, group)).digest('hex');
  return `unix://${SHIM_SOCKET_DIR}/${digest}`;
}

/** The path of a unix socket address as containerd writes it ("unix:///run/…" or a plain path). */
export function socketPath(address: string): string {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : address;
}
