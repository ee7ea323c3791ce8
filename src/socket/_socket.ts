/**
 * What the socket handles share: creating sockets (always close-on-exec;
 * non-blocking only to listen or connect), integer socket options, the
 * addresses a socket has, and adopting an fd handed over by a parent.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import { AGAIN, E, errorOf, failed, lastErrno, ok, type RETRY } from "../_sys.ts";
import { errorFromCode, type ErrorSubject } from "../errors.ts";
import { checkInteger, shown } from "../_check.ts";
import { keepMessage, messageArea } from "../_landing.ts";
import type { SocketAddress, SocketType } from "./address.ts";
import { decodeAddress, type Endpoint, SOCKADDR_MAX } from "./_address.ts";
import { checkNotOwned } from "../_owned_fds.ts";
import { interruptible } from "../_wait/nudge.ts";

/** The C socket type of each kind. */
export const SOCK_TYPE: Readonly<Record<SocketType, number>> = {
  stream: C.SOCK_STREAM,
  seqpacket: C.SOCK_SEQPACKET,
  datagram: C.SOCK_DGRAM,
};

/** The kind of a C socket type, or undefined for one this library does not handle (raw, ...). */
export function kindOf(type: number): SocketType | undefined {
  return type === C.SOCK_STREAM
    ? "stream"
    : type === C.SOCK_SEQPACKET
    ? "seqpacket"
    : type === C.SOCK_DGRAM
    ? "datagram"
    : undefined;
}

/** What a net address of a socket of this kind is called. */
export function transportOf(kind: SocketType): "tcp" | "udp" {
  return kind === "datagram" ? "udp" : "tcp";
}

/** Checks an optional `type` option against the kinds allowed. */
export function checkKind<K extends SocketType>(
  type: unknown,
  allowed: readonly K[],
  byDefault: K,
): K {
  if (type === undefined) return byDefault;
  if (!allowed.includes(type as K)) {
    throw new TypeError(
      `type must be ${allowed.map((k) => `"${k}"`).join(" or ")}, got ${shown(type)}`,
    );
  }
  return type as K;
}

/** The keys of an address (`{ path }`, `{ abstract }`, `{ hostname, port }`, or an address object given whole). */
export const ADDRESS_KEYS: readonly string[] = [
  "path",
  "abstract",
  "hostname",
  "port",
  "transport",
];

/** TypeError for options that do not apply to this kind of socket. */
export function rejectOptions(options: object, keys: readonly string[], what: string): void {
  for (const key of keys) {
    if ((options as Record<string, unknown>)[key] !== undefined) {
      throw new TypeError(`${key} does not apply to ${what}`);
    }
  }
}

/**
 * A new socket, close-on-exec; non-blocking unless `blocks`. A socket that
 * moves data blocks, and every call on it that must not wait passes
 * `MSG_DONTWAIT` (see _blocking.ts); one that listens or connects does not
 * block (`accept4` and `connect` take no such flag).
 */
export function openSocket(
  domain: number,
  kind: SocketType,
  subject: ErrorSubject,
  blocks = false,
): number {
  const type = SOCK_TYPE[kind] | C.SOCK_CLOEXEC | (blocks ? 0 : C.SOCK_NONBLOCK);
  return ok(libc.socket(domain, type, 0), "socket", subject);
}

/** Clears `O_NONBLOCK` on a socket this library opened, once it has connected. */
export function makeBlocking(fd: number, subject: ErrorSubject): void {
  const flags = ok(libc.fcntl(fd, C.F_GETFL, 0), "fcntl", subject);
  ok(libc.fcntl(fd, C.F_SETFL, flags & ~C.O_NONBLOCK), "fcntl", subject);
}

// One buffer for every option call: they end before any other code runs.
const optValue = new Int32Array(1);
const optBytes = new Uint8Array(optValue.buffer);
const optLen = new Uint32Array(1);
const optLenBytes = new Uint8Array(optLen.buffer);

/** Sets an `int` socket option (`setsockopt(2)`). */
export function setIntOption(
  fd: number,
  level: number,
  name: number,
  value: number,
  subject: ErrorSubject,
): void {
  optValue[0] = value;
  ok(libc.setsockopt(fd, level, name, optBytes, 4), "setsockopt", subject);
}

/** Reads an `int` socket option (`getsockopt(2)`). */
export function intOption(fd: number, level: number, name: number, subject: ErrorSubject): number {
  optLen[0] = 4;
  ok(libc.getsockopt(fd, level, name, optBytes, optLenBytes), "getsockopt", subject);
  return optValue[0];
}

