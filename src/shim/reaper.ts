// How the shim learns that a container's processes exited: it is their parent (the helper forks
// a container's init and exec processes with CLONE_PARENT) and a child subreaper, and on every
// SIGCHLD it reaps, without blocking, each process it watches. Only watched pids are waited
// for: a blanket waitpid(-1) would also take the children Node's child_process waits for
// (hooks, a logging binary).
import { native, type WaitStatus } from '../native';

export class Reaper {
  private readonly watched = new Map<number, (status: WaitStatus) => void>();
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
    this.idle();
  };

  close(): void {
    if (this.listening) process.off('SIGCHLD', this.sweep);
    this.listening = false;
    this.watched.clear();
    this.idle();
  }
}
