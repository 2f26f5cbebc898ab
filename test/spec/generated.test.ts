// The build output of scripts/gen-spec.mjs: the validators load without ajv's schema
// compiler, and generation is deterministic and current.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const projectDir = join(__dirname, '..', '..');
const generatedDir = join(projectDir, 'src', 'spec', 'generated');

for (const validatorsPath of [join(generatedDir, 'validators.js'), join(generatedDir, 'validators-all.js')]) {
  t.test(`${validatorsPath.split('/').pop()} requires nothing but ajv runtime helpers`, async (t) => {
    const source = readFileSync(validatorsPath, 'utf8');
    const required = [...source.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]);
    t.same(required.filter((id) => !id.startsWith('ajv/dist/runtime/')), [], 'every require() is an ajv/dist/runtime/* helper');

    // Load it in a fresh node and list every module that came with it.
    const loaded = JSON.parse(
      execFileSync(process.execPath, ['-e', `require(${JSON.stringify(validatorsPath)}); console.log(JSON.stringify(Object.keys(require.cache)))`], {
        encoding: 'utf8',
      }),
    ) as string[];
    const ajvModules = loaded.filter((path) => path.includes('/node_modules/ajv/'));
    t.same(ajvModules.filter((path) => !path.includes('/node_modules/ajv/dist/runtime/')), [], 'no ajv compiler module is loaded');
  });
}

t.test('generation is deterministic and src/spec/generated is current', async (t) => {
  const scratch = mkdtempSync(join(tmpdir(), 'runts-gen-spec-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const generate = (out: string) => execFileSync(process.execPath, [join(projectDir, 'scripts', 'gen-spec.mjs'), '--out', out], { encoding: 'utf8' });
  generate(join(scratch, 'a'));
  generate(join(scratch, 'b'));
  const files = readdirSync(join(scratch, 'a')).sort();
  t.same(files, ['config-types.ts', 'inputs.sha256', 'state-types.ts', 'validators-all.d.ts', 'validators-all.js', 'validators.d.ts', 'validators.js']);
  for (const file of files) {
    const first = readFileSync(join(scratch, 'a', file), 'utf8');
    t.equal(readFileSync(join(scratch, 'b', file), 'utf8'), first, `${file}: two runs agree`);
    t.equal(readFileSync(join(generatedDir, file), 'utf8'), first, `${file}: src/spec/generated is up to date (run node scripts/gen-spec.mjs)`);
  }
});

t.test('the generated types carry the definitions\' names', async (t) => {
  const types = readFileSync(join(generatedDir, 'config-types.ts'), 'utf8');
  for (const name of ['Spec', 'Process', 'User', 'Root', 'Mount', 'Hook', 'Hooks', 'Linux', 'LinuxNamespace', 'LinuxIDMapping', 'LinuxDevice', 'POSIXRlimit', 'LinuxCapabilities', 'LinuxResources']) {
    t.match(types, new RegExp(`^export interface ${name} \\{`, 'm'), name);
  }
  const declared = [...types.matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1]);
  t.same(declared.filter((name) => /\d$/.test(name) && !/^U?int\d+$/i.test(name)), [], 'no numbered duplicates such as Hook1');
});
