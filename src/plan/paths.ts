// Paths of the container's tree, as the plan and validate compare them (absolute, normalised).
import * as path from 'node:path';

/** `p` normalised, without a trailing slash (but "/"). */
export function cleanPath(p: string): string {
  return path.posix.normalize(p).replace(/(.)\/+$/, '$1');
}

/** Whether `p` is `dir` or lies below it. */
export function isAtOrUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);
}
