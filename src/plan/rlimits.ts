// POSIX rlimit names (config.json) → resource numbers (asm-generic/resource.h).
import { readFileSync } from 'node:fs';

export const RLIMIT_NUMBERS: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

// JSON.parse turns 18446744073709551615 (RLIM_INFINITY) into 2^64; anything at or above
// 2^63 cannot be a finite limit the kernel accepts, so it means unlimited.
const INFINITY_THRESHOLD = 2 ** 63;

/** A config.json rlimit value as the decimal string the init helper passes to setrlimit. */
export function rlimitValue(value: number): string {
  return value >= INFINITY_THRESHOLD ? 'unlimited' : BigInt(Math.trunc(value)).toString();
}

/** fs.nr_open of this host: setrlimit refuses an RLIMIT_NOFILE above it (EPERM), even to root. */
export function hostNrOpen(): number {
  return Number(readFileSync('/proc/sys/fs/nr_open', 'utf8'));
}
