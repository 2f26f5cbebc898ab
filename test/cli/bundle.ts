// Bundle src/cli.ts with everything it loads into one file in a temp dir (scripts/build.mjs
// splits the same code into bin/runts and per-command bundles), so tests run the real
// CLI with plain node (fast: no TypeScript loader in the child). Imports that
// do not resolve yet (modules other engineers are still writing) become external, so they
// fail only if a test actually runs that command.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { build, type Plugin } from 'esbuild';

const projectRoot = path.resolve(__dirname, '..', '..');

const tolerateMissing: Plugin = {
  name: 'tolerate-missing',
  setup(b) {
    b.onResolve({ filter: /^\./ }, async (args) => {
      if (args.pluginData === 'probe') return undefined;
      const found = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: 'probe' });
      return found.errors.length > 0 ? { path: args.path, external: true } : undefined;
    });
  },
};

export async function bundleCli(commit = 'test-commit'): Promise<{ file: string; cleanup(): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-cli-test-'));
  const file = path.join(dir, 'runts.js');
  await build({
    entryPoints: [path.join(projectRoot, 'src', 'cli.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'silent',
    define: { RUNTS_COMMIT: JSON.stringify(commit) },
    plugins: [tolerateMissing],
  });
  return { file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function runBundle(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', cwd: options.cwd, env: options.env ?? process.env });
}
