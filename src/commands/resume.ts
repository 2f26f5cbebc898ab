// runts resume ID: thaw a paused container.
import { defineCommand } from '../cli/command';
import { resumeContainer } from '../container/control';

export default defineCommand({
  name: 'resume',
  describe: 'resume all processes of a paused container',
  flags: {},
  positionals: [{ name: 'container-id', required: true }],
  run: (args) => {
    resumeContainer(args.root, args.containerId);
  },
});
