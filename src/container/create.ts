// create: validate the bundle and build the plan, claim the ID (the state dir), record what
// is about to be made, make exec.fifo and the cgroups, run the init helper to the point where
// the container waits on the fifo, record the finished state and write the pid file. Any
// failure removes everything it made; a crash leaves a record that delete acts on.
import { chmodSync, chownSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { EngineError, RuntimeError } from '../errors';
import { runHooks } from '../hooks/run';
import { launchInit } from '../init/launch';
import { log } from '../log';
import { native } from '../native';
import { hostHierarchies } from '../cgroups/hierarchy';
import type { CgroupDriver, CgroupRecord } from '../cgroups/driver';
import { newCgroupDriver } from '../cgroups/factory';
import { resourceWarnings } from '../cgroups/resources';
import { lastKernelCapability } from '../plan/capabilities';
import { buildPlan } from '../plan/build';
import { moveNetDevices, planNetDevices } from '../network/devices';
import { planResctrl } from '../intelrdt/resctrl';
import type { InitPlan } from '../plan/types';
import type { LinuxResources, Spec } from '../spec/types';
import { loadConfig, validateConfig } from '../spec/validate';
import { StateStore } from '../state/store';
import type { ContainerHandle, ContainerRecord } from '../state/store';
import { callerLimits, checkRootlessSpec } from '../rootless/checks';
import { currentIds } from '../rootless/idmap';
import { isRootlessEuid, useRootlessCgroups } from '../rootless/mode';
import { isAlive, readStartTime } from '../state/process';
import { EXEC_FIFO, stateObject } from '../state/status';
import { nowRfc3339Nano } from '../state/time';
import { helperCgroupJoin } from './cgroups';
import { crashPoint } from './crash-point';
import { writePidFile } from './pid-file';
import { adoptJoinedUserNs, hostIdOfRoot } from './userns';
import { preservedFds } from './preserve-fds';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  /** Foreground `run` with a terminal: our end of a socket pair receiving the pty master. */
  consoleFd?: number;
  /** Foreground `run` without a terminal: the container's ends of its stdio pipes. */
  stdio?: [number, number, number];
  noPivot: boolean;
  preserveFds: number;
  /** Detached create (no foreground process to own the terminal). */
  detached: boolean;
  /** --systemd-cgroup: linux.cgroupsPath is "slice:prefix:name". */
  systemdCgroup?: boolean;
  /** --rootless true|false|auto (undefined = auto): tolerate cgroup permission errors. */
  rootless?: string;
}

export interface Created {
  pid: number;
  record: ContainerRecord;
}

function loadSpec(opts: CreateOptions): { spec: Spec; bundle: string } {
  const bundle = path.resolve(opts.bundle);
  const spec = loadConfig(bundle);
  const { spec: valid, warnings } = validateConfig(spec, { file: 'config.json', consoleSocket: opts.consoleSocket, detached: opts.detached });
  warnings.forEach((w) => log.warn(w));
  return { spec: valid, bundle };
}

/** create, with every expected failure (an EngineError: plan, init, cgroups, resctrl) reported
 *  as a RuntimeError. */
export function createContainer(opts: CreateOptions): Created {
  try {
    return new CreateTransaction(prepareCreate(opts)).run();
  } catch (err) {
    if (err instanceof EngineError) throw new RuntimeError(err.message, { cause: err });
    throw err;
  }
}

/** Everything create needs, read and checked before anything is made. */
export interface CreatePreparation {
  opts: CreateOptions;
  spec: Spec;
  bundle: string;
  store: StateStore;
  execFifo: string;
  netDevices: ReturnType<typeof planNetDevices>;
  resctrl: ReturnType<typeof planResctrl>;
  /** The fds the init inherits (--preserve-fds, and a foreground run's console socket). */
  inheritFds: number[];
  rootlessEuid: boolean;
  /** --rootless cgroups: a hierarchy the caller may not write is skipped. */
  rootlessCgroups: boolean;
  cgroups: CgroupDriver;
  resources: LinuxResources;
  plan: InitPlan;
  /** Rebuilds the plan with the cgroup hierarchies the container has no cgroup of its own in. */
  planMasking: (unjoinedHierarchies: string[]) => InitPlan;
  created: string;
  creator: { pid: number; startTime: string };
}

/** Validate the bundle, check rootless limits and cgroup writes, and build the plan: reads the
 *  host, makes nothing, so bad input fails here with nothing to undo. */
