// Loading a bundle the dispatcher loads on demand (dist/<command>.js) together with the V8
// code cache scripts/build.mjs wrote next to it (<bundle>.cache): V8 then skips parsing and
// compiling the bundle and its functions, ~15 ms of a create's start-up (CPU). A
// missing or rejected cache (another node, other V8 flags) only costs that time back. The
// build writes bundle and cache together; V8 checks the cache against the source's length,
// node version and flags, not its content: never edit a bundle without rebuilding.
// node:module is not used here: loading it compiles node's ESM loader (~1 ms).
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** The CommonJS wrapper, exactly as node's Module.wrap writes it: the build makes the code
 *  caches of the wrapped source, and V8 takes a cache only for the source it was made from. */
export function wrapBundle(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
}

/** A bundle compiled through its code cache when there is one (then cachedDataRejected is
 *  false once V8 has taken it). */
export function compileBundle(file: string): Script {
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    // no cache: V8 compiles from source
  }
  return new Script(wrapBundle(readFileSync(file, 'utf8')), { filename: file, cachedData });
}

/** require() of a CommonJS bundle, through its code cache when there is one. Its require()
 *  of an id in `shared` returns that module (the caller's instance); any other id is one of
 *  node's builtins (a bundle holds everything else it needs). */
export function requireBundle(file: string, shared: Record<string, unknown>): unknown {
  const script = compileBundle(file);
  const requireShared = (id: string): unknown => (id in shared ? shared[id] : require(id));
  const module = { exports: {} };
  script.runInThisContext()(module.exports, requireShared, module, file, dirname(file));
  return module.exports;
}
