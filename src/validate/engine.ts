// `runts validate`: every problem of a bundle's config.json at once, through the checks create
// makes (no rule of its own except the --host probes of ./host.ts). In order, each stage only
// when the one before found no error (a later stage needs what the earlier one guarantees):
//   config    read and parse config.json
//   schema    the schema with every error (src/spec/generated/validators-all.js) and ociVersion
//   semantic  src/spec/semantic.ts, collecting
//   host      (--host) create's host-dependent steps one by one, each linux.resources field on
//             its own, and the probes of ./host.ts
//   create    create's own preparation (prepareCreate: validation, cgroup and rootless checks,
//             the plan), which makes nothing: anything it refuses is an error, so a config
//             validate passes gets past that whole step of create
// A foreground `runts run` is what is validated: no --console-socket, not detached.
import { accessSync, constants, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CgroupDriver } from '../cgroups/driver';
import { newCgroupDriver } from '../cgroups/factory';
import { hostHierarchies } from '../cgroups/hierarchy';
import { isPureV2 } from '../cgroups/paths';
import { systemdIsRunning } from '../cgroups/systemd';
import { prepareCreate, type CreatePreparation } from '../container/create';
import { EngineError, RuntimeError } from '../errors';
import { planResctrl } from '../intelrdt/resctrl';
import { captureWarnings } from '../log';
import { planNetDevices } from '../network/devices';
import { callerLimits, checkRootlessSpec } from '../rootless/checks';
import { currentIds } from '../rootless/idmap';
import { isRootlessEuid, useRootlessCgroups } from '../rootless/mode';
import { SpecError, specErrorMessage, type SpecProblem } from '../spec/errors';
import { validateConfig as validateConfigAllErrors, type SchemaError } from '../spec/generated/validators-all';
import { collectSemanticProblems } from '../spec/semantic';
import type { LinuxResources, Spec } from '../spec/types';
import { checkSpecVersion, CONFIG_FILE, describeSchemaError, readConfigJson, stripDeviceTypeBits, SUMMARY_KEYWORDS } from '../spec/validate';
import { devicesOnDirectories, hiddenBindSources, hostDirectory, hostFacts, hostFilesystem, hostMountRefusal, hostProblems, hostProcfsDir, hostSummary, missingExecutable, procfsProblem, refusedMountData, rootfsProblem, unknownFilesystems } from './host';
import { foundText, valueAt, type Finding, type HostSummary, type Stage, type ValidationReport } from './report';

export interface ValidateRequest {
  bundle: string;
  /** Run the host checks too. */
  host: boolean;
  /** The container ID create would get (cgroup paths, resctrl group). */
  id: string;
  /** The global options create would run with. */
  root: string;
  systemdCgroup: boolean;
  rootless?: string;
}

export interface Validated {
  report: ValidationReport;
  /** create's preparation, when the config got that far and passed it (explain prints its plan). */
  preparation?: CreatePreparation;
}

/**
 * The pointer a message names when its thrower gave none apart, and the message without it:
 * "config.json: /a/b: …", or a dotted field in front ("linux.resources.memory.swap: …",
 * "process.rlimits: …"); "mounts: /dest: …" names the mount with that destination in `doc`.
 */
export function pointerInMessage(message: string, doc?: unknown): { pointer: string | null; rest: string } {
  const named = /^config\.json: (\/[^:]*): /.exec(message);
  if (named) return { pointer: named[1], rest: message.slice(named[0].length) };
  const dotted = /^((?:process|root|mounts|hooks|linux|hostname|domainname|annotations)(?:\.[A-Za-z0-9_]+)*)(?:\[(\d+)\])?: /.exec(message);
  if (!dotted) return { pointer: null, rest: message };
  let pointer = `/${dotted[1].split('.').join('/')}${dotted[2] === undefined ? '' : `/${dotted[2]}`}`;
  let rest = message.slice(dotted[0].length);
  const mounts = (doc as { mounts?: unknown } | undefined)?.mounts;
  const destination = pointer === '/mounts' ? /^(\/[^:]*): /.exec(rest) : null;
  if (destination && Array.isArray(mounts)) {
    const index = mounts.findIndex((m) => (m as { destination?: unknown } | null)?.destination === destination[1]);
    if (index >= 0) {
      pointer = `/mounts/${index}`;
      rest = rest.slice(destination[0].length);
    }
  }
  return { pointer, rest };
}

