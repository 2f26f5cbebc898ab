// bin/runts: loads the dispatcher (dist/cli.js) through its V8 code cache, which node's own
// loader would not use: parsing and compiling it cost every call ~2 ms (CPU).
import { join } from 'node:path';
import { requireBundle } from './cli/code-cache';

(requireBundle(join(__dirname, '..', 'dist', 'cli.js'), {}) as typeof import('./cli')).main();
