// How the shim learns that a container's processes exited: it is their parent (the helper forks
// a container's init and exec processes with CLONE_PARENT) and a child subreaper, and on every
// SIGCHLD it reaps, without blocking, each process it watches, and the orphans of containers
// that share its pid namespace (reparented to it as the subreaper). No blanket waitpid(-1): that
// would also take the children Node's child_process waits for (a logging binary), which libuv
// reaps in the same loop iteration that runs our SIGCHLD listener. So a zombie child nobody
// watches is reaped only once it has stayed a zombie for ORPHAN_GRACE_MS: nobody else will.
import { readdirSync, readFileSync } from 'node:fs';
import { native, type WaitStatus } from '../native';

const ORPHAN_GRACE_MS = 1000;

function readOptional(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Our children's pids, from every thread's children list (an orphan goes to any thread). */
function childPids(): number[] {
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch {
    return [];
  }
  return threads.flatMap((tid) => (readOptional(`/proc/self/task/${tid}/children`) ?? '').split(' ').filter(Boolean).map(Number));
}

export class Reaper {
  private readonly watched = new Map<number, (status: WaitStatus) => void>();
  /** Zombie children nobody watches, with when they were first seen. */
  private zombies = new Map<number, number>();
  private orphanTimer: NodeJS.Timeout | null = null;
  private listening = false;
  /** Node's signal handles do not keep the event loop alive; a pending exit must. */
  private keepAlive: NodeJS.Timeout | null = null;

  constructor() {
    native().setChildSubreaper();
  }

  /** Call `onExit` once `pid` (our child) has exited, with its status; it is reaped then. */
  watch(pid: number, onExit: (status: WaitStatus) => void): void {
    this.watched.set(pid, onExit);
    if (!this.listening) {
      process.on('SIGCHLD', this.sweep);
      this.listening = true;
    }
    this.keepAlive ??= setInterval(this.sweep, 60_000);
    // It may have exited before it was watched: its SIGCHLD came and went.
    this.sweep();
  }

  private idle(): void {
    if (this.watched.size > 0 || !this.keepAlive) return;
    clearInterval(this.keepAlive);
    this.keepAlive = null;
  }

  private readonly sweep = (): void => {
    for (const [pid, onExit] of [...this.watched]) {
      let status: WaitStatus | null;
      try {
        status = native().waitPidNoHang(pid);
      } catch (err) {
        // ECHILD: not (or no longer) our child; nothing will ever tell us its status.
        if ((err as NodeJS.ErrnoException).code !== 'ECHILD') throw err;
        status = { exitCode: 255 };
      }
      if (status === null) continue;
      this.watched.delete(pid);
      onExit(status);
    }
    this.reapOrphans();
    this.idle();
  };

  /** Reap the zombie children left a zombie since an earlier sweep, ORPHAN_GRACE_MS ago. */
  private reapOrphans(): void {
    const now = Date.now();
    const zombies = new Map<number, number>();
    for (const pid of childPids()) {
      if (this.watched.has(pid) || !/\) Z /.test(readOptional(`/proc/${pid}/stat`) ?? '')) continue;
      const since = this.zombies.get(pid) ?? now;
      if (now - since < ORPHAN_GRACE_MS) {
        zombies.set(pid, since);
        continue;
      }
      try {
        native().waitPidNoHang(pid);
      } catch {
        // reaped meanwhile
      }
    }
    this.zombies = zombies;
    // Look again once the grace is over, even if no SIGCHLD comes.
    if (zombies.size > 0 && !this.orphanTimer) {
      this.orphanTimer = setTimeout(() => {
        this.orphanTimer = null;
        this.sweep();
      }, ORPHAN_GRACE_MS);
      this.orphanTimer.unref();
    }
  }

  close(): void {
    if (this.listening) process.off('SIGCHLD', this.sweep);
    this.listening = false;
    this.watched.clear();
    this.zombies.clear();
    if (this.orphanTimer) clearTimeout(this.orphanTimer);
    this.orphanTimer = null;
    this.idle();
  }
}
