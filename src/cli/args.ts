// runc's command-line grammar, driven by the flag tables of command.ts: the one parser of
// global and subcommand flags. runc's is urfave/cli v1 over Go's flag package:
// - Go flags: -name and --name alike; --name=value, or the value as the next word (any
//   word, even one starting with "-"); a bool takes no separate value, only --name=false;
//   the flags end at the first word that is not a flag, or at "--" (which is dropped).
// - A subcommand's flags may also follow its positionals: urfave/cli moves the words that
//   name one of the command's flags, each with the word after it unless that is another of
//   its flags, in front of the rest before parsing (reorderArgs). An unknown flag after the
//   positionals stays a positional; everything from "--" on stays in place. Commands that
//   set SkipArgReorder (exec, ps) do not reorder: after the ID come the process's own args.
import { UsageError } from '../errors';
import type { CommandSpec, FlagSpec, FlagTable, PositionalSpec } from './command';

export const camelCase = (name: string) => name.replace(/-([a-z0-9])/g, (_all, c: string) => c.toUpperCase());

/** The flag urfave/cli gives every command. */
export const HELP_FLAG: FlagSpec = { type: 'boolean', alias: 'h', describe: 'show help' };

export type FlagValue = string | boolean | number | string[] | number[];

export interface ParsedFlags {
  /** By long name; only the flags given. */
  given: Map<string, FlagValue>;
  /** The words after the flags. */
  rest: string[];
  /** The first bad flag; `given` holds the flags before it. */
  error?: UsageError;
}

export interface ParsedCommand {
  /** The camelCased flags (with their defaults) and positionals run() receives. */
  args?: Record<string, unknown>;
  /** --help was given: show the command's help instead of running it. */
  help?: boolean;
}

/** Every name of every flag → its long name. */
function flagNames(table: FlagTable): Map<string, string> {
  const names = new Map<string, string>();
  for (const [name, spec] of Object.entries(table)) {
    names.set(name, name);
    if (spec.alias !== undefined) names.set(spec.alias, name);
  }
  return names;
}

/** The flag name a word spells, as urfave/cli's argIsFlag reads it: "--pid-file=x" →
 *  "pid-file", "-b" → "b" (two leading dashes, then one more). */
function spelledName(word: string): string {
  let body = word.startsWith('--') ? word.slice(2) : word;
  if (body.startsWith('-')) body = body.slice(1);
  return body.split('=')[0];
}

/** urfave/cli v1's reorderArgs (v1.22, as runc 1.1.5 vendors it): the command's flags, each
 *  with the word after it unless that word is itself one of the flags, first; then the other
 *  words in their order; nothing from a "--" that is not a flag's value on moves. As in runc,
 *  a bool flag also takes the next word along (`kill ID --all 9` makes 9 the first
 *  positional), and "-" is a value (`update --resources - ID`). */
export function reorderArgs(table: FlagTable, words: string[]): string[] {
  const names = flagNames(table);
  const isFlag = (word: string) => word !== '-' && word.startsWith('-') && names.has(spelledName(word));
  const flags: string[] = [];
  const rest: string[] = [];
  let valueMayFollow = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (valueMayFollow && !isFlag(word)) {
      valueMayFollow = false;
      flags.push(word);
    } else if (word === '--') {
      rest.push(...words.slice(i));
      break;
    } else if (isFlag(word)) {
      flags.push(word);
      valueMayFollow = !word.includes('=');
    } else {
      rest.push(word);
    }
  }
  return [...flags, ...rest];
}

function parseBool(flag: string, text: string): boolean {
  // strconv.ParseBool's spellings.
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(text)) return false;
  throw new UsageError(`invalid boolean value "${text}" for ${flag}: parse error`);
}

const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(text, 0, 64), as Go's int flags read their value: an optional sign, then
 *  decimal, 0x hex, 0o or leading-0 octal, or 0b binary (digit-separating underscores are
 *  not taken). */
function parseInt64(flag: string, text: string): number {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  let value: bigint | undefined;
  if (m) {
    const digits = m[2];
    const octal = /^0[0-7]+$/.test(digits) ? `0o${digits.slice(1)}` : digits;
    value = BigInt(octal) * (m[1] === '-' ? -1n : 1n);
  }
  if (value === undefined || value > INT64_MAX || value < -INT64_MAX - 1n) throw new UsageError(`invalid value "${text}" for flag ${flag}: parse error`);
  return Number(value);
}

