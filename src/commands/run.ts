// runts run [-d] [-b DIR] [--pid-file F] [--console-socket S] [--keep] [--no-pivot]
// [--preserve-fds N] ID: create and start; in the foreground, exit with the process's status.
import { defineCommand } from '../cli/command';
import { CONTAINER_ID, CREATE_FLAGS } from '../cli/create-options';
import { runContainer } from '../container/run';

export default defineCommand({
  name: 'run',
  describe: 'create and start a container',
  flags: {
    ...CREATE_FLAGS,
    detach: { type: 'boolean', alias: 'd', describe: 'detach from the container process' },
    keep: { type: 'boolean', describe: 'do not delete the container after it exits' },
  },
  positionals: [CONTAINER_ID],
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
