// The end of a foreground run or exec, once its process has exited: let the terminal relay
// or the stdio pipes deliver what it wrote, then give its status as a shell does.
import type { WaitStatus } from '../native';
import type { StdioRelay } from './pipes';
import type { ConsoleRelay } from './proxy';

export async function finishForeground(status: WaitStatus, relay: ConsoleRelay | null, stdio: StdioRelay | null): Promise<number> {
  if (relay) {
    // The pty master reports EOF once every slave fd is closed; a leftover holder of one
    // (a background process) must not keep us waiting.
    await Promise.race([relay.closed, new Promise((r) => setTimeout(r, 200))]);
    relay.stop();
  }
  if (stdio) {
    // Like runc: everything the process wrote is delivered before we exit.
    await stdio.drained;
    stdio.stop();
  }
  return status.signal !== undefined ? 128 + status.signal : (status.exitCode ?? 0);
}