/** Errors validate expects from the checks it runs; anything else is a bug, reported as one. */
function isExpected(err: unknown): err is Error {
  return err instanceof SpecError || err instanceof EngineError || err instanceof RuntimeError;
}

class Findings {
  readonly list: Finding[] = [];
  /** Messages as create would log them, so the same problem found twice is listed once. */
  private readonly seen = new Set<string>();
  /** The messages of errors listed with a pointer: create's own message for a problem --host
   *  found first (create names no field for it) is the same error. */
  private readonly pointedErrors = new Set<string>();

  constructor(private readonly doc: unknown) {}

  add(severity: Finding['severity'], stage: Stage, pointer: string | null, message: string): void {
    const key = pointer === null ? message : specErrorMessage(CONFIG_FILE, pointer, message);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (severity === 'error' && pointer !== null) this.pointedErrors.add(message);
    const found = pointer === null ? undefined : foundText(valueAt(this.doc, pointer));
    this.list.push({ severity, level: severity === 'error' ? 'MUST' : 'SHOULD', stage, pointer, message, ...(found === undefined ? {} : { found }) });
  }

  problem(severity: Finding['severity'], stage: Stage, p: SpecProblem): void {
    this.add(severity, stage, p.pointer, p.message);
  }

  /** A thrown error: its pointer and rule apart where known, else as its message says them. */
  error(stage: Stage, err: unknown): void {
    if (err instanceof SpecError && err.problem) return this.problem('error', stage, err.problem);
    if (!isExpected(err)) {
      this.add('error', stage, null, `unexpected ${(err as Error)?.name ?? 'error'} (a bug in runts): ${(err as Error)?.message ?? String(err)}`);
      return;
    }
    this.text('error', stage, err.message);
  }

  /** A message as create logs it ("config.json: /p: m", "linux.x: m" or plain). */
  text(severity: Finding['severity'], stage: Stage, message: string): void {
    if (this.seen.has(message) || (severity === 'error' && this.pointedErrors.has(message))) return;
    const { pointer, rest } = pointerInMessage(message, this.doc);
    this.add(severity, stage, pointer, rest);
  }

  get errors(): number {
    return this.list.filter((f) => f.severity === 'error').length;
  }
}

/** The schema's errors, each once (allErrors can report one rule at one place more than once). */
function schemaFindings(raw: unknown, findings: Findings): Spec | undefined {
  if (validateConfigAllErrors(raw)) {
    try {
      checkSpecVersion(raw.ociVersion, CONFIG_FILE);
      return raw;
    } catch (err) {
      findings.error('schema', err);
      return undefined;
    }
  }
  const errors: SchemaError[] = validateConfigAllErrors.errors ?? [];
  for (const error of errors) {
    if (SUMMARY_KEYWORDS.has(error.keyword)) continue;
    findings.add('error', 'schema', error.instancePath, describeSchemaError(error));
  }
  if (findings.errors === 0) findings.add('error', 'schema', '', 'does not match the schema');
  return undefined;
}

