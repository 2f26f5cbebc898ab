// The resident shim's Launcher service: containerd's `start` and `delete` of a task in this
// namespace, which the launcher (native/shim/main.cc, what containerd executes) hands over
// instead of booting Node for them. The answer is what the command prints; a refusal makes the
// launcher exec the Node shim, which does the same job itself and reports its errors.
import { FlagError, parseFlags, type ShimFlags } from './flags';
import { LaunchRequest } from './proto';
import { writeShimFiles } from './start';
import { ShimError, ShimErrorCode } from './task-service';
import type { Handler } from './ttrpc';

export const LAUNCHER_SERVICE = 'runts.shim.v1.Launcher';

export interface LauncherOptions {
  /** The resident's own flags: the namespace and containerd address it serves, its socket. */
  resident: ShimFlags;
  /** `delete`: cleans up after the task and returns the encoded DeleteResponse. */
  cleanup: (flags: ShimFlags, bundle: string) => Promise<Uint8Array>;
}

export function launcherHandlers({ resident, cleanup }: LauncherOptions): Map<string, Handler> {
  const run: Handler = async (payload) => {
    const { args, cwd } = LaunchRequest.decode(payload);
    let flags: ShimFlags;
    try {
      flags = parseFlags(args);
    } catch (err) {
      if (err instanceof FlagError) throw new ShimError(ShimErrorCode.InvalidArgument, err.message);
      throw err;
    }
    if (flags.namespace !== resident.namespace || flags.address !== resident.address) {
      throw new ShimError(ShimErrorCode.FailedPrecondition, `this shim serves namespace ${JSON.stringify(resident.namespace)} of ${resident.address}`);
    }
    if (!flags.id) throw new ShimError(ShimErrorCode.InvalidArgument, `${flags.action}: -id is required`);
    const bundle = flags.bundle || cwd;
    switch (flags.action) {
      case 'start':
        writeShimFiles(bundle, resident.socket, process.pid);
        return Buffer.from(resident.socket);
      case 'delete':
        return cleanup(flags, bundle);
      default:
        throw new ShimError(ShimErrorCode.Unimplemented, `the resident answers start and delete, not ${JSON.stringify(flags.action)}`);
    }
  };
  return new Map([['Run', run]]);
}
