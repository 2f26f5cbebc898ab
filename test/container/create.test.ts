// create's preparation step and its rollback (src/container/create.ts), without starting a container.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { prepareCreate, rollBack, type CreateOptions } from '../../src/container/create';
import { EngineError } from '../../src/errors';
import { makeBundle, tempDir, uniqueId } from '../lib';
import { writePidFile } from '../../src/container/pid-file';

const options = (root: string, bundle: string): CreateOptions => ({ root, id: uniqueId(), bundle, noPivot: false, preserveFds: 0, detached: true, rootless: 'false' });

t.test('prepareCreate: builds the plan and checks the limits, making nothing', async (t) => {
  const dir = tempDir(t, 'prepare');
  const root = path.join(dir, 'root');
  const made = await makeBundle(path.join(dir, 'bundle'));
  const prep = prepareCreate(options(root, made.bundle));
  t.equal(prep.plan.rootfs, made.rootfs);
  t.equal(prep.execFifo, path.join(root, prep.opts.id, 'exec.fifo'));
  t.equal(prep.spec.process?.args?.[0], 'sh');
  t.equal(prep.creator.pid, process.pid);
  t.notOk(fs.existsSync(root), 'no state root, no state dir');
  t.ok(prep.cgroups.placements.every((p) => !fs.existsSync(p.dir)), 'no cgroup made');
});

/** Milliseconds since the epoch, with the fraction, of an RFC 3339 UTC time. */
function epochMs(text: string): number {
  const [, base, fraction = ''] = /^(.*?)(?:\.(\d+))?Z$/.exec(text)!;
  return Date.parse(`${base}Z`) + Number(`0.${fraction || '0'}`) * 1000;
}

t.test('prepareCreate: created is the wall clock, RFC 3339 UTC with nanoseconds as runc writes it', async (t) => {
  const dir = tempDir(t, 'prepare');
  const made = await makeBundle(path.join(dir, 'bundle'));
  const before = Date.now();
  const { created } = prepareCreate(options(path.join(dir, 'root'), made.bundle));
  const after = Date.now();
  // Go's RFC3339Nano: up to nine digits, trailing zeros trimmed (runc 1.1.5 here wrote
  // "2026-12-05T13:53:51.119767228Z" for a container it created at that wall-clock time).
  t.match(created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/);
  // The monotonic clock's sub-second part is unrelated to the wall clock's: a fraction
  // taken from it would land anywhere in the second.
  const tolerance = 20;
  t.ok(epochMs(created) >= before - tolerance && epochMs(created) <= after + tolerance, `${created} within ${tolerance} ms of [${new Date(before).toISOString()}, ${new Date(after).toISOString()}]`);
});

t.test('writePidFile: the decimal pid, no newline, replacing any old file', async (t) => {
  const dir = tempDir(t, 'pidfile');
  const file = path.join(dir, 'pid');
  fs.writeFileSync(file, 'old contents, longer than a pid');
  writePidFile(file, 4242);
  t.equal(fs.readFileSync(file, 'utf8'), '4242');
  t.same(fs.readdirSync(dir), ['pid'], 'no temporary file left');
  t.throws(() => writePidFile(path.join(dir, 'missing', 'pid'), 1), { code: 'ENOENT' });
});

t.test('prepareCreate: a cgroup write create refuses is an EngineError naming the field, before anything is made', async (t) => {
  const dir = tempDir(t, 'prepare');
  const root = path.join(dir, 'root');
  const made = await makeBundle(path.join(dir, 'bundle'), {
    config: (c) => {
      c.linux = { ...c.linux, resources: { unified: { 'cgroup.procs': '1' } } };
    },
  });
  const err = (() => {
    try {
      prepareCreate(options(root, made.bundle));
    } catch (e) {
      return e;
    }
  })();
  // An EngineError: createContainer reports it as a RuntimeError (exit 1, the message alone).
  t.ok(err instanceof EngineError, 'an EngineError');
  t.match(err, { message: /^linux\.resources\.unified\.cgroup\.procs: the runtime owns/ });
  t.notOk(fs.existsSync(root));
});

t.test('rollBack: every step in order, a failing one a warning naming it, the rest still run', async (t) => {
  const ran: string[] = [];
  const warnings: string[] = [];
  const step = (what: string, fail = false) => ({
    what,
    undo: () => {
      ran.push(what);
      if (fail) throw new Error(`rmdir /sys/fs/cgroup/x: device or resource busy`);
    },
  });
  rollBack([step('init'), step('cgroups', true), step('resctrl group'), step('state directory')], (m) => warnings.push(m));
  t.same(ran, ['init', 'cgroups', 'resctrl group', 'state directory']);
  t.same(warnings, ['create: undo cgroups: rmdir /sys/fs/cgroup/x: device or resource busy']);
});
