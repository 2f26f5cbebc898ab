// runts kill [--all] ID [SIGNAL]: SIGNAL as a number, a name, or a SIG-name; default TERM.
import { defineCommand } from '../cli/command';
import { killContainer } from '../container/lifecycle';
import { parseSignal } from '../container/signals';

export default defineCommand({
  name: 'kill',
  describe: "send a signal (default: SIGTERM) to the container's init process",
  flags: { all: { type: 'boolean', alias: 'a', describe: 'send the signal to every process of the container' } },
  positionals: [{ name: 'container-id', required: true }, { name: 'signal', default: 'SIGTERM' }],
  run: (args) => {
    killContainer(args.root, args.containerId, parseSignal(args.signal), args.all);
  },
});
