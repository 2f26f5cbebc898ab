// A container's cgroups: make them, put the init in them, write limits, freeze and thaw,
// list and signal their processes, read statistics, and remove exactly what was made.
// The one place that writes cgroup files (besides devices-bpf.ts, which it calls).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError, errnoMessage } from '../errors';
import { native } from '../native';
import type { PlanCgroupJoin } from '../plan/types';
import type { LinuxDevice, LinuxResources } from '../spec/types';
import { applyDeviceRulesV2 } from './devices-bpf';
import { deviceRulesV1, effectiveDeviceRules } from './devices';
import { freezerOf, isFrozen, readOptional } from './freezer';
import { hostHierarchies } from './hierarchy';
import { chooseJoinMethod, type JoinMethod } from './join';
import { CgroupPathError, parseSystemdPath, placeContainer, placeSystemdUnit, type CgroupPlacement, type SystemdUnit } from './paths';
import { planResourceWrites, ResourceError, type CgroupWrite, type ControllerWrites } from './resources';
import { resourceProperties, scopeProperties, systemdIsRunning, withSystemd, type SystemdManager } from './systemd';

export { CgroupPathError, ResourceError };

export class CgroupError extends EngineError {
  override name = 'CgroupError';
}

/** What the state record keeps, so later commands act on the same directories. */
export interface CgroupRecord {
  placements: CgroupPlacement[];
  /** Directories create made (parents before children): delete removes exactly these. */
  created: string[];
  /** Rootless cgroups (runc's --rootless): joining a cgroup without permission is tolerated. */
  rootless?: boolean;
  /** --systemd-cgroup: the transient scope unit systemd made for the container, stopped on delete. */
  systemd?: { unit: string; slice: string; description: string };
}

/**
 * Rootless cgroups, as runc handles them: a hierarchy the caller may not write is skipped
 * (the container stays in the caller's cgroup there) when no linux.cgroupsPath was given;
 * a limit for a skipped controller is an error, device rules are not enforced.
 */
export interface RootlessCgroups {
  /** linux.cgroupsPath was given: every permission error stays an error. */
  explicitPath: boolean;
}

/** The errors runc's rootless cgroup manager ignores: the caller may not write there. */
function isPermissionError(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    const code = errCode(e);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return true;
  }
  return false;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const errCode = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code;

