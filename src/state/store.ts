// The state store: <root>/<id>/ holds one container's state.json (and whatever else the
// commands keep there, e.g. exec.fifo). This module is the only writer of <root>. Rules
// (security rule 11): IDs are validated before they become path components; the root and
// each container directory are 0700; state.json is replaced atomically (tmp + rename);
// one exclusive flock per container directory serialises create/start/kill/delete.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoMessage, NotExistError, RuntimeError } from '../errors';
import { native } from '../native';

export const STATE_FILE = 'state.json';

export interface ContainerRecord {
  ociVersion: string;
  id: string;
  initPid: number;
  /** Field 22 of /proc/PID/stat of the init when it was started. */
  initStartTime: string;
  /** Absolute bundle path. */
  bundle: string;
  /** Absolute rootfs path. */
  rootfs: string;
  /** RFC 3339 with nanoseconds, UTC. */
  created: string;
  owner: string;
  annotations: Record<string, string>;
  /** The validated config snapshot. */
  config: unknown;
  /** The cgroups the container joined and the directories create made (src/cgroups/driver.ts
   *  CgroupRecord); absent for records written before cgroups were managed. */
  cgroups?: import('../cgroups/driver').CgroupRecord;
  /** Present from the first write of `create` until its last: the runts process making the
   *  container. A record that still has it once that process is gone is a create that was
   *  killed mid-way; it names what create had made or was about to make, so delete can
   *  remove it. */
  creator?: ProcessIdentity;
}

/** A process named so that a reused PID is never mistaken for it (security rule 12). */
export interface ProcessIdentity {
  pid: number;
  /** Field 22 of /proc/PID/stat. */
  startTime: string;
}

const CONTAINER_ID = /^[A-Za-z0-9_+.-]+$/;

/** Throws unless `id` is safe to use as a directory name under the root. */
export function validateContainerId(id: string): void {
  if (id === '') throw new RuntimeError('container id cannot be empty');
  if (!CONTAINER_ID.test(id) || id === '.' || id === '..') {
    throw new RuntimeError(`invalid container ID format: ${JSON.stringify(id)}`);
  }
}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === code;
}

/** What to do about a state root a non-root caller may not write: typically /run/runts for a
 *  user without XDG_RUNTIME_DIR (runc's /run/runc likewise). */
function rootlessHint(err: unknown): string {
  if (!isErrno(err, 'EACCES') || process.geteuid?.() === 0) return '';
  return ' (runts is not running as root: set XDG_RUNTIME_DIR or pass --root a directory you own)';
}

/** How long a command waits for a container's lock before it gives up: 60 s, or
 *  RUNTS_LOCK_TIMEOUT seconds (a wedged holder must not block every later command forever). */
export function lockTimeoutMs(): number {
  const raw = process.env.RUNTS_LOCK_TIMEOUT;
  if (raw === undefined || raw === '') return 60_000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) throw new RuntimeError(`RUNTS_LOCK_TIMEOUT: not a number of seconds: ${JSON.stringify(raw)}`);
  return seconds * 1000;
}

/** Pids holding a flock on the file open as `fd`, from /proc/locks (flock names no holder);
 *  a pid as the kernel recorded it when the lock was taken. */
export function flockHolders(fd: number): number[] {
  const st = fs.fstatSync(fd);
  // /proc/locks writes the device as major:minor in hex (the kernel's encoding of dev_t).
  const major = ((st.dev >>> 8) & 0xfff) | (Math.floor(st.dev / 2 ** 32) & ~0xfff);
  const minor = (st.dev & 0xff) | ((st.dev >>> 12) & ~0xff & 0xfffff);
  const device = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  let text = '';
  try {
    text = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return [];
  }
  const holders: number[] = [];
  for (const line of text.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"; waiters have "->" after the number.
    const f = line.trim().split(/\s+/);
    if (f[1] === 'FLOCK' && f[5] === device) holders.push(Number(f[4]));
  }
  return holders;
}

/** Poll for the lock (flock has no timeout) with a short backoff, so a waiter follows its
 *  holder within a few ms; past the deadline, an error naming the holder. */
function waitForLock(what: string, fd: number, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let pause = 1; ; pause = Math.min(pause * 2, 25)) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    Atomics.wait(sleeper, 0, 0, Math.min(pause, left));
    if (native().flock(fd, true, false)) return;
  }
  const holders = flockHolders(fd);
  const holder = holders.length > 0 ? `pid ${holders.join(', ')}` : 'another process';
  throw new RuntimeError(`${what} is locked by ${holder}: gave up waiting after ${timeoutMs / 1000}s (RUNTS_LOCK_TIMEOUT)`);
}

/** An open container directory. Hold it (and its lock) for the whole operation, then close. */
export class ContainerHandle {
  private fd: number | undefined;