/** The cgroup facts create adapts to, as the driver it would use decided them. */
function cgroupSummary(cgroups: CgroupDriver, spec: Spec, req: ValidateRequest): HostSummary['cgroups'] {
  const hierarchies = hostHierarchies();
  const v2 = hierarchies.some((h) => h.fstype === 'cgroup2');
  return {
    layout: isPureV2(hierarchies) ? 'v2' : v2 ? 'hybrid' : 'v1',
    driver: req.systemdCgroup ? 'systemd' : 'cgroupfs',
    systemd: systemdIsRunning(),
    controllers: cgroups.availableControllers(),
    join: cgroups.joinMethod(spec.linux?.namespaces?.some((ns) => ns.type === 'user') === true),
  };
}

/** Create's host-dependent steps, each on its own, so that each failing field is reported;
 *  returns what the host gives create, where the cgroup driver could be made. */
function hostFindings(spec: Spec, req: ValidateRequest, findings: Findings): HostSummary | undefined {
  const run = (action: () => unknown) => {
    try {
      action();
    } catch (err) {
      findings.error('host', err);
    }
  };
  run(() => planNetDevices(spec, CONFIG_FILE));
  run(() => planResctrl(spec.linux?.intelRdt, req.id, CONFIG_FILE));
  const rootlessEuid = isRootlessEuid();
  if (rootlessEuid) run(() => checkRootlessSpec(spec, currentIds(), callerLimits()));
  let cgroups: CgroupDriver | undefined;
  run(() => {
    cgroups = newCgroupDriver({ id: req.id, cgroupsPath: spec.linux?.cgroupsPath, systemd: req.systemdCgroup, rootless: useRootlessCgroups(req.rootless) });
  });
  const resources = spec.linux?.resources ?? {};
  for (const field of Object.keys(resources) as (keyof LinuxResources)[]) {
    // checkResources stops at its first refusal: one field at a time finds them all.
    if (cgroups) run(() => cgroups!.checkResources({ [field]: resources[field] }));
  }
  // systemd makes a scope's cgroups itself: only cgroupfs placements are the caller's writes.
  if (cgroups && !req.systemdCgroup) run(() => permissionFindings(spec, cgroups!, findings));
  const facts = hostFacts(rootlessEuid ? currentIds() : undefined);
  for (const p of hostProblems(spec, facts)) findings.add('error', 'host', p.pointer, p.message);
  if (!cgroups) return undefined;
  let summary: HostSummary | undefined;
  run(() => {
    summary = hostSummary(facts, cgroupSummary(cgroups!, spec, req), useRootlessCgroups(req.rootless));
  });
  return summary;
}

/** access(2) W_OK: whether the caller may write `path` (create's mkdir and writes are its own). */
function callerCanWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where the caller may not write the cgroups create would make or join (rootless): what
 *  create fails on, and what it goes on without. */
function permissionFindings(spec: Spec, cgroups: CgroupDriver, findings: Findings): void {
  const outcome = cgroups.predictPermissions(spec.linux?.resources ?? {}, callerCanWrite);
  const cgroupsPath = spec.linux?.cgroupsPath;
  const placing = cgroupsPath ? outcome.errors.filter((m) => /^(create|join) cgroup /.test(m)) : [];
  if (placing.length > 0) {
    const more = placing.length > 1 ? `, and in ${placing.length - 1} more hierarch${placing.length === 2 ? 'y' : 'ies'}` : '';
    findings.add('error', 'host', '/linux/cgroupsPath', `${placing[0]}${more} (with linux.cgroupsPath given, create must make or join the container's cgroup in every hierarchy)`);
  }
  for (const message of outcome.errors) if (!placing.includes(message)) findings.text('error', 'host', message);
  if (outcome.deviceRulesDropped) {
    findings.add('warning', 'host', '/linux/resources/devices', 'not applied: the caller may not write the device rules (rootless), so the container gets the host\'s device permissions');
  }
  const placed = cgroups.placements.length - outcome.skipped.length;
  if (outcome.skipped.length > 0) {
    const where = outcome.skipped.map((s) => s.mountpoint).join(', ');
    findings.add('warning', 'host', null, `rootless: no cgroup of the container's own in ${where} (the caller may not write there): it stays in the caller's cgroup, and no limit can be set there`);
  }
  if (placed === 0 && outcome.skipped.length > 0 && !spec.linux?.namespaces?.some((ns) => ns.type === 'pid' && !ns.path)) {
    findings.add('warning', 'host', '/linux/namespaces', 'creating a rootless container with no cgroup and no private pid namespace: its processes cannot all be found and killed reliably');
  }
}

