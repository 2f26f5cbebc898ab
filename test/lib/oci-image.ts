// A tiny busybox OCI image built offline (busybox-static + umoci + skopeo), for tests that
// drive real container managers. Built once per test process in a temp dir removed at exit.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The image's name inside the archives (what `ctr images import` tags it as). */
export const BUSYBOX_IMAGE_REF = 'localhost/cbusybox:latest';
/** Debian's busybox-static installs a statically linked busybox here. */
const BUSYBOX = '/bin/busybox';

/** The absolute path of `cmd` found on PATH, or undefined. */
export function findCommand(cmd: string): string | undefined {
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').filter(Boolean);
  return dirs.map((dir) => path.join(dir, cmd)).find(isExecutable);
}

/** The first of `commands` that is not on PATH, or undefined when all are. */
export function missingCommand(commands: string[]): string | undefined {
  return commands.find((cmd) => !findCommand(cmd));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** True for an ELF64 executable without a PT_INTERP program header (needs no dynamic loader). */
export function isStaticElf(file: string): boolean {
  let header: Buffer;
  try {
    header = fs.readFileSync(file);
  } catch {
    return false;
  }
  const ELFCLASS64 = 2;
  const PT_INTERP = 3;
  if (header.length < 64 || header.toString('latin1', 0, 4) !== '\x7fELF' || header[4] !== ELFCLASS64) return false;
  const phoff = Number(header.readBigUInt64LE(0x20));
  const phentsize = header.readUInt16LE(0x36);
  const phnum = header.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const entry = phoff + i * phentsize;
    if (entry + 4 > header.length) return false;
    if (header.readUInt32LE(entry) === PT_INTERP) return false;
  }
  return true;
}

/** Why the image cannot be built here (a missing tool), or undefined when it can. */
export function imageToolsMissing(): string | undefined {
  const missing = missingCommand(['umoci', 'skopeo']);
  if (missing) return `${missing} is not installed (apt-get install umoci skopeo)`;
  if (!isStaticElf(BUSYBOX)) return `${BUSYBOX} is not a static busybox (apt-get install busybox-static)`;
  return undefined;
}

function run(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`building the busybox image: ${cmd} ${args.join(' ')} failed: ${stderr || (err as Error).message}`);
  }
}

/** Builds the image as an OCI layout, repacked from a busybox rootfs, and writes it as an oci-archive. */
function buildImage(dir: string): string {
  const layout = path.join(dir, 'oci-layout');
  const image = `${layout}:latest`;
  const bundle = path.join(dir, 'bundle'); // umoci unpack creates it
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', image]);
  run('umoci', ['unpack', '--image', image, bundle]);

  const rootfs = path.join(bundle, 'rootfs');
  for (const sub of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'var', 'run']) {
    fs.mkdirSync(path.join(rootfs, sub), { recursive: true });
  }
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  // busybox makes its applet links itself; chrooted so they point inside the rootfs.
  run('chroot', [rootfs, '/bin/busybox', '--install', '-s']);
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  fs.writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  // The CRI tests' sandbox ("pause") image runs this: it sleeps until TERM or INT, as a pod's
  // infra container does (a PID 1 without handlers ignores TERM: CRI-O would wait 10 s to KILL).
  fs.writeFileSync(path.join(rootfs, 'pause'), "#!/bin/sh\ntrap 'kill $!; exit 0' TERM INT\n/bin/sleep 2147483647 &\nwait\n", { mode: 0o755 });

  run('umoci', ['repack', '--image', image, bundle]);
  run('umoci', ['config', '--image', image, '--config.cmd', '/bin/sh', '--config.env', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
    '--config.workingdir', '/', '--architecture', 'amd64', '--os', 'linux']);
  run('umoci', ['gc', '--layout', layout]);
  fs.rmSync(bundle, { recursive: true, force: true });

  // skopeo records the full reference in the archive's org.opencontainers.image.ref.name annotation.
  const archive = path.join(dir, 'cbusybox-oci.tar');
  run('skopeo', ['--insecure-policy', 'copy', `oci:${image}`, `oci-archive:${archive}:${BUSYBOX_IMAGE_REF}`]);
  return archive;
}

let cachedArchive: string | undefined;

/**
 * The busybox image as an oci-archive tarball (reference BUSYBOX_IMAGE_REF), built on
 * first use in this process; its temp dir is removed when the process exits.
 */
export function busyboxOciArchive(): string {
  if (cachedArchive) return cachedArchive;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-oci-image-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  cachedArchive = buildImage(dir);
  return cachedArchive;
}

/**
 * The busybox image as a docker-archive in `dir`, tagged BUSYBOX_IMAGE_REF: the shared
 * oci-archive converted by skopeo.
 */
export function busyboxDockerArchive(dir: string): string {
  const missing = imageToolsMissing();
  if (missing) throw new Error(`cannot build the busybox image: ${missing}`);
  const archive = path.join(dir, 'busybox-docker.tar');
  const copy = spawnSync('skopeo', ['--insecure-policy', 'copy', `oci-archive:${busyboxOciArchive()}`, `docker-archive:${archive}:${BUSYBOX_IMAGE_REF}`], {
    encoding: 'utf8',
  });
  if (copy.status !== 0) throw new Error(`skopeo copy to docker-archive:${archive} exited ${copy.status ?? copy.signal}: ${copy.stderr.trim()}`);
  return archive;
}