  constructor(
    readonly id: string,
    readonly dir: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  private openFd(): number {
    if (this.fd === undefined) throw new RuntimeError(`state directory of container ${this.id} is already closed`);
    return this.fd;
  }

  /** Take the container's exclusive lock, waiting at most lockTimeoutMs() for its holder.
   *  Released by close(). Throws NotExistError if the directory was deleted while we waited. */
  lock(): void {
    const fd = this.openFd();
    if (!native().flock(fd, true, false)) waitForLock(`container ${this.id}`, fd, lockTimeoutMs());
    if (fs.fstatSync(fd).nlink === 0) throw new NotExistError(this.id);
  }

  /** Take the lock if it is free; false when another process holds it. */
  tryLock(): boolean {
    return native().flock(this.openFd(), true, false);
  }

  read(): ContainerRecord {
    const file = path.join(this.dir, STATE_FILE);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      // A directory without state.json is a create that has not finished (or crashed).
      if (isErrno(err, 'ENOENT')) throw new NotExistError(this.id);
      throw new RuntimeError(`read state of container ${this.id}: ${errnoMessage(err)}`, { cause: err });
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch (err) {
      throw new RuntimeError(`parse ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Replace state.json atomically: readers see the old or the new record, never a mix.
   *  Not fsync'd (runc does not either): the record describes processes that do not
   *  outlive the machine, and a sync on a disk-backed --root cost create ~10 ms. */
  write(rec: ContainerRecord): void {
    this.openFd(); // a closed handle must not write
    const target = path.join(this.dir, STATE_FILE);
    const tmp = path.join(this.dir, `.${STATE_FILE}.${process.pid}.tmp`);
    try {
      const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o600);
      try {
        fs.writeFileSync(fd, JSON.stringify(rec));
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, target);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw new RuntimeError(`write state of container ${this.id}: ${errnoMessage(err)}`, { cause: err });
    }
  }

  /** Delete the container directory and everything in it. The lock stays held until close(). */
  remove(): void {
    try {
      // It holds only files runts writes (state.json, exec.fifo, a state.json being written):
      // unlinking them by name spares loading node's recursive rm (~1 ms at every delete).
      for (const name of fs.readdirSync(this.dir)) fs.unlinkSync(path.join(this.dir, name));
      fs.rmdirSync(this.dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw new RuntimeError(`remove state of container ${this.id}: ${errnoMessage(err)}`, { cause: err });
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

export class StateStore {
  constructor(readonly root: string) {}

  /** <root>/<id>, once `id` is known to be safe as a path component. */
  containerDir(id: string): string {
    validateContainerId(id);
    return path.join(this.root, id);
  }

  /** Make <root>/<id> (and <root>) and return it locked; fails if the container exists.
   *  mkdir is the claim on the ID: of two concurrent creates exactly one succeeds. The mkdir
   *  and the lock happen under the root's claim lock, so a directory with no state.json whose
   *  lock is free is one a create killed before its first record left: it is taken over. */
  create(id: string): ContainerHandle {
    const dir = this.containerDir(id);
    try {
      fs.mkdirSync(this.root, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new RuntimeError(`create state root: ${errnoMessage(err)}${rootlessHint(err)}`, { cause: err });
    }
    return this.underClaimLock(() => {
      try {
        fs.mkdirSync(dir, { mode: 0o700 });
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw new RuntimeError(errnoMessage(err) + rootlessHint(err), { cause: err });
        if (this.removeIfAbandoned(id) !== 'removed') throw new RuntimeError(`container with given ID already exists: ${id}`);
        fs.mkdirSync(dir, { mode: 0o700 });
      }
      // mkdir's mode passes through the umask; an odd one (0177) would strip our own bits.
      fs.chmodSync(dir, 0o700);
      const handle = this.openDir(id, dir);
      try {
        handle.lock();
      } catch (err) {
        handle.close();
        throw err;
      }
      return handle;
    });
  }

  /** Remove <root>/<id> if a create was killed between its mkdir and its first record
   *  there: no state.json and no holder of its lock. 'live' when a command holds it (a create
   *  still under way), 'recorded' when it has a record, 'absent' when there is none. */
  removeAbandoned(id: string): 'removed' | 'live' | 'recorded' | 'absent' {
    return this.underClaimLock(() => this.removeIfAbandoned(id));
  }

  /** removeAbandoned, with the claim lock held: creates mkdir and lock their directory under
   *  it, so a free lock on a directory without a record means its creator is gone. */
  private removeIfAbandoned(id: string): 'removed' | 'live' | 'recorded' | 'absent' {
    let handle: ContainerHandle;
    try {
      handle = this.open(id);
    } catch (err) {
      if (err instanceof NotExistError) return 'absent';
      throw err;
    }
    try {
      if (!handle.tryLock()) return 'live';
      if (fs.existsSync(path.join(handle.dir, STATE_FILE))) return 'recorded';
      handle.remove();
      return 'removed';
    } finally {
      handle.close();
    }
  }

  /** Run `action` holding the exclusive flock on the state root, held only for a claim's
   *  mkdir and lock (or the removal of an abandoned claim). */
  private underClaimLock<T>(action: () => T): T {
    let fd: number;
    try {
      fd = fs.openSync(this.root, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return action();
      throw new RuntimeError(`open state root ${this.root}: ${errnoMessage(err)}${rootlessHint(err)}`, { cause: err });
    }
    try {
      if (!native().flock(fd, true, false)) waitForLock(`state root ${this.root}`, fd, lockTimeoutMs());
      return action();
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Open an existing container's directory; NotExistError when there is none. */
  open(id: string): ContainerHandle {
    return this.openDir(id, this.containerDir(id));
  }

  private openDir(id: string, dir: string): ContainerHandle {
    try {
      // Node opens with O_CLOEXEC: the fd never leaks into a container.
      const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
      return new ContainerHandle(id, dir, fd);
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR') || isErrno(err, 'ELOOP')) throw new NotExistError(id);
      throw new RuntimeError(errnoMessage(err), { cause: err });
    }
  }

  /** IDs of the container directories under the root, sorted; [] when the root is absent. */
  list(): string[] {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(this.root, { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw new RuntimeError(errnoMessage(err), { cause: err });
    }
    return entries
      .filter((e) => e.isDirectory() && CONTAINER_ID.test(e.name) && e.name !== '.' && e.name !== '..')
      .map((e) => e.name)
      .sort();
  }
}
