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

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** Options runts knows but cannot honour yet: refused rather than silently ignored. */
const UNSUPPORTED_OPTIONS = new Set(['idmap', 'ridmap', 'rro', 'rrw', 'rnosuid', 'rsuid', 'rnodev', 'rdev', 'rnoexec', 'rexec', 'rnodiratime', 'rdiratime', 'rrelatime', 'rnorelatime', 'rnoatime', 'ratime', 'rstrictatime', 'rnostrictatime', 'rnosymfollow', 'rsymfollow']);

/** Every option parseMountOptions honours (neither refused nor passed on as fs data), sorted
 *  like runc's list; `runts features` reports it. */
export function honouredMountOptions(): string[] {
  return [...Object.keys(FLAG_OPTIONS), 'bind', 'rbind', 'tmpcopyup', ...Object.keys(PROPAGATION_OPTIONS)].sort();
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
  /** Options refused (see UNSUPPORTED_OPTIONS). */
  unsupported: string[];
}

export function parseMountOptions(options: readonly string[] | undefined): ParsedMountOptions {
  let flags = 0;
  let cleared = 0;
  let bind = false;
  let recursive = false;
  let copyUp = false;
  const propagation: number[] = [];
  const data: string[] = [];
  const unsupported: string[] = [];
  for (const option of options ?? []) {
    const known = FLAG_OPTIONS[option];
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
    } else if (UNSUPPORTED_OPTIONS.has(option)) {
      unsupported.push(option);
    } else if (option === 'tmpcopyup') {
      copyUp = true;
    } else {
      data.push(option);
    }
  }
  return { flags, cleared, bind, recursive, propagation, data: data.join(','), copyUp, unsupported };
}
