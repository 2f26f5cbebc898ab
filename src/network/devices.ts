// linux.netDevices: host interfaces moved into the container's network namespace (renamed
// there when asked), before the rootfs is built and before any hook runs, as runc does.
// Permanent addresses of global scope go with the device, and it is set up once inside
// (runtime-spec 1.3). Nothing is moved back on delete: the spec forbids it; when the
// namespace dies the kernel returns physical devices to the initial namespace and destroys
// virtual ones.
import { closeSync, openSync, statSync } from 'node:fs';
import { native } from '../native';
import { SpecError, pointerToken, specErrorMessage } from '../spec/errors';
import type { Spec } from '../spec/types';
import { RouteSocket, type InterfaceAddress } from './netlink';

const IFNAMSIZ = 16;
const IFA_F_PERMANENT = 0x80;
const RT_SCOPE_UNIVERSE = 0;

export interface NetDeviceMove {
  /** The interface's name in the runtime's network namespace. */
  hostName: string;
  /** Its name in the container's (a "%d" template lets the kernel pick the number). */
  containerName: string;
}

/** The kernel's rule for interface names (dev_valid_name in net/core/dev.c). */
export function validInterfaceName(name: string): boolean {
  return Buffer.byteLength(name) > 0 && Buffer.byteLength(name) < IFNAMSIZ && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/** The same namespace: nsfs files compare by device and inode. */
function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * The moves linux.netDevices asks for, checked as runc checks them (a network namespace in
 * linux.namespaces, valid names) plus one runc lacks: a joined namespace must not be the
 * runtime's own, where the "move" would only rename a host interface. Throws SpecError.
 */
export function planNetDevices(spec: Spec, file: string, ownNetns = '/proc/self/ns/net'): NetDeviceMove[] {
  const entries = Object.entries(spec.linux?.netDevices ?? {});
  if (entries.length === 0) return [];
  const fail = (pointer: string, message: string): never => {
    throw new SpecError(specErrorMessage(file, pointer, message));
  };
  const namespaces = spec.linux?.namespaces ?? [];
  const index = namespaces.findIndex((ns) => ns.type === 'network');
  if (index < 0) fail('/linux/netDevices', 'unable to move network devices without a NET namespace');
  const joined = namespaces[index].path;
  if (joined && sameFile(joined, ownNetns)) {
    fail(`/linux/namespaces/${index}/path`, "unable to move network devices into the runtime's own network namespace");
  }
  return entries.map(([hostName, device]) => {
    const pointer = `/linux/netDevices/${pointerToken(hostName)}`;
    if (!validInterfaceName(hostName)) fail(pointer, `invalid network device name ${JSON.stringify(hostName)}`);
    const containerName = device.name || hostName;
    if (!validInterfaceName(containerName)) fail(`${pointer}/name`, `invalid network device name ${JSON.stringify(containerName)}`);
    return { hostName, containerName };
  });
}

/** What runtime-spec 1.3 says moves with a device: permanent addresses of global scope. */
export function addressesToKeep(addresses: InterfaceAddress[]): InterfaceAddress[] {
  return addresses.filter((a) => (a.flags & IFA_F_PERMANENT) !== 0 && a.scope === RT_SCOPE_UNIVERSE);
}

/** The link that appeared in the container's namespace with the move (its index may change there). */
function movedLink(inside: RouteSocket, before: Set<number>, move: NetDeviceMove): { index: number; name: string } {
  const fresh = inside.links().filter((l) => !before.has(l.index));
  const named = fresh.find((l) => l.name === move.containerName) ?? (fresh.length === 1 ? fresh[0] : undefined);
  if (!named) throw new Error(`${move.hostName} is not in the container's network namespace after the move`);
  return named;
}

/**
 * Move each device into the network namespace of `initPid` (the container's init, in its
 * final namespaces) through a socket in ours, then give it back its addresses and set it up
 * through `containerSocket`, a route netlink socket made inside. A failure names the
 * interface, the request and errno; devices already moved stay with the namespace (the
 * kernel's to return, as with runc).
 */
export function moveNetDevices(moves: NetDeviceMove[], initPid: number, containerSocket: number): void {
  const nsPath = `/proc/${initPid}/ns/net`;
  const hostFd = native().netlinkRouteSocket();
  let nsFd = -1;
  try {
    nsFd = openSync(nsPath, 'r');
    const host = new RouteSocket(hostFd);
    const inside = new RouteSocket(containerSocket);
    for (const move of moves) {
      try {
        const index = host.linkIndex(move.hostName);
        // Read before the link goes down: IPv6 drops its addresses on down.
        const addresses = addressesToKeep(host.addresses(index, move.hostName));
        host.setUp(index, false, move.hostName);
        const before = new Set(inside.links().map((l) => l.index));
        host.moveToNamespace(index, nsFd, move.containerName, move.hostName);
        const link = movedLink(inside, before, move);
        for (const address of addresses) inside.addAddress(link.index, address, link.name);
        inside.setUp(link.index, true, link.name);
      } catch (err) {
        throw new Error(`linux.netDevices: move netDevice ${move.hostName} to namespace ${nsPath}: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    if (nsFd >= 0) closeSync(nsFd);
    closeSync(hostFd);
  }
}
