// Subcommand argument handling shared by the plain-flag parser (plain-args.ts) and the
// yargs one (yargs-args.ts): Go-style splitting of flags from positionals, and the
// positionals, which are always assigned here by the usage string.
import type { PositionalOptions } from 'yargs';
import { UsageError } from '../errors';

export interface ParsedCommand {
  args?: Record<string, unknown>;
  /** Help text to print instead of running. */
  helpText?: string;
}

export interface PositionalSlot {
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

export const camelCase = (name: string) => name.replace(/-([a-z0-9])/g, (_all, c: string) => c.toUpperCase());

/** Split argv into flags and positionals like Go's flag package (and runc): flags end at the
 *  first word that is not a flag or a flag's value, or at "--". Everything after that is
 *  positional, even if it starts with "-" (exec ID sh -c ...). */
export function splitFlags(args: string[], takesValue: (name: string) => boolean): { flags: string[]; positionals: string[] } {
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

export function assignPositionals(
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
