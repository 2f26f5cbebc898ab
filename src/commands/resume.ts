// runts resume ID: thaw a paused container.
import { defineCommand } from '../cli/command';
import { resumeContainer } from '../container/control';

export default defineCommand({
  command: 'resume <container-id>',
  describe: 'resume all processes of a paused container',
  builder: (y) => y.positional('container-id', { type: 'string', demandOption: true }),
  run: (args) => {
    resumeContainer(args.root, args.containerId);
  },
});
