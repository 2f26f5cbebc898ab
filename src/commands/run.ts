// runts run [-d] [-b DIR] [--pid-file F] [--console-socket S] [--keep] [--no-pivot]
// [--preserve-fds N] ID: create and start; in the foreground, exit with the process's status.
import { defineCommand } from '../cli/command';
import { runContainer } from '../container/run';

export default defineCommand({
  command: 'run <container-id>',
  describe: 'create and start a container',
  builder: (y) =>
    y
      .positional('container-id', { type: 'string', demandOption: true, describe: 'unique name of the container' })
      .option('bundle', { alias: 'b', type: 'string', default: '.', describe: 'path to the root of the bundle directory' })
      .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'detach from the container process' })
      .option('pid-file', { type: 'string', describe: 'file to write the process id to' })
      .option('console-socket', { type: 'string', describe: "path to an AF_UNIX socket that receives the console's pty master" })
      .option('keep', { type: 'boolean', default: false, describe: 'do not delete the container after it exits' })
      .option('no-pivot', { type: 'boolean', default: false, describe: 'do not use pivot_root (MS_MOVE + chroot instead)' })
      .option('preserve-fds', { type: 'number', default: 0, describe: 'pass N additional file descriptors (3 .. 3+N-1) to the container' }),
  run: (args) =>
    runContainer({
      root: args.root,
      id: args.containerId,
      bundle: args.bundle,
      pidFile: args.pidFile,
      consoleSocket: args.consoleSocket,
      noPivot: args.noPivot,
      preserveFds: args.preserveFds,
      detach: args.detach,
      keep: args.keep,
      systemdCgroup: args.systemdCgroup,
    }),
});
