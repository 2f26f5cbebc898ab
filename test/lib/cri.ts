// A private Kubernetes-style node for end-to-end tests: a CRI server (containerd 1.6's CRI
// plugin with the runc shim, or CRI-O 1.26 with conmon), a CNI bridge from Debian's
// containernetworking-plugins, and a local docker-registry serving the busybox image
// (test/lib/oci-image.ts) as `busybox:latest` and `pause:3.6`. crictl drives it, as a
// kubelet would. Runtime handlers: `runts` (this build) and `runc` (the reference), under
// containerd through the runc shim (BinaryName); containerd also has `runts-shim`
// (runtime_type = this build's containerd-shim-runts-v2).
// Everything lives under one temp dir; each server gets its own bridge, subnet and
// registry port so the containerd and CRI-O files can run at the same time.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pidsWithArgs, stopRuntsResidents } from './containerd';
import { envWithoutTap } from './env';
import { busyboxOciArchive, findCommand, imageToolsMissing, missingCommand } from './oci-image';
import { runCommand, type CommandOptions, type CommandResult } from './podman';
import { REPO_ROOT } from './runts';
import { defaultStateRoot } from '../../src/shim/tasks';
import { removeCgroupParent, removeEmptyDir, removeServerBase } from './system';
import { waitFor } from './util';

export type CriEngine = 'containerd' | 'crio';
/** The runtime handlers a server offers (crictl runp --runtime NAME); see handlersOf. */
export type CriHandler = 'runts' | 'runc' | 'runts-shim';

/** The handlers of `engine`: CRI-O runs runtimes through conmon and has no shim to swap. */
export const handlersOf = (engine: CriEngine): CriHandler[] => (engine === 'containerd' ? ['runts', 'runc', 'runts-shim'] : ['runts', 'runc']);

/** The namespace containerd's CRI plugin puts every pod in. */
const CRI_NAMESPACE = 'k8s.io';

/**
 * crictl, crio and pinns: no package ships them. Users bring their own node software;
 * the project's test machines keep prebuilt ones beside the checkout ($RUNTS_CRI_BIN_DIR
 * overrides where).
 */
export const CRI_BIN_DIR = process.env.RUNTS_CRI_BIN_DIR || path.resolve(REPO_ROOT, '..', 'shared', 'tools', 'bin');
const CNI_BIN_DIR = '/usr/lib/cni';

/** Per engine: the CNI bridge and subnet (distinct, so both files may run at once). */
const NETWORK: Record<CriEngine, { bridge: string; subnet: string; gateway: string }> = {
  containerd: { bridge: 'runtscri-cd0', subnet: '10.234.10.0/24', gateway: '10.234.10.1' },
  crio: { bridge: 'runtscri-co0', subnet: '10.234.20.0/24', gateway: '10.234.20.1' },
};

/** Why a private `engine` node cannot run here (a missing binary), or undefined. */
export function criMissing(engine: CriEngine): string | undefined {
  const images = imageToolsMissing();
  if (images) return images;
  const prebuilt = engine === 'crio' ? ['crictl', 'crio', 'pinns'] : ['crictl'];
  const absent = prebuilt.find((name) => !fs.existsSync(path.join(CRI_BIN_DIR, name)));
  if (absent) return `${path.join(CRI_BIN_DIR, absent)} is missing (no package ships it; set RUNTS_CRI_BIN_DIR)`;
  const commands = engine === 'crio' ? ['conmon', 'docker-registry', 'runc'] : ['containerd', 'containerd-shim-runc-v2', 'docker-registry', 'runc'];
  const missing = missingCommand(commands);
  if (missing) return `${missing} is not installed (apt-get install containerd conmon docker-registry runc)`;
  if (!fs.existsSync(path.join(CNI_BIN_DIR, 'bridge'))) return `${CNI_BIN_DIR}/bridge is missing (apt-get install containernetworking-plugins)`;
  return undefined;
}

/** A TCP port nobody listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout || '').trim()}`);
}

/** Starts `argv` in its own session with stdout/stderr to `logPath`. */
function spawnDaemon(argv: string[], logPath: string, env: NodeJS.ProcessEnv): ChildProcess {
  const log = fs.openSync(logPath, 'a');
  try {
    return spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log], env });
  } finally {
    fs.closeSync(log);
  }
}

/** SIGTERMs a daemon and waits up to `ms`, then SIGKILLs it. True if it needed SIGKILL. */
async function stopDaemon(child: ChildProcess | undefined, ms = 10_000): Promise<boolean> {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  if (await Promise.race([exited.then(() => true), sleep(ms).then(() => false)])) return false;
  child.kill('SIGKILL');
  await exited;
  return true;
}

