/**
 * {@link datagram} and {@link DatagramSocket}: connectionless datagram
 * sockets, Unix (a path, an abstract name, or unbound) and UDP.
 *
 * @module
 */
import { SocketHandle } from "./socket_handle.ts";
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import { AGAIN, failed, ok } from "../_sys.ts";
import type { ErrorSubject } from "../errors.ts";
import {
  bytesOf,
  checkBoolean,
  checkBuffer,
  checkingBuffer,
  checkInteger,
  checkMode,
  checkOptions,
  checkUnchanged,
  onlyKnown,
  ownBuffer,
} from "../_check.ts";
import type { PathLike } from "../_path.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  fdSource,
  NO_THREAD,
  type Operation,
  pollSync,
  READABLE,
  rejectedNow,
  type Source,
  Spinner,
  tryNow,
  untilClosed,
  wait,
  type WaitContext,
  waitSync,
  WRITABLE,
} from "../_wait/mod.ts";
import { MAX_IO } from "../../ffi/symbols/unistd.ts";
import { waitsOf } from "../fd/handle.ts";
import type { WriteData } from "../fd/writer.ts";
import type { NetAddress, SocketAddress, UnixAddress } from "./address.ts";
import {
  type AnyOf,
  decodeAddress,
  type Endpoint,
  endpointOf,
  mappedToIPv6,
  SOCKADDR_MAX,
  subjectOf,
  type Where,
} from "./_address.ts";
import { bindPath, type BoundPath, releasePath } from "./_bind.ts";
import { BlockingCalls } from "./_blocking.ts";
import { receiveFromCredited, takeCredentials } from "./_ancillary.ts";
import {
  membershipOption,
  type MulticastOptions,
  type MulticastSocket,
  sendInterfaceOptions,
  sendLevels,
  type SocketOption,
} from "./_multicast.ts";
import type { PeerCredentials } from "./_credentials.ts";
import {
  ADDRESS_KEYS,
  adoptSocket,
  bindNet,
  intOption,
  localAddressOf,
  openSocket,
  peerAddressOf,
  rejectOptions,
  sendFailed,
  setIntOption,
  takeMessage,
  truncatedError,
} from "./_socket.ts";

/**
 * Options of {@link datagram} for a Unix socket file.
 *
 * @example
 * ```ts
 * import type { UnixDatagramOptions } from "@libc/ipc";
 * const options: UnixDatagramOptions = { path: "/run/log.sock", mode: 0o622 };
 * ```
 */
export interface UnixDatagramOptions {
  /** Where the socket file goes: at most 107 bytes. */
  path: PathLike;
  /** Permission bits of the socket file, exactly (sending to it needs write permission). Default `0o600`. */
  mode?: number;
  /** Replace a stale socket file at `path` (nobody bound to it any more). Default `false`. */
  replace?: boolean;
  /** Each datagram brings its sender's credentials; see {@link Datagram.credentials}. Default `false`. */
  credentials?: boolean;
  /**
   * Leave the socket file in place at `close()`. Default `false`: it is
   * removed. Only `close()` removes it: a process that ends without closing
   * (`Deno.exit()`, an uncaught error, a signal) leaves it, for `replace`.
   */
  keepPath?: boolean;
  /** Only one of `path`, `abstract` and `port` names the address. */
  abstract?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  port?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  hostname?: never;
}

/**
 * Options of {@link datagram} for a Linux abstract Unix name.
 *
 * @example
 * ```ts
 * import type { AbstractDatagramOptions } from "@libc/ipc";
 * const options: AbstractDatagramOptions = { abstract: "my-log" };
 * ```
 */
export interface AbstractDatagramOptions {
  /** The name: 1 to 107 bytes. */
  abstract: string;
  /** Each datagram brings its sender's credentials; see {@link Datagram.credentials}. Default `false`. */
  credentials?: boolean;
  /** Only one of `path`, `abstract` and `port` names the address. */
  path?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  port?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  hostname?: never;
}

/**
 * Options of {@link datagram} for UDP.
 *
 * @example
 * ```ts
 * import type { UdpDatagramOptions } from "@libc/ipc";
 * const options: UdpDatagramOptions = { hostname: "0.0.0.0", port: 5353, reuseAddress: true };
 * ```
 */
export interface UdpDatagramOptions {
  /** The local IP address (IPv4 or IPv6 literal); default `"127.0.0.1"`. */
  hostname?: string;
  /** The local port; 0 takes a free one, which {@link DatagramSocket.addr} reports. */
  port: number;
  /** `SO_REUSEADDR`. Default `false`. */
  reuseAddress?: boolean;
  /**
   * `SO_REUSEPORT`: several sockets, of this process or others of the same
   * user, may bind this address when each asks, and the kernel spreads the datagrams that come
   * among them, by their sender (a server that runs one process per CPU); a multicast
   * datagram goes to each. With port 0 (as with `reuseAddress`), the kernel may pick a port
   * that another such socket of this user has: name a port to share it knowingly.
   * Default `false`.
   */
  reusePort?: boolean;
  /** For an IPv6 address: IPv6 only (`IPV6_V6ONLY`). Default `false`. */
  ipv6Only?: boolean;
  /**
   * May send to a broadcast address (`SO_BROADCAST`), such as `255.255.255.255` or a
   * subnet's (`127.255.255.255` on the loopback); without it such a send is
   * `PermissionDenied`. Receiving broadcasts needs no option: a socket bound to
   * `0.0.0.0` gets them. Default `false`.
   */
  broadcast?: boolean;
  /** Only one of `path`, `abstract` and `port` names the address. */
  path?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  abstract?: never;
}

/**
 * Options of {@link datagram}: a Unix path, an abstract name, a UDP port, or
 * none (`{}`: an unbound Unix socket, which can send but not be answered).
 *
 * @example
 * ```ts
 * import type { DatagramOptions } from "@libc/ipc";
 * const unbound: DatagramOptions = {};
 * ```
 */
export type DatagramOptions =
  | UnixDatagramOptions
  | AbstractDatagramOptions
  | UdpDatagramOptions
  | Record<PropertyKey, never>;

/**
 * Where {@link DatagramSocket.sendTo} sends: a Unix path or abstract name, an
 * IP address and port, or an address a datagram came from.
 *
 * @example
 * ```ts
 * import type { DatagramTarget } from "@libc/ipc";
 * const to: DatagramTarget[] = [{ path: "/run/log.sock" }, { hostname: "::1", port: 5353 }];
 * ```
 */
export type DatagramTarget =
  | SocketAddress
  | { path: PathLike }
  | { abstract: string }
  | { hostname?: string; port: number };

/**
 * A datagram received: its bytes, and who sent it.
 *
 * @example
 * ```ts
 * import type { Datagram } from "@libc/ipc";
 * const show = (d: Datagram) => `${d.data.length} bytes from ${JSON.stringify(d.address)}`;
 * ```
 */
