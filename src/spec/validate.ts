// Reading and validating config.json: JSON syntax, the project's schema (compiled at
// build time into ./generated/validators.js, so no schema compiler loads at run time), the
// ociVersion, then the semantic checks of ./semantic.ts. create stops at the first error;
// `runts validate` (src/validate/) reuses these pieces to report all of them.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as generated from './generated/validators';
import type { SchemaError, SchemaValidator } from './generated/validators';
import { SpecError, describeFsError, pointerToken, specErrorMessage, type ValidateOptions } from './errors';
import { checkProcessSemantics, checkSemantics } from './semantic';
import type { LinuxResources, Process, Spec, State } from './types';

export { SpecError, type ValidateOptions } from './errors';

export const CONFIG_FILE = 'config.json';

/** SemVer 2.0.0 (the grammar from semver.org) with the major version fixed to 1. */
const SPEC_VERSION_1X =
  /^1\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const ANY_SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * Reads <bundleDir>/config.json and checks its syntax, schema and ociVersion. The result
 * suits commands that only read the config (e.g. hooks at delete); `create`/`run` pass it
 * on to validateConfig for the semantic checks.
 */
export function loadConfig(bundleDir: string): Spec {
  const raw = readConfigJson(join(resolve(bundleDir), CONFIG_FILE));
  return checkConfigSchema(stripDeviceTypeBits(raw), CONFIG_FILE);
}

const DEVICE_TYPE_BITS: Record<string, number> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };

/**
 * podman writes linux.devices[].fileMode with the file-type bits of the device included
 * (S_IFCHR|0644 = 8612), which the schema caps at 0777 and runc accepts. Strip type bits
 * that agree with the device's `type`; anything else is left for the schema to reject.
 */
export function stripDeviceTypeBits(raw: unknown): unknown {
  const devices = (raw as { linux?: { devices?: unknown } } | null)?.linux?.devices;
  if (!Array.isArray(devices)) return raw;
  for (const device of devices) {
    if (device === null || typeof device !== 'object') continue;
    const d = device as { type?: unknown; fileMode?: unknown };
    const bits = typeof d.type === 'string' ? DEVICE_TYPE_BITS[d.type] : undefined;
    if (bits !== undefined && typeof d.fileMode === 'number' && Number.isInteger(d.fileMode) && (d.fileMode & 0o170000) === bits) {
      d.fileMode &= 0o7777;
    }
  }
  return raw;
}

/**
 * Full validation for create/run: schema, ociVersion and the semantic checks. Returns the
 * spec to use (relative mount destinations made absolute, as runc does) and the warnings
 * to log. Throws SpecError.
 */
export function validateConfig(raw: unknown, opts: ValidateOptions): { spec: Spec; warnings: string[] } {
  return checkSemantics(checkConfigSchema(raw, opts.file), opts);
}

/**
 * Validates a lone process document (`exec --process F`): the schema's Process definition
 * plus the process checks of validateConfig. Throws SpecError.
 */
export function validateProcess(raw: unknown, opts: ValidateOptions): Process {
  const process = checkSchema(generated.validateProcess, raw, opts.file);
  checkProcessSemantics(process, opts);
  return process;
}

/** Validates a LinuxResources document (`update --resources F`). Throws SpecError. */
export function validateResources(raw: unknown, file: string): LinuxResources {
  checkNestingDepth(raw, file);
  return checkSchema(generated.validateResources, raw, file);
}

/** Checks a state JSON document against the state schema. Throws SpecError. */
export function validateState(raw: unknown, file: string): State {
  return checkSchema(generated.validateState, raw, file);
}

/** Reads and parses a config.json file and checks its nesting depth. Throws SpecError. */
export function readConfigJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SpecError(describeFsError(err, path, 'open'));
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SpecError(`${CONFIG_FILE}: invalid JSON: ${(err as Error).message}`);
  }
  checkNestingDepth(raw, CONFIG_FILE);
  return raw;
}

/** Far beyond any real config; deeper values overflow the stack of JSON.stringify (the state record). */
const MAX_NESTING = 512;

