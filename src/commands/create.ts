// runts create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N] ID
import { defineCommand } from '../cli/command';
import { CONTAINER_ID, CREATE_FLAGS } from '../cli/create-options';
import { createContainer } from '../container/create';

export default defineCommand({
  name: 'create',
  describe: 'create a container',
  flags: CREATE_FLAGS,
  positionals: [CONTAINER_ID],
  run: (args) => {
    createContainer({
      root: args.root,
      id: args.containerId,
      bundle: args.bundle,
      pidFile: args.pidFile,
      consoleSocket: args.consoleSocket,
      noPivot: args.noPivot,
      preserveFds: args.preserveFds,
      detached: true,
      systemdCgroup: args.systemdCgroup,
      rootless: args.rootless,
    });
  },
});
