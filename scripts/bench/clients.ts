// `npm run bench -- --clients`: latency through real clients, runts and runc side by side:
// a pod start through containerd's CRI plugin (crictl runp + create + start; handlers runts,
// runc and runts-shim) and the shims' RSS with 20 pods running, `ctr run --rm`
// through a private containerd (runc's shim with either runtime, and containerd-shim-runts-v2)
// and `docker run --rm` through a private dockerd. Run by
// bench.mjs as `node --import=tsx scripts/bench/clients.ts WARMUP RUNS`; the servers are the
// end-to-end tests' own (test/lib), so the bench sets them up exactly as the tests do. Prints
// one JSON object: { samples: {rowId: ms[]}, skipped: {rowId: reason}, errors: {rowId: message} }.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { containerdMissing, pidsWithArgs, PrivateContainerd, runtsResidents } from '../../test/lib/containerd';
import { criMissing, handlersOf, PrivateCri, type CriHandler } from '../../test/lib/cri';
import { DOCKER_IMAGE, dockerMissing, PrivateDocker } from '../../test/lib/docker';
import { BUSYBOX_IMAGE_REF, busyboxOciArchive, findCommand } from '../../test/lib/oci-image';
import { REPO_ROOT } from '../../test/lib/runts';

const RUNTIMES = ['runts', 'runc'] as const;
type Runtime = (typeof RUNTIMES)[number];

interface Output {
  samples: Record<string, number[]>;
  skipped: Record<string, string>;
  errors: Record<string, string>;
}

const out: Output = { samples: {}, skipped: {}, errors: {} };
const rowId = (runtime: Runtime, key: string) => `clients.${runtime}.${key}`;

/** Runs `measure` warmup + runs times per variant, rotating which goes first; a failure ends that variant. */
async function rounds<V extends string>(
  variants: readonly V[],
  rowOf: (variant: V) => string,
  warmup: number,
  runs: number,
  measure: (variant: V, n: number) => Promise<number>,
): Promise<void> {
  const failed = new Set<V>();
  let n = 0;
  for (let round = 0; round < warmup + runs; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length]);
    for (const variant of order) {
      if (failed.has(variant)) continue;
      try {
        const ms = await measure(variant, n++);
        if (round >= warmup) (out.samples[rowOf(variant)] ??= []).push(ms);
      } catch (err) {
        failed.add(variant);
        out.errors[rowOf(variant)] = (err as Error).message.split('\n')[0];
      }
    }
  }
}

