// Command-line dispatch. Global flags (before the subcommand) and the subcommand's own are
// parsed by the one grammar of args.ts from their flag tables, so `--version`, the top-level
// help and every ordinary call never load yargs; the subcommand's module is loaded lazily,
// and yargs (help.ts) only renders a command's --help.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoMessage, RuntimeError, UsageError } from '../errors';
import { configureLog, log } from '../log';
import { HELP_FLAG, parseCommandArgs, parseFlags } from './args';
import type { CommandEntry, FlagTable, GlobalOptions } from './command';
import { writeStdout } from './output';
import { versionText } from './version';

/** runc's global flags (runts has no --criu). */
export const GLOBAL_FLAGS = {
  root: { type: 'string', describe: 'root directory for storage of container state (default: /run/runts, or $XDG_RUNTIME_DIR/runts for a non-root user)' },
  log: { type: 'string', describe: 'append log lines to this file instead of stderr' },
  'log-format': { type: 'string', choices: ['text', 'json'], describe: "log format: 'text' (default) or 'json'" },
  debug: { type: 'boolean', describe: 'enable debug logging' },
  'systemd-cgroup': { type: 'boolean', describe: 'manage cgroups through systemd (cgroupsPath "slice:prefix:name")' },
  rootless: { type: 'string', choices: ['true', 'false', 'auto'], describe: "ignore cgroup permission errors: 'true', 'false' or 'auto' (default)" },
  help: HELP_FLAG,
  version: { type: 'boolean', alias: 'v', describe: 'print the version' },
} satisfies FlagTable;

/** The default --root of root (and of a user without XDG_RUNTIME_DIR, as runc's /run/runc). */
const SYSTEM_ROOT = '/run/runts';

/** The default --root: a non-root user gets one under $XDG_RUNTIME_DIR, like runc. */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env, euid = process.geteuid?.() ?? 0): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (euid !== 0 && xdg) return path.join(xdg, 'runts');
  return SYSTEM_ROOT;
}

export interface ParsedGlobals {
  options: GlobalOptions;
  help: boolean;
  version: boolean;
  /** The subcommand and everything after it. */
  rest: string[];
  /** A bad global flag; `options` holds the flags before it. */
  error?: UsageError;
  /** --root was not given and the default lies under $XDG_RUNTIME_DIR. */
  xdgRoot: boolean;
}

/** runc keeps its XDG root 0700 with the sticky bit: the session's cleanup of
 *  $XDG_RUNTIME_DIR must not prune state it has not seen touched for a while. */
function prepareXdgRoot(root: string): void {
  try {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    fs.chmodSync(root, 0o1700);
  } catch (err) {
    throw new RuntimeError(`the path in $XDG_RUNTIME_DIR must be writable by the user: ${errnoMessage(err)}`);
  }
}

/** Parse the global flags up to the first non-flag word (the subcommand). A bad flag stops
 *  the parse and is returned as `error`, with the flags before it already applied. */
export function parseGlobals(argv: string[]): ParsedGlobals {
  const { given, rest, error } = parseFlags(GLOBAL_FLAGS, argv);
  const root = given.get('root') as string | undefined;
  const fallback = defaultRoot();
  const options: GlobalOptions = {
    root: path.resolve(root ?? fallback),
    logFormat: (given.get('log-format') as GlobalOptions['logFormat'] | undefined) ?? 'text',
    debug: given.get('debug') === true,
    systemdCgroup: given.get('systemd-cgroup') === true,
  };
  if (given.has('log')) options.log = given.get('log') as string;
  if (given.has('rootless')) options.rootless = given.get('rootless') as string;
  return {
    options,
    help: given.get('help') === true,
    version: given.get('version') === true,
    rest,
    error,
    xdgRoot: root === undefined && fallback !== SYSTEM_ROOT,
  };
}

function topLevelHelp(commands: CommandEntry[]): string {
  const nameWidth = Math.max(...commands.map((c) => c.name.length)) + 2;
  const flags = Object.entries(GLOBAL_FLAGS as FlagTable).map(([name, f]) => ({
    text: `--${name}${f.type === 'boolean' ? '' : ' value'}${f.alias ? `, -${f.alias}` : ''}`,
    describe: f.describe,
  }));
  const flagWidth = Math.max(...flags.map((f) => f.text.length)) + 2;
  return [
    'runts - an OCI container runtime (runc-compatible command line)',
    '',
    'Usage: runts [global options] command [command options] [arguments...]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(nameWidth)}${c.describe}`),
    '',
    'Global options:',
    ...flags.map((f) => `  ${f.text.padEnd(flagWidth)}${f.describe}`),
    '',
    "Run 'runts COMMAND --help' for a command's options.",
    '',
  ].join('\n');
}

/** Run the command line; resolves to the process exit code. */
export async function runCli(argv: string[], commands: CommandEntry[]): Promise<number> {
  const globals = parseGlobals(argv);
  const { options } = globals;
  // Configured even when a later global flag is bad, so that error reaches --log too.
  configureLog({ file: options.log, format: options.logFormat, debug: options.debug });
  try {
    if (globals.error) throw globals.error;
    if (globals.version) {
      writeStdout(versionText());
      return 0;
    }
    const [first, ...afterFirst] = globals.rest;
    // `runts help state` is `runts state --help`; `runts help` is `runts --help`.
    const name = first === 'help' ? afterFirst[0] : first;
    const rest = first === 'help' ? ['--help'] : afterFirst;
    if (globals.help || name === undefined) {
      writeStdout(topLevelHelp(commands));
      return 0;
    }
    const entry = commands.find((c) => c.name === name);
    if (!entry) throw new UsageError(`unknown command "${name}" (see runts --help)`);
    if (globals.xdgRoot) prepareXdgRoot(options.root);
    const spec = entry.load().default;
    const parsed = parseCommandArgs(spec, rest);
    if (parsed.help) {
      // Loaded only here: no other call pays for yargs.
      writeStdout((require('./help') as typeof import('./help')).commandHelp(spec));
      return 0;
    }
    const code = await spec.run({ ...options, ...parsed.args } as never);
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    log.error(errnoMessage(err));
    if (options.debug && err instanceof Error && err.stack) log.debug(err.stack);
    return err instanceof RuntimeError ? err.exitCode : 1;
  }
}