const nameBuf = new Uint8Array(SOCKADDR_MAX);
const nameLen = new Uint32Array(1);
const nameLenBytes = new Uint8Array(nameLen.buffer);

/** The address `fd` is bound to (`getsockname(2)`). */
export function localAddressOf(
  fd: number,
  kind: SocketType,
  subject: ErrorSubject,
): SocketAddress {
  nameLen[0] = SOCKADDR_MAX;
  ok(libc.getsockname(fd, nameBuf, nameLenBytes), "getsockname", subject);
  return decodeAddress(nameBuf, nameLen[0], transportOf(kind));
}

/** The address of `fd`'s peer (`getpeername(2)`); undefined when it is not connected. */
export function peerAddressOf(
  fd: number,
  kind: SocketType,
  subject: ErrorSubject,
): SocketAddress | undefined {
  nameLen[0] = SOCKADDR_MAX;
  if (libc.getpeername(fd, nameBuf, nameLenBytes) < 0) {
    const code = lastErrno();
    if (code === E.ENOTCONN) return undefined;
    throw errorOf(code, "getpeername", subject);
  }
  return decodeAddress(nameBuf, nameLen[0], transportOf(kind));
}

/** What an adopted socket fd is. */
export interface AdoptedSocket {
  /** The descriptor, as checked (-0 is 0). */
  readonly fd: number;
  readonly kind: SocketType;
  readonly domain: number;
  readonly listening: boolean;
  /** Whether it moves data on a blocking description (never for a listening one). */
  readonly blocks: boolean;
}

/**
 * Checks that `fd` is an open socket of a kind this library handles, makes it
 * close-on-exec, and tells what it is. It keeps its `O_NONBLOCK` as it is,
 * since that flag belongs to the open file description, which the process
 * that handed the fd over shares (a C parent that accepts on a blocking
 * listener too): calls that must not wait pass `MSG_DONTWAIT`, and `blocks`
 * tells how the sync forms wait. A blocking listener's accepts poll, then
 * accept with an alarm to end the call (`accept4` takes no `MSG_DONTWAIT`):
 * where no alarm can be set, it is made non-blocking instead.
 */
export function adoptSocket(fd: number, what: string): AdoptedSocket {
  fd = checkInteger(fd, `${what}: fd`, 0, 0x7fffffff);
  checkNotOwned(fd, what);
  const subject = { fd };
  optLen[0] = 4;
  if (libc.getsockopt(fd, C.SOL_SOCKET, C.SO_TYPE, optBytes, optLenBytes) < 0) {
    const code = lastErrno();
    if (code === E.ENOTSOCK) throw new TypeError(`${what}: fd ${fd} is not a socket`);
    throw errorOf(code, "getsockopt", subject);
  }
  const kind = kindOf(optValue[0]);
  if (kind === undefined) {
    throw new TypeError(`${what}: fd ${fd} is a socket of type ${optValue[0]}, not one handled`);
  }
  const domain = intOption(fd, C.SOL_SOCKET, C.SO_DOMAIN, subject);
  if (domain !== C.AF_UNIX && domain !== C.AF_INET && domain !== C.AF_INET6) {
    throw new TypeError(`${what}: fd ${fd} is a socket of family ${domain}, not Unix or IP`);
  }
  const listening = intOption(fd, C.SOL_SOCKET, C.SO_ACCEPTCONN, subject) !== 0;
  const flags = ok(libc.fcntl(fd, C.F_GETFL, 0), "fcntl", subject);
  const blocks = (flags & C.O_NONBLOCK) === 0;
  if (listening && blocks && !interruptible(performance.now() + 1)) {
    ok(libc.fcntl(fd, C.F_SETFL, flags | C.O_NONBLOCK), "fcntl", subject);
  }
  ok(libc.fcntl(fd, C.F_SETFD, C.FD_CLOEXEC), "fcntl", subject);
  return { fd, kind, domain, listening, blocks: blocks && !listening };
}

