// The shape of one subcommand. Each src/commands/<name>.ts does
// `export default defineCommand({...})`; src/cli.ts lists them and loads only the one invoked.
import type { Argv, ArgumentsCamelCase } from 'yargs';

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

export interface CommandSpec<A> {
  /** Usage in yargs syntax, name first: "state <container-id>", "kill <container-id> [signal]". */
  command: string;
  describe: string;
  /** Declares the command's flags and positionals; its parse result is `A`. */
  builder(y: Argv): Argv<A>;
  /** Returns the exit code (undefined = 0). A thrown error is logged and exits with 1, or
   *  with the `exitCode` of a RuntimeError. */
  run(args: CommandArgs<A>): Promise<number | void> | number | void;
}

/** What run() receives: the command's flags and positionals under their declared names and
 *  camelCase ("pid-file" → pidFile, "container-id" → containerId), plus the global options.
 *  A command flag named like a global one (spec --rootless) shadows it. */
export type CommandArgs<A> = ArgumentsCamelCase<A> & Omit<GlobalOptions, keyof A & string>;

/** Identity helper that lets TypeScript infer `A` from the builder. */
export function defineCommand<A>(spec: CommandSpec<A>): CommandSpec<A> {
  return spec;
}

/** What src/cli.ts lists per subcommand: enough for the top-level help without loading it. */
export interface CommandEntry {
  name: string;
  describe: string;
  load(): { default: CommandSpec<any> };
}
