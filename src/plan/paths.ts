// Paths of the container's tree, as the plan and validate compare them (absolute, normalised).

/** Whether `p` is `dir` or lies below it. */
export function isAtOrUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);
}
