// The yargs-free parser of plain flags must give exactly what yargs gives: checked on every
// real subcommand, for every flag in each of its spellings and value forms, alone and all
// together. It must also take the plain calls the hot commands get (no yargs on them).
import t from 'tap';
import { commands } from '../../src/cli';
import { parseCommandArgs } from '../../src/cli/main';
import { parseWithYargs } from '../../src/cli/yargs-args';
import { flagNames, parsePlainFlags, recordDeclarations } from '../../src/cli/plain-args';

const VALUES: Record<string, string[]> = { string: ['x', '', '-1', 'a=b'], number: ['3', '-1', '03', '0'] };

/** Flag lists for one command: each flag under each name, with each value form. */
function corpus(spec: Parameters<typeof recordDeclarations>[0]): string[][] {
  const declared = recordDeclarations(spec);
  const lists: string[][] = [[]];
  const all: string[] = [];
  for (const [key, opts] of declared.options) {
    for (const name of flagNames(key, opts)) {
      const flag = name.length === 1 ? `-${name}` : `--${name}`;
      if (opts.type === 'boolean') {
        lists.push([flag], [`${flag}=true`]);
        continue;
      }
      for (const value of VALUES[opts.type as string] ?? ['x']) {
        lists.push([flag, value], [`${flag}=${value}`]);
        lists.push([flag, value, flag, opts.array ? 'y' : value]);
      }
    }
    all.push(`--${key}`, ...(opts.type === 'boolean' ? [] : [opts.type === 'number' ? '2' : 'v']));
  }
  lists.push(all, ['--help']);
  return lists;
}

function outcome(parse: () => unknown): unknown {
  try {
    return parse();
  } catch (err) {
    return { error: (err as Error).message };
  }
}

t.test('the plain parser agrees with yargs on every input it takes', async (t) => {
  for (const entry of commands) {
    const spec = entry.load().default;
    let plainCount = 0;
    const positionals = spec.command.includes('<') ? ['c1'] : [];
    for (const flags of corpus(spec)) {
      const argv = [...flags, ...positionals];
      const viaYargs = outcome(() => parseWithYargs(entry.name, spec, argv));
      const chosen = outcome(() => parseCommandArgs(entry.name, spec, argv));
      t.same(chosen, viaYargs, `runts ${entry.name} ${argv.join(' ')}`);
      if (parsePlainFlags(entry.name, recordDeclarations(spec), flags)) plainCount++;
    }
    if (recordDeclarations(spec).options.size > 0 && entry.name !== 'exec' && entry.name !== 'update') {
      t.ok(plainCount > 0, `runts ${entry.name}: some calls parsed without yargs`);
    }
  }
});

t.test('the hot commands parse their usual calls without yargs', async (t) => {
  const spec = (name: string) => commands.find((c) => c.name === name)!.load().default;
  const cases: [string, string[]][] = [
    ['state', []],
    ['start', []],
    ['delete', ['--force']],
    ['delete', ['-f']],
    ['kill', ['--all']],
    ['create', ['--bundle', '/b', '--pid-file', '/p', '--console-socket', '/s']],
    ['run', ['-b', '/b', '-d', '--preserve-fds', '2', '--no-pivot', '--keep']],
    ['list', ['-f', 'json', '-q']],
  ];
  for (const [name, flags] of cases) {
    t.ok(parsePlainFlags(name, recordDeclarations(spec(name)), flags), `runts ${name} ${flags.join(' ')}`);
  }
});
