// The cgroupfs driver (runc's fs and fs2 managers in one: placements say which hierarchy is
// v1 and which is the unified one, so v1, hybrid and pure v2 hosts are the same code): runts
// makes the container's directories, writes its pid or lets the helper join (join.ts),
// writes limits and device rules, freezes, lists and signals its processes, and removes
// exactly the directories it made.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoMessage } from '../errors';
import { native } from '../native';
import type { PlanCgroupJoin } from '../plan/types';
import type { LinuxDevice, LinuxResources } from '../spec/types';
import { applyDeviceRulesV2 } from './devices-bpf';
import { deviceRulesV1, effectiveDeviceRules } from './devices';
import { CgroupError, type CgroupDriver, type CgroupRecord, type PermissionOutcome } from './driver';
import { errCode, fillCpusetDown, missingDirs, removeCgroupDirs, sleepMs, writeOne, writeV1, writeValue } from './files';
import { freezerOf, isFrozen, readOptional } from './freezer';
import { chooseJoinMethod, type JoinMethod } from './join';
import type { CgroupPlacement } from './paths';
import { planResourceWrites, type ControllerWrites } from './resources';
import type { FailurePolicy } from './rootless';

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The first write create() (then join()) makes in placement `p`: the mkdir of its first
 *  missing directory, in that directory's parent, or, for an existing cgroup, cgroup.procs. */
export function firstCgroupWrite(p: CgroupPlacement): string {
  const missing = missingDirs(p);
  return missing.length > 0 ? path.dirname(missing[0]) : path.join(p.dir, 'cgroup.procs');
}

/** The cgroup.subtree_control files, from the mount root down to the cgroup's parent, that do
 *  not enable v2 `controller` yet. */
function controllerEnableFiles(place: CgroupPlacement, controller: string): string[] {
  const levels: string[] = [];
  for (let dir = path.dirname(place.dir); dir.startsWith(place.mountpoint); dir = path.dirname(dir)) {
    levels.unshift(dir);
    if (dir === place.mountpoint) break;
  }
  return levels.map((dir) => path.join(dir, 'cgroup.subtree_control')).filter((file) => !(readOptional(file) ?? '').split(/\s+/).includes(controller));
}

export class CgroupfsDriver implements CgroupDriver {
  /** Rootless: hierarchies skipped for lack of permission, with the error that made them fail. */
  private readonly skipped = new Map<CgroupPlacement, unknown>();

  constructor(
    private placed: CgroupPlacement[],
    protected readonly created: string[],
    protected readonly policy: FailurePolicy,
  ) {}

  get placements(): readonly CgroupPlacement[] {
    return this.placed;
  }

  record(): CgroupRecord {
    return { placements: [...this.placed], created: [...this.created], ...(this.policy.rootless ? { rootless: true } : {}) };
  }

  intendedRecord(): CgroupRecord {
    return { ...this.record(), created: this.placed.flatMap(missingDirs) };
  }

  /** Drop a hierarchy the policy lets go (rootless: runc's ErrRootless) and say whether it
   *  was dropped; otherwise the error is for the caller to throw. */
  private skipUnwritable(p: CgroupPlacement, err: unknown): boolean {
    if (!this.policy.skipsHierarchy(err)) return false;
    this.placed = this.placed.filter((q) => q !== p);
    this.skipped.set(p, err);
    return true;
  }

  /** The skipped hierarchy a v1 `controller` (version 1) or the unified one (2) would be in. */
  private skippedFor(version: 1 | 2, controller: string): [CgroupPlacement, unknown] | undefined {
    return [...this.skipped].find(([p]) => (version === 1 ? p.fstype === 'cgroup' && p.subsystems.includes(controller) : p.fstype === 'cgroup2'));
  }

  protected get unified(): CgroupPlacement | undefined {
    return this.placements.find((p) => p.fstype === 'cgroup2');
  }

