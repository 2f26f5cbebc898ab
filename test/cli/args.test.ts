// runc's command-line grammar (src/cli/args.ts) on the real command tables. The expected
// values are what runc 1.1.5 does with the same words (its urfave/cli v1 reorders a
// command's flags in front of its positionals, except for exec and ps); the side-by-side
// check against the runc binary is test/cli/runc-grammar.test.ts.
import t from 'tap';
import { commands } from '../../src/cli';
import { parseCommandArgs, reorderArgs, usageLine } from '../../src/cli/args';
import type { CommandSpec } from '../../src/cli/command';
import { UsageError } from '../../src/errors';

const spec = (name: string): CommandSpec => commands.find((c) => c.name === name)!.load().default;
const parse = (name: string, ...words: string[]) => parseCommandArgs(spec(name), words).args!;

t.test('flags after the container ID (issue #12 item 9)', async (t) => {
  t.match(parse('update', 'c1', '--cpu-period', '90000'), { containerId: 'c1', cpuPeriod: '90000' });
  t.match(parse('update', 'c1', '--cpu-period=90000', '-r', '/f'), { containerId: 'c1', cpuPeriod: '90000', resources: '/f' });
  t.match(parse('delete', 'c1', '--force'), { containerId: 'c1', force: true });
  t.match(parse('delete', 'c1', '-f=false'), { containerId: 'c1', force: false });
  t.match(parse('create', 'c1', '--bundle', '/b', '--no-pivot', '--preserve-fds', '2'), { containerId: 'c1', bundle: '/b', noPivot: true, preserveFds: 2 });
  t.match(parse('run', 'c1', '-d', '--keep'), { containerId: 'c1', detach: true, keep: true });
  t.match(parse('kill', 'c1', '9', '--all'), { containerId: 'c1', signal: '9', all: true });
  t.match(parse('events', 'c1', '--stats', '--interval', '1s'), { containerId: 'c1', stats: true, interval: '1s' });
  t.match(parse('list', '-q', '--format', 'json'), { quiet: true, format: 'json' });
  t.match(parse('state', 'c1'), { containerId: 'c1' });
});

t.test("a flag takes the next word along even when it is a bool (runc's reorderArgs)", async (t) => {
  // runc kill ID --all 9 signals container "9" with signal "ID": 9 moves in front with --all.
  t.same(reorderArgs(spec('kill').flags, ['c1', '--all', '9']), ['--all', '9', 'c1']);
  t.match(parse('kill', 'c1', '--all', '9'), { containerId: '9', signal: 'c1', all: true });
  // An unknown flag after the ID stays a positional; "--" and what follows stay in place.
  t.same(reorderArgs(spec('state').flags, ['c1', '--bogus']), ['c1', '--bogus']);
  t.same(reorderArgs(spec('delete').flags, ['c1', '--', '--force']), ['c1', '--', '--force']);
});

t.test('exec and ps: the words after the ID are the command\'s, never runts flags', async (t) => {
  t.match(parse('exec', '-t', '-e', 'A=1', '-e', 'B=2', 'c1', 'sh', '-c', 'ls -l', '--tty'), { containerId: 'c1', tty: true, env: ['A=1', 'B=2'], command: ['sh', '-c', 'ls -l', '--tty'] });
  t.match(parse('exec', 'c1', '--tty', 'echo'), { tty: false, command: ['--tty', 'echo'] });
  // As runc: "--" before the ID ends the flags; after it, it is the command's first word.
  t.match(parse('exec', '--', 'c1', '--help'), { containerId: 'c1', command: ['--help'] });
  t.match(parse('exec', 'c1', '--', 'echo'), { command: ['--', 'echo'] });
  t.match(parse('exec', '-g', '10', '--additional-gids=0x10', 'c1'), { additionalGids: [10, 16] });
  t.match(parse('ps', 'c1', '--format', 'json'), { format: 'table', psOptions: ['--format', 'json'] });
  t.match(parse('ps', '-f', 'json', 'c1'), { format: 'json', psOptions: [] });
});

