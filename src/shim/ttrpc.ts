// ttrpc, containerd's RPC over a unix socket (github.com/containerd/ttrpc): every message is a
// 10-byte header (big-endian uint32 payload length, uint32 stream id, uint8 type, uint8 flags)
// and a protobuf payload, a Request (type 1) from the client on an odd stream id, the Response
// (type 2) on the same id. Requests on one connection are served concurrently.
import * as net from 'node:net';
import { socketPath } from './address';
import { RpcRequest, RpcResponse, type RpcStatus } from './proto';

export const HEADER_LENGTH = 10;
/** ttrpc's messageLengthMax: larger messages are discarded and answered ResourceExhausted. */
export const MAX_MESSAGE_LENGTH = 4 << 20;
export const MESSAGE_TYPE_REQUEST = 1;
export const MESSAGE_TYPE_RESPONSE = 2;

/** gRPC status codes: the ones ttrpc itself answers, and those containerd maps to its errdefs
 *  (NotFound, AlreadyExists, FailedPrecondition, …). */
export enum Code {
  OK = 0,
  Unknown = 2,
  InvalidArgument = 3,
  NotFound = 5,
  AlreadyExists = 6,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
}

/** A failed call: the status the peer answered (client side), or to answer (server side). */
export class TtrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'TtrpcError';
  }
}

export function frame(streamId: number, type: number, payload: Uint8Array, flags = 0): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(streamId, 4);
  header.writeUInt8(type, 8);
  header.writeUInt8(flags, 9);
  return Buffer.concat([header, payload]);
}

export interface Message {
  streamId: number;
  type: number;
  flags: number;
  /** Undefined when the message was longer than MAX_MESSAGE_LENGTH (its bytes were dropped). */
  payload?: Buffer;
  length: number;
}

/** Splits a byte stream into messages; oversized ones are skipped without being buffered. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  private skipping = 0;

  push(chunk: Buffer): Message[] {
    const out: Message[] = [];
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    if (this.skipping) {
      const n = Math.min(this.skipping, data.length);
      this.skipping -= n;
      data = data.subarray(n);
    }
    while (data.length >= HEADER_LENGTH) {
      const length = data.readUInt32BE(0);
      const head = { streamId: data.readUInt32BE(4), type: data.readUInt8(8), flags: data.readUInt8(9), length };
      if (length > MAX_MESSAGE_LENGTH) {
        out.push(head);
        const n = Math.min(length, data.length - HEADER_LENGTH);
        this.skipping = length - n;
        data = data.subarray(HEADER_LENGTH + n);
        continue;
      }
      if (data.length < HEADER_LENGTH + length) break;
      out.push({ ...head, payload: Buffer.from(data.subarray(HEADER_LENGTH, HEADER_LENGTH + length)) });
      data = data.subarray(HEADER_LENGTH + length);
    }
    this.pending = Buffer.from(data);
    return out;
  }
}

/** A method: the request's payload in, the response's payload out. What it throws is answered
 *  as a status through ServerOptions.mapError. */
export type Handler = (payload: Uint8Array) => Promise<Uint8Array>;

export interface ServerOptions {
  /** service name → method name → handler */
  services: Map<string, Map<string, Handler>>;
  /** Maps a handler's throw to the status answered (default: TtrpcError's code, else Internal). */
  mapError?: (err: unknown, service: string, method: string) => RpcStatus;
}

function defaultMapError(err: unknown): RpcStatus {
  if (err instanceof TtrpcError) return { code: err.code, message: err.message };
  return { code: Code.Internal, message: err instanceof Error ? err.message : String(err) };
}

/** Serves ttrpc on the connections handed to it (from a listener it does not own). */
export class TtrpcServer {
  private readonly connections = new Set<net.Socket>();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  /** When a connection last opened or closed or a request last finished (Date.now()). */
  lastActive = Date.now();

  constructor(private readonly options: ServerOptions) {}

  /** Serves every connection the listener accepts. */
  serve(listener: net.Server): void {
    listener.on('connection', (socket) => this.handle(socket));
  }

