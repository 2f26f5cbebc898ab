// runts pause ID: freeze every process of the container (status becomes paused).
import { defineCommand } from '../cli/command';
import { pauseContainer } from '../container/control';

export default defineCommand({
  name: 'pause',
  describe: 'suspend all processes of a container',
  flags: {},
  positionals: [{ name: 'container-id', required: true }],
  run: (args) => {
    pauseContainer(args.root, args.containerId);
  },
});
