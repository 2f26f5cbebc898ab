// Loading a bundle the dispatcher loads on demand (dist/<command>.js) together with the V8
// code cache scripts/build.mjs wrote next to it (<bundle>.cache): V8 then skips parsing and
// compiling the bundle and its functions, ~15 ms of a create's start-up (CPU). A
// missing or rejected cache (another node, other V8 flags) only costs that time back. The
// build writes bundle and cache together; V8 checks the cache against the source's length,
// node version and flags, not its content: never edit a bundle without rebuilding.
import { readFileSync } from 'node:fs';
import { createRequire, wrap } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** require() of a CommonJS bundle, through its code cache when there is one. Its require()
 *  of an id in `shared` returns that module (the caller's instance) without a lookup. */
export function requireBundle(file: string, shared: Record<string, unknown>): unknown {
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    // no cache: V8 compiles from source
  }
  const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  let requireFromFile: NodeRequire | undefined;
  const requireShared = (id: string): unknown => (id in shared ? shared[id] : (requireFromFile ??= createRequire(file))(id));
  const module = { exports: {} };
  script.runInThisContext()(module.exports, requireShared, module, file, dirname(file));
  return module.exports;
}
