// `runts explain`: what create would do for a bundle, without doing it. The plan is create's
// own (prepareCreate: the init plan of src/plan/build.ts and the cgroup writes of
// src/cgroups), so it cannot drift from what create executes. JSON: the shape documented in
// src/validate/explain.schema.json; text: the same, grouped and aligned for people.
import { deviceRulesV1, effectiveDeviceRules } from '../cgroups/devices';
import type { ControllerWrites } from '../cgroups/resources';
import { resourceProperties } from '../cgroups/systemd';
import type { Variant } from '../cgroups/dbus';
import type { CreatePreparation } from '../container/create';
import { CLONE_FLAGS } from '../plan/build';
import { CAPABILITY_NUMBERS } from '../plan/capabilities';
import { MOUNT_ATTR, MS, PROPAGATION_OPTIONS } from '../plan/mount-options';
import { RLIMIT_NUMBERS } from '../plan/rlimits';
import type { InitPlan, RootfsOp } from '../plan/types';
import type { Hook, LinuxDeviceCgroup, LinuxIDMapping, Spec } from '../spec/types';

/** The container ID validate and explain plan for when none is given: it only shows in cgroup paths. */
export const PLACEHOLDER_ID = 'CONTAINER_ID';

export interface ExplainedCgroupWrite {
  dir: string;
  file: string;
  value: string;
  /** The config field it comes from. */
  field: string;
  controller: string;
  version: 1 | 2;
  /** Written only where the kernel has the file. */
  ifExists?: boolean;
  /** Written instead where `file` is missing. */
  orElse?: { file: string; value: string };
}

export interface Explanation {
  explainVersion: 1;
  bundle: string;
  containerId: string;
  /** The plan the init helper executes (src/plan/types.ts InitPlan), in its order. */
  plan: InitPlan;
  cgroups: {
    driver: 'cgroupfs' | 'systemd';
    placements: { fstype: string; subsystems: string[]; dir: string }[];
    /** Every file create writes, in order, with its value for this host's layout. */
    writes: ExplainedCgroupWrite[];
    /** --systemd-cgroup: the transient unit's resource properties. */
    systemdProperties: { name: string; signature: string; value: unknown }[] | null;
    /** The device rules create applies, in order: devices.allow/deny lines (v1) or one eBPF program (v2). */
    devices: { rules: LinuxDeviceCgroup[]; v1Writes: ExplainedCgroupWrite[] | null; v2ProgramDir: string | null };
  };
  /** The id maps create writes for a new user namespace (the runtime writes them, not the init). */
  idMappings: { uid: LinuxIDMapping[]; gid: LinuxIDMapping[] } | null;
  /** The hooks runts itself runs (createContainer and startContainer are in the plan). */
  hooks: { prestart: Hook[]; createRuntime: Hook[]; poststart: Hook[]; poststop: Hook[] };
  netDevices: { hostName: string; containerName: string }[];
  seccomp: SeccompSummary | null;
  warnings: string[];
}

export interface SeccompSummary {
  defaultAction: string;
  architectures: string[];
  flags: string[];
  listenerPath: string | null;
  /** Syscall names per action. */
  rules: Record<string, string[]>;
}

function placementDir(prep: CreatePreparation, group: ControllerWrites): string {
  const placements = prep.cgroups.placements;
  const placement = group.version === 2 ? placements.find((p) => p.fstype === 'cgroup2') : placements.find((p) => p.subsystems.includes(group.controller));
  return placement?.dir ?? '?';
}

/** Where create's device rules go (src/cgroups/manager.ts writeDeviceRules): the v1 devices
 *  controller when mounted, else a BPF program on the v2 cgroup. */
function deviceRules(prep: CreatePreparation): Explanation['cgroups']['devices'] {
  const rules = effectiveDeviceRules(prep.resources.devices, prep.spec.linux?.devices);
  const v1 = prep.cgroups.placements.find((p) => p.fstype === 'cgroup' && p.subsystems.includes('devices'));
  if (v1) return { rules, v1Writes: deviceRulesV1(rules).map((w) => ({ dir: v1.dir, controller: 'devices', version: 1, ...w })), v2ProgramDir: null };
  const v2 = prep.cgroups.placements.find((p) => p.fstype === 'cgroup2');
  return { rules, v1Writes: null, v2ProgramDir: v2?.dir ?? null };
}

/** BigInts (D-Bus 64-bit values) as decimal strings, for JSON. */
function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(plainValue);
  if (value && typeof value === 'object' && 'signature' in value) return plainValue((value as Variant).value);
  return value;
}

function seccompSummary(spec: Spec): SeccompSummary | null {
  const seccomp = spec.linux?.seccomp;
  if (!seccomp) return null;
  const rules: Record<string, string[]> = {};
  for (const syscall of seccomp.syscalls ?? []) (rules[syscall.action] ??= []).push(...syscall.names);
  return {
    defaultAction: seccomp.defaultAction,
    architectures: seccomp.architectures ?? [],
    flags: seccomp.flags ?? [],
    listenerPath: seccomp.listenerPath ?? null,
    rules,
  };
}

