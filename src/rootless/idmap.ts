// Writing a new user namespace's uid_map and gid_map, as runc does it. Root writes any map
// itself. An unprivileged runtime may write only a map of its own single id (and for the gid
// map only after denying setgroups); anything else goes through the setuid helpers
// newuidmap/newgidmap (package uidmap), which check /etc/subuid and /etc/subgid.
import { closeSync, openSync, writeSync } from 'node:fs';
import { errnoMessage } from '../errors';
import { native, PROC_SUPER_MAGIC } from '../native';
import { idMapText } from '../plan/id-maps';
import type { LinuxIDMapping } from '../spec/types';

export class IdMapError extends Error {
  override name = 'IdMapError';
}

export interface Ids {
  uid: number;
  gid: number;
}

export function currentIds(): Ids {
  return { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
}

/** A map the unprivileged caller may write itself: its own id only, at any container id. */
export function isOwnIdOnly(mappings: LinuxIDMapping[], hostId: number): boolean {
  return mappings.length === 1 && mappings[0].size === 1 && mappings[0].hostID === hostId;
}

/** What an unprivileged runtime needs for these maps: writing them itself (then setgroups
 *  is denied in the container) or newuidmap/newgidmap. Root writes any map itself. */
export function idMapMethod(uidMappings: LinuxIDMapping[], gidMappings: LinuxIDMapping[], ids: Ids): { uid: 'self' | 'helper'; gid: 'self' | 'helper' } {
  if (ids.uid === 0) return { uid: 'self', gid: 'self' };
  return {
    uid: isOwnIdOnly(uidMappings, ids.uid) ? 'self' : 'helper',
    gid: isOwnIdOnly(gidMappings, ids.gid) ? 'self' : 'helper',
  };
}

/** One line of /etc/subuid or /etc/subgid: ids start..start+count-1 granted to its owner. */
export interface SubordinateRange {
  start: number;
  count: number;
}

/** The NSS service newuidmap/newgidmap ask for subordinate ids instead of /etc/subuid and
 *  /etc/subgid: nsswitch.conf's `subid:` entry (shadow's libsubid takes one), unless "files". */
export function subidService(nsswitch: string): string | undefined {
  const service = /^[ \t]*subid:[ \t]*(\S+)/m.exec(nsswitch)?.[1];
  return service === undefined || service === 'files' ? undefined : service;
}

/** The ranges /etc/subuid or /etc/subgid text grants `user`: lines naming it or its uid, as
 *  newuidmap/newgidmap read them (the gid file is also looked up by the user). */
export function parseSubordinateIds(text: string, user: { name: string; uid: number }): SubordinateRange[] {
  const out: SubordinateRange[] = [];
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if ((owner !== user.name && owner !== String(user.uid)) || !/^\d+$/.test(start ?? '') || !/^\d+$/.test(count ?? '')) continue;
    if (Number(count) > 0) out.push({ start: Number(start), count: Number(count) });
  }
  return out;
}

/**
 * Whether newuidmap/newgidmap accept a mapping entry: the caller's own id alone, or host ids
 * hostID..hostID+size-1 all granted, where adjacent or overlapping ranges join (shadow's
 * have_range follows one range into the next).
 */
export function helperGrants(mapping: LinuxIDMapping, granted: SubordinateRange[], ownId: number): boolean {
  if (mapping.size === 1 && mapping.hostID === ownId) return true;
  if (mapping.size <= 0) return false;
  const end = mapping.hostID + mapping.size; // exclusive
  let covered = mapping.hostID;
  for (const r of [...granted].sort((a, b) => a.start - b.start)) {
    if (r.start > covered) break;
    covered = Math.max(covered, r.start + r.count);
    if (covered >= end) return true;
  }
  return false;
}

/** Write to /proc/<pid>/<file>, refusing anything that is not real procfs (security rule 8). */
function writeProcFile(pid: number, file: string, text: string): void {
  const target = `/proc/${pid}/${file}`;
  let fd: number;
  try {
    fd = openSync(target, 'w');
  } catch (err) {
    throw new IdMapError(`open ${target}: ${errnoMessage(err)}`);
  }
  try {
    if (native().fstatfsType(fd) !== PROC_SUPER_MAGIC) throw new IdMapError(`${target}: not on procfs`);
    writeSync(fd, text);
  } catch (err) {
    if (err instanceof IdMapError) throw err;
    throw new IdMapError(`write ${JSON.stringify(text.trim())} to ${target}: ${errnoMessage(err)}`);
  } finally {
    closeSync(fd);
  }
}

/** Run newuidmap/newgidmap PID ID HOSTID SIZE ...; its own message says what it refused. */
function runMapHelper(tool: 'newuidmap' | 'newgidmap', pid: number, mappings: LinuxIDMapping[]): void {
  const args = [String(pid), ...mappings.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])];
  const field = tool === 'newuidmap' ? 'linux.uidMappings' : 'linux.gidMappings';
  // Loaded here: node:child_process (with net and streams) cost every create and run ~15 ms
  // of start-up, and only rootless containers with subordinate ids get here.
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const result = spawnSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new IdMapError(`${field}: a rootless container mapping more than the caller's own id needs ${tool} (package uidmap), which is not installed`);
    }
    throw new IdMapError(`${field}: run ${tool}: ${errnoMessage(result.error)}`);
  }
  if (result.status !== 0) {
    const why = (result.stderr || result.stdout).trim() || (result.signal ? `killed by ${result.signal}` : `exit status ${result.status}`);
    throw new IdMapError(`${field}: ${tool} ${args.join(' ')} failed: ${why}`);
  }
}

/**
 * Give the user namespace of `pid` (which has just unshared it and is dumpable) its maps.
 * The order matters: setgroups must be denied before an unprivileged gid_map write.
 */
export function writeIdMaps(pid: number, uidMappings: LinuxIDMapping[], gidMappings: LinuxIDMapping[], ids = currentIds()): void {
  const method = idMapMethod(uidMappings, gidMappings, ids);
  if (method.uid === 'self') writeProcFile(pid, 'uid_map', idMapText(uidMappings));
  else runMapHelper('newuidmap', pid, uidMappings);
  if (method.gid === 'helper') {
    runMapHelper('newgidmap', pid, gidMappings);
    return;
  }
  if (ids.uid !== 0) writeProcFile(pid, 'setgroups', 'deny');
  writeProcFile(pid, 'gid_map', idMapText(gidMappings));
}
