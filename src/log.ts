// The runtime's logger, behaving like runc 1.1 (logrus): with --log FILE, lines are appended
// to FILE in the --log-format (callers parse the last "level":"error" JSON line) and an
// error is ALSO printed to stderr as plain text; without --log, lines go to stderr in the
// chosen format. Nothing is written on success. Writes are synchronous and swallow every
// write error: podman may close our stderr before we exit (EPIPE must not crash us).
import * as fs from 'node:fs';

export type LogFormat = 'text' | 'json';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface LogConfig {
  /** Append log lines here instead of stderr. */
  file?: string;
  format: LogFormat;
  /** Also emit debug lines. */
  debug: boolean;
}

// logrus level names, which is what callers' log parsers expect ("warning", not "warn").
const levelName: Record<LogLevel, string> = { error: 'error', warn: 'warning', info: 'info', debug: 'debug' };

let config: LogConfig = { format: 'text', debug: false };

export function configureLog(next: LogConfig): void {
  config = { ...next };
}

/** RFC 3339 in UTC with whole seconds, as logrus prints it: 2026-11-28T06:29:54Z */
export function rfc3339Seconds(time: Date): string {
  return time.toISOString().replace(/\.\d+Z$/, 'Z');
}

// logrus' text formatter leaves a value bare only when it is made of these characters.
const BARE_VALUE = /^[A-Za-z0-9\-._/@^+]+$/;

/** A Go %q-style quoted string: JSON escapes, except control bytes as \xNN. */
function goQuote(value: string): string {
  return JSON.stringify(value).replace(/\\u00([0-1][0-9a-f])/g, (_all, hex: string) => {
    const code = parseInt(hex, 16);
    return code === 0x7f || code < 0x20 ? `\\x${hex}` : _all;
  });
}

function textValue(value: string): string {
  return BARE_VALUE.test(value) ? value : goQuote(value);
}

/** One log line (without the newline) in the given format. */
export function formatLogLine(level: LogLevel, msg: string, time: Date, format: LogFormat): string {
  const stamp = rfc3339Seconds(time);
  if (format === 'json') {
    // Keys sorted like Go's encoding of a map; containerd decodes level, msg and time.
    return JSON.stringify({ level: levelName[level], msg, time: stamp });
  }
  return `time=${textValue(stamp)} level=${levelName[level]} msg=${textValue(msg)}`;
}

/** Write all of `text` to fd, retrying short writes and EAGAIN; give up silently on errors. */
export function writeFdQuietly(fd: number, text: string): void {
  let buf = Buffer.from(text);
  let spins = 0;
  while (buf.length > 0) {
    try {
      const written = fs.writeSync(fd, buf);
      buf = buf.subarray(written);
    } catch (err) {
      // A non-blocking pipe that is full: retry a bounded number of times.
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && spins++ < 1000) continue;
      return;
    }
  }
}

function appendToFile(file: string, line: string): boolean {
  try {
    fs.appendFileSync(file, line, { mode: 0o644 });
    return true;
  } catch {
    return false;
  }
}

/** While set (captureWarnings), warnings go here instead of to the log. */
let capturedWarnings: string[] | undefined;

/** Runs `action` with its warnings collected into `into` instead of logged: `runts validate`
 *  reports create's own warnings, through the code that makes them. */
export function captureWarnings<T>(into: string[], action: () => T): T {
  const outer = capturedWarnings;
  capturedWarnings = into;
  try {
    return action();
  } finally {
    capturedWarnings = outer;
  }
}

function emit(level: LogLevel, msg: string): void {
  if (level === 'warn' && capturedWarnings) {
    capturedWarnings.push(msg);
    return;
  }
  if (level === 'debug' && !config.debug) return;
  const line = formatLogLine(level, msg, new Date(), config.format) + '\n';
  if (config.file !== undefined) {
    const logged = appendToFile(config.file, line);
    // runc prints a fatal error to stderr as plain text as well, for humans and conmon.
    if (level === 'error') writeFdQuietly(2, msg + '\n');
    // The log file is unusable: do not lose the message.
    else if (!logged) writeFdQuietly(2, line);
    return;
  }
  writeFdQuietly(2, line);
}

export const log = {
  error: (msg: string): void => emit('error', msg),
  warn: (msg: string): void => emit('warn', msg),
  info: (msg: string): void => emit('info', msg),
  debug: (msg: string): void => emit('debug', msg),
};