  private v1(subsystem: string): CgroupPlacement | undefined {
    return this.placements.find((p) => p.fstype === 'cgroup' && p.subsystems.includes(subsystem));
  }

  checkResources(resources: LinuxResources): ControllerWrites[] {
    return this.planWrites(resources);
  }

  /** mkdir -p every placement, remembering each directory made. */
  create(): void {
    for (const p of [...this.placed]) {
      for (const dir of missingDirs(p)) {
        try {
          fs.mkdirSync(dir);
        } catch (err) {
          if (errCode(err) === 'EEXIST') continue; // made by someone else meanwhile: not ours
          if (this.skipUnwritable(p, err)) break;
          throw new CgroupError(`create cgroup ${dir}: ${errnoMessage(err)}`);
        }
        this.created.push(dir);
      }
      if (p.subsystems.includes('cpuset') && this.placed.includes(p)) {
        try {
          fillCpusetDown(p.mountpoint, p.dir);
        } catch (err) {
          if (!this.skipUnwritable(p, err)) throw err;
        }
      }
    }
  }

  skippedHierarchies(): { mountpoint: string; error: string }[] {
    return [...this.skipped].map(([p, error]) => ({ mountpoint: p.mountpoint, error: errorText(error) }));
  }

  /** node:os is loaded here: the other commands with cgroups (delete, pause, ps, ...) do not need it. */
  joinMethod(userns: boolean, kernelRelease = (require('node:os') as typeof import('node:os')).release()): JoinMethod {
    return chooseJoinMethod({ systemd: false, rootless: this.policy.rootless, unified: this.unified !== undefined, userns, kernelRelease });
  }

  /** The v1 tasks files and the v2 cgroup's directory, opened here for the helper to inherit. */
  openHelperJoin(): PlanCgroupJoin {
    const tasks = this.placed.filter((p) => p.fstype === 'cgroup').map((p) => ({ cgroup: p.cgroup, file: path.join(p.dir, 'tasks') }));
    const u = this.unified;
    if (!u) return { tasks, unified: null };
    try {
      return { tasks, unified: { cgroup: u.cgroup, dir: u.dir, fd: fs.openSync(u.dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY) } };
    } catch (err) {
      throw new CgroupError(`join cgroup ${u.cgroup}: ${errnoMessage(err)}`, { cause: err });
    }
  }

  joinInit(pid: number, _resources: LinuxResources): void {
    this.join(pid);
  }

  /** Write `pid` to every hierarchy's cgroup.procs (the children it forks later follow). */
  join(pid: number): void {
    for (const p of [...this.placed]) {
      try {
        writeValue(path.join(p.dir, 'cgroup.procs'), String(pid), `join cgroup ${p.cgroup}`);
      } catch (err) {
        if (!this.skipUnwritable(p, err)) throw err;
      }
    }
  }

  private availability() {
    // Skipped hierarchies still count as mounted: a limit for one fails in writeLimits saying why.
    const mounted = [...this.placed, ...this.skipped.keys()];
    const v1 = new Set(mounted.filter((p) => p.fstype === 'cgroup').flatMap((p) => p.subsystems));
    const u = mounted.find((p) => p.fstype === 'cgroup2');
    const v2 = new Set(u ? (readOptional(path.join(u.mountpoint, 'cgroup.controllers')) ?? '').split(/\s+/).filter(Boolean) : []);
    return { v1, v2, v2Mounted: u !== undefined };
  }

  availableControllers(): { v1: string[]; v2: string[] } {
    const { v1, v2 } = this.availability();
    return { v1: [...v1].filter((c) => !c.startsWith('name=')), v2: [...v2] };
  }

  /** Every write `resources` needs, checked against the mounted controllers. */
  protected planWrites(resources: LinuxResources): ControllerWrites[] {
    return planResourceWrites(resources, this.availability());
  }

