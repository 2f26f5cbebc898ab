// `npm run bench -- --clients`: latency through real clients, runts and runc side by side:
// a pod start through containerd's CRI plugin (crictl runp + create + start), `ctr run --rm`
// through a private containerd and `docker run --rm` through a private dockerd. Run by
// bench.mjs as `node --import=tsx scripts/bench/clients.ts WARMUP RUNS`; the servers are the
// end-to-end tests' own (test/lib), so the bench sets them up exactly as the tests do. Prints
// one JSON object: { samples: {rowId: ms[]}, skipped: {rowId: reason}, errors: {rowId: message} }.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { containerdMissing, PrivateContainerd } from '../../test/lib/containerd';
import { criMissing, PrivateCri, type CriHandler } from '../../test/lib/cri';
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
const forBoth = (key: string, record: Record<string, string>, reason: string) => {
  for (const rt of RUNTIMES) record[rowId(rt, key)] = reason;
};

/** Runs `measure` warmup + runs times per runtime, alternating which goes first; a failure ends that row. */
async function rounds(key: string, warmup: number, runs: number, measure: (rt: Runtime, n: number) => Promise<number>): Promise<void> {
  const failed = new Set<Runtime>();
  let n = 0;
  for (let round = 0; round < warmup + runs; round++) {
    const order = round % 2 === 0 ? RUNTIMES : [...RUNTIMES].reverse();
    for (const rt of order) {
      if (failed.has(rt)) continue;
      try {
        const ms = await measure(rt, n++);
        if (round >= warmup) (out.samples[rowId(rt, key)] ??= []).push(ms);
      } catch (err) {
        failed.add(rt);
        out.errors[rowId(rt, key)] = (err as Error).message.split('\n')[0];
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

async function benchCtr(runts: string, runc: string, warmup: number, runs: number): Promise<void> {
  const missing = containerdMissing();
  if (missing) return forBoth('ctr-run', out.skipped, missing);
  const cd = await PrivateContainerd.start();
  const roots = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-bench-ctr-'));
  try {
    const imported = await cd.ctr(['images', 'import', busyboxOciArchive()]);
    if (imported.code !== 0) throw new Error(`ctr images import: ${imported.stderr.trim()}`);
    const bins: Record<Runtime, string> = { runts, runc };
    await rounds('ctr-run', warmup, runs, (rt, n) =>
      timed('ctr run --rm', () =>
        cd.ctr(['run', '--rm', '--runc-binary', bins[rt], '--runc-root', path.join(roots, rt), '--fifo-dir', cd.fifoDir, BUSYBOX_IMAGE_REF, `bench-${process.pid}-${n}`, 'true']),
      ),
    );
  } finally {
    const problems = await cd.stop();
    fs.rmSync(roots, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`stopping containerd: ${problems.join('; ')}`);
  }
}

async function benchDocker(runts: string, warmup: number, runs: number): Promise<void> {
  const missing = dockerMissing();
  if (missing) return forBoth('docker-run', out.skipped, missing);
  const docker = await PrivateDocker.start(runts);
  try {
    await rounds('docker-run', warmup, runs, (rt) => timed('docker run --rm', () => docker.docker(['run', '--rm', '--runtime', rt, DOCKER_IMAGE, 'true'])));
  } finally {
    const problems = await docker.stop();
    if (problems.length > 0) throw new Error(`stopping dockerd: ${problems.join('; ')}`);
  }
}

async function benchPod(runts: string, warmup: number, runs: number): Promise<void> {
  const missing = criMissing('containerd');
  if (missing) return forBoth('pod', out.skipped, missing);
  const cri = await PrivateCri.start('containerd', runts);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-bench-pod-'));
  try {
    const ctrFile = path.join(dir, 'ctr.json');
    fs.writeFileSync(ctrFile, JSON.stringify({ metadata: { name: 'c' }, image: { image: cri.busyboxImage }, command: ['sleep', '1000'], log_path: 'c.log' }));
    await rounds('pod', warmup, runs, async (rt: CriHandler, n) => {
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
  if (!runc) {
    for (const key of ['pod', 'ctr-run', 'docker-run']) forBoth(key, out.skipped, 'runc is not installed');
  } else {
    for (const [key, bench] of [
      ['ctr-run', () => benchCtr(runts, runc, warmup, runs)],
      ['docker-run', () => benchDocker(runts, warmup, runs)],
      ['pod', () => benchPod(runts, warmup, runs)],
    ] as const) {
      process.stderr.write(`clients: ${key}\n`);
      try {
        await bench();
      } catch (err) {
        for (const rt of RUNTIMES) out.errors[rowId(rt, key)] ??= (err as Error).message.split('\n')[0];
      }
    }
  }
  process.stdout.write(JSON.stringify(out));
  return 0;
}

main().then((code) => process.exit(code));
