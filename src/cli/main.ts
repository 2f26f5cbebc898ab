// Command-line dispatch. Global flags (before the subcommand) are parsed here by hand, so
// `--version`, the top-level help and a bad global flag never load yargs; the subcommand's
// own flags go through yargs, built for that one command only, whose module is loaded lazily.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Argv, PositionalOptions } from 'yargs';
import { errnoMessage, RuntimeError, UsageError } from '../errors';
import { configureLog, log } from '../log';
import type { CommandEntry, CommandSpec, GlobalOptions } from './command';
import { writeStdout } from './output';
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

interface ParsedCommand {
  args?: Record<string, unknown>;
  /** Help text to print instead of running. */
  helpText?: string;
}

interface PositionalSlot {
  name: string;
  required: boolean;
  variadic: boolean;
}

/** The positionals of a usage string: "kill <container-id> [signal]", "exec <id> [args..]". */
export function positionalSlots(usage: string): PositionalSlot[] {
  return usage
    .split(/\s+/)
    .slice(1)
    .map((word) => {
      const m = word.match(/^([<[])([^.\]>]+)(\.\.)?[\]>]$/);
      if (!m) throw new Error(`bad usage word "${word}" in "${usage}"`);
      return { name: m[2], required: m[1] === '<', variadic: m[3] !== undefined };
    });
}

const camelCase = (name: string) => name.replace(/-([a-z0-9])/g, (_all, c: string) => c.toUpperCase());

/** Split argv into flags and positionals like Go's flag package (and runc): flags end at the
 *  first word that is not a flag or a flag's value, or at "--". Everything after that is
 *  positional, even if it starts with "-" (exec ID sh -c ...). */
function splitFlags(args: string[], takesValue: (name: string) => boolean): { flags: string[]; positionals: string[] } {
  const flags: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const token = args[i];
    if (token === '--') {
      i++;
      break;
    }
    if (!token.startsWith('-') || token === '-') break;
    flags.push(token);
    if (!token.includes('=') && takesValue(token.replace(/^--?/, ''))) {
      if (i + 1 >= args.length) throw new UsageError(`flag needs an argument: ${token}`);
      const value = args[++i];
      // yargs reads a separate value that starts with "-" ("-" for stdin, "-1") as a flag.
      if (value.startsWith('-')) flags[flags.length - 1] = `${token}=${value}`;
      else flags.push(value);
    }
  }
  return { flags, positionals: args.slice(i) };
}

interface DeclaredOptions {
  key: Record<string, unknown>;
  boolean: string[];
  count: string[];
  number: string[];
  alias: Record<string, string[]>;
}

/** Parse a subcommand's own arguments: flags with yargs (as the builder declares them),
 *  positionals by the usage string, with the builder's .positional() defaults and types. */
