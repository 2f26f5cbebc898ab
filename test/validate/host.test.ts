// The --host probes of src/validate/host.ts against hosts other than this one (HostFacts).
import * as os from 'node:os';
import t from 'tap';
import { buildFeatures } from '../../src/features';
import type { Spec } from '../../src/spec/types';
import { hostFacts, hostProblems, type HostFacts } from '../../src/validate/host';

const spec = (linux: Spec['linux'], more: Partial<Spec> = {}): Spec => ({ ociVersion: '1.3.0', root: { path: 'rootfs' }, linux, ...more });

/** A host like this one, with `change` applied. */
function facts(change: Partial<HostFacts> = {}, kernel = os.release()): HostFacts {
  return { kernelRelease: kernel, features: buildFeatures(kernel), timeNamespaces: true, interfaceExists: () => true, ...change };
}

t.test('this host: what the probes read', async (t) => {
  const here = hostFacts();
  t.equal(typeof here.timeNamespaces, 'boolean');
  t.equal(here.rootless, undefined, 'root is not rootless');
  t.ok(here.interfaceExists('lo'));
  t.notOk(here.interfaceExists('no-such-if0'));
});

t.test('a time namespace on a kernel without them', async (t) => {
  const s = spec({ namespaces: [{ type: 'mount' }, { type: 'time' }] });
  t.same(hostProblems(s, facts()), []);
  t.match(hostProblems(s, facts({ timeNamespaces: false })), [{ pointer: '/linux/namespaces/1', message: /no time namespaces/ }]);
  t.same(hostProblems(spec({ namespaces: [{ type: 'time', path: '/proc/1/ns/time' }] }), facts({ timeNamespaces: false })), [], 'joining one is for the path check');
});

t.test('idmapped mounts before Linux 5.12', async (t) => {
  const s = spec({ namespaces: [{ type: 'mount' }] }, { mounts: [{ destination: '/a', source: '/a', type: 'bind', options: ['bind'] }, { destination: '/b', source: '/b', type: 'bind', options: ['bind', 'idmap'] }] });
  t.same(hostProblems(s, facts({}, '6.1.0')), []);
  t.match(hostProblems(s, facts({}, '5.10.0')), [{ pointer: '/mounts/1', message: /need Linux 5\.12/ }]);
});

t.test('seccomp flags and memory policies this kernel lacks', async (t) => {
  const s = spec({ seccomp: { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }, memoryPolicy: { mode: 'MPOL_PREFERRED_MANY', nodes: '0' } });
  t.same(hostProblems(s, facts({}, '6.10.0')), []);
  t.match(hostProblems(s, facts({}, '5.4.0')), [
    { pointer: '/linux/seccomp/flags/1', message: /SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported by this kernel \(5\.4\.0\)/ },
    { pointer: '/linux/memoryPolicy/mode', message: /MPOL_PREFERRED_MANY is not supported/ },
  ]);
});

t.test('a network device the host does not have', async (t) => {
  const s = spec({ namespaces: [{ type: 'network' }], netDevices: { eth9: {}, 'a/b': {} } });
  t.match(hostProblems(s, facts({ interfaceExists: (name) => name === 'eth9' })), [{ pointer: '/linux/netDevices/a~1b', message: 'no network interface "a/b" in the runtime\'s network namespace' }]);
});

t.test('rootless: subordinate ids without newuidmap/newgidmap', async (t) => {
  const s = spec({ namespaces: [{ type: 'user' }], uidMappings: [{ containerID: 0, hostID: 1000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] });
  const ids = { uid: 1000, gid: 1000 };
  t.same(hostProblems(s, facts({ rootless: { ids, mapHelpers: true } })), []);
  t.match(hostProblems(s, facts({ rootless: { ids, mapHelpers: false } })), [{ pointer: '/linux/uidMappings', message: /needs newuidmap \(package uidmap\)/ }]);
});