/** Validates the bundle as the request says; never throws for anything about the config. */
export function validateBundle(req: ValidateRequest): Validated {
  const bundle = resolve(req.bundle);
  let raw: unknown;
  let findings = new Findings(undefined);
  let hostSummaryFound: HostSummary | undefined;
  const report = (preparation?: CreatePreparation): Validated => {
    const errors = findings.errors;
    return {
      report: {
        reportVersion: 1,
        bundle,
        host: req.host,
        valid: errors === 0,
        errors,
        warnings: findings.list.length - errors,
        findings: findings.list,
        ...(hostSummaryFound ? { hostFacts: hostSummaryFound } : {}),
      },
      ...(preparation ? { preparation } : {}),
    };
  };
  try {
    raw = stripDeviceTypeBits(readConfigJson(join(bundle, CONFIG_FILE)));
  } catch (err) {
    findings.error('config', err);
    return report();
  }
  findings = new Findings(raw);
  const schemaValid = schemaFindings(raw, findings);
  if (!schemaValid) return report();
  // Semantic checks may rewrite the spec (relative mount destinations); keep the document as read.
  const semantic = collectSemanticProblems(structuredClone(schemaValid), { file: CONFIG_FILE, detached: false });
  semantic.errors.forEach((p) => findings.problem('error', 'semantic', p));
  semantic.warnings.forEach((p) => findings.problem('warning', 'semantic', p));
  if (findings.errors > 0) return report();

  if (req.host) hostSummaryFound = hostFindings(semantic.spec, req, findings);
  const warnings: string[] = [];
  let preparation: CreatePreparation | undefined;
  try {
    preparation = captureWarnings(warnings, () =>
      prepareCreate({ root: req.root, id: req.id, bundle, noPivot: false, preserveFds: 0, detached: false, systemdCgroup: req.systemdCgroup, rootless: req.rootless }),
    );
  } catch (err) {
    findings.error('create', err);
  }
  for (const w of warnings) findings.text('warning', 'create', w);
  if (req.host && preparation) {
    const missing = rootfsProblem(preparation.plan.rootfs, existsSync);
    if (missing) findings.add('error', 'host', missing.pointer, missing.message);
    for (const p of hiddenBindSources(preparation.plan.rootfs, preparation.plan.rootfsOps, semantic.spec.mounts)) findings.add('error', 'host', p.pointer, p.message);
    for (const p of devicesOnDirectories(preparation.plan.rootfs, preparation.plan.rootfsOps, semantic.spec.linux?.devices, hostDirectory)) findings.add('error', 'host', p.pointer, p.message);
    for (const p of unknownFilesystems(preparation.plan.rootfsOps, semantic.spec.mounts, hostFilesystem)) findings.add('error', 'host', p.pointer, p.message);
    for (const p of refusedMountData(preparation.plan.rootfsOps, semantic.spec.mounts, hostMountRefusal)) findings.add('error', 'host', p.pointer, p.message);
    const noProcfs = procfsProblem(preparation.plan.rootfs, preparation.plan.rootfsOps, hostProcfsDir);
    if (noProcfs) findings.add('error', 'host', noProcfs.pointer, noProcfs.message);
    const noProgram = missing ? undefined : missingExecutable(preparation.plan.rootfs, preparation.plan.rootfsOps, preparation.plan.process);
    if (noProgram) findings.add('error', 'host', noProgram.pointer, noProgram.message);
  }
  return report(findings.errors === 0 ? preparation : undefined);
}