t.test("Go's flag syntax: one or two dashes, =value or the next word, aliases, last one wins", async (t) => {
  for (const words of [
    ['--bundle', '/b', '--pid-file', '/p', '--no-pivot', '--preserve-fds', '2', 'c1'],
    ['-preserve-fds=2', '-no-pivot', '--pid-file=/p', '--b', '/b', 'c1'],
    ['c1', '-b=/b', '--pid-file', '/p', '--no-pivot=true', '--preserve-fds=02'],
  ]) {
    t.match(parse('create', ...words), { bundle: '/b', pidFile: '/p', noPivot: true, preserveFds: 2, containerId: 'c1' }, words.join(' '));
  }
  // A value word may start with "-" ("-" for stdin, a negative number).
  t.match(parse('update', '--resources', '-', 'c1'), { resources: '-' });
  t.match(parse('create', '--preserve-fds', '-1', 'c1'), { preserveFds: -1 });
  t.match(parse('update', 'c1', '--resources', '-'), { containerId: 'c1', resources: '-' });
  t.match(parse('create', '-b', '/x', '-b', '/y', 'c1'), { bundle: '/y' });
  t.match(parse('update', '--cpu-shares', '512', 'c1'), { cpuShare: '512' });
  // Defaults: bools false, ints 0, lists empty, strings their default or undefined.
  t.same(parse('create', 'c1'), { bundle: '.', pidFile: undefined, consoleSocket: undefined, noPivot: false, preserveFds: 0, containerId: 'c1' });
  t.match(parse('kill', 'c1'), { signal: 'SIGTERM', all: false });
  t.match(parse('kill', '0123', '15'), { containerId: '0123', signal: '15' });
});

t.test('usage errors name the flag or argument, as runc refuses them', async (t) => {
  const fails = (name: string, words: string[], message: string | RegExp) =>
    t.throws(() => parseCommandArgs(spec(name), words), message instanceof RegExp ? message : new UsageError(message), `${name} ${words.join(' ')}`);
  fails('kill', [], 'missing argument <container-id> (usage: runts kill <container-id> [signal])');
  fails('kill', ['a', 'b', 'c'], /unexpected argument "c"/);
  fails('state', ['c1', '--bogus'], /unexpected argument "--bogus"/);
  fails('state', ['--bogus', 'c1'], 'flag provided but not defined: --bogus');
  fails('state', ['-bogus=3', 'c1'], 'flag provided but not defined: -bogus');
  fails('start', ['c1', '--', '--bogus'], /unexpected arguments "--" "--bogus"/);
  // runc: `create ID -b` makes the ID the bundle's value.
  fails('create', ['c1', '--bundle'], /missing argument <container-id>/);
  fails('create', ['--bundle'], 'flag needs an argument: --bundle');
  fails('create', ['-b'], 'flag needs an argument: -b');
  fails('create', ['c1', '--preserve-fds', 'abc'], 'invalid value "abc" for flag --preserve-fds: parse error');
  fails('create', ['--preserve-fds=1.5', 'c1'], 'invalid value "1.5" for flag --preserve-fds: parse error');
  fails('create', ['--preserve-fds=08', 'c1'], 'invalid value "08" for flag --preserve-fds: parse error');
  fails('delete', ['--force=maybe', 'c1'], 'invalid boolean value "maybe" for --force: parse error');
  fails('delete', ['---force', 'c1'], 'bad flag syntax: ---force');
  fails('list', ['extra'], /unexpected argument "extra"/);
  fails('spec', ['extra'], /unexpected argument "extra"/);
  fails('features', ['--bogus'], 'flag provided but not defined: --bogus');
});

t.test('--help and -h, before or after the ID (but not after exec\'s ID)', async (t) => {
  t.same(parseCommandArgs(spec('kill'), ['--help']), { help: true });
  t.same(parseCommandArgs(spec('state'), ['c1', '-h']), { help: true });
  t.same(parseCommandArgs(spec('exec'), ['-h', 'c1']), { help: true });
  t.match(parse('exec', 'c1', '--help'), { command: ['--help'] });
});

t.test('usage lines come from the positional tables', async (t) => {
  t.equal(usageLine(spec('list')), 'list');
  t.equal(usageLine(spec('kill')), 'kill <container-id> [signal]');
  t.equal(usageLine(spec('exec')), 'exec <container-id> [command..]');
  t.equal(usageLine(spec('ps')), 'ps <container-id> [ps-options..]');
});

t.test('the help text lists every flag and alias of the table', async (t) => {
  const { commandHelp } = await import('../../src/cli/help');
  for (const entry of commands) {
    const s = spec(entry.name);
    const text = commandHelp(s);
    t.ok(text.startsWith(`runts ${usageLine(s)}\n\n${s.describe}\n`), `${entry.name}: usage and description first`);
    for (const [name, flag] of Object.entries(s.flags)) {
      t.match(text, `--${name}`, `${entry.name} --${name}`);
      if (flag.alias) t.match(text, flag.alias.length === 1 ? `-${flag.alias}` : `--${flag.alias}`, `${entry.name} alias of --${name}`);
    }
    t.match(text, /--help/);
  }
  t.match(commandHelp(spec('state')), /container-id {2}the container ID/);
});
