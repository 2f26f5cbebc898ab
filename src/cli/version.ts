// What `runts --version` prints. go-runc and podman parse these lines by their prefixes.

/** The OCI runtime-spec version this runtime implements and writes into new configs. */
export const OCI_SPEC_VERSION = '1.3.0';

export const RUNTS_VERSION = '0.1.0';

// Defined by scripts/build.mjs (esbuild `define`) as the git commit; absent when run from source.
declare const RUNTS_COMMIT: string | undefined;

export function commitString(): string {
  return typeof RUNTS_COMMIT === 'string' && RUNTS_COMMIT !== '' ? RUNTS_COMMIT : 'unknown';
}

export function versionText(): string {
  return `runts version ${RUNTS_VERSION}\ncommit: ${commitString()}\nspec: ${OCI_SPEC_VERSION}\n`;
}
