// Helpers for integration tests: import from 'test/lib' (relative path) in test files.
export { makeBundle, defaultConfig, openToOthers, prepareForUserNs, type Bundle, type BundleConfig, type BundleOptions } from './bundle';
export { leakGuard, startLeakWatch, type LeakWatch } from './guard';
export {
  OWN_RUNTS,
  REPO_ROOT,
  RUNTS_BIN,
  runtimeEnv,
  runts,
  runtsRoot,
  runtsToFiles,
  type RuntsOptions,
  type RuntsResult,
  type RuntsToFilesOptions,
} from './runts';
export { runAsCaller, type CallerOptions, type CallerResult } from './caller';
export { onCleanup, tempDir } from './scope';
export { listCgroupDirs, listProcesses, readMounts } from './system';
export { requireRoot, uniqueId, waitFor } from './util';
