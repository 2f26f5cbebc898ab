// runts ps [-f table|json] ID [ps options]: the container's processes. json: the host PIDs
// of its cgroup (the containerd shim parses stdout+stderr as exactly that array); table: the
// host's `ps` output (default -ef) cut down to those PIDs.
import { spawnSync } from 'node:child_process';
import { defineCommand } from '../cli/command';
import { writeStdout } from '../cli/output';
import { RuntimeError, UsageError } from '../errors';
import { containerProcesses } from '../container/control';

/** Keep the header and the lines whose PID column is one of `pids`. */
export function filterPsOutput(output: string, pids: number[]): string {
  const lines = output.split('\n');
  const header = lines[0] ?? '';
  const column = header.trim().split(/\s+/).indexOf('PID');
  if (column < 0) throw new RuntimeError("couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const rows = lines.slice(1).filter((line) => {
    const pid = Number(line.trim().split(/\s+/)[column]);
    return line.trim() !== '' && wanted.has(pid);
  });
  return [header, ...rows].map((l) => `${l}\n`).join('');
}

export default defineCommand({
  name: 'ps',
  describe: 'list the processes running inside a container',
  flags: { format: { type: 'string', alias: 'f', default: 'table', describe: 'output format: table or json' } },
  positionals: [
    { name: 'container-id', required: true },
    { name: 'ps-options', variadic: true, describe: 'options for ps (default -ef)' },
  ],
  // As runc (SkipArgReorder): the words after the ID are ps's own options.
  flagsAfterPositionals: false,
  run: (args) => {
    if (args.format !== 'table' && args.format !== 'json') throw new UsageError(`invalid format option: ${args.format}`);
    const pids = containerProcesses(args.root, args.containerId);
    if (args.format === 'json') {
      if (args.psOptions.length > 0) throw new UsageError('ps options cannot be used with --format json');
      writeStdout(`${JSON.stringify(pids)}\n`);
      return;
    }
    const psArgs = args.psOptions.length > 0 ? args.psOptions : ['-ef'];
    const ps = spawnSync('ps', psArgs, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } });
    if (ps.error) throw new RuntimeError(`run ps ${psArgs.join(' ')}: ${ps.error.message}`);
    if (ps.status !== 0) throw new RuntimeError(`ps ${psArgs.join(' ')} exited ${ps.status}: ${ps.stderr.trim()}`);
    writeStdout(filterPsOutput(ps.stdout, pids));
  },
});
