// The shape of one subcommand, as data: its flags and positional arguments are declared once
// here and drive the parser (args.ts, every call), the help text (help.ts, through yargs) and
// anything else that needs to know the command line (a coming `validate`/`explain`).
// Each src/commands/<name>.ts does `export default defineCommand({...})`; src/cli.ts lists
// them and loads only the one invoked.

/** The global flags, given before the subcommand. */
export interface GlobalOptions {
  /** Directory holding one state directory per container. */
  root: string;
  /** --log FILE: append log lines there instead of stderr. */
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  /** --rootless true|false|auto, as given (undefined = auto). */
  rootless?: string;
}

/** What a flag takes, as urfave/cli's flag kinds: a bool (no value), a string, an int, or a
 *  repeatable string or int (each use adds one). */
export type FlagType = 'boolean' | 'string' | 'number' | 'strings' | 'numbers';

export interface FlagSpec {
  type: FlagType;
  /** Other names (runc's "bundle, b"): each works with one or two dashes, as in Go. */
  alias?: string;
  /** Only strings take one: a bool defaults to false, an int to 0, a repeatable flag to []. */
  default?: string;
  /** The only values a string flag takes. */
  choices?: readonly string[];
  describe: string;
}

/** Flags by their long name ("pid-file"). */
export type FlagTable = Record<string, FlagSpec>;

export interface PositionalSpec {
  /** Its name in the usage ("container-id"); run() gets it camelCased. */
  name: string;
  /** Missing is a usage error. */
  required?: boolean;
  /** Takes every remaining word (exec's command, ps's options). */
  variadic?: boolean;
  default?: string;
  describe?: string;
}

export interface CommandSpec<F extends FlagTable = FlagTable, P extends readonly PositionalSpec[] = readonly PositionalSpec[]> {
  name: string;
  describe: string;
  flags: F;
  positionals: P;
  /** false: flags end at the first positional, as runc's SkipArgReorder commands (exec, ps):
   *  what follows the ID is the process's or ps's own arguments. Otherwise flags may also
   *  follow the positionals (runc reorders them in front). */
  flagsAfterPositionals?: boolean;
  /** Returns the exit code (undefined = 0). A thrown error is logged and exits with 1, or
   *  with the `exitCode` of a RuntimeError. */
  run(args: CommandArgs<F, P>): Promise<number | void> | number | void;
}

/** "pid-file" → "pidFile". */
export type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

type FlagValue<S extends FlagSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['type'] extends 'number'
    ? number
    : S['type'] extends 'strings'
      ? string[]
      : S['type'] extends 'numbers'
        ? number[]
        : S extends { default: string }
          ? string
          : string | undefined;

type PositionalValue<S extends PositionalSpec> = S extends { variadic: true }
  ? string[]
  : S extends { required: true }
    ? string
    : S extends { default: string }
      ? string
      : string | undefined;

export type FlagValues<F extends FlagTable> = { [K in keyof F & string as CamelCase<K>]: FlagValue<F[K]> };
export type PositionalValues<P extends readonly PositionalSpec[]> = { [S in P[number] as CamelCase<S['name']>]: PositionalValue<S> };

/** What run() receives: the command's flags and positionals camelCased ("pid-file" → pidFile,
 *  "container-id" → containerId), plus the global options. A command flag named like a
 *  global one (spec --rootless) shadows it. */
export type CommandArgs<F extends FlagTable, P extends readonly PositionalSpec[]> = FlagValues<F> &
  PositionalValues<P> &
  Omit<GlobalOptions, keyof FlagValues<F>>;

/** Identity helper that lets TypeScript infer the flag and positional tables. */
export function defineCommand<const F extends FlagTable, const P extends readonly PositionalSpec[]>(spec: CommandSpec<F, P>): CommandSpec<F, P> {
  return spec;
}

/** What src/cli.ts lists per subcommand: enough for the top-level help without loading it. */
export interface CommandEntry {
  name: string;
  describe: string;
  load(): { default: CommandSpec<any, any> };
}
