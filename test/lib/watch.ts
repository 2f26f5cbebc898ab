// What the running test made: the IDs and paths the leak guard attributes leftovers to.
// Subtests of one file run one at a time, so one list per process is enough; each
// test's teardown clears it.

const ids = new Set<string>();
const paths = new Set<string>();
const roots = new Set<string>();

export const watch = {
  /** Records a container ID (or any name the runtime may put into paths and cgroups). */
  id(id: string): void {
    ids.add(id);
  },
  /** Records an absolute path that the test owns (bundle, state root, temp dir). */
  path(path: string): void {
    paths.add(path);
  },
  /** Records a runts state root (also a watched path): it must hold no container at teardown. */
  root(root: string): void {
    paths.add(root);
    roots.add(root);
  },
  /** The IDs recorded since the last clear. */
  ids(): string[] {
    return [...ids];
  },
  /** The paths recorded since the last clear. */
  paths(): string[] {
    return [...paths];
  },
  /** The state roots recorded since the last clear. */
  roots(): string[] {
    return [...roots];
  },
  /** Forgets everything: called when a test's teardown is done. */
  clear(): void {
    ids.clear();
    paths.clear();
    roots.clear();
  },
};
