// The device cgroup rules a container gets: its linux.resources.devices, then (as runc does)
// access to the devices every container has and to the ones linux.devices creates. v1 writes
// them to devices.allow / devices.deny in order; v2 hands the list to devices-bpf.ts.
import type { LinuxDevice, LinuxDeviceCgroup } from '../spec/types';
import { ResourceError, type CgroupWrite } from './resources';

const rwm = (type: string, major: number, minor: number): LinuxDeviceCgroup => ({ allow: true, type, major, minor, access: 'rwm' });

/** Always allowed: mknod of anything, and the standard /dev nodes, ptys and tun. */
export const DEFAULT_DEVICE_RULES: readonly LinuxDeviceCgroup[] = [
  { allow: true, type: 'c', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'b', major: -1, minor: -1, access: 'm' },
  rwm('c', 1, 3), // /dev/null
  rwm('c', 1, 5), // /dev/zero
  rwm('c', 1, 7), // /dev/full
  rwm('c', 1, 8), // /dev/random
  rwm('c', 1, 9), // /dev/urandom
  rwm('c', 5, 0), // /dev/tty
  rwm('c', 5, 2), // /dev/ptmx
  rwm('c', 136, -1), // /dev/pts/*
  rwm('c', 10, 200), // /dev/net/tun
];

/** The full rule list, in the order the kernel (or the BPF program) must see it. */
export function effectiveDeviceRules(rules: LinuxDeviceCgroup[] | undefined, devices: LinuxDevice[] | undefined): LinuxDeviceCgroup[] {
  const created = (devices ?? [])
    .filter((d) => d.type === 'c' || d.type === 'u' || d.type === 'b')
    .map((d) => rwm(d.type === 'b' ? 'b' : 'c', d.major ?? -1, d.minor ?? -1));
  return [...(rules ?? []), ...DEFAULT_DEVICE_RULES, ...created];
}

/**
 * The rwm letters of a rule's access, in that order; absent or empty means all three. Other
 * letters are ignored, as runc does (its Permissions set ignores them): clients send such
 * accesses, e.g. "rwa". An access with none of r, w, m is refused.
 */
export function deviceAccess(access: string | undefined, field: string): string {
  const letters = [...'rwm'].filter((letter) => !access || access.includes(letter)).join('');
  if (letters === '') throw new ResourceError(`${field}.access: invalid access ${JSON.stringify(access)} (none of r, w, m)`);
  return letters;
}

const id = (n: number | undefined) => (n === undefined || n === -1 ? '*' : String(n));

/** One rule as a devices.allow / devices.deny line ("c 1:3 rwm", "a"). */
export function deviceRuleLine(rule: LinuxDeviceCgroup, index: number): string {
  const type = rule.type ?? 'a';
  const field = `linux.resources.devices[${index}]`;
  if (!['a', 'b', 'c'].includes(type)) throw new ResourceError(`${field}.type: invalid device type ${JSON.stringify(type)}`);
  const access = deviceAccess(rule.access, field);
  if (type === 'a') return 'a';
  return `${type} ${id(rule.major)}:${id(rule.minor)} ${access}`;
}

export function deviceRulesV1(rules: LinuxDeviceCgroup[]): CgroupWrite[] {
  return rules.map((rule, i) => ({
    file: rule.allow ? 'devices.allow' : 'devices.deny',
    value: deviceRuleLine(rule, i),
    field: 'linux.resources.devices',
  }));
}
