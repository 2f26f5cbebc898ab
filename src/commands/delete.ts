// runts delete [--force] ID: remove a stopped container (--force: kill it first; a
// missing container is then not an error).
import { defineCommand } from '../cli/command';
import { deleteContainer } from '../container/lifecycle';

export default defineCommand({
  name: 'delete',
  describe: 'delete a container and the resources it holds',
  flags: { force: { type: 'boolean', alias: 'f', describe: 'kill the container first if it is running' } },
  positionals: [{ name: 'container-id', required: true }],
  run: (args) => {
    deleteContainer(args.root, args.containerId, args.force);
  },
});
