// A subcommand's --help, rendered by yargs from the command's flag table. Its own bundle
// (scripts/build.mjs): only `runts CMD --help` loads yargs; every other call is parsed by
// args.ts alone.
import type { Argv, Options } from 'yargs';
import { HELP_FLAG, usageLine } from './args';
import type { CommandSpec, FlagSpec } from './command';

const YARGS_TYPES: Record<FlagSpec['type'], Pick<Options, 'type' | 'array'>> = {
  boolean: { type: 'boolean' },
  string: { type: 'string' },
  number: { type: 'number' },
  strings: { type: 'string', array: true },
  numbers: { type: 'number', array: true },
};

/** The help text of one command: usage, description, flags, then its arguments. */
export function commandHelp(spec: CommandSpec): string {
  const yargs = require('yargs/yargs') as (args: string[]) => Argv;
  let parser = yargs([])
    .scriptName(`runts ${spec.name}`)
    .usage(`runts ${usageLine(spec)}\n\n${spec.describe}`)
    .version(false)
    .help(false)
    .wrap(null);
  for (const [name, flag] of Object.entries({ ...spec.flags, help: HELP_FLAG })) {
    parser = parser.option(name, {
      ...YARGS_TYPES[flag.type],
      alias: flag.alias,
      default: flag.default,
      choices: flag.choices as string[] | undefined,
      describe: flag.describe,
    });
  }
  const described = spec.positionals.filter((p) => p.describe);
  if (described.length > 0) {
    const width = Math.max(...described.map((p) => p.name.length)) + 2;
    parser = parser.epilogue(['Arguments:', ...described.map((p) => `  ${p.name.padEnd(width)}${p.describe}`)].join('\n'));
  }
  let text = '';
  parser.showHelp((output: string) => {
    text = output;
  });
  return text.endsWith('\n') ? text : `${text}\n`;
}
