// The end of a foreground run or exec: wait for its process while relaying its stdio pipes
// (or its terminal), then give its status as a shell does.
import { native, type WaitStatus } from '../native';
import { waitAtMost } from '../wait';
import type { StdioPipes } from './pipes';
import type { ConsoleRelay } from './proxy';

/** 128+N for signal N, else the exit code. */
export function shellStatus(status: WaitStatus): number {
  return status.signal !== undefined ? 128 + status.signal : (status.exitCode ?? 0);
}

/** Waits for `pid` (our child) with its stdio relayed: through `pipes`, or its terminal `relay`. */
export async function finishForeground(pid: number, relay: ConsoleRelay | null, pipes: StdioPipes | null): Promise<number> {
  // Like runc: everything the process wrote is delivered before we exit.
  const status = pipes ? await pipes.relayUntilExit(pid) : await native().waitPidAsync(pid);
  if (relay) {
    // The pty master reports EOF once every slave fd is closed; a leftover holder of one
    // (a background process) must not keep us waiting.
    await waitAtMost(relay.closed, 200);
    relay.stop();
  }
  return shellStatus(status);
}
