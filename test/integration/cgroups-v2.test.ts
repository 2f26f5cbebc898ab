// cgroup v2 limits and commands in the pure-v2 guest (test/vm/cg2vm): this host's hybrid
// layout has no v2 memory/pids/cpu/io controllers. One boot runs every check in a shell script
// that prints key=value lines (each boot, and each node start inside, costs seconds).
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { REPO_ROOT, RUNTS_BIN, leakGuard, makeBundle, tempDir, uniqueId } from '../lib';
import { guestAvailable, parseReport, runInGuest } from '../vm/guest';

/** The guest's scratch disk (cg2vm --disk): /dev/ubda, block 98:0. */
const DISK = { major: 98, minor: 0 };
const KiB = 1024;
const MiB = 1024 * KiB;

/** "times T0 T1 T2" (seconds of /proc/uptime) → the two intervals. */
function intervals(line: string | undefined): [number, number] {
  const [t0, t1, t2] = (/times (\S+) (\S+) (\S+)/.exec(line ?? '') ?? []).slice(1).map(Number);
  return [t1 - t0, t2 - t1];
}

t.test('v2: limits written and enforced, pause/resume, update, ps, events, kill --all, delete', async (t) => {
  const unavailable = guestAvailable();
  if (unavailable) return t.plan(0, unavailable);
  leakGuard(t);
  const shared = tempDir(t, 'shared');
  const cgroupns = (c: Record<string, any>) => c.linux!.namespaces.push({ type: 'cgroup' });
  // Waits for the go file so that `events` has its baseline before the OOM kill.
  const limited = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'while [ ! -e /x/go ]; do sleep 0.1; done; cat /sys/fs/cgroup/memory.max; head -c 16m /dev/zero | tail; echo "tail=$?"'],
    config: (c) => {
      cgroupns(c);
      c.mounts.push({ destination: '/x', type: 'bind', source: shared, options: ['rbind', 'ro'] });
      c.linux!.resources = { memory: { limit: 8 * MiB } };
    },
  });
  // pids.max=1: the shell is the one task; running /bin/true needs a fork.
  const forkless = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', '/bin/true; echo "rc=$?"'],
    config: (c) => void (c.linux!.resources = { pids: { limit: 1 } }),
  });
  // In a cgroup namespace: exec joins it after the helper cloned itself into the cgroup
  // (nsdelegate refuses that across a cgroup namespace boundary).
  const running = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'sleep 1000 & sleep 1000 & wait'],
    config: (c) => {
      cgroupns(c);
      c.linux!.resources = {
        memory: { limit: 16 * MiB },
        pids: { limit: 10 },
        cpu: { shares: 1024, quota: 50000, period: 100000, burst: 20000 },
        devices: [{ allow: false, access: 'rwm' }],
      };
    },
  });
  // io.max on the scratch disk, timed from inside: 512 KiB written at 512 KiB/s, 16 reads at 16/s.
  const io = await makeBundle(tempDir(t, 'bundle'), {
    args: [
      'sh',
      '-c',
      'cat /sys/fs/cgroup/io.max /sys/fs/cgroup/cpu.idle; up() { cut -d" " -f1 /proc/uptime; }; t0=$(up); ' +
        'dd if=/dev/zero of=/dev/ubda bs=64k count=8 oflag=direct 2>/dev/null || echo write-failed; t1=$(up); ' +
        'dd if=/dev/ubda of=/dev/null bs=4k count=16 iflag=direct 2>/dev/null || echo read-failed; t2=$(up); echo "times $t0 $t1 $t2"',
    ],
    config: (c) => {
      cgroupns(c);
      c.linux!.devices = [{ path: '/dev/ubda', type: 'b', ...DISK, fileMode: 0o660 }];
      const rate = (r: number) => [{ ...DISK, rate: r }];
      c.linux!.resources = {
        cpu: { idle: 1 },
        blockIO: { throttleWriteBpsDevice: rate(512 * KiB), throttleReadIOPSDevice: rate(16), throttleReadBpsDevice: rate(4 * MiB), throttleWriteIOPSDevice: rate(1000) },
      };
    },
  });
  // The device eBPF program in a container: everything denied but the defaults; the disk is
  // there (bind-mounted) but outside the rules.
  const devices = await makeBundle(tempDir(t, 'bundle'), {
    args: ['sh', '-c', 'exec 3</dev/null && echo null-ok; (exec 4</dev/ubda) 2>/dev/null && echo disk-ok || echo disk-denied'],
    config: (c) => {
      c.mounts.push({ destination: '/dev/ubda', type: 'bind', source: '/dev/ubda', options: ['bind'] });
      c.linux!.resources = { devices: [{ allow: false, access: 'rwm' }] };
    },
  });
  // Limits no v2 controller of this kernel can enforce: each fails create, naming its field.
  const refused = {
    realtime: { cpu: { realtimeRuntime: 10000, realtimePeriod: 1000000 } },
    hugetlb: { hugepageLimits: [{ pageSize: '2MB', limit: 2 * MiB }] },
    ioweight: { blockIO: { weight: 500 } },
  };
  const refusedBundles = await Promise.all(Object.values(refused).map((resources) => makeBundle(tempDir(t, 'bundle'), { args: ['true'], config: (c) => void (c.linux!.resources = resources) })));

  const [a, b, c] = [uniqueId('v2'), uniqueId('v2'), uniqueId('v2')];
  const runnerTmp = tempDir(t, 'cg2vm');
  const script = `
    report() { printf '%s=%s\\n' "$1" "$(printf '%s' "$2" | tr '\\n' '|')"; }
    R="$RUNTIME --root /run/runts-v2"
    CG=/sys/fs/cgroup
    set -- $REFUSED
    for name in realtime hugetlb ioweight; do
      report "refused-$name" "$($R create -b "$1" "$A-$name" 2>&1; echo "rc=$?")"; shift
    done

    # memory.max OOM kill, seen by events (memory.events oom_kill).
    $R run -d -b "$LIMITED" "$A" </dev/null >/tmp/limited.out 2>&1; report limited-run "$?"
    $R events --interval 1s "$A" >/tmp/events.out 2>&1 &
    events=$!
    for i in $(seq 300); do grep -q '"type":"stats"' /tmp/events.out && break; sleep 0.1; done
    touch "$SHARED/go"
    wait $events; report events-rc "$?"
    report limited "$(cat /tmp/limited.out)"
    report oom-lines "$(grep -c '"type":"oom"' /tmp/events.out)"
    report oom-kill "$(grep oom_kill $CG/$A/memory.events)"
    $R delete "$A"; report limited-delete "$?"

    report forkless "$($R run -b "$FORKLESS" "$C" 2>&1)"
    report devices "$($R run -b "$DEVICES" "$C-dev" 2>&1)"
    up() { cut -d" " -f1 /proc/uptime; }
    t0=$(up); dd if=/dev/zero of=/dev/ubda bs=64k count=8 oflag=direct 2>/dev/null; t1=$(up)
    dd if=/dev/ubda of=/dev/null bs=4k count=16 iflag=direct 2>/dev/null; t2=$(up)
    report io-unthrottled "times $t0 $t1 $t2"
    report io "$($R run -b "$IO" "$C-io" 2>&1)"

    $R --debug --log /tmp/join.log run -d -b "$RUNNING" "$B" </dev/null >/dev/null 2>&1
    report run-d "$?"
    init=$($R state "$B" | grep -o '"pid": [0-9]*' | cut -d' ' -f2)
    report members "$(grep ^0:: /proc/$init/cgroup)|$($R --debug --log /tmp/join.log exec "$B" grep ^0:: /proc/self/cgroup)"
    report joins "$(grep -o 'cgroups: [^"(]*' /tmp/join.log)"
    report cpu "$(cat $CG/$B/cpu.weight)|$(cat $CG/$B/cpu.max)|$(cat $CG/$B/cpu.max.burst)"
    $R pause "$B"; report pause "$?"
    report paused "$($R state "$B" | grep -o '"status": "[a-z]*"')|$(cat $CG/$B/cgroup.freeze)"
    $R resume "$B"; report resume "$?"
    report resumed "$($R state "$B" | grep -o '"status": "[a-z]*"')"
    $R update --memory 20m --pids-limit 12 --cpu-share 512 --cpu-quota 30000 --cpu-period 200000 "$B"; report update "$?"
    echo '{"blockIO":{"throttleReadBpsDevice":[{"major":98,"minor":0,"rate":1048576}],"throttleWriteIOPSDevice":[{"major":98,"minor":0,"rate":50}]},"cpu":{"burst":10000}}' |
      $R update --resources - "$B"; report update-resources "$?"
    report updated "$(cat $CG/$B/memory.max)|$(cat $CG/$B/pids.max)|$(cat $CG/$B/cpu.weight)|$(cat $CG/$B/cpu.max)|$(cat $CG/$B/cpu.max.burst)|$(cat $CG/$B/io.max)"
    report ps "$($R ps --format json "$B" 2>&1)"
    # events --stats against the files, read just before and just after.
    files() { printf '%s ' $(cat $CG/$B/memory.current) $(grep -E '^(usage_usec|nr_periods)' $CG/$B/cpu.stat | cut -d' ' -f2) $(grep '^anon ' $CG/$B/memory.stat | cut -d' ' -f2); }
    report files-before "$(files)"
    report stats "$($R events --stats "$B")"
    report files-after "$(files)"
    report limits "$(cat $CG/$B/memory.max) $(cat $CG/$B/memory.swap.max) $(cat $CG/$B/pids.current) $(cat $CG/$B/pids.max)"
    $R kill --all "$B" KILL; report kill "$?"
    sleep 0.5
    report killed "$($R state "$B" | grep -o '"status": "[a-z]*"')"
    $R delete "$B"; report delete "$?"
    report left "$(ls $CG | grep -c v2- )|$(ls /run/runts-v2)"
  `;
  const result = await runInGuest(t, ['bash', '-c', script], {
    share: [shared, limited.bundle, forkless.bundle, running.bundle, io.bundle, devices.bundle, ...refusedBundles.map((r) => r.bundle)],
    env: {
      RUNTIME: RUNTS_BIN,
      LIMITED: limited.bundle,
      FORKLESS: forkless.bundle,
      RUNNING: running.bundle,
      IO: io.bundle,
      DEVICES: devices.bundle,
      REFUSED: refusedBundles.map((r) => r.bundle).join(' '),
      SHARED: shared,
      A: a,
      B: b,
      C: c,
      TMPDIR: runnerTmp,
    },
    disk: '16M',
    mem: '512M',
    timeoutSeconds: 300,
  });
  t.equal(result.code, 0, `guest script: ${result.stderr}`);
  const r = parseReport(result.stdout);

  t.match(r['refused-realtime'], /linux\.resources\.cpu\.realtime(Period|Runtime): not supported by cgroup v2.*\|rc=1$/, 'realtime fields: an error on v2 naming the field');
  t.match(r['refused-hugetlb'], /linux\.resources\.hugepageLimits: no cgroup controller is available to enforce it.*\|rc=1$/, 'hugepageLimits without a hugetlb controller');
  t.match(r['refused-ioweight'], /linux\.resources\.blockIO\.weight: .*io\.(bfq\.)?weight does not exist.*\|rc=1$/, 'blockIO.weight without BFQ or io.cost');

  t.equal(r['limited-run'], '0');
  t.equal(r['events-rc'], '0', 'events ends when the container stops');
  const limitedOut = (r.limited ?? '').split('|');
  t.equal(limitedOut[0], String(8 * MiB), 'memory.max as the container sees it');
  t.ok(limitedOut.includes('tail=137'), `an allocation past memory.max is OOM-killed (output: ${r.limited})`);
  t.match(r['oom-kill'], /^oom_kill [1-9]/, 'memory.events counts the OOM kill');
  t.equal(r['oom-lines'], '1', 'events printed one oom line');
  t.equal(r['limited-delete'], '0');

  t.match(r.forkless, /can't fork/, 'a fork past pids.max fails');
  t.notMatch(r.forkless, /rc=0/);
  t.equal(r.devices, 'null-ok|disk-denied', 'device eBPF program: /dev/null opens, the disk outside the rules does not');

  const [ioMax, idle, times] = (r.io ?? '').split('|');
  t.equal(ioMax, '98:0 rbps=4194304 wbps=524288 riops=16 wiops=1000', 'io.max: the four throttles on the disk');
  t.equal(idle, '1', 'cpu.idle');
  const [write, read] = intervals(times);
  const [freeWrite, freeRead] = intervals(r['io-unthrottled']);
  t.ok(write >= 0.6, `512 KiB direct write at wbps=512KiB/s took ${write}s (unthrottled: ${freeWrite}s)`);
  t.ok(read >= 0.6, `16 direct reads at riops=16 took ${read}s (unthrottled: ${freeRead}s)`);

  t.equal(r.cpu, '39|50000 100000|20000', 'cpu.shares 1024 → cpu.weight 39; quota/period → cpu.max; burst → cpu.max.burst');
  t.equal(r['run-d'], '0');
  t.equal(r.members, `0::/${b}|0::/`, "the init is in the container's cgroup, an exec'd process at the root of its cgroup namespace");
  if (RUNTS_BIN === path.join(REPO_ROOT, 'bin', 'runts')) {
    t.equal(r.joins, 'cgroups: the helper joins them itself |cgroups: the helper joins them itself ', 'run and exec: the helper cloned itself into it');
  }
  t.equal(r.pause, '0');
  t.equal(r.paused, '"status": "paused"|1', 'paused through cgroup.freeze');
  t.equal(r.resumed, '"status": "running"');
  t.equal(r.update, '0');
  t.equal(r['update-resources'], '0');
  t.equal(
    r.updated,
    `${20 * MiB}|12|20|30000 200000|10000|98:0 rbps=1048576 wbps=max riops=max wiops=50`,
    'update wrote memory.max, pids.max, cpu.weight (shares 512), cpu.max, cpu.max.burst and io.max',
  );
  t.equal(JSON.parse(r.ps ?? 'null')?.length, 3, 'ps json: the three processes');

  // events --stats: the numbers are the files'.
  const stats = JSON.parse(r.stats ?? '{}');
  const [memBefore, usecBefore, periodsBefore, anonBefore] = (r['files-before'] ?? '').trim().split(' ').map(Number);
  const [memAfter, usecAfter, periodsAfter, anonAfter] = (r['files-after'] ?? '').trim().split(' ').map(Number);
  const [memMax, swapMax, pidsCurrent, pidsMax] = (r.limits ?? '').split(' ');
  const between = (v: number, lo: number, hi: number) => v >= Math.min(lo, hi) && v <= Math.max(lo, hi);
  t.match(stats, { type: 'stats', id: b, data: { memory: { usage: { limit: Number(memMax) } }, pids: { current: Number(pidsCurrent), limit: Number(pidsMax) } } });
  t.ok(between(stats.data?.memory?.usage?.usage, memBefore, memAfter), `memory usage ${stats.data?.memory?.usage?.usage} is memory.current (${memBefore}..${memAfter})`);
  t.ok(between(stats.data?.memory?.raw?.anon, anonBefore, anonAfter), 'memory raw anon is memory.stat\'s');
  t.ok(between(stats.data?.cpu?.usage?.total / 1000, usecBefore, usecAfter), `cpu usage ${stats.data?.cpu?.usage?.total} ns is cpu.stat usage_usec (${usecBefore}..${usecAfter})`);
  t.ok(between(stats.data?.cpu?.throttling?.periods ?? 0, periodsBefore, periodsAfter), 'throttling periods are cpu.stat nr_periods');
  t.equal(swapMax, 'max');
  t.match(r.stats, /"swap":\{"usage":\d+,"limit":18446744073709551615\}/, 'memory.swap.max "max" is reported as runc does (2^64-1)');

  t.equal(r.killed, '"status": "stopped"', 'kill --all KILL (cgroup.kill) stopped it');
  t.equal(r.delete, '0');
  t.equal(r.left, '0|', 'no cgroup and no state left, also after the refused creates');
  t.same(fs.readdirSync(runnerTmp), [], 'cg2vm removed its control directory');
});
