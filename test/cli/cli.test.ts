// The bundled CLI end to end: global flags, --version, help, errors, logging, exit codes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { bundleCli, runBundle } from './bundle';

t.test('runts CLI', async (t) => {
  const { file, cleanup } = await bundleCli('0123abcd');
  t.teardown(cleanup);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-cli-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const root = path.join(tmp, 'root');
  const run = (...args: string[]) => runBundle(file, args);

  t.test('--version prints exactly three lines', async (t) => {
    for (const flag of ['--version', '-v']) {
      const r = run(flag);
      t.equal(r.status, 0);
      t.equal(r.stdout, 'runts version 0.1.0\ncommit: 0123abcd\nspec: 1.3.0\n');
      t.equal(r.stderr, '');
    }
    t.equal(run('--root', root, '--version').status, 0, 'after other global flags');
  });

  t.test('top-level help lists the commands and global flags', async (t) => {
    for (const args of [['--help'], ['-h'], ['help'], []]) {
      const r = run(...args);
      t.equal(r.status, 0, args.join(' '));
      t.match(r.stdout, /Commands:[\s\S]*\n {2}state {3,}output the state of a container/);
      t.match(r.stdout, /--log-format value/);
    }
  });

  t.test('every command has --help, and `help CMD`', async (t) => {
    for (const name of ['state', 'list', 'spec']) {
      const r = run(name, '--help');
      t.equal(r.status, 0, name);
      t.match(r.stdout, new RegExp(`^runts ${name}`));
      t.match(r.stdout, /--help/);
    }
    t.match(run('help', 'list').stdout, /--format/);
  });

  t.test('usage errors exit 1 and name the flag', async (t) => {
    const cases: [string[], RegExp][] = [
      [['--bogus', 'list'], /flag provided but not defined: --bogus/],
      [['--root'], /flag needs an argument: --root/],
      [['--root', root, 'list', '--bogus'], /flag provided but not defined: --bogus/],
      [['--root', root, 'list', '--format'], /flag needs an argument: --format/],
      [['--root', root, 'state'], /missing argument <container-id>/],
      [['--root', root, 'state', 'a', 'b'], /unexpected argument \\"b\\"/],
      [['frobnicate'], /unknown command \\"frobnicate\\"/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      t.equal(r.status, 1, args.join(' '));
      t.match(r.stderr, message, args.join(' '));
      t.equal(r.stdout, '', args.join(' '));
    }
  });

  t.test('without --log, an error goes to stderr as a log line in the chosen format', async (t) => {
    const text = run('--root', root, 'state', 'nope');
    t.equal(text.status, 1);
    t.match(text.stderr, /^time="[^"]+Z" level=error msg="container does not exist"\n$/);
    const json = run('--root', root, '--log-format', 'json', 'state', 'nope');
    t.match(JSON.parse(json.stderr), { level: 'error', msg: 'container does not exist' });
  });

  t.test('with --log, the error is appended there and printed plainly on stderr', async (t) => {
    const log = path.join(tmp, 'log.json');
    const r = run('--root', root, '--log', log, '--log-format=json', 'state', 'nope');
    t.equal(r.status, 1);
    t.equal(r.stderr, 'container does not exist\n');
    const lines = fs.readFileSync(log, 'utf8').trimEnd().split('\n');
    t.equal(lines.length, 1);
    const line = JSON.parse(lines[0]);
    t.same(Object.keys(line), ['level', 'msg', 'time']);
    t.match(line, { level: 'error', msg: 'container does not exist', time: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ });
  });

  t.test('a bad global flag after --log is reported in the log', async (t) => {
    const log = path.join(tmp, 'bad-flag.json');
    const r = run('--log', log, '--log-format', 'json', '--bogus', 'list');
    t.equal(r.status, 1);
    t.equal(r.stderr, 'flag provided but not defined: --bogus\n');
    t.match(JSON.parse(fs.readFileSync(log, 'utf8')), { level: 'error', msg: 'flag provided but not defined: --bogus' });
  });

  t.test('nothing is logged on success', async (t) => {
    const log = path.join(tmp, 'quiet.log');
    const r = run('--root', root, '--log', log, 'list');
    t.equal(r.status, 0);
    t.equal(r.stderr, '');
    t.notOk(fs.existsSync(log));
  });

  t.test('a closed stderr (podman closes it first) is no crash', async (t) => {
    const r = spawnSync('/bin/sh', ['-c', `"${process.execPath}" "${file}" --root "${root}" state nope 2>&-; echo "rc=$?"`], { encoding: 'utf8' });
    t.equal(r.stdout, 'rc=1\n');
  });

  t.test('a closed stdout reader is no crash', async (t) => {
    const r = spawnSync('/bin/sh', ['-c', `exec 1>&-; "${process.execPath}" "${file}" --help`], { encoding: 'utf8' });
    t.equal(r.status, 0);
    t.equal(r.stderr, '');
  });
});
