// Error types every command throws, and the translation of Node's errors into the
// Go-style text runc prints ("open /x/config.json: no such file or directory"). Callers
// classify failures by these words (podman: "no such file or directory" → 127,
// "permission denied" → 126; containerd: "does not exist" → NotFound), so keep them.

/** `text` quoted for a message, its first 80 characters only when longer (the fuzzer's
 *  configs carry strings of thousands). */
export function quotedShort(text: string): string {
  return text.length > 80 ? `${JSON.stringify(text.slice(0, 80))}… (${text.length} characters)` : JSON.stringify(text);
}

/** A failure to report: logged, then the process exits with `exitCode` (1 by default). */
export class RuntimeError extends Error {
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 1;
  }
}

/**
 * A failure of the engine the caller can act on (a config the plan cannot carry out, a host
 * that lacks what it needs, the init's report of a failed syscall), as opposed to a bug.
 * Not a RuntimeError itself: the engine's callers (create, exec, the shim) decide the wording.
 */
export class EngineError extends Error {}

/** The container has no state directory. The wording is runc's, which callers match. */
export class NotExistError extends RuntimeError {
  constructor(readonly id: string) {
    super('container does not exist');
  }
}

/** Bad command line: unknown flag, missing or extra argument, bad flag value. */
export class UsageError extends RuntimeError {}

// Go's errno text (glibc strerror, lower-cased). Node's own text differs for some codes and
// is missing from some errors (spawn: "spawnSync /x ENOENT"), so the common ones are listed.
const goErrnoText: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EINVAL: 'invalid argument',
  ENAMETOOLONG: 'file name too long',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EBADF: 'bad file descriptor',
  EMFILE: 'too many open files',
  ENODEV: 'no such device',
  EPIPE: 'broken pipe',
  E2BIG: 'argument list too long',
  ETXTBSY: 'text file busy',
  EFAULT: 'bad address',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ENOTCONN: 'transport endpoint is not connected',
  EEXIST: 'file exists',
  EAGAIN: 'resource temporarily unavailable',
  EINTR: 'interrupted system call',
  EIO: 'input/output error',
  ENOMEM: 'cannot allocate memory',
  ENOSYS: 'function not implemented',
  EOPNOTSUPP: 'operation not supported',
  ENOTSUP: 'operation not supported',
  ENOTTY: 'inappropriate ioctl for device',
  ELOOP: 'too many levels of symbolic links',
  EXDEV: 'invalid cross-device link',
  ENOTEMPTY: 'directory not empty',
  ESRCH: 'no such process',
  ECHILD: 'no child processes',
  ENOEXEC: 'exec format error',
  EBUSY: 'device or resource busy',
  ENXIO: 'no such device or address',
  ETIMEDOUT: 'connection timed out',
  EDQUOT: 'disk quota exceeded',
  EMLINK: 'too many links',
  ESPIPE: 'illegal seek',
  ENOTSOCK: 'socket operation on non-socket',
  EADDRINUSE: 'address already in use',
};

interface NodeSystemError extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  dest?: string;
}

/** The errno text alone ("no such file or directory") for a Node system error code. */
export function errnoText(code: string, nodeMessage?: string): string {
  const known = goErrnoText[code];
  if (known) return known;
  // libuv: "ENOENT: no such file or directory, open '/x'" → "no such file or directory"
  const match = nodeMessage?.match(/^[A-Z0-9]+: ([^,]+)/);
  if (match) return match[1];
  return code;
}

/** Go-style text for any thrown value: `<syscall> <path>[ <dest>]: <errno text>`. */
export function errnoMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const sys = err as NodeSystemError;
  if (typeof sys.code !== 'string' || !/^E[A-Z0-9]+$/.test(sys.code) || typeof sys.errno !== 'number') {
    return err.message;
  }
  const text = errnoText(sys.code, err.message);
  // Node names directory reads "scandir"; Go opens the directory.
  const syscall = sys.syscall === 'scandir' || sys.syscall === 'opendir' ? 'open' : sys.syscall;
  // child_process names the file in the syscall itself ("spawn /bin/x").
  const path = syscall?.endsWith(` ${sys.path}`) ? undefined : sys.path;
  const subject = [syscall, path, sys.dest].filter((part) => part !== undefined && part !== '').join(' ');
  return subject ? `${subject}: ${text}` : text;
}