export function prepareCreate(opts: CreateOptions): CreatePreparation {
  const { spec, bundle } = loadSpec(opts);
  const netDevices = planNetDevices(spec, 'config.json');
  const resctrl = planResctrl(spec.linux?.intelRdt, opts.id, 'config.json');
  const inheritFds = preservedFds(opts.preserveFds);
  if (opts.consoleFd !== undefined) inheritFds.push(opts.consoleFd);
  const rootlessEuid = isRootlessEuid();
  if (rootlessEuid) checkRootlessSpec(spec, currentIds(), callerLimits());
  const rootlessCgroups = useRootlessCgroups(opts.rootless);
  const store = new StateStore(opts.root);
  const execFifo = path.join(store.containerDir(opts.id), EXEC_FIFO);
  const hierarchies = hostHierarchies();
  const resources = spec.linux?.resources ?? {};
  const cgroups = newCgroupDriver({ id: opts.id, cgroupsPath: spec.linux?.cgroupsPath, systemd: opts.systemdCgroup ?? false, rootless: rootlessCgroups, hierarchies });
  // Refuse limits the host cannot enforce.
  cgroups.checkResources(resources);
  resourceWarnings(resources).forEach((w) => log.warn(w));
  const console: InitPlan['console'] = opts.consoleFd !== undefined ? { fd: opts.consoleFd } : opts.consoleSocket ? { socketPath: path.resolve(opts.consoleSocket) } : null;
  const planFor = (unjoinedHierarchies: string[]) =>
    buildPlan({
      id: opts.id,
      bundle,
      spec,
      execFifo,
      console,
      noPivot: opts.noPivot,
      preserveFds: opts.preserveFds,
      // The cgroup mount shows the container's own cgroups, not ours.
      hierarchies: hierarchies.map((h) => ({ ...h, cgroup: cgroups.placements.find((p) => p.mountpoint === h.mountpoint)?.cgroup ?? h.cgroup })),
      lastCap: lastKernelCapability(),
      hasKcore: existsSync('/proc/kcore'),
      rootless: rootlessCgroups ? { unjoinedHierarchies } : undefined,
      rootlessEuid,
    });
  const built = planFor([]);
  built.warnings.forEach((w) => log.warn(w));
  built.notes.forEach((n) => log.debug(n));
  return {
    opts,
    spec,
    bundle,
    store,
    execFifo,
    netDevices,
    resctrl,
    inheritFds,
    rootlessEuid,
    rootlessCgroups,
    cgroups,
    resources,
    plan: built.plan,
    planMasking: (unjoined) => planFor(unjoined).plan,
    // Wall-clock time, UTC, as runc's time.Now().UTC() marshals it.
    created: nowRfc3339Nano(),
    creator: { pid: process.pid, startTime: readStartTime(process.pid) ?? '' },
  };
}

/** One undo step of a failed create: what it removes, and how. */
export interface Undo {
  what: string;
  undo: () => void;
}

/** Run every undo step in order; a failing one is a warning and the rest still run. */
export function rollBack(steps: Undo[], warn: (message: string) => void): void {
  for (const step of steps) {
    try {
      step.undo();
    } catch (err) {
      warn(`create: undo ${step.what}: ${(err as Error).message}`);
    }
  }
}

const hasUserNs = (spec: Spec, joined: boolean) => spec.linux?.namespaces?.some((ns) => ns.type === 'user' && Boolean(ns.path) === joined) === true;

/**
 * The steps of one create, in order: claim the ID, record what is about to be made, make
 * exec.fifo, make the cgroups, launch the init, record the finished state. What is about to
 * be made is recorded before it is made, so a create killed at any point leaves a record that
 * delete acts on; a create that fails rolls back everything it made (rollBack).
 */
class CreateTransaction {
  private initPid = 0;
  private initStartTime = '';
  /** launchInit returned: the init is ours to kill if create fails after that. */
  private launched = false;
  private plan: InitPlan;
  private handle: ContainerHandle | undefined;

  constructor(private readonly prep: CreatePreparation) {
    this.plan = prep.plan;
  }

  run(): Created {
    const handle = this.claim();
    try {
      this.recordIntent();
      this.makeFifo();
      this.makeCgroups();
      this.launch();
      return this.finish();
    } catch (err) {
      this.rollBack(handle);
      throw err;
    }
  }

  /** mkdir is the atomic claim on the ID: of two concurrent creates exactly one gets past it.
   *  The directory comes back locked; one a killed create left without a record is reused. */
  private claim(): ContainerHandle {
    this.handle = this.prep.store.create(this.prep.opts.id);
    return this.handle;
  }

  /** The record as far as create has got; `creator` stays in it until the last write. */
  private record(cgroupRecord: CgroupRecord = this.prep.cgroups.record(), finished = false): ContainerRecord {
    const { opts, spec, bundle } = this.prep;
    return {
      ociVersion: spec.ociVersion,
      id: opts.id,
      initPid: this.initPid,
      initStartTime: this.initStartTime,
      bundle,
      rootfs: this.plan.rootfs,
      created: this.prep.created,
      owner: '',
      annotations: spec.annotations ?? {},
      config: spec,
      cgroups: cgroupRecord,
      ...(finished ? {} : { creator: this.prep.creator }),
    };
  }

