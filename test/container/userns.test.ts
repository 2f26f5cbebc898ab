// The runtime's host-side view of a container's user namespace (src/container/userns.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { adoptJoinedUserNs, hostIdOfRoot, readIdMap } from '../../src/container/userns';
import { InitError } from '../../src/init/launch';
import type { Spec } from '../../src/spec/types';

t.test('hostIdOfRoot: the host id of container id 0, 0 when unmapped', async (t) => {
  t.equal(hostIdOfRoot([{ containerID: 0, hostID: 100000, size: 65536 }]), 100000);
  t.equal(hostIdOfRoot([{ containerID: 1, hostID: 5, size: 10 }, { containerID: 0, hostID: 7000, size: 1 }]), 7000);
  t.equal(hostIdOfRoot([{ containerID: 1, hostID: 5, size: 10 }]), 0);
  t.equal(hostIdOfRoot(undefined), 0);
});

// Our own process's maps stand in for a joined namespace's: the same files, the same format.
const ownMaps = readIdMap(process.pid, 'uid_map');
const inInitialUserNs = ownMaps.length === 1 && ownMaps[0].hostID === 0 && ownMaps[0].size === 4294967295;

t.test('readIdMap parses /proc/<pid>/uid_map', { skip: !inInitialUserNs && 'the test runs inside a user namespace' }, async (t) => {
  t.same(readIdMap(process.pid, 'uid_map'), [{ containerID: 0, hostID: 0, size: 4294967295 }]);
  t.same(readIdMap(process.pid, 'gid_map'), [{ containerID: 0, hostID: 0, size: 4294967295 }]);
});

t.test('adoptJoinedUserNs: refuses different config maps, warns about matching ones, hands over the fifo', { skip: !inInitialUserNs && 'the test runs inside a user namespace' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-userns-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'exec.fifo');
  fs.writeFileSync(fifo, '');
  const spec = (uidHost?: number): Spec =>
    ({
      ociVersion: '1.3.0',
      linux: uidHost === undefined ? {} : { uidMappings: [{ containerID: 0, hostID: uidHost, size: 4294967295 }], gidMappings: [{ containerID: 0, hostID: 0, size: 4294967295 }] },
    }) as Spec;
  const warnings: string[] = [];
  t.throws(() => adoptJoinedUserNs(spec(1), process.pid, fifo, (w) => warnings.push(w)), new InitError('user namespaces enabled, but both namespace path and non-matching mapping specified -- you may only provide one'));
  adoptJoinedUserNs(spec(0), process.pid, fifo, (w) => warnings.push(w));
  t.same(warnings, ['config.json has both a userns path to join and a matching userns mapping specified -- you may only provide one']);
  adoptJoinedUserNs(spec(), process.pid, fifo, (w) => warnings.push(w));
  t.equal(warnings.length, 1, 'no warning without config maps');
  t.equal(fs.statSync(fifo).uid, 0, 'owned by the namespace\'s root');
});
