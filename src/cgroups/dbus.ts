// A minimal, synchronous D-Bus client: enough to call systemd's manager over its private
// socket (/run/systemd/private, no bus daemon) and wait for its JobRemoved signal. The wire
// format (little-endian), SASL EXTERNAL authentication, method calls, replies, errors and
// signals; values are marshalled from their D-Bus type signatures. Synchronous because the
// engine is: container creation happens in one blocking pass.
import * as fs from 'node:fs';
import { native } from '../native';

/** A variant: a value carried with its own signature. */
export class Variant {
  constructor(
    readonly signature: string,
    readonly value: DBusValue,
  ) {}
}

/** Values by type: integers as number (64-bit ones as bigint), b as boolean, s/o/g as string,
 *  arrays as arrays, structs and dict entries as arrays of their fields, v as Variant. */
export type DBusValue = number | bigint | boolean | string | Variant | DBusValue[];

/** The peer sent nothing within the connection's timeout. */
export class DBusTimeoutError extends Error {
  override name = 'DBusTimeoutError';
}

export class DBusError extends Error {
  override name = 'DBusError';
  constructor(
    /** The D-Bus error name, e.g. org.freedesktop.systemd1.NoSuchUnit. */
    readonly errorName: string,
    message: string,
  ) {
    super(`${errorName}: ${message}`);
  }
}

export const MessageType = { MethodCall: 1, MethodReturn: 2, Error: 3, Signal: 4 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export interface Message {
  type: MessageType;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  /** The body's signature ('' for no body). */
  signature: string;
  body: DBusValue[];
}

// ---- signatures ----

const ALIGN: Record<string, number> = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, h: 4, s: 4, o: 4, g: 1, v: 1, a: 4, '(': 8, '{': 8 };

/** The end (exclusive) of the one complete type starting at `i` in `sig`. */
function typeEnd(sig: string, i: number): number {
  const c = sig[i];
  if (c === 'a') return typeEnd(sig, i + 1);
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    let j = i + 1;
    while (sig[j] !== close) {
      if (j >= sig.length) throw new Error(`D-Bus signature ${JSON.stringify(sig)}: unclosed ${c}`);
      j = typeEnd(sig, j);
    }
    return j + 1;
  }
  if (!(c in ALIGN) || c === ')' || c === '}') throw new Error(`D-Bus signature ${JSON.stringify(sig)}: unexpected ${JSON.stringify(c)} at ${i}`);
  return i + 1;
}

/** A signature split into its complete types ("sa(sv)" → ["s", "a(sv)"]). */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < sig.length; ) {
    const end = typeEnd(sig, i);
    out.push(sig.slice(i, end));
    i = end;
  }
  return out;
}

// ---- marshalling ----

class Writer {
  private buf = Buffer.alloc(256);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    this.ensure(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }

  /** Writes at a fixed offset (an array's length, known once its elements are written). */
  u32At(offset: number, v: number): void {
    this.buf.writeUInt32LE(v, offset);
  }

  fixed(kind: string, v: DBusValue): void {
    const size = ALIGN[kind];
    this.align(size);
    this.ensure(size);
    const at = this.length;
    switch (kind) {
      case 'y':
        this.buf.writeUInt8(Number(v), at);
        break;
      case 'b':
        this.buf.writeUInt32LE(v ? 1 : 0, at);
        break;
      case 'n':
        this.buf.writeInt16LE(Number(v), at);
        break;
      case 'q':
        this.buf.writeUInt16LE(Number(v), at);
        break;
      case 'i':
        this.buf.writeInt32LE(Number(v), at);
        break;
      case 'u':
      case 'h':
        this.buf.writeUInt32LE(Number(v), at);
        break;
      case 'x':
        this.buf.writeBigInt64LE(BigInt(v as number | bigint), at);
        break;
      case 't':
        this.buf.writeBigUInt64LE(BigInt(v as number | bigint), at);
        break;
      case 'd':
        this.buf.writeDoubleLE(Number(v), at);
        break;
    }
    this.length += size;
  }

  bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function expectType(ok: boolean, type: string, v: unknown): void {
  if (!ok) throw new TypeError(`D-Bus: cannot marshal ${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x))} as ${type}`);
}

function marshal(w: Writer, type: string, v: DBusValue): void {
  const c = type[0];
  switch (c) {
    case 's':
    case 'o': {
      expectType(typeof v === 'string', type, v);
      const b = Buffer.from(v as string, 'utf8');
      w.fixed('u', b.length);
      w.bytes(b);
      w.u8(0);
      return;
    }
    case 'g': {
      expectType(typeof v === 'string', type, v);
      const b = Buffer.from(v as string, 'utf8');
      w.u8(b.length);
      w.bytes(b);
      w.u8(0);
      return;
    }
    case 'v': {
      expectType(v instanceof Variant, type, v);
      const variant = v as Variant;
      if (splitSignature(variant.signature).length !== 1) throw new TypeError(`D-Bus: a variant holds one complete type, not ${JSON.stringify(variant.signature)}`);
      marshal(w, 'g', variant.signature);
      marshal(w, variant.signature, variant.value);
      return;
    }
    case 'a': {
      expectType(Array.isArray(v), type, v);
      const element = type.slice(1);
      w.align(4);
      const lengthAt = w.length;
      w.fixed('u', 0);
      // The length excludes the padding before the first element.
      w.align(ALIGN[element[0]]);
      const start = w.length;
      for (const item of v as DBusValue[]) marshal(w, element, item);
      w.u32At(lengthAt, w.length - start);
      return;
    }
    case '(':
    case '{': {
      const fields = splitSignature(type.slice(1, -1));
      expectType(Array.isArray(v) && v.length === fields.length, type, v);
      w.align(8);
      fields.forEach((f, i) => marshal(w, f, (v as DBusValue[])[i]));
      return;
    }
    default:
      if (c === 'b') expectType(typeof v === 'boolean', type, v);
      else expectType(typeof v === 'number' || typeof v === 'bigint', type, v);
      w.fixed(c, v);
  }
}

/** The values of `signature`, marshalled as a message body (starting at offset 0). */
export function marshalBody(signature: string, values: DBusValue[]): Buffer {
  const types = splitSignature(signature);
  if (types.length !== values.length) throw new TypeError(`D-Bus: signature ${JSON.stringify(signature)} needs ${types.length} values, got ${values.length}`);
  const w = new Writer();
  types.forEach((type, i) => marshal(w, type, values[i]));
  return w.result();
}

// ---- unmarshalling ----

class Reader {
  constructor(
    private readonly buf: Buffer,
    public offset = 0,
  ) {}

  align(n: number): void {
    this.offset += (n - (this.offset % n)) % n;
  }

  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new Error(`D-Bus: message truncated at ${this.offset} (+${n})`);
  }

  read(type: string): DBusValue {
    const c = type[0];
    switch (c) {
      case 'y':
        this.need(1);
        return this.buf.readUInt8(this.offset++);
      case 's':
      case 'o': {
        const n = this.read('u') as number;
        this.need(n + 1);
        const s = this.buf.toString('utf8', this.offset, this.offset + n);
        this.offset += n + 1;
        return s;
      }
      case 'g': {
        const n = this.read('y') as number;
        this.need(n + 1);
        const s = this.buf.toString('utf8', this.offset, this.offset + n);
        this.offset += n + 1;
        return s;
      }
      case 'v': {
        const sig = this.read('g') as string;
        return new Variant(sig, this.read(sig));
      }
      case 'a': {
        const n = this.read('u') as number;
        const element = type.slice(1);
        this.align(ALIGN[element[0]]);
        const end = this.offset + n;
        this.need(n);
        const out: DBusValue[] = [];
        while (this.offset < end) out.push(this.read(element));
        return out;
      }
      case '(':
      case '{':
        this.align(8);
        return splitSignature(type.slice(1, -1)).map((f) => this.read(f));
    }
    const size = ALIGN[c];
    if (size === undefined) throw new Error(`D-Bus: unknown type ${JSON.stringify(type)}`);
    this.align(size);
    this.need(size);
    const at = this.offset;
    this.offset += size;
    switch (c) {
      case 'b':
        return this.buf.readUInt32LE(at) !== 0;
      case 'n':
        return this.buf.readInt16LE(at);
      case 'q':
        return this.buf.readUInt16LE(at);
      case 'i':
        return this.buf.readInt32LE(at);
      case 'x':
        return this.buf.readBigInt64LE(at);
      case 't':
        return this.buf.readBigUInt64LE(at);
      case 'd':
        return this.buf.readDoubleLE(at);
      default:
        return this.buf.readUInt32LE(at); // u, h
    }
  }
}

