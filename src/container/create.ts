// create: validate the bundle and build the plan, claim the ID (the state dir), record what
// is about to be made, make exec.fifo and the cgroups, run the init helper to the point where
// the container waits on the fifo, record the finished state and write the pid file. Any
// failure removes everything it made; a crash leaves a record that delete acts on.
import { chmodSync, chownSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { RuntimeError } from '../errors';
import { runHooks } from '../hooks/run';
import { InitError, launchInit } from '../init/launch';
import { log } from '../log';
import { native } from '../native';
import { hostHierarchies } from '../cgroups/hierarchy';
import { CgroupError, CgroupPathError, ContainerCgroups, ResourceError, type CgroupRecord } from '../cgroups/manager';
import { resourceWarnings } from '../cgroups/resources';
import { lastKernelCapability } from '../plan/capabilities';
import { buildPlan, PlanError } from '../plan/build';
import { moveNetDevices, planNetDevices } from '../network/devices';
import { planResctrl, ResctrlError } from '../intelrdt/resctrl';
import type { InitPlan } from '../plan/types';
import type { Spec } from '../spec/types';
import { loadConfig, validateConfig } from '../spec/validate';
import { StateStore } from '../state/store';
import type { ContainerRecord } from '../state/store';
import { callerLimits, checkRootlessSpec } from '../rootless/checks';
import { currentIds } from '../rootless/idmap';
import { isRootlessEuid, useRootlessCgroups } from '../rootless/mode';
import { isAlive, readStartTime } from '../state/process';
import { EXEC_FIFO, stateObject } from '../state/status';
import { cgroupsToMake, helperCgroupJoin } from './cgroups';
import { crashPoint } from './crash-point';
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

/** RFC 3339 UTC with nanoseconds, as runc records `created`. */
function rfc3339Nano(date: Date, hr: bigint): string {
  const nanos = (hr % 1_000_000_000n).toString().padStart(9, '0');
  return date.toISOString().replace(/\.\d+Z$/, `.${nanos}Z`);
}

/** Write the pid file atomically (tmp + rename), decimal with no newline. */
export function writePidFile(file: string, pid: number): void {
  const abs = path.resolve(file);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${process.pid}.tmp`);
  writeFileSync(tmp, String(pid), { mode: 0o644 });
  renameSync(tmp, abs);
}

function loadSpec(opts: CreateOptions): { spec: Spec; bundle: string } {
  const bundle = path.resolve(opts.bundle);
  const spec = loadConfig(bundle);
  const { spec: valid, warnings } = validateConfig(spec, { file: 'config.json', consoleSocket: opts.consoleSocket, detached: opts.detached });
  warnings.forEach((w) => log.warn(w));
  return { spec: valid, bundle };
}

/** create, with every expected failure (plan, init, cgroups) reported as a RuntimeError. */
export function createContainer(opts: CreateOptions): Created {
  try {
    return create(opts);
  } catch (err) {
    if (err instanceof PlanError || err instanceof InitError || err instanceof CgroupError || err instanceof CgroupPathError || err instanceof ResourceError || err instanceof ResctrlError) {
      throw new RuntimeError(err.message, { cause: err });
    }
    throw err;
  }
}

function create(opts: CreateOptions): Created {
  const { spec, bundle } = loadSpec(opts);
  const netDevices = planNetDevices(spec, 'config.json');
  const resctrl = planResctrl(spec.linux?.intelRdt, opts.id, 'config.json');
  const inheritFds = preservedFds(opts.preserveFds);
  const rootlessEuid = isRootlessEuid();
  if (rootlessEuid) checkRootlessSpec(spec, currentIds(), callerLimits());
  const rootlessCgroups = useRootlessCgroups(opts.rootless);
  const store = new StateStore(opts.root);
  const execFifo = path.join(store.containerDir(opts.id), EXEC_FIFO);
  // Everything that only reads and checks comes before anything is made.
  const hierarchies = hostHierarchies();
  const resources = spec.linux?.resources ?? {};
  const rootless = rootlessCgroups ? { explicitPath: Boolean(spec.linux?.cgroupsPath) } : undefined;
  const cgroups = ContainerCgroups.plan(opts.id, spec.linux?.cgroupsPath, opts.systemdCgroup ?? false, hierarchies, rootless);
  // Refuse limits the host cannot enforce.
  cgroups.planWrites(resources);
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
      rootless: rootless ? { unjoinedHierarchies } : undefined,
    });
  // Rootless: rebuilt below once the hierarchies the caller may not write are known.
  const built = planFor([]);
  built.warnings.forEach((w) => log.warn(w));
  built.notes.forEach((n) => log.debug(n));
  let plan = built.plan;

  const createdStamp = rfc3339Nano(new Date(), process.hrtime.bigint());
  const creator = { pid: process.pid, startTime: readStartTime(process.pid) ?? '' };
  let initPid = 0;
  let initStartTime = '';
  /** launchInit returned: the init is ours to kill if create fails after that. */
  let launched = false;
  /** The record as far as create has got; `creator` stays in it until the last write. */
  const record = (cgroupRecord: CgroupRecord = cgroups.record(), finished = false): ContainerRecord => ({
    ociVersion: spec.ociVersion,
    id: opts.id,
    initPid,
    initStartTime,
    bundle,
    rootfs: plan.rootfs,
    created: createdStamp,
    owner: '',
    annotations: spec.annotations ?? {},
    config: spec,
    cgroups: cgroupRecord,
    ...(finished ? {} : { creator }),
  });

  // mkdir is the atomic claim on the ID: of two concurrent creates exactly one gets here.
  const handle = store.create(opts.id);
  try {
    handle.lock();
    crashPoint('create:claimed');
    // What is about to be made is recorded before it is made (the cgroups; the init once its
    // pid is known): a create killed at any point leaves a record that delete acts on.
    handle.write(record(cgroupsToMake(cgroups)));
    crashPoint('create:recorded');
    native().mkfifo(execFifo, 0o622);
    // In a new user namespace the container's root is some other host uid: it must be
    // able to open the fifo for writing (through the fd the init holds).
    // In a joined one, once the init is inside (adoptJoinedUserNs).
    const joinedUserNs = spec.linux?.namespaces?.some((ns) => ns.type === 'user' && ns.path) === true;
    // Rootless, it may be a subordinate id the caller cannot chown to: let anyone write it
    // (the state dir is the caller's 0700 one; the init holds an fd opened before).
    if (rootlessEuid) chmodSync(execFifo, 0o622);
    else if (spec.linux?.namespaces?.some((ns) => ns.type === 'user' && !ns.path)) {
      chownSync(execFifo, hostIdOfRoot(spec.linux.uidMappings), hostIdOfRoot(spec.linux.gidMappings));
    }
    cgroups.create();
    crashPoint('create:cgroups');
    const skipped = cgroups.skippedHierarchies();
    skipped.forEach((s) => log.debug(`rootless: no cgroup of the container's own in ${s.mountpoint}: ${s.error}`));
    // Those the container gets no cgroup of its own in are masked inside it (rule 16).
    if (skipped.length > 0) plan = planFor(skipped.map((s) => s.mountpoint)).plan;
    if (rootless && cgroups.placements.length === 0 && !spec.linux?.namespaces?.some((ns) => ns.type === 'pid' && !ns.path)) {
      log.warn('creating a rootless container with no cgroup and no private pid namespace: its processes cannot all be found and killed reliably');
    }
    if (opts.consoleFd !== undefined) inheritFds.push(opts.consoleFd);
    const userns = spec.linux?.namespaces?.some((ns) => ns.type === 'user') === true;
    plan = { ...plan, cgroupJoin: helperCgroupJoin(cgroups, userns) };
    launchInit({
      plan,
      uidMappings: spec.linux?.uidMappings ?? [],
      gidMappings: spec.linux?.gidMappings ?? [],
      inheritFds,
      stdio: opts.stdio,
      stateFor: () => JSON.stringify(stateObject(record(), 'creating')),
      runRuntimeHooks: (state) => {
        runHooks('prestart', spec.hooks?.prestart, state);
        runHooks('createRuntime', spec.hooks?.createRuntime, state);
        crashPoint('create:hooks');
      },
      warn: (m) => log.warn(m),
      onNetlinkSocket: (sock, pid) => moveNetDevices(netDevices, pid, sock),
      beforePlan: (stage1Pid) => {
        if (!plan.cgroupJoin) cgroups.join(stage1Pid, resources);
        crashPoint('create:helper');
      },
      onInitPid: (pid) => {
        initPid = pid;
        initStartTime = readStartTime(pid) ?? '';
        handle.write(record());
        crashPoint('create:pid');
        if (joinedUserNs) adoptJoinedUserNs(spec, pid, execFifo, (m) => log.warn(m));
        // Limits go on once the init exists and before anything of the user's runs (the
        // helper's own short-lived stage would otherwise count against pids.max).
        cgroups.apply(resources, spec.linux?.devices, true);
        // Its resctrl group follows from the recorded config and ID: delete finds it.
        resctrl?.apply(pid);
      },
    });
    launched = true;
    crashPoint('create:created');
    if (!isAlive(initPid, initStartTime)) throw new RuntimeError(`container init ${initPid} exited during create`);
    const rec = record(cgroups.record(), true);
    handle.write(rec);
    crashPoint('create:state');
    if (opts.pidFile) writePidFile(opts.pidFile, initPid);
    handle.close();
    return { pid: initPid, record: rec };
  } catch (err) {
    // A failed launch killed and reaped the init itself: its pid may be another process's now.
    if (launched) {
      try {
        // Our unreaped child (the helper forks it with CLONE_PARENT): the pid is still its.
        process.kill(initPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const undo of [() => cgroups.destroy(), () => resctrl?.destroy()]) {
      try {
        undo();
      } catch (cleanupErr) {
        log.warn((cleanupErr as Error).message);
      }
    }
    handle.remove();
    handle.close();
    throw err;
  }
}
