// The dispatcher (dist/cli.js, loaded by bin/runts). The table names every subcommand; a command's
// module is required only when that command runs (or shows its --help), to keep start-up short.
import type { CommandEntry } from './cli/command';
import { runCli } from './cli/main';

export const commands: CommandEntry[] = [
  { name: 'create', describe: 'create a container', load: () => require('./commands/create') },
  { name: 'start', describe: 'start the user process of a created container', load: () => require('./commands/start') },
  { name: 'run', describe: 'create and start a container', load: () => require('./commands/run') },
  { name: 'exec', describe: 'execute a new process inside the container', load: () => require('./commands/exec') },
  { name: 'kill', describe: "send a signal (default: SIGTERM) to the container's init process", load: () => require('./commands/kill') },
  { name: 'delete', describe: 'delete a container and the resources it holds', load: () => require('./commands/delete') },
  { name: 'state', describe: 'output the state of a container', load: () => require('./commands/state') },
  { name: 'list', describe: 'list the containers under --root', load: () => require('./commands/list') },
  { name: 'pause', describe: 'suspend all processes of a container', load: () => require('./commands/pause') },
  { name: 'resume', describe: 'resume all processes of a paused container', load: () => require('./commands/resume') },
  { name: 'ps', describe: 'list the processes running inside a container', load: () => require('./commands/ps') },
  { name: 'update', describe: 'update container resource constraints', load: () => require('./commands/update') },
  { name: 'events', describe: 'display container events such as OOM notifications and resource statistics', load: () => require('./commands/events') },
  { name: 'spec', describe: 'create a new config.json for a bundle', load: () => require('./commands/spec') },
  { name: 'features', describe: 'show the enabled features', load: () => require('./commands/features') },
  { name: 'validate', describe: "report every problem of a bundle's config.json, and with --host what this host cannot do for it", load: () => require('./commands/validate') },
  { name: 'explain', describe: 'print the plan create would execute for a bundle, without creating anything', load: () => require('./commands/explain') },
];

/** Run the command line and exit with its status (bin/runts calls this). */
export function main(): void {
  runCli(process.argv.slice(2), commands).then(
    (code) => process.exit(code),
    // runCli reports its own errors; this is only a bug in the dispatcher itself.
    (err) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    },
  );
}

// Run directly (the single-file bundle tests build from this module).
if (require.main === module) main();
