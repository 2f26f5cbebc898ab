// linux.intelRdt through the resctrl filesystem, as runc does it: the container's init joins a
// CLOS group (linux.intelRdt.closID, or one named after the container that create makes and
// delete removes), the schemata lines are written to the group, and with enableMonitoring a
// monitoring group mon_groups/<id> is made too. A host without a mounted resctrl gets runc's
// error; nothing here writes anywhere else.
import { EngineError } from '../errors';
import { mkdirSync, readFileSync, rmdirSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SpecError, specErrorMessage } from '../spec/errors';
import type { LinuxIntelRdt } from '../spec/types';

const RDTGROUP_SUPER_MAGIC = 0x7655821;
const DEFAULT_MOUNTPOINT = '/sys/fs/resctrl';

/** A failed resctrl write; the message carries the kernel's info/last_cmd_status. */
export class ResctrlError extends EngineError {
  override name = 'ResctrlError';
}

/** Where resctrl is mounted: /sys/fs/resctrl when it is resctrl, else the first resctrl mount. */
export function findResctrlRoot(mountinfo = '/proc/self/mountinfo'): string | undefined {
  try {
    if (statfsSync(DEFAULT_MOUNTPOINT).type === RDTGROUP_SUPER_MAGIC) return DEFAULT_MOUNTPOINT;
  } catch {
    // not there: look through the mounts
  }
  for (const line of readFileSync(mountinfo, 'utf8').split('\n')) {
    // "<id> <parent> <dev> <root> <mountpoint> <options> [optional...] - <fstype> <source> <super options>"
    const [before, after] = line.split(' - ');
    if (after?.split(' ')[0] === 'resctrl') return unescapeMountinfo(before.split(' ')[4]);
  }
  return undefined;
}

function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

const exists = (p: string): boolean => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};

/**
 * runc's checks on linux.intelRdt against the resctrl at `root` (undefined: none mounted).
 * Throws SpecError naming the field.
 */
export function checkIntelRdt(rdt: LinuxIntelRdt | undefined, root: string | undefined, file: string): void {
  if (!rdt) return;
  const fail = (pointer: string, message: string): never => {
    throw new SpecError(specErrorMessage(file, pointer, message));
  };
  if (!root) fail('/linux/intelRdt', 'intelRdt is specified in config, but Intel RDT is not enabled');
  const clos = rdt.closID ?? '';
  // A lone "/" is the root group, as with runc; any other slash would leave the one-level tree.
  if (clos === '.' || clos === '..' || (clos.length > 1 && clos.includes('/'))) fail('/linux/intelRdt/closID', `invalid intelRdt.ClosID ${JSON.stringify(clos)}`);
  if (rdt.l3CacheSchema && !exists(path.join(root!, 'info', 'L3'))) {
    fail('/linux/intelRdt/l3CacheSchema', 'intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled');
  }
  if (rdt.memBwSchema && !exists(path.join(root!, 'info', 'MB'))) {
    fail('/linux/intelRdt/memBwSchema', 'intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled');
  }
}

/** The container's place in resctrl: derived from its config and ID alone, so delete can find it again. */
export class ResctrlGroup {
  /** The CLOS group directory. */
  readonly dir: string;
  /** mon_groups/<id> under it, with enableMonitoring. */
  readonly monDir: string | undefined;

  constructor(
    readonly root: string,
    id: string,
    private readonly rdt: LinuxIntelRdt,
  ) {
    this.dir = rdt.closID === '/' ? root : path.join(root, rdt.closID || id);
    this.monDir = rdt.enableMonitoring ? path.join(this.dir, 'mon_groups', id) : undefined;
  }

  /** The schemata file's new content: l3CacheSchema, memBwSchema, then schemata, one per line. */
  schemataText(): string {
    return [this.rdt.l3CacheSchema, this.rdt.memBwSchema, ...(this.rdt.schemata ?? [])]
      .filter((s): s is string => !!s)
      .map((s) => `${s}\n`)
      .join('');
  }

  private withStatus(what: string, err: unknown): ResctrlError {
    let status = '';
    try {
      status = `, last_cmd_status: ${readFileSync(path.join(this.root, 'info', 'last_cmd_status'), 'utf8').trim()}`;
    } catch {
      // older kernels have no last_cmd_status
    }
    return new ResctrlError(`intelrdt: ${what}: ${(err as Error).message}${status}`, { cause: err });
  }

  /** Make the group (unless closID names an existing one), put `pid` in it, write the schemata. */
  apply(pid: number): void {
    const schemata = this.schemataText();
    if (this.rdt.closID && !schemata && !exists(this.dir)) {
      throw new ResctrlError(`intelrdt: clos dir ${this.dir} not accessible (must be pre-created when schemata, l3CacheSchema and memBwSchema are empty)`);
    }
    for (const dir of [this.dir, this.monDir]) {
      if (!dir) continue;
      try {
        mkdirSync(dir, { mode: 0o755 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw this.withStatus(`mkdir ${dir}`, err);
      }
      try {
        writeFileSync(path.join(dir, 'tasks'), String(pid));
      } catch (err) {
        throw this.withStatus(`unable to add pid ${pid} to ${dir}`, err);
      }
    }
    if (!schemata) return;
    try {
      writeFileSync(path.join(this.dir, 'schemata'), schemata);
    } catch (err) {
      throw this.withStatus(`unable to write ${JSON.stringify(schemata)} to ${path.join(this.dir, 'schemata')}`, err);
    }
  }

  /** Remove what create made: the group named after the container, or only the monitoring group
   *  inside a shared closID group. Missing directories are fine. */
  destroy(): void {
    const dir = this.rdt.closID ? this.monDir : this.dir;
    if (!dir) return;
    try {
      rmdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw this.withStatus(`remove ${dir}`, err);
    }
  }
}

/** The container's group, checked as runc checks it (throws SpecError); undefined without intelRdt. */
export function planResctrl(rdt: LinuxIntelRdt | undefined, id: string, file: string): ResctrlGroup | undefined {
  if (!rdt) return undefined;
  const root = findResctrlRoot();
  checkIntelRdt(rdt, root, file);
  return new ResctrlGroup(root!, id, rdt);
}

/** On delete: remove what create made, if resctrl is still mounted. */
export function removeResctrlGroup(rdt: LinuxIntelRdt | undefined, id: string): void {
  const root = rdt && findResctrlRoot();
  if (rdt && root) new ResctrlGroup(root, id, rdt).destroy();
}
