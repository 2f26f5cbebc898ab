// The error type and options shared by the schema validation (validate.ts) and the
// semantic checks (semantic.ts).

/** One finding about a document: where (a JSON pointer, "" for the root) and what. */
export interface SpecProblem {
  pointer: string;
  message: string;
}

/** A config.json (or state JSON) that cannot be used; the message names file, JSON pointer and rule. */
export class SpecError extends Error {
  override name = 'SpecError';

  /** The pointer and rule apart, where the thrower knew them (`runts validate` reports them so). */
  declare readonly problem?: SpecProblem;

  constructor(message: string, problem?: SpecProblem) {
    super(message);
    // Not enumerable: a SpecError compares and prints as its message alone, as before.
    if (problem) Object.defineProperty(this, 'problem', { value: problem, enumerable: false });
  }
}

export interface ValidateOptions {
  /** Name of the document in messages, e.g. "config.json". */
  file: string;
  /** The --console-socket path, when one was given. */
  consoleSocket?: string;
  /** True for `create` and `run --detach`: runts exits while the container lives on. */
  detached: boolean;
}

/** `<file>: <pointer>: <message>`, or `<file>: <message>` for the document root. */
export function specErrorMessage(file: string, pointer: string, message: string): string {
  return pointer === '' ? `${file}: ${message}` : `${file}: ${pointer}: ${message}`;
}

/** Escapes one JSON pointer reference token (RFC 6901). */
export function pointerToken(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** runc-style `<syscall> <path>: <errno text>`, e.g. "open /b/config.json: no such file or directory". */
export function describeFsError(err: unknown, path: string, fallbackSyscall: string): string {
  const { syscall, code, message } = err as NodeJS.ErrnoException;
  // Node's message reads "ENOENT: no such file or directory, open '/b/config.json'".
  const errnoText = /^[A-Z0-9]+: (.*?), /.exec(message)?.[1] ?? code ?? message;
  return `${syscall ?? fallbackSyscall} ${path}: ${errnoText}`;
}
