// The layout scripts/build.mjs gives the CLI for a short start-up (issue #6): what each call
// loads, and that node really takes the shortcuts. Checks the built bin/runts and dist/.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { wrap } from 'node:module';
import * as path from 'node:path';
import { Script } from 'node:vm';
import t from 'tap';
import { compileBundle, wrapBundle } from '../src/cli/code-cache';
import { REPO_ROOT } from './lib';
import { envWithoutTap } from './lib/env';

const BIN = path.join(REPO_ROOT, 'bin', 'runts');
const DIST = path.join(REPO_ROOT, 'dist');
/** A message of yargs' own: present in any bundle that holds yargs. */
const YARGS_MARKER = 'Not enough non-option arguments';

t.test('node starts without loading NODE_EXTRA_CA_CERTS (70 ms of CPU at every call)', async (t) => {
  // node warns when it cannot load the file; it does not even try when the shebang drops the variable.
  const missing = path.join(REPO_ROOT, 'no-such-ca-file.pem');
  const r = spawnSync(BIN, ['--version'], { encoding: 'utf8', env: envWithoutTap({ NODE_EXTRA_CA_CERTS: missing }) });
  t.equal(r.status, 0);
  t.match(r.stdout, /^runts version /);
  t.equal(r.stderr, '', 'no warning about the CA file');
});

t.test('bin/runts only loads the dispatcher, which has a code cache like the command bundles', async (t) => {
  t.ok(fs.statSync(BIN).size < 2_000, `bin/runts is small (${fs.statSync(BIN).size} bytes)`);
  t.match(fs.readFileSync(BIN, 'utf8'), /dist.*cli\.js/);
  t.ok(fs.existsSync(path.join(DIST, 'cli.js.cache')), 'dist/cli.js.cache');
});

t.test('yargs is only in its own bundle, loaded for --help', async (t) => {
  t.notOk(fs.readFileSync(path.join(DIST, 'cli.js'), 'utf8').includes(YARGS_MARKER), 'not in the dispatcher');
  for (const name of ['create', 'run', 'start', 'state', 'delete', 'kill']) {
    t.notOk(fs.readFileSync(path.join(DIST, `${name}.js`), 'utf8').includes(YARGS_MARKER), `not in dist/${name}.js`);
  }
  t.ok(fs.readFileSync(path.join(DIST, 'help.js'), 'utf8').includes(YARGS_MARKER), 'in dist/help.js');
});

t.test('the schema validators are only in the bundles of commands that read a config', async (t) => {
  const size = (name: string) => fs.statSync(path.join(DIST, `${name}.js`)).size;
  t.ok(size('create') > 150_000 && size('run') > 150_000, 'create and run hold them');
  for (const name of ['state', 'start', 'delete', 'kill', 'list']) t.ok(size(name) < 100_000, `dist/${name}.js is small (${size(name)} bytes)`);
});

t.test('the bundles are wrapped as node wraps a module, the source their caches were made from', async (t) => {
  t.equal(wrapBundle('exports.x = 1;'), wrap('exports.x = 1;'));
});

t.test('every bundle in dist/ has a code cache this node accepts', async (t) => {
  // dist/shim.js is a script node runs itself (as bin/runts is), which would not use a cache.
  const bundles = fs.readdirSync(DIST).filter((f) => f.endsWith('.js') && f !== 'shim.js');
  t.ok(bundles.length > 10);
  for (const name of bundles) {
    const file = path.join(DIST, name);
    const script = new Script(wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData: fs.readFileSync(`${file}.cache`) });
    t.equal(script.cachedDataRejected, false, `${name}.cache`);
    // The loader's own way (undefined, not false, if it passed no cache).
    t.equal(compileBundle(file).cachedDataRejected, false, `${name}.cache, as bin/runts loads it`);
  }
});

t.test("node's builtins are used as they are, without an ESM view made at every load", async (t) => {
  for (const name of fs.readdirSync(DIST).filter((f) => f.endsWith('.js'))) {
    t.notMatch(fs.readFileSync(path.join(DIST, name), 'utf8'), /__toESM\(require\("node:/, name);
  }
});