/** Refuses values nested deeper than MAX_NESTING (Go's JSON decoder, runc's, stops at 10000). */
function checkNestingDepth(raw: unknown, file: string): void {
  const keys = tooDeep(raw, 0);
  if (!keys) return;
  // The pointer names the first few levels: enough to find the field.
  const pointer = keys.slice(0, 4).map((k) => `/${pointerToken(k)}`).join('') + (keys.length > 4 ? '/…' : '');
  const message = `nested more than ${MAX_NESTING} levels deep`;
  throw new SpecError(specErrorMessage(file, pointer, message), { pointer, message });
}

/** The keys down to the first object or array nested MAX_NESTING deep, if any. Recursion
 *  stops there, so the stack stays shallow; nothing is allocated for a config that passes. */
function tooDeep(value: unknown, depth: number): string[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_NESTING) return [];
  for (const key in value) {
    const below = tooDeep((value as Record<string, unknown>)[key], depth + 1);
    if (below) {
      below.unshift(key);
      return below;
    }
  }
  return undefined;
}

/** Schema and ociVersion. Throws SpecError. */
export function checkConfigSchema(raw: unknown, file: string): Spec {
  const spec = checkSchema(generated.validateConfig, raw, file);
  checkSpecVersion(spec.ociVersion, file);
  return spec;
}

function checkSchema<T>(validator: SchemaValidator<T>, raw: unknown, file: string): T {
  if (validator(raw)) return raw;
  const error = mostSpecificError(validator.errors ?? []);
  if (!error) throw new SpecError(`${file}: does not match the schema`);
  throw new SpecError(schemaErrorMessage(file, [error]), { pointer: error.instancePath, message: describeSchemaError(error) });
}

/**
 * One message for a failed validation: `<file>: <pointer>: <rule>` for the most specific
 * error, i.e. the deepest in the document (ties: the first reported), skipping the
 * summary errors of anyOf/oneOf and the like.
 */
export function schemaErrorMessage(file: string, errors: readonly SchemaError[]): string {
  const error = mostSpecificError(errors);
  if (!error) return `${file}: does not match the schema`;
  return specErrorMessage(file, error.instancePath, describeSchemaError(error));
}

/** runc does not check ociVersion, but runtime-spec requires an error for invalid values. */
export function checkSpecVersion(version: string, file: string): void {
  if (SPEC_VERSION_1X.test(version)) return;
  const problem = ANY_SEMVER.test(version)
    ? `unsupported runtime-spec version "${version}": runts implements 1.x`
    : `"${version}" is not a SemVer version`;
  throw new SpecError(specErrorMessage(file, '/ociVersion', problem), { pointer: '/ociVersion', message: problem });
}

/** Summary keywords only say "a branch failed"; the branch's own error says why. */
export const SUMMARY_KEYWORDS: ReadonlySet<string> = new Set(['anyOf', 'oneOf', 'allOf', 'if', 'not']);

function mostSpecificError(errors: readonly SchemaError[]): SchemaError | undefined {
  let best: SchemaError | undefined;
  let bestDepth = -1;
  for (const error of errors) {
    if (SUMMARY_KEYWORDS.has(error.keyword)) continue;
    const depth = error.instancePath === '' ? 0 : error.instancePath.split('/').length - 1;
    if (depth > bestDepth) {
      best = error;
      bestDepth = depth;
    }
  }
  return best ?? errors[0];
}

/** Schema limits that JavaScript numbers cannot print exactly (2^64 - 1, 2^63 - 1, -2^63). */
const EXACT_LIMITS = new Map<number, string>([
  [2 ** 64, '18446744073709551615'],
  [2 ** 63, '9223372036854775807'],
  [-(2 ** 63), '-9223372036854775808'],
]);

/** What the schema allows, from one error's keyword and params. */
export function describeSchemaError(error: SchemaError): string {
  const params = error.params;
  switch (error.keyword) {
    case 'type':
      return `must be ${String(params.type)}`;
    case 'required':
      return `must have required property '${String(params.missingProperty)}'`;
    case 'minimum':
    case 'maximum': {
      const limit = params.limit as number;
      return `must be ${String(params.comparison)} ${EXACT_LIMITS.get(limit) ?? String(limit)}`;
    }
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return `must match pattern ${JSON.stringify(params.pattern)}`;
    case 'minItems':
      return `must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`;
    default:
      return `fails the schema rule ${error.schemaPath}`;
  }
}
