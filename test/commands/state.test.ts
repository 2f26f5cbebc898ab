import t from 'tap';
import { bundleCli, runBundle } from '../cli/bundle';
import { CREATED, makeRoot } from '../state/fixture';

t.test('runts state', async (t) => {
  const { file, cleanup } = await bundleCli();
  t.teardown(cleanup);
  const fixture = makeRoot();
  t.teardown(fixture.cleanup);
  const state = (id: string) => runBundle(file, ['--root', fixture.root, 'state', id]);

  const created = state('c-created');
  t.equal(created.status, 0, created.stderr);
  t.equal(created.stderr, '');
  t.equal(
    created.stdout,
    JSON.stringify(
      { ociVersion: '1.3.0', id: 'c-created', pid: process.pid, status: 'created', bundle: '/bundles/c-created', rootfs: '/bundles/c-created/rootfs', created: CREATED, owner: '' },
      null,
      2,
    ),
    'pretty JSON on stdout only, no trailing newline (like runc)',
  );
  const running = JSON.parse(state('c-running').stdout);
  t.equal(running.status, 'running');
  t.same(running.annotations, { 'org.example': 'yes' });
  t.match(JSON.parse(state('c-stopped').stdout), { status: 'stopped', pid: 0 });

  for (const id of ['c-half', 'c-missing']) {
    const r = state(id);
    t.equal(r.status, 1, id);
    t.equal(r.stdout, '');
    t.match(r.stderr, /container does not exist/);
  }
  const bad = state('../etc');
  t.equal(bad.status, 1);
  t.match(bad.stderr, /invalid container ID format/);
});
