// Command output goes through here: synchronous, so it is complete before process.exit, and
// immune to a reader that went away (EPIPE is ignored, never a crash).
import { writeFdQuietly } from '../log';

export function writeStdout(text: string): void {
  writeFdQuietly(1, text);
}