export interface Datagram<A extends SocketAddress = SocketAddress> {
  /**
   * The bytes: an array of the datagram's size, which no later receive
   * writes. Small datagrams share one `ArrayBuffer` (a new one for each would
   * cost Deno about as much as the system call): `data.slice()` gives them a
   * buffer of their own.
   */
  data: Uint8Array<ArrayBuffer>;
  /**
   * The sender's address, of the socket's kind (`NetAddress` for UDP, `UnixAddress` for Unix);
   * `{ transport: "unix", unnamed: true }` for an unbound Unix sender.
   */
  address: A;
  /**
   * The sender's pid, real uid and real gid, on a Unix socket opened with
   * `credentials: true` (`SO_PASSCRED`, read when `datagram()` or `fromFd` made the
   * handle). The kernel checks them: a sender that sends `SCM_CREDENTIALS` itself may
   * claim no pid but its own and no ids but its real, effective or saved ones, unless it
   * has `CAP_SYS_ADMIN` (pid) or `CAP_SETUID`/`CAP_SETGID` (ids) in its user namespace.
   * As this process's namespaces see them: pid 0 for a process outside its pid namespace,
   * uid and gid 65534 for ids outside its user namespace; a datagram queued before
   * `SO_PASSCRED` was set comes as `{ pid: 0, uid: 65534, gid: 65534 }`. Absent on other
   * sockets.
   */
  credentials?: PeerCredentials;
}

/**
 * A datagram received into a buffer of the caller's: its size, and who sent it.
 *
 * @example
 * ```ts
 * import type { DatagramInfo } from "@libc/ipc";
 * const show = (d: DatagramInfo) => `${d.size} bytes from ${JSON.stringify(d.address)}`;
 * ```
 */
export interface DatagramInfo<A extends SocketAddress = SocketAddress> {
  /** How many bytes of the buffer the datagram filled. */
  size: number;
  /**
   * The sender's address, of the socket's kind (`NetAddress` for UDP, `UnixAddress` for Unix);
   * `{ transport: "unix", unnamed: true }` for an unbound Unix sender.
   */
  address: A;
  /** The sender's pid, uid and gid; see {@link Datagram.credentials}. */
  credentials?: PeerCredentials;
}

/** How long a sync send sleeps between tries while the receiver's queue is full. */
const FULL_RETRY_MS = 5;
const NO_BYTES = new Uint8Array(0);

let create: (
  fd: number,
  domain: number,
  addr: SocketAddress,
  bound?: BoundPath,
  blocks?: boolean,
) => DatagramSocket;

/**
 * A connectionless datagram socket (Unix or UDP): each `sendTo` is one
 * datagram to the address given, each `receiveFrom` takes one with its
 * sender's address (`receiveFromInto` into a buffer of the caller's).
 * Datagrams keep their boundaries and are never cut: one larger than the
 * socket's send buffer is refused (`EMSGSIZE`), one larger than the buffer of
 * `receiveFromInto` is reported.
 *
 * Every operation has three forms: `x()` returns a promise and never blocks
 * the event loop, `xSync()` blocks the thread, `tryX()` never waits
 * (`Deno.errors.WouldBlock`). A Unix `sendTo` waits while the receiver's queue
 * is full (`/proc/sys/net/unix/max_dgram_qlen` datagrams); no descriptor tells
 * when it has room again, so that wait tries again on a clock (1 to 50 ms).
 *
 * Wraps `sendto(2)`, `recvfrom(2)`. Needs `--allow-ffi`.
 *
 * @example Two Unix datagram sockets on abstract names
 * ```ts
 * import { datagram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using a = datagram({ abstract: `libc-ipc-doc-${Deno.pid}-a` });
 * using b = datagram({ abstract: `libc-ipc-doc-${Deno.pid}-b` });
 * await a.sendTo("hello", b.addr);
 * const { data, address } = await b.receiveFrom();
 * assert.equal(new TextDecoder().decode(data), "hello");
 * assert.deepEqual(address, a.addr);
 * ```
 */