  applyOnCreate(resources: LinuxResources, devices: LinuxDevice[] | undefined): void {
    this.writeLimits(this.planWrites(resources));
    try {
      this.writeDeviceRules(resources, devices);
    } catch (err) {
      if (!this.policy.skipsDeviceRules(err)) throw err;
    }
  }

  update(resources: LinuxResources): void {
    this.writeLimits(this.planWrites(resources));
  }

  /** The container's cgroup that `group`'s files are in; an error when it has none there. */
  private placeOf(group: ControllerWrites): CgroupPlacement {
    const place = group.version === 1 ? this.v1(group.controller) : this.unified;
    if (place) return place;
    const skipped = this.skippedFor(group.version, group.controller);
    if (skipped) {
      throw new CgroupError(`${group.writes[0].field}: cannot set ${group.controller || 'cgroup'} limit: container could not join or create cgroup (${errorText(skipped[1])})`);
    }
    throw new CgroupError(`${group.writes[0].field}: the container has no ${group.controller} cgroup`);
  }

  protected writeLimits(groups: ControllerWrites[]): void {
    for (const group of groups) {
      const place = this.placeOf(group);
      if (group.version === 2 && group.controller !== '') this.enableController(place, group.controller, group.writes[0].field);
      if (group.version === 1) writeV1(place.dir, group.controller, group.writes);
      else for (const w of group.writes) writeOne(place.dir, w);
    }
  }

  private writeDeviceRules(resources: LinuxResources, devices: LinuxDevice[] | undefined): void {
    const rules = effectiveDeviceRules(resources.devices, devices);
    const v1 = this.v1('devices');
    if (v1) {
      for (const w of deviceRulesV1(rules)) writeOne(v1.dir, w);
      return;
    }
    const u = this.unified;
    if (!u) {
      if (!resources.devices?.length) return;
      // Rootless: the hierarchy that would hold the rules was skipped; the policy says
      // whether to go on without them (runc's rootless manager does).
      const skipped = this.skippedFor(1, 'devices') ?? this.skippedFor(2, '');
      if (skipped) throw new CgroupError(`linux.resources.devices: container could not join or create cgroup (${errorText(skipped[1])})`, { cause: skipped[1] });
      throw new CgroupError('linux.resources.devices: no devices cgroup controller is mounted');
    }
    try {
      applyDeviceRulesV2(u.dir, rules);
    } catch (err) {
      throw new CgroupError(`linux.resources.devices: ${(err as Error).message}`, { cause: err });
    }
  }

  /** "+controller" in cgroup.subtree_control from the mount root down to the cgroup's parent. */
  private enableController(place: CgroupPlacement, controller: string, field: string): void {
    for (const file of controllerEnableFiles(place, controller)) writeValue(file, `+${controller}`, `${field} (enable the ${controller} controller)`);
  }

