// Reading config.json and the wording of schema, syntax and version errors.

import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { SpecError, loadConfig, schemaErrorMessage, validateConfig, validateProcess, validateResources, validateState } from '../../src/spec/validate';
import type { Spec } from '../../src/spec/types';
import runcSpecConfig from './data/runc-spec-config.json';

const base = runcSpecConfig as Spec;
const opts = { file: 'config.json', detached: true };

/** A deep copy of the runc-like config with `edit` applied. */
function config(edit: (spec: any) => void = () => {}): unknown {
  const copy = structuredClone(base);
  edit(copy);
  return copy;
}

function withBundle(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'runts-spec-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

t.test('loadConfig', async (t) => {
  t.test('reads and checks a valid config', async (t) => {
    const dir = withBundle(t, { 'config.json': JSON.stringify(base) });
    t.same(loadConfig(dir), base);
  });

  t.test('a missing config.json is reported like runc, with the absolute path', async (t) => {
    const dir = withBundle(t, {});
    t.throws(() => loadConfig(dir), new SpecError(`open ${dir}/config.json: no such file or directory`));
    t.throws(() => loadConfig(relative(process.cwd(), dir)), { message: `open ${dir}/config.json: no such file or directory` });
  });

  t.test('config.json that is a directory', async (t) => {
    const dir = withBundle(t, {});
    mkdirSync(join(dir, 'config.json'));
    t.throws(() => loadConfig(dir), { message: `read ${dir}/config.json: illegal operation on a directory` });
  });

  t.test('invalid JSON', async (t) => {
    const dir = withBundle(t, { 'config.json': '{]' });
    t.throws(() => loadConfig(dir), { name: 'SpecError', message: /^config\.json: invalid JSON: .+/ });
  });

  t.test('values nested deeper than 512 levels (they would overflow the stack later)', async (t) => {
    const text = JSON.stringify({ ...base, annotations: { deep: '@' } });
    const nested = (depth: number) => text.replace('"@"', `${'{"a":['.repeat(depth / 2)}1${']}'.repeat(depth / 2)}`);
    const deep = withBundle(t, { 'config.json': nested(200_000) });
    t.throws(() => loadConfig(deep), { name: 'SpecError', message: 'config.json: /annotations/deep/a/0/…: nested more than 512 levels deep' });
    const fine = withBundle(t, { 'config.json': nested(500) });
    t.throws(() => loadConfig(fine), { message: 'config.json: /annotations/deep: must be string' }, 'up to the limit the schema decides');
  });

  t.test('schema errors', async (t) => {
    const dir = withBundle(t, { 'config.json': JSON.stringify({ ...base, process: { ...base.process, args: [1] } }) });
    t.throws(() => loadConfig(dir), { message: 'config.json: /process/args/0: must be string' });
  });
});

t.test('schema error messages name the file, the JSON pointer and the rule', async (t) => {
  const cases: [string, (spec: any) => void, string][] = [
    ['wrong type', (s) => (s.process.args[0] = 1), 'config.json: /process/args/0: must be string'],
    ['wrong type at the root', (s) => (s.hostname = ['x']), 'config.json: /hostname: must be string'],
    ['missing at the root', (s) => delete s.ociVersion, "config.json: must have required property 'ociVersion'"],
    ['missing nested', (s) => delete s.process.cwd, "config.json: /process: must have required property 'cwd'"],
    ['not an integer', (s) => (s.process.user.uid = 1.5), 'config.json: /process/user/uid: must be integer'],
    ['below minimum', (s) => (s.process.user.uid = -1), 'config.json: /process/user/uid: must be >= 0'],
    ['above a uint32', (s) => (s.process.user.gid = 2 ** 32), 'config.json: /process/user/gid: must be <= 4294967295'],
    ['above a uint64', (s) => (s.process.rlimits[0].hard = 2 ** 65), 'config.json: /process/rlimits/0/hard: must be <= 18446744073709551615'],
    [
      'enum',
      (s) => (s.linux.namespaces[0].type = 'net'),
      'config.json: /linux/namespaces/0/type: must be one of "mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time"',
    ],
    ['pattern', (s) => (s.process.rlimits[0].type = 'nofile'), 'config.json: /process/rlimits/0/type: must match pattern "^RLIMIT_[A-Z]+$"'],
    [
      'minItems',
      (s) => (s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_LOG' }] }),
      'config.json: /linux/seccomp/syscalls/0/names: must have at least 1 item',
    ],
    ['escaped pointer', (s) => (s.annotations = { 'a/b~c': 1 }), 'config.json: /annotations/a~1b~0c: must be string'],
    ['not an object', (s) => (s.linux = []), 'config.json: /linux: must be object'],
  ];
  for (const [name, edit, message] of cases) {
    t.throws(() => validateConfig(config(edit), opts), new SpecError(message), name);
  }
  t.throws(() => validateConfig('{}', opts), { message: 'config.json: must be object' }, 'a string is not a config');
  t.throws(() => validateConfig(config((s) => (s.process.args[0] = 1)), { ...opts, file: '/b/config.json' }), {
    message: '/b/config.json: /process/args/0: must be string',
  }, 'the file name comes from the options');
});

t.test('of several errors the deepest is reported', async (t) => {
  const error = (keyword: string, instancePath: string, params: Record<string, unknown>) => ({ keyword, instancePath, schemaPath: '#', params });
  t.equal(
    schemaErrorMessage('config.json', [
      error('type', '/linux/namespaces/0', { type: 'object' }),
      error('enum', '/linux/namespaces/0/type', { allowedValues: ['pid'] }),
      error('anyOf', '/linux/namespaces/0/type/x', {}),
    ]),
    'config.json: /linux/namespaces/0/type: must be one of "pid"',
  );
  t.equal(
    schemaErrorMessage('config.json', [error('type', '/a', { type: 'string' }), error('type', '/b', { type: 'integer' })]),
    'config.json: /a: must be string',
    'ties go to the first',
  );
  t.equal(schemaErrorMessage('config.json', [error('anyOf', '/a', {})]), 'config.json: /a: fails the schema rule #');
  t.equal(schemaErrorMessage('config.json', []), 'config.json: does not match the schema');
});

t.test('ociVersion must be a 1.x SemVer version', async (t) => {
  for (const version of ['1.0.0', '1.2.1', '1.3.0', '1.0.0-rc5', '1.0.2-dev', '1.3.0+dev', '1.10.0-rc.1+build.5']) {
    t.doesNotThrow(() => validateConfig(config((s) => (s.ociVersion = version)), opts), version);
  }
  t.throws(() => validateConfig(config((s) => (s.ociVersion = '2.0.0')), opts), {
    message: 'config.json: /ociVersion: unsupported runtime-spec version "2.0.0": runts implements 1.x',
  });
  t.throws(() => validateConfig(config((s) => (s.ociVersion = '0.6.0')), opts), { message: /unsupported runtime-spec version "0\.6\.0"/ });
  for (const version of ['invalid', '1.0', '1', '', 'v1.0.0', '1.0.0.0', '01.0.0', '1.0.0-']) {
    t.throws(() => validateConfig(config((s) => (s.ociVersion = version)), opts), {
      message: `config.json: /ociVersion: "${version}" is not a SemVer version`,
    }, JSON.stringify(version));
  }
});

t.test('validateConfig returns the spec and warnings', async (t) => {
  const result = validateConfig(config(), opts);
  t.same(result, { spec: base, warnings: [] });
  t.type(new SpecError('x'), Error);
  t.equal(new SpecError('x').name, 'SpecError');
});

t.test('validateProcess checks a lone process document', async (t) => {
  const process = structuredClone(base.process!);
  const processOpts = { file: 'process.json', detached: true };
  t.same(validateProcess(process, processOpts), process);
  t.throws(() => validateProcess({ ...process, cwd: 1 }, processOpts), { message: 'process.json: /cwd: must be string' });
  t.throws(() => validateProcess({ ...process, cwd: 'tmp' }, processOpts), { message: 'process.json: /cwd: must be an absolute path' });
  t.throws(() => validateProcess({ ...process, args: [] }, processOpts), { message: 'process.json: /args: must not be empty' });
  t.throws(() => validateProcess({ ...process, terminal: true }, processOpts), {
    message: 'process.json: /terminal: a detached container with a terminal requires --console-socket',
  });
  t.same(validateProcess({ ...process, terminal: true }, { ...processOpts, consoleSocket: '/tmp/sock' }).terminal, true);
});

t.test('validateResources checks an update --resources document', async (t) => {
  t.same(validateResources({ pids: { limit: 5 }, memory: { limit: 1048576 } }, 'r.json'), { pids: { limit: 5 }, memory: { limit: 1048576 } });
  t.throws(() => validateResources({ pids: 'x' }, 'r.json'), { name: 'SpecError', message: 'r.json: /pids: must be object' });
  t.throws(() => validateResources([], 'stdin'), { message: 'stdin: must be object' });
  t.throws(() => validateResources({ cpu: { shares: -1 } }, 'r.json'), { message: /^r\.json: \/cpu\/shares: must be >= 0$/ });
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  t.throws(() => validateResources({ unknownField: deep }, 'r.json'), { message: 'r.json: /unknownField/0/0/0/…: nested more than 512 levels deep' });
});

t.test('validateState', async (t) => {
  const state = { ociVersion: '1.3.0', id: 'c1', status: 'running', pid: 42, bundle: '/b' };
  t.same(validateState(state, 'state.json'), state);
  t.throws(() => validateState({ ...state, status: 'paused' }, 'state.json'), {
    message: 'state.json: /status: must be one of "creating", "created", "running", "stopped"',
  });
  t.throws(() => validateState({ ...state, pid: -1 }, 'state.json'), { message: 'state.json: /pid: must be >= 0' });
});

t.test('loadConfig: device fileMode with matching file-type bits (podman) is taken as its permission bits', async (t) => {
  const withDevice = (type: string, fileMode: number) =>
    config((spec) => {
      spec.linux = { ...spec.linux, devices: [{ path: '/dev/autofs', type, major: 10, minor: 235, fileMode }] };
    });
  const charDir = withBundle(t, { 'config.json': JSON.stringify(withDevice('c', 0o20644)) });
  t.equal(loadConfig(charDir).linux?.devices?.[0].fileMode, 0o644, 'S_IFCHR|0644 on a char device');
  const blockDir = withBundle(t, { 'config.json': JSON.stringify(withDevice('b', 0o20644)) });
  t.throws(() => loadConfig(blockDir), { message: /\/linux\/devices\/0\/fileMode: must be <= 511/ }, 'type bits of another kind are still refused');
});