/** Binds an IP socket, with `SO_REUSEADDR` and `IPV6_V6ONLY` as asked. */
export function bindNet(
  fd: number,
  at: Endpoint,
  reuse: boolean,
  v6only: boolean,
  reusePort: boolean,
): void {
  if (reuse) setIntOption(fd, C.SOL_SOCKET, C.SO_REUSEADDR, 1, at.subject);
  if (reusePort) setIntOption(fd, C.SOL_SOCKET, C.SO_REUSEPORT, 1, at.subject);
  if (at.domain === C.AF_INET6) {
    setIntOption(fd, C.IPPROTO_IPV6, C.IPV6_V6ONLY, v6only ? 1 : 0, at.subject);
  }
  ok(libc.bind(fd, at.sockaddr, at.length), "bind", at.subject);
}

/**
 * The error for a message longer than the buffer it was received into
 * (`recv` with `MSG_TRUNC` gives its real length): `EMSGSIZE`, with the
 * message's size as `messageSize`. `peeked`: the buffer was the receive's
 * own, with room for the message it peeked at, and got a longer one (another
 * reader of the socket took the first in between): the rest is gone.
 */
export function truncatedError(
  size: number,
  room: number,
  syscall: string,
  subject: ErrorSubject,
  peeked = false,
): Error {
  const detail = peeked
    ? `a message of ${size} bytes came where ${room} bytes were ready: another reader of ` +
      "this socket took the message peeked at, and the one after it was cut"
    : `a message of ${size} bytes did not fit the buffer's ${room}; its first ${room} bytes are there`;
  return Object.assign(errorFromCode(E.EMSGSIZE, syscall, subject, detail), { messageSize: size });
}

/**
 * As `failed` after a send of `size` bytes: an EMSGSIZE says how large the
 * message was (the kernel's text alone does not say what was too long), and
 * on a Unix socket, whose send buffer bounds a message, how to raise that.
 */
export function sendFailed(
  syscall: string,
  subject: ErrorSubject,
  size: number,
  unix: boolean,
): typeof AGAIN | typeof RETRY {
  if (lastErrno() === E.EMSGSIZE) {
    throw errorFromCode(
      E.EMSGSIZE,
      syscall,
      subject,
      `a message of ${size} bytes is more than this socket sends in one piece` +
        (unix
          ? "; a Unix socket's send buffer is the bound, which setBufferSizes({ send }) raises"
          : ""),
    );
  }
  return failed(syscall, subject);
}

/** Where a size query points: `recv(fd, PEEK, 0, MSG_PEEK | MSG_TRUNC)` copies nothing. */
const PEEK = new Uint8Array(1);

/**
 * The length of the next message (datagram, seqpacket) on `fd`, which stays
 * queued with any descriptors it carries (`MSG_PEEK | MSG_TRUNC`); AGAIN when
 * none has arrived. EINTR is retried; other failures throw, as `syscall`'s.
 * With `waits`, waits for one in the call instead (AGAIN when interrupted).
 */
export function nextMessageSize(
  fd: number,
  syscall: string,
  subject: ErrorSubject,
  waits = false,
): number | typeof AGAIN {
  const flags = waits ? C.MSG_PEEK | C.MSG_TRUNC : C.MSG_PEEK | C.MSG_TRUNC | C.MSG_DONTWAIT;
  for (;;) {
    const size = libc.recv(fd, PEEK, 0, flags);
    if (size >= 0) return size;
    if (failed(syscall, subject) === AGAIN || waits) return AGAIN;
  }
}

/**
 * Takes the next message of `fd` with `take` (a `recv` or `recvfrom` with
 * `MSG_TRUNC` that does not wait, into the area it is given: its result):
 * peeks at the message's size, then takes it with room for at least that
 * ({@link messageArea}). Its bytes, or AGAIN. One another reader of a shared
 * socket took first is looked for again; one longer than the room is EMSGSIZE.
 * With `waits`, the peek waits in the call (AGAIN when interrupted).
 */
export function takeMessage(
  fd: number,
  syscall: string,
  subject: ErrorSubject,
  waits: boolean,
  take: (fd: number, area: Uint8Array<ArrayBuffer>) => number,
): Uint8Array<ArrayBuffer> | typeof AGAIN {
  for (;;) {
    const size = nextMessageSize(fd, syscall, subject, waits);
    if (size === AGAIN) return AGAIN;
    const area = messageArea(size);
    const n = take(fd, area);
    if (n < 0) {
      // Another reader of a shared socket took it: look again.
      if (failed(syscall, subject) === AGAIN) return AGAIN;
      continue;
    }
    if (n > area.byteLength) throw truncatedError(n, area.byteLength, syscall, subject, true);
    return keepMessage(area, n);
  }
}
