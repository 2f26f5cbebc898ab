// config.json mount options → mount(2) flags, propagation and fs data, as runc reads them.

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** Options that set (clear=false) or clear (clear=true) a flag. */
const FLAG_OPTIONS: Record<string, { clear: boolean; flag: number }> = {
  ro: { clear: false, flag: MS.RDONLY },
  rw: { clear: true, flag: MS.RDONLY },
  nosuid: { clear: false, flag: MS.NOSUID },
  suid: { clear: true, flag: MS.NOSUID },
  nodev: { clear: false, flag: MS.NODEV },
  dev: { clear: true, flag: MS.NODEV },
  noexec: { clear: false, flag: MS.NOEXEC },
  exec: { clear: true, flag: MS.NOEXEC },
  sync: { clear: false, flag: MS.SYNCHRONOUS },
  async: { clear: true, flag: MS.SYNCHRONOUS },
  dirsync: { clear: false, flag: MS.DIRSYNC },
  remount: { clear: false, flag: MS.REMOUNT },
  mand: { clear: false, flag: MS.MANDLOCK },
  nomand: { clear: true, flag: MS.MANDLOCK },
  noatime: { clear: false, flag: MS.NOATIME },
  atime: { clear: true, flag: MS.NOATIME },
  nodiratime: { clear: false, flag: MS.NODIRATIME },
  diratime: { clear: true, flag: MS.NODIRATIME },
  relatime: { clear: false, flag: MS.RELATIME },
  norelatime: { clear: true, flag: MS.RELATIME },
  strictatime: { clear: false, flag: MS.STRICTATIME },
  nostrictatime: { clear: true, flag: MS.STRICTATIME },
  lazytime: { clear: false, flag: MS.LAZYTIME },
  nolazytime: { clear: true, flag: MS.LAZYTIME },
  nosymfollow: { clear: false, flag: MS.NOSYMFOLLOW },
  symfollow: { clear: true, flag: MS.NOSYMFOLLOW },
  silent: { clear: false, flag: MS.SILENT },
  loud: { clear: true, flag: MS.SILENT },
};

/** Propagation mount options, and the values of linux.rootfsPropagation, as mount(2) flags. */
export const PROPAGATION_OPTIONS: Readonly<Record<string, number>> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** mount_setattr(2) MOUNT_ATTR_* bits. */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  /** The access-time field: RELATIME (0), NOATIME or STRICTATIME. */
  ATIME_MASK: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  NOSYMFOLLOW: 0x200000,
} as const;

/** Recursive attribute options (runc 1.1+): applied with mount_setattr(AT_RECURSIVE) to the
 *  whole mount tree, submounts included. */
const RECURSIVE_ATTR_OPTIONS: Record<string, { clear: boolean; attr: number }> = {
  rro: { clear: false, attr: MOUNT_ATTR.RDONLY },
  rrw: { clear: true, attr: MOUNT_ATTR.RDONLY },
  rnosuid: { clear: false, attr: MOUNT_ATTR.NOSUID },
  rsuid: { clear: true, attr: MOUNT_ATTR.NOSUID },
  rnodev: { clear: false, attr: MOUNT_ATTR.NODEV },
  rdev: { clear: true, attr: MOUNT_ATTR.NODEV },
  rnoexec: { clear: false, attr: MOUNT_ATTR.NOEXEC },
  rexec: { clear: true, attr: MOUNT_ATTR.NOEXEC },
  rnodiratime: { clear: false, attr: MOUNT_ATTR.NODIRATIME },
  rdiratime: { clear: true, attr: MOUNT_ATTR.NODIRATIME },
  rrelatime: { clear: false, attr: MOUNT_ATTR.RELATIME },
  rnorelatime: { clear: true, attr: MOUNT_ATTR.RELATIME },
  rnoatime: { clear: false, attr: MOUNT_ATTR.NOATIME },
  ratime: { clear: true, attr: MOUNT_ATTR.NOATIME },
  rstrictatime: { clear: false, attr: MOUNT_ATTR.STRICTATIME },
  rnostrictatime: { clear: true, attr: MOUNT_ATTR.STRICTATIME },
  rnosymfollow: { clear: false, attr: MOUNT_ATTR.NOSYMFOLLOW },
  rsymfollow: { clear: true, attr: MOUNT_ATTR.NOSYMFOLLOW },
};