function listOf(choices: readonly string[]): string {
  return choices.length < 2 ? choices.join('') : `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
}

/** Go's flag.Parse over `words`: the flags up to the first non-flag word (or "--"). */
export function parseFlags(table: FlagTable, words: string[]): ParsedFlags {
  const names = flagNames(table);
  const given = new Map<string, FlagValue>();
  let i = 0;
  try {
    for (; i < words.length; i++) {
      const word = words[i];
      if (word.length < 2 || word[0] !== '-') break;
      if (word === '--') {
        i++;
        break;
      }
      const dashes = word[1] === '-' ? 2 : 1;
      const body = word.slice(dashes);
      if (body === '' || body[0] === '-' || body[0] === '=') throw new UsageError(`bad flag syntax: ${word}`);
      const eq = body.indexOf('=');
      const spelled = eq < 0 ? body : body.slice(0, eq);
      const flag = word.slice(0, dashes) + spelled;
      const name = names.get(spelled);
      if (name === undefined) throw new UsageError(`flag provided but not defined: ${flag}`);
      const spec = table[name];
      let text: string | undefined = eq < 0 ? undefined : body.slice(eq + 1);
      if (spec.type === 'boolean') {
        given.set(name, text === undefined ? true : parseBool(flag, text));
        continue;
      }
      if (text === undefined) {
        if (i + 1 >= words.length) throw new UsageError(`flag needs an argument: ${flag}`);
        text = words[++i];
      }
      if (spec.choices && !spec.choices.includes(text)) throw new UsageError(`invalid ${flag} "${text}": want ${listOf(spec.choices)}`);
      if (spec.type === 'string') given.set(name, text);
      else if (spec.type === 'number') given.set(name, parseInt64(flag, text));
      else if (spec.type === 'strings') given.set(name, [...((given.get(name) as string[] | undefined) ?? []), text]);
      else given.set(name, [...((given.get(name) as number[] | undefined) ?? []), parseInt64(flag, text)]);
    }
  } catch (err) {
    return { given, rest: words.slice(i), error: err as UsageError };
  }
  return { given, rest: words.slice(i) };
}

/** A flag's value when it is not given. */
function defaultValue(spec: FlagSpec): FlagValue | undefined {
  switch (spec.type) {
    case 'boolean':
      return false;
    case 'number':
      return 0;
    case 'strings':
    case 'numbers':
      return [];
    default:
      return spec.default;
  }
}

/** The usage line of a command: "kill <container-id> [signal]", "exec <container-id> [command..]". */
export function usageLine(spec: Pick<CommandSpec, 'name' | 'positionals'>): string {
  const slot = (p: PositionalSpec) => (p.required ? `<${p.name}${p.variadic ? '..' : ''}>` : `[${p.name}${p.variadic ? '..' : ''}]`);
  return [spec.name, ...spec.positionals.map(slot)].join(' ');
}

function assignPositionals(spec: Pick<CommandSpec, 'name' | 'positionals'>, words: string[], into: Record<string, unknown>): void {
  const usageHint = `(usage: runts ${usageLine(spec)})`;
  let next = 0;
  for (const slot of spec.positionals) {
    let value: string | string[] | undefined;
    if (slot.variadic) {
      value = words.slice(next);
      next = words.length;
      if (slot.required && value.length === 0) throw new UsageError(`missing argument <${slot.name}> ${usageHint}`);
    } else if (next < words.length) {
      value = words[next++];
    } else if (slot.required) {
      throw new UsageError(`missing argument <${slot.name}> ${usageHint}`);
    } else {
      value = slot.default;
    }
    into[camelCase(slot.name)] = value;
  }
  if (next < words.length) {
    const extra = words.slice(next);
    throw new UsageError(`unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((w) => JSON.stringify(w)).join(' ')} ${usageHint}`);
  }
}

/** A subcommand's words after its name, parsed as runc parses them: flags (before, and
 *  unless the command says otherwise after, the positionals), then the positionals. */
export function parseCommandArgs(spec: CommandSpec, words: string[]): ParsedCommand {
  const table: FlagTable = { ...spec.flags, help: HELP_FLAG };
  const ordered = spec.flagsAfterPositionals === false ? words : reorderArgs(table, words);
  const { given, rest, error } = parseFlags(table, ordered);
  if (error) throw error;
  if (given.get('help')) return { help: true };
  const args: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec.flags)) args[camelCase(name)] = given.has(name) ? given.get(name) : defaultValue(flag);
  assignPositionals(spec, rest, args);
  return { args };
}
