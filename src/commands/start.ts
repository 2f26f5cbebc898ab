// runts start ID: let a created container's init exec the user process.
import { defineCommand } from '../cli/command';
import { startContainer } from '../container/lifecycle';

export default defineCommand({
  name: 'start',
  describe: 'start the user process of a created container',
  flags: {},
  positionals: [{ name: 'container-id', required: true }],
  run: (args) => {
    startContainer(args.root, args.containerId);
  },
});
