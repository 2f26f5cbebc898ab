import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import t, { type Test } from 'tap';
import { errnoMessage, NotExistError, RuntimeError, UsageError } from '../../src/errors';
import { leakGuard, makeBundle, requireRoot, runts, runtsRoot, runtsToFiles, tempDir, uniqueId, type RuntsResult } from '../lib';

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
};

t.test('Node fs errors read like Go/runc', async (t) => {
  t.equal(errnoMessage(thrown(() => fs.openSync('/nonexistent/config.json', 'r'))), 'open /nonexistent/config.json: no such file or directory');
  t.equal(errnoMessage(thrown(() => fs.mkdirSync('/'))), 'mkdir /: file exists');
  t.equal(errnoMessage(thrown(() => fs.readdirSync('/nonexistent'))), 'open /nonexistent: no such file or directory');
  t.equal(errnoMessage(thrown(() => fs.renameSync('/nonexistent/a', '/nonexistent/b'))), 'rename /nonexistent/a /nonexistent/b: no such file or directory');
  t.equal(errnoMessage(thrown(() => fs.readFileSync('/etc/passwd/x'))), 'open /etc/passwd/x: not a directory');
});

t.test('spawn errors name the file once', async (t) => {
  const r = spawnSync('/nonexistent/bin');
  t.equal(errnoMessage(r.error), 'spawnSync /nonexistent/bin: no such file or directory');
});

t.test('other values', async (t) => {
  t.equal(errnoMessage(new Error('plain')), 'plain');
  t.equal(errnoMessage('text'), 'text');
  t.equal(errnoMessage(new RuntimeError('boom')), 'boom');
});

t.test('error classes carry exit codes', async (t) => {
  t.equal(new RuntimeError('x').exitCode, 1);
  t.equal(new RuntimeError('x', { exitCode: 255 }).exitCode, 255);
  const missing = new NotExistError('c1');
  t.type(missing, RuntimeError);
  t.equal(missing.message, 'container does not exist');
  t.equal(missing.id, 'c1');
  t.equal(missing.name, 'NotExistError');
  t.type(new UsageError('u'), RuntimeError);
});

// Malformed command lines through the real binary: each gives exit 1 and a message naming
// the flag or argument (as runc words it where runc names it), and leaves nothing behind.

/** A state root, a leak guard, and the runtime bound to the root (create writes to files:
 *  a created container keeps runts's stdio open). */
function cliSetup(t: Test) {
  leakGuard(t);
  const root = runtsRoot(t);
  const outDir = tempDir(t, 'out');
  const rt = (...args: string[]) => (args[0] === 'create' ? runtsToFiles(outDir, ['--root', root, ...args]) : runts(['--root', root, ...args]));
  const stateDirs = () => fs.readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  return { root, rt, stateDirs };
}

async function expectUsageErrors(t: Test, rt: (...args: string[]) => Promise<RuntsResult>, cases: [string[], RegExp][]): Promise<void> {
  const results = await Promise.all(cases.map(([args]) => rt(...args)));
  cases.forEach(([args, message], i) => {
    const what = JSON.stringify(args);
    // A usage error exits 1; a failed exec (past the parsing) 255, like runc.
    const execFailure = args[0] === 'exec' && args.length > 1;
    t.equal(results[i].code, execFailure ? 255 : 1, `${what}: exit code`);
    t.match(results[i].stderr, message, `${what}: message`);
    t.equal(results[i].stdout, '', `${what}: nothing on stdout`);
    t.notMatch(results[i].stderr, /\n\s+at |TypeError|RangeError/, `${what}: no stack trace`);
  });
}

t.test('missing and surplus arguments, unknown flags, flags without values', async (t) => {
  if (!requireRoot(t)) return;
  const { rt, stateDirs } = cliSetup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['true'] });
  const id = uniqueId();
  const commands = ['create', 'start', 'delete', 'state', 'kill', 'pause', 'resume', 'ps', 'events', 'update'];
  await expectUsageErrors(t, rt, [
    ...commands.map((cmd): [string[], RegExp] => [[cmd], /missing argument <container-id>/]),
    [['exec'], /missing argument <container-id>/],
    [['create', '--bogus', '-b', bundle, id], /flag provided but not defined: --bogus/],
    [['create', '--bundle=', '--pid-fil', 'p', id], /flag provided but not defined: --pid-fil/],
    [['create', '-b'], /flag needs an argument: -b/],
    [['create', '--console-socket'], /flag needs an argument: --console-socket/],
    [['state', id, 'extra'], /unexpected argument \\"extra\\"/],
    [['kill', id, 'KILL', 'extra'], /unexpected argument \\"extra\\"/],
    [['create', '--preserve-fds', 'x', '-b', bundle, id], /--preserve-fds/],
  ]);
  t.same(stateDirs(), [], 'no state dir');
});

t.test('bad signals are refused and never reach the container', async (t) => {
  if (!requireRoot(t)) return;
  const { rt } = cliSetup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['true'] });
  const id = uniqueId();
  t.equal((await rt('create', '-b', bundle, id)).code, 0);
  // runc: names → "unknown signal", numbers out of range → an error from kill(2).
  for (const signal of ['NOTSIG', 'SIG', ' 9', '9 ', '9x', '0x9', '1e1', '-5', '99', '65', 'SIGKILLX']) {
    const r = await rt('kill', id, signal);
    t.equal(r.code, 1, `kill ${JSON.stringify(signal)}`);
    t.match(r.stderr, /signal/, `kill ${JSON.stringify(signal)}: the message is about the signal`);
    t.ok(r.stderr.includes(JSON.stringify(signal).slice(1, -1).trim()), `kill ${JSON.stringify(signal)}: names it`);
  }
  const state = await rt('state', id);
  t.match(JSON.parse(state.stdout), { status: 'created' }, 'the container got none of them');
  t.equal((await rt('delete', '--force', id)).code, 0);
});

