import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { formatTable } from '../../src/commands/list';
import { bundleCli, runBundle } from '../cli/bundle';
import { CREATED, makeRoot } from '../state/fixture';

t.test('formatTable pads like Go tabwriter (min 12, padding 3), last column bare', async (t) => {
  t.equal(formatTable([['ID', 'PID', 'OWNER'], ['a-very-long-id', '1', 'root']]), 'ID               PID         OWNER\na-very-long-id   1           root\n');
  t.equal(formatTable([['ID', 'OWNER']]), 'ID          OWNER\n');
});

t.test('runts list', async (t) => {
  const { file, cleanup } = await bundleCli();
  t.teardown(cleanup);
  const fixture = makeRoot();
  t.teardown(fixture.cleanup);
  const list = (...args: string[]) => runBundle(file, ['--root', fixture.root, 'list', ...args]);
  const me = os.userInfo().username;

  const table = list();
  t.equal(table.status, 0, table.stderr);
  t.equal(table.stderr, '');
  const lines = table.stdout.split('\n');
  t.match(lines[0], /^ID {3,}PID {3,}STATUS {3,}BUNDLE {3,}CREATED {3,}OWNER$/);
  t.same(
    lines.slice(1, -1).map((l) => l.split(/ {3,}/)),
    [
      ['c-created', String(process.pid), 'created', '/bundles/c-created', CREATED, me],
      ['c-running', String(process.pid), 'running', '/bundles/c-running', CREATED, me],
      ['c-stopped', '0', 'stopped', '/bundles/c-stopped', CREATED, me],
    ],
  );
  t.equal(lines.at(-1), '');

  for (const args of [['-f', 'json'], ['--format=json'], ['--format', 'json']]) {
    const json = list(...args);
    t.equal(json.status, 0);
    const states = JSON.parse(json.stdout);
    t.same(states.map((s: { id: string; status: string }) => [s.id, s.status]), [['c-created', 'created'], ['c-running', 'running'], ['c-stopped', 'stopped']]);
    t.same(Object.keys(states[1]), ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner', 'annotations']);
    t.equal(states[0].owner, me);
  }

  t.equal(list('-q').stdout, 'c-created\nc-running\nc-stopped\n');
  t.equal(list('--quiet').stdout, 'c-created\nc-running\nc-stopped\n');

  const empty = runBundle(file, ['--root', path.join(fixture.root, 'absent'), 'list', '-f', 'json']);
  t.equal(empty.stdout, '[]\n');
  t.equal(runBundle(file, ['--root', path.join(fixture.root, 'absent'), 'list']).stdout, 'ID          PID         STATUS      BUNDLE      CREATED     OWNER\n');

  const bad = list('-f', 'yaml');
  t.equal(bad.status, 1);
  t.match(bad.stderr, /invalid format option: yaml/);
});