function readText(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** Write one value to a cgroup file, reporting which field, file and errno failed. A missing
 *  file is ENOENT (kernfs refuses O_CREAT with EACCES, so the file is opened without it). */
function writeValue(file: string, value: string, field: string): void {
  try {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
    try {
      fs.writeSync(fd, value);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new CgroupError(`${field}: write ${JSON.stringify(value)} to ${file}: ${errnoMessage(err)}`, { cause: err });
  }
}

function systemdUnitFor(id: string, cgroupsPath: string | undefined): SystemdUnit {
  const unit = parseSystemdPath(cgroupsPath, id);
  if (!systemdIsRunning()) {
    throw new CgroupError(`--systemd-cgroup: systemd is not running on this host (no /run/systemd/system), cannot create ${unit.cgroup}`);
  }
  return unit;
}

/** A systemd failure (or a D-Bus one under it) as the CgroupError the engine reports. */
function viaSystemd<T>(action: (systemd: SystemdManager) => T): T {
  try {
    return withSystemd(action);
  } catch (err) {
    throw new CgroupError((err as Error).message);
  }
}

export class ContainerCgroups {
  /** Rootless: hierarchies skipped for lack of permission, by what made them fail. */
  private readonly skipped = new Map<CgroupPlacement, string>();

  private constructor(
    private placed: CgroupPlacement[],
    private readonly created: string[],
    private readonly systemd: CgroupRecord['systemd'],
    private readonly rootless?: RootlessCgroups,
  ) {}

  /** For a new container (nothing made yet). */
  static plan(id: string, cgroupsPath: string | undefined, systemd: boolean, hierarchies = hostHierarchies(), rootless?: RootlessCgroups): ContainerCgroups {
    if (hierarchies.length === 0) throw new CgroupError('no cgroup hierarchy is mounted on this host');
    if (!systemd) return new ContainerCgroups(placeContainer(hierarchies, id, cgroupsPath), [], undefined, rootless);
    const unit = systemdUnitFor(id, cgroupsPath);
    return new ContainerCgroups(placeSystemdUnit(hierarchies, unit), [], { unit: unit.unit, slice: unit.slice, description: `runts container ${id}` }, rootless);
  }

  static fromRecord(rec: CgroupRecord): ContainerCgroups {
    // Later joins (exec) tolerate permission errors whatever the path, as runc's do.
    return new ContainerCgroups(rec.placements, [...rec.created], rec.systemd, rec.rootless ? { explicitPath: false } : undefined);
  }

  /** The hierarchies the container has a cgroup of its own in. */
  get placements(): readonly CgroupPlacement[] {
    return this.placed;
  }

  record(): CgroupRecord {
    return {
      placements: [...this.placed],
      created: [...this.created],
      ...(this.systemd && { systemd: this.systemd }),
      ...(this.rootless ? { rootless: true } : {}),
    };
  }

  /**
   * Rootless: drop a hierarchy the caller may not write (runc's ErrRootless) and say whether
   * it was dropped; a permission error with linux.cgroupsPath given, or any other error, is
   * for the caller to throw.
   */
  private skipUnwritable(p: CgroupPlacement, err: unknown): boolean {
    if (!this.rootless || this.rootless.explicitPath || !isPermissionError(err)) return false;
    this.placed = this.placed.filter((q) => q !== p);
    this.skipped.set(p, err instanceof Error ? err.message : String(err));
    return true;
  }

  private get unified(): CgroupPlacement | undefined {
    return this.placements.find((p) => p.fstype === 'cgroup2');
  }

  private v1(subsystem: string): CgroupPlacement | undefined {
    return this.placements.find((p) => p.fstype === 'cgroup' && p.subsystems.includes(subsystem));
  }

  /**
   * mkdir -p every placement, remembering each directory made. Under systemd this waits for
   * join: systemd makes the scope's cgroup when it starts the unit with the init in it.
   */
  create(): void {
    if (!this.systemd) this.makeDirectories();
  }

  private makeDirectories(): void {
    for (const p of [...this.placed]) {
      const missing: string[] = [];
      for (let dir = p.dir; dir !== p.mountpoint && !fs.existsSync(dir); dir = path.dirname(dir)) missing.unshift(dir);
      for (const dir of missing) {
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

  /**
   * Put `pid` (and the children it forks later) in every hierarchy's cgroup. `resources` is
   * given for the container's first process: under systemd, its scope is started then, with
   * the pid in it and the limits systemd knows as properties.
   */
  join(pid: number, resources?: LinuxResources): void {
    const sd = this.systemd;
    if (sd && resources) {
      viaSystemd((systemd) => systemd.startTransientUnit(sd.unit, [...scopeProperties(sd.slice, sd.description, pid), ...resourceProperties(resources)]));
      // Hierarchies systemd does not manage (v1 ones without its controllers) are ours to make.
      this.makeDirectories();
    }
    for (const p of [...this.placed]) {
      try {
        writeValue(path.join(p.dir, 'cgroup.procs'), String(pid), `join cgroup ${p.cgroup}`);
      } catch (err) {
        if (!this.skipUnwritable(p, err)) throw err;
      }
    }
  }

  /** Who puts the container's next process into its cgroups (join.ts): `userns` when it
   *  enters a user namespace. node:os is loaded here: the other commands with cgroups
   *  (delete, pause, ps, ...) do not need it. */
  joinMethod(userns: boolean, kernelRelease = (require('node:os') as typeof import('node:os')).release()): JoinMethod {
    return chooseJoinMethod({ systemd: this.systemd !== undefined, rootless: this.rootless !== undefined, unified: this.unified !== undefined, userns, kernelRelease });
  }

  /** What the helper needs to join the cgroups itself; the v2 cgroup's directory is opened
   *  here, for the helper to inherit (the caller closes our copy). */
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

  /** Rootless: the hierarchies skipped for lack of permission, with the errors. */
  skippedHierarchies(): { mountpoint: string; error: string }[] {
    return [...this.skipped].map(([p, error]) => ({ mountpoint: p.mountpoint, error }));
  }

  private availability() {
    // Skipped hierarchies still count as mounted: a limit for one fails in apply() saying why.
    const mounted = [...this.placed, ...this.skipped.keys()];
    const v1 = new Set(mounted.filter((p) => p.fstype === 'cgroup').flatMap((p) => p.subsystems));
    const u = mounted.find((p) => p.fstype === 'cgroup2');
    const v2 = new Set(u ? (readOptional(path.join(u.mountpoint, 'cgroup.controllers')) ?? '').split(/\s+/).filter(Boolean) : []);
    return { v1, v2, v2Mounted: u !== undefined };
  }

  /** Every write `resources` needs, checked against the mounted controllers. */
  planWrites(resources: LinuxResources): ControllerWrites[] {
    const writes = planResourceWrites(resources, this.availability());
    // Under systemd the same values become unit properties: refuse bad ones before anything is made.
    if (this.systemd) {
      try {
        resourceProperties(resources);
      } catch (err) {
        throw new CgroupError((err as Error).message);
      }
    }
    return writes;
  }

  /** A new container's limits and device rules (`devices`, linux.devices, adds allow rules
   *  for the nodes it gets). Under systemd the limits already went to its scope (join). */
  applyOnCreate(resources: LinuxResources, devices: LinuxDevice[] | undefined): void {
    this.writeLimits(this.planWrites(resources));
    this.applyDevices(resources, devices);
  }

  /** `update`: new limits for a running container; device rules stay as create wrote them. */
  update(resources: LinuxResources): void {
    const groups = this.planWrites(resources);
    // systemd keeps the unit's properties in step with the files.
    const sd = this.systemd;
    if (sd) viaSystemd((systemd) => systemd.setUnitProperties(sd.unit, resourceProperties(resources)));
    this.writeLimits(groups);
  }

  private writeLimits(groups: ControllerWrites[]): void {
    for (const group of groups) {
      const place = group.version === 1 ? this.v1(group.controller) : this.unified;
      if (!place) {
        const skipped = [...this.skipped].find(([p]) => (group.version === 1 ? p.fstype === 'cgroup' && p.subsystems.includes(group.controller) : p.fstype === 'cgroup2'));
        if (skipped) {
          throw new CgroupError(`${group.writes[0].field}: cannot set ${group.controller || 'cgroup'} limit: container could not join or create cgroup (${skipped[1]})`);
        }
        throw new CgroupError(`${group.writes[0].field}: the container has no ${group.controller} cgroup`);
      }
      if (group.version === 2 && group.controller !== '') this.enableController(place, group.controller, group.writes[0].field);
      if (group.version === 1) writeV1(place.dir, group.controller, group.writes);
      else for (const w of group.writes) writeOne(place.dir, w);
    }
  }

  private applyDevices(resources: LinuxResources, devices: LinuxDevice[] | undefined): void {
    try {
      this.writeDeviceRules(resources, devices);
    } catch (err) {
      // As runc: a rootless container gets the host's device permissions, which no
      // unprivileged cgroup write could narrow anyway; its /dev holds only bind mounts.
      if (!this.rootless || !isPermissionError(err)) throw err;
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
      if (resources.devices?.length) throw new CgroupError('linux.resources.devices: no devices cgroup controller is mounted');
      return;
    }
    try {
      applyDeviceRulesV2(u.dir, rules);
    } catch (err) {
      throw new CgroupError(`linux.resources.devices: ${(err as Error).message}`, { cause: err });
    }
  }

  /** "+controller" in cgroup.subtree_control from the mount root down to the cgroup's parent. */
  private enableController(place: CgroupPlacement, controller: string, field: string): void {
    const levels: string[] = [];
    for (let dir = path.dirname(place.dir); dir.startsWith(place.mountpoint); dir = path.dirname(dir)) {
      levels.unshift(dir);
      if (dir === place.mountpoint) break;
    }
    for (const dir of levels) {
      const file = path.join(dir, 'cgroup.subtree_control');
      const enabled = (readOptional(file) ?? '').split(/\s+/);
      if (!enabled.includes(controller)) writeValue(file, `+${controller}`, `${field} (enable the ${controller} controller)`);
    }
  }

  /** The current memory usage in bytes (for memory.checkBeforeUpdate). */
  memoryUsage(): number | undefined {
    const v1 = this.v1('memory');
    const text = v1 ? readOptional(path.join(v1.dir, 'memory.usage_in_bytes')) : this.unified && readOptional(path.join(this.unified.dir, 'memory.current'));
    return text === undefined ? undefined : Number(text.trim());
  }

  /**
   * Where a controller's files are for this container: the v1 hierarchy with it, else the
   * unified one when the controller is enabled there (cpu.stat exists in every v2 cgroup).
   */
  controllerDir(v1Name: string, v2Name: string): { version: 1 | 2; dir: string } | undefined {
    const v1 = this.v1(v1Name);
    if (v1) return { version: 1, dir: v1.dir };
    const u = this.unified;
    if (!u) return undefined;
    const enabled = (readOptional(path.join(u.dir, 'cgroup.controllers')) ?? '').split(/\s+/);
    return enabled.includes(v2Name) || v2Name === 'cpu' ? { version: 2, dir: u.dir } : undefined;
  }

  // ---- freezer ----

  private freezer() {
    return freezerOf(this.placements);
  }

  canFreeze(): boolean {
    return this.freezer() !== undefined;
  }

  isFrozen(): boolean {
    return isFrozen(this.placements);
  }

  /** Freeze (true) or thaw (false), waiting until the kernel reports it done. */
  setFrozen(frozen: boolean): void {
    const f = this.freezer();
    if (!f) throw new CgroupError('no freezer: neither a v1 freezer hierarchy nor cgroup.freeze is available');
    const deadline = Date.now() + 10_000;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      if (f.kind === 1) {
        const want = frozen ? 'FROZEN' : 'THAWED';
        writeValue(path.join(f.dir, 'freezer.state'), want, 'freezer.state');
        if (readText(path.join(f.dir, 'freezer.state')).trim() === want) return;
      } else {
        writeValue(path.join(f.dir, 'cgroup.freeze'), frozen ? '1' : '0', 'cgroup.freeze');
        if (/^frozen (\d)$/m.exec(readText(path.join(f.dir, 'cgroup.events')))?.[1] === (frozen ? '1' : '0')) return;
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

  /** Host PIDs of every process in the container's cgroup and the cgroups below it. */
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
   * Signal every process of the cgroup. KILL on a cgroup with cgroup.kill is one write;
   * otherwise freeze (so nothing forks past us), signal each verified member, and thaw unless
   * the container was paused already.
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

  /** The OOM-kill counter (memory.events oom_kill on v2, memory.oom_control on v1). */
  oomKillCount(): number | undefined {
    const v1 = this.v1('memory');
    const text = v1 ? readOptional(path.join(v1.dir, 'memory.oom_control')) : this.unified && readOptional(path.join(this.unified.dir, 'memory.events'));
    const m = text && /^oom_kill (\d+)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  }

  // ---- removal ----

  /**
   * Remove the directories create made, deepest first, and any cgroups the container made
   * inside its own. A cgroup that still has (dying) processes is retried briefly.
   */
  destroy(): void {
    const errors: string[] = [];
    // systemd removes the scope's cgroups (and the ones the container made below it).
    const sd = this.systemd;
    if (sd) {
      try {
        viaSystemd((systemd) => systemd.stopUnit(sd.unit));
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    const leaves = new Set(this.placements.map((p) => p.dir));
    const ordered = [...this.created].sort((a, b) => b.split('/').length - a.split('/').length);
    for (const dir of ordered) {
      try {
        // Listed for sub-cgroups (the container may make some in its own) only when it has
        // any, or processes, that rmdir reports (EBUSY): most often it is empty, and a readdir
        // per hierarchy was half of delete's cgroup work.
        if (!rmdirIfEmpty(dir)) {
          if (leaves.has(dir)) removeChildren(dir);
          rmdirRetrying(dir);
        }
      } catch (err) {
        errors.push(err instanceof CgroupError ? err.message : `remove cgroup ${dir}: ${errnoMessage(err)}`);
      }
    }
    this.created.length = 0;
    if (errors.length) throw new CgroupError(errors.join('; '));
  }
}

/**
 * A new v1 cpuset cgroup starts with no CPUs or memory nodes, and no task can join one that
 * has none. Fill every level from the mountpoint down to `dir` that is empty from the level
 * above, as runc does: a parent made by someone else (a pod cgroup made with a bare mkdir)
 * may be empty too.
 */
function fillCpusetDown(mountpoint: string, dir: string): void {
  const levels: string[] = [];
  for (let d = dir; d !== mountpoint && d.startsWith(mountpoint + '/'); d = path.dirname(d)) levels.unshift(d);
  for (const level of levels) {
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const own = path.join(level, file);
      if ((readOptional(own) ?? '').trim() !== '') continue;
      const parent = (readOptional(path.join(path.dirname(level), file)) ?? '').trim();
      if (parent) writeValue(own, parent, `initialise ${file}`);
    }
  }
}

function writeOne(dir: string, w: CgroupWrite): void {
  const file = path.join(dir, w.file);
  try {
    writeValue(file, w.value, w.field);
    return;
  } catch (err) {
    if (errCode((err as Error).cause) !== 'ENOENT') throw err;
  }
  if (w.ifExists) return;
  if (w.orElse && fs.existsSync(path.join(dir, w.orElse.file))) {
    writeValue(path.join(dir, w.orElse.file), w.orElse.value, w.field);
    return;
  }
  throw new CgroupError(`${w.field}: ${file} does not exist (the kernel does not support it)`);
}

/**
 * v1 pairs the kernel checks against each other, so that raising (or lowering) both needs one
 * order or the other: memory.limit_in_bytes <= memory.memsw.limit_in_bytes, and the rt runtime
 * must fit in its period. The other writes go first, in order; then the pair, in the given
 * order and, when that fails, the other way round (as runc does).
 */
const INTERDEPENDENT: Record<string, [string, string]> = {
  memory: ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes'],
  cpu: ['cpu.rt_period_us', 'cpu.rt_runtime_us'],
};

function writeV1(dir: string, controller: string, writes: CgroupWrite[]): void {
  const pair = INTERDEPENDENT[controller] ?? [];
  const first = writes.find((w) => w.file === pair[0]);
  const second = writes.find((w) => w.file === pair[1]);
  for (const w of writes) if (w !== first && w !== second) writeOne(dir, w);
  if (first && second) {
    try {
      writeOne(dir, first);
      writeOne(dir, second);
    } catch {
      writeOne(dir, second);
      writeOne(dir, first);
    }
  } else {
    for (const w of [first, second]) if (w) writeOne(dir, w);
  }
}

function removeChildren(dir: string): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (errCode(err) === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const child = path.join(dir, e.name);
    removeChildren(child);
    rmdirRetrying(child);
  }
}

/** rmdir; false when the cgroup still has sub-cgroups or processes (EBUSY). */
function rmdirIfEmpty(dir: string): boolean {
  try {
    fs.rmdirSync(dir);
    return true;
  } catch (err) {
    if (errCode(err) === 'ENOENT') return true;
    if (errCode(err) === 'EBUSY') return false;
    throw new CgroupError(`remove cgroup ${dir}: ${errnoMessage(err)}`);
  }
}

function rmdirRetrying(dir: string): void {
  const deadline = Date.now() + 3000;
  for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      if (errCode(err) === 'ENOENT') return;
      if (errCode(err) !== 'EBUSY' || Date.now() > deadline) throw new CgroupError(`remove cgroup ${dir}: ${errnoMessage(err)}`);
    }
    sleepMs(delay);
  }
}