/**
 * CRI-O 1.26 with cgroupfs and conmon_cgroup = "pod" puts each conmon into a cgroup
 * crio-conmon-<container id> beside the container's and never removes it (with either
 * runtime handler): not the runtime's leftover.
 */
export const isCrioConmonCgroup = (name: string) => name.startsWith('crio-conmon-');

/** `iptables -t nat ARGS`: its stdout, or undefined when it fails. */
function natTable(args: string[]): string | undefined {
  const r = spawnSync('iptables', ['-w', '-t', 'nat', ...args], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}

/**
 * The portmap CNI plugin removes a pod's own chains at teardown but leaves its shared
 * CNI-HOSTPORT-* chains and their jumps from PREROUTING, OUTPUT and POSTROUTING. Removes
 * them once no pod uses them (another node on this host may still map ports).
 */
function removeIdlePortmapChains(): string[] {
  const dnat = natTable(['-S', 'CNI-HOSTPORT-DNAT']);
  if (dnat === undefined || dnat.trim().split('\n').length > 1) return [];
  const jumps = [
    ['PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT'],
    ['OUTPUT', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT'],
    ['POSTROUTING', '-m', 'comment', '--comment', 'CNI portfwd requiring masquerade', '-j', 'CNI-HOSTPORT-MASQ'],
  ];
  for (const jump of jumps) while (natTable(['-D', ...jump]) !== undefined);
  const problems: string[] = [];
  for (const chain of ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK']) {
    if (natTable(['-S', chain]) === undefined) continue;
    if (natTable(['-F', chain]) === undefined || natTable(['-X', chain]) === undefined) problems.push(`iptables: could not remove chain ${chain}`);
  }
  return problems;
}

export class PrivateCri {
  readonly base: string;
  readonly socket: string;
  /** Where the registry serves images: `${registry}/busybox:latest`. */
  readonly registry: string;
  readonly busyboxImage: string;
  readonly pauseImage: string;
  readonly logPath: string;
  /** The pods' cgroup parent (one of this file's own; removed at stop). */
  readonly cgroupParent: string;
  readonly network: { bridge: string; subnet: string; gateway: string };
  private server: ChildProcess | undefined;
  /** The runts shim's k8s.io state root was there before this server started. */
  private readonly shimRootExisted = fs.existsSync(defaultStateRoot(CRI_NAMESPACE));
  private registryDaemon: ChildProcess | undefined;

  private constructor(readonly engine: CriEngine, base: string, port: number, readonly runts: string) {
    this.base = base;
    this.socket = path.join(base, 'run', 'cri.sock');
    this.registry = `127.0.0.1:${port}`;
    this.busyboxImage = `${this.registry}/busybox:latest`;
    this.pauseImage = `${this.registry}/pause:3.6`;
    this.logPath = path.join(base, `${engine}.log`);
    this.cgroupParent = `/runts-cri-${engine}-${process.pid}`;
    this.network = NETWORK[engine];
  }

  /** The state root of `handler`'s runtime (the runc shim's Root / CRI-O's runtime_root / the runts shim's default). */
  runtimeRoot(handler: CriHandler): string {
    // The runts shim keeps its state there when the options name no Root (CRI sends none to it).
    if (handler === 'runts-shim') return defaultStateRoot(CRI_NAMESPACE);
    return path.join(this.base, `${handler}-root`);
  }

  /** Starts registry, images, CNI config and the server; waits until crictl gets answers. */
  static async start(engine: CriEngine, runts: string): Promise<PrivateCri> {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), `runts-cri-${engine}-`));
    const cri = new PrivateCri(engine, base, await freePort(), runts);
    try {
      for (const sub of ['root', 'state', 'run', 'tmp', 'opt', 'cni', 'reg', 'logs', 'runts-root', 'runc-root']) fs.mkdirSync(path.join(base, sub));
      await cri.startRegistry();
      cri.pushImages();
      cri.writeCniConfig();
      cri.server = engine === 'crio' ? cri.startCrio() : cri.startContainerd();
      const exited = new Promise<boolean>((resolve) => cri.server?.once('exit', () => resolve(true)));
      const deadline = Date.now() + 60_000;
      while ((await cri.crictl(['info'], { timeoutMs: 10_000 })).code !== 0) {
        if ((await Promise.race([exited, sleep(200).then(() => false)])) || Date.now() > deadline) {
          throw new Error(`${engine} did not come up; log:\n${cri.logTail()}`);
        }
      }
      const pulled = await cri.crictl(['pull', cri.pauseImage]);
      if (pulled.code !== 0) throw new Error(`crictl pull ${cri.pauseImage}: ${pulled.stderr.trim()}`);
      const busybox = await cri.crictl(['pull', cri.busyboxImage]);
      if (busybox.code !== 0) throw new Error(`crictl pull ${cri.busyboxImage}: ${busybox.stderr.trim()}`);
      return cri;
    } catch (err) {
      const problems = await cri.stop();
      throw new Error(`${(err as Error).message}${problems.length > 0 ? `\n(cleanup: ${problems.join('; ')})` : ''}`);
    }
  }

  private async startRegistry(): Promise<void> {
    const config = path.join(this.base, 'reg', 'config.yml');
    fs.writeFileSync(
      config,
      `version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: ${this.base}/reg/data}}\nhttp: {addr: "${this.registry}"}\n`,
    );
    this.registryDaemon = spawnDaemon(['docker-registry', 'serve', config], path.join(this.base, 'reg', 'log'), envWithoutTap());
    await waitFor(
      async () => (await fetch(`http://${this.registry}/v2/`).catch(() => undefined))?.ok === true,
      15_000,
      `docker-registry answering on ${this.registry}`,
    );
  }

  /** busybox (command /bin/sh) and pause (command /pause) from the offline busybox image. */
  private pushImages(): void {
    const archive = busyboxOciArchive();
    const layout = path.join(this.base, 'img');
    run('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', `oci-archive:${archive}`, `docker://${this.busyboxImage}`]);
    run('skopeo', ['--insecure-policy', 'copy', `oci-archive:${archive}`, `oci:${layout}:pause`]);
    run('umoci', ['config', '--image', `${layout}:pause`, '--config.cmd', '/pause']);
    run('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', `oci:${layout}:pause`, `docker://${this.pauseImage}`]);
    fs.rmSync(layout, { recursive: true, force: true });
  }

  private writeCniConfig(): void {
    const { bridge, subnet } = this.network;
    const conflist = {
      cniVersion: '1.0.0',
      name: `runts-cri-${this.engine}`,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: false,
          ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(this.base, 'cni-ipam') },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'loopback' },
      ],
    };
    fs.writeFileSync(path.join(this.base, 'cni', '10-bridge.conflist'), JSON.stringify(conflist));
  }

  private startContainerd(): ChildProcess {
    const b = this.base;
    const runtime = (handler: Exclude<CriHandler, 'runts-shim'>, binary: string) => `
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${handler}]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${handler}.options]
          BinaryName = "${binary}"
          Root = "${this.runtimeRoot(handler)}"`;
    const config = `version = 2
root = "${b}/root"
state = "${b}/state"
temp = "${b}/tmp"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${this.socket}"
[ttrpc]
  address = "${this.socket}.ttrpc"
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "${b}/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "${this.pauseImage}"
    # No CAP_SYS_RESOURCE on the test machines: a sandbox's oom_score_adj -998 cannot be written.
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "${CNI_BIN_DIR}"
      conf_dir = "${b}/cni"
    [plugins."io.containerd.grpc.v1.cri".registry.mirrors."${this.registry}"]
      endpoint = ["http://${this.registry}"]
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"${runtime('runts', this.runts)}${runtime('runc', findCommand('runc') ?? 'runc')}
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runts-shim]
        runtime_type = "${path.join(path.dirname(this.runts), 'containerd-shim-runts-v2')}"
`;
    const file = path.join(b, 'config.toml');
    fs.writeFileSync(file, config);
    return spawnDaemon(['containerd', '--config', file], this.logPath, envWithoutTap());
  }

  private startCrio(): ChildProcess {
    const b = this.base;
    const runtime = (handler: Exclude<CriHandler, 'runts-shim'>, binary: string) =>
      `[crio.runtime.runtimes.${handler}]\nruntime_path = "${binary}"\nruntime_root = "${this.runtimeRoot(handler)}"\nruntime_type = "oci"\n`;
    const config = `[crio]
root = "${b}/root"
runroot = "${b}/state"
storage_driver = "overlay"
log_dir = "${b}/logs"
version_file = "${b}/crio-version"
version_file_persist = "${b}/crio-version-persist"
clean_shutdown_file = "${b}/crio-clean.shutdown"
[crio.api]
listen = "${this.socket}"
stream_address = "127.0.0.1"
stream_port = "0"
[crio.runtime]
default_runtime = "runc"
conmon = "${findCommand('conmon') ?? 'conmon'}"
cgroup_manager = "cgroupfs"
conmon_cgroup = "pod"
pinns_path = "${path.join(CRI_BIN_DIR, 'pinns')}"
namespaces_dir = "${b}/ns"
container_exits_dir = "${b}/exits"
container_attach_socket_dir = "${b}/attach"
${runtime('runts', this.runts)}${runtime('runc', findCommand('runc') ?? 'runc')}
[crio.image]
pause_image = "${this.pauseImage}"
insecure_registries = ["${this.registry}"]
signature_policy = "${b}/policy.json"
[crio.network]
network_dir = "${b}/cni"
plugin_dirs = ["${CNI_BIN_DIR}"]
[crio.metrics]
enable_metrics = false
`;
    const file = path.join(b, 'crio.conf');
    fs.writeFileSync(file, config);
    fs.writeFileSync(path.join(b, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
    // No CAP_SYS_RESOURCE here: rootless mode makes CRI-O leave oomScoreAdj out of the specs.
    const env = envWithoutTap({ _CRIO_ROOTLESS: '1' });
    return spawnDaemon(
      [path.join(CRI_BIN_DIR, 'crio'), '--config', file, '--config-dir', '', '--registries-conf', '/dev/null'],
      this.logPath,
      env,
    );
  }

  /** The argv of `crictl ARGS` against this server (for a pty driver). */
  crictlCommand(args: string[]): string[] {
    const endpoint = `unix://${this.socket}`;
    return [path.join(CRI_BIN_DIR, 'crictl'), '--runtime-endpoint', endpoint, '--image-endpoint', endpoint, '--timeout', '60s', ...args];
  }

  /** Runs `crictl ARGS`; never rejects for a non-zero exit. */
  crictl(args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
    const [file, ...rest] = this.crictlCommand(args);
    return runCommand(file, rest, { env: envWithoutTap(), timeoutMs: 90_000, ...opts });
  }

  /** The last lines of the server's log, for failure messages. */
  logTail(lines = 30): string {
    try {
      return fs.readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Stops (SIGTERM) the CRI server only, leaving pods running: for restart scenarios. */
  async stopServer(): Promise<void> {
    await stopDaemon(this.server, 15_000);
    this.server = undefined;
  }

  /** Starts the server again on the same base (after stopServer) and waits for it. */
  async restartServer(): Promise<void> {
    this.server = this.engine === 'crio' ? this.startCrio() : this.startContainerd();
    await waitFor(async () => (await this.crictl(['info'], { timeoutMs: 10_000 })).code === 0, 60_000, `${this.engine} answering again`);
  }

  /**
   * Stops and removes every pod, stops the server and the registry, kills shims that
   * outlived it, unmounts what is left under the base dir, deletes the bridge, the pods'
   * cgroup parent and the base dir. Returns what needed forcing or could not be cleaned.
   */
  async stop(): Promise<string[]> {
    const problems: string[] = [];
    if (this.server?.exitCode === null && this.server.signalCode === null) {
      const pods = await this.crictl(['pods', '-q'], { timeoutMs: 30_000 });
      for (const pod of pods.stdout.split('\n').filter(Boolean)) {
        const stopped = await this.crictl(['stopp', pod]);
        const removed = await this.crictl(['rmp', '--force', pod]);
        if (stopped.code !== 0 || removed.code !== 0) problems.push(`pod ${pod}: ${stopped.stderr.trim()} ${removed.stderr.trim()}`);
      }
    }
    if (await stopDaemon(this.server, 15_000)) problems.push(`${this.engine} ignored SIGTERM for 15 s: killed`);
    await stopDaemon(this.registryDaemon, 5000);
    problems.push(...(await stopRuntsResidents(this.socket)));
    // Any other containerd shim serves one pod of this daemon: its argv names our socket.
    for (const pid of pidsWithArgs(['-address', this.socket])) {
      problems.push(`shim ${pid} outlived containerd: killed`);
      process.kill(pid, 'SIGKILL');
    }
    if (fs.existsSync(`/sys/class/net/${this.network.bridge}`)) run('ip', ['link', 'del', this.network.bridge]);
    problems.push(...removeIdlePortmapChains());
    problems.push(...removeCgroupParent(this.cgroupParent, isCrioConmonCgroup));
    // Made by the runts shim unless a containerd of the host's own had it already.
    if (this.engine === 'containerd' && !this.shimRootExisted) problems.push(...removeEmptyDir(this.runtimeRoot('runts-shim'), "the runts shim's state root"));
    problems.push(...removeServerBase(this.base).problems);
    return problems;
  }
}