t.test('update --resources with a document of the wrong shape names the file and the field', async (t) => {
  if (!requireRoot(t)) return;
  const { root, rt } = cliSetup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['true'] });
  const id = uniqueId();
  t.equal((await rt('create', '-b', bundle, id)).code, 0);
  const update = (input: string) => runts(['--root', root, 'update', '--resources', '-', id], { input });
  // Before: "undefined" written to pids.max, and a stack overflow.
  const cases: [string, RegExp][] = [
    [JSON.stringify({ pids: 'x' }), /stdin: \/pids: must be object/],
    [JSON.stringify({ pids: { limit: '5' } }), /stdin: \/pids\/limit: must be integer/],
    ['[]', /stdin: must be object/],
    [`{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, /stdin: \/x\/0\/0\/0\/…: nested more than 512 levels deep/],
  ];
  for (const [input, message] of cases) {
    const r = await update(input);
    t.equal(r.code, 1, `${input.slice(0, 30)}: exit 1`);
    t.match(r.stderr, message, `${input.slice(0, 30)}: the message`);
  }
  t.equal((await rt('delete', '--force', id)).code, 0);
});

t.test('empty strings, overlong IDs and IDs with slashes or odd characters', async (t) => {
  if (!requireRoot(t)) return;
  const { rt, stateDirs } = cliSetup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['true'] });
  const empty = tempDir(t, 'cwd');
  const cases: [string[], RegExp][] = [
    ...['state', 'start', 'delete', 'kill', 'pause', 'ps', 'events'].map((cmd): [string[], RegExp] => [[cmd, ''], /container id cannot be empty/]),
    [['exec', '', 'true'], /container id cannot be empty/],
    [['create', '-b', bundle, ''], /container id cannot be empty/],
    ...['a/../b', '/abs', 'x\ny', 'héllo', ' a', 'a:b', 'a\tb'].map((id): [string[], RegExp] => [['create', '-b', bundle, id], /invalid container ID format/]),
    // Longer than a file name may be: refused where the state dir would be made.
    [['create', '-b', bundle, `${uniqueId()}${'x'.repeat(300)}`], /file name too long/],
    [['state', `${uniqueId()}${'x'.repeat(300)}`], /does not exist|file name too long/],
  ];
  await expectUsageErrors(t, rt, cases);
  // An empty --bundle is the cwd, like runc: here a directory without config.json.
  const emptyBundle = await runts(['--root', path.join(empty, 'root'), 'create', '--bundle', '', uniqueId()], { cwd: empty });
  t.equal(emptyBundle.code, 1);
  t.match(emptyBundle.stderr, new RegExp(`${empty}/config\\.json: no such file or directory`));
  t.same(stateDirs(), [], 'no state dir');
});

t.test('relative --root, --bundle, --pid-file and --console-socket are taken from the cwd', async (t) => {
  if (!requireRoot(t)) return;
  leakGuard(t);
  const cwd = tempDir(t, 'cwd');
  const { bundle } = await makeBundle(path.join(cwd, 'bundle'), { args: ['true'] });
  const id = uniqueId();
  const rel = (...args: string[]) => runtsToFiles(cwd, ['--root', 'state', ...args], { cwd });
  const created = await rel('create', '--bundle', 'bundle', '--pid-file', 'init.pid', id);
  t.equal(created.code, 0, created.stderr);
  t.ok(fs.statSync(path.join(cwd, 'state', id)).isDirectory(), 'the state dir is under the relative root');
  const state = JSON.parse((await runts(['--root', path.join(cwd, 'state'), 'state', id])).stdout);
  t.equal(state.bundle, bundle, 'the recorded bundle is absolute');
  t.equal(fs.readFileSync(path.join(cwd, 'init.pid'), 'utf8'), String(state.pid), 'the pid file is relative to the cwd');
  t.equal((await rel('delete', '--force', id)).code, 0);

  // A relative console socket that is not there: the error names the path, nothing is left.
  await makeBundle(path.join(cwd, 'tty-bundle'), { args: ['true'], config: (c) => void (c.process!.terminal = true) });
  const noSocket = await rel('create', '--bundle', 'tty-bundle', '--console-socket', 'console.sock', uniqueId());
  t.equal(noSocket.code, 1);
  t.match(noSocket.stderr, /console\.sock/, 'names the socket');
  t.same(fs.readdirSync(path.join(cwd, 'state')), [], 'no state dir');
});

t.test('--preserve-fds that are not a count, or name fds that are not open', async (t) => {
  if (!requireRoot(t)) return;
  const { rt, stateDirs } = cliSetup(t);
  const { bundle } = await makeBundle(tempDir(t, 'bundle'), { args: ['true'] });
  // runts gets only stdio; the fds above node's own are closed.
  await expectUsageErrors(t, rt, [
    [['create', '--preserve-fds', '-1', '-b', bundle, uniqueId()], /--preserve-fds: invalid value -1/],
    // Refused by the flag parser, as runc's int flag refuses it.
    [['create', '--preserve-fds', '1.5', '-b', bundle, uniqueId()], /invalid value \\"1\.5\\" for flag --preserve-fds: parse error/],
    [['create', '--preserve-fds', '99999999999', '-b', bundle, uniqueId()], /--preserve-fds 99999999999: fd \d+ is not open/],
  ]);
  t.same(stateDirs(), [], 'no state dir');
});
