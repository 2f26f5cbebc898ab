// runts create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--preserve-fds N] ID
import { defineCommand } from '../cli/command';
import { withCreateOptions } from '../cli/create-options';
import { createContainer } from '../container/create';

export default defineCommand({
  command: 'create <container-id>',
  describe: 'create a container',
  builder: withCreateOptions,
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
