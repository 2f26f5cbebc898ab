// Build the TypeScript side: generate the spec validators and types, then bundle the CLI.
// The native targets are built before this by node-gyp (`npm install` runs it).
//
// Start-up cost is what this layout is for: V8 pre-parses every byte of a script it loads,
// so one bundle of everything (yargs, the ajv validators, the whole engine) cost every call
// ~20 ms before it did anything. Instead:
//   bin/runts             a few lines (src/bin.ts): load dist/cli.js through its code cache
//   dist/cli.js           the dispatcher: global flags, --version, help, the flag parser;
//                         it hands the bundles below the modules with state or classes they
//                         must share with it (the configured logger, error classes)
//   dist/<command>.js     one bundle per subcommand, everything it needs, loaded on demand
//   dist/help.js          yargs, for a command's --help
//   dist/*.js.cache       V8 code caches of the bundles in dist/ (src/cli/code-cache.ts)
//   bin/containerd-shim-runts-v2   the containerd shim: a copy of the native launcher
//                         (native/shim), which asks the namespace's resident shim to answer
//                         `start` and `delete`, else execs dist/shim.js
//   dist/shim.js          the Node shim (src/shim/main.ts): flags, `start`, `delete`, the resident;
//                         the resident and `delete` load dist/shim-daemon.js (the engine)
// bin/runts's shebang names this machine's node by absolute path (podman calls the runtime
// with an environment holding no PATH), through env(1) to drop NODE_EXTRA_CA_CERTS: with it
// set, node parses that CA file and its own root store at boot (70 ms of CPU on the test
// machines, twice what the rest of node's boot costs), and runts makes no TLS connection.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');

execFileSync(process.execPath, [join(root, 'scripts', 'gen-spec.mjs')], { stdio: 'inherit' });
execFileSync(process.execPath, [join(root, 'scripts', 'gen-syscalls.mjs')], { stdio: 'inherit' });

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const ENV = '/usr/bin/env';
const shebang = existsSync(ENV) ? `#!${ENV} -S -u NODE_EXTRA_CA_CERTS ${process.execPath}` : `#!${process.execPath}`;

/** The shared modules: bundled into dist/cli.js, required by the other bundles under an id
 *  of their own that src/cli/code-cache.ts maps to dist/cli.js's instance. */
const SHARED = new Map(['log', 'errors'].map((name) => [join(src, name), `runts:${name}`]));
const binFile = join(root, 'bin', 'runts');
const dispatcher = join(dist, 'cli.js');

/** Modules the dispatcher loads on demand (without extension) → their bundles. */
const commandNames = readdirSync(join(src, 'commands')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
const LAZY = new Map([
  ...commandNames.map((name) => [join(src, 'commands', name), join(dist, `${name}.js`)]),
  [join(src, 'cli', 'help'), join(dist, 'help.js')],
  [join(src, 'shim', 'daemon'), join(dist, 'shim-daemon.js')],
]);
const shimBinFile = join(root, 'bin', 'containerd-shim-runts-v2');
const shimScript = join(dist, 'shim.js');

/**
 * Resolves imports of the shared modules to their ids and, for the dispatcher, the lazily
 * loaded modules to a stub that loads their bundle with its code cache and hands it the
 * shared modules: both stay out of the bundle being built.
 */
function splitPlugin(out, { dispatcher }) {
  return {
    name: 'runts-split',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const target = resolve(args.resolveDir, args.path).replace(/\.ts$/, '');
        if (SHARED.has(target) && !dispatcher) return { path: SHARED.get(target), external: true };
        if (dispatcher && LAZY.has(target)) return { path: LAZY.get(target), namespace: 'runts-lazy' };
        return undefined;
      });
      b.onLoad({ filter: /.*/, namespace: 'runts-lazy' }, (args) => ({
        contents: [
          `const shared = { ${[...SHARED].map(([module, id]) => `${JSON.stringify(id)}: require(${JSON.stringify(module)})`).join(', ')} };`,
          `const bundle = require('node:path').join(__dirname, ${JSON.stringify(relative(dirname(out), args.path))});`,
          `module.exports = require(${JSON.stringify(join(src, 'cli', 'code-cache.ts'))}).requireBundle(bundle, shared);`,
        ].join('\n'),
        resolveDir: src,
        loader: 'js',
      }));
    },
  };
}

/**
 * Write the V8 code cache of each bundle (what src/cli/code-cache.ts loads) with every
 * function in it compiled: otherwise V8 compiles each function on its first call, which
 * cost a create another ~7 ms (CPU). The script is compiled with --no-lazy, and its cache
 * made once the flag is back to node's default: V8 accepts a cache only under the flags it
 * was made with. A child node checks that it does.
 */
function writeCodeCaches(files) {
  for (const file of files) {
    const source = Module.wrap(readFileSync(file, 'utf8'));
    setFlagsFromString('--no-lazy');
    const script = new Script(source, { filename: file });
    setFlagsFromString('--lazy');
    writeFileSync(`${file}.cache`, script.createCachedData());
  }
  const check = `const { Script } = require('node:vm'); const { wrap } = require('node:module'); const fs = require('node:fs');
    for (const f of ${JSON.stringify(files)}) if (new Script(wrap(fs.readFileSync(f, 'utf8')), { filename: f, cachedData: fs.readFileSync(f + '.cache') }).cachedDataRejected) throw new Error('node rejects the code cache of ' + f);`;
  execFileSync(process.execPath, ['-e', check], { stdio: 'inherit' });
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  define: { RUNTS_COMMIT: JSON.stringify(gitCommit()) },
  logLevel: 'warning',
};

rmSync(dist, { recursive: true, force: true });
await Promise.all([
  build({ ...common, entryPoints: [join(src, 'bin.ts')], outfile: binFile, banner: { js: shebang } }),
  build({ ...common, entryPoints: [join(src, 'cli.ts')], outfile: dispatcher, plugins: [splitPlugin(dispatcher, { dispatcher: true })] }),
  build({ ...common, entryPoints: [join(src, 'shim', 'main.ts')], outfile: shimScript, banner: { js: shebang }, plugins: [splitPlugin(shimScript, { dispatcher: true })] }),
  ...[...LAZY].map(([module, out]) => build({ ...common, entryPoints: [`${module}.ts`], outfile: out, plugins: [splitPlugin(out, { dispatcher: false })] })),
]);
// esbuild gives every `import * as fs from 'node:fs'` an ESM view of the module (__toESM: a
// getter per export, made when the importing module loads; ~2.5 ms for the run bundle). Node's
// builtins are used only through their named exports, which the module itself has.
for (const file of [dispatcher, shimScript, ...LAZY.values()]) {
  const text = readFileSync(file, 'utf8');
  // A default import would need the ESM view's `default`.
  const defaultImport = /import_node_\w+\.default\b/.exec(text);
  if (defaultImport) throw new Error(`${file}: ${defaultImport[0]}: import node builtins by name, not by default`);
  writeFileSync(file, text.replace(/__toESM\((require\("node:[\w/]+"\))\)/g, '$1'));
}
writeCodeCaches([dispatcher, ...LAZY.values()]);
chmodSync(binFile, 0o755);
chmodSync(shimScript, 0o755);
// Through a rename: a launcher running now keeps its file (no ETXTBSY).
copyFileSync(join(root, 'build', 'Release', 'containerd-shim-runts-v2'), `${shimBinFile}.new`);
chmodSync(`${shimBinFile}.new`, 0o755);
renameSync(`${shimBinFile}.new`, shimBinFile);
