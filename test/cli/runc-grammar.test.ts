// Side by side with the runc binary: every command accepts and refuses the same words, with
// flags before and after the container ID. The container never exists (and create's bundle
// neither), so an accepted command line fails later, on the missing container or bundle,
// and a refused one with a usage error; spec, features and list run for real in a temp dir.
// The parsed values themselves are checked in args.test.ts.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { RUNTS_BIN, leakGuard, requireRoot, runtsRoot, tempDir, uniqueId } from '../lib';
import { runcInstalled } from '../lib/podman';

/** runc's usage errors say "Incorrect Usage"; runts's name the flag or argument. */
const USAGE = /Incorrect Usage|flag provided but not defined|flag needs an argument|missing argument|unexpected argument|invalid value|invalid boolean value|bad flag syntax|invalid duration/;

t.test('runts accepts and refuses what runc does, flags before and after the ID', async (t) => {
  if (!requireRoot(t)) return;
  if (!runcInstalled()) {
    t.comment('skipped: runc is not installed');
    return;
  }
  leakGuard(t);
  const dir = tempDir(t, 'cwd');
  const id = uniqueId();
  const nb = `${dir}/no-bundle`;
  const cases: string[][] = [
    ['state', id], ['state', id, '--bogus'], ['state', '--bogus', id], ['state'], ['state', id, 'extra'], ['start', id, '--', '--bogus'],
    ['create', '-b', nb, id], ['create', id, '-b', nb], ['create', id, '--bundle=' + nb, '--no-pivot'], ['create', id, '-b'],
    ['create', '--b', nb, id], ['create', '-bundle=' + nb, id], ['create', id, '--preserve-fds', 'abc', '-b', nb], ['create', id, '-b', nb, '--preserve-fds=0x2'],
    ['run', id, '-b', nb, '-d', '--keep'], ['run', '--detach=maybe', id],
    ['kill', id, '9', '--all'], ['kill', '--all', id, 'KILL'], ['kill', id, 'KILL', 'extra'],
    ['delete', id, '--force'], ['delete', id, '-f=false'], ['delete', '--force=maybe', id], ['delete', '---force', id],
    ['pause', id, '--bogus'], ['resume', id], ['ps', id, '--format', 'json'], ['ps', '-f', 'json', id], ['ps', id, '--bogus'],
    ['update', id, '--cpu-period', '90000'], ['update', id, '--pids-limit=50', '-r', '/dev/null'], ['update', id, '--bogus', '1'], ['update', '--resources', '-', id],
    ['events', id, '--stats'], ['events', id, '--interval=abc'], ['events', id, '--interval'],
    ['exec', id, 'echo', '--bogus'], ['exec', '--bogus', id, 'echo'], ['exec', '-t', '-e', 'A=1', id, 'sh'], ['exec', id],
    ['list', '-q', 'extra'], ['list', '--bogus'], ['list', '-f', 'json', '-q'],
    ['spec', '--rootless', 'extra'], ['spec', '-b', dir, '--rootless'], ['features', 'extra'], ['features'],
  ];
  for (const words of cases) {
    const outcomes = ['/usr/sbin/runc', RUNTS_BIN].map((bin) => {
      const root = bin === RUNTS_BIN ? runtsRoot(t) : `${dir}/runc-root`;
      const r = spawnSync(bin, ['--root', root, ...words], { cwd: dir, encoding: 'utf8', input: '{}', timeout: 30_000 });
      spawnSync('rm', ['-f', `${dir}/config.json`]);
      const usage = r.status === 1 && USAGE.test(r.stderr + r.stdout);
      return { usage, exit: r.status, out: `${r.stdout}${r.stderr}`.slice(0, 300) };
    });
    const [runc, runts] = outcomes;
    t.equal(runts.usage, runc.usage, `${words.join(' ')}: ${runc.usage ? 'refused' : 'accepted'} as by runc\n runc: ${runc.out}\n runts: ${runts.out}`);
    t.equal(runts.exit, runc.exit, `${words.join(' ')}: exit code`);
  }
});
