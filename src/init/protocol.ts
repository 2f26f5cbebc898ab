// The sync protocol between runts and the init helper (native/init/sync.{h,cc} is the other
// end); the plan it carries is src/plan/types.ts.
//
// Wire protocol on the sync socket (AF_UNIX SOCK_STREAM, both directions): each message is
// a 4-byte little-endian length followed by that many bytes of UTF-8 JSON, one object with
// a "type" field (see SyncMessage). The parent always speaks first with {type:"plan"}.
//
//   parent  -> stage1  {type:"plan", plan}      plan.cgroupJoin null: the parent has put
//                                               stage1 into the container's cgroups first
//   stage1  -> parent  {type:"userns"}          only when plan.namespaces.newUser
//   parent  -> stage1  {type:"userns-done"}     after writing setgroups/uid_map/gid_map
//   stage1  -> parent  {type:"pid", pid}        host pid of stage2 (the container init);
//                                               stage1 then exits 0
//   parent  -> stage2  {type:"state", state}    the state JSON string for hooks it runs
//   stage2  -> parent  {type:"netlink"}         only when plan.netlinkSocket; then one
//                                               byte carrying (SCM_RIGHTS) a NETLINK_ROUTE
//                                               socket made in the container's network
//                                               namespace: the parent moves linux.netDevices
//   parent  -> stage2  {type:"netlink-done"}
//   stage2  -> parent  {type:"hooks"}           only when plan.runtimeHooks: parent runs
//                                               prestart + createRuntime hooks now
//   parent  -> stage2  {type:"hooks-done"}
//   stage2  -> parent  {type:"created"}         setup done; init now blocks on exec.fifo
//   any     -> parent  {type:"error", message}  then exits 1; message reads like
//                                               "mount proc on /b/rootfs/proc: Operation not permitted"
//   helper  -> parent  {type:"warning", message} non-fatal (e.g. unknown capability)
// The parent SIGKILLs the helper on any failure of its own (e.g. a failed hook).
//
// `runts exec` sends an ExecPlan instead (mode "exec"); the same stage1 joins the running
// container's namespaces and forks stage2 into its pid namespace:
//   parent  -> stage1  {type:"plan", plan}      cgroups as for create (plan.cgroupJoin)
//   stage1  -> parent  {type:"pid", pid}        host pid of stage2 (the exec'd process);
//                                               stage1 then exits 0
//   parent  -> stage2  {type:"exec", state}     after re-checking that the container's
//                                               init is still the recorded process (the
//                                               namespaces were opened through its pid);
//                                               state: the container's state JSON, for a
//                                               seccomp agent
//   stage2 sets up the terminal, rlimits, cwd, credentials and execs: the sync socket is
//   close-on-exec, so EOF means the process runs; {type:"error"} means it never will.
//
// Reads and writes block: create and exec are short synchronous conversations.
import { readSync, writeSync } from 'node:fs';
import type { ExecPlan, InitPlan } from '../plan/types';

export type SyncMessage =
  | { type: 'plan'; plan: InitPlan | ExecPlan }
  /** state: the container's, for a seccomp agent; pid: the exec'd process's host pid. */
  | { type: 'exec'; state: string; pid: number }
  | { type: 'userns' }
  | { type: 'userns-done' }
  | { type: 'pid'; pid: number }
  | { type: 'state'; state: string }
  | { type: 'hooks' }
  | { type: 'hooks-done' }
  | { type: 'netlink' }
  | { type: 'netlink-done' }
  | { type: 'created' }
  | { type: 'error'; message: string }
  | { type: 'warning'; message: string };

const MAX_FRAME = 64 * 1024 * 1024;

function readExactly(fd: number, n: number): Buffer | null {
  const buf = Buffer.alloc(n);
  let off = 0;
  while (off < n) {
    let got: number;
    try {
      got = readSync(fd, buf, off, n - off, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN' || (err as NodeJS.ErrnoException).code === 'EINTR') continue;
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') return null;
      throw err;
    }
    if (got === 0) return null;
    off += got;
  }
  return buf;
}

/** Read one message; null at EOF (the helper exited). */
export function readMessage(fd: number): SyncMessage | null {
  const head = readExactly(fd, 4);
  if (!head) return null;
  const len = head.readUInt32LE(0);
  if (len > MAX_FRAME) throw new Error(`init sync: frame of ${len} bytes is too large`);
  const body = readExactly(fd, len);
  if (!body) return null;
  return JSON.parse(body.toString('utf8')) as SyncMessage;
}

export function writeMessage(fd: number, msg: SyncMessage): void {
  const body = Buffer.from(JSON.stringify(msg), 'utf8');
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, 4);
  let off = 0;
  while (off < frame.length) off += writeSync(fd, frame, off, frame.length - off);
}
