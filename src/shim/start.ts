// `containerd-shim-runts-v2 start` when the launcher found no resident to answer it: find or
// spawn the resident shim of the namespace (on the socket the launcher named, -socket) and
// print its socket address, as containerd reads it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { errnoMessage } from '../errors';
import type { ShimFlags } from './flags';
import { SHIM_SOCKET_DIR, socketPath } from './address';

/** Whether a shim answers on the socket (containerd's CanConnect: a dial with a 100 ms limit). */
export function canConnect(address: string, timeoutMs = 100): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection(socketPath(address));
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** What the resident shim writes on fd 3 once it listens, or the error it failed with. */
export const READY = 'ready';
/** The resident's answer when another shim took the socket meanwhile (a concurrent start). */
export const IN_USE = 'in use';

/** Spawns the resident shim (a new session, stdio on /dev/null, cwd the bundle) serving
 *  `address`, and waits until it listens. Resolves to its pid, or 0 when the socket turned out
 *  to be another live shim's. */
function spawnResident(flags: ShimFlags, bundle: string, address: string, script: string): Promise<number> {
  const args = ['-namespace', flags.namespace, '-address', flags.address, '-socket', address];
  if (flags.publishBinary) args.push('-publish-binary', flags.publishBinary);
  if (flags.debug) args.push('-debug');
  // As bin/runts's shebang: node must not parse a CA file it will never use.
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const child = spawn(process.execPath, [script, ...args], { cwd: bundle, detached: true, env, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let answer = '';
    const readiness = child.stdio[3] as net.Socket;
    const finish = (err?: Error) => {
      readiness.destroy();
      child.removeAllListeners();
      child.unref();
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else resolve(answer.trim() === READY ? (child.pid ?? 0) : 0);
    };
    const timer = setTimeout(() => finish(new Error(`start: the shim (pid ${child.pid}) did not listen on ${address} within 30 s`)), 30_000);
    readiness.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    readiness.on('error', () => {});
    readiness.on('close', () => {
      clearTimeout(timer);
      const text = answer.trim();
      if (text === READY || text === IN_USE) finish();
      else finish(new Error(`start: the shim exited before listening on ${address}: ${text || `exit ${child.exitCode ?? child.signalCode ?? '?'}`}`));
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      finish(new Error(`start: spawning ${process.execPath} ${script}: ${err.message}`));
    });
  });
}

/** BUNDLE/address and BUNDLE/shim.pid: containerd reads the address when it reconnects after a
 *  restart; shim.pid names the shim serving the task, as runc's shim writes it. */
export function writeShimFiles(bundle: string, address: string, pid: number): void {
  fs.writeFileSync(path.join(bundle, 'address'), address, { mode: 0o600 });
  fs.writeFileSync(path.join(bundle, 'shim.pid'), String(pid), { mode: 0o600 });
}

/** As runc's shim: the resident is a little likelier than containerd (its parent) to be chosen by
 *  the OOM killer, so that memory pressure ends a shim before the daemon. */
function adjustOomScore(pid: number): void {
  try {
    const parent = Number(fs.readFileSync(`/proc/${process.ppid}/oom_score_adj`, 'utf8'));
    fs.writeFileSync(`/proc/${pid}/oom_score_adj`, String(Math.min(parent + 1, 1000)));
  } catch (err) {
    throw new Error(`start: setting the shim's (pid ${pid}) oom_score_adj: ${errnoMessage(err)}`);
  }
}

/**
 * Returns the address of the namespace's resident shim, spawning it when none answers, and
 * writes the bundle's shim files. A resident that answers the connect but did not answer the
 * launcher (busy past its limit, or an older build) still serves the task.
 */
export async function startShim(flags: ShimFlags, bundle: string, script: string): Promise<string> {
  if (!flags.id) throw new Error('start: -id is required');
  if (!flags.address) throw new Error('start: -address is required');
  if (!flags.socket) throw new Error('start: -socket is required (bin/containerd-shim-runts-v2 names it)');
  const address = flags.socket;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await canConnect(address)) {
      fs.writeFileSync(path.join(bundle, 'address'), address, { mode: 0o600 });
      return address;
    }
    // A socket nobody answers on is left by a killed shim.
    fs.rmSync(socketPath(address), { force: true });
    fs.mkdirSync(SHIM_SOCKET_DIR, { recursive: true, mode: 0o700 });
    const pid = await spawnResident(flags, bundle, address, script);
    if (pid !== 0) {
      adjustOomScore(pid);
      writeShimFiles(bundle, address, pid);
      return address;
    }
    // Another start in the namespace won the socket: connect to its shim.
  }
  throw new Error(`start: ${address} is in use but no shim answers on it`);
}

/** fd 3 of the resident: the pipe `start` waits on for READY. */
const READINESS_FD = 3;

function tellStart(text: string): void {
  try {
    fs.writeSync(READINESS_FD, `${text}\n`);
    fs.closeSync(READINESS_FD);
  } catch {
    // not started by `start` (run by hand): nobody waits
  }
}

/**
 * The resident's first step: listen on its socket (mode 0600) and tell `start` it is ready, before
 * the engine is loaded: containerd's first requests queue on the socket while it loads. On failure
 * tells `start` why and exits.
 */
export async function listenForStart(address: string): Promise<net.Server> {
  const listener = net.createServer();
  const file = socketPath(address);
  try {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(file, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    // Security rule 18: root's alone (created 0777 & ~umask; containerd's umask leaves others no write).
    fs.chmodSync(file, 0o600);
  } catch (err) {
    tellStart((err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? IN_USE : `listen on ${file}: ${(err as Error).message}`);
    process.exit(1);
  }
  tellStart(READY);
  return listener;
}
