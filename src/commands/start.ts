// runts start ID: let a created container's init exec the user process.
import { defineCommand } from '../cli/command';
import { startContainer } from '../container/lifecycle';

export default defineCommand({
  command: 'start <container-id>',
  describe: 'start the user process of a created container',
  builder: (y) => y.positional('container-id', { type: 'string', demandOption: true }),
  run: (args) => {
    startContainer(args.root, args.containerId);
  },
});
