// cgroup v2 limits and commands in the pure-v2 guest (test/vm/cg2vm): this host's hybrid
// layout has no v2 memory/pids/cpu controllers. One boot runs every check in a shell script
// that prints key=value lines.
import * as fs from 'node:fs';
import t from 'tap';
import { RUNTS_BIN, leakGuard, makeBundle, tempDir, uniqueId } from '../lib';
import { guestAvailable, parseReport, runInGuest } from '../vm/guest';

t.test('v2: limits written and enforced, pause/resume, update, ps, events, kill --all, delete', async (t) => {
  const unavailable = guestAvailable();
  if (unavailable) return t.plan(0, unavailable);
  leakGuard(t);
  const limited = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'cat /sys/fs/cgroup/memory.max; head -c 16m /dev/zero | tail; echo "tail=$?"'],
    config: (c) => {
      c.linux!.namespaces.push({ type: 'cgroup' });
      c.linux!.resources = { memory: { limit: 8 << 20 } };
    },
  });
  // pids.max=1: the shell is the one task; running /bin/true needs a fork.
  const forkless = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', '/bin/true; echo "rc=$?"'],
    config: (c) => void (c.linux!.resources = { pids: { limit: 1 } }),
  });
  const running = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'sleep 1000 & sleep 1000 & wait'],
    config: (c) => void (c.linux!.resources = { memory: { limit: 16 << 20 }, pids: { limit: 10 }, cpu: { shares: 1024, quota: 50000, period: 100000 }, devices: [{ allow: false, access: 'rwm' }] }),
  });
  const [a, b, c] = [uniqueId('v2'), uniqueId('v2'), uniqueId('v2')];
  const runnerTmp = tempDir(t, 'cg2vm');
  const script = `
    report() { printf '%s=%s\\n' "$1" "$(printf '%s' "$2" | tr '\\n' '|')"; }
    R="$RUNTIME --root /run/runts-v2"
    report limited "$($R run -b "$LIMITED" "$A" 2>&1)"
    report forkless "$($R run -b "$FORKLESS" "$C" 2>&1)"
    $R run -d -b "$RUNNING" "$B" </dev/null >/dev/null 2>&1
    report run-d "$?"
    report cpu "$(cat /sys/fs/cgroup/$B/cpu.weight)|$(cat /sys/fs/cgroup/$B/cpu.max)"
    $R pause "$B"; report pause "$?"
    report paused "$($R state "$B" | grep -o '"status": "[a-z]*"')|$(cat /sys/fs/cgroup/$B/cgroup.freeze)"
    $R resume "$B"; report resume "$?"
    report resumed "$($R state "$B" | grep -o '"status": "[a-z]*"')"
    $R update --memory 20m --pids-limit 12 "$B"; report update "$?"
    report updated "$(cat /sys/fs/cgroup/$B/memory.max)|$(cat /sys/fs/cgroup/$B/pids.max)"
    report ps "$($R ps --format json "$B" 2>&1)"
    report stats "$($R events --stats "$B")"
    $R kill --all "$B" KILL; report kill "$?"
    sleep 0.5
    report killed "$($R state "$B" | grep -o '"status": "[a-z]*"')"
    $R delete "$B"; report delete "$?"
    report left "$(ls /sys/fs/cgroup | grep -c v2- )"
  `;
  const result = await runInGuest(t, ['bash', '-c', script], {
    share: [limited.bundle, forkless.bundle, running.bundle],
    env: { RUNTIME: RUNTS_BIN, LIMITED: limited.bundle, FORKLESS: forkless.bundle, RUNNING: running.bundle, A: a, B: b, C: c, TMPDIR: runnerTmp },
    mem: '512M',
    timeoutSeconds: 240,
  });
  t.equal(result.code, 0, `guest script: ${result.stderr}`);
  const r = parseReport(result.stdout);
  const limitedOut = (r.limited ?? '').split('|');
  t.equal(limitedOut[0], String(8 << 20), 'memory.max as the container sees it');
  t.ok(limitedOut.includes('tail=137'), `an allocation past memory.max is OOM-killed (output: ${r.limited})`);
  t.match(r.forkless, /can't fork/, 'a fork past pids.max fails');
  t.notMatch(r.forkless, /rc=0/);
  t.equal(r.cpu, '39|50000 100000', 'cpu.shares 1024 → cpu.weight 39; quota/period → cpu.max');
  t.equal(r['run-d'], '0');
  t.equal(r.pause, '0');
  t.equal(r.paused, '"status": "paused"|1', 'paused through cgroup.freeze');
  t.equal(r.resumed, '"status": "running"');
  t.equal(r.update, '0');
  t.equal(r.updated, `${20 << 20}|12`, 'update wrote memory.max and pids.max');
  t.equal(JSON.parse(r.ps ?? 'null')?.length, 3, 'ps json: the three processes');
  t.match(JSON.parse(r.stats ?? '{}'), { type: 'stats', id: b, data: { memory: { usage: { limit: 20 << 20 } }, pids: { current: 3, limit: 12 } } });
  t.equal(r.killed, '"status": "stopped"', 'kill --all KILL (cgroup.kill) stopped it');
  t.equal(r.delete, '0');
  t.equal(r.left, '0', 'delete removed the cgroups');
  t.same(fs.readdirSync(runnerTmp), [], 'cg2vm removed its control directory');
});
