// The real-kernel check of the cgroup v2 device filter (src/cgroups/devices-bpf.ts), shared by
// test/cgroups/devices-bpf.test.ts on this host and, bundled to plain JS, inside the cgroup v2
// guest (node there is too slow to load TypeScript). Run as a program it prints the result as
// JSON: `node device-filter-probe.js CGROUP2_ROOT`.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyDeviceRulesV2 } from '../../src/cgroups/devices-bpf';
import { native } from '../../src/native';

/** Probe name → 'ok' | 'denied'. */
export type ProbeResult = Record<string, string>;

export interface DeviceFilterObservations {
  /** Before any filter. */
  unfiltered: ProbeResult;
  /** With everything allowed but reads of /dev/null (c 1:3 r). */
  denyNullRead: ProbeResult;
  /** The names of the programs attached to the cgroup after the first and after the second apply. */
  programsAfterApply: string[];
  programsAfterUpdate: string[];
  /** After the update to: everything allowed but /dev/zero (c 1:5 rwm). */
  denyZero: ProbeResult;
}

/** A shell script that moves itself into $CGROUP_DIR, then prints "<probe> ok|denied" lines. */
const PROBE_SCRIPT = [
  'echo $$ > "$CGROUP_DIR/cgroup.procs" || exit 99',
  'probe() { if (eval "$2") 2>/dev/null; then echo "$1 ok"; else echo "$1 denied"; fi; }',
  'probe null-read "cat /dev/null"',
  'probe null-write "echo x > /dev/null"',
  'probe null-rdwr "exec 3<>/dev/null"',
  'probe zero-read "head -c 1 /dev/zero >/dev/null"',
  // "denied" here means cat did NOT fail with EPERM.
  'probe null-read-eperm "cat /dev/null 2>&1 | grep -q \'Operation not permitted\'"',
].join('\n');

function probe(cgroupDir: string): ProbeResult {
  const result = spawnSync('sh', ['-c', PROBE_SCRIPT], { env: { ...process.env, CGROUP_DIR: cgroupDir }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`probe script in ${cgroupDir} exited ${result.status}: ${result.stderr}`);
  return Object.fromEntries(result.stdout.trim().split('\n').map((line) => line.split(' ') as [string, string]));
}

function attachedProgramNames(cgroupDir: string): string[] {
  const addon = native();
  const dirFd = fs.openSync(cgroupDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    return addon.bpfProgQueryDevice(dirFd).map((id) => {
      const progFd = addon.bpfProgGetFdById(id);
      try {
        return addon.bpfProgName(progFd);
      } finally {
        fs.closeSync(progFd);
      }
    });
  } finally {
    fs.closeSync(dirFd);
  }
}

/**
 * Makes a cgroup of its own under `cgroup2Root`, attaches filters to it with
 * applyDeviceRulesV2 and probes devices from a shell moved into it; removes the cgroup.
 */
export function observeDeviceFilter(cgroup2Root: string): DeviceFilterObservations {
  const dir = path.join(cgroup2Root, `runts-test-devbpf-${process.pid}-${randomBytes(3).toString('hex')}`);
  fs.mkdirSync(dir);
  try {
    const unfiltered = probe(dir);
    applyDeviceRulesV2(dir, [{ allow: true }, { allow: false, type: 'c', major: 1, minor: 3, access: 'r' }]);
    const denyNullRead = probe(dir);
    const programsAfterApply = attachedProgramNames(dir);
    applyDeviceRulesV2(dir, [{ allow: true }, { allow: false, type: 'c', major: 1, minor: 5 }]);
    const programsAfterUpdate = attachedProgramNames(dir);
    const denyZero = probe(dir);
    return { unfiltered, denyNullRead, programsAfterApply, programsAfterUpdate, denyZero };
  } finally {
    fs.rmdirSync(dir); // the probe shells have exited: the cgroup is empty
  }
}

if (require.main === module) {
  process.stdout.write(`${JSON.stringify(observeDeviceFilter(process.argv[2] ?? '/sys/fs/cgroup'))}\n`);
}
