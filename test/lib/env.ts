// The environment for programs a test spawns (runts, the benchmark, the cgroup v2 guest).

/**
 * This process's environment minus tap's variables and the node options tap injects (its
 * processinfo hook would run inside every node child), then `extra` added (or, where a value
 * is undefined, removed).
 */
export function envWithoutTap(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key.startsWith('TAP') || key.startsWith('_TAPJS_')) continue;
    env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}
