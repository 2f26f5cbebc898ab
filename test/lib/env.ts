// The environment for programs a test spawns (runts, the benchmark, the cgroup v2 guest).

// tap's processinfo hooks every spawn of the test process (process-on-spawn) and writes its
// --import back into the child's NODE_OPTIONS, whatever env the caller passed: every node the
// tests start (runts, the shim, through podman and containerd too) then loaded tap's loader
// first, about 170 ms a call. The tests spawn only programs under test, never tap children:
// drop the hook, and the NODE_OPTIONS tap started this process with (children that get this
// process's env, like podman's, would pass it on), as soon as the test library loads.
const spawnHooks = (globalThis as Record<symbol, { listeners: unknown[] } | undefined>)[Symbol.for('process-on-spawn@*:singletonId')];
if (spawnHooks) spawnHooks.listeners = [];
delete process.env.NODE_OPTIONS;

/**
 * This process's environment minus tap's variables and node options, then `extra` added (or,
 * where a value is undefined, removed).
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
