// OCI bundles for tests, made by scripts/make-bundle.mjs (the one place that knows the layout).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './runts';
import { watch } from './watch';

/** A runtime-spec config as JSON; tests edit it freely. */
export type BundleConfig = Record<string, any> & { process?: Record<string, any>; linux?: Record<string, any> };

export interface BundleOptions {
  /** The process's argv (default: sh). */
  args?: string[];
  /** Edits the default config in place, or returns a replacement. */
  config?: (config: BundleConfig) => BundleConfig | void;
}

export interface Bundle {
  bundle: string;
  rootfs: string;
  configPath: string;
  config: BundleConfig;
}

interface MakeBundleModule {
  makeBundle(dir: string, opts: BundleOptions): Bundle;
  defaultConfig(args?: string[]): BundleConfig;
}

// An ES module: loaded with import(), which tsx keeps as a real dynamic import.
const moduleUrl = pathToFileURL(path.join(REPO_ROOT, 'scripts', 'make-bundle.mjs')).href;
const loadModule = (): Promise<MakeBundleModule> => import(moduleUrl);

/** Creates a busybox bundle in `dir` (usually a tempDir(t)); the leak guard watches its path. */
export async function makeBundle(dir: string, opts: BundleOptions = {}): Promise<Bundle> {
  const made = (await loadModule()).makeBundle(dir, opts);
  watch.path(made.bundle);
  return made;
}

/** The default config makeBundle writes (runc's spec defaults, no resources, no terminal). */
export async function defaultConfig(args?: string[]): Promise<BundleConfig> {
  return (await loadModule()).defaultConfig(args);
}

/** Readies a bundle for a user namespace whose root is host id `hostId`: the rootfs becomes
 *  its own, and the directories down to the bundle (mkdtemp makes them 0700) traversable. */
export function prepareForUserNs(made: Bundle, hostId: number): void {
  execFileSync('chown', ['-R', '-h', `${hostId}:${hostId}`, made.rootfs]);
  openToOthers(made.bundle);
}

/** Lets other uids (a user namespace's root, an idmapped owner) traverse down to `dir`. */
export function openToOthers(dir: string): void {
  for (let d = dir; d !== path.dirname(d) && d !== '/tmp'; d = path.dirname(d)) fs.chmodSync(d, fs.statSync(d).mode | 0o711);
}
