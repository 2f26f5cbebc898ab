// Route netlink (rtnetlink) requests built and parsed here; the sockets come from the addon
// (the runtime's network namespace) or from the init helper (the container's: a socket stays
// in the namespace it was made in). Requests go out with write(2), replies come back with
// read(2), one request at a time.
import { readSync, writeSync } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { errnoText } from '../errors';

const NLMSG_HDRLEN = 16;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const NLM_F_DUMP = 0x300;

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_GETADDR = 22;

const IFLA_IFNAME = 3;
const IFLA_NET_NS_FD = 28;
const IFF_UP = 0x1;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_BROADCAST = 4;
const IFA_FLAGS = 8;

/** struct ifinfomsg and struct ifaddrmsg sizes. */
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;

/** A dump reply may hold many messages; the kernel sizes its skbs well below this. */
const RECV_BUFFER = 64 * 1024;

/** A request the kernel refused: `errno` is positive, `code` its name (ENODEV …). */
export class NetlinkError extends Error {
  override name = 'NetlinkError';
  readonly code: string;
  constructor(
    readonly request: string,
    readonly errno: number,
  ) {
    const [code, libuvText] = getSystemErrorMap().get(-errno) ?? [`errno ${errno}`, 'unknown error'];
    super(`${request}: ${errnoText(code, `${code}: ${libuvText}`)} (${code})`);
    this.code = code;
  }
}

export interface Attr {
  type: number;
  data: Buffer;
}

export interface Message {
  type: number;
  /** The bytes after the netlink header. */
  body: Buffer;
}

/** An interface address as RTM_GETADDR reports it. */
export interface InterfaceAddress {
  family: number;
  prefixLength: number;
  /** IFA_F_* bits: the 32-bit IFA_FLAGS attribute when present, else ifa_flags. */
  flags: number;
  scope: number;
  index: number;
  /** IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST as given (absent ones are left out). */
  attrs: Attr[];
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

export function encodeAttrs(attrs: Attr[]): Buffer {
  return Buffer.concat(
    attrs.map(({ type, data }) => {
      const out = Buffer.alloc(align4(4 + data.length));
      out.writeUInt16LE(4 + data.length, 0);
      out.writeUInt16LE(type, 2);
      data.copy(out, 4);
      return out;
    }),
  );
}

export function decodeAttrs(buf: Buffer): Attr[] {
  const attrs: Attr[] = [];
  for (let off = 0; off + 4 <= buf.length; ) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    attrs.push({ type: buf.readUInt16LE(off + 2), data: buf.subarray(off + 4, off + len) });
    off += align4(len);
  }
  return attrs;
}

function stringAttr(type: number, value: string): Attr {
  return { type, data: Buffer.from(`${value}\0`, 'utf8') };
}

function u32Attr(type: number, value: number): Attr {
  const data = Buffer.alloc(4);
  data.writeUInt32LE(value, 0);
  return { type, data };
}

export function ifinfomsg(index: number, flags: number, change: number): Buffer {
  const out = Buffer.alloc(IFINFOMSG_LEN);
  out.writeInt32LE(index, 4);
  out.writeUInt32LE(flags, 8);
  out.writeUInt32LE(change, 12);
  return out;
}

