import t from 'tap';
import { defaultRoot, parseGlobals } from '../../src/cli/main';
import { UsageError } from '../../src/errors';

t.test('flags take both --flag value and --flag=value, in any order', async (t) => {
  const a = parseGlobals(['--root', '/r', '--log', '/l.json', '--log-format', 'json', '--systemd-cgroup', 'create', '--bundle', 'b', 'id']);
  const b = parseGlobals(['--log-format=json', '--systemd-cgroup', '--log=/l.json', '--root=/r', 'create', '--bundle', 'b', 'id']);
  for (const parsed of [a, b]) {
    t.same(parsed.options, { root: '/r', log: '/l.json', logFormat: 'json', debug: false, systemdCgroup: true });
    t.same(parsed.rest, ['create', '--bundle', 'b', 'id']);
  }
});

t.test('defaults, relative root, single-dash long flags (Go flag syntax)', async (t) => {
  const parsed = parseGlobals(['-root', 'rel', '-debug', 'state', 'x']);
  t.equal(parsed.options.root, `${process.cwd()}/rel`);
  t.equal(parsed.options.debug, true);
  t.equal(parsed.options.logFormat, 'text');
  t.equal(parsed.options.rootless, undefined);
});

t.test('boolean flags accept =true/=false', async (t) => {
  t.equal(parseGlobals(['--debug=false', 'list']).options.debug, false);
  t.equal(parseGlobals(['--systemd-cgroup=true', 'list']).options.systemdCgroup, true);
  t.match(parseGlobals(['--debug=maybe', 'list']).error, { message: 'invalid boolean value "maybe" for --debug: parse error' });
});

t.test('--rootless takes true|false|auto', async (t) => {
  t.equal(parseGlobals(['--rootless', 'auto', 'list']).options.rootless, 'auto');
  t.equal(parseGlobals(['--rootless=true', 'list']).options.rootless, 'true');
  t.match(parseGlobals(['--rootless', 'yes', 'list']).error, { message: /invalid --rootless "yes"/ });
});

t.test('errors name the flag; flags before the bad one still apply', async (t) => {
  t.match(parseGlobals(['--bogus', 'list']).error, { message: 'flag provided but not defined: --bogus' });
  t.match(parseGlobals(['--bogus=1', 'list']).error, { message: 'flag provided but not defined: --bogus' });
  t.match(parseGlobals(['--root']).error, { message: 'flag needs an argument: --root' });
  t.match(parseGlobals(['--log-format', 'xml', 'list']).error, { message: /invalid --log-format "xml"/ });
  const partial = parseGlobals(['--log', '/l', '--log-format=json', '--bogus', 'list']);
  t.match(partial.options, { log: '/l', logFormat: 'json' });
  t.type(partial.error, UsageError);
  t.equal(parseGlobals(['list']).error, undefined);
});

t.test('-v, --version, -h, --help', async (t) => {
  t.equal(parseGlobals(['-v']).version, true);
  t.equal(parseGlobals(['--version']).version, true);
  t.equal(parseGlobals(['-h']).help, true);
  t.equal(parseGlobals(['--help']).help, true);
});

t.test('flags after the subcommand are not global', async (t) => {
  t.same(parseGlobals(['state', '--root', '/x']).rest, ['state', '--root', '/x']);
});

t.test('default root: /run/runts for root, $XDG_RUNTIME_DIR/runts for others', async (t) => {
  t.equal(defaultRoot({ XDG_RUNTIME_DIR: '/run/user/1000' }, 0), '/run/runts');
  t.equal(defaultRoot({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000), '/run/user/1000/runts');
  t.equal(defaultRoot({}, 1000), '/run/runts');
});