/** The explanation of a prepared create. `warnings` are the ones create would log. */
export function explain(prep: CreatePreparation, warnings: string[]): Explanation {
  const groups = prep.cgroups.checkResources(prep.resources);
  const systemd = prep.cgroups.record().systemd !== undefined;
  const hooks = prep.spec.hooks ?? {};
  return {
    explainVersion: 1,
    bundle: prep.bundle,
    containerId: prep.opts.id,
    plan: prep.plan,
    cgroups: {
      driver: systemd ? 'systemd' : 'cgroupfs',
      placements: prep.cgroups.placements.map((p) => ({ fstype: p.fstype, subsystems: p.subsystems, dir: p.dir })),
      writes: groups.flatMap((group) => {
        const dir = placementDir(prep, group);
        return group.writes.map((w) => ({ dir, controller: group.controller, version: group.version, ...w }));
      }),
      systemdProperties: systemd ? resourceProperties(prep.resources).map(([name, v]) => ({ name, signature: v.signature, value: plainValue(v.value) })) : null,
      devices: deviceRules(prep),
    },
    idMappings: prep.plan.namespaces.newUser ? { uid: prep.spec.linux?.uidMappings ?? [], gid: prep.spec.linux?.gidMappings ?? [] } : null,
    hooks: { prestart: hooks.prestart ?? [], createRuntime: hooks.createRuntime ?? [], poststart: hooks.poststart ?? [], poststop: hooks.poststop ?? [] },
    netDevices: prep.netDevices,
    seccomp: seccompSummary(prep.spec),
    warnings,
  };
}

// ---- text ----

