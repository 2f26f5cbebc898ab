// Signal arguments as runc takes them (a number, a name, or a SIG-prefixed name), and the
// signals a foreground run or exec passes on to its process.
import { constants } from 'node:os';
import { UsageError } from '../errors';

const SIGNALS = constants.signals as Readonly<Record<string, number>>;

export function parseSignal(arg: string | number | undefined): number {
  if (arg === undefined || arg === '') return SIGNALS.SIGTERM;
  // Taken as given, like runc (strconv.Atoi or a name): " 9" is no signal.
  const text = String(arg);
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
    throw new UsageError(`invalid signal: ${text}`);
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const n = name.startsWith('SIGRTMIN') ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[1] ?? 0);
    if (n >= 34 && n <= 64) return n;
  }
  const n = SIGNALS[name];
  if (n === undefined) throw new UsageError(`unknown signal "${text}"`);
  return n;
}

// What a foreground run or exec passes on, as runc does: SIGCHLD, SIGPIPE and the
// uncatchable ones excluded; SIGWINCH becomes a pty resize instead (console/proxy.ts).
const FORWARDED: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU'];

/** Hand every forwarded signal we receive to `deliver` (as its number) until the returned
 *  function is called. Caught, they also neither end runts (SIGTERM) nor start Node's
 *  inspector (SIGUSR1). */
export function forwardSignals(deliver: (signo: number) => void): () => void {
  const handler = (signal: NodeJS.Signals): void => deliver(SIGNALS[signal]);
  for (const s of FORWARDED) process.on(s, handler);
  return () => {
    for (const s of FORWARDED) process.off(s, handler);
  };
}
