// The running kernel's version, for features that depend on it (decided from os.release()).

/** "6.18.44-fc-v657" → [6, 18]; [0, 0] when unreadable. */
export function kernelVersion(release: string): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(release);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

export function kernelAtLeast(have: readonly [number, number], want: readonly [number, number]): boolean {
  return have[0] !== want[0] ? have[0] > want[0] : have[1] >= want[1];
}
