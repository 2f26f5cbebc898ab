// --pid-file, as create, run and exec write it.
import { renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** Write the pid file atomically (tmp + rename), decimal with no newline. */
export function writePidFile(file: string, pid: number): void {
  const abs = path.resolve(file);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}.tmp`);
  writeFileSync(tmp, String(pid), { mode: 0o644 });
  renameSync(tmp, abs);
}
