// A state root holding containers in each status, written through the real StateStore.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readStartTime } from '../../src/state/process';
import { execFifoPath } from '../../src/state/status';
import { StateStore, type ContainerRecord } from '../../src/state/store';

export const CREATED = '2026-11-28T06:30:25.700163104Z';

export function makeRoot(): { root: string; cleanup(): void } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-cmd-'));
  const root = path.join(tmp, 'root');
  const store = new StateStore(root);
  // This test process stands in for a live container init.
  const alive = { pid: process.pid, start: readStartTime(process.pid)! };
  const containers: [string, Partial<ContainerRecord>, boolean][] = [
    ['c-created', {}, true],
    ['c-running', { annotations: { 'org.example': 'yes' } }, false],
    ['c-stopped', { initStartTime: '1' }, false],
  ];
  for (const [id, over, fifo] of containers) {
    const handle = store.create(id);
    handle.write({
      ociVersion: '1.3.0',
      id,
      initPid: alive.pid,
      initStartTime: alive.start,
      bundle: `/bundles/${id}`,
      rootfs: `/bundles/${id}/rootfs`,
      created: CREATED,
      owner: '',
      annotations: {},
      config: {},
      ...over,
    });
    if (fifo) {
      fs.writeFileSync(execFifoPath(handle), '');
      // A waiting init holds exec.fifo open; this process stands in for it (closed at exit).
      fs.openSync(execFifoPath(handle), 'r');
    }
    handle.close();
  }
  // A create still in progress (no state.json yet) is not listed.
  store.create('c-half').close();
  return { root, cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }) };
}
