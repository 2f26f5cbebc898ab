// runts state ID: print the container's state JSON on stdout, nothing else.
import { defineCommand } from '../cli/command';
import { writeStdout } from '../cli/output';
import { openContainer } from '../state/open';
import { stateJson } from '../state/status';

export default defineCommand({
  name: 'state',
  describe: 'output the state of a container',
  flags: {},
  positionals: [{ name: 'container-id', required: true, describe: 'the container ID' }],
  run(args) {
    const { handle, rec, status } = openContainer(args.root, args.containerId, { lock: false });
    try {
      writeStdout(stateJson(rec, status));
    } finally {
      handle.close();
    }
  },
});