async function timed(what: string, run: () => Promise<{ code: number; stderr: string }>): Promise<number> {
  const start = performance.now();
  const r = await run();
  const ms = performance.now() - start;
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.trim()}`);
  return ms;
}

const CTR_ROWS = ['clients.runts.ctr-run', 'clients.runc.ctr-run', 'clients.runts.ctr-shim'] as const;

/** `ctr run --rm`: runts and runc under containerd's runc shim, and runts's own shim, in the same rounds. */
async function benchCtr(runts: string, runc: string, warmup: number, runs: number): Promise<void> {
  const cd = await PrivateContainerd.start();
  const roots = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-bench-ctr-'));
  try {
    const imported = await cd.ctr(['images', 'import', busyboxOciArchive()]);
    if (imported.code !== 0) throw new Error(`ctr images import: ${imported.stderr.trim()}`);
    const shim = path.join(path.dirname(runts), 'containerd-shim-runts-v2');
    const flags: Record<(typeof CTR_ROWS)[number], string[]> = {
      'clients.runts.ctr-run': ['--runc-binary', runts, '--runc-root', path.join(roots, 'runts')],
      'clients.runc.ctr-run': ['--runc-binary', runc, '--runc-root', path.join(roots, 'runc')],
      'clients.runts.ctr-shim': ['--runtime', shim],
    };
    await rounds(CTR_ROWS, (row) => row, warmup, runs, (row, n) =>
      timed('ctr run --rm', () => cd.ctr(['run', '--rm', ...flags[row], '--fifo-dir', cd.fifoDir, BUSYBOX_IMAGE_REF, `bench-${process.pid}-${n}`, 'true'])),
    );
  } finally {
    const problems = await cd.stop();
    fs.rmSync(roots, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`stopping containerd: ${problems.join('; ')}`);
  }
}

async function benchDocker(runts: string, warmup: number, runs: number): Promise<void> {
  const docker = await PrivateDocker.start(runts);
  try {
    await rounds(RUNTIMES, (rt) => rowId(rt, 'docker-run'), warmup, runs, (rt) => timed('docker run --rm', () => docker.docker(['run', '--rm', '--runtime', rt, DOCKER_IMAGE, 'true'])));
  } finally {
    const problems = await docker.stop();
    if (problems.length > 0) throw new Error(`stopping dockerd: ${problems.join('; ')}`);
  }
}

/** VmRSS of a process in KiB (0 once it is gone). */
function rssKib(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const RSS_PODS = 20;

/** The shims' memory under load: RSS_PODS pods (sandbox + a sleeping container) running at once
 *  through runc's shim and through runts's, and the summed VmRSS of the shim processes serving
 *  them (runc's shim: one per pod; runts's: the namespace's resident). */
async function benchShimRss(cri: PrivateCri, dir: string, ctrFile: string): Promise<void> {
  const shimPids: Record<'runc' | 'runts-shim', () => number[]> = {
    runc: () => pidsWithArgs(['-address', cri.socket]).filter((pid) => fs.readlinkSync(`/proc/${pid}/exe`).endsWith('/containerd-shim-runc-v2')),
    'runts-shim': () => runtsResidents(cri.socket).map((r) => r.pid),
  };
  for (const handler of ['runc', 'runts-shim'] as const) {
    const pods: string[] = [];
    try {
      for (let i = 0; i < RSS_PODS; i++) {
        const name = `rss-${process.pid}-${handler}-${i}`;
        const podFile = path.join(dir, `${name}.json`);
        fs.writeFileSync(podFile, JSON.stringify({ metadata: { name, namespace: 'bench', uid: name, attempt: 0 }, hostname: 'rss', log_directory: path.join(dir, name), linux: { cgroup_parent: cri.cgroupParent } }));
        const runp = await cri.crictl(['runp', '--runtime', handler, podFile]);
        if (runp.code !== 0) throw new Error(`crictl runp: ${runp.stderr.trim()}`);
        pods.push(runp.stdout.trim());
        const created = await cri.crictl(['create', pods[i], ctrFile, podFile]);
        if (created.code !== 0) throw new Error(`crictl create: ${created.stderr.trim()}`);
        const started = await cri.crictl(['start', created.stdout.trim()]);
        if (started.code !== 0) throw new Error(`crictl start: ${started.stderr.trim()}`);
      }
      const pids = shimPids[handler]();
      out.samples[handler === 'runc' ? 'shims.runc.pods' : 'shims.runts.pods'] = [pids.reduce((sum, pid) => sum + rssKib(pid), 0)];
    } finally {
      for (const pod of pods) {
        await cri.crictl(['stopp', pod]);
        await cri.crictl(['rmp', '--force', pod]);
      }
    }
  }
}

async function benchPod(runts: string, warmup: number, runs: number): Promise<void> {
  const cri = await PrivateCri.start('containerd', runts);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-bench-pod-'));
  try {
    const ctrFile = path.join(dir, 'ctr.json');
    fs.writeFileSync(ctrFile, JSON.stringify({ metadata: { name: 'c' }, image: { image: cri.busyboxImage }, command: ['sleep', '1000'], log_path: 'c.log' }));
    const rowOf = (handler: CriHandler) => (handler === 'runts-shim' ? 'clients.runts.pod-shim' : rowId(handler, 'pod'));
    await rounds(handlersOf('containerd'), rowOf, warmup, runs, async (rt, n) => {
      const podFile = path.join(dir, `pod-${n}.json`);
      const name = `bench-${process.pid}-${n}`;
      const pod = { metadata: { name, namespace: 'bench', uid: name, attempt: 0 }, hostname: name, log_directory: path.join(dir, name), linux: { cgroup_parent: cri.cgroupParent } };
      fs.writeFileSync(podFile, JSON.stringify(pod));
      const start = performance.now();
      const runp = await cri.crictl(['runp', '--runtime', rt, podFile]);
      if (runp.code !== 0) throw new Error(`crictl runp: ${runp.stderr.trim()}`);
      const podId = runp.stdout.trim();
      try {
        const created = await cri.crictl(['create', podId, ctrFile, podFile]);
        if (created.code !== 0) throw new Error(`crictl create: ${created.stderr.trim()}`);
        const started = await cri.crictl(['start', created.stdout.trim()]);
        if (started.code !== 0) throw new Error(`crictl start: ${started.stderr.trim()}`);
        return performance.now() - start;
      } finally {
        await cri.crictl(['stopp', podId]);
        await cri.crictl(['rmp', '--force', podId]);
      }
    });
    await benchShimRss(cri, dir, ctrFile);
  } finally {
    const problems = await cri.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`stopping the CRI node: ${problems.join('; ')}`);
  }
}

async function main(): Promise<number> {
  const [warmup, runs] = process.argv.slice(2).map(Number);
  const runts = path.join(REPO_ROOT, 'bin', 'runts');
  const runc = findCommand('runc');
  const benches = [
    { name: 'ctr run', missing: containerdMissing, rows: [...CTR_ROWS], bench: (rc: string) => benchCtr(runts, rc, warmup, runs) },
    { name: 'docker run', missing: dockerMissing, rows: RUNTIMES.map((rt) => rowId(rt, 'docker-run')), bench: () => benchDocker(runts, warmup, runs) },
    { name: 'pod', missing: () => criMissing('containerd'), rows: [...RUNTIMES.map((rt) => rowId(rt, 'pod')), 'clients.runts.pod-shim', 'shims.runts.pods', 'shims.runc.pods'], bench: () => benchPod(runts, warmup, runs) },
  ];
  for (const { name, missing, rows, bench } of benches) {
    const reason = runc ? missing() : 'runc is not installed';
    if (!runc || reason !== undefined) {
      for (const row of rows) out.skipped[row] = reason ?? 'runc is not installed';
      continue;
    }
    process.stderr.write(`clients: ${name}\n`);
    try {
      await bench(runc);
    } catch (err) {
      for (const row of rows) out.errors[row] ??= (err as Error).message.split('\n')[0];
    }
  }
  process.stdout.write(JSON.stringify(out));
  return 0;
}

main().then((code) => process.exit(code));
