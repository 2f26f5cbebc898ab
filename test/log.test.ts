import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { configureLog, formatLogLine, log, rfc3339Seconds } from '../src/log';

const when = new Date('2026-11-28T06:29:54.123Z');

t.test('json lines: level, msg, time (RFC 3339), keys sorted', async (t) => {
  t.equal(
    formatLogLine('error', 'container does not exist', when, 'json'),
    '{"level":"error","msg":"container does not exist","time":"2026-11-28T06:29:54Z"}',
  );
  t.equal(JSON.parse(formatLogLine('warn', 'x', when, 'json')).level, 'warning');
});

t.test('text lines look like logrus', async (t) => {
  t.equal(
    formatLogLine('error', 'container does not exist', when, 'text'),
    'time="2026-11-28T06:29:54Z" level=error msg="container does not exist"',
  );
  t.equal(formatLogLine('info', 'plain-word', when, 'text'), 'time="2026-11-28T06:29:54Z" level=info msg=plain-word');
  t.equal(formatLogLine('debug', 'say "hi"\n\x01', when, 'text'), 'time="2026-11-28T06:29:54Z" level=debug msg="say \\"hi\\"\\n\\x01"');
});

t.test('rfc3339Seconds drops the fraction', async (t) => {
  t.equal(rfc3339Seconds(when), '2026-11-28T06:29:54Z');
});

t.test('--log FILE: lines are appended; debug only with --debug', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-log-'));
  t.teardown(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    configureLog({ format: 'text', debug: false });
  });
  const file = path.join(dir, 'log.json');
  fs.writeFileSync(file, '{"level":"info","msg":"earlier","time":"2026-01-01T00:00:00Z"}\n');
  configureLog({ file, format: 'json', debug: false });
  log.warn('careful');
  log.debug('hidden');
  configureLog({ file, format: 'json', debug: true });
  log.debug('shown');
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  t.same(lines.map((l) => [l.level, l.msg]), [
    ['info', 'earlier'],
    ['warning', 'careful'],
    ['debug', 'shown'],
  ]);
  t.match(lines[1].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});
