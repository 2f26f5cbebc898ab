// Subcommand parsing through yargs, with small inline command specs.
import t from 'tap';
import { defineCommand } from '../../src/cli/command';
import { parseCommandArgs } from '../../src/cli/main';
import { UsageError } from '../../src/errors';

const kill = defineCommand({
  command: 'kill <container-id> [signal]',
  describe: 'send a signal',
  builder: (y) =>
    y
      .positional('container-id', { type: 'string', demandOption: true, describe: 'the container' })
      .positional('signal', { type: 'string', default: 'SIGTERM' })
      .option('all', { alias: 'a', type: 'boolean', default: false }),
  run: () => 0,
});

const create = defineCommand({
  command: 'create <container-id>',
  describe: 'create',
  builder: (y) =>
    y
      .positional('container-id', { type: 'string', demandOption: true })
      .option('bundle', { alias: 'b', type: 'string', default: '.' })
      .option('pid-file', { type: 'string' })
      .option('no-pivot', { type: 'boolean', default: false })
      .option('preserve-fds', { type: 'number', default: 0 }),
  run: () => 0,
});

const exec = defineCommand({
  command: 'exec <container-id> [command..]',
  describe: 'exec',
  builder: (y) => y.option('tty', { alias: 't', type: 'boolean', default: false }).option('env', { alias: 'e', type: 'string', array: true }),
  run: () => 0,
});

t.test('positionals, defaults and camelCase names', async (t) => {
  const args = parseCommandArgs('kill', kill, ['--all', 'c1', '9']).args!;
  t.equal(args.containerId, 'c1');
  t.equal(args['container-id'], 'c1');
  t.equal(args.signal, '9');
  t.equal(args.all, true);
  t.equal(parseCommandArgs('kill', kill, ['c1']).args!.signal, 'SIGTERM');
});

t.test('IDs that look like numbers stay strings', async (t) => {
  t.equal(parseCommandArgs('kill', kill, ['0123', '15']).args!.containerId, '0123');
});

t.test('flags in both syntaxes, any order; --no-pivot is a flag of its own', async (t) => {
  for (const argv of [
    ['--bundle', '/b', '--pid-file', '/p', '--no-pivot', '--preserve-fds', '2', 'c1'],
    ['--preserve-fds=2', '--no-pivot', '--pid-file=/p', '-b', '/b', 'c1'],
  ]) {
    const args = parseCommandArgs('create', create, argv).args!;
    t.equal(args.bundle, '/b');
    t.equal(args.pidFile, '/p');
    t.equal(args['pid-file'], '/p');
    t.equal(args.noPivot, true);
    t.equal(args.preserveFds, 2);
    t.equal(args.containerId, 'c1');
  }
});

t.test('flag parsing stops at the first positional (exec ID cmd -c ...)', async (t) => {
  const args = parseCommandArgs('exec', exec, ['-t', '-e', 'A=1', 'c1', 'sh', '-c', 'ls -l']).args!;
  t.same(args.command, ['sh', '-c', 'ls -l']);
  t.equal(args.tty, true);
  t.same(args.env, ['A=1']);
  t.same(parseCommandArgs('exec', exec, ['--', 'c1', '--help']).args!.command, ['--help']);
});

t.test('usage errors', async (t) => {
  t.throws(() => parseCommandArgs('kill', kill, []), new UsageError('missing argument <container-id> (usage: runts kill <container-id> [signal])'));
  t.throws(() => parseCommandArgs('kill', kill, ['a', 'b', 'c']), /unexpected argument "c"/);
  t.throws(() => parseCommandArgs('kill', kill, ['--bogus', 'a']), { message: 'flag provided but not defined: --bogus' });
  t.throws(() => parseCommandArgs('kill', kill, ['--bogus=3', 'a']), { message: 'flag provided but not defined: --bogus' });
  t.throws(() => parseCommandArgs('create', create, ['c1', '--bundle']), /unexpected argument "--bundle"/);
  t.throws(() => parseCommandArgs('create', create, ['--bundle']), { message: 'flag needs an argument: --bundle' });
  t.throws(() => parseCommandArgs('create', create, ['--preserve-fds', 'x', 'c1']), { message: 'invalid value for flag --preserve-fds: not a number' });
});

t.test('--help gives the help text instead of arguments', async (t) => {
  const parsed = parseCommandArgs('kill', kill, ['--help']);
  t.equal(parsed.args, undefined);
  t.match(parsed.helpText, /^runts kill <container-id> \[signal\]\n\nsend a signal\n/);
  t.match(parsed.helpText, /--all/);
  t.match(parsed.helpText, /container-id {2}the container/);
  t.match(parseCommandArgs('kill', kill, ['-h']).helpText, /--all/);
});
