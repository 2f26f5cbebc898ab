// A task process's stdio as containerd hands it over (task v2 CreateTaskRequest/ExecProcessRequest):
// FIFO paths the client reads and writes, or for output a `binary://` logging program or a
// `file://` log, or a terminal. As containerd's runc shim does, the process gets pipes (its own
// fds never reach a client's FIFO) and the shim copies between them and the FIFOs; a logging
// binary reads the pipes itself. Every copy is evented: FIFOs and pipes through net.Socket, the
// pty master through tty.ReadStream; nothing blocks the event loop or a worker thread.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants as fsConstants, fchownSync, mkdirSync, openSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tty from 'node:tty';
import { writeAll } from '../console/proxy';
import { errnoMessage } from '../errors';
import { native } from '../native';

export interface StdioRequest {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

export interface StdioContext {
  /** The container's id and containerd namespace, for a logging binary's environment. */
  containerId: string;
  namespace: string;
  /** Owner of the pipes the process gets (RuncOptions.ioUid/ioGid). */
  uid: number;
  gid: number;
}

/** How long a logging binary gets to exit after SIGTERM before it is killed (containerd's). */
const LOGGER_TERM_TIMEOUT_MS = 12_000;

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** A readable stream over a pipe or FIFO fd (owned by the socket from now on). */
function reader(fd: number): net.Socket {
  const s = new net.Socket({ fd, readable: true, writable: false });
  s.on('error', () => s.destroy());
  return s;
}

function writer(fd: number): net.Socket {
  const s = new net.Socket({ fd, readable: false, writable: true });
  s.on('error', () => s.destroy());
  return s;
}

/** Resolves when the stream has ended or closed, whichever comes first. */
function finished(s: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    s.once('end', resolve);
    s.once('close', resolve);
  });
}

/**
 * Open a client's FIFO for writing without waiting for a reader: O_RDWR never blocks on Linux
 * and, like the read end containerd's shim also keeps open, stops a client that has not opened
 * (or has closed) its end from making the process's writes fail.
 */
