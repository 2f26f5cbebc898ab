// runts delete [--force] ID: remove a stopped container (--force: kill it first; a
// missing container is then not an error).
import { defineCommand } from '../cli/command';
import { deleteContainer } from '../container/lifecycle';

export default defineCommand({
  command: 'delete <container-id>',
  describe: 'delete a container and the resources it holds',
  builder: (y) =>
    y
      .positional('container-id', { type: 'string', demandOption: true })
      .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'kill the container first if it is running' }),
  run: (args) => {
    deleteContainer(args.root, args.containerId, args.force);
  },
});
