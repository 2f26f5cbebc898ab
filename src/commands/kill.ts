// runts kill [--all] ID [SIGNAL]: SIGNAL as a number, a name, or a SIG-name; default TERM.
import { defineCommand } from '../cli/command';
import { killContainer } from '../container/lifecycle';
import { parseSignal } from '../container/signals';

export default defineCommand({
  command: 'kill <container-id> [signal]',
  describe: "send a signal (default: SIGTERM) to the container's init process",
  builder: (y) =>
    y
      .positional('container-id', { type: 'string', demandOption: true })
      .positional('signal', { type: 'string', default: 'SIGTERM' })
      .option('all', { alias: 'a', type: 'boolean', default: false, describe: 'send the signal to every process of the container' }),
  run: (args) => {
    killContainer(args.root, args.containerId, parseSignal(args.signal), args.all);
  },
});
