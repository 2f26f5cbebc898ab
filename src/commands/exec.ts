// runts exec [--process FILE] [--cwd DIR] [-e KEY=VALUE]... [-t] [-u UID[:GID]]
// [-g GID]... [-c CAP]... [--no-new-privs] [--apparmor P] [--process-label L] [-d] [--pid-file F] [--console-socket S]
// [--preserve-fds N] [--ignore-paused] ID [COMMAND [ARG...]]
import { defineCommand } from '../cli/command';
import { execContainer } from '../container/exec';

export default defineCommand({
  name: 'exec',
  describe: 'execute a new process inside the container',
  flags: {
    process: { type: 'string', alias: 'p', describe: 'path to a process.json (an OCI process object); replaces the process flags' },
    cwd: { type: 'string', describe: 'current working directory in the container' },
    env: { type: 'strings', alias: 'e', describe: 'set an environment variable (KEY=VALUE), repeatable' },
    tty: { type: 'boolean', alias: 't', describe: 'allocate a pseudo-TTY' },
    user: { type: 'string', alias: 'u', describe: 'UID (format: <uid>[:<gid>])' },
    'additional-gids': { type: 'numbers', alias: 'g', describe: 'additional gid, repeatable' },
    cap: { type: 'strings', alias: 'c', describe: 'add a capability (CAP_*) to the bounding, effective and permitted sets, repeatable' },
    'no-new-privs': { type: 'boolean', describe: 'set no_new_privs for the process' },
    apparmor: { type: 'string', describe: 'set the apparmor profile for the process' },
    'process-label': { type: 'string', describe: 'set the SELinux process label for the process' },
    detach: { type: 'boolean', alias: 'd', describe: "detach from the container's process" },
    'pid-file': { type: 'string', describe: 'file to write the process id to' },
    'console-socket': { type: 'string', describe: "path to an AF_UNIX socket that receives the console's pty master" },
    'preserve-fds': { type: 'number', describe: 'pass N additional file descriptors (3 .. 3+N-1) to the process' },
    'ignore-paused': { type: 'boolean', describe: 'allow exec in a paused container' },
  },
  positionals: [
    { name: 'container-id', required: true, describe: 'name of the container' },
    { name: 'command', variadic: true, describe: 'the command and its arguments (without --process)' },
  ],
  // As runc (SkipArgReorder): every word after the ID is the command's, never a runts flag.
  flagsAfterPositionals: false,
  run: (args) =>
    execContainer({
      root: args.root,
      id: args.containerId,
      processFile: args.process,
      args: args.command,
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
