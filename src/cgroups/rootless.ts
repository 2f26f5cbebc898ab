// Rootless cgroups, as runc's rootless cgroup manager handles them: a mode of either driver
// in which a hierarchy the caller may not write is skipped (the container stays in the
// caller's cgroup there) when no linux.cgroupsPath was given, and device rules that cannot
// be written are left to the host's permissions. A limit for a skipped controller is still
// an error (cgroupfs.ts says why).

/** How a driver treats a write the caller has no permission for. */
export interface FailurePolicy {
  /** Rootless cgroups: recorded, and the runtime (not the helper) joins the cgroups. */
  readonly rootless: boolean;
  /** True: drop the hierarchy that failed with `err` instead of failing. */
  skipsHierarchy(err: unknown): boolean;
  /** True: go on without the device rules that failed with `err`. */
  skipsDeviceRules(err: unknown): boolean;
}

/** Every failure is an error (root, not rootless). */
export const STRICT: FailurePolicy = { rootless: false, skipsHierarchy: () => false, skipsDeviceRules: () => false };

/** `explicitPath`: linux.cgroupsPath was given, so every hierarchy must be joined. Later
 *  joins (exec) tolerate permission errors whatever the path, as runc's do. */
export function rootlessPolicy(explicitPath: boolean): FailurePolicy {
  return {
    rootless: true,
    skipsHierarchy: (err) => !explicitPath && isPermissionError(err),
    // A rootless container gets the host's device permissions, which no unprivileged cgroup
    // write could narrow anyway; its /dev holds only bind mounts.
    skipsDeviceRules: isPermissionError,
  };
}

/** The errors runc's rootless cgroup manager ignores: the caller may not write there. */
export function isPermissionError(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return true;
  }
  return false;
}