/** A body marshalled with `signature` back into values. */
export function unmarshalBody(signature: string, body: Buffer): DBusValue[] {
  const r = new Reader(body);
  return splitSignature(signature).map((type) => r.read(type));
}

// ---- messages ----

/** Header field codes, the Message keys they fill and their types. */
const FIELDS: [number, keyof Message, string][] = [
  [1, 'path', 'o'],
  [2, 'interface', 's'],
  [3, 'member', 's'],
  [4, 'errorName', 's'],
  [5, 'replySerial', 'u'],
  [6, 'destination', 's'],
  [7, 'sender', 's'],
  [8, 'signature', 'g'],
];

const PROTOCOL_VERSION = 1;
/** The fixed part of the header: endianness, type, flags, version, body length, serial, fields length. */
const FIXED_HEADER = 16;

export function encodeMessage(m: Message): Buffer {
  const body = marshalBody(m.signature, m.body);
  const fields: DBusValue[] = [];
  for (const [code, key, sig] of FIELDS) {
    const v = m[key];
    if (v === undefined || (key === 'signature' && v === '')) continue;
    fields.push([code, new Variant(sig, v as DBusValue)]);
  }
  const w = new Writer();
  w.u8('l'.charCodeAt(0));
  w.u8(m.type);
  w.u8(m.flags);
  w.u8(PROTOCOL_VERSION);
  w.fixed('u', body.length);
  w.fixed('u', m.serial);
  marshal(w, 'a(yv)', fields);
  w.align(8);
  w.bytes(body);
  return w.result();
}

/** The total length of the message at the start of `buf`, once its fixed header is there. */
function messageLength(buf: Buffer): number | undefined {
  if (buf.length < FIXED_HEADER) return undefined;
  if (buf[0] !== 'l'.charCodeAt(0)) throw new Error(`D-Bus: unsupported byte order ${JSON.stringify(String.fromCharCode(buf[0]))}`);
  const fieldsLength = buf.readUInt32LE(12);
  const headerEnd = FIXED_HEADER + fieldsLength + ((8 - ((FIXED_HEADER + fieldsLength) % 8)) % 8);
  return headerEnd + buf.readUInt32LE(4);
}

/** One message from the start of `buf`, with its length; undefined while it is incomplete. */
export function decodeMessage(buf: Buffer): { message: Message; length: number } | undefined {
  const length = messageLength(buf);
  if (length === undefined || buf.length < length) return undefined;
  const r = new Reader(buf, 12);
  const fields = r.read('a(yv)') as [number, Variant][];
  r.align(8);
  const message: Message = { type: buf[1] as MessageType, flags: buf[2], serial: buf.readUInt32LE(8), signature: '', body: [] };
  const record = message as unknown as Record<string, unknown>;
  for (const [code, variant] of fields) {
    const known = FIELDS.find(([c]) => c === code);
    if (known) record[known[1]] = variant.value;
  }
  message.body = unmarshalBody(message.signature, buf.subarray(r.offset, length));
  return { message, length };
}

// ---- the connection ----

export interface CallOptions {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: DBusValue[];
}