/** idmap: the mount (its top only) gets an id mapping; ridmap: every mount of the tree does. */
const IDMAP_OPTIONS: Record<string, { recursive: boolean }> = {
  idmap: { recursive: false },
  ridmap: { recursive: true },
};

/** Every option parseMountOptions honours (none is passed on as fs data), sorted like runc's
 *  list; `runts features` reports it. */
export function honouredMountOptions(): string[] {
  return [
    ...Object.keys(FLAG_OPTIONS),
    'bind',
    'rbind',
    'tmpcopyup',
    ...Object.keys(PROPAGATION_OPTIONS),
    ...Object.keys(RECURSIVE_ATTR_OPTIONS),
    ...Object.keys(IDMAP_OPTIONS),
  ].sort();
}

export interface ParsedMountOptions {
  /** Flags for the mount(2) call, without MS_BIND/MS_REC and propagation. */
  flags: number;
  /** Flags an option explicitly clears (rw, suid, dev, exec, atime …) and none sets again. */
  cleared: number;
  bind: boolean;
  recursive: boolean;
  /** Propagation changes in the order given. */
  propagation: number[];
  /** Filesystem-specific options (e.g. size=64m,mode=755), comma-joined. */
  data: string;
  /** tmpcopyup (runc's extension): fill a new tmpfs with the directory it covers. */
  copyUp: boolean;
  /** MOUNT_ATTR_* bits to set and clear recursively (rro, rnosuid, ...); null when none given. */
  recursiveAttrs: { set: number; clear: number } | null;
  /** idmap or ridmap given (the last one wins). */
  idmap: { recursive: boolean } | null;
}

export function parseMountOptions(options: readonly string[] | undefined): ParsedMountOptions {
  let flags = 0;
  let cleared = 0;
  let bind = false;
  let recursive = false;
  let copyUp = false;
  let attrSet = 0;
  let attrClear = 0;
  let idmap: ParsedMountOptions['idmap'] = null;
  const propagation: number[] = [];
  const data: string[] = [];
  for (const option of options ?? []) {
    const known = FLAG_OPTIONS[option];
    const attr = RECURSIVE_ATTR_OPTIONS[option];
    if (known) {
      flags = known.clear ? flags & ~known.flag : flags | known.flag;
      cleared = known.clear ? cleared | known.flag : cleared & ~known.flag;
    } else if (option === 'bind') {
      bind = true;
    } else if (option === 'rbind') {
      bind = true;
      recursive = true;
    } else if (option in PROPAGATION_OPTIONS) {
      propagation.push(PROPAGATION_OPTIONS[option]);
    } else if (attr) {
      if (attr.clear) {
        attrClear |= attr.attr;
        attrSet &= ~attr.attr;
      } else {
        attrSet |= attr.attr;
        attrClear &= ~attr.attr;
      }
      // The access time is one field: changing it means clearing the whole field
      // (mount_setattr(2)), which also makes ratime/rnorelatime/rnostrictatime mean relatime.
      if ((attr.attr & ~MOUNT_ATTR.ATIME_MASK) === 0) attrClear |= MOUNT_ATTR.ATIME_MASK;
    } else if (option in IDMAP_OPTIONS) {
      idmap = IDMAP_OPTIONS[option];
    } else if (option === 'tmpcopyup') {
      copyUp = true;
    } else {
      data.push(option);
    }
  }
  const recursiveAttrs = attrSet !== 0 || attrClear !== 0 ? { set: attrSet, clear: attrClear } : null;
  return { flags, cleared, bind, recursive, propagation, data: data.join(','), copyUp, recursiveAttrs, idmap };
}