  private recordIntent(): void {
    const handle = this.handle!;
    crashPoint('create:claimed');
    handle.write(this.record(this.prep.cgroups.intendedRecord()));
    crashPoint('create:recorded');
  }

  private makeFifo(): void {
    const { execFifo, spec, rootlessEuid } = this.prep;
    native().mkfifo(execFifo, 0o622);
    // Rootless, the container's root may be a subordinate id the caller cannot chown to: let
    // anyone write it (the state dir is the caller's 0700 one; the init holds an fd opened
    // before). In a new user namespace the container's root is some other host uid: it must
    // be able to open the fifo for writing (through the fd the init holds); in a joined one,
    // once the init is inside (adoptJoinedUserNs).
    if (rootlessEuid) chmodSync(execFifo, 0o622);
    else if (hasUserNs(spec, false)) chownSync(execFifo, hostIdOfRoot(spec.linux?.uidMappings), hostIdOfRoot(spec.linux?.gidMappings));
  }

  private makeCgroups(): void {
    const { cgroups, spec, rootlessCgroups } = this.prep;
    cgroups.create();
    crashPoint('create:cgroups');
    const skipped = cgroups.skippedHierarchies();
    skipped.forEach((s) => log.debug(`rootless: no cgroup of the container's own in ${s.mountpoint}: ${s.error}`));
    // Those the container gets no cgroup of its own in are masked inside it (rule 16).
    if (skipped.length > 0) this.plan = this.prep.planMasking(skipped.map((s) => s.mountpoint));
    if (rootlessCgroups && cgroups.placements.length === 0 && !spec.linux?.namespaces?.some((ns) => ns.type === 'pid' && !ns.path)) {
      log.warn('creating a rootless container with no cgroup and no private pid namespace: its processes cannot all be found and killed reliably');
    }
    const userns = spec.linux?.namespaces?.some((ns) => ns.type === 'user') === true;
    this.plan = { ...this.plan, cgroupJoin: helperCgroupJoin(cgroups, userns) };
  }

  private launch(): void {
    const { spec, cgroups, resources, resctrl, netDevices, execFifo } = this.prep;
    const plan = this.plan;
    launchInit({
      plan,
      uidMappings: spec.linux?.uidMappings ?? [],
      gidMappings: spec.linux?.gidMappings ?? [],
      inheritFds: this.prep.inheritFds,
      stdio: this.prep.opts.stdio,
      stateFor: () => JSON.stringify(stateObject(this.record(), 'creating')),
      runRuntimeHooks: (state) => {
        runHooks('prestart', spec.hooks?.prestart, state);
        runHooks('createRuntime', spec.hooks?.createRuntime, state);
        crashPoint('create:hooks');
      },
      warn: (m) => log.warn(m),
      onNetlinkSocket: (sock, pid) => moveNetDevices(netDevices, pid, sock),
      beforePlan: (stage1Pid) => {
        if (!plan.cgroupJoin) cgroups.joinInit(stage1Pid, resources);
        crashPoint('create:helper');
      },
      onInitPid: (pid) => {
        this.initPid = pid;
        this.initStartTime = readStartTime(pid) ?? '';
        this.handle!.write(this.record());
        crashPoint('create:pid');
        if (hasUserNs(spec, true)) adoptJoinedUserNs(spec, pid, execFifo, (m) => log.warn(m));
        // Limits go on once the init exists and before anything of the user's runs (the
        // helper's own short-lived stage would otherwise count against pids.max).
        cgroups.applyOnCreate(resources, spec.linux?.devices);
        // Its resctrl group follows from the recorded config and ID: delete finds it.
        resctrl?.apply(pid);
      },
    });
    this.launched = true;
    crashPoint('create:created');
  }

  private finish(): Created {
    const handle = this.handle!;
    if (!isAlive(this.initPid, this.initStartTime)) throw new RuntimeError(`container init ${this.initPid} exited during create`);
    const record = this.record(this.prep.cgroups.record(), true);
    handle.write(record);
    crashPoint('create:state');
    if (this.prep.opts.pidFile) writePidFile(this.prep.opts.pidFile, this.initPid);
    handle.close();
    return { pid: this.initPid, record };
  }

  /** Undo in the reverse order of making: the init, the cgroups, the resctrl group, the state dir. */
  private rollBack(handle: ContainerHandle): void {
    const { cgroups, resctrl } = this.prep;
    const steps: Undo[] = [
      // A failed launch killed and reaped the init itself: its pid may be another process's
      // now. After launchInit returned it is our unreaped child (the helper forks it with
      // CLONE_PARENT): the pid is still its.
      { what: 'init', undo: () => (this.launched ? killIfPresent(this.initPid) : undefined) },
      { what: 'cgroups', undo: () => cgroups.destroy() },
      { what: 'resctrl group', undo: () => resctrl?.destroy() },
      { what: 'state directory', undo: () => handle.remove() },
    ];
    rollBack(steps, (m) => log.warn(m));
    handle.close();
  }
}

function killIfPresent(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
