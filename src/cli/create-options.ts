// The flags `create` and `run` share (runc's create flags; run adds --detach and --keep).
import type { Argv } from 'yargs';

export function withCreateOptions(y: Argv) {
  return y
    .positional('container-id', { type: 'string', demandOption: true, describe: 'unique name of the container' })
    .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'path to the root of the bundle directory' })
    .option('pid-file', { type: 'string', describe: 'file to write the process id to' })
    .option('console-socket', { type: 'string', describe: "path to an AF_UNIX socket that receives the console's pty master" })
    .option('no-pivot', { type: 'boolean', default: false, describe: 'do not use pivot_root (MS_MOVE + chroot instead)' })
    .option('preserve-fds', { type: 'number', default: 0, describe: 'pass N additional file descriptors (3 .. 3+N-1) to the container' });
}
