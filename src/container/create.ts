// create: validate the bundle, make the state dir and exec.fifo, build the plan, run the
// init helper to the point where the container waits on the fifo, record the state and
// write the pid file. Any failure removes everything it made.
import { chownSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { RuntimeError } from '../errors';
import { runHooks } from '../hooks/run';
import { InitError, launchInit } from '../init/launch';
import { log } from '../log';
import { native } from '../native';
import { hostHierarchies } from '../cgroups/hierarchy';
import { CgroupError, CgroupPathError, ContainerCgroups, ResourceError } from '../cgroups/manager';
import { resourceWarnings } from '../cgroups/resources';
import { lastKernelCapability } from '../plan/capabilities';
import { buildPlan, PlanError } from '../plan/build';
import type { InitPlan } from '../plan/types';
import type { LinuxIDMapping, Spec } from '../spec/types';
import { loadConfig, validateConfig } from '../spec/validate';
import { StateStore } from '../state/store';
import type { ContainerRecord } from '../state/store';
import { readStartTime } from '../state/process';
import { stateObject } from '../state/status';
import { preservedFds } from './preserve-fds';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  /** Foreground `run` with a terminal: our end of a socket pair receiving the pty master. */
  consoleFd?: number;
  noPivot: boolean;
  preserveFds: number;
  /** Detached create (no foreground process to own the terminal). */
  detached: boolean;
  /** --systemd-cgroup: linux.cgroupsPath is "slice:prefix:name". */
  systemdCgroup?: boolean;
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

/** The host id that id 0 in the container maps to (0 when unmapped). */
function hostIdOfRoot(mappings: LinuxIDMapping[] | undefined): number {
  const m = (mappings ?? []).find((r) => r.containerID <= 0 && 0 < r.containerID + r.size);
  return m ? m.hostID - m.containerID : 0;
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

export function createContainer(opts: CreateOptions): Created {
  const { spec, bundle } = loadSpec(opts);
  const inheritFds = preservedFds(opts.preserveFds);
  const store = new StateStore(opts.root);
  const handle = store.create(opts.id);
  let initPid = 0;
  let cgroups: ContainerCgroups | undefined;
  try {
    handle.lock();
    const execFifo = path.join(handle.dir, 'exec.fifo');
    native().mkfifo(execFifo, 0o622);
    // In a new user namespace the container's root is some other host uid: it must be
    // able to open the fifo for writing (through the fd the init holds).
    if (spec.linux?.namespaces?.some((ns) => ns.type === 'user' && !ns.path)) {
      chownSync(execFifo, hostIdOfRoot(spec.linux.uidMappings), hostIdOfRoot(spec.linux.gidMappings));
    }
    const hierarchies = hostHierarchies();
    const resources = spec.linux?.resources ?? {};
    cgroups = ContainerCgroups.plan(opts.id, spec.linux?.cgroupsPath, opts.systemdCgroup ?? false, hierarchies);
    // Refuse limits the host cannot enforce before anything is made.
    cgroups.planWrites(resources);
    resourceWarnings(resources).forEach((w) => log.warn(w));
    cgroups.create();
    const containerCgroups = cgroups;
    const console: InitPlan['console'] = opts.consoleFd !== undefined ? { fd: opts.consoleFd } : opts.consoleSocket ? { socketPath: path.resolve(opts.consoleSocket) } : null;
    const { plan, warnings, notes } = buildPlan({
      id: opts.id,
      bundle,
      spec,
      execFifo,
      console,
      noPivot: opts.noPivot,
      preserveFds: opts.preserveFds,
      // The cgroup mount shows the container's own cgroups, not ours.
      hierarchies: hierarchies.map((h) => ({ ...h, cgroup: containerCgroups.placements.find((p) => p.mountpoint === h.mountpoint)?.cgroup ?? h.cgroup })),
      lastCap: lastKernelCapability(),
      hasKcore: existsSync('/proc/kcore'),
    });
    warnings.forEach((w) => log.warn(w));
    notes.forEach((n) => log.debug(n));

    const created = new Date();
    const createdStamp = rfc3339Nano(created, process.hrtime.bigint());
    const record = (pid: number): ContainerRecord => ({
      ociVersion: spec.ociVersion,
      id: opts.id,
      initPid: pid,
      initStartTime: (pid && readStartTime(pid)) || '',
      bundle,
      rootfs: plan.rootfs,
      created: createdStamp,
      owner: '',
      annotations: spec.annotations ?? {},
      config: spec,
      cgroups: containerCgroups.record(),
    });
    if (opts.consoleFd !== undefined) inheritFds.push(opts.consoleFd);
    initPid = launchInit({
      plan,
      uidMappings: spec.linux?.uidMappings ?? [],
      gidMappings: spec.linux?.gidMappings ?? [],
      inheritFds,
      stateFor: (pid) => JSON.stringify({ ...stateObject(record(pid), 'created'), status: 'creating' }),
      runRuntimeHooks: (state) => {
        runHooks('prestart', spec.hooks?.prestart, state);
        runHooks('createRuntime', spec.hooks?.createRuntime, state);
      },
      warn: (m) => log.warn(m),
      beforePlan: (stage1Pid) => containerCgroups.join(stage1Pid),
      onInitPid: (pid) => {
        initPid = pid;
        // Limits go on once the init exists and before anything of the user's runs (the
        // helper's own short-lived stage would otherwise count against pids.max).
        containerCgroups.apply(resources, spec.linux?.devices, true);
      },
    });
    const rec = record(initPid);
    if (!rec.initStartTime) throw new RuntimeError(`container init ${initPid} exited during create`);
    handle.write(rec);
    if (opts.pidFile) writePidFile(opts.pidFile, initPid);
    handle.close();
    return { pid: initPid, record: rec };
  } catch (err) {
    if (initPid) {
      try {
        process.kill(initPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      cgroups?.destroy();
    } catch (cleanupErr) {
      log.warn((cleanupErr as Error).message);
    }
    handle.remove();
    handle.close();
    if (err instanceof PlanError || err instanceof InitError || err instanceof CgroupError || err instanceof CgroupPathError || err instanceof ResourceError) {
      throw new RuntimeError(err.message);
    }
    throw err;
  }
}