/**
 * A blocking connection to a D-Bus peer on a unix socket (systemd's private socket speaks
 * D-Bus directly: no Hello, no bus daemon). Signals that arrive while waiting for a reply are
 * kept for waitForSignal.
 */
export class DBusConnection {
  private serial = 0;
  private pending = Buffer.alloc(0);
  private readonly signals: Message[] = [];

  private constructor(
    private fd: number,
    private readonly address: string,
  ) {}

  /** Connects and authenticates with SASL EXTERNAL as our uid. */
  static connect(socketPath: string, timeoutMs = 30_000): DBusConnection {
    const conn = new DBusConnection(native().unixConnect(socketPath, timeoutMs), socketPath);
    try {
      conn.authenticate();
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  /**
   * AUTH and BEGIN go in one write, as sd-bus clients send them. systemd's server (252) parses
   * nothing it read together with BEGIN until more data arrives: a first call written after a
   * separate BEGIN, and read along with it by a busy systemd, would never be answered.
   */
  private authenticate(): void {
    const uid = Buffer.from(String(process.getuid?.() ?? 0)).toString('hex');
    this.write(Buffer.from(`\0AUTH EXTERNAL ${uid}\r\nBEGIN\r\n`));
    const line = this.readLine();
    if (!line.startsWith('OK ')) throw new Error(`D-Bus ${this.address}: authentication refused (${line.trim()})`);
  }

  private write(data: Buffer): void {
    for (let done = 0; done < data.length; ) done += this.io(() => fs.writeSync(this.fd, data, done, data.length - done));
  }

  /** One read or write, with the socket's timeout reported as such. */
  private io(op: () => number): number {
    try {
      return op();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') throw new DBusTimeoutError(`D-Bus ${this.address}: no answer in time`);
      throw new Error(`D-Bus ${this.address}: ${(err as Error).message}`);
    }
  }

  private fill(): void {
    const chunk = Buffer.alloc(65536);
    const n = this.io(() => fs.readSync(this.fd, chunk, 0, chunk.length, null));
    if (n === 0) throw new Error(`D-Bus ${this.address}: the peer closed the connection`);
    this.pending = Buffer.concat([this.pending, chunk.subarray(0, n)]);
  }

  private readLine(): string {
    for (;;) {
      const end = this.pending.indexOf('\r\n');
      if (end >= 0) {
        const line = this.pending.toString('utf8', 0, end);
        this.pending = this.pending.subarray(end + 2);
        return line;
      }
      if (this.pending.length > 4096) throw new Error(`D-Bus ${this.address}: authentication reply too long`);
      this.fill();
    }
  }

  private readMessage(): Message {
    for (;;) {
      const decoded = decodeMessage(this.pending);
      if (decoded) {
        this.pending = this.pending.subarray(decoded.length);
        return decoded.message;
      }
      this.fill();
    }
  }

  /** Calls a method and returns its reply's body; a D-Bus error reply throws DBusError. */
  call(opts: CallOptions): DBusValue[] {
    const serial = ++this.serial;
    this.write(encodeMessage({ ...opts, type: MessageType.MethodCall, flags: 0, serial, signature: opts.signature ?? '', body: opts.body ?? [] }));
    for (;;) {
      const m = this.readMessage();
      if (m.type === MessageType.Signal) {
        this.signals.push(m);
        continue;
      }
      if (m.replySerial !== serial) continue;
      if (m.type === MessageType.Error) throw new DBusError(m.errorName ?? 'org.freedesktop.DBus.Error.Failed', typeof m.body[0] === 'string' ? m.body[0] : '');
      return m.body;
    }
  }

  /** The first signal (already received or still to come) that `matches`. */
  waitForSignal(matches: (m: Message) => boolean): Message {
    for (;;) {
      const i = this.signals.findIndex(matches);
      if (i >= 0) return this.signals.splice(i, 1)[0];
      const m = this.readMessage();
      if (m.type === MessageType.Signal) this.signals.push(m);
    }
  }

  close(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}