  /**
   * `runts validate --host`: what create would do where the caller may not write, as
   * `canWrite(path)` (access(2) for the real caller) says: this driver's own placement, policy
   * and limit lookup applied to a permission error at the first write create() makes in each
   * hierarchy (firstCgroupWrite) and at the cgroup.subtree_control files a v2 limit needs.
   * Makes nothing.
   */
  predictPermissions(resources: LinuxResources, canWrite: (path: string) => boolean): PermissionOutcome {
    const dry = new CgroupfsDriver([...this.placed], [], this.policy);
    const errors: string[] = [];
    const denied = (target: string, what: string) =>
      new CgroupError(`${what}: ${target}: permission denied`, { cause: Object.assign(new Error(`${target}: permission denied`), { code: 'EACCES' }) });
    for (const p of this.placed) {
      const target = firstCgroupWrite(p);
      if (canWrite(target)) continue;
      const err = denied(target, `${target.endsWith('/cgroup.procs') ? 'join' : 'create'} cgroup ${p.dir}`);
      if (!dry.skipUnwritable(p, err)) errors.push(err.message);
    }
    // Files in a directory create makes are the caller's to write: no permission to check yet.
    const made = new Set(dry.placed.flatMap(missingDirs));
    const writable = (file: string) => made.has(path.dirname(file)) || canWrite(file);
    for (const group of dry.planWrites(resources)) {
      try {
        const place = dry.placeOf(group);
        if (group.version !== 2 || group.controller === '') continue;
        const file = controllerEnableFiles(place, group.controller).find((f) => !writable(f));
        if (file) errors.push(denied(file, `${group.writes[0].field} (enable the ${group.controller} controller)`).message);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    let deviceRulesDropped = false;
    if (resources.devices?.length) {
      try {
        dry.writeDeviceRulesTarget(writable, denied);
        // The kernel takes device rules (v1 devices.allow/deny, a v2 device program) only from
        // CAP_SYS_ADMIN in the host's user namespace, which a rootless caller lacks whoever
        // owns the files (a delegated devices cgroup included): create goes on without them.
        if (dry.policy.rootless) deviceRulesDropped = true;
      } catch (err) {
        if (dry.policy.skipsDeviceRules(err)) deviceRulesDropped = true;
        else errors.push((err as Error).message);
      }
    }
    return { errors, skipped: dry.skippedHierarchies(), deviceRulesDropped };
  }

  /** Where writeDeviceRules would write, throwing what it would throw for lack of permission. */
  private writeDeviceRulesTarget(canWrite: (path: string) => boolean, denied: (target: string, what: string) => Error): void {
    const v1 = this.v1('devices');
    const target = v1 ? path.join(v1.dir, 'devices.deny') : this.unified?.dir;
    if (target === undefined) {
      const skipped = this.skippedFor(1, 'devices') ?? this.skippedFor(2, '');
      if (skipped) throw new CgroupError('linux.resources.devices: container could not join or create cgroup', { cause: skipped[1] });
      throw new CgroupError('linux.resources.devices: no devices cgroup controller is mounted');
    }
    if (!canWrite(target)) throw denied(target, 'linux.resources.devices');
  }

  memoryUsage(): number | undefined {
    const v1 = this.v1('memory');
    const text = v1 ? readOptional(path.join(v1.dir, 'memory.usage_in_bytes')) : this.unified && readOptional(path.join(this.unified.dir, 'memory.current'));
    return text === undefined ? undefined : Number(text.trim());
  }

  /** The v1 hierarchy with the controller, else the unified one when the controller is
   *  enabled there (cpu.stat exists in every v2 cgroup). */
  controllerDir(v1Name: string, v2Name: string): { version: 1 | 2; dir: string } | undefined {
    const v1 = this.v1(v1Name);
    if (v1) return { version: 1, dir: v1.dir };
    const u = this.unified;
    if (!u) return undefined;
    const enabled = (readOptional(path.join(u.dir, 'cgroup.controllers')) ?? '').split(/\s+/);
    return enabled.includes(v2Name) || v2Name === 'cpu' ? { version: 2, dir: u.dir } : undefined;
  }

  /** memory.events oom_kill on v2, memory.oom_control on v1. */
  oomKillCount(): number | undefined {
    const v1 = this.v1('memory');
    const text = v1 ? readOptional(path.join(v1.dir, 'memory.oom_control')) : this.unified && readOptional(path.join(this.unified.dir, 'memory.events'));
    const m = text && /^oom_kill (\d+)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  }

  // ---- freezer ----

  canFreeze(): boolean {
    return freezerOf(this.placements) !== undefined;
  }

  isFrozen(): boolean {
    return isFrozen(this.placements);
  }

  setFrozen(frozen: boolean): void {
    const f = freezerOf(this.placements);
    if (!f) throw new CgroupError('no freezer: neither a v1 freezer hierarchy nor cgroup.freeze is available');
    const deadline = Date.now() + 10_000;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      if (f.kind === 1) {
        const want = frozen ? 'FROZEN' : 'THAWED';
        writeValue(path.join(f.dir, 'freezer.state'), want, 'freezer.state');
        if (fs.readFileSync(path.join(f.dir, 'freezer.state'), 'utf8').trim() === want) return;
      } else {
        writeValue(path.join(f.dir, 'cgroup.freeze'), frozen ? '1' : '0', 'cgroup.freeze');
        if (/^frozen (\d)$/m.exec(fs.readFileSync(path.join(f.dir, 'cgroup.events'), 'utf8'))?.[1] === (frozen ? '1' : '0')) return;
      }
      if (Date.now() > deadline) throw new CgroupError(`${frozen ? 'freezing' : 'thawing'} ${f.dir} did not finish within 10 s`);
      sleepMs(delay);
    }
  }

  // ---- processes ----

  /** The hierarchy whose cgroup.procs lists the container's processes (none: a rootless
   *  container that could join no cgroup). */
  private memberDir(): CgroupPlacement | undefined {
    return this.unified ?? this.v1('pids') ?? this.v1('freezer') ?? this.placements[0];
  }

  pids(): number[] {
    const out: number[] = [];
    const member = this.memberDir();
    if (!member) return out;
    const walk = (dir: string) => {
      const text = readOptional(path.join(dir, 'cgroup.procs'));
      if (text === undefined) return;
      for (const line of text.split('\n')) if (line) out.push(Number(line));
      let entries: fs.Dirent[] = [];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
    };
    walk(member.dir);
    return out;
  }

  /** True while `pid` is a member of the container's cgroup (or one below it). */
  private contains(pid: number): boolean {
    const m = this.memberDir();
    const text = readOptional(`/proc/${pid}/cgroup`);
    if (text === undefined || !m) return false;
    for (const line of text.split('\n')) {
      const [, controllers, cgroup] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
      if (cgroup === undefined) continue;
      const matches = m.fstype === 'cgroup2' ? controllers === '' : controllers.split(',').some((c) => m.subsystems.includes(c));
      if (matches) return cgroup === m.cgroup || cgroup.startsWith(`${m.cgroup}/`);
    }
    return false;
  }

  /**
   * KILL on a cgroup with cgroup.kill is one write; otherwise freeze (so nothing forks past
   * us), signal each verified member, and thaw unless the container was paused already.
   */
  signalAll(signal: number): void {
    const u = this.unified;
    if (signal === 9 && u && fs.existsSync(path.join(u.dir, 'cgroup.kill'))) {
      writeValue(path.join(u.dir, 'cgroup.kill'), '1', 'cgroup.kill');
      return;
    }
    const canFreeze = this.canFreeze();
    const wasFrozen = canFreeze && this.isFrozen();
    if (canFreeze && !wasFrozen) this.setFrozen(true);
    try {
      for (const pid of this.pids()) this.signalMember(pid, signal);
    } finally {
      if (canFreeze && !wasFrozen) this.setFrozen(false);
    }
  }

  /** Signal through a pidfd after checking the pid is still our member (never a reused pid). */
  private signalMember(pid: number, signal: number): void {
    let pidfd: number;
    try {
      pidfd = native().pidfdOpen(pid);
    } catch {
      return; // gone
    }
    try {
      if (this.contains(pid)) native().pidfdSendSignal(pidfd, signal);
    } catch (err) {
      if (errCode(err) !== 'ESRCH') throw err;
    } finally {
      fs.closeSync(pidfd);
    }
  }

  /** Remove the directories create made, and any cgroups the container made in its own. */
  destroy(): void {
    this.removeDirs([]);
  }

  /** Remove what create made; `errors`, earlier failures, are reported with the rest. */
  protected removeDirs(errors: string[]): void {
    errors.push(...removeCgroupDirs(this.created, new Set(this.placements.map((p) => p.dir))));
    this.created.length = 0;
    if (errors.length) throw new CgroupError(errors.join('; '));
  }
}
