// runts state ID: print the container's state JSON on stdout, nothing else.
import { defineCommand } from '../cli/command';
import { writeStdout } from '../cli/output';
import { containerStatus, stateJson } from '../state/status';
import { StateStore } from '../state/store';
import { pausedProbe } from '../cgroups/freezer';

export default defineCommand({
  name: 'state',
  describe: 'output the state of a container',
  flags: {},
  positionals: [{ name: 'container-id', required: true, describe: 'the container ID' }],
  run(args) {
    const handle = new StateStore(args.root).open(args.containerId);
    try {
      const rec = handle.read();
      writeStdout(stateJson(rec, containerStatus(handle, rec, pausedProbe(rec))));
    } finally {
      handle.close();
    }
  },
});