/** One netlink message: header (length, type, flags, sequence, port 0) and payload. */
export function encodeMessage(type: number, flags: number, seq: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(NLMSG_HDRLEN);
  head.writeUInt32LE(NLMSG_HDRLEN + payload.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(flags, 6);
  head.writeUInt32LE(seq, 8);
  return Buffer.concat([head, payload]);
}

/** The messages in one datagram: [sequence, message]. */
export function decodeMessages(buf: Buffer): { seq: number; msg: Message }[] {
  const out: { seq: number; msg: Message }[] = [];
  for (let off = 0; off + NLMSG_HDRLEN <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({ seq: buf.readUInt32LE(off + 8), msg: { type: buf.readUInt16LE(off + 4), body: buf.subarray(off + NLMSG_HDRLEN, off + len) } });
    off += align4(len);
  }
  return out;
}

export function decodeAddress(body: Buffer): InterfaceAddress {
  const attrs = decodeAttrs(body.subarray(IFADDRMSG_LEN));
  const wideFlags = attrs.find((a) => a.type === IFA_FLAGS && a.data.length >= 4);
  return {
    family: body.readUInt8(0),
    prefixLength: body.readUInt8(1),
    flags: wideFlags ? wideFlags.data.readUInt32LE(0) : body.readUInt8(2),
    scope: body.readUInt8(3),
    index: body.readUInt32LE(4),
    attrs: attrs.filter((a) => a.type === IFA_ADDRESS || a.type === IFA_LOCAL || a.type === IFA_BROADCAST),
  };
}

/** A route netlink socket and the requests runts makes on it. Does not own the fd. */
export class RouteSocket {
  private seq = 0;
  constructor(private readonly fd: number) {}

  /**
   * Send one request and collect the replies: up to NLMSG_DONE for a dump, up to the
   * acknowledgement otherwise. A negative error in either throws NetlinkError.
   */
  private request(what: string, type: number, flags: number, payload: Buffer): Message[] {
    const seq = ++this.seq;
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    const req = encodeMessage(type, NLM_F_REQUEST | flags | (dump ? 0 : NLM_F_ACK), seq, payload);
    writeSync(this.fd, req);
    const replies: Message[] = [];
    const buf = Buffer.alloc(RECV_BUFFER);
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, null);
      for (const { seq: got, msg } of decodeMessages(buf.subarray(0, n))) {
        if (got !== seq) continue;
        if (msg.type === NLMSG_ERROR || msg.type === NLMSG_DONE) {
          const status = msg.body.length >= 4 ? msg.body.readInt32LE(0) : 0;
          if (status < 0) throw new NetlinkError(what, -status);
          return replies;
        }
        // The next read reuses buf.
        replies.push({ type: msg.type, body: Buffer.from(msg.body) });
      }
    }
  }

  /** The index of the interface with this name (RTM_GETLINK). */
  linkIndex(name: string): number {
    const [reply] = this.request(`RTM_GETLINK ${name}`, RTM_GETLINK, 0, Buffer.concat([ifinfomsg(0, 0, 0), encodeAttrs([stringAttr(IFLA_IFNAME, name)])]));
    if (!reply || reply.type !== RTM_NEWLINK) throw new Error(`RTM_GETLINK ${name}: no link in the reply`);
    return reply.body.readInt32LE(4);
  }

  /** Every link in the socket's namespace (RTM_GETLINK dump). */
  links(): { index: number; name: string }[] {
    return this.request('RTM_GETLINK', RTM_GETLINK, NLM_F_DUMP, ifinfomsg(0, 0, 0))
      .filter((m) => m.type === RTM_NEWLINK)
      .map((m) => {
        const name = decodeAttrs(m.body.subarray(IFINFOMSG_LEN)).find((a) => a.type === IFLA_IFNAME);
        return { index: m.body.readInt32LE(4), name: name ? name.data.toString('utf8').replace(/\0.*$/s, '') : '' };
      });
  }

  setUp(index: number, up: boolean, name: string): void {
    this.request(`RTM_NEWLINK ${name} ${up ? 'up' : 'down'}`, RTM_NEWLINK, 0, ifinfomsg(index, up ? IFF_UP : 0, IFF_UP));
  }

  /** Move the link into the network namespace open at nsFd, named newName there, in one step. */
  moveToNamespace(index: number, nsFd: number, newName: string, name: string): void {
    const attrs = encodeAttrs([stringAttr(IFLA_IFNAME, newName), u32Attr(IFLA_NET_NS_FD, nsFd)]);
    this.request(`RTM_NEWLINK ${name} netns`, RTM_NEWLINK, 0, Buffer.concat([ifinfomsg(index, 0, 0), attrs]));
  }

  /** The addresses of one interface (RTM_GETADDR dump, filtered here). */
  addresses(index: number, name: string): InterfaceAddress[] {
    const replies = this.request(`RTM_GETADDR ${name}`, RTM_GETADDR, NLM_F_DUMP, Buffer.alloc(IFADDRMSG_LEN));
    return replies
      .filter((m) => m.type === RTM_NEWADDR)
      .map((m) => decodeAddress(m.body))
      .filter((a) => a.index === index);
  }

  addAddress(index: number, addr: InterfaceAddress, name: string): void {
    const head = Buffer.alloc(IFADDRMSG_LEN);
    head.writeUInt8(addr.family, 0);
    head.writeUInt8(addr.prefixLength, 1);
    head.writeUInt8(addr.scope, 3);
    head.writeUInt32LE(index, 4);
    this.request(`RTM_NEWADDR ${name}`, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, Buffer.concat([head, encodeAttrs(addr.attrs)]));
  }
}
