/**
 * Descriptors passed over Unix sockets (`SCM_RIGHTS`): checking the fds a
 * caller gives, and the `sendmsg(2)`/`recvmsg(2)` calls that carry them, with
 * `struct msghdr`, `iovec` and `cmsghdr` encoded by the struct layer; and the
 * sender's credentials (`SCM_CREDENTIALS`) a datagram brings.
 *
 * Every call here is synchronous and ends before any other code runs, so one
 * set of C buffers serves them all. The buffers are ArrayBuffers of their own
 * (off V8's heap), so their addresses, written into the `msghdr`, stay put.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { AGAIN, E, failed } from "../_sys.ts";
import { errorFromCode, type ErrorSubject } from "../errors.ts";
import { addressOf, checkInteger, ownBuffer, shown } from "../_check.ts";
import { fdOfSource, type FdSource } from "../fd/_fd_source.ts";
import { reopenBlocking } from "../fd/_adopt.ts";
import { fileOfFd } from "../_path.ts";
import type { PeerCredentials } from "./_credentials.ts";

const MSGHDR = LAYOUTS.msghdr;
const IOVEC = LAYOUTS.iovec;
const CMSG = LAYOUTS.cmsghdr;
const UCRED = LAYOUTS.ucred;
/** `sizeof(int)`: one descriptor in an `SCM_RIGHTS` message. */
const FD_SIZE = 4;
/** Descriptors are C ints, in host byte order. */
const HOST_LE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The most descriptors one message carries (the kernel's `SCM_MAX_FD`). */
export const SCM_MAX_FD = 253;

/** `CMSG_ALIGN`: ancillary items are aligned to `size_t`, the alignment of `cmsghdr`. */
function cmsgAlign(n: number): number {
  return Math.ceil(n / CMSG.align) * CMSG.align;
}

/** `CMSG_LEN(n)`: a header and `n` bytes of data. */
const cmsgLen = (n: number): number => CMSG.sizeFor(n);
/** `CMSG_SPACE(n)`: what a header with `n` bytes of data takes, padding included. */
const cmsgSpace = (n: number): number => cmsgAlign(CMSG.sizeFor(0)) + cmsgAlign(n);

let buffers: {
  msg: Uint8Array<ArrayBuffer>;
  iov: Uint8Array<ArrayBuffer>;
  control: Uint8Array<ArrayBuffer>;
  iovAt: bigint;
  controlAt: bigint;
} | undefined;

/**
 * Room for what the kernel puts before `SCM_RIGHTS` on a socket with
 * `SO_PASSCRED` (`SCM_CREDENTIALS`) or `SO_PASSPIDFD` (`SCM_PIDFD`), which a
 * process that handed the socket over may have set: without it, the
 * descriptors found no room and the kernel closed them all.
 */
const CREDENTIALS_ROOM = cmsgSpace(LAYOUTS.ucred.size) + cmsgSpace(FD_SIZE);
/** `SCM_PIDFD` (Linux ≥ 6.5, `asm-generic/socket.h`, the same on every architecture). */
const SCM_PIDFD = 4;

/** The shared C buffers, made on first use. */
function shared(): NonNullable<typeof buffers> {
  if (buffers !== undefined) return buffers;
  const msg = ownBuffer(MSGHDR.size);
  const iov = ownBuffer(IOVEC.size);
  const control = ownBuffer(CREDENTIALS_ROOM + cmsgSpace(SCM_MAX_FD * FD_SIZE));
  return buffers = { msg, iov, control, iovAt: addressOf(iov), controlAt: addressOf(control) };
}

/** Where received stream bytes land before they are copied out (one buffer for every call). */
export const STREAM_SCRATCH = 64 * 1024;
let scratch: Uint8Array<ArrayBuffer> | undefined;

/** A buffer of `size` bytes to receive into: the shared scratch buffer when it is large enough. */
export function receiveBuffer(size: number): Uint8Array<ArrayBuffer> {
  if (size > STREAM_SCRATCH) return ownBuffer(size);
  return (scratch ??= ownBuffer(STREAM_SCRATCH)).subarray(0, size);
}

/**
 * Checks the descriptors to send, before any system call: 1 to
 * {@link SCM_MAX_FD} of them, each an fd number or an open handle.
 */
export function checkFds(fds: unknown, what: string): Int32Array {
  if (!Array.isArray(fds)) {
    throw new TypeError(
      `${what}: fds must be an array of fd numbers or handles with an fd, got ${shown(fds)}`,
    );
  }
  if (fds.length === 0 || fds.length > SCM_MAX_FD) {
    throw new RangeError(
      `${what}: one message carries 1 to ${SCM_MAX_FD} descriptors (SCM_MAX_FD), got ${fds.length}`,
    );
  }
  const out = new Int32Array(fds.length);
  for (let i = 0; i < fds.length; i++) out[i] = fdOfSource(fds[i], `${what}: fds[${i}]`, "sendmsg");
  return out;
}

/**
 * The handles' descriptors again, as the send is tried (a later try of a send
 * that waited): a handle closed meanwhile is an error, never another fd that
 * got its number. Numbers were checked by {@link checkFds} and cannot change.
 */
export function refreshFds(fds: readonly FdSource[], into: Int32Array): void {
  for (let i = 0; i < fds.length; i++) {
    const source = fds[i];
    if (typeof source !== "number") into[i] = fdOfSource(source, `fds[${i}]`, "sendmsg");
  }
}

/** Checks `max` (how many descriptors a receive takes): 0 to {@link SCM_MAX_FD}. */
export function checkMax(max: unknown): number {
  return max === undefined ? SCM_MAX_FD : checkInteger(max, "max", 0, SCM_MAX_FD);
}

/**
 * Writes the `msghdr` (and its one `iovec`) for `bytes` and `controlLength`
 * bytes of control, with no address.
 */
function prepare(bytes: Uint8Array, controlLength: number): Uint8Array<ArrayBuffer> {
  const b = shared();
  IOVEC.encode({
    iov_base: bytes.byteLength === 0 ? null : addressOf(bytes),
    iov_len: bytes.byteLength,
  }, b.iov);
  MSGHDR.encode({
    msg_name: null,
    msg_namelen: 0,
    msg_iov: b.iovAt,
    msg_iovlen: 1,
    msg_control: controlLength === 0 ? null : b.controlAt,
    msg_controllen: controlLength,
    msg_flags: 0,
  }, b.msg);
  return b.msg;
}

/**
 * One `sendmsg(2)` of `bytes` with `fds` as `SCM_RIGHTS` (`MSG_NOSIGNAL`,
 * `MSG_DONTWAIT`):
 * the count of bytes sent, or AGAIN. On a stream socket the descriptors go
 * with the first byte sent; a count short of `bytes` leaves the rest to plain
 * sends. EBADF names the descriptor that is not open.
 */
export function sendWithFds(
  fd: number,
  bytes: Uint8Array,
  fds: Int32Array,
  subject: ErrorSubject,
): number | typeof AGAIN {
  const b = shared();
  const sent = ownDescriptions(fds);
  try {
    const data = new Uint8Array(sent.buffer, sent.byteOffset, sent.byteLength);
    CMSG.encode({
      cmsg_len: cmsgLen(data.byteLength),
      cmsg_level: C.SOL_SOCKET,
      cmsg_type: C.SCM_RIGHTS,
      __cmsg_data: data,
    }, b.control);
    const msg = prepare(bytes, cmsgSpace(data.byteLength));
    for (;;) {
      const n = libc.sendmsg(fd, msg, C.MSG_NOSIGNAL | C.MSG_DONTWAIT);
      if (n >= 0) return n;
      if (failed("sendmsg", (code, syscall) => sendError(code, syscall, fds, subject)) === AGAIN) {
        return AGAIN;
      }
    }
  } finally {
    for (let i = 0; i < fds.length; i++) if (sent[i] !== fds[i]) libc.close(sent[i]);
  }
}

/**
 * The descriptors to send for `fds`: a non-blocking pipe, FIFO, POSIX queue
 * or signal reader goes as `spawn` hands it over, blocking on a description
 * of its own. The same description would be shared, and a receiver that
 * clears `O_NONBLOCK` on it (as a C program expecting a blocking one does)
 * would make this process's reads and writes block the event loop. Anything
 * else, or one that cannot be reopened, goes as it is.
 */
function ownDescriptions(fds: Int32Array): Int32Array {
  let sent = fds;
  for (let i = 0; i < fds.length; i++) {
    const flags = libc.fcntl(fds[i], C.F_GETFL, 0);
    if (flags < 0 || (flags & C.O_NONBLOCK) === 0) continue;
    // A socket (a listener, most often) has no description of its own to give: no look
    // through /proc for one.
    if (fileOfFd(fds[i])?.type === C.S_IFSOCK) continue;
    const own = reopenBlocking(fds[i], flags);
    if (own < 0) continue;
    if (sent === fds) sent = fds.slice();
    sent[i] = own;
  }
  return sent;
}

/** The error of a failed `sendmsg`: EBADF concerns one of the descriptors passed, so name it. */
function sendError(code: number, syscall: string, fds: Int32Array, subject: ErrorSubject): Error {
  if (code === E.EBADF) {
    const i = fds.findIndex((fd) => libc.fcntl(fd, C.F_GETFD, 0) < 0);
    if (i >= 0) {
      return errorFromCode(code, syscall, { fd: fds[i] }, `fds[${i}] is not an open descriptor`);
    }
  }
  return errorFromCode(code, syscall, subject);
}

/** What one `recvmsg` took. */
export interface ReceivedMessage {
  /** Bytes of data received (the message's full length when `MSG_TRUNC` was asked). */
  readonly size: number;
  /** The descriptors received, now this process's, close-on-exec. */
  readonly fds: number[];
  /** More descriptors came than there was room for: the kernel closed the rest (`MSG_CTRUNC`). */
  readonly truncated: boolean;
}

/**
 * One `recvmsg(2)` into `buf`, taking at most `max` descriptors, installed
 * close-on-exec (`MSG_CMSG_CLOEXEC`): what came, or AGAIN. The control
 * buffer has room for `max` fds and for credentials, so the kernel itself
 * closes any beyond them and reports `MSG_CTRUNC`; any more that found room
 * (no credentials came) are closed here. `flags` adds `MSG_TRUNC` for messages.
 */
export function receiveWithFds(
  fd: number,
  buf: Uint8Array,
  max: number,
  flags: number,
  subject: ErrorSubject,
): ReceivedMessage | typeof AGAIN {
  // Credentials have room whatever max is: without it, they alone would read as truncated.
  const room = CREDENTIALS_ROOM + (max === 0 ? 0 : cmsgLen(max * FD_SIZE));
  for (;;) {
    const msg = prepare(buf, room);
    const n = libc.recvmsg(fd, msg, C.MSG_CMSG_CLOEXEC | C.MSG_DONTWAIT | flags);
    if (n < 0) {
      if (failed("recvmsg", subject) === AGAIN) return AGAIN;
      continue;
    }
    const header = MSGHDR.decode(msg);
    const { fds } = controlItems(Number(header.msg_controllen));
    let truncated = (header.msg_flags & C.MSG_CTRUNC) !== 0;
    // Room for max and for credentials: more where no credentials came, closed at once.
    if (fds.length > max) {
      for (const extra of fds.splice(max)) libc.close(extra);
      truncated = true;
    }
    return { size: n, fds, truncated };
  }
}

/** The shared buffers as DataViews, for the calls made at every datagram. */
let views: { msg: DataView; iov: DataView; control: DataView } | undefined;

function viewsOf(): NonNullable<typeof views> {
  const b = shared();
  return views ??= {
    msg: new DataView(b.msg.buffer),
    iov: new DataView(b.iov.buffer),
    control: new DataView(b.control.buffer),
  };
}

// Where the fields are (pointers and size_t are 8 bytes on every platform of this library).
const MSG_AT = MSGHDR.offsets;
const IOV_AT = IOVEC.offsets;
const CMSG_AT = CMSG.offsets;
const UCRED_AT = UCRED.offsets;

/**
 * The descriptors of the `SCM_RIGHTS` items of the control data `recvmsg`
 * left, and the sender's credentials of its `SCM_CREDENTIALS` item. Read in
 * place: this runs at every datagram of a socket with credentials.
 */
function controlItems(length: number): { fds: number[]; credentials?: PeerCredentials } {
  const v = viewsOf().control;
  const fds: number[] = [];
  let credentials: PeerCredentials | undefined;
  const header = cmsgLen(0);
  for (let at = 0; at + header <= length;) {
    const itemLength = Number(v.getBigUint64(at + CMSG_AT.cmsg_len, HOST_LE));
    if (itemLength < header || at + itemLength > length) break;
    const level = v.getInt32(at + CMSG_AT.cmsg_level, HOST_LE);
    const type = v.getInt32(at + CMSG_AT.cmsg_type, HOST_LE);
    const data = at + CMSG_AT.__cmsg_data;
    if (level === C.SOL_SOCKET && type === C.SCM_RIGHTS) {
      const count = Math.floor((itemLength - header) / FD_SIZE);
      for (let i = 0; i < count; i++) fds.push(v.getInt32(data + i * FD_SIZE, HOST_LE));
    } else if (level === C.SOL_SOCKET && type === SCM_PIDFD) {
      // The sender's pidfd, installed for a socket with SO_PASSPIDFD: not asked for, closed.
      libc.close(v.getInt32(data, HOST_LE));
    } else if (level === C.SOL_SOCKET && type === C.SCM_CREDENTIALS) {
      credentials = {
        pid: v.getInt32(data + UCRED_AT.pid, HOST_LE),
        uid: v.getUint32(data + UCRED_AT.uid, HOST_LE),
        gid: v.getUint32(data + UCRED_AT.gid, HOST_LE),
      };
    }
    at += cmsgAlign(itemLength);
  }
  return { fds, credentials };
}

/** The sender's credentials that the last {@link receiveFromCredited} took. */
let credited: PeerCredentials | undefined;
/** The last name buffer's address: a socket passes the same one at every receive. */
let lastName: Uint8Array | undefined;
let lastNameAt = 0n;

/**
 * `recvfrom(2)` made as `recvmsg(2)`, for a socket with `SO_PASSCRED`: the
 * datagram into `buf`, its sender's address into `name` (`nameLength[0]`
 * bytes of room, then the address's length), and the sender's credentials
 * for {@link takeCredentials}. Descriptors sent along are closed (the room
 * has none for them but one, which the kernel does not close). Returns what
 * `recvfrom` would, errno included. The `msghdr` is written field by field in
 * place: encoding it whole cost as much as the call.
 */
export function receiveFromCredited(
  fd: number,
  buf: Uint8Array,
  flags: number,
  name: Uint8Array,
  nameLength: Uint32Array,
): number {
  const b = shared();
  const v = viewsOf();
  if (name !== lastName) [lastName, lastNameAt] = [name, addressOf(name)];
  v.iov.setBigUint64(IOV_AT.iov_base, buf.byteLength === 0 ? 0n : addressOf(buf), HOST_LE);
  v.iov.setBigUint64(IOV_AT.iov_len, BigInt(buf.byteLength), HOST_LE);
  v.msg.setBigUint64(MSG_AT.msg_name, lastNameAt, HOST_LE);
  v.msg.setUint32(MSG_AT.msg_namelen, nameLength[0], HOST_LE);
  v.msg.setBigUint64(MSG_AT.msg_iov, b.iovAt, HOST_LE);
  v.msg.setBigUint64(MSG_AT.msg_iovlen, 1n, HOST_LE);
  v.msg.setBigUint64(MSG_AT.msg_control, b.controlAt, HOST_LE);
  v.msg.setBigUint64(MSG_AT.msg_controllen, BigInt(CREDENTIALS_ROOM), HOST_LE);
  v.msg.setInt32(MSG_AT.msg_flags, 0, HOST_LE);
  const n = libc.recvmsg(fd, b.msg, flags | C.MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  nameLength[0] = v.msg.getUint32(MSG_AT.msg_namelen, HOST_LE);
  const { fds, credentials } = controlItems(
    Number(v.msg.getBigUint64(MSG_AT.msg_controllen, HOST_LE)),
  );
  for (const extra of fds) libc.close(extra);
  credited = credentials;
  return n;
}

/** The credentials of the last {@link receiveFromCredited}, once. */
export function takeCredentials(): PeerCredentials | undefined {
  const c = credited;
  credited = undefined;
  return c;
}
