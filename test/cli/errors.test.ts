import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { errnoMessage, NotExistError, RuntimeError, UsageError } from '../../src/errors';

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
