// The rootfs layers containerd hands a task (CreateTaskRequest.rootfs): mounted at
// BUNDLE/rootfs before create and unmounted at delete, with the option words of mount(8) as
// containerd's mount package reads them (flags out of the options, the rest is fs data).
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { errnoMessage } from '../errors';
import { native } from '../native';
import { sleepMs } from '../container/processes';
import type { RootfsMount } from './task-service';

const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_SYNCHRONOUS = 0x10;
const MS_REMOUNT = 0x20;
const MS_MANDLOCK = 0x40;
const MS_DIRSYNC = 0x80;
const MS_NOATIME = 0x400;
const MS_NODIRATIME = 0x800;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MS_UNBINDABLE = 0x20000;
const MS_PRIVATE = 0x40000;
const MS_SLAVE = 0x80000;
const MS_SHARED = 0x100000;
const MS_RELATIME = 0x200000;
const MS_STRICTATIME = 0x1000000;

const MNT_DETACH = 0x2;

/** Option word → [clear the flag instead of setting it, flag]. */
const FLAG_WORDS: Record<string, [boolean, number]> = {
  async: [true, MS_SYNCHRONOUS],
  atime: [true, MS_NOATIME],
  bind: [false, MS_BIND],
  defaults: [false, 0],
  dev: [true, MS_NODEV],
  diratime: [true, MS_NODIRATIME],
  dirsync: [false, MS_DIRSYNC],
  exec: [true, MS_NOEXEC],
  mand: [false, MS_MANDLOCK],
  noatime: [false, MS_NOATIME],
  nodev: [false, MS_NODEV],
  nodiratime: [false, MS_NODIRATIME],
  noexec: [false, MS_NOEXEC],
  nomand: [true, MS_MANDLOCK],
  norelatime: [true, MS_RELATIME],
  nostrictatime: [true, MS_STRICTATIME],
  nosuid: [false, MS_NOSUID],
  rbind: [false, MS_BIND | MS_REC],
  relatime: [false, MS_RELATIME],
  remount: [false, MS_REMOUNT],
  ro: [false, MS_RDONLY],
  rw: [true, MS_RDONLY],
  strictatime: [false, MS_STRICTATIME],
  suid: [true, MS_NOSUID],
  sync: [false, MS_SYNCHRONOUS],
};

const PROPAGATION_WORDS: Record<string, number> = {
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
};

export interface ParsedMountOptions {
  flags: number;
  propagation: number;
  /** What the filesystem gets as data: every word that is not a flag, comma-joined. */
  data: string;
}

export function parseMountOptions(options: string[]): ParsedMountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const word of options) {
    const flag = FLAG_WORDS[word];
    if (flag) {
      const [clear, bit] = flag;
      flags = clear ? flags & ~bit : flags | bit;
    } else if (PROPAGATION_WORDS[word] !== undefined) {
      propagation |= PROPAGATION_WORDS[word];
    } else {
      data.push(word);
    }
  }
  return { flags, propagation, data: data.join(',') };
}

/** Where a layer goes: BUNDLE/rootfs, or below it when the mount names a target. */
function targetOf(rootfs: string, m: RootfsMount): string {
  return m.target ? path.join(rootfs, path.resolve('/', m.target)) : rootfs;
}

function mountOne(rootfs: string, m: RootfsMount): void {
  const target = targetOf(rootfs, m);
  const { flags, propagation, data } = parseMountOptions(m.options);
  const at = `rootfs mount ${m.type} ${m.source} on ${target}`;
  try {
    native().mount(m.source, target, m.type, flags, data);
    // A bind mount ignores MS_RDONLY (and the other per-mount flags) until remounted.
    if (flags & MS_BIND && flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)) native().mount('', target, '', flags | MS_REMOUNT, '');
    if (propagation) native().mount('', target, '', propagation, '');
  } catch (err) {
    throw new Error(`${at}: ${errnoMessage(err)}`, { cause: err });
  }
}

/** Unmount everything stacked on `target` (a layer may be mounted more than once). */
export function unmountAll(target: string): void {
  let busy = 0;
  for (;;) {
    try {
      // A lingering user (a dying process of the container) makes it busy for a moment;
      // after half a second it is detached instead.
      native().umount2(target, busy < 50 ? 0 : MNT_DETACH);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'ENOENT') return; // nothing (more) mounted there
      if (code === 'EBUSY' && busy < 50) {
        busy++;
        sleepMs(10);
        continue;
      }
      throw new Error(`unmount rootfs ${target}: ${errnoMessage(err)}`, { cause: err });
    }
  }
}

/** Mount the layers in order at BUNDLE/rootfs; on failure unmount what was mounted and throw.
 *  Returns the directory the caller unmounts at delete (null when there were no layers). */
export function mountRootfs(bundle: string, mounts: RootfsMount[]): string | null {
  if (mounts.length === 0) return null;
  const rootfs = path.join(bundle, 'rootfs');
  mkdirSync(rootfs, { recursive: true, mode: 0o711 });
  const done: string[] = [];
  try {
    for (const m of mounts) {
      mountOne(rootfs, m);
      done.push(targetOf(rootfs, m));
    }
  } catch (err) {
    for (const target of done.reverse()) {
      try {
        unmountAll(target);
      } catch {
        // the original error is what the caller needs
      }
    }
    throw err;
  }
  return rootfs;
}
