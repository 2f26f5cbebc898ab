// dist/shim.js, the Node side of containerd-shim-runts-v2, which the launcher (native/shim)
// execs when the namespace's resident shim cannot answer for it: `start` finds or spawns the
// resident and prints its address; `delete` cleans up after a task; with no action (and
// -socket) it is the resident shim. Only the resident and `delete` load the engine
// (dist/shim-daemon.js).
import * as path from 'node:path';
import { commitString, RUNTS_VERSION } from '../cli/version';
import { FlagError, parseFlags, USAGE, type ShimFlags } from './flags';
import { listenForStart, startShim } from './start';

const loadDaemon = () => require('./daemon') as typeof import('./daemon');

function fail(message: string, status = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(status);
}

function write(data: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => process.stdout.write(data, () => resolve()));
}

export async function main(argv: string[]): Promise<void> {
  let flags: ShimFlags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (err instanceof FlagError) fail(`${err.message}\n${USAGE}`, 2);
    throw err;
  }
  if (flags.version) {
    await write(`containerd-shim-runts-v2:\n  Version:  ${RUNTS_VERSION}\n  Revision: ${commitString()}\n  Node version: ${process.version}\n\n`);
    return;
  }
  if (!flags.namespace) fail('shim namespace cannot be empty');
  const bundle = flags.bundle || process.cwd();
  switch (flags.action) {
    case 'start':
      // containerd reads the address from stdout (and stderr: it takes the combined output).
      await write(await startShim(flags, bundle, path.resolve(process.argv[1])));
      process.exit(0);
      break;
    case 'delete':
      if (!flags.id) fail('delete: -id is required');
      await write(loadDaemon().cleanupAfterShim(flags, bundle));
      process.exit(0);
      break;
    case '':
      if (!flags.socket) fail('the resident shim needs -socket (containerd runs `start`, which spawns it)');
      {
        // No await between listening and serving: a connection must not be accepted unserved.
        const listener = await listenForStart(flags.socket);
        loadDaemon().runResident(flags, listener);
      }
      break;
    default:
      fail(`unknown action ${JSON.stringify(flags.action)}\n${USAGE}`, 2);
  }
}

main(process.argv.slice(2)).catch((err: Error) => fail(err.message));