export class DatagramSocket<A extends SocketAddress = SocketAddress> extends SocketHandle
  implements AsyncIterable<Datagram<A>> {
  readonly #domain: number;
  readonly #addr: SocketAddress;
  readonly #bound: BoundPath | undefined;
  // Of its own: its address goes into a msghdr for the receives that bring credentials.
  readonly #from = ownBuffer(SOCKADDR_MAX);
  /** Whether the kernel brings each datagram's sender's credentials (`SO_PASSCRED`). */
  readonly #credited: boolean;
  readonly #fromLen = new Uint32Array(1);
  readonly #fromLenBytes = new Uint8Array(this.#fromLen.buffer);
  /** The last sender's address as received, and decoded: a socket hears from the same few. */
  #lastFrom?: { bytes: Uint8Array; address: SocketAddress };
  readonly #in: WaitContext;
  readonly #out: WaitContext;
  /** One receive operation for every form: a receive keeps no state between tries. */
  readonly #receiveOp: Operation<Datagram<A>>;
  /** The sync and try forms of receiveFromInto: one operation, and the buffer of the call in progress. */
  readonly #receiveIntoOp: Operation<DatagramInfo<A>>;
  readonly #readable: Source<never>;
  #into: Uint8Array = NO_BYTES;
  readonly #sendReady: Source<never>;
  /** Whether its description blocks: then the sync forms wait in the call (see _blocking.ts). */
  readonly #blocking: BlockingCalls;
  /** The datagram and destination of the sync or try send in progress. */
  #bytes: Uint8Array = NO_BYTES;
  #to?: Endpoint;
  /**
   * The last destination's fields and endpoint, reused while a send names
   * the same: encoding an address cost more than the send itself (a 64 B
   * `sendToSync` to an abstract name took 2.0-2.4 µs more than a raw
   * `sendto`).
   */
  #lastTo?: Where & { at: Endpoint };
  #sharedSend?: Operation<void>;

  static {
    create = (fd, domain, addr, bound, blocks = true) =>
      new DatagramSocket(fd, domain, addr, bound, blocks);
  }

  private constructor(
    fd: number,
    domain: number,
    addr: SocketAddress,
    bound: BoundPath | undefined,
    blocks: boolean,
  ) {
    super(fd);
    this.#domain = domain;
    this.#credited = domain === C.AF_UNIX &&
      intOption(fd, C.SOL_SOCKET, C.SO_PASSCRED, { fd }) === 1;
    this.#addr = addr;
    this.#bound = bound;
    this.#blocking = new BlockingCalls(blocks);
    this.#in = { spinner: new Spinner(), registry: waitsOf(this) };
    this.#out = { spinner: new Spinner(), registry: waitsOf(this), keepsAlive: true };
    const readable = this.#readable = fdSource(fd, READABLE);
    this.#receiveOp = {
      syscall: "recvfrom",
      subject: this.subject,
      attempt: () => this.#receiveOnce(),
      source: readable,
      block: (deadline) => this.#blocking.wait(deadline, () => this.#receiveOnce(true), readable),
    };
    this.#receiveIntoOp = {
      syscall: "recvfrom",
      subject: this.subject,
      attempt: () => this.#receiveOnceInto(this.#into),
      source: readable,
      block: (deadline) =>
        this.#blocking.wait(deadline, () => this.#receiveOnceInto(this.#into, true), readable),
    };
    // An unconnected Unix socket polls writable while the receiver's queue is
    // full (the kernel's peer wake-up is for connected sockets only): retry on
    // the clock. A UDP send waits only for room in its own buffer.
    this.#sendReady = domain === C.AF_UNIX
      ? {
        park: () => NO_THREAD,
        block: (deadline) => pollSync(-1, 0, Math.min(deadline, performance.now() + FULL_RETRY_MS)),
      }
      : fdSource(fd, WRITABLE);
  }

  /**
   * Adopts an unconnected datagram socket this process was handed (e.g. fd 3
   * from a parent's `spawn(..., { fds: { 3: socket } })`): it becomes
   * close-on-exec, and this handle owns it. Several processes may read one
   * socket so, each datagram going to one of them. Its `O_NONBLOCK` stays as
   * it is (the flag is shared with the parent's copy); calls that must not
   * wait pass `MSG_DONTWAIT`. A socket file it is bound to stays at close: the
   * process that made it removes it.
   *
   * Wraps `getsockopt(2)`, `getsockname(2)`, `fcntl(2)`. Needs `--allow-ffi`.
   *
   * @param fd the descriptor of an unconnected Unix or UDP datagram socket
   * @returns the socket
   * @throws {TypeError} when an open handle of this library owns `fd` (it would close it
   *   under this one): pass a copy (`dup`)
   * @throws {TypeError} when `fd` is not a number, not a socket, a stream or
   *   seqpacket socket, or a connected datagram socket (use `Connection.fromFd`)
   * @throws {RangeError} when `fd` is not an integer 0..2^31-1
   * @throws {Deno.errors.BadResource} when `fd` is not open (EBADF)
   *
   * @example In a child: one of several readers of a socket its parent bound
   * ```ts ignore
   * import { DatagramSocket } from "@libc/ipc";
   * using socket = DatagramSocket.fromFd(3);
   * for await (const { data, address } of socket) await socket.sendTo(data, address);
   * ```
   *
   * @example Only datagram sockets are taken
   * ```ts
   * import { DatagramSocket, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * assert.throws(() => DatagramSocket.fromFd(pair[0].fd), TypeError);
   * ```
   */
  static fromFd(fd: number): DatagramSocket {
    const s = adoptSocket(fd, "DatagramSocket.fromFd");
    const subject = { fd: s.fd };
    if (s.kind !== "datagram") {
      throw new TypeError(`DatagramSocket.fromFd: fd ${s.fd} is a ${s.kind} socket`);
    }
    if (peerAddressOf(s.fd, s.kind, subject) !== undefined) {
      throw new TypeError(
        `DatagramSocket.fromFd: fd ${s.fd} is a connected datagram socket: use Connection.fromFd`,
      );
    }
    const addr = localAddressOf(s.fd, s.kind, subject);
    return create(s.fd, s.domain, addr, undefined, s.blocks);
  }

  /** What the handle is, in error messages. */
  protected get what(): string {
    return "datagram socket";
  }

  /** What its errors name besides its fd: the address it is bound to. */
  protected override describe(): ErrorSubject {
    return subjectOf(this.#addr);
  }

  /**
   * The address this socket is bound to: where others send to reach it;
   * `{ transport: "unix", unnamed: true }` for an unbound one.
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using udp = datagram({ port: 0 });
   * assert.ok(udp.addr.transport === "udp" && udp.addr.port > 0);
   * using unbound = datagram();
   * assert.deepEqual(unbound.addr, { transport: "unix", unnamed: true });
   * ```
   */
  get addr(): A {
    return this.#addr as A;
  }

  // ----------------------------------------------------------- sending

  #endpoint(to: DatagramTarget): Endpoint {
    const w = to as Where;
    const last = this.#lastTo;
    if (
      last !== undefined && typeof w === "object" && w !== null && w.path === last.path &&
      w.abstract === last.abstract && w.hostname === last.hostname && w.port === last.port &&
      w.unnamed === last.unnamed && w.transport === last.transport
    ) {
      return last.at;
    }
    let at = endpointOf(to, { transport: "udp", portZero: false }, "destination");
    // An IPv6 socket reaches IPv4 peers at their mapped addresses (unless it is IPv6-only:
    // then the kernel refuses), as Deno's and C's dual-stack sockets do.
    if (at.domain === C.AF_INET && this.#domain === C.AF_INET6) at = mappedToIPv6(at);
    if (at.domain !== this.#domain) {
      const family = (d: number) =>
        d === C.AF_UNIX ? "a Unix" : d === C.AF_INET ? "an IPv4" : "an IPv6";
      throw new TypeError(
        `${family(this.#domain)} datagram socket cannot send to ${family(at.domain)} address`,
      );
    }
    // Not a URL path: a URL can change in place.
    if (typeof w.path !== "object") {
      // Every key endpointOf reads: one it checks (transport) must not pass unchecked next time.
      const { path, abstract, hostname, port, unnamed, transport } = w;
      this.#lastTo = { path, abstract, hostname, port, unnamed, transport, at };
    }
    return at;
  }

  #checkData(data: WriteData): Uint8Array {
    const bytes = bytesOf(data);
    if (bytes.byteLength > MAX_IO) {
      throw new RangeError(`datagram is ${bytes.byteLength} bytes; the limit is ${MAX_IO}`);
    }
    return bytes;
  }

  /**
   * Sends one datagram, or AGAIN. With `waits`, waits for room in the call
   * (AGAIN when interrupted): a Unix send then waits on the receiver's queue.
   */
  #sendOnce(bytes: Uint8Array, to: Endpoint, waits = false): void | typeof AGAIN {
    const fd = this.fdFor("sendto");
    const flags = waits ? C.MSG_NOSIGNAL : C.MSG_NOSIGNAL | C.MSG_DONTWAIT;
    for (;;) {
      if (libc.sendto(fd, bytes, bytes.byteLength, flags, to.sockaddr, to.length) >= 0) return;
      if (
        sendFailed("sendto", to.subject, bytes.byteLength, this.#domain === C.AF_UNIX) === AGAIN ||
        waits
      ) return AGAIN;
    }
  }

  #shareSend(data: WriteData, to: DatagramTarget): Operation<void> {
    this.#bytes = this.#checkData(data);
    this.#to = this.#endpoint(to);
    if (this.#sharedSend === undefined) {
      const op = {
        syscall: "sendto",
        subject: {},
        attempt: () => this.#sendOnce(this.#bytes, this.#to!),
        source: this.#sendReady,
        block: (deadline: number) =>
          this.#blocking.wait(
            deadline,
            () => this.#sendOnce(this.#bytes, this.#to!, true),
            this.#sendReady,
          ),
      };
      // Errors name the destination of the send in progress, as those of sendto(2) do.
      Object.defineProperty(op, "subject", { get: () => this.#to!.subject });
      this.#sharedSend = op;
    }
    return this.#sharedSend;
  }

  /**
   * Sends one datagram to `to`, waiting while it cannot be sent (the
   * receiver's queue or this socket's buffer is full), without blocking the
   * event loop.
   *
   * Wraps `sendto(2)` with `MSG_NOSIGNAL`. Needs `--allow-ffi`.
   *
   * @param data the datagram: bytes, or a string sent as UTF-8
   * @param to where: `{ path }`, `{ abstract }`, `{ hostname, port }`, or the
   *   `address` of a datagram received
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns a promise that resolves once the datagram is sent
   * @throws {TypeError} for a malformed or unnamed destination, one of
   *   another family than this socket, `data` neither bytes nor a string, or a
   *   `signal` that is not an AbortSignal; when `data`'s buffer is detached or
   *   resized while the send waits (nothing is sent)
   * @throws {RangeError} for a path longer than 107 bytes, a port outside 1..65535, a `timeout` that is not ≥ 0
   * @throws {Deno.errors.ConnectionRefused} when no socket is bound at a Unix destination
   * @throws {Deno.errors.NotFound} when no socket file is at the destination path
   * @throws {Deno.errors.PermissionDenied} when the destination's file mode denies this user
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the socket is (or gets) closed
   * @throws {IpcError} EMSGSIZE when the datagram is larger than the send buffer
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using receiver = datagram({ port: 0 });
   * using sender = datagram({ port: 0 });
   * await sender.sendTo(new Uint8Array([1, 2, 3]), receiver.addr);
   * const got = await receiver.receiveFrom({ timeout: 1000 });
   * assert.deepEqual(got.data, new Uint8Array([1, 2, 3]));
   * assert.deepEqual(got.address, sender.addr);
   * ```
   */
  sendTo(data: WriteData, to: DatagramTarget, options?: WaitOptions): Promise<void> {
    try {
      const bytes = this.#checkData(data);
      const length = bytes.byteLength;
      const at = this.#endpoint(to);
      const op: Operation<void> = {
        syscall: "sendto",
        subject: at.subject,
        attempt: () => {
          checkUnchanged(bytes, length);
          return this.#sendOnce(bytes, at);
        },
        source: this.#sendReady,
      };
      return wait(op, options, this.#out);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Sends one datagram to `to`, blocking the thread while it cannot be sent.
   *
   * Wraps `sendto(2)` with `MSG_NOSIGNAL`. Needs `--allow-ffi`.
   *
   * @param data the datagram: bytes, or a string sent as UTF-8
   * @param to where it goes
   * @param options `timeout` in milliseconds
   * @throws {TypeError} for a malformed or unnamed destination, or one of another family
   * @throws {RangeError} for a path longer than 107 bytes, a port outside 1..65535, a `timeout` that is not ≥ 0
   * @throws {Deno.errors.ConnectionRefused} when no socket is bound at a Unix destination
   * @throws {Deno.errors.NotFound} when no socket file is at the destination path
   * @throws {Deno.errors.PermissionDenied} when the destination's file mode denies this user
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {IpcError} EMSGSIZE when the datagram is larger than the send buffer
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using receiver = datagram({ abstract: `libc-ipc-doc-${Deno.pid}-sendtosync` });
   * using sender = datagram(); // unbound: the receiver cannot answer
   * sender.sendToSync("one way", receiver.addr);
   * const { address } = receiver.receiveFromSync();
   * assert.deepEqual(address, { transport: "unix", unnamed: true });
   * ```
   */
  sendToSync(data: WriteData, to: DatagramTarget, options?: SyncWaitOptions): void {
    try {
      waitSync(this.#shareSend(data, to), options, this.#out);
    } finally {
      this.#bytes = NO_BYTES;
      this.#to = undefined;
    }
  }

  /**
   * Sends one datagram to `to` if it can go now, without waiting.
   *
   * Wraps `sendto(2)` with `MSG_NOSIGNAL`. Needs `--allow-ffi`.
   *
   * @param data the datagram: bytes, or a string sent as UTF-8
   * @param to where it goes
   * @throws {Deno.errors.WouldBlock} when the receiver's queue (Unix) or this socket's buffer is full
   * @throws {TypeError} for a malformed or unnamed destination, or one of another family
   * @throws {RangeError} for a path longer than 107 bytes, or a port outside 1..65535
   * @throws {Deno.errors.ConnectionRefused} when no socket is bound at a Unix destination
   * @throws {Deno.errors.NotFound} when no socket file is at the destination path
   * @throws {Deno.errors.PermissionDenied} when the destination's file mode denies this user
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {IpcError} EMSGSIZE when the datagram is larger than the send buffer
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using sender = datagram();
   * assert.throws(
   *   () => sender.trySendTo("x", { abstract: `libc-ipc-doc-${Deno.pid}-nobody` }),
   *   Deno.errors.ConnectionRefused,
   * );
   * ```
   */
  trySendTo(data: WriteData, to: DatagramTarget): void {
    try {
      tryNow(this.#shareSend(data, to));
    } finally {
      this.#bytes = NO_BYTES;
      this.#to = undefined;
    }
  }

  // --------------------------------------------------------- receiving

  /**
   * Takes one datagram with its sender's address, or AGAIN. With `waits`,
   * waits for one in the call (AGAIN when interrupted).
   */
  #receiveOnce(waits = false): Datagram<A> | typeof AGAIN {
    const fd = this.fdFor("recvfrom");
    const data = takeMessage(fd, "recvfrom", this.subject, waits, this.#takeFrom);
    if (data === AGAIN) return AGAIN;
    return this.#credit<Datagram<A>>({ data, address: this.#sender(this.#fromLen[0]) });
  }

  /** A datagram's take, for `takeMessage`, with its sender's address into `#from`. */
  readonly #takeFrom = (fd: number, area: Uint8Array): number =>
    this.#receiveFrom(fd, area, C.MSG_TRUNC | C.MSG_DONTWAIT);

  /**
   * One `recvfrom(2)` into `buf`, its sender's address into `#from`; made as
   * `recvmsg(2)` where the datagram brings its sender's credentials.
   */
  #receiveFrom(fd: number, buf: Uint8Array, flags: number): number {
    this.#fromLen[0] = SOCKADDR_MAX;
    return this.#credited
      ? receiveFromCredited(fd, buf, flags, this.#from, this.#fromLen)
      : libc.recvfrom(fd, buf, buf.byteLength, flags, this.#from, this.#fromLenBytes);
  }

  /** `result` with the credentials its datagram brought, where the socket has them. */
  #credit<T extends { credentials?: PeerCredentials }>(result: T): T {
    if (!this.#credited) return result;
    const credentials = takeCredentials();
    if (credentials !== undefined) result.credentials = credentials;
    return result;
  }

  /**
   * Takes one datagram into `buf` with its sender's address, or AGAIN; one
   * call, where {@link DatagramSocket.receiveFrom} first asks the size. With
   * `waits`, waits for one in the call (AGAIN when interrupted). With `peek`
   * (`MSG_PEEK`), leaves it queued, and a longer one is no error.
   */
  #receiveOnceInto(buf: Uint8Array, waits = false, peek = 0): DatagramInfo<A> | typeof AGAIN {
    const fd = this.fdFor("recvfrom");
    const len = Math.min(buf.byteLength, MAX_IO);
    // MSG_TRUNC: the datagram's real length, so that a cut one is reported.
    const flags = (waits ? C.MSG_TRUNC : C.MSG_TRUNC | C.MSG_DONTWAIT) | peek;
    const target = len === buf.byteLength ? buf : buf.subarray(0, len);
    for (;;) {
      const n = this.#receiveFrom(fd, target, flags);
      if (n >= 0) {
        if (n > len && peek === 0) throw truncatedError(n, len, "recvfrom", this.subject);
        return this.#credit<DatagramInfo<A>>({ size: n, address: this.#sender(this.#fromLen[0]) });
      }
      if (failed("recvfrom", this.subject) === AGAIN || waits) return AGAIN;
    }
  }

  /**
   * The sender's address the last receive left in `#from` (`len` bytes), as
   * a new object: decoded once per sender (a decode of an abstract name took
   * 0.3 µs; the bytes are compared instead while the sender stays the same).
   */
  #sender(len: number): A {
    const last = this.#lastFrom;
    if (last !== undefined && last.bytes.byteLength === len) {
      let i = 0;
      while (i < len && last.bytes[i] === this.#from[i]) i++;
      if (i === len) return { ...last.address } as A;
    }
    const address = decodeAddress(this.#from, len, "udp");
    this.#lastFrom = { bytes: this.#from.slice(0, len), address: { ...address } };
    return address as A;
  }

  /**
   * Receives one datagram, waiting while none has arrived, without blocking
   * the event loop.
   *
   * Wraps `recvfrom(2)`. Needs `--allow-ffi`.
   *
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns the datagram and its sender's address
   * @throws {TypeError} when `signal` is not an AbortSignal
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the socket is (or gets) closed
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using socket = datagram({ port: 0 });
   * await assert.rejects(socket.receiveFrom({ timeout: 10 }), Deno.errors.TimedOut);
   * ```
   */
  receiveFrom(options?: WaitOptions): Promise<Datagram<A>> {
    return wait(this.#receiveOp, options, this.#in);
  }

  /**
   * Receives one datagram, blocking the thread while none has arrived.
   *
   * Wraps `recvfrom(2)` and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param options `timeout` in milliseconds
   * @returns the datagram and its sender's address
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using socket = datagram({ abstract: `libc-ipc-doc-${Deno.pid}-receivesync` });
   * socket.sendToSync("to myself", socket.addr);
   * assert.equal(new TextDecoder().decode(socket.receiveFromSync().data), "to myself");
   * ```
   */
  receiveFromSync(options?: SyncWaitOptions): Datagram<A> {
    return waitSync(this.#receiveOp, options, this.#in);
  }

  /**
   * Receives one datagram if one has arrived, without waiting.
   *
   * Wraps `recvfrom(2)`. Needs `--allow-ffi`.
   *
   * @returns the datagram and its sender's address
   * @throws {Deno.errors.WouldBlock} when none has arrived
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using socket = datagram({ port: 0 });
   * assert.throws(() => socket.tryReceiveFrom(), Deno.errors.WouldBlock);
   * ```
   */
  tryReceiveFrom(): Datagram<A> {
    return tryNow(this.#receiveOp);
  }

  /**
   * Receives one datagram into `buf` (no allocation for its bytes: the hot
   * path of a server), waiting while none has arrived, without blocking the
   * event loop. A datagram longer than `buf` is taken, its first bytes left in
   * `buf`, and reported: the error's `messageSize` says how long it was.
   *
   * Wraps `recvfrom(2)` with `MSG_TRUNC`. Needs `--allow-ffi`.
   *
   * @param buf where the datagram goes
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns its size and its sender's address
   * @throws {IpcError} EMSGSIZE when the datagram was longer than `buf`
   * @throws {TypeError} when `buf` is not a Uint8Array, or `signal` not an AbortSignal
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the socket is (or gets) closed
   *
   * @example
   * ```ts
   * import { datagram, IpcError } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using server = datagram({ port: 0 });
   * using client = datagram({ hostname: "127.0.0.1", port: 0 });
   * const buf = new Uint8Array(4);
   * client.sendToSync("ok", server.addr);
   * const { size, address } = await server.receiveFromInto(buf);
   * assert.equal(size, 2);
   * assert.deepEqual(address, client.addr);
   * client.sendToSync("too long for it", server.addr);
   * await assert.rejects(
   *   server.receiveFromInto(buf),
   *   (e) => e instanceof IpcError && e.code === "EMSGSIZE",
   * );
   * ```
   */
  receiveFromInto(buf: Uint8Array, options?: WaitOptions): Promise<DatagramInfo<A>> {
    try {
      return wait(
        {
          syscall: "recvfrom",
          subject: this.subject,
          attempt: checkingBuffer(buf, () => this.#receiveOnceInto(buf)),
          source: this.#readable,
        },
        options,
        this.#in,
      );
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Receives one datagram into `buf`, blocking the thread while none has arrived.
   *
   * Wraps `recvfrom(2)` with `MSG_TRUNC`. Needs `--allow-ffi`.
   *
   * @param buf where the datagram goes
   * @param options `timeout` in milliseconds
   * @returns its size and its sender's address
   * @throws {IpcError} EMSGSIZE when the datagram was longer than `buf` (its first bytes are there)
   * @throws {TypeError} when `buf` is not a Uint8Array
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using socket = datagram({ abstract: `libc-ipc-doc-${Deno.pid}-receivefromintosync` });
   * socket.sendToSync(new Uint8Array(0), socket.addr); // datagrams may be empty
   * assert.deepEqual(socket.receiveFromIntoSync(new Uint8Array(8)), { size: 0, address: socket.addr });
   * ```
   */
  receiveFromIntoSync(buf: Uint8Array, options?: SyncWaitOptions): DatagramInfo<A> {
    checkBuffer(buf);
    this.#into = buf;
    try {
      return waitSync(this.#receiveIntoOp, options, this.#in);
    } finally {
      this.#into = NO_BYTES;
    }
  }

  /**
   * Receives one datagram into `buf` if one has arrived, without waiting.
   *
   * Wraps `recvfrom(2)` with `MSG_TRUNC`. Needs `--allow-ffi`.
   *
   * @param buf where the datagram goes
   * @returns its size and its sender's address
   * @throws {Deno.errors.WouldBlock} when none has arrived
   * @throws {IpcError} EMSGSIZE when the datagram was longer than `buf` (its first bytes are there)
   * @throws {TypeError} when `buf` is not a Uint8Array
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using socket = datagram({ port: 0 });
   * assert.throws(() => socket.tryReceiveFromInto(new Uint8Array(8)), Deno.errors.WouldBlock);
   * ```
   */
  tryReceiveFromInto(buf: Uint8Array): DatagramInfo<A> {
    checkBuffer(buf);
    this.#into = buf;
    try {
      return tryNow(this.#receiveIntoOp);
    } finally {
      this.#into = NO_BYTES;
    }
  }

  #peekOp(buf: Uint8Array): Operation<DatagramInfo<A>> {
    return {
      syscall: "recvfrom",
      subject: this.subject,
      attempt: checkingBuffer(buf, () => this.#receiveOnceInto(buf, false, C.MSG_PEEK)),
      source: this.#readable,
      block: (deadline) =>
        this.#blocking.wait(
          deadline,
          () => this.#receiveOnceInto(buf, true, C.MSG_PEEK),
          this.#readable,
        ),
    };
  }

  /**
   * Copies into `buf` the datagram a receive would take next, without taking
   * it, waiting while none has arrived, without blocking the event loop: look
   * at a datagram's header or sender before choosing its handler, or size a
   * buffer to it. `size` is the datagram's whole size, of which `buf` holds
   * the first bytes (an empty `buf` asks the size alone); the datagram stays
   * whole for the next receive. With `credentials: true`, the sender's
   * credentials come with it as they will with its receive.
   *
   * Wraps `recvfrom(2)` with `MSG_PEEK | MSG_TRUNC`. Needs `--allow-ffi`.
   *
   * @param buf where the copy goes
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns the datagram's size and its sender's address
   * @throws {TypeError} when `buf` is not a Uint8Array, or `signal` not an AbortSignal
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the socket is (or gets) closed
   *
   * @example Size the buffer to the datagram
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using server = datagram({ port: 0 });
   * using client = datagram({ hostname: "127.0.0.1", port: 0 });
   * client.sendToSync("of any length", server.addr);
   * const { size, address } = await server.peekFrom(new Uint8Array(0));
   * assert.equal(size, 13);
   * assert.deepEqual(address, client.addr);
   * const buf = new Uint8Array(size);
   * assert.equal(server.receiveFromIntoSync(buf).size, 13); // still there, whole
   * ```
   */
  peekFrom(buf: Uint8Array, options?: WaitOptions): Promise<DatagramInfo<A>> {
    try {
      return wait(this.#peekOp(buf), options, this.#in);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Copies into `buf` the datagram a receive would take next, without taking
   * it, blocking the thread while none has arrived. Returns what
   * {@link DatagramSocket.peekFrom} returns.
   *
   * Wraps `recvfrom(2)` with `MSG_PEEK | MSG_TRUNC`. Needs `--allow-ffi`.
   *
   * @param buf where the copy goes
   * @param options `timeout` in milliseconds
   * @returns the datagram's size and its sender's address
   * @throws {TypeError} when `buf` is not a Uint8Array
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using socket = datagram({ abstract: `libc-ipc-doc-${Deno.pid}-peekfromsync` });
   * socket.sendToSync("hello", socket.addr);
   * const first = new Uint8Array(2);
   * assert.equal(socket.peekFromSync(first).size, 5); // "he" in first
   * assert.equal(new TextDecoder().decode(socket.receiveFromSync().data), "hello");
   * ```
   */
  peekFromSync(buf: Uint8Array, options?: SyncWaitOptions): DatagramInfo<A> {
    return waitSync(this.#peekOp(buf), options, this.#in);
  }

  /**
   * Copies into `buf` the datagram a receive would take next, without taking
   * it, if one has arrived. Returns what {@link DatagramSocket.peekFrom}
   * returns.
   *
   * Wraps `recvfrom(2)` with `MSG_PEEK | MSG_TRUNC`. Needs `--allow-ffi`.
   *
   * @param buf where the copy goes
   * @returns the datagram's size and its sender's address
   * @throws {Deno.errors.WouldBlock} when none has arrived
   * @throws {TypeError} when `buf` is not a Uint8Array
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using socket = datagram({ port: 0 });
   * assert.throws(() => socket.tryPeekFrom(new Uint8Array(8)), Deno.errors.WouldBlock);
   * ```
   */
  tryPeekFrom(buf: Uint8Array): DatagramInfo<A> {
    return tryNow(this.#peekOp(buf));
  }

  /**
   * Closes the socket: pending operations reject with
   * `Deno.errors.BadResource`, and its socket file is removed (unless
   * `keepPath`), if it is still the one this socket created. Closing twice
   * does nothing.
   *
   * Wraps `close(2)` and `unlink(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const dir = Deno.makeTempDirSync();
   * const socket = datagram({ path: `${dir}/dgram.sock`, mode: 0o620 });
   * assert.equal(Deno.lstatSync(`${dir}/dgram.sock`).mode! & 0o777, 0o620);
   * socket.close();
   * assert.throws(() => Deno.lstatSync(`${dir}/dgram.sock`), Deno.errors.NotFound);
   * Deno.removeSync(dir);
   * ```
   */
  override close(): void {
    if (this.closed) return;
    super.close();
    if (this.#bound !== undefined) releasePath(this.#bound);
  }

  // --------------------------------------------------------- multicast

  /** The descriptor of a UDP socket, for `method`; a TypeError on a Unix one. */
  #udpFd(method: string): number {
    const fd = this.fdFor("setsockopt");
    if (this.#domain === C.AF_UNIX) {
      throw new TypeError(`${method} applies to UDP sockets, not to a Unix one`);
    }
    return fd;
  }

  /** This socket's family, and whether an IPv6 one is IPv6 only (`IPV6_V6ONLY`: no IPv4 groups). */
  #multicastSocket(fd: number): MulticastSocket {
    const v6only = this.#domain === C.AF_INET6 &&
      intOption(fd, C.IPPROTO_IPV6, C.IPV6_V6ONLY, this.subject) === 1;
    return { domain: this.#domain, v6only };
  }

  /** Joins or leaves `group`. */
  #membership(join: boolean, group: string, options: MulticastOptions | undefined, what: string) {
    const fd = this.#udpFd(what);
    const option = membershipOption(this.#multicastSocket(fd), join, group, options, what);
    this.#setOption(fd, option, { address: option.group });
  }

  /** Sets `option` on this UDP socket; errors name `subject` (the group) besides the socket. */
  #setOption(fd: number, option: SocketOption, subject?: { address: string }): void {
    const { level, name, value } = option;
    ok(libc.setsockopt(fd, level, name, value, value.byteLength), "setsockopt", {
      ...this.subject,
      ...subject,
    });
  }

  /**
   * Joins the multicast group `group` (IPv4 224.0.0.0/4, on an IPv4 socket or
   * a dual-stack IPv6 one; IPv6 ff00::/8 on an IPv6 one): datagrams sent to the
   * group, at this socket's port, come to this socket as well as to every other
   * member. Bind to `0.0.0.0` (or `::`) and the port, with `reuseAddress` (or
   * `reusePort`) where several sockets share it: each gets every datagram.
   * Linux delivers a group's datagrams to every socket bound to a wildcard
   * address and the port once any socket of this machine has joined the group
   * (`IP_MULTICAST_ALL`): bind to the group's address instead (`{ hostname:
   * group, port }`) for a socket that takes that group's alone.
   *
   * Wraps `setsockopt(2)` (`IP_ADD_MEMBERSHIP` with `struct ip_mreqn`,
   * `IPV6_ADD_MEMBERSHIP` with `struct ipv6_mreq`). Needs `--allow-ffi`.
   *
   * @param group the group's address
   * @param options `interface`: name, index or (IPv4) address to receive on
   * @throws {TypeError} on a Unix socket, for a group of the other family, a
   *   group or interface that is not a string or number, or an unknown option
   * @throws {RangeError} for an address that is not a multicast one
   * @throws {Deno.errors.AddrInUse} when the socket is in the group already (`EADDRINUSE`)
   * @throws {IpcError} ENODEV for an interface that does not exist; `ENOBUFS` past
   *   `net.ipv4.igmp_max_memberships` groups
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example Two members of one group on the loopback
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const group = "239.255.42.99";
   * using a = datagram({ hostname: "0.0.0.0", port: 0, reuseAddress: true });
   * using b = datagram({ hostname: "0.0.0.0", port: a.addr.port, reuseAddress: true });
   * for (const member of [a, b]) member.joinMulticast(group, { interface: "127.0.0.1" });
   * using sender = datagram({ port: 0 });
   * sender.setMulticastInterface("127.0.0.1");
   * sender.sendToSync("to all", { hostname: group, port: a.addr.port });
   * for (const member of [a, b]) {
   *   assert.equal(new TextDecoder().decode(member.receiveFromSync({ timeout: 5000 }).data), "to all");
   * }
   * ```
   */
  joinMulticast(group: string, options?: MulticastOptions): void {
    this.#membership(true, group, options, "joinMulticast");
  }

  /**
   * Leaves the multicast group `group`, joined on the same interface.
   *
   * Wraps `setsockopt(2)` (`IP_DROP_MEMBERSHIP`, `IPV6_DROP_MEMBERSHIP`). Needs `--allow-ffi`.
   *
   * @param group the group's address
   * @param options `interface`, as it was joined
   * @throws {TypeError} as {@link DatagramSocket.joinMulticast} does
   * @throws {RangeError} for an address that is not a multicast one
   * @throws {Deno.errors.AddrNotAvailable} when the socket is not in the group there (`EADDRNOTAVAIL`)
   * @throws {IpcError} ENODEV for an interface that does not exist
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using socket = datagram({ hostname: "0.0.0.0", port: 0 });
   * socket.joinMulticast("239.255.42.98", { interface: "lo" });
   * socket.leaveMulticast("239.255.42.98", { interface: "lo" });
   * assert.throws(
   *   () => socket.leaveMulticast("239.255.42.98", { interface: "lo" }),
   *   Deno.errors.AddrNotAvailable,
   * );
   * ```
   */
  leaveMulticast(group: string, options?: MulticastOptions): void {
    this.#membership(false, group, options, "leaveMulticast");
  }

  /**
   * Sends this socket's multicast datagrams by the interface `iface` (by
   * default, the one the routes pick for the group). On a dual-stack IPv6
   * socket, its datagrams to IPv4 groups too (an IPv4 address names the
   * interface of those alone).
   *
   * Wraps `setsockopt(2)` (`IP_MULTICAST_IF`, `IPV6_MULTICAST_IF`). Needs `--allow-ffi`.
   *
   * @param iface the interface's name, index (0: the default again), or (IPv4) one of its addresses
   * @throws {TypeError} on a Unix socket, for an interface that is not a string or number, or
   *   for an address on an IPv6-only socket
   * @throws {IpcError} ENODEV for an interface name that does not exist, or an index that is
   *   no interface's on an IPv6 socket
   * @throws {Deno.errors.AddrNotAvailable} for an IPv4 address or index that is no interface's
   *   on an IPv4 socket
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * using socket = datagram({ port: 0 });
   * socket.setMulticastInterface("lo");
   * ```
   */
  setMulticastInterface(iface: string | number): void {
    const fd = this.#udpFd("setMulticastInterface");
    const socket = this.#multicastSocket(fd);
    for (const option of sendInterfaceOptions(socket, iface, "setMulticastInterface")) {
      this.#setOption(fd, option);
    }
  }

  /**
   * Whether this socket's multicast datagrams come back to the groups'
   * members on this machine, this socket included (`true`, the kernel's
   * default) or not; sent by the loopback interface, they come back whatever
   * this says. On a dual-stack IPv6 socket, for IPv4 groups too.
   *
   * Wraps `setsockopt(2)` (`IP_MULTICAST_LOOP`, `IPV6_MULTICAST_LOOP`). Needs `--allow-ffi`.
   *
   * @param on whether they come back
   * @throws {TypeError} on a Unix socket, or when `on` is not a boolean
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * using socket = datagram({ port: 0 });
   * socket.setMulticastLoopback(false);
   * ```
   */
  setMulticastLoopback(on = true): void {
    const value = checkBoolean(on, "on", true) ? 1 : 0;
    const fd = this.#udpFd("setMulticastLoopback");
    const socket = this.#multicastSocket(fd);
    for (const [level, name] of sendLevels(socket, C.IP_MULTICAST_LOOP, C.IPV6_MULTICAST_LOOP)) {
      setIntOption(fd, level, name, value, this.subject);
    }
  }

  /**
   * How many routers this socket's multicast datagrams may cross: 0 keeps
   * them on this machine, 1 (the kernel's default) on the local network. On a
   * dual-stack IPv6 socket, for IPv4 groups too.
   *
   * Wraps `setsockopt(2)` (`IP_MULTICAST_TTL`, `IPV6_MULTICAST_HOPS`). Needs `--allow-ffi`.
   *
   * @param ttl 0..255
   * @throws {TypeError} on a Unix socket, or when `ttl` is not a number
   * @throws {RangeError} for a `ttl` that is not an integer 0..255
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * using socket = datagram({ port: 0 });
   * socket.setMulticastTtl(0); // this machine only
   * ```
   */
  setMulticastTtl(ttl: number): void {
    const value = checkInteger(ttl, "setMulticastTtl: ttl", 0, 255);
    const fd = this.#udpFd("setMulticastTtl");
    const socket = this.#multicastSocket(fd);
    for (const [level, name] of sendLevels(socket, C.IP_MULTICAST_TTL, C.IPV6_MULTICAST_HOPS)) {
      setIntOption(fd, level, name, value, this.subject);
    }
  }

  /**
   * The datagrams as they come: `for await (const { data, address } of socket)`.
   * It ends cleanly when the socket is closed, even while it waits; leaving it
   * early does not close the socket.
   *
   * Wraps `recvfrom(2)`. Needs `--allow-ffi`.
   *
   * @returns the datagrams
   *
   * @example
   * ```ts
   * import { datagram } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using socket = datagram({ port: 0 });
   * socket.sendToSync("a", socket.addr);
   * socket.sendToSync("stop", socket.addr);
   * const seen: string[] = [];
   * for await (const { data } of socket) {
   *   const text = new TextDecoder().decode(data);
   *   if (text === "stop") break;
   *   seen.push(text);
   * }
   * assert.deepEqual(seen, ["a"]);
   * ```
   */
  [Symbol.asyncIterator](): AsyncGenerator<Datagram<A>, void, undefined> {
    return untilClosed(this, (signal) => this.receiveFrom({ signal }));
  }
}

/** The options of a bound socket, which an unbound one refuses. */
const BINDING_OPTIONS: readonly string[] = [
  "mode",
  "replace",
  "keepPath",
  "credentials",
  "reuseAddress",
  "reusePort",
  "ipv6Only",
  "broadcast",
];

/** The keys of {@link DatagramOptions}, and `transport` of an address object given whole. */
const DATAGRAM_OPTIONS: ReadonlySet<string> = new Set([...ADDRESS_KEYS, ...BINDING_OPTIONS]);

/**
 * Opens a datagram socket: Unix, bound to a socket file (`{ path }`, created
 * with exactly `mode`, default `0o600`), to an abstract name (`{ abstract }`)
 * or to nothing (`{}`, the default: it can send, but cannot be answered); or
 * UDP, bound to `{ hostname, port }` (port 0 takes a free one). Every option
 * is checked before any system call.
 *
 * Wraps `socket(2)` (`SOCK_DGRAM | SOCK_CLOEXEC`), `bind(2)`
 * (and `fchmod(2)`, `chmod(2)`, `setsockopt(2)`). Needs `--allow-ffi`.
 *
 * @param options where to bind: `{ path, mode, replace, keepPath, credentials }`,
 *   `{ abstract, credentials }`, `{ hostname, port, reuseAddress, reusePort, ipv6Only, broadcast }`, or `{}`
 * @returns the socket; close it (or `using`) when done
 * @throws {TypeError} for `options` that is not an object, or malformed options (a hostname
 *   that is not an IP address, a path with a NUL, an option that does not apply)
 * @throws {RangeError} for a path longer than 107 bytes, a port outside 0..65535, a `mode` outside 0..0o777
 * @throws {Deno.errors.AddrInUse} when the path, name or port is taken
 * @throws {Deno.errors.NotFound} when the socket file's directory does not exist
 * @throws {Deno.errors.PermissionDenied} when the directory is not writable, or the port is privileged
 * @throws {Deno.errors.AddrNotAvailable} when `hostname` is not an address of this machine
 *
 * @example Who sent each datagram
 * ```ts
 * import { datagram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using server = datagram({ abstract: `libc-ipc-doc-${Deno.pid}-cred`, credentials: true });
 * using client = datagram();
 * client.sendToSync("hello", server.addr);
 * assert.equal(server.receiveFromSync().credentials?.pid, Deno.pid);
 * ```
 *
 * @example A socket file that the group may send to
 * ```ts
 * import { datagram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * {
 *   using socket = datagram({ path: `${dir}/log.sock`, mode: 0o620 });
 *   assert.deepEqual(socket.addr, { transport: "unix", path: `${dir}/log.sock` });
 * }
 * Deno.removeSync(dir);
 * ```
 */
export function datagram(options: UdpDatagramOptions): DatagramSocket<NetAddress>;
/** {@link datagram} on a Unix path or abstract name, or unbound: its address is a Unix one. */
export function datagram(
  options?: UnixDatagramOptions | AbstractDatagramOptions | Record<PropertyKey, never>,
): DatagramSocket<UnixAddress>;
/** {@link datagram} where the kind of address is known at run time only. */
export function datagram(options?: DatagramOptions): DatagramSocket;
export function datagram(options: DatagramOptions = {}): DatagramSocket {
  checkOptions(options, "datagram options");
  onlyKnown(options, DATAGRAM_OPTIONS, "datagram options");
  const o = options as AnyOf<DatagramOptions>;
  if (o.path === undefined && o.abstract === undefined && o.port === undefined) {
    if (o.hostname !== undefined) throw new TypeError("datagram options: a hostname needs a port");
    rejectOptions(o, BINDING_OPTIONS, "an unbound socket");
    const fd = openSocket(C.AF_UNIX, "datagram", {}, true);
    return create(fd, C.AF_UNIX, { transport: "unix", unnamed: true });
  }
  const at = endpointOf(options, { transport: "udp", portZero: true }, "datagram options");
  if (at.domain === C.AF_UNIX) {
    rejectOptions(o, ["reuseAddress", "reusePort", "ipv6Only", "broadcast"], "a Unix socket");
    if (at.path === undefined) {
      rejectOptions(o, ["mode", "replace", "keepPath"], "an abstract name (it has no file)");
    }
    const mode = checkMode(o.mode);
    const replace = checkBoolean(o.replace, "replace");
    const keepPath = checkBoolean(o.keepPath, "keepPath");
    const credentials = checkBoolean(o.credentials, "credentials");
    const fd = openSocket(C.AF_UNIX, "datagram", at.subject, true);
    let bound: BoundPath | undefined;
    try {
      if (credentials) setIntOption(fd, C.SOL_SOCKET, C.SO_PASSCRED, 1, at.subject);
      if (at.path !== undefined) bound = bindPath(fd, at, mode, replace);
      else ok(libc.bind(fd, at.sockaddr, at.length), "bind", at.subject);
      const addr: SocketAddress = at.path !== undefined
        ? { transport: "unix", path: at.path }
        : localAddressOf(fd, "datagram", at.subject);
      return create(fd, C.AF_UNIX, addr, keepPath ? undefined : bound);
    } catch (e) {
      if (bound !== undefined) releasePath(bound);
      libc.close(fd);
      throw e;
    }
  }
  rejectOptions(o, ["mode", "replace", "keepPath", "credentials"], "a UDP socket");
  const reuse = checkBoolean(o.reuseAddress, "reuseAddress");
  const reusePort = checkBoolean(o.reusePort, "reusePort");
  const v6only = checkBoolean(o.ipv6Only, "ipv6Only");
  if (o.ipv6Only !== undefined && at.domain !== C.AF_INET6) {
    throw new TypeError("ipv6Only applies to an IPv6 hostname");
  }
  const broadcast = checkBoolean(o.broadcast, "broadcast");
  const fd = openSocket(at.domain, "datagram", at.subject, true);
  try {
    if (broadcast) setIntOption(fd, C.SOL_SOCKET, C.SO_BROADCAST, 1, at.subject);
    bindNet(fd, at, reuse, v6only, reusePort);
    return create(fd, at.domain, localAddressOf(fd, "datagram", at.subject));
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}
