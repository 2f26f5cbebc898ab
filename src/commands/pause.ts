// runts pause ID: freeze every process of the container (status becomes paused).
import { defineCommand } from '../cli/command';
import { pauseContainer } from '../container/control';

export default defineCommand({
  command: 'pause <container-id>',
  describe: 'suspend all processes of a container',
  builder: (y) => y.positional('container-id', { type: 'string', demandOption: true }),
  run: (args) => {
    pauseContainer(args.root, args.containerId);
  },
});
