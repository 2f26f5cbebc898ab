// The systemd cgroup driver (--systemd-cgroup) against a real systemd: the cgroup v2 guest
// booted with systemd as PID 1 (cg2vm --systemd). One boot, one shell script printing
// key=value lines. This host has systemd installed but not running: there the driver's
// "systemd is not running" error is tested (cgroups.test.ts).
import * as fs from 'node:fs';
import t from 'tap';
import { RUNTS_BIN, leakGuard, makeBundle, tempDir, uniqueId } from '../lib';
import { guestAvailable, parseReport, runInGuest } from '../vm/guest';

const SYSTEMD = '/lib/systemd/systemd';
const MiB = 1024 * 1024;

t.test('--systemd-cgroup: a transient scope per container, limits as unit properties and in cgroupfs, update, stop on delete', async (t) => {
  const unavailable = guestAvailable() ?? (fs.existsSync(SYSTEMD) ? undefined : `no ${SYSTEMD} to boot in the guest (apt-get install systemd)`);
  if (unavailable) return t.plan(0, unavailable);
  leakGuard(t);
  const [a, b, c] = [uniqueId('sd'), uniqueId('sd'), uniqueId('sd')];
  const running = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'sleep 1000 & sleep 1000 & wait'],
    config: (cfg) => {
      cfg.linux!.cgroupsPath = `system.slice:runts:${a}`;
      cfg.linux!.resources = { memory: { limit: 32 * MiB }, pids: { limit: 20 }, cpu: { shares: 1024, quota: 50000, period: 100000 }, unified: { 'memory.high': String(24 * MiB) } };
    },
  });
  // Refused once the scope exists: the guest kernel has neither io.bfq.weight nor io.weight.
  const refused = await makeBundle(tempDir(t, 'bundle'), {
    args: ['true'],
    config: (cfg) => {
      cfg.linux!.cgroupsPath = `system.slice:runts:${b}`;
      cfg.linux!.resources = { blockIO: { weight: 500 } };
    },
  });
  // A slice of its own (systemd makes it), the init in a cgroup namespace, and runts's device
  // program on systemd's scope: the scratch disk is bind-mounted but outside the rules.
  const sliced = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'cat /proc/self/cgroup; exec 3</dev/null && echo null-ok; (exec 4</dev/ubda) 2>/dev/null && echo disk-ok || echo disk-denied; sleep 1000'],
    config: (cfg) => {
      cfg.linux!.cgroupsPath = `runts-test.slice:box:${c}`;
      cfg.linux!.namespaces.push({ type: 'cgroup' });
      cfg.mounts.push({ destination: '/dev/ubda', type: 'bind', source: '/dev/ubda', options: ['bind'] });
      cfg.linux!.resources = { pids: { limit: 5 }, devices: [{ allow: false, access: 'rwm' }] };
    },
  });
  const script = `
    report() { printf '%s=%s\\n' "$1" "$(printf '%s' "$2" | tr '\\n' '|')"; }
    R="$RUNTIME --root /run/runts-sd --systemd-cgroup"
    U=runts-$A.scope
    D=/sys/fs/cgroup/system.slice/$U
    show() { systemctl show "$@" --no-pager; }
    report pid1 "$(cat /proc/1/comm)"
    $R run -d -b "$RUNNING" "$A" </dev/null >/dev/null 2>&1; report run-d "$?"
    report unit "$(show $U -p ActiveState -p Slice -p Delegate -p ControlGroup -p Description -p MemoryMax -p MemoryHigh -p TasksMax -p CPUWeight -p CPUQuotaPerSecUSec -p CPUQuotaPeriodUSec)"
    report files "$(cat $D/memory.max) $(cat $D/memory.high) $(cat $D/pids.max) $(cat $D/cpu.weight) $(cat $D/cpu.max)"
    pid=$($R state "$A" | grep -o '"pid": [0-9]*' | grep -o '[0-9]*$')
    report init-cgroup "$(cat /proc/$pid/cgroup)"
    report exec-cgroup "$($R exec "$A" cat /proc/self/cgroup 2>&1)"
    $R update --memory 48m --pids-limit 30 --cpu-share 512 "$A"; report update "$?"
    report unit-updated "$(show $U -p MemoryMax -p TasksMax -p CPUWeight)"
    report files-updated "$(cat $D/memory.max) $(cat $D/pids.max) $(cat $D/cpu.weight)"
    $R pause "$A"; report paused "$(cat $D/cgroup.freeze)|$($R state "$A" | grep -o '"status": "[a-z]*"')"
    $R resume "$A"
    $R kill --all "$A" KILL
    # The guest can be slow (tap runs another test file beside this one): wait for stopped.
    for i in $(seq 100); do $R state "$A" | grep -q '"status": "stopped"' && break; sleep 0.1; done
    report delete "$($R delete "$A" 2>&1; echo "rc=$?")"
    report unit-deleted "$(show $U -p LoadState -p ActiveState)"

    report refused "$($R create -b "$REFUSED" "$B" 2>&1; echo "rc=$?")"
    report refused-unit "$(show runts-$B.scope -p LoadState -p ActiveState)"

    $R run -d -b "$SLICED" "$C" </dev/null >/tmp/sliced.out 2>&1; report sliced-run "$?"
    report sliced "$(cat /tmp/sliced.out)|$(cat /sys/fs/cgroup/runts.slice/runts-test.slice/box-$C.scope/pids.max)|$(show box-$C.scope -p Slice -p TasksMax)"
    report sliced-delete "$($R delete --force "$C" 2>&1; echo "rc=$?")"
    report sliced-unit "$(show box-$C.scope -p LoadState -p ActiveState)"
    report left "$(find /sys/fs/cgroup -name 'runts-sd-*' -o -name 'box-sd-*' | wc -l)|$(ls /run/runts-sd)"
  `;
  const result = await runInGuest(t, ['bash', '-c', script], {
    systemd: true,
    disk: '1M',
    share: [running.bundle, refused.bundle, sliced.bundle],
    env: { RUNTIME: RUNTS_BIN, RUNNING: running.bundle, REFUSED: refused.bundle, SLICED: sliced.bundle, A: a, B: b, C: c, TMPDIR: tempDir(t, 'cg2vm') },
    mem: '512M',
    timeoutSeconds: 240,
  });
  t.equal(result.code, 0, `guest script: ${result.stderr}`);
  const r = parseReport(result.stdout);
  t.equal(r.pid1, 'systemd', 'systemd is the guest\'s PID 1');
  t.equal(r['run-d'], '0');
  t.same(
    (r.unit ?? '').split('|').sort(),
    [
      'ActiveState=active',
      'CPUQuotaPerSecUSec=500ms',
      'CPUQuotaPeriodUSec=100ms',
      'CPUWeight=39',
      `ControlGroup=/system.slice/runts-${a}.scope`,
      'Delegate=yes',
      `Description=runts container ${a}`,
      `MemoryHigh=${24 * MiB}`,
      `MemoryMax=${32 * MiB}`,
      'Slice=system.slice',
      'TasksMax=20',
    ],
    'a delegated transient scope in system.slice, with the limits as unit properties',
  );
  t.equal(r.files, `${32 * MiB} ${24 * MiB} 20 39 50000 100000`, 'and in cgroupfs');
  t.equal(r['init-cgroup'], `0::/system.slice/runts-${a}.scope`, 'the init is in the scope');
  t.equal(r['exec-cgroup'], `0::/system.slice/runts-${a}.scope`, 'so is an exec\'d process');
  t.equal(r.update, '0');
  t.same((r['unit-updated'] ?? '').split('|').sort(), ['CPUWeight=20', `MemoryMax=${48 * MiB}`, 'TasksMax=30'], 'update sets the unit properties');
  t.equal(r['files-updated'], `${48 * MiB} 30 20`, 'and the files');
  t.equal(r.paused, '1|"status": "paused"');
  // No output: each of these calls got its answer at once (a systemd that reads a call along
  // with the client's BEGIN used to leave it unanswered: a 30 s wait, a warning or a failure).
  t.equal(r.delete, 'rc=0', 'delete: status 0, no warning');
  t.equal(r['unit-deleted'], 'LoadState=not-found|ActiveState=inactive', 'delete: the unit is gone');

  t.match(r.refused, /^[^|]* level=error msg="linux\.resources\.blockIO\.weight: [^|]*does not exist[^|]*\|rc=1$/, 'a limit refused after the scope started: create fails naming the field, and says nothing else');
  t.equal(r['refused-unit'], 'LoadState=not-found|ActiveState=inactive', 'and its scope is stopped');

  t.equal(r['sliced-run'], '0');
  const [ownView, nullOpen, diskOpen, pidsMax, ...sliceProps] = (r.sliced ?? '').split('|');
  t.equal(ownView, '0::/', 'in a cgroup namespace the scope is the root');
  t.same([nullOpen, diskOpen], ['null-ok', 'disk-denied'], 'the device program works in systemd\'s scope');
  t.equal(pidsMax, '5');
  t.same(sliceProps.sort(), ['Slice=runts-test.slice', 'TasksMax=5'], 'the scope is in the slice systemd made for it');
  t.equal(r['sliced-delete'], 'rc=0', 'delete --force: status 0, no warning');
  t.equal(r['sliced-unit'], 'LoadState=not-found|ActiveState=inactive');
  t.equal(r.left, '0|', 'no cgroup and no state left');
});
