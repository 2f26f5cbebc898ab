// The yargs parser of a subcommand's flags: --help and every input the plain-flag parser
// (plain-args.ts) leaves to it. Its own bundle (scripts/build.mjs): only those calls load yargs.
import type { Argv, PositionalOptions } from 'yargs';
import { UsageError } from '../errors';
import { assignPositionals, positionalSlots, splitFlags, type ParsedCommand } from './args';
import type { CommandSpec } from './command';

interface DeclaredOptions {
  key: Record<string, unknown>;
  boolean: string[];
  count: string[];
  number: string[];
  alias: Record<string, string[]>;
}

/** The yargs path: help, and every error and edge case of the flags. */
export function parseWithYargs(name: string, spec: CommandSpec<any>, args: string[]): ParsedCommand {
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
