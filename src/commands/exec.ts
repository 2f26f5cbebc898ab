// runts exec [--process FILE] [--cwd DIR] [-e KEY=VALUE]... [-t] [-u UID[:GID]]
// [-g GID]... [-c CAP]... [--no-new-privs] [--apparmor P] [--process-label L] [-d] [--pid-file F] [--console-socket S]
// [--preserve-fds N] [--ignore-paused] ID [COMMAND [ARG...]]
import { defineCommand } from '../cli/command';
import { execContainer } from '../container/exec';

export default defineCommand({
  command: 'exec <container-id> [command..]',
  describe: 'execute a new process inside the container',
  builder: (y) =>
    y
      .positional('container-id', { type: 'string', demandOption: true, describe: 'name of the container' })
      .positional('command', { type: 'string', array: true, describe: 'the command and its arguments (without --process)' })
      .option('process', { alias: 'p', type: 'string', describe: 'path to a process.json (an OCI process object); replaces the process flags' })
      .option('cwd', { type: 'string', describe: 'current working directory in the container' })
      .option('env', { alias: 'e', type: 'string', array: true, default: [] as string[], describe: 'set an environment variable (KEY=VALUE), repeatable' })
      .option('tty', { alias: 't', type: 'boolean', default: false, describe: 'allocate a pseudo-TTY' })
      .option('user', { alias: 'u', type: 'string', describe: 'UID (format: <uid>[:<gid>])' })
      .option('additional-gids', { alias: 'g', type: 'number', array: true, default: [] as number[], describe: 'additional gid, repeatable' })
      .option('cap', { alias: 'c', type: 'string', array: true, default: [] as string[], describe: 'add a capability (CAP_*) to the bounding, effective and permitted sets, repeatable' })
      .option('no-new-privs', { type: 'boolean', default: false, describe: 'set no_new_privs for the process' })
      .option('apparmor', { type: 'string', describe: 'set the apparmor profile for the process' })
      .option('process-label', { type: 'string', describe: 'set the SELinux process label for the process' })
      .option('detach', { alias: 'd', type: 'boolean', default: false, describe: "detach from the container's process" })
      .option('pid-file', { type: 'string', describe: 'file to write the process id to' })
      .option('console-socket', { type: 'string', describe: "path to an AF_UNIX socket that receives the console's pty master" })
      .option('preserve-fds', { type: 'number', default: 0, describe: 'pass N additional file descriptors (3 .. 3+N-1) to the process' })
      .option('ignore-paused', { type: 'boolean', default: false, describe: 'allow exec in a paused container' }),
  run: (args) =>
    execContainer({
      root: args.root,
      id: args.containerId,
      processFile: args.process,
      args: (args.command ?? []) as string[],
      cwd: args.cwd,
      env: args.env,
      tty: args.tty,
      user: args.user,
      additionalGids: args.additionalGids,
      caps: args.cap,
      noNewPrivs: args.noNewPrivs,
      apparmor: args.apparmor,
      processLabel: args.processLabel,
      detach: args.detach,
      pidFile: args.pidFile,
      consoleSocket: args.consoleSocket,
      preserveFds: args.preserveFds,
      ignorePaused: args.ignorePaused,
    }),
});