/** The names of the bits set in `value`, from a name → bit table; leftover bits in hex. */
export function bitNames(value: number, table: Readonly<Record<string, number>>, prefix = ''): string {
  const names: string[] = [];
  let rest = value;
  for (const [name, bit] of Object.entries(table)) {
    if (bit !== 0 && (value & bit) === bit && (rest & bit) !== 0) {
      names.push(prefix + name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join('|') : '-';
}

const nameOf = (table: Readonly<Record<string, number>>) => {
  const byNumber = new Map(Object.entries(table).map(([name, n]) => [n, name]));
  return (n: number) => byNumber.get(n) ?? String(n);
};
const capabilityName = nameOf(CAPABILITY_NUMBERS);
const rlimitName = nameOf(RLIMIT_NUMBERS);
const propagationName = nameOf(PROPAGATION_OPTIONS);

/** Rows as aligned columns. */
function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd());
}

function rootfsOpRow(op: RootfsOp): string[] {
  switch (op.op) {
    case 'mount': {
      const extra = [
        op.data && `data=${op.data}`,
        op.propagation.length > 0 && `propagation=${op.propagation.map(propagationName).join(',')}`,
        op.remountFlags !== 0 && `remount=${bitNames(op.remountFlags, MS, 'MS_')}`,
        op.idmap && `idmap${op.idmap.recursive ? ' (recursive)' : ''}=${'path' in op.idmap.userns ? op.idmap.userns.path : `uid ${op.idmap.userns.uidMap.trim()}; gid ${op.idmap.userns.gidMap.trim()}`}`,
      ].filter(Boolean);
      return ['mount', op.target, op.fstype, op.source, bitNames(op.flags, MS, 'MS_'), extra.join(' ')];
    }
    case 'mknod':
      return ['mknod', op.path, op.kind, `${op.major}:${op.minor}`, `mode ${op.mode.toString(8)} ${op.uid}:${op.gid}`, ''];
    case 'bind-device':
      return ['bind', op.path, '', op.path, '(the host\'s device)', ''];
    case 'symlink':
      return ['symlink', op.path, '', op.target, '', ''];
    case 'remount':
      return ['remount', op.target, '', '', bitNames(op.flags, MS, 'MS_'), ''];
    case 'mkdir':
      return ['mkdir', op.path, '', '', '', ''];
    case 'mount-setattr':
      return ['setattr', op.target, '', '', `set ${bitNames(op.attrSet, MOUNT_ATTR, 'MOUNT_ATTR_')}`, `clear ${bitNames(op.attrClear, MOUNT_ATTR, 'MOUNT_ATTR_')}`];
  }
}

const hookLine = (h: { path: string; args?: string[]; timeout?: number }) => `${h.path} ${(h.args ?? []).slice(1).join(' ')}${h.timeout ? ` (timeout ${h.timeout}s)` : ''}`.trim();

/** The explanation for people. */
export function explanationText(e: Explanation): string {
  const { plan } = e;
  const out: string[] = [`container ${e.containerId}, bundle ${e.bundle}`, `rootfs ${plan.rootfs}${plan.rootReadonly ? ' (read-only)' : ''}${plan.noPivot ? ', no pivot_root' : ''}`];
  const section = (title: string, lines: string[]) => {
    if (lines.length > 0) out.push('', `${title}:`, ...lines);
  };
  section('namespaces', [
    ...table([
      ...Object.entries(CLONE_FLAGS)
        .filter(([, flag]) => (plan.namespaces.unshareFlags & flag) !== 0)
        .map(([type]) => [type, 'new']),
      ...(plan.namespaces.newUser ? [['user', 'new']] : []),
      ...plan.namespaces.join.map((ns) => [ns.type, `join ${ns.path}`]),
      ...plan.namespaces.timeOffsets.map((o) => ['time', `offset ${o.clock} ${o.secs}s ${o.nanosecs}ns`]),
    ]),
  ]);
  const maps = (kind: string, list: LinuxIDMapping[]) => list.map((m) => [kind, `container ${m.containerID} → host ${m.hostID}`, `size ${m.size}`]);
  if (e.idMappings) section('id maps', table([...maps('uid', e.idMappings.uid), ...maps('gid', e.idMappings.gid)]));
  section('rootfs steps (in order)', table(plan.rootfsOps.map(rootfsOpRow)));
  section('masked paths', plan.maskedPaths.map((p) => `  ${p}`));
  section('read-only paths', plan.readonlyPaths.map((p) => `  ${p}`));
  section('sysctl', table(plan.sysctl.map(([k, v]) => [k, v])));
  section('names', table([...(plan.hostname !== null ? [['hostname', plan.hostname]] : []), ...(plan.domainname !== null ? [['domainname', plan.domainname]] : [])]));
  section(`cgroups (${e.cgroups.driver})`, [
    ...table(e.cgroups.placements.map((p) => [p.fstype === 'cgroup2' ? 'v2' : `v1 ${p.subsystems.join(',')}`, p.dir])),
    ...table(e.cgroups.writes.map((w) => [`${w.dir}/${w.file}`, w.value, w.field]), '  write '),
    ...(e.cgroups.systemdProperties ?? []).map((p) => `  property ${p.name}=${JSON.stringify(p.value)}`),
    ...table((e.cgroups.devices.v1Writes ?? []).map((w) => [`${w.dir}/${w.file}`, w.value]), '  write '),
    ...(e.cgroups.devices.v2ProgramDir ? [`  attach a BPF device program of ${e.cgroups.devices.rules.length} rules to ${e.cgroups.devices.v2ProgramDir}`] : []),
  ]);
  const proc = plan.process;
  if (proc) {
    section('process', [
      ...table([
        ['args', JSON.stringify(proc.args)],
        ['cwd', proc.cwd],
        ['user', `uid ${proc.uid} gid ${proc.gid}${proc.additionalGids.length ? ` groups ${proc.additionalGids.join(',')}` : ''} umask ${proc.umask.toString(8).padStart(4, '0')}`],
        ['terminal', String(proc.terminal)],
        ['noNewPrivileges', String(proc.noNewPrivileges)],
        ...(proc.oomScoreAdj !== null ? [['oomScoreAdj', String(proc.oomScoreAdj)]] : []),
        ...(proc.attrs.apparmorProfile ? [['apparmor', proc.attrs.apparmorProfile]] : []),
        ...(proc.attrs.selinuxLabel ? [['selinux', proc.attrs.selinuxLabel]] : []),
        ['env', proc.env.join(' ')],
      ]),
    ]);
    section(
      'capabilities',
      table(proc.capabilities ? (['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const).map((set) => [set, proc.capabilities![set].map(capabilityName).join(' ') || '-']) : [['all sets', 'unchanged']]),
    );
    section('rlimits', table(proc.rlimits.map((r) => [rlimitName(r.resource), `soft ${r.soft}`, `hard ${r.hard}`])));
  }
  if (e.seccomp) {
    const s = e.seccomp;
    section('seccomp', [
      ...table([
        ['default action', s.defaultAction],
        ['architectures', s.architectures.join(' ') || '-'],
        ['flags', s.flags.join(' ') || '-'],
        ...(s.listenerPath ? [['notify agent', s.listenerPath]] : []),
        ...Object.entries(s.rules).map(([action, names]) => [action, `${names.length} syscall${names.length === 1 ? '' : 's'}`]),
      ]),
    ]);
  }
  const hookRows: string[][] = [
    ...e.hooks.prestart.map((h) => ['prestart', hookLine(h)]),
    ...e.hooks.createRuntime.map((h) => ['createRuntime', hookLine(h)]),
    ...plan.createContainerHooks.map((h) => ['createContainer', hookLine(h)]),
    ...plan.startContainerHooks.map((h) => ['startContainer', hookLine(h)]),
    ...e.hooks.poststart.map((h) => ['poststart', hookLine(h)]),
    ...e.hooks.poststop.map((h) => ['poststop', hookLine(h)]),
  ];
  section('hooks', table(hookRows));
  section('network devices', table(e.netDevices.map((d) => [d.hostName, `→ ${d.containerName}`])));
  section('warnings', e.warnings.map((w) => `  ${w}`));
  return `${out.join('\n')}\n`;
}
