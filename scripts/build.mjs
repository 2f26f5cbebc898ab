// Build the TypeScript side: generate the spec validators and types, then bundle the CLI
// into one CommonJS file, bin/runts, whose shebang names this machine's node by absolute
// path (podman calls the runtime with an environment holding no PATH).
// The native targets are built before this by node-gyp (`npm install` runs it).
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

execFileSync(process.execPath, [join(root, 'scripts', 'gen-spec.mjs')], { stdio: 'inherit' });
execFileSync(process.execPath, [join(root, 'scripts', 'gen-syscalls.mjs')], { stdio: 'inherit' });

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const outfile = join(root, 'bin', 'runts');
await build({
  entryPoints: [join(root, 'src', 'cli.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  banner: { js: `#!${process.execPath}` },
  define: { RUNTS_COMMIT: JSON.stringify(gitCommit()) },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