  handle(socket: net.Socket): void {
    this.connections.add(socket);
    this.lastActive = Date.now();
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      for (const message of reader.push(chunk)) this.dispatch(socket, message);
    });
    socket.on('error', () => {}); // the peer went away; 'close' follows
    socket.on('close', () => {
      this.connections.delete(socket);
      this.lastActive = Date.now();
    });
  }

  /** Connections open now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Resolves once no request is being served (a response just written included). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Closes every connection. */
  close(): void {
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
  }

  private send(socket: net.Socket, streamId: number, response: RpcResponse): Promise<void> {
    return new Promise((resolve) => {
      if (socket.destroyed) return resolve();
      socket.write(frame(streamId, MESSAGE_TYPE_RESPONSE, RpcResponse.encode(response)), () => resolve());
    });
  }

  private dispatch(socket: net.Socket, message: Message): void {
    const fail = (code: number, text: string) => this.track(this.send(socket, message.streamId, { status: { code, message: text }, payload: new Uint8Array(0) }));
    if (message.payload === undefined) {
      fail(Code.ResourceExhausted, `message length ${message.length} exceed maximum message size of ${MAX_MESSAGE_LENGTH}`);
      return;
    }
    // Other types (responses, streaming data of newer ttrpc) are ignored, as ttrpc's server does.
    if (message.type !== MESSAGE_TYPE_REQUEST) return;
    let request: RpcRequest;
    try {
      request = RpcRequest.decode(message.payload);
    } catch (err) {
      fail(Code.InvalidArgument, `unmarshal request error: ${(err as Error).message}`);
      return;
    }
    if (message.streamId % 2 !== 1) {
      fail(Code.InvalidArgument, 'StreamID must be odd for client initiated streams');
      return;
    }
    this.track(this.call(socket, message.streamId, request));
  }

  private async call(socket: net.Socket, streamId: number, request: RpcRequest): Promise<void> {
    const service = this.options.services.get(request.service);
    const handler = service?.get(request.method);
    let response: RpcResponse;
    if (!service) response = { status: { code: Code.Unimplemented, message: `service ${request.service}` }, payload: new Uint8Array(0) };
    else if (!handler) response = { status: { code: Code.Unimplemented, message: `method ${request.method}` }, payload: new Uint8Array(0) };
    else {
      try {
        response = { status: { code: Code.OK, message: '' }, payload: await handler(request.payload) };
      } catch (err) {
        response = { status: (this.options.mapError ?? defaultMapError)(err, request.service, request.method), payload: new Uint8Array(0) };
      }
    }
    await this.send(socket, streamId, response);
  }

  private track(work: Promise<void>): void {
    this.inFlight++;
    void work.finally(() => {
      this.lastActive = Date.now();
      if (--this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }
}

/** A ttrpc client on one connection (the shim publishes its events to containerd with it). */
export class TtrpcClient {
  private nextStreamId = 1;
  private readonly calls = new Map<number, { resolve: (payload: Uint8Array) => void; reject: (err: Error) => void }>();
  private closedError: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      for (const message of reader.push(chunk)) this.receive(message);
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('ttrpc: connection closed')));
  }

  static connect(address: string, timeoutMs = 5000): Promise<TtrpcClient> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath(address));
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`ttrpc: connecting to ${address}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new TtrpcClient(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`ttrpc: connecting to ${address}: ${err.message}`));
      });
    });
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  call(service: string, method: string, payload: Uint8Array, timeoutMs = 10_000): Promise<Uint8Array> {
    if (this.closedError) return Promise.reject(this.closedError);
    const streamId = this.nextStreamId;
    this.nextStreamId += 2;
    const request = RpcRequest.encode({ service, method, payload, timeoutNano: BigInt(timeoutMs) * 1_000_000n, metadata: [] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.calls.delete(streamId);
        reject(new Error(`ttrpc: ${service}/${method}: no response in ${timeoutMs} ms`));
      }, timeoutMs);
      this.calls.set(streamId, {
        resolve: (p) => (clearTimeout(timer), resolve(p)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.socket.write(frame(streamId, MESSAGE_TYPE_REQUEST, request));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(message: Message): void {
    const call = this.calls.get(message.streamId);
    if (!call || message.type !== MESSAGE_TYPE_RESPONSE) return;
    this.calls.delete(message.streamId);
    if (!message.payload) return call.reject(new TtrpcError(Code.ResourceExhausted, `response of ${message.length} bytes exceeds ${MAX_MESSAGE_LENGTH}`));
    try {
      const response = RpcResponse.decode(message.payload);
      if (response.status && response.status.code !== Code.OK) call.reject(new TtrpcError(response.status.code, response.status.message));
      else call.resolve(response.payload);
    } catch (err) {
      call.reject(new Error(`ttrpc: undecodable response: ${(err as Error).message}`));
    }
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    for (const call of this.calls.values()) call.reject(err);
    this.calls.clear();
  }
}
