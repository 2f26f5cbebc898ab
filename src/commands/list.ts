// runts list [-f table|json] [-q]: the containers under --root.
import * as fs from 'node:fs';
import { defineCommand } from '../cli/command';
import { writeStdout } from '../cli/output';
import { errnoMessage, NotExistError, UsageError } from '../errors';
import { log } from '../log';
import { openContainer } from '../state/open';
import { stateObject, type StateObject } from '../state/status';
import { StateStore } from '../state/store';

/** User names by uid from /etc/passwd; runc shows "#UID" for a uid with no entry. */
function userNames(): (uid: number) => string {
  const names = new Map<number, string>();
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid] = line.split(':');
      if (name && uid !== undefined && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), name);
    }
  } catch {
    // No passwd file: every owner shows as #UID.
  }
  return (uid) => names.get(uid) ?? `#${uid}`;
}

/** Align columns like Go's tabwriter as runc configures it (min width 12, padding 3);
 *  the last column is not padded. */
export function formatTable(rows: string[][]): string {
  const width = (s: string) => [...s].length;
  const columns = Math.max(...rows.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < columns - 1; c++) {
    widths[c] = Math.max(12, ...rows.map((r) => (r[c] === undefined ? 0 : width(r[c]) + 3)));
  }
  return rows
    .map((r) => r.map((cell, c) => (c < r.length - 1 ? cell + ' '.repeat(widths[c] - width(cell)) : cell)).join('') + '\n')
    .join('');
}

export default defineCommand({
  name: 'list',
  describe: 'list the containers under --root',
  flags: {
    format: { type: 'string', alias: 'f', default: 'table', describe: 'output format: table or json' },
    quiet: { type: 'boolean', alias: 'q', describe: 'print only the container IDs' },
  },
  positionals: [],
  run(args) {
    if (args.format !== 'table' && args.format !== 'json') throw new UsageError(`invalid format option: ${args.format}`);
    const store = new StateStore(args.root);
    const owner = userNames();
    const states: StateObject[] = [];
    for (const id of store.list()) {
      try {
        const { handle, rec, status } = openContainer(args.root, id, { lock: false });
        try {
          states.push(stateObject(rec, status, owner(fs.statSync(handle.dir).uid)));
        } finally {
          handle.close();
        }
      } catch (err) {
        // Deleted while we listed, or a create still in progress: not a container yet.
        if (!(err instanceof NotExistError)) log.warn(`load container ${id}: ${errnoMessage(err)}`);
      }
    }
    if (args.quiet) {
      writeStdout(states.map((s) => `${s.id}\n`).join(''));
    } else if (args.format === 'json') {
      writeStdout(JSON.stringify(states) + '\n');
    } else {
      const header = ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'];
      writeStdout(formatTable([header, ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])]));
    }
  },
});