function openOutputFifo(file: string): number {
  try {
    return openSync(file, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
  } catch (err) {
    throw new Error(`open stdio fifo ${file}: ${errnoMessage(err)}`, { cause: err });
  }
}

/** The stdin FIFO, for reading: non-blocking open; no EOF until a writer has come and gone. */
function openInputFifo(file: string): number {
  try {
    return openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    throw new Error(`open stdin fifo ${file}: ${errnoMessage(err)}`, { cause: err });
  }
}

function devNull(flags: number): number {
  return openSync('/dev/null', flags);
}

/** file:///path → /path; binary:///path?k=v → path + args (containerd: each key, then its first value). */
function parseLogUri(uri: string): { scheme: 'file' | 'binary'; path: string; args: string[] } | null {
  if (!uri.includes('://')) return null;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new Error(`stdio ${uri}: not a valid URI`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme === 'fifo') return null;
  if (scheme !== 'file' && scheme !== 'binary') throw new Error(`stdio ${uri}: unsupported scheme ${scheme} (fifo paths, binary:// and file:// are)`);
  const file = decodeURIComponent(url.pathname);
  if (!path.isAbsolute(file) || file === '/') throw new Error(`stdio ${uri}: needs an absolute path`);
  const args: string[] = [];
  for (const key of new Set(url.searchParams.keys())) args.push(key, url.searchParams.getAll(key)[0] ?? '');
  return { scheme, path: file, args };
}

/**
 * One process's stdio. `processFds` are what the process gets as 0-2 (pipes, /dev/null); once
 * it holds them, closeProcessEnds() drops ours. With a terminal the process's stdio is its pty
 * (made inside the container, security rule 15) and attachConsole() relays the master.
 */
export class ProcessIO {
  readonly processFds: [number, number, number];
  /** Resolves once every output copy has ended (the process and its children closed their
   *  ends, or the terminal hung up). */
  drained: Promise<void> = Promise.resolve();
  private ours: number[] = [];
  private processEndsOpen = true;
  private streams: { destroy(): void }[] = [];
  private stdinSource: net.Socket | null = null;
  private stdinSink: net.Socket | null = null;
  private master: number | null = null;
  private masterStream: tty.ReadStream | null = null;
  private logger: ChildProcess | null = null;
  private outputFile: number | null = null;

  private constructor(
    private readonly req: StdioRequest,
    fds: [number, number, number],
  ) {
    this.processFds = fds;
  }

  /** Open everything the request names; a failure closes what was opened. */
  static async open(req: StdioRequest, ctx: StdioContext): Promise<ProcessIO> {
    const opened: number[] = [];
    const pipeEnds = new Set<number>();
    const keep = (fd: number) => (opened.push(fd), fd);
    const pipe = (): [number, number] => {
      const [r, w] = native().pipe();
      keep(r);
      keep(w);
      pipeEnds.add(r).add(w);
      return [r, w];
    };
    try {
      if (req.terminal) {
        const io = new ProcessIO(req, [keep(devNull(fsConstants.O_RDONLY)), keep(devNull(fsConstants.O_WRONLY)), keep(devNull(fsConstants.O_WRONLY))]);
        io.ours = opened.slice(3);
        return io;
      }
      const outputs: Promise<void>[] = [];
      const plans: (() => void)[] = [];
      let stdinFd: number;
      if (req.stdin) {
        const fifo = keep(openInputFifo(req.stdin));
        const [r, w] = pipe();
        stdinFd = r;
        plans.push(() => io.pipeStdin(fifo, w));
      } else {
        stdinFd = keep(devNull(fsConstants.O_RDONLY));
      }
      const log = parseLogUri(req.stdout);
      let stdoutFd: number;
      let stderrFd: number;
      let logger: ChildProcess | null = null;
      let outputFile: number | null = null;
      if (log?.scheme === 'binary') {
        // The logging binary gets the read ends as fds 3 and 4 and a ready pipe as fd 5, and
        // reads the process's output itself.
        const [outR, outW] = pipe();
        const [errR, errW] = pipe();
        const [readyR, readyW] = pipe();
        // startLogger owns (and closes) these four from here on.
        for (const fd of [outR, errR, readyR, readyW]) opened.splice(opened.indexOf(fd), 1);
        logger = await startLogger(log.path, log.args, ctx, outR, errR, readyR, readyW);
        stdoutFd = outW;
        stderrFd = errW;
      } else if (log?.scheme === 'file') {
        mkdirSync(path.dirname(log.path), { recursive: true, mode: 0o755 });
        outputFile = keep(openSync(log.path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_APPEND, 0o644));
        const [outR, outW] = pipe();
        const [errR, errW] = pipe();
        stdoutFd = outW;
        stderrFd = errW;
        const file = outputFile;
        plans.push(() => outputs.push(io.copyToFile(outR, file), io.copyToFile(errR, file)));
      } else {
        const toFifo = (file: string): number => {
          if (!file) return keep(devNull(fsConstants.O_WRONLY));
          const fifo = keep(openOutputFifo(file));
          const [r, w] = pipe();
          plans.push(() => outputs.push(io.copyToFifo(r, fifo)));
          return w;
        };
        stdoutFd = toFifo(req.stdout);
        stderrFd = toFifo(req.stderr);
      }
      const io: ProcessIO = new ProcessIO(req, [stdinFd, stdoutFd, stderrFd]);
      io.logger = logger;
      io.outputFile = outputFile;
      // Both ends of a pipe are one inode; /dev/null stays root's.
      for (const fd of io.processFds) if (pipeEnds.has(fd)) fchownSync(fd, ctx.uid, ctx.gid);
      // From here the streams own our ends; ours keeps only what no stream owns.
      io.ours = opened.filter((fd) => !io.processFds.includes(fd));
      plans.forEach((plan) => plan());
      io.drained = Promise.all(outputs).then(() => undefined);
      return io;
    } catch (err) {
      opened.forEach(closeQuietly);
      throw err;
    }
  }

  private release(fd: number): void {
    this.ours = this.ours.filter((f) => f !== fd);
  }

  private pipeStdin(fifo: number, pipeW: number): void {
    this.release(fifo);
    this.release(pipeW);
    const source = reader(fifo);
    const sink = writer(pipeW);
    source.pipe(sink);
    this.stdinSource = source;
    this.stdinSink = sink;
    this.streams.push(source, sink);
  }

  private copyToFifo(pipeR: number, fifo: number): Promise<void> {
    this.release(pipeR);
    this.release(fifo);
    const source = reader(pipeR);
    const sink = writer(fifo);
    source.pipe(sink);
    this.streams.push(source, sink);
    // The client sees EOF once the FIFO's last writer (and our read end with it) is closed.
    return finished(source).then(() => {
      sink.end();
    });
  }

  private copyToFile(pipeR: number, file: number): Promise<void> {
    this.release(pipeR);
    const source = reader(pipeR);
    source.on('data', (chunk: Buffer) => writeAll(file, chunk));
    this.streams.push(source);
    return finished(source);
  }

  /** Once the process holds its stdio: close our copies of its ends, or its output would
   *  never reach EOF. */
  closeProcessEnds(): void {
    if (!this.processEndsOpen) return;
    this.processEndsOpen = false;
    this.processFds.forEach(closeQuietly);
  }

  /** Relay the pty master (ours from now on): output to the stdout FIFO, the stdin FIFO in. */
  attachConsole(master: number): void {
    this.master = master;
    const stream = new tty.ReadStream(master);
    stream.on('error', () => stream.destroy());
    this.masterStream = stream;
    const outputs: Promise<void>[] = [finished(stream)];
    if (this.req.stdout) {
      const out = writer(openOutputFifo(this.req.stdout));
      stream.pipe(out);
      this.streams.push(out);
      outputs[0] = outputs[0].then(() => void out.end());
    }
    if (this.req.stdin) {
      const input = reader(openInputFifo(this.req.stdin));
      input.on('data', (chunk: Buffer) => writeAll(master, chunk));
      this.stdinSource = input;
      this.streams.push(input);
    }
    this.drained = Promise.all(outputs).then(() => undefined);
  }

  resize(width: number, height: number): void {
    if (this.master === null) throw new Error('the process has no terminal');
    native().setWinsize(this.master, height, width);
  }

  /** CloseIO(stdin): the process sees EOF on its stdin (no terminal), or the client's input
   *  stops being relayed to the terminal. */
  closeStdin(): void {
    this.stdinSource?.unpipe();
    this.stdinSource?.destroy();
    this.stdinSink?.end();
    this.stdinSource = null;
    this.stdinSink = null;
  }

  /** Tear everything down: copies, the terminal, the logging binary (SIGTERM, then SIGKILL
   *  after containerd's 12 s). */
  async close(): Promise<void> {
    this.closeProcessEnds();
    this.closeStdin();
    for (const s of this.streams) s.destroy();
    this.streams = [];
    // destroy() closes the master itself once a read in flight is done.
    this.masterStream?.destroy();
    this.masterStream = null;
    this.master = null;
    if (this.outputFile !== null) closeQuietly(this.outputFile);
    this.outputFile = null;
    this.ours.forEach(closeQuietly);
    this.ours = [];
    const logger = this.logger;
    this.logger = null;
    if (logger && logger.exitCode === null && logger.signalCode === null) {
      const exited = new Promise<void>((resolve) => logger.once('exit', () => resolve()));
      logger.kill('SIGTERM');
      const timer = setTimeout(() => logger.kill('SIGKILL'), LOGGER_TERM_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
  }
}

/** Start a logging binary as containerd's shim does and wait until it says it is ready (a byte
 *  or EOF on fd 5). */
async function startLogger(file: string, args: string[], ctx: StdioContext, outR: number, errR: number, readyR: number, readyW: number): Promise<ChildProcess> {
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      stdio: ['ignore', 'ignore', 'ignore', outR, errR, readyW],
      env: { CONTAINER_ID: ctx.containerId, CONTAINER_NAMESPACE: ctx.namespace },
    });
  } finally {
    // The logger has its copies; ours would keep the ready pipe from reaching EOF.
    [outR, errR, readyW].forEach(closeQuietly);
  }
  const ready = reader(readyR);
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`start logging binary ${file}: ${errnoMessage(err)}`, { cause: err })));
      ready.once('data', () => resolve());
      ready.once('end', () => resolve());
      ready.once('close', () => resolve());
    });
  } catch (err) {
    ready.destroy();
    throw err;
  }
  ready.destroy();
  return child;
}
