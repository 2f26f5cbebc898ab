// --preserve-fds N (create, run, exec): fds 3 .. 3+N-1 go to the container's process.
import { fstatSync } from 'node:fs';
import { RuntimeError } from '../errors';

/** The fds to pass on; an error names the flag when N is not a count or one of them is not open. */
export function preservedFds(count: number): number[] {
  if (!Number.isInteger(count) || count < 0) throw new RuntimeError(`--preserve-fds: invalid value ${count}`);
  const fds: number[] = [];
  // Checked one by one, so a huge N stops at the first closed fd instead of building a huge list.
  for (let fd = 3; fd < 3 + count; fd++) {
    try {
      fstatSync(fd);
    } catch {
      throw new RuntimeError(`--preserve-fds ${count}: fd ${fd} is not open`);
    }
    fds.push(fd);
  }
  return fds;
}
