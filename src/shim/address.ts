// Where shims listen. One resident runts shim serves every task of a containerd namespace; its
// socket is named by the launcher (native/shim/main.cc: sha256 of containerd's address and the
// namespace, under containerd's shim socket dir) and handed to the Node shim as -socket.

/** containerd 1.6 puts shim sockets here (defaults.DefaultStateDir + "/s"), whatever its config. */
export const SHIM_SOCKET_DIR = '/run/containerd/s';

/** The path of a unix socket address as containerd writes it ("unix:///run/…" or a plain path). */
export function socketPath(address: string): string {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : address;
}
