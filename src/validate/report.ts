// The shape of `runts validate`'s report (documented, for tools and CI, in
// src/validate/validate-report.schema.json; test/validate/report.test.ts holds the two together)
// and its text form for people.

/** Where a finding comes from, in the order validate runs them. */
export type Stage = 'config' | 'schema' | 'semantic' | 'create' | 'host';

export interface Finding {
  /** An error fails create (validate exits 1); a warning is what create would log and go on. */
  severity: 'error' | 'warning';
  /** The spec's word for it: MUST for what create refuses, SHOULD for what it only warns about. */
  level: 'MUST' | 'SHOULD';
  stage: Stage;
  /** JSON pointer into config.json ("" is the document); null where the check names no field. */
  pointer: string | null;
  /** What is wrong, or what is allowed. */
  message: string;
  /** The value found at `pointer`, as compact JSON, cut at FOUND_MAX characters. */
  found?: string;
}

/** What create adapts to on this host (--host), each from the module that decides it for create. */
export interface HostSummary {
  /** uname -r */
  kernel: string;
  cgroups: {
    /** v1 only, v2 only, or hybrid (v1 controllers beside a v2 hierarchy). */
    layout: 'v1' | 'v2' | 'hybrid';
    /** The driver create uses (--systemd-cgroup: systemd). */
    driver: 'cgroupfs' | 'systemd';
    /** systemd runs as the init (/run/systemd/system). */
    systemd: boolean;
    /** Controllers this container's limits can use, per version. */
    controllers: { v1: string[]; v2: string[] };
    /** Who puts the container's init into its cgroups (src/cgroups/join.ts). */
    join: { by: 'helper' } | { by: 'runtime'; reason: string };
  };
  timeNamespaces: boolean;
  idmappedMounts: boolean;
  /** The seccomp filter flags this kernel supports. */
  seccompFlags: string[];
  lsm: { apparmor: boolean; selinux: boolean };
  /** euid: runts runs without root; cgroups: rootless cgroups (permission errors tolerated). */
  rootless: { euid: boolean; cgroups: boolean };
}

export interface ValidationReport {
  /** The version of this shape; bumped when a field changes meaning or goes away. */
  reportVersion: 1;
  bundle: string;
  /** Whether the host checks (--host) ran. */
  host: boolean;
  /** No error: create would pass validation (and, with host, the host checks). */
  valid: boolean;
  errors: number;
  warnings: number;
  findings: Finding[];
  /** With --host: what this host gives create. */
  hostFacts?: HostSummary;
}

export const FOUND_MAX = 120;

/** The value at a JSON pointer of `doc`, or undefined where it names nothing. */
export function valueAt(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let value = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Compact JSON of `value`, cut to FOUND_MAX characters; undefined for nothing. */
export function foundText(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // Nested too deep for JSON.stringify (the fuzzer's configs).
    text = Array.isArray(value) ? '[…]' : typeof value === 'object' ? '{…}' : String(value);
  }
  return text.length > FOUND_MAX ? `${text.slice(0, FOUND_MAX - 1)}…` : text;
}

/** The text report: one line per finding, errors first, then a summary line. */
export function reportText(report: ValidationReport): string {
  const ordered = [...report.findings.filter((f) => f.severity === 'error'), ...report.findings.filter((f) => f.severity === 'warning')];
  const lines = ordered.map((f) => {
    const where = f.pointer === null ? '' : `${f.pointer === '' ? '(document)' : f.pointer}: `;
    const found = f.found === undefined ? '' : ` (found: ${f.found})`;
    return `${f.severity === 'error' ? 'error  ' : 'warning'} ${f.level.padEnd(6)} ${f.stage.padEnd(8)} ${where}${f.message}${found}`;
  });
  if (report.hostFacts) lines.unshift(...hostText(report.hostFacts));
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const verdict = report.valid ? (report.host ? 'valid, and this host can run it' : 'valid') : 'not valid';
  lines.push(`${report.bundle}/config.json: ${verdict}: ${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')}`);
  return `${lines.join('\n')}\n`;
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

/** The "host" block: what create adapts to here. */
function hostText(h: HostSummary): string[] {
  const c = h.cgroups;
  const join = c.join.by === 'helper' ? 'by the init helper (v1: "0" into tasks; v2: clone3 CLONE_INTO_CGROUP)' : `by runts, the pid into cgroup.procs (${c.join.reason})`;
  const lsm = [h.lsm.apparmor ? 'apparmor' : '', h.lsm.selinux ? 'selinux' : ''].filter(Boolean).join(', ') || 'none';
  const rootless = h.rootless.euid ? 'yes (not root)' : h.rootless.cgroups ? 'rootless cgroups only' : 'no';
  return [
    `host: kernel ${h.kernel}`,
    `  cgroups          ${c.layout}, ${c.driver} driver, systemd ${c.systemd ? 'running' : 'not running'}`,
    `  controllers      v1: ${c.controllers.v1.join(' ') || '-'}; v2: ${c.controllers.v2.join(' ') || '-'}`,
    `  cgroup join      ${join}`,
    `  time namespaces  ${yesNo(h.timeNamespaces)}; idmapped mounts ${yesNo(h.idmappedMounts)}`,
    `  seccomp flags    ${h.seccompFlags.join(' ') || '-'}`,
    `  LSMs             ${lsm}`,
    `  rootless         ${rootless}`,
  ];
}
