// Command-line dispatch. Global flags (before the subcommand) are parsed here by hand, so
// `--version`, the top-level help and a bad global flag never load yargs; the subcommand's
// module is loaded lazily, and its flags go through yargs (built for that one command only)
// only when they are more than plain flags (plain-args.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoMessage, RuntimeError, UsageError } from '../errors';
import { configureLog, log } from '../log';
import { assignPositionals, positionalSlots, splitFlags, type ParsedCommand } from './args';
import type { CommandEntry, CommandSpec, GlobalOptions } from './command';
import { writeStdout } from './output';
import { parsePlainFlags, recordDeclarations, spelledNames } from './plain-args';
import { versionText } from './version';

type GlobalFlag = { name: string; takesValue: boolean; help: string };

const globalFlags: GlobalFlag[] = [
  { name: 'root', takesValue: true, help: 'root directory for storage of container state (default: /run/runts, or $XDG_RUNTIME_DIR/runts for a non-root user)' },
  { name: 'log', takesValue: true, help: 'append log lines to this file instead of stderr' },
  { name: 'log-format', takesValue: true, help: "log format: 'text' (default) or 'json'" },
  { name: 'debug', takesValue: false, help: 'enable debug logging' },
  { name: 'systemd-cgroup', takesValue: false, help: 'manage cgroups through systemd (cgroupsPath "slice:prefix:name")' },
  { name: 'rootless', takesValue: true, help: "ignore cgroup permission errors: 'true', 'false' or 'auto' (default)" },
  { name: 'help', takesValue: false, help: 'show help' },
  { name: 'version', takesValue: false, help: 'print the version' },
];
const shortGlobalFlags: Record<string, string> = { h: 'help', v: 'version' };

/** The default --root of root (and of a user without XDG_RUNTIME_DIR, as runc's /run/runc). */
const SYSTEM_ROOT = '/run/runts';

/** The default --root: a non-root user gets one under $XDG_RUNTIME_DIR, like runc. */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env, euid = process.geteuid?.() ?? 0): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (euid !== 0 && xdg) return path.join(xdg, 'runts');
  return SYSTEM_ROOT;
}

function parseBool(flag: string, value: string): boolean {
  // Go's flag package accepts these spellings for --flag=value.
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new UsageError(`invalid boolean value "${value}" for flag --${flag}`);
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
  const options: GlobalOptions = { root: '', logFormat: 'text', debug: false, systemdCgroup: false };
  let root: string | undefined;
  let help = false;
  let version = false;
  let error: UsageError | undefined;
  let i = 0;
  const apply = (token: string): void => {
    // Go's flag package takes -name and --name alike.
    const body = token.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const rawName = eq < 0 ? body : body.slice(0, eq);
    const name = shortGlobalFlags[rawName] ?? rawName;
    const flag = globalFlags.find((f) => f.name === name);
    if (!flag) throw new UsageError(`flag provided but not defined: ${token.split('=')[0]}`);
    let value: string | undefined = eq < 0 ? undefined : body.slice(eq + 1);
    if (flag.takesValue && value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
      value = argv[++i];
    }
    const on = flag.takesValue || value === undefined ? true : parseBool(name, value);
    switch (name) {
      case 'root':
        root = value;
        break;
      case 'log':
        options.log = value;
        break;
      case 'log-format':
        if (value !== 'text' && value !== 'json') throw new UsageError(`invalid --log-format "${value}": want text or json`);
        options.logFormat = value;
        break;
      case 'rootless':
        if (value !== 'true' && value !== 'false' && value !== 'auto') {
          throw new UsageError(`invalid --rootless "${value}": want true, false or auto`);
        }
        options.rootless = value;
        break;
      case 'debug':
        options.debug = on;
        break;
      case 'systemd-cgroup':
        options.systemdCgroup = on;
        break;
      case 'help':
        help = on;
        break;
      case 'version':
        version = on;
        break;
    }
  };
  for (; i < argv.length; i++) {
    const token = argv[i];
    if (!token.startsWith('-') || token === '-') break;
    try {
      apply(token);
    } catch (err) {
      error = err as UsageError;
      break;
    }
  }
  const fallback = defaultRoot();
  options.root = path.resolve(root ?? fallback);
  return { options, help, version, rest: argv.slice(i), error, xdgRoot: root === undefined && fallback !== SYSTEM_ROOT };
}

function topLevelHelp(commands: CommandEntry[]): string {
  const nameWidth = Math.max(...commands.map((c) => c.name.length)) + 2;
  const flagText = (f: GlobalFlag) => `--${f.name}${f.takesValue ? ' value' : ''}` + (f.name === 'help' ? ', -h' : f.name === 'version' ? ', -v' : '');
  const flagWidth = Math.max(...globalFlags.map((f) => flagText(f).length)) + 2;
  return [
    'runts - an OCI container runtime (runc-compatible command line)',
    '',
    'Usage: runts [global options] command [command options] [arguments...]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(nameWidth)}${c.describe}`),
    '',
    'Global options:',
    ...globalFlags.map((f) => `  ${flagText(f).padEnd(flagWidth)}${f.help}`),
    '',
    "Run 'runts COMMAND --help' for a command's options.",
    '',
  ].join('\n');
}

/** Parse a subcommand's own arguments: flags as the builder declares them, positionals by
 *  the usage string, with the builder's .positional() defaults and types. Plain flags are
 *  parsed without yargs; anything else, and --help, goes through yargs. */
export function parseCommandArgs(name: string, spec: CommandSpec<any>, args: string[]): ParsedCommand {
  const declared = recordDeclarations(spec);
  const withValue = new Set<string>();
  for (const [key, opts] of declared.options) if (opts.type !== 'boolean' && !opts.count) for (const flag of spelledNames(key, opts)) withValue.add(flag);
  const { flags, positionals } = splitFlags(args, (flag) => withValue.has(flag));
  const plain = parsePlainFlags(name, declared, flags);
  // Loaded only here: most calls never pay for yargs.
  if (!plain) return (require('./yargs-args') as typeof import('./yargs-args')).parseWithYargs(name, spec, args);
  assignPositionals(spec.command, positionalSlots(spec.command), declared.positionals, positionals, plain);
  return { args: plain };
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
    const parsed = parseCommandArgs(name, spec, rest);
    if (parsed.helpText !== undefined) {
      writeStdout(parsed.helpText);
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
