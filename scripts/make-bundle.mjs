#!/usr/bin/env node
// Makes a minimal OCI bundle: a busybox rootfs and a runc-style default config.json.
//   node scripts/make-bundle.mjs DIR [-- ARGS...]      (ARGS default to: sh)
// Also imported by test/lib/bundle.ts, so the bundle layout and the default
// config exist in this one place.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the busybox-static package installs its static binary. */
export const BUSYBOX = '/bin/busybox';

const REPO_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The default container config: what `runts spec` writes (runc's defaults), with the
 * given args and no terminal, so tests and the demo run without a tty.
 * @param {string[]} args the process's argv
 */
export function defaultConfig(args = ['sh']) {
  const config = structuredClone(specConfig());
  config.process.terminal = false;
  config.process.args = [...args];
  return config;
}

let cachedSpec;
/** `runts spec` output, made once per process (it is the same every time). */
function specConfig() {
  if (cachedSpec) return cachedSpec;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-spec-'));
  try {
    execFileSync(path.join(REPO_ROOT, 'bin', 'runts'), ['spec', '--bundle', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    cachedSpec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    return cachedSpec;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let cachedApplets;
/** The host busybox's applet paths (bin/ls, usr/bin/id …), listed once per process. */
function busyboxApplets() {
  cachedApplets ??= execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return cachedApplets;
}

/**
 * Fills `rootfs` with busybox, its applet symlinks, users, groups and the
 * directories the default mounts need.
 * @param {string} rootfs
 */
function populateRootfs(rootfs) {
  if (!fs.existsSync(BUSYBOX)) {
    throw new Error(`${BUSYBOX} not found: install the Debian package busybox-static (apt-get install busybox-static)`);
  }
  for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'proc', 'sys', 'dev', 'tmp']) {
    fs.mkdirSync(path.join(rootfs, dir), { recursive: true });
  }
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  // Links are made from the host's busybox applet list so no code runs inside the rootfs.
  const applets = busyboxApplets();
  for (const applet of applets) {
    const link = path.join(rootfs, applet);
    if (applet === 'bin/busybox' || fs.existsSync(link)) continue;
    fs.symlinkSync('/bin/busybox', link);
  }
  fs.writeFileSync(
    path.join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nnobody:x:65534:\n');
}

/**
 * Creates an OCI bundle in `dir` (made if missing; must hold no rootfs or config yet).
 * @param {string} dir
 * @param {{ args?: string[], config?: (config: ReturnType<typeof defaultConfig>) => unknown }} [opts]
 *   `config` may edit the config in place or return a replacement.
 * @returns {{ bundle: string, rootfs: string, configPath: string, config: object }}
 */
export function makeBundle(dir, opts = {}) {
  const bundle = path.resolve(dir);
  const rootfs = path.join(bundle, 'rootfs');
  const configPath = path.join(bundle, 'config.json');
  for (const existing of [rootfs, configPath]) {
    if (fs.existsSync(existing)) throw new Error(`${existing} already exists`);
  }
  fs.mkdirSync(rootfs, { recursive: true });
  populateRootfs(rootfs);
  let config = defaultConfig(opts.args);
  if (opts.config) config = opts.config(config) ?? config;
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n');
  return { bundle, rootfs, configPath, config };
}

function main(argv) {
  const separator = argv.indexOf('--');
  const positional = separator === -1 ? argv : argv.slice(0, separator);
  const args = separator === -1 ? undefined : argv.slice(separator + 1);
  if (positional.length !== 1 || (args && args.length === 0)) {
    process.stderr.write('usage: node scripts/make-bundle.mjs DIR [-- ARGS...]\n');
    return 2;
  }
  try {
    const { bundle } = makeBundle(positional[0], { args });
    process.stdout.write(`${bundle}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`make-bundle: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