export function parseCommandArgs(name: string, spec: CommandSpec<any>, args: string[]): ParsedCommand {
  // Loaded here, not at the top: --version and global-flag errors never pay for yargs.
  const yargs = require('yargs/yargs') as (args: string[]) => Argv;
  const slots = positionalSlots(spec.command);
  const positionalOptions = new Map<string, PositionalOptions>();
  let failure: Error | undefined;
  const base = yargs([])
    .scriptName(`runts ${name}`)
    .parserConfiguration({
      // Flag values stay strings unless declared as numbers.
      'parse-numbers': false,
      // runc has real flags named --no-pivot and --no-new-keyring.
      'boolean-negation': false,
      'dot-notation': false,
      // Go flags do not cluster: -fjson is not -f json.
      'short-option-groups': false,
    })
    .usage(`runts ${spec.command}\n\n${spec.describe}`)
    .help('help')
    .alias('help', 'h')
    .version(false)
    .strict()
    .wrap(null)
    .fail((msg, err) => {
      failure = err ?? new UsageError(usageMessage(msg, args));
    });
  // Positionals are assigned below, not by yargs (whose positional parsing cannot stop flag
  // parsing at the first positional); record what the builder declares about them.
  base.positional = ((key: string, opts: PositionalOptions = {}) => {
    positionalOptions.set(key, opts);
    return base;
  }) as Argv['positional'];
  const parser = spec.builder(base);
  // Public at runtime, missing from @types/yargs.
  const declared = (parser as unknown as { getOptions(): DeclaredOptions }).getOptions();
  // Flags that take a value, under every alias. An unknown flag takes none: yargs rejects it.
  const withValue = new Set(Object.keys(declared.key).filter((key) => !declared.boolean.includes(key) && !declared.count.includes(key)));
  for (const [key, aliases] of Object.entries(declared.alias)) {
    if (withValue.has(key)) for (const alias of aliases) withValue.add(alias);
  }
  const { flags, positionals } = splitFlags(args, (flag) => withValue.has(flag));

  const described = slots.filter((slot) => positionalOptions.get(slot.name)?.describe);
  if (described.length > 0) {
    const width = Math.max(...described.map((slot) => slot.name.length)) + 2;
    parser.epilogue(['Arguments:', ...described.map((slot) => `  ${slot.name.padEnd(width)}${positionalOptions.get(slot.name)?.describe}`)].join('\n'));
  }
  let result: ParsedCommand = {};
  parser.parse(flags, {}, (err, argv, output) => {
    if (failure ?? err) return;
    if ((argv as { help?: unknown }).help) result = { helpText: output.endsWith('\n') ? output : output + '\n' };
    else result = { args: { ...argv } };
  });
  if (failure) throw failure;
  // yargs turns a non-numeric value of a number flag into NaN without complaint.
  for (const key of declared.number) {
    const value = result.args?.[key];
    if (typeof value === 'number' && Number.isNaN(value)) throw new UsageError(`invalid value for flag --${key}: not a number`);
  }
  if (result.args) assignPositionals(spec.command, slots, positionalOptions, positionals, result.args);
  return result;
}

function assignPositionals(
  usage: string,
  slots: PositionalSlot[],
  options: Map<string, PositionalOptions>,
  words: string[],
  into: Record<string, unknown>,
): void {
  const usageHint = `(usage: runts ${usage})`;
  let next = 0;
  for (const slot of slots) {
    const opts = options.get(slot.name) ?? {};
    const coerce = (word: string): unknown => {
      if (opts.choices && !opts.choices.includes(word)) throw new UsageError(`invalid ${slot.name} "${word}": want one of ${opts.choices.join(', ')}`);
      if (opts.type !== 'number') return word;
      const n = Number(word);
      if (word.trim() === '' || !Number.isFinite(n)) throw new UsageError(`invalid ${slot.name} "${word}": not a number`);
      return n;
    };
    let value: unknown;
    if (slot.variadic) {
      value = words.slice(next).map(coerce);
      next = words.length;
      if (slot.required && (value as unknown[]).length === 0) throw new UsageError(`missing argument <${slot.name}> ${usageHint}`);
    } else if (next < words.length) {
      value = coerce(words[next++]);
    } else if (slot.required) {
      throw new UsageError(`missing argument <${slot.name}> ${usageHint}`);
    } else {
      value = opts.default;
    }
    into[slot.name] = value;
    into[camelCase(slot.name)] = value;
  }
  if (next < words.length) {
    const extra = words.slice(next);
    throw new UsageError(`unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((w) => JSON.stringify(w)).join(' ')} ${usageHint}`);
  }
}

/** yargs says "Unknown argument: bogus"; name the flag as it was typed. yargs only ever
 *  sees flags (positionals are split off first), so every unknown argument is a flag. */
function usageMessage(msg: string, args: string[]): string {
  const unknown = msg.match(/^Unknown arguments?: (.*)$/);
  if (!unknown) return msg;
  const flags = unknown[1].split(', ').map((name) => {
    const typed = args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`) || a === `-${name}` || a.startsWith(`-${name}=`));
    return typed ? typed.split('=')[0] : `--${name}`;
  });
  return `flag provided but not defined: ${flags.join(', ')}`;
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
