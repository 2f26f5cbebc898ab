// A subcommand's flags in the plain case, without loading yargs (about 20 ms of start-up
// that `state`, `start`, `delete` and `create` would otherwise pay on every call). The
// builder's declarations are recorded instead of built into a yargs parser; whenever the
// arguments or the declarations hold anything beyond the plain case (help, an unknown or
// repeated flag, a boolean given a value, a number that is not a plain integer, a flag
// property other than alias/type/default/array/describe), the caller falls back to yargs,
// so every error and edge case keeps yargs' behaviour. test/cli/plain-args.test.ts checks
// that both give the same result on every input this parser accepts.
import type { Argv, Options, PositionalOptions } from 'yargs';
import { camelCase } from './args';
import type { CommandSpec } from './command';

/** What a builder declares: its flags and the options of its positionals. */
export interface Declarations {
  options: Map<string, Options>;
  positionals: Map<string, PositionalOptions>;
  /** The builder called something other than option() and positional(). */
  unsupported: boolean;
}

/** Run the builder against a recorder instead of yargs. */
export function recordDeclarations(spec: CommandSpec<unknown>): Declarations {
  const declared: Declarations = { options: new Map(), positionals: new Map(), unsupported: false };
  const recorder: Argv = new Proxy({} as Argv, {
    get: (_target, method) => (key: string, opts: Options = {}) => {
      if (method === 'option') declared.options.set(key, opts);
      else if (method === 'positional') declared.positionals.set(key, opts as PositionalOptions);
      else declared.unsupported = true;
      return recorder;
    },
  });
  spec.builder(recorder);
  return declared;
}

const PLAIN_PROPERTIES = new Set(['alias', 'type', 'default', 'array', 'describe']);

/** A flag's name and its aliases. */
export function spelledNames(name: string, opts: Options): string[] {
  return [name, ...(opts.alias === undefined ? [] : Array.isArray(opts.alias) ? opts.alias : [opts.alias])];
}

/** Every name yargs files a flag's value under (and accepts it as): the flag, its aliases
 *  and their camelCase forms. */
export function flagNames(name: string, opts: Options): string[] {
  const names = spelledNames(name, opts);
  return [...new Set([...names, ...names.map(camelCase)])];
}

function isPlain(opts: Options): boolean {
  if (!Object.keys(opts).every((key) => PLAIN_PROPERTIES.has(key))) return false;
  if (opts.type !== 'string' && opts.type !== 'boolean' && opts.type !== 'number') return false;
  return !opts.array || opts.type === 'string';
}

/**
 * The parsed flags as yargs would give them (`_`, `$0`, every key of every flag), or
 * undefined when yargs must parse them. `flags` holds only flags and their values
 * (positionals are split off before).
 */
export function parsePlainFlags(name: string, declared: Declarations, flags: string[]): Record<string, unknown> | undefined {
  if (declared.unsupported) return undefined;
  const byName = new Map<string, string>();
  for (const [key, opts] of declared.options) {
    if (!isPlain(opts)) return undefined;
    for (const alias of flagNames(key, opts)) byName.set(alias, key);
  }
  const given = new Map<string, unknown>();
  for (let i = 0; i < flags.length; i++) {
    // --name, --name=value, and single-letter aliases as -n / -n=value.
    const m = /^(?:--([^-=][^=]*)|-([^-=]))(?:=([^]*))?$/.exec(flags[i]);
    const flag = m && (m[1] ?? m[2]);
    const key = flag ? byName.get(flag) : undefined;
    if (!m || !key) return undefined;
    const opts = declared.options.get(key)!;
    let value: unknown;
    if (opts.type === 'boolean') {
      if (m[3] !== undefined) return undefined;
      value = true;
    } else {
      const text = m[3] ?? flags[++i];
      if (text === undefined) return undefined;
      if (opts.type === 'number' && !/^-?\d{1,15}$/.test(text)) return undefined;
      value = opts.type === 'number' ? Number(text) : text;
    }
    if (opts.array) given.set(key, [...((given.get(key) as unknown[]) ?? []), value]);
    else if (given.has(key)) return undefined;
    else given.set(key, value);
  }
  const args: Record<string, unknown> = { _: [] };
  for (const [key, opts] of declared.options) {
    const value = given.has(key) ? given.get(key) : opts.default;
    if (value === undefined) continue;
    for (const alias of flagNames(key, opts)) args[alias] = value;
  }
  args.$0 = `runts ${name}`;
  return args;
}
