// `containerd-shim-runts-v2 start`: find or spawn the resident shim that serves this container
// and print its socket address, as containerd's runc shim does (runtime/v2/runc/manager):
// containers of one group share one shim (src/shim/address.ts).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { ShimFlags } from './flags';
import { groupOf, SHIM_SOCKET_DIR, shimSocketAddress, socketPath } from './address';

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

function readAnnotations(bundle: string): Record<string, string> | undefined {
  const file = path.join(bundle, 'config.json');
  let spec: unknown;
  try {
    spec = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`start: reading ${file}: ${(err as Error).message}`);
  }
  const annotations = (spec as { annotations?: unknown } | null)?.annotations;
  return annotations && typeof annotations === 'object' ? (annotations as Record<string, string>) : undefined;
}

/** What the resident shim writes on fd 3 once it listens, or the error it failed with. */
export const READY = 'ready';
/** The resident's answer when another shim took the socket meanwhile (a concurrent start). */
export const IN_USE = 'in use';

/** Spawns the resident shim (a new session, stdio on /dev/null, cwd the bundle) serving
 *  `address`, and waits until it listens. Resolves to its pid, or 0 when the socket turned out
 *  to be another live shim's. */
function spawnResident(flags: ShimFlags, bundle: string, address: string, script: string): Promise<number> {
  const args = ['-namespace', flags.namespace, '-id', flags.id, '-address', flags.address, '-socket', address];
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

/**
 * Returns the address of the shim that serves this container: a live one of its group, or a new
 * resident one. Writes BUNDLE/address (and shim.pid for a new shim), which containerd reads when
 * it reconnects after a restart.
 */
export async function startShim(flags: ShimFlags, bundle: string, script: string): Promise<string> {
  if (!flags.id) throw new Error('start: -id is required');
  if (!flags.address) throw new Error('start: -address is required');
  const address = shimSocketAddress(flags.address, flags.namespace, groupOf(flags.id, readAnnotations(bundle)));
  const writeAddress = () => fs.writeFileSync(path.join(bundle, 'address'), address, { mode: 0o600 });
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await canConnect(address)) {
      writeAddress();
      return address;
    }
    // A socket nobody answers on is left by a killed shim.
    fs.rmSync(socketPath(address), { force: true });
    fs.mkdirSync(SHIM_SOCKET_DIR, { recursive: true, mode: 0o700 });
    const pid = await spawnResident(flags, bundle, address, script);
    if (pid !== 0) {
      writeAddress();
      fs.writeFileSync(path.join(bundle, 'shim.pid'), String(pid), { mode: 0o600 });
      return address;
    }
    // Another start of the same group won the socket: connect to its shim.
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
    fs.chmodSync(file, 0o600);
  } catch (err) {
    tellStart((err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? IN_USE : `listen on ${file}: ${(err as Error).message}`);
    process.exit(1);
  }
  tellStart(READY);
  return listener;
}
