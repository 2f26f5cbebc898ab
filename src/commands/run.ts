// runts run [-d] [-b DIR] [--pid-file F] [--console-socket S] [--keep] [--no-pivot]
// [--preserve-fds N] ID: create and start; in the foreground, exit with the process's status.
import { defineCommand } from '../cli/command';
import { withCreateOptions } from '../cli/create-options';
import { runContainer } from '../container/run';

export default defineCommand({
  command: 'run <container-id>',
  describe: 'create and start a container',
  builder: (y) =>
    withCreateOptions(y)
      .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'detach from the container process' })
      .option('keep', { type: 'boolean', default: false, describe: 'do not delete the container after it exits' }),
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
      rootless: args.rootless,
    }),
});
