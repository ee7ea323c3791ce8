/**
 * {@link Connection}: a connected socket — a byte stream (Unix or TCP), or a
 * stream of messages (Unix seqpacket, a connected datagram pair).
 *
 * @module
 */
import { SocketHandle } from "./socket_handle.ts";
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import { MAX_IO } from "../../ffi/symbols/unistd.ts";
import { AGAIN, failed, ok } from "../_sys.ts";
import { describeSubject, type ErrorSubject } from "../errors.ts";
import { chunkAttempt, keepMessage, messageArea } from "../_landing.ts";
import {
  bytesOf,
  checkBoolean,
  checkBuffer,
  checkingBuffer,
  checkInteger,
  checkOptions,
  checkUnchanged,
  shown,
} from "../_check.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  eventsNow,
  fdEngine,
  fdSource,
  type Operation,
  pollNow,
  READABLE,
  rejectedNow,
  Spinner,
  tryNow,
  untilClosed,
  wait,
  type WaitContext,
  waitSync,
  WRITABLE,
} from "../_wait/mod.ts";
import { waitsOf } from "../fd/handle.ts";
import { BlockingCalls } from "./_blocking.ts";
import type { WriteData } from "../fd/writer.ts";
import type { SocketAddress, SocketType } from "./address.ts";
import { subjectOf } from "./_address.ts";
import {
  adoptSocket,
  localAddressOf,
  nextMessageSize,
  peerAddressOf,
  sendFailed,
  setIntOption,
  takeMessage,
  truncatedError,
} from "./_socket.ts";
import type { FdSource } from "../fd/_fd_source.ts";
import {
  checkFds,
  checkMax,
  receiveBuffer,
  receiveWithFds,
  refreshFds,
  sendWithFds,
  STREAM_SCRATCH,
} from "./_ancillary.ts";
import { type PeerCredentials, peerCredentialsOf } from "./_credentials.ts";
import { type ReceivedFds, receivedFdsOf } from "./received_fds.ts";
import { withProgress, writeErrors } from "../fd/_progress.ts";
import { byteReadable, chunkWritable } from "../fd/_streams.ts";
import { WriteTurns } from "../fd/_write_turns.ts";

/** Every call that must not wait says so: the socket's description blocks (see _blocking.ts). */
const DONTWAIT = C.MSG_DONTWAIT;

/** A message's take, for `takeMessage`: its real length with MSG_TRUNC. */
const recvMessage = (fd: number, area: Uint8Array) =>
  libc.recv(fd, area, area.byteLength, C.MSG_TRUNC | DONTWAIT);
const NO_BYTES = new Uint8Array(0);
/** `(uid_t)-1`: no user id. */
const NO_ID = 0xffffffff;
/** Empty receives in a row after which a datagram connection looks whether it was shut. */
const EMPTY_BEFORE_LOOK = 4;

/**
 * Which direction {@link Connection.shutdown} ends: `"read"`, `"write"` or
 * `"readwrite"` (both), the words of every direction in the library.
 *
 * @example
 * ```ts
 * import type { ShutdownHow } from "@libc/ipc";
 * const how: ShutdownHow = "write";
 * ```
 */
export type ShutdownHow = "read" | "write" | "readwrite";

const SHUT: Readonly<Record<ShutdownHow, number>> = {
  read: C.SHUT_RD,
  write: C.SHUT_WR,
  readwrite: C.SHUT_RDWR,
};

/** What descriptors travel with when the caller gives no data: one zero byte. */
const FD_CARRIER = new Uint8Array(1);

/**
 * Limits of a {@link Connection.receiveFds}: how many descriptors, and (on a
 * stream) how many bytes one receive takes.
 *
 * @example
 * ```ts
 * import type { ReceiveFdsLimits } from "@libc/ipc";
 * const limits: ReceiveFdsLimits = { max: 4, maxBytes: 1 };
 * ```
 */
export interface ReceiveFdsLimits {
  /**
   * The most descriptors to take, 0 to 253 (the default, the most one
   * message carries). The kernel closes any beyond them, never installing
   * them here, and the result says so: `truncated` (`MSG_CTRUNC`).
   */
  max?: number;
  /**
   * Stream connections only: the most bytes of data to take, default 65536.
   * A receive ends at the latest with the data the descriptors came with; the
   * bytes after stay for the next read. A message (seqpacket, datagram) is
   * always received whole.
   */
  maxBytes?: number;
}

/**
 * Options of {@link Connection.receiveFds}: the limits, `signal` and `timeout`.
 *
 * @example
 * ```ts
 * import type { ConnectionReceiveFdsOptions } from "@libc/ipc";
 * const options: ConnectionReceiveFdsOptions = { max: 1, timeout: 5000 };
 * ```
 */
export interface ConnectionReceiveFdsOptions extends ReceiveFdsLimits, WaitOptions {}

/**
 * Options of {@link Connection.receiveFdsSync}: the limits and `timeout`.
 *
 * @example
 * ```ts
 * import type { ReceiveFdsSyncOptions } from "@libc/ipc";
 * const options: ReceiveFdsSyncOptions = { max: 1, timeout: 5000 };
 * ```
 */
export interface ReceiveFdsSyncOptions extends ReceiveFdsLimits, SyncWaitOptions {}

/** How far a send of descriptors got: whether they went, and the bytes sent. */
interface FdSendProgress {
  fdsSent: boolean;
  written: number;
}

/** Makes a Connection for an fd this family has just opened (listener, connect, socketpair). */
let create: (
  fd: number,
  kind: SocketType,
  domain: number,
  remote: SocketAddress,
  blocks: boolean,
) => Connection;

/**
 * A {@link Connection} for `fd`, which it now owns (for the family's own
 * modules): a socket of theirs, whose description blocks.
 */
export function connectionOf(
  fd: number,
  kind: SocketType,
  domain: number,
  remote: SocketAddress,
): Connection {
  return create(fd, kind, domain, remote, true);
}

/**
 * A connected socket, shaped like `Deno.Conn`: made by {@link connect},
 * `Listener.accept` or {@link socketpair}, or adopted from an fd a parent
 * handed over ({@link Connection.fromFd}).
 *
 * - A **stream** connection (`type: "stream"`, Unix or TCP) carries bytes:
 *   `read`/`write` and their sync and try forms, and Web Streams
 *   (`readable`, `writable`).
 * - A **message** connection (`"seqpacket"`, or `"datagram"` from
 *   `socketpair("datagram")` or `connect({ ..., type: "datagram" })`) keeps
 *   message boundaries: each `send` is one
 *   `receive` at the other end. A message longer than the buffer given to
 *   `receiveInto` is reported (`EMSGSIZE`), never silently cut. `receive`
 *   peeks at the next message's size and takes it with room for at least
 *   256 KiB, so that on a socket several processes read, a longer message
 *   that another reader's take put first still arrives whole (one over
 *   both is reported, `EMSGSIZE`; only a sender with a send buffer above
 *   the default can send one).
 * - A **Unix** connection also passes descriptors to the process at the other
 *   end (`sendFds`/`receiveFds`, `SCM_RIGHTS`) and tells who that process is
 *   (`peerCredentials()`, `SO_PEERCRED`).
 *
 * Every blocking operation has three forms: `x()` returns a promise and never
 * blocks the event loop (`signal` and `timeout` cancel it), `xSync()` blocks
 * the thread, `tryX()` never waits (`Deno.errors.WouldBlock`). Writing to a
 * peer that has gone throws `Deno.errors.BrokenPipe` or
 * `Deno.errors.ConnectionReset`: the process is never killed by SIGPIPE.
 * `close()` rejects pending operations with `Deno.errors.BadResource`.
 *
 * Wraps `recv(2)`, `send(2)`, `recvmsg(2)`, `sendmsg(2)`, `shutdown(2)`,
 * `getsockname(2)`, `getsockopt(2)`, `setsockopt(2)`. Needs `--allow-ffi`.
 *
 * @example A socketpair: both ends in one process
 * ```ts
 * import { socketpair } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using pair = socketpair();
 * const [a, b] = pair;
 * await a.write("ping");
 * const buf = new Uint8Array(16);
 * const n = await b.read(buf);
 * assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), "ping");
 * ```
 */
export class Connection<A extends SocketAddress = SocketAddress> extends SocketHandle
  implements AsyncIterable<Uint8Array<ArrayBuffer>> {
  readonly #kind: SocketType;
  /** Whether the socket is known to be shut for reading: `shutdown("read")` here, or seen. */
  #readShut = false;
  /** Receives in a row that found nothing (datagram connections: see `#readEnded`). */
  #empty = 0;
  readonly #domain: number;
  readonly #remote: SocketAddress;
  #local?: SocketAddress;
  /** Waits to receive and to send: each direction learns its own peer's pace. */
  readonly #in: WaitContext;
  readonly #out: WaitContext;
  readonly #readReady: ReturnType<typeof fdSource>;
  readonly #writeReady: ReturnType<typeof fdSource>;
  readonly #blocking: BlockingCalls;
  /** Async writes of a stream, whole and in call order. */
  readonly #turns: WriteTurns;
  /**
   * The buffer and bytes of the sync or try operation in progress: those end
   * before any other code runs, so one operation object per kind serves them
   * all, and the hot path allocates nothing.
   */
  #buf: Uint8Array = NO_BYTES;
  #bytes: Uint8Array = NO_BYTES;
  readonly #progress = { written: 0 };
  #syncRead?: Operation<number | null>;
  #syncWrite?: Operation<number>;
  #syncSend?: Operation<void>;
  #syncReceive?: Operation<Uint8Array<ArrayBuffer> | null>;
  #syncReceiveInto?: Operation<number | null>;
  #readable?: ReadableStream<Uint8Array<ArrayBuffer>>;
  #writable?: WritableStream<Uint8Array>;

  static {
    create = (fd, kind, domain, remote, blocks) => new Connection(fd, kind, domain, remote, blocks);
  }

  private constructor(
    fd: number,
    kind: SocketType,
    domain: number,
    remote: SocketAddress,
    blocks: boolean,
  ) {
    super(fd);
    this.#kind = kind;
    this.#domain = domain;
    this.#remote = remote;
    this.#in = { spinner: new Spinner(), registry: waitsOf(this) };
    this.#out = { spinner: new Spinner(), registry: waitsOf(this), keepsAlive: true };
    this.#turns = new WriteTurns(this.#out.registry, () => this.subject);
    this.#readReady = fdSource(fd, READABLE);
    this.#writeReady = fdSource(fd, WRITABLE);
    this.#blocking = new BlockingCalls(blocks);
  }

  /**
   * Adopts a connected socket this process was handed (e.g. fd 3 from a
   * parent's `spawn(..., { fds: { 3: conn } })`): it becomes close-on-exec,
   * and this handle owns it. Its `O_NONBLOCK` stays as it is: that flag is
   * shared with the parent's copy. Calls that must not wait pass
   * `MSG_DONTWAIT`; on a blocking description (the library's own sockets
   * are), the sync forms wait inside the call itself, else in `poll(2)`.
   *
   * Wraps `getsockopt(2)`, `getpeername(2)`, `fcntl(2)`. Needs `--allow-ffi`.
   *
   * @param fd the descriptor of a connected Unix, TCP or UDP socket
   * @returns the connection
   * @throws {TypeError} when an open handle of this library owns `fd` (it would close it
   *   under this one): pass a copy (`dup`)
   * @throws {TypeError} when `fd` is not a number, not a socket, a listening
   *   socket, or not connected
   * @throws {RangeError} when `fd` is not an integer 0..2^31-1
   * @throws {Deno.errors.BadResource} when `fd` is not open (EBADF)
   *
   * @example In a child: adopt the end of a socketpair its parent handed over as fd 3
   * ```ts ignore
   * import { Connection } from "@libc/ipc";
   * using conn = Connection.fromFd(3);
   * await conn.write("hello from the child");
   * ```
   *
   * @example Only sockets are taken
   * ```ts
   * import { Connection, pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using p = pipe();
   * assert.throws(() => Connection.fromFd(p.reader.fd), TypeError);
   * ```
   */
  static fromFd(fd: number): Connection {
    const s = adoptSocket(fd, "Connection.fromFd");
    fd = s.fd;
    if (s.listening) {
      throw new TypeError(`Connection.fromFd: fd ${fd} is a listening socket: use Listener.fromFd`);
    }
    const peer = peerAddressOf(fd, s.kind, { fd });
    if (peer === undefined) {
      throw new TypeError(`Connection.fromFd: fd ${fd} is a socket that is not connected`);
    }
    return create(fd, s.kind, s.domain, peer, s.blocks);
  }

  /** What the handle is, in error messages. */
  protected get what(): string {
    return `${this.#kind} connection`;
  }

  /** What its errors name besides its fd: the peer's address, when it has one. */
  protected override describe(): ErrorSubject {
    return subjectOf(this.#remote);
  }

  /**
   * The kind of socket: `"stream"` (bytes), `"seqpacket"` or `"datagram"` (messages).
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("datagram");
   * const [a, b] = pair;
   * assert.equal(a.type, "datagram");
   * ```
   */
  get type(): SocketType {
    return this.#kind;
  }

  /**
   * The address of this end (`getsockname(2)`, read once): a TCP client's
   * local port, `{ transport: "unix", unnamed: true }` for a Unix client.
   *
   * Needs `--allow-ffi`.
   *
   * @throws {Deno.errors.BadResource} when first asked after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * const [a, b] = pair;
   * assert.deepEqual(a.localAddr, { transport: "unix", unnamed: true });
   * ```
   */
  get localAddr(): A {
    return (this.#local ??= localAddressOf(
      this.fdFor("getsockname"),
      this.#kind,
      this.subject,
    )) as A;
  }

  /**
   * The address of the peer: what the connection was made to, or what
   * `accept4(2)` reported for an accepted one.
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * const [a, b] = pair;
   * assert.deepEqual(b.remoteAddr, { transport: "unix", unnamed: true });
   * ```
   */
  get remoteAddr(): A {
    return this.#remote as A;
  }

  #checkStream(method: string): void {
    if (this.#kind !== "stream") {
      throw new TypeError(
        `${method} is for stream connections; a ${this.#kind} connection keeps message ` +
          "boundaries: use send() and receive()",
      );
    }
  }

  #checkMessages(method: string): void {
    if (this.#kind === "stream") {
      throw new TypeError(
        `${method} is for seqpacket and datagram connections; a stream connection has no ` +
          "message boundaries: use write() and read()",
      );
    }
  }

  // ------------------------------------------------------------ bytes (stream)

  /**
   * Receives what is there into `buf`: the count, null at end of stream, or
   * AGAIN. With `waits`, waits for it in the call (AGAIN when interrupted).
   */
  #readSome(buf: Uint8Array, waits = false): number | null | typeof AGAIN {
    const fd = this.fdFor("recv");
    if (buf.byteLength === 0) return 0;
    const len = Math.min(buf.byteLength, MAX_IO);
    for (;;) {
      const n = libc.recv(fd, buf, len, waits ? 0 : DONTWAIT);
      if (n > 0) return n;
      if (n === 0) return null;
      if (failed("recv", this.subject) === AGAIN || waits) return AGAIN;
    }
  }

  #readOp(buf: Uint8Array): Operation<number | null> {
    this.#checkStream("read()");
    return {
      syscall: "recv",
      subject: this.subject,
      attempt: checkingBuffer(buf, () => this.#readSome(buf)),
      source: this.#readReady,
    };
  }

  /**
   * The blocking receive of a sync form, or none: a Unix socket's sync
   * receives wait by the engine's yields and poll(2) instead. On one CPU,
   * with receives that blocked in the call, a 64 B stream round trip took 3-5
   * µs longer, and datagrams moved 1 988 MiB/s where they move 3 793 (64 KiB
   * each, `deno task bench:compare:datagram`, medians of 6 alternating runs;
   * their round trip 15.8 µs where it takes 14.6; seqpacket's the same
   * either way). TCP round trips take 2-3 µs less with it.
   */
  #receivesBlocking<T>(
    block: (deadline: number) => T | typeof AGAIN,
  ): ((deadline: number) => T | typeof AGAIN) | undefined {
    return this.#domain === C.AF_UNIX ? undefined : block;
  }

  #sharedRead(buf: Uint8Array): Operation<number | null> {
    this.#checkStream("read()");
    checkBuffer(buf);
    this.#buf = buf;
    return this.#syncRead ??= {
      syscall: "recv",
      subject: this.subject,
      attempt: () => this.#readSome(this.#buf),
      source: this.#readReady,
      block: this.#receivesBlocking((deadline) =>
        this.#blocking.wait(deadline, () => this.#readSome(this.#buf, true), this.#readReady)
      ),
    };
  }

  /**
   * Reads into `buf` what has arrived, waiting for data if none has, without
   * blocking the event loop. An aborted `signal` rejects with its reason.
   *
   * Wraps `recv(2)`. Needs `--allow-ffi`.
   *
   * @param buf where the bytes go
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns the number of bytes read, or `null` at end of stream (the peer
   *   closed or shut down its writing side)
   * @throws {TypeError} on a seqpacket or datagram connection, when `buf` is
   *   not a Uint8Array, or `signal` not an AbortSignal
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.ConnectionReset} when the peer reset the connection (ECONNRESET)
   * @throws {Deno.errors.BadResource} when the connection is (or gets) closed
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * const [a, b] = pair;
   * a.writeSync("hi");
   * a.shutdown("write");
   * const buf = new Uint8Array(16);
   * assert.equal(await b.read(buf, { timeout: 1000 }), 2);
   * assert.equal(await b.read(buf), null); // end of stream
   * ```
   */
  read(buf: Uint8Array, options?: WaitOptions): Promise<number | null> {
    try {
      return wait(this.#readOp(buf), options, this.#in);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Reads into `buf`, blocking the thread until data or end of stream.
   *
   * Wraps `recv(2)` and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param buf where the bytes go
   * @param options `timeout` in milliseconds
   * @returns the number of bytes read, or `null` at end of stream
   * @throws {TypeError} on a seqpacket or datagram connection, or when `buf` is not a Uint8Array
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.ConnectionReset} when the peer reset the connection
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * const [a, b] = pair;
   * assert.throws(() => b.readSync(new Uint8Array(4), { timeout: 10 }), Deno.errors.TimedOut);
   * ```
   */
  readSync(buf: Uint8Array, options?: SyncWaitOptions): number | null {
    try {
      return waitSync(this.#sharedRead(buf), options, this.#in);
    } finally {
      this.#buf = NO_BYTES;
    }
  }

  /**
   * Reads what has arrived, without waiting.
   *
   * Wraps `recv(2)`. Needs `--allow-ffi`.
   *
   * @param buf where the bytes go
   * @returns the number of bytes read, or `null` at end of stream
   * @throws {Deno.errors.WouldBlock} when nothing has arrived
   * @throws {TypeError} on a seqpacket or datagram connection, or when `buf` is not a Uint8Array
   * @throws {Deno.errors.ConnectionReset} when the peer reset the connection
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * const [a, b] = pair;
   * assert.throws(() => b.tryRead(new Uint8Array(4)), Deno.errors.WouldBlock);
   * ```
   */
  tryRead(buf: Uint8Array): number | null {
    try {
      return tryNow(this.#sharedRead(buf));
    } finally {
      this.#buf = NO_BYTES;
    }
  }

  /**
   * Sends from `bytes[progress.written]` while the socket takes bytes: all
   * sent, or AGAIN. With `waits`, waits for room in the call (AGAIN when
   * interrupted; what was sent is in `progress`).
   */
  #writeSome(
    bytes: Uint8Array,
    progress: { written: number },
    waits = false,
  ): number | typeof AGAIN {
    const fd = this.fdFor("send");
    // MSG_NOSIGNAL: a peer that has gone is EPIPE here, never a SIGPIPE that kills the process.
    const flags = waits ? C.MSG_NOSIGNAL : C.MSG_NOSIGNAL | DONTWAIT;
    while (progress.written < bytes.byteLength) {
      const from = progress.written;
      const len = Math.min(bytes.byteLength - from, MAX_IO);
      const n = libc.send(fd, from === 0 ? bytes : bytes.subarray(from), len, flags);
      if (n >= 0) {
        progress.written += n;
        // A short send without waiting filled the buffer: another would only fail. A short
        // one that waits was interrupted: the caller looks at the deadline before the next.
        if (n < len) return AGAIN;
      } else if (failed("send", this.subject) === AGAIN || waits) return AGAIN;
    }
    return progress.written;
  }

  /**
   * The spin's retry of a write: `#writeSome` once the socket
   * polls writable (the peer has taken most of what was queued), else AGAIN.
   */
  #writeWhenRoom(bytes: Uint8Array, progress: { written: number }): number | typeof AGAIN {
    return pollNow(this.fdFor("send"), WRITABLE) ? this.#writeSome(bytes, progress) : AGAIN;
  }

  #sharedWrite(data: WriteData): Operation<number> {
    this.#checkStream("write()");
    this.#bytes = bytesOf(data);
    this.#progress.written = 0;
    return this.#syncWrite ??= {
      syscall: "send",
      subject: this.subject,
      attempt: () => this.#writeSome(this.#bytes, this.#progress),
      retry: () => this.#writeWhenRoom(this.#bytes, this.#progress),
      source: this.#writeReady,
      blocksAtOnce: true,
      block: (deadline) =>
        this.#blocking.wait(
          deadline,
          () => this.#writeSome(this.#bytes, this.#progress, true),
          this.#writeReady,
        ),
    };
  }

  /**
   * Writes all of `data`, waiting while the socket's buffer is full, without
   * blocking the event loop. Writes made while others are pending (`sendFds`
   * and {@link Connection.writable} too) go out after them, whole and in call
   * order; a queued write that is aborted, times out or sees `close()` rejects
   * having written nothing. `writeSync`/`tryWrite` do not wait for them.
   *
   * Wraps `send(2)` with `MSG_NOSIGNAL`. Needs `--allow-ffi`.
   *
   * @param data bytes, or a string written as UTF-8
   * @param options `signal` to cancel, `timeout` in milliseconds. Bytes already
   *   sent stay sent and the error's `bytesWritten` says how many: an abort
   *   rejects with `signal.reason` itself when nothing was sent, else with
   *   `Deno.errors.Interrupted` whose `cause` is the reason.
   * @returns the number of bytes written: all of them
   * @throws {TypeError} on a seqpacket or datagram connection, when `data` is
   *   neither a Uint8Array nor a string, or `signal` not an AbortSignal; when
   *   `data`'s buffer is detached or resized while the write waits (with `bytesWritten`)
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.BrokenPipe} when the peer has closed (EPIPE)
   * @throws {Deno.errors.ConnectionReset} when the peer reset the connection (ECONNRESET)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.Interrupted} when `signal` aborts after part of `data` was sent
   * @throws {Deno.errors.BadResource} when the connection is (or gets) closed
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const [a, b] = socketpair();
   * using _a = a;
   * b.close();
   * await assert.rejects(a.write("to nobody"), Deno.errors.BrokenPipe);
   * ```
   */
  write(data: WriteData, options?: WaitOptions): Promise<number> {
    let bytes: Uint8Array;
    try {
      this.#checkStream("write()");
      bytes = bytesOf(data);
    } catch (e) {
      return rejectedNow(e);
    }
    const progress = { written: 0 };
    const length = bytes.byteLength;
    const op: Operation<number> = {
      syscall: "send",
      subject: this.subject,
      attempt: () => {
        checkUnchanged(bytes, length);
        return this.#writeSome(bytes, progress);
      },
      retry: () => {
        checkUnchanged(bytes, length);
        return this.#writeWhenRoom(bytes, progress);
      },
      source: this.#writeReady,
    };
    return this.#turns.run(
      "send",
      (options) =>
        wait(
          op,
          options,
          this.#out,
          writeErrors(options?.signal, progress, bytes.byteLength, "send", this.subject),
        ),
      options,
      () => progress.written === bytes.byteLength,
    );
  }

  /**
   * Writes all of `data`, blocking the thread while the socket's buffer is full.
   * It does not wait for async writes pending on this connection: its bytes may
   * land between theirs, or inside one the socket took in part.
   *
   * Wraps `send(2)` with `MSG_NOSIGNAL`, and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param data bytes, or a string written as UTF-8
   * @param options `timeout` in milliseconds (bytes already sent stay sent;
   *   the error's `bytesWritten` says how many)
   * @returns the number of bytes written: all of them
   * @throws {TypeError} on a seqpacket or datagram connection, or when `data` is neither a Uint8Array nor a string
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.BrokenPipe} when the peer has closed
   * @throws {Deno.errors.ConnectionReset} when the peer reset the connection
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * const [a, b] = pair;
   * assert.equal(a.writeSync(new Uint8Array(100)), 100);
   * ```
   */
  writeSync(data: WriteData, options?: SyncWaitOptions): number {
    try {
      return waitSync(this.#sharedWrite(data), options, this.#out);
    } catch (e) {
      throw withProgress(e, this.#progress.written);
    } finally {
      this.#bytes = NO_BYTES;
    }
  }

  /**
   * Writes as much of `data` as the socket takes now, without waiting, even
   * while async writes are pending on this connection (its bytes may land
   * between theirs, or inside one the socket took in part).
   *
   * Wraps `send(2)` with `MSG_NOSIGNAL`. Needs `--allow-ffi`.
   *
   * @param data bytes, or a string written as UTF-8
   * @returns the number of bytes written (maybe fewer than `data` holds)
   * @throws {Deno.errors.WouldBlock} when not one byte could be written
   * @throws {TypeError} on a seqpacket or datagram connection, or when `data` is neither a Uint8Array nor a string
   * @throws {Deno.errors.BrokenPipe} when the peer has closed
   * @throws {Deno.errors.ConnectionReset} when the peer reset the connection
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * const [a, b] = pair;
   * assert.equal(a.tryWrite("now"), 3);
   * ```
   */
  tryWrite(data: WriteData): number {
    const op = this.#sharedWrite(data);
    const progress = this.#progress;
    try {
      // As send(2) does: whatever went, or WouldBlock when not one byte could.
      return tryNow({
        ...op,
        attempt: () => op.attempt() === AGAIN && progress.written === 0 ? AGAIN : progress.written,
      });
    } finally {
      this.#bytes = NO_BYTES;
    }
  }

  /**
   * The bytes that arrive, as a stream (like `Deno.Conn.readable`). It ends at
   * end of stream; unlike Deno's, it never closes the connection, whose other
   * direction may still be in use: close it (or `using`) when done. Cancelling
   * it (or a `pipeTo` that gives up) ends the read it has waiting, so later
   * bytes are left for `read()`; the stream itself stays done. So a proxy
   * piping two connections into each other closes both itself, once both
   * pipes have settled or as soon as one fails: a pipe whose source failed
   * still waits for its write into a peer that never reads. A default
   * reader gets each chunk in a buffer of its own, of the size received (in a
   * transfer of bulk, the 64 KiB buffer it was received into, at least a
   * quarter full); a BYOB reader gets the bytes in its own buffer.
   *
   * Wraps `recv(2)`. Needs `--allow-ffi`.
   *
   * @throws {TypeError} on a seqpacket or datagram connection
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * const [a, b] = pair;
   * await a.write("streamed");
   * a.shutdown("write");
   * assert.equal(await new Response(b.readable).text(), "streamed");
   * ```
   */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#checkStream("readable");
    if (this.#readable === undefined) {
      const chunk = this.#chunkOp(true);
      this.#readable = byteReadable(
        (view, signal) => this.read(view, { signal }),
        (signal) => wait(chunk, { signal }, this.#in),
      );
    }
    return this.#readable;
  }

  /**
   * A sink for bytes to send (like `Deno.Conn.writable`); each chunk is written
   * with {@link Connection.write}. Closing the stream shuts the connection
   * down for writing (the peer reads end of stream) and leaves reading open;
   * aborting it (which ends the write in progress) or a write that fails
   * closes the connection.
   *
   * Wraps `send(2)` and `shutdown(2)`. Needs `--allow-ffi`.
   *
   * @throws {TypeError} on a seqpacket or datagram connection
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * const [a, b] = pair;
   * await ReadableStream.from([new TextEncoder().encode("piped")]).pipeTo(a.writable);
   * assert.equal(await new Response(b.readable).text(), "piped");
   * ```
   */
  get writable(): WritableStream<Uint8Array> {
    this.#checkStream("writable");
    return this.#writable ??= chunkWritable(
      (chunk, signal) => this.write(chunk, { signal }),
      // After the writes still going out (a write() before the stream's): they are whole.
      () => this.#turns.idle().then(() => this.shutdown("write")),
      () => this.close(),
    );
  }

  // ------------------------------------------------- messages (seqpacket, datagram)
  //
  // One send(2) is one message, one recv(2) takes one. Messages with
  // ancillary data (descriptors, credentials) are the sendmsg(2)/recvmsg(2)
  // forms of these, on the same contexts (#in, #out) and sources.

  /** Sends one message, or AGAIN. With `waits`, waits for room in the call (AGAIN when interrupted). */
  #sendMessage(bytes: Uint8Array, waits = false): void | typeof AGAIN {
    const fd = this.fdFor("send");
    const flags = waits ? C.MSG_NOSIGNAL : C.MSG_NOSIGNAL | DONTWAIT;
    for (;;) {
      if (libc.send(fd, bytes, bytes.byteLength, flags) >= 0) return;
      if (
        sendFailed("send", this.subject, bytes.byteLength, this.#domain === C.AF_UNIX) === AGAIN ||
        waits
      ) return AGAIN;
    }
  }

  #checkSend(data: WriteData): Uint8Array {
    this.#checkMessages("send()");
    const bytes = bytesOf(data);
    if (bytes.byteLength > MAX_IO) {
      throw new RangeError(`message is ${bytes.byteLength} bytes; the limit is ${MAX_IO}`);
    }
    if (bytes.byteLength === 0 && this.#kind === "seqpacket") {
      throw new RangeError(
        "an empty message on a seqpacket connection would read as end of stream at the peer",
      );
    }
    return bytes;
  }

  #sharedSend(data: WriteData): Operation<void> {
    this.#bytes = this.#checkSend(data);
    return this.#syncSend ??= {
      syscall: "send",
      subject: this.subject,
      attempt: () => this.#sendMessage(this.#bytes),
      source: this.#writeReady,
      block: (deadline) =>
        this.#blocking.wait(deadline, () => this.#sendMessage(this.#bytes, true), this.#writeReady),
    };
  }

  /**
   * Sends one message, waiting while the socket's buffer is full, without
   * blocking the event loop. The peer receives it whole, as one message.
   *
   * Wraps `send(2)` with `MSG_NOSIGNAL`. Needs `--allow-ffi`.
   *
   * @param data the message: bytes, or a string sent as UTF-8
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns a promise that resolves once the message is sent
   * @throws {TypeError} on a stream connection, when `data` is neither bytes
   *   nor a string, or `signal` not an AbortSignal; when `data`'s buffer is
   *   detached or resized while the send waits (nothing is sent)
   * @throws {RangeError} for an empty message on a seqpacket connection (the
   *   peer would read it as end of stream), or a `timeout` that is not ≥ 0
   * @throws {Deno.errors.BrokenPipe} when the peer has closed (seqpacket)
   * @throws {Deno.errors.ConnectionRefused} when the peer has closed (Unix datagram: the
   *   kernel then forgets the peer, and later sends throw `Deno.errors.NotConnected`), or an
   *   ICMP refusal came back for a datagram sent before (UDP: reported once; the socket
   *   stays connected)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the connection is (or gets) closed
   * @throws {IpcError} EMSGSIZE when the message is larger than a datagram can be (a Unix
   *   socket's send buffer; 65507 bytes over UDP/IPv4, 65527 over IPv6)
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("seqpacket");
   * const [a, b] = pair;
   * await a.send("one");
   * await a.send("two");
   * assert.equal(new TextDecoder().decode((await b.receive())!), "one");
   * assert.equal(new TextDecoder().decode((await b.receive())!), "two");
   * ```
   */
  send(data: WriteData, options?: WaitOptions): Promise<void> {
    try {
      const bytes = this.#checkSend(data);
      const length = bytes.byteLength;
      const op: Operation<void> = {
        syscall: "send",
        subject: this.subject,
        attempt: () => {
          checkUnchanged(bytes, length);
          return this.#sendMessage(bytes);
        },
        source: this.#writeReady,
      };
      return wait(op, options, this.#out);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Sends one message, blocking the thread while the socket's buffer is full.
   *
   * Wraps `send(2)` with `MSG_NOSIGNAL`, and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param data the message: bytes, or a string sent as UTF-8
   * @param options `timeout` in milliseconds
   * @throws {TypeError} on a stream connection, or when `data` is neither bytes nor a string
   * @throws {RangeError} for an empty message on a seqpacket connection, or a `timeout` that is not ≥ 0
   * @throws {Deno.errors.BrokenPipe} when the peer has closed (seqpacket)
   * @throws {Deno.errors.ConnectionRefused} when the peer has closed (Unix datagram: the
   *   kernel then forgets the peer, and later sends throw `Deno.errors.NotConnected`), or an
   *   ICMP refusal came back for a datagram sent before (UDP: reported once; the socket
   *   stays connected)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {IpcError} EMSGSIZE when the message is larger than a datagram can be (a Unix
   *   socket's send buffer; 65507 bytes over UDP/IPv4, 65527 over IPv6)
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("datagram");
   * const [a, b] = pair;
   * a.sendSync(new Uint8Array([1, 2, 3]));
   * assert.deepEqual(b.receiveSync(), new Uint8Array([1, 2, 3]));
   * ```
   */
  sendSync(data: WriteData, options?: SyncWaitOptions): void {
    try {
      waitSync(this.#sharedSend(data), options, this.#out);
    } finally {
      this.#bytes = NO_BYTES;
    }
  }

  /**
   * Sends one message if the socket takes it now, without waiting.
   *
   * Wraps `send(2)` with `MSG_NOSIGNAL`. Needs `--allow-ffi`.
   *
   * @param data the message: bytes, or a string sent as UTF-8
   * @throws {Deno.errors.WouldBlock} when the socket's buffer (or the peer's queue) is full
   * @throws {TypeError} on a stream connection, or when `data` is neither bytes nor a string
   * @throws {RangeError} for an empty message on a seqpacket connection
   * @throws {Deno.errors.BrokenPipe} when the peer has closed (seqpacket)
   * @throws {Deno.errors.ConnectionRefused} when the peer has closed (Unix datagram: the
   *   kernel then forgets the peer, and later sends throw `Deno.errors.NotConnected`), or an
   *   ICMP refusal came back for a datagram sent before (UDP: reported once; the socket
   *   stays connected)
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {IpcError} EMSGSIZE when the message is larger than a datagram can be (a Unix
   *   socket's send buffer; 65507 bytes over UDP/IPv4, 65527 over IPv6)
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("seqpacket");
   * const [a, b] = pair;
   * a.trySend("now");
   * assert.equal(new TextDecoder().decode(b.tryReceive()!), "now");
   * ```
   */
  trySend(data: WriteData): void {
    try {
      tryNow(this.#sharedSend(data));
    } finally {
      this.#bytes = NO_BYTES;
    }
  }

  /**
   * Takes one message as an array of its size: null at end of stream
   * (seqpacket), or AGAIN. With `waits`, waits for one in the call (AGAIN
   * when interrupted).
   */
  #receiveMessage(waits = false): Uint8Array<ArrayBuffer> | null | typeof AGAIN {
    const data = takeMessage(this.fdFor("recv"), "recv", this.subject, waits, recvMessage);
    if (data === AGAIN) return this.#readEnded();
    this.#empty = 0;
    return data.byteLength === 0 && this.#kind === "seqpacket" ? null : data;
  }

  /**
   * Takes one message into `buf`: its size, null at end of stream
   * (seqpacket), or AGAIN. With `waits`, waits for one in the call (AGAIN
   * when interrupted).
   */
  #receiveSome(buf: Uint8Array, waits = false): number | null | typeof AGAIN {
    const fd = this.fdFor("recv");
    const len = Math.min(buf.byteLength, MAX_IO);
    // MSG_TRUNC: the message's real length, so that a cut one is reported.
    const flags = waits ? C.MSG_TRUNC : C.MSG_TRUNC | DONTWAIT;
    for (;;) {
      const n = libc.recv(fd, buf, len, flags);
      if (n >= 0) {
        this.#empty = 0;
        if (n > len) throw truncatedError(n, len, "recv", this.subject);
        return n === 0 && this.#kind === "seqpacket" ? null : n;
      }
      if (failed("recv", this.subject) === AGAIN || waits) return this.#readEnded();
    }
  }

  /**
   * What a receive that found nothing returns: AGAIN, or null (the end) on a
   * datagram connection shut for reading, which the kernel calls readable
   * while a non-blocking receive finds nothing (a blocking one returns 0 then,
   * as it does here for seqpacket and stream connections). Shut here, it is
   * known; shut through another handle of its description (another process),
   * a wait keeps being woken to find nothing: after a few empty receives in a
   * row, `poll(2)` says whether the socket was shut (`POLLRDHUP`).
   */
  #readEnded(): null | typeof AGAIN {
    if (this.#kind !== "datagram") return AGAIN;
    if (!this.#readShut && ++this.#empty >= EMPTY_BEFORE_LOOK) {
      this.#empty = 0;
      // poll(2) takes POLL* bits: EPOLLRDHUP has the value of POLLRDHUP.
      this.#readShut = eventsNow(this.fdFor("recv"), C.EPOLLRDHUP);
    }
    return this.#readShut ? null : AGAIN;
  }

  #sharedReceive(): Operation<Uint8Array<ArrayBuffer> | null> {
    this.#checkMessages("receive()");
    return this.#syncReceive ??= {
      syscall: "recv",
      subject: this.subject,
      attempt: () => this.#receiveMessage(),
      source: this.#readReady,
      block: this.#receivesBlocking((deadline) =>
        this.#blocking.wait(deadline, () => this.#receiveMessage(true), this.#readReady)
      ),
    };
  }

  /**
   * Receives one message, waiting while none has arrived, without blocking
   * the event loop.
   *
   * Wraps `recv(2)`. Needs `--allow-ffi`.
   *
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns the message (an array of its size, which no later receive
   *   writes; small messages share one `ArrayBuffer`, and `slice()` gives one
   *   a buffer of its own), or `null` at end of
   *   stream: the peer of a seqpacket connection closed or shut down writing
   *   (a datagram connection ends only once `shutdown("read")` here, when the
   *   datagrams queued before are taken)
   * @throws {TypeError} on a stream connection, or when `signal` is not an AbortSignal
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.ConnectionReset} when the peer reset the connection
   * @throws {Deno.errors.ConnectionRefused} on UDP, when an ICMP refusal came back for a
   *   datagram sent before
   * @throws {Deno.errors.BadResource} when the connection is (or gets) closed
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const [a, b] = socketpair("seqpacket");
   * using _b = b;
   * a.sendSync("last");
   * a.close();
   * assert.equal(new TextDecoder().decode((await b.receive())!), "last");
   * assert.equal(await b.receive(), null);
   * ```
   */
  receive(options?: WaitOptions): Promise<Uint8Array<ArrayBuffer> | null> {
    try {
      return wait(this.#sharedReceive(), options, this.#in);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Receives one message, blocking the thread while none has arrived.
   *
   * Wraps `recv(2)` and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param options `timeout` in milliseconds
   * @returns the message, or `null` at end of stream (seqpacket)
   * @throws {TypeError} on a stream connection
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.ConnectionReset} when the peer reset the connection
   * @throws {Deno.errors.ConnectionRefused} on UDP, when an ICMP refusal came back for a
   *   datagram sent before
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("seqpacket");
   * const [a, b] = pair;
   * assert.throws(() => b.receiveSync({ timeout: 10 }), Deno.errors.TimedOut);
   * ```
   */
  receiveSync(options?: SyncWaitOptions): Uint8Array<ArrayBuffer> | null {
    return waitSync(this.#sharedReceive(), options, this.#in);
  }

  /**
   * Receives one message if one has arrived, without waiting.
   *
   * Wraps `recv(2)`. Needs `--allow-ffi`.
   *
   * @returns the message, or `null` at end of stream (seqpacket)
   * @throws {Deno.errors.WouldBlock} when no message has arrived
   * @throws {TypeError} on a stream connection
   * @throws {Deno.errors.ConnectionReset} when the peer reset the connection
   * @throws {Deno.errors.ConnectionRefused} on UDP, when an ICMP refusal came back for a
   *   datagram sent before
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("datagram");
   * const [a, b] = pair;
   * assert.throws(() => b.tryReceive(), Deno.errors.WouldBlock);
   * ```
   */
  tryReceive(): Uint8Array<ArrayBuffer> | null {
    return tryNow(this.#sharedReceive());
  }

  #receiveIntoOp(buf: Uint8Array): Operation<number | null> {
    this.#checkMessages("receiveInto()");
    return {
      syscall: "recv",
      subject: this.subject,
      attempt: checkingBuffer(buf, () => this.#receiveSome(buf)),
      source: this.#readReady,
    };
  }

  #sharedReceiveInto(buf: Uint8Array): Operation<number | null> {
    this.#checkMessages("receiveInto()");
    checkBuffer(buf);
    this.#buf = buf;
    return this.#syncReceiveInto ??= {
      syscall: "recv",
      subject: this.subject,
      attempt: () => this.#receiveSome(this.#buf),
      source: this.#readReady,
      block: this.#receivesBlocking((deadline) =>
        this.#blocking.wait(deadline, () => this.#receiveSome(this.#buf, true), this.#readReady)
      ),
    };
  }

  /**
   * Receives one message into `buf` (no allocation: the hot path), waiting
   * while none has arrived, without blocking the event loop. A message longer
   * than `buf` is taken, its first bytes left in `buf`, and reported: the
   * error's `messageSize` says how long it was.
   *
   * Wraps `recv(2)` with `MSG_TRUNC`. Needs `--allow-ffi`.
   *
   * @param buf where the message goes
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns the message's size, or `null` at end of stream (seqpacket; a datagram
   *   connection after `shutdown("read")`)
   * @throws {IpcError} EMSGSIZE when the message was longer than `buf`
   * @throws {TypeError} on a stream connection, when `buf` is not a Uint8Array, or `signal` not an AbortSignal
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the connection is (or gets) closed
   *
   * @example
   * ```ts
   * import { IpcError, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("seqpacket");
   * const [a, b] = pair;
   * const buf = new Uint8Array(4);
   * a.sendSync("ok");
   * assert.equal(await b.receiveInto(buf), 2);
   * a.sendSync("too long for it");
   * await assert.rejects(b.receiveInto(buf), (e) => e instanceof IpcError && e.code === "EMSGSIZE");
   * ```
   */
  receiveInto(buf: Uint8Array, options?: WaitOptions): Promise<number | null> {
    try {
      return wait(this.#receiveIntoOp(buf), options, this.#in);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Receives one message into `buf`, blocking the thread while none has arrived.
   *
   * Wraps `recv(2)` with `MSG_TRUNC`, and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param buf where the message goes
   * @param options `timeout` in milliseconds
   * @returns the message's size, or `null` at end of stream (seqpacket; a datagram
   *   connection after `shutdown("read")`)
   * @throws {IpcError} EMSGSIZE when the message was longer than `buf` (its first bytes are there)
   * @throws {TypeError} on a stream connection, or when `buf` is not a Uint8Array
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("datagram");
   * const [a, b] = pair;
   * a.sendSync(new Uint8Array(0)); // datagrams may be empty
   * assert.equal(b.receiveIntoSync(new Uint8Array(8)), 0);
   * ```
   */
  receiveIntoSync(buf: Uint8Array, options?: SyncWaitOptions): number | null {
    try {
      return waitSync(this.#sharedReceiveInto(buf), options, this.#in);
    } finally {
      this.#buf = NO_BYTES;
    }
  }

  /**
   * Receives one message into `buf` if one has arrived, without waiting.
   *
   * Wraps `recv(2)` with `MSG_TRUNC`. Needs `--allow-ffi`.
   *
   * @param buf where the message goes
   * @returns the message's size, or `null` at end of stream (seqpacket; a datagram
   *   connection after `shutdown("read")`)
   * @throws {Deno.errors.WouldBlock} when no message has arrived
   * @throws {IpcError} EMSGSIZE when the message was longer than `buf` (its first bytes are there)
   * @throws {TypeError} on a stream connection, or when `buf` is not a Uint8Array
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("seqpacket");
   * const [a, b] = pair;
   * a.sendSync("x");
   * assert.equal(b.tryReceiveInto(new Uint8Array(8)), 1);
   * ```
   */
  tryReceiveInto(buf: Uint8Array): number | null {
    try {
      return tryNow(this.#sharedReceiveInto(buf));
    } finally {
      this.#buf = NO_BYTES;
    }
  }

  // ------------------------------------------------------------ peeking (MSG_PEEK)

  /**
   * Copies into `buf` what a receive would take next, leaving it there: the
   * count (stream: the bytes copied; seqpacket and datagram: the message's
   * whole size, of which `buf` holds what fits), null at the end, or AGAIN.
   * With `waits`, waits in the call (AGAIN when interrupted).
   */
  #peekSome(buf: Uint8Array, waits = false): number | null | typeof AGAIN {
    const fd = this.fdFor("recv");
    const len = Math.min(buf.byteLength, MAX_IO);
    // MSG_TRUNC on a message gives its size; on a TCP stream it would discard the data.
    const peek = this.#kind === "stream" ? C.MSG_PEEK : C.MSG_PEEK | C.MSG_TRUNC;
    const flags = waits ? peek : peek | DONTWAIT;
    for (;;) {
      const n = libc.recv(fd, buf, len, flags);
      if (n >= 0) {
        this.#empty = 0;
        return n === 0 && this.#kind !== "datagram" ? null : n;
      }
      if (failed("recv", this.subject) === AGAIN || waits) return this.#readEnded();
    }
  }

  #peekOp(buf: Uint8Array, method: string): Operation<number | null> {
    const op = checkingBuffer(buf, () => this.#peekSome(buf));
    if (this.#kind === "stream" && buf.byteLength === 0) {
      throw new RangeError(
        `${method}: buf must hold at least one byte on a stream connection (an empty peek ` +
          "cannot tell data from the end of the stream)",
      );
    }
    return {
      syscall: "recv",
      subject: this.subject,
      attempt: op,
      source: this.#readReady,
      block: this.#receivesBlocking((deadline) =>
        this.#blocking.wait(deadline, () => this.#peekSome(buf, true), this.#readReady)
      ),
    };
  }

  /**
   * Copies into `buf` what the next read or receive would take, without
   * taking it, waiting while nothing has arrived, without blocking the event
   * loop: a protocol can look at a header before it chooses where the data
   * goes, or size its buffer to the next message. On a stream connection it
   * returns the bytes copied: at most `buf.length`, and more may be there. On
   * a seqpacket or datagram connection it returns the next message's whole
   * size, of which `buf` holds the first bytes (an empty `buf` asks the size
   * alone), and the message stays whole for the next receive.
   *
   * Wraps `recv(2)` with `MSG_PEEK` (and `MSG_TRUNC` on messages). Needs `--allow-ffi`.
   *
   * @param buf where the copy goes
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns the count (see above), or `null` at end of stream (a datagram
   *   connection after `shutdown("read")`)
   * @throws {TypeError} when `buf` is not a Uint8Array, or `signal` not an AbortSignal
   * @throws {RangeError} for an empty `buf` on a stream connection; when `timeout` is negative or NaN
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the connection is (or gets) closed
   *
   * @example Look at a length prefix, then take the whole record
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * const [a, b] = pair;
   * a.writeSync(new Uint8Array([3, 7, 8, 9]));
   * const header = new Uint8Array(1);
   * assert.equal(await b.peek(header), 1);
   * const record = new Uint8Array(1 + header[0]);
   * assert.equal(b.readSync(record), 4); // the header is still there
   * assert.deepEqual(record, new Uint8Array([3, 7, 8, 9]));
   * ```
   *
   * @example The size of the next message
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("seqpacket");
   * const [a, b] = pair;
   * a.sendSync("twelve bytes");
   * const size = await b.peek(new Uint8Array(0));
   * assert.equal(size, 12);
   * assert.equal(b.receiveIntoSync(new Uint8Array(size!)), 12);
   * ```
   */
  peek(buf: Uint8Array, options?: WaitOptions): Promise<number | null> {
    try {
      return wait(this.#peekOp(buf, "peek()"), options, this.#in);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Copies into `buf` what the next read or receive would take, without
   * taking it, blocking the thread while nothing has arrived. Returns what
   * {@link Connection.peek} returns.
   *
   * Wraps `recv(2)` with `MSG_PEEK` (and `MSG_TRUNC` on messages), and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param buf where the copy goes
   * @param options `timeout` in milliseconds
   * @returns the bytes copied (stream) or the next message's size, or `null` at end of stream
   * @throws {TypeError} when `buf` is not a Uint8Array
   * @throws {RangeError} for an empty `buf` on a stream connection; when `timeout` is negative or NaN
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("datagram");
   * const [a, b] = pair;
   * a.sendSync("hello");
   * const first = new Uint8Array(2);
   * assert.equal(b.peekSync(first), 5); // its size; "he" in first
   * assert.equal(new TextDecoder().decode(b.receiveSync()!), "hello");
   * ```
   */
  peekSync(buf: Uint8Array, options?: SyncWaitOptions): number | null {
    return waitSync(this.#peekOp(buf, "peekSync()"), options, this.#in);
  }

  /**
   * Copies into `buf` what the next read or receive would take, without
   * taking it, if anything has arrived. Returns what {@link Connection.peek}
   * returns.
   *
   * Wraps `recv(2)` with `MSG_PEEK` (and `MSG_TRUNC` on messages). Needs `--allow-ffi`.
   *
   * @param buf where the copy goes
   * @returns the bytes copied (stream) or the next message's size, or `null` at end of stream
   * @throws {Deno.errors.WouldBlock} when nothing has arrived
   * @throws {TypeError} when `buf` is not a Uint8Array
   * @throws {RangeError} for an empty `buf` on a stream connection
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * const [a, b] = pair;
   * assert.throws(() => b.tryPeek(new Uint8Array(8)), Deno.errors.WouldBlock);
   * a.writeSync("abc");
   * assert.equal(b.tryPeek(new Uint8Array(8)), 3);
   * assert.equal(b.tryPeek(new Uint8Array(8)), 3); // still there
   * ```
   */
  tryPeek(buf: Uint8Array): number | null {
    return tryNow(this.#peekOp(buf, "tryPeek()"));
  }

  // ------------------------------------------ descriptors (SCM_RIGHTS) and credentials
  //
  // sendmsg(2)/recvmsg(2) with ancillary data, on the same contexts (#in,
  // #out) and sources as the plain forms. On a stream the descriptors travel
  // with the first byte of their data; the rest of it is sent as write() does.

  #checkUnix(method: string): void {
    if (this.#domain !== C.AF_UNIX) {
      throw new TypeError(`${method} applies to Unix sockets, not to ${this.#kindText()}`);
    }
  }

  /** The send of `fds` with `data` as an operation; `progress` says how far it got. */
  #sendFdsOp(
    method: string,
    fds: readonly FdSource[],
    data: WriteData | undefined,
    progress: FdSendProgress,
  ): Operation<number> {
    this.#checkUnix(method);
    const list = checkFds(fds, method);
    const bytes = data === undefined ? FD_CARRIER : bytesOf(data);
    if (bytes.byteLength === 0 && this.#kind !== "datagram") {
      throw new RangeError(
        `${method}: descriptors travel with at least one byte of data on a ${this.#kind} ` +
          "connection: leave data out to send one zero byte",
      );
    }
    if (this.#kind !== "stream" && bytes.byteLength > MAX_IO) {
      throw new RangeError(`message is ${bytes.byteLength} bytes; the limit is ${MAX_IO}`);
    }
    // The handles as given: each try reads their fds again (see refreshFds).
    const sources = Array.from(fds);
    const length = bytes.byteLength;
    return {
      syscall: "sendmsg",
      subject: this.subject,
      attempt: () => {
        checkUnchanged(bytes, length);
        return this.#sendFdsSome(sources, list, bytes, progress);
      },
      source: this.#writeReady,
    };
  }

  /** Sends the descriptors with the first bytes, then (stream) the rest: all sent, or AGAIN. */
  #sendFdsSome(
    sources: readonly FdSource[],
    fds: Int32Array,
    bytes: Uint8Array,
    progress: FdSendProgress,
  ): number | typeof AGAIN {
    const fd = this.fdFor("sendmsg");
    if (!progress.fdsSent) {
      refreshFds(sources, fds);
      const first = bytes.byteLength > MAX_IO ? bytes.subarray(0, MAX_IO) : bytes;
      const n = sendWithFds(fd, first, fds, this.subject);
      if (n === AGAIN) return AGAIN;
      progress.fdsSent = true;
      progress.written = n;
      if (this.#kind !== "stream") return n;
    }
    return this.#writeSome(bytes, progress);
  }

  #checkMaxBytes(maxBytes: unknown): number {
    if (this.#kind !== "stream") {
      if (maxBytes !== undefined) {
        throw new TypeError(
          `maxBytes applies to stream connections; a ${this.#kind} message is received whole`,
        );
      }
      return 0;
    }
    if (maxBytes === undefined) return STREAM_SCRATCH;
    return checkInteger(maxBytes, "maxBytes", 1, MAX_IO);
  }

  #receiveFdsOp(
    method: string,
    options: ReceiveFdsLimits | undefined,
  ): Operation<ReceivedFds | null> {
    this.#checkUnix(method);
    const o = checkOptions(options);
    const max = checkMax(o.max);
    const maxBytes = this.#checkMaxBytes(o.maxBytes);
    return {
      syscall: "recvmsg",
      subject: this.subject,
      attempt: () => this.#receiveFdsOnce(max, maxBytes),
      source: this.#readReady,
    };
  }

  /** One receive with descriptors: what came, null at end of stream, or AGAIN. */
  #receiveFdsOnce(max: number, maxBytes: number): ReceivedFds | null | typeof AGAIN {
    const fd = this.fdFor("recvmsg");
    const stream = this.#kind === "stream";
    let buf: Uint8Array<ArrayBuffer>;
    if (stream) {
      buf = receiveBuffer(maxBytes);
    } else {
      // The next message's length; it stays queued with its descriptors.
      const size = nextMessageSize(fd, "recv", this.subject);
      if (size === AGAIN) return this.#readEnded();
      buf = messageArea(size);
    }
    const got = receiveWithFds(fd, buf, max, stream ? 0 : C.MSG_TRUNC, this.subject);
    if (got === AGAIN) return this.#readEnded();
    this.#empty = 0;
    if (got.size > buf.byteLength) {
      for (const received of got.fds) libc.close(received);
      throw truncatedError(got.size, buf.byteLength, "recvmsg", this.subject, true);
    }
    if (got.size === 0 && got.fds.length === 0 && !got.truncated && this.#kind !== "datagram") {
      return null;
    }
    const data = stream ? buf.slice(0, got.size) : keepMessage(buf, got.size);
    return receivedFdsOf(got.fds, data, got.truncated);
  }

  /**
   * Sends descriptors to the process at the other end (`SCM_RIGHTS`), with
   * `data`, without blocking the event loop. The peer gets its own copies of
   * them (the same open files, as `dup(2)` would give); this process's stay
   * open, and are still its own to close. Pipes, FIFOs, POSIX queues and
   * signal readers go as `spawn` hands them over: blocking, on a description
   * of their own, so a peer that changes `O_NONBLOCK` on its copy cannot make
   * this process's calls wait (one that cannot be opened again through
   * `/proc/self/fd` goes as it is).
   *
   * Descriptors travel with data: on a stream connection they arrive with
   * the first byte of `data`, on a message connection with the message. With
   * `data` left out, one zero byte carries them (the receiver gets it as its
   * `data`). On a stream, all of `data` is written, as `write()` does.
   *
   * Wraps `sendmsg(2)` with `MSG_NOSIGNAL`. Needs `--allow-ffi`.
   *
   * @param fds 1 to 253 descriptors: fd numbers, or handles with an `fd`
   *   (`FdReader`, `FdWriter`, `Connection`, `Listener`, `PosixSharedMemory`...)
   * @param data bytes, or a string sent as UTF-8; not empty, except on a
   *   datagram connection. Default: one zero byte
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns the number of bytes of data sent: all of them
   * @throws {TypeError} on a TCP connection; when `fds` is not an array, or
   *   one of them is neither a number nor a handle with an fd; when `data` is
   *   neither bytes nor a string, or `signal` not an AbortSignal;
   *   when `data`'s buffer is detached or resized while the send waits
   * @throws {RangeError} for no descriptors or more than 253, a number in `fds`
   *   that is not an integer 0..2^31-1, empty `data` on a stream or seqpacket
   *   connection, or a `timeout` that is not ≥ 0
   * @throws {Deno.errors.BadResource} when a descriptor in `fds` is not open or
   *   a closed handle, also one closed while the send waits (the error's `fd`
   *   names it), or the connection is (or gets) closed
   * @throws {Deno.errors.BrokenPipe} when the peer has closed
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.Interrupted} when `signal` aborts after part of a
   *   stream's `data` was sent (the descriptors went with it)
   * @throws {IpcError} ETOOMANYREFS when too many descriptors are in flight
   *
   * @example Hand a pipe's writing end over
   * ```ts
   * import { pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * using p = pipe();
   * assert.equal(await pair[0].sendFds([p.writer], "take this"), 9);
   * using received = (await pair[1].receiveFds({ timeout: 1000 }))!;
   * assert.equal(new TextDecoder().decode(received.data), "take this");
   * assert.equal(received.fds.length, 1);
   * ```
   */
  async sendFds(
    fds: readonly FdSource[],
    data?: WriteData,
    options?: WaitOptions,
  ): Promise<number> {
    const progress = { fdsSent: false, written: 0 };
    const op = this.#sendFdsOp("sendFds()", fds, data, progress);
    try {
      // On a stream, the data after the first bytes may wait for room: in turn with write().
      return await (this.#kind === "stream"
        ? this.#turns.run(
          "sendmsg",
          (options) => wait(op, options, this.#out),
          options,
          () => false,
        )
        : wait(op, options, this.#out));
    } catch (e) {
      if (!progress.fdsSent) throw e;
      if (e !== options?.signal?.reason) throw withProgress(e, progress.written);
      const what = `sendmsg${describeSubject(this.subject)} aborted after the descriptors and ` +
        `${progress.written} bytes were sent`;
      const cut = new Deno.errors.Interrupted(what, { cause: e });
      throw withProgress(
        Object.assign(cut, this.subject, { syscall: "sendmsg" }),
        progress.written,
      );
    }
  }

  /**
   * Sends descriptors with `data`, blocking the thread while the socket's
   * buffer is full. See {@link Connection.sendFds}.
   *
   * Wraps `sendmsg(2)` with `MSG_NOSIGNAL`, and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param fds 1 to 253 descriptors: fd numbers, or handles with an `fd`
   * @param data bytes or a string; not empty, except on a datagram
   *   connection. Default: one zero byte
   * @param options `timeout` in milliseconds (on a stream, bytes already sent
   *   stay sent: the error's `bytesWritten` says how many)
   * @returns the number of bytes of data sent: all of them
   * @throws {TypeError} on a TCP connection, or for an `fds` entry that is neither a number nor
   *   a handle with an fd, bad `data`
   * @throws {RangeError} for no descriptors or more than 253, a number in `fds` that is not an
   *   integer 0..2^31-1, empty `data` on a stream or seqpacket connection, or a `timeout` that
   *   is not ≥ 0
   * @throws {Deno.errors.BadResource} when a descriptor in `fds` is not open or a closed
   *   handle, or after `close()`
   * @throws {Deno.errors.BrokenPipe} when the peer has closed
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   *
   * @example
   * ```ts
   * import { pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("seqpacket");
   * using p = pipe();
   * assert.equal(pair[0].sendFdsSync([p.reader, p.writer], "two"), 3);
   * using received = pair[1].receiveFdsSync()!;
   * assert.equal(received.fds.length, 2);
   * ```
   */
  sendFdsSync(fds: readonly FdSource[], data?: WriteData, options?: SyncWaitOptions): number {
    const progress = { fdsSent: false, written: 0 };
    try {
      return waitSync(this.#sendFdsOp("sendFdsSync()", fds, data, progress), options, this.#out);
    } catch (e) {
      throw progress.fdsSent ? withProgress(e, progress.written) : e;
    }
  }

  /**
   * Sends descriptors with `data` if the socket takes them now, without
   * waiting. On a stream, as much of `data` as the socket takes goes (the
   * descriptors with its first byte), as `tryWrite` does.
   *
   * Wraps `sendmsg(2)` with `MSG_NOSIGNAL`. Needs `--allow-ffi`.
   *
   * @param fds 1 to 253 descriptors: fd numbers, or handles with an `fd`
   * @param data bytes or a string; not empty, except on a datagram
   *   connection. Default: one zero byte
   * @returns the number of bytes of data sent (on a stream, maybe fewer than `data` holds)
   * @throws {Deno.errors.WouldBlock} when the socket took nothing: the descriptors were not sent
   * @throws {TypeError} on a TCP connection, or for an `fds` entry that is neither a number nor
   *   a handle with an fd, bad `data`
   * @throws {RangeError} for no descriptors or more than 253, a number in `fds` that is not an
   *   integer 0..2^31-1, or empty `data` on a stream or seqpacket connection
   * @throws {Deno.errors.BadResource} when a descriptor in `fds` is not open or a closed
   *   handle, or after `close()`
   * @throws {Deno.errors.BrokenPipe} when the peer has closed
   *
   * @example
   * ```ts
   * import { pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("datagram");
   * using p = pipe();
   * assert.equal(pair[0].trySendFds([p.reader.fd], new Uint8Array(0)), 0);
   * using received = pair[1].tryReceiveFds()!;
   * assert.deepEqual([received.data.length, received.fds.length], [0, 1]);
   * ```
   */
  trySendFds(fds: readonly FdSource[], data?: WriteData): number {
    const progress = { fdsSent: false, written: 0 };
    const op = this.#sendFdsOp("trySendFds()", fds, data, progress);
    // As send(2) does: whatever went, or WouldBlock when nothing (and no descriptor) could.
    return tryNow({
      ...op,
      attempt: () => {
        const r = op.attempt();
        return r !== AGAIN ? r : progress.fdsSent ? progress.written : AGAIN;
      },
    });
  }

  /**
   * Receives descriptors sent with `sendFds` (`SCM_RIGHTS`) and the data
   * they came with, waiting while nothing has arrived, without blocking the
   * event loop. The descriptors are installed close-on-exec
   * (`MSG_CMSG_CLOEXEC`) and held by the result until taken (as handles, or
   * bare numbers): dispose of it (`using`) and those not taken are closed.
   *
   * On a stream, a receive takes the bytes that have arrived, up to
   * `maxBytes`, and ends at the latest with the data descriptors came with:
   * bytes sent without descriptors before them come in the same result (the
   * kernel joins them), and bytes after the last descriptors give results with
   * none. To keep them apart, send descriptors with the first bytes. A plain
   * `read()` that reaches bytes sent with descriptors drops those descriptors
   * (the kernel closes them): read them with `receiveFds`. On a message
   * connection each receive takes one whole message.
   *
   * More descriptors than `max` are never kept: the kernel closes the rest
   * (a few that find room are closed at once), and `truncated` is true; so it
   * is when this process has no descriptor numbers left (`RLIMIT_NOFILE`) for
   * all of them. Credentials the kernel adds on a socket with `SO_PASSCRED`
   * (set by a process that handed it over) take no room from them.
   *
   * Wraps `recvmsg(2)` with `MSG_CMSG_CLOEXEC`. Needs `--allow-ffi`.
   *
   * @param options `max` descriptors (default 253), `maxBytes` (streams),
   *   `signal` to cancel, `timeout` in milliseconds
   * @returns the data and descriptors, or `null` at end of stream (the peer
   *   of a stream or seqpacket connection closed or shut down writing)
   * @throws {TypeError} on a TCP connection, `maxBytes` on a message
   *   connection, `options` that is not an object, a `max` or `maxBytes` that
   *   is not a number, or a `signal` that is not an AbortSignal
   * @throws {RangeError} for `max` not an integer 0..253, `maxBytes` not an integer
   *   1..2147479552, or a `timeout` that is not ≥ 0
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the connection is (or gets) closed
   *
   * @example More descriptors than asked for
   * ```ts
   * import { pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("seqpacket");
   * using p = pipe();
   * await pair[0].sendFds([p.reader, p.writer, p.reader]);
   * using received = (await pair[1].receiveFds({ max: 1 }))!;
   * assert.equal(received.fds.length, 1);
   * assert.equal(received.truncated, true); // the kernel closed the other two
   * ```
   */
  receiveFds(options?: ConnectionReceiveFdsOptions): Promise<ReceivedFds | null> {
    try {
      return wait(this.#receiveFdsOp("receiveFds()", options), options, this.#in);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Receives descriptors and the data they came with, blocking the thread
   * while nothing has arrived. See {@link Connection.receiveFds}.
   *
   * Wraps `recvmsg(2)` with `MSG_CMSG_CLOEXEC`, and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param options `max` descriptors (default 253), `maxBytes` (streams), `timeout` in milliseconds
   * @returns the data and descriptors, or `null` at end of stream
   * @throws {TypeError} on a TCP connection, `maxBytes` on a message connection, `options` that
   *   is not an object, or a `max` or `maxBytes` that is not a number
   * @throws {RangeError} for `max` not an integer 0..253, `maxBytes` not an integer 1..2147479552,
   *   or a `timeout` that is not ≥ 0
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * assert.throws(() => pair[1].receiveFdsSync({ timeout: 10 }), Deno.errors.TimedOut);
   * ```
   */
  receiveFdsSync(options?: ReceiveFdsSyncOptions): ReceivedFds | null {
    return waitSync(this.#receiveFdsOp("receiveFdsSync()", options), options, this.#in);
  }

  /**
   * Receives descriptors and the data they came with if something has
   * arrived, without waiting. See {@link Connection.receiveFds}.
   *
   * Wraps `recvmsg(2)` with `MSG_CMSG_CLOEXEC`. Needs `--allow-ffi`.
   *
   * @param options `max` descriptors (default 253), `maxBytes` (streams)
   * @returns the data and descriptors, or `null` at end of stream
   * @throws {Deno.errors.WouldBlock} when nothing has arrived
   * @throws {TypeError} on a TCP connection, `maxBytes` on a message connection, `options` that
   *   is not an object, or a `max` or `maxBytes` that is not a number
   * @throws {RangeError} for `max` not an integer 0..253, or `maxBytes` not an integer 1..2147479552
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("seqpacket");
   * assert.throws(() => pair[1].tryReceiveFds(), Deno.errors.WouldBlock);
   * ```
   */
  tryReceiveFds(options?: ReceiveFdsLimits): ReceivedFds | null {
    return tryNow(this.#receiveFdsOp("tryReceiveFds()", options));
  }

  /**
   * Who is at the other end: the process id, user id and group id the
   * kernel recorded when the connection was made (`connect(2)`, or
   * `socketpair(2)`: then both ends report the process that made the pair,
   * even after one end was handed to another process). Works on both ends
   * of a Unix stream or seqpacket connection, and of any socketpair.
   *
   * Wraps `getsockopt(2)` (`SO_PEERCRED`). Needs `--allow-ffi`.
   *
   * @returns `{ pid, uid, gid }` of the peer (effective ids); `pid` is 0 when
   *   the peer's process is outside this process's PID namespace (a
   *   container's, say), as C's `getsockopt` gives it
   * @throws {TypeError} on a TCP connection, or a datagram socket connected
   *   with `connect` (the kernel records no credentials for those)
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { connect, listen } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `libc-ipc-doc-${Deno.pid}-peercred`;
   * using listener = listen({ abstract: name });
   * using client = await connect({ abstract: name });
   * using server = await listener.accept();
   * assert.equal(server.peerCredentials().pid, Deno.pid);
   * assert.deepEqual(server.peerCredentials(), client.peerCredentials());
   * ```
   */
  peerCredentials(): PeerCredentials {
    this.#checkUnix("peerCredentials()");
    const peer = peerCredentialsOf(this.fdFor("getsockopt"), this.subject);
    // The kernel's answer when it recorded nothing: no pid, and uid and gid (uid_t)-1. A pid 0
    // with ids is a peer this process's PID namespace cannot see (a container's).
    if (peer.pid === 0 && peer.uid === NO_ID) {
      throw new TypeError(
        "peerCredentials(): the kernel recorded no credentials for this connection: a datagram " +
          "socket connected with connect() has none",
      );
    }
    return peer;
  }

  // ------------------------------------------------------------ the rest

  /**
   * Shuts the connection down in one direction or both, without closing the
   * descriptor: after `"write"` the peer reads end of stream (a TCP FIN) and
   * this side may still read; after `"read"` reads here return end of stream
   * (on a datagram connection, receives return `null` once the datagrams
   * queued before are taken).
   *
   * Wraps `shutdown(2)`. Needs `--allow-ffi`.
   *
   * @param how `"read"`, `"write"` or `"readwrite"`
   * @throws {TypeError} when `how` is not one of those
   * @throws {Deno.errors.NotConnected} when the connection is no longer connected (ENOTCONN)
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * const [a, b] = pair;
   * a.shutdown("write");
   * assert.equal(b.readSync(new Uint8Array(1)), null); // end of stream
   * b.writeSync("still open this way");
   * assert.equal(a.readSync(new Uint8Array(64)), 19);
   * ```
   */
  shutdown(how: ShutdownHow): void {
    // Only a string is looked up: a key of another type is converted first, which may throw.
    const value = typeof how === "string" && Object.hasOwn(SHUT, how) ? SHUT[how] : undefined;
    if (value === undefined) {
      throw new TypeError(`how must be "read", "write" or "readwrite", got ${shown(how)}`);
    }
    const fd = this.fdFor("shutdown");
    ok(libc.shutdown(fd, value), "shutdown", this.subject);
    if (value !== C.SHUT_WR) this.#readShut = true;
    // A pending write or send then fails with EPIPE, which epoll does not say on a Unix socket.
    if (value !== C.SHUT_RD) fdEngine.retry(fd, WRITABLE);
  }

  #checkTcp(method: string): number {
    if (this.#domain === C.AF_UNIX || this.#kind !== "stream") {
      throw new TypeError(`${method} applies to TCP connections, not to ${this.#kindText()}`);
    }
    return this.fdFor("setsockopt");
  }

  /** "a Unix seqpacket connection", "a TCP connection", "a UDP connection": for messages. */
  #kindText(): string {
    if (this.#domain === C.AF_UNIX) return `a Unix ${this.#kind} connection`;
    return this.#kind === "stream" ? "a TCP connection" : "a UDP connection";
  }

  /**
   * Turns Nagle's algorithm off (`true`, the default) or on: with it off,
   * small writes go out at once instead of being gathered.
   *
   * Wraps `setsockopt(2)` (`TCP_NODELAY`). Needs `--allow-ffi`.
   *
   * @param on whether to send small writes at once
   * @throws {TypeError} on a Unix connection, or when `on` is not a boolean
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { connect, listen } from "@libc/ipc";
   * using listener = listen({ port: 0 });
   * const addr = listener.addr as { hostname: string; port: number };
   * using conn = await connect({ hostname: addr.hostname, port: addr.port });
   * using _server = await listener.accept();
   * conn.setNoDelay(true);
   * ```
   */
  setNoDelay(on = true): void {
    const fd = this.#checkTcp("setNoDelay");
    const value = checkBoolean(on, "on", true);
    setIntOption(fd, C.IPPROTO_TCP, C.TCP_NODELAY, value ? 1 : 0, this.subject);
  }

  /**
   * Turns TCP keep-alive probes on (`true`, the default) or off, so that a
   * peer that vanished without a word is found out after the system's
   * keep-alive time (`/proc/sys/net/ipv4/tcp_keepalive_time`).
   *
   * Wraps `setsockopt(2)` (`SO_KEEPALIVE`). Needs `--allow-ffi`.
   *
   * @param on whether to send keep-alive probes
   * @throws {TypeError} on a Unix connection, or when `on` is not a boolean
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { connect, listen } from "@libc/ipc";
   * using listener = listen({ hostname: "::1", port: 0 });
   * const addr = listener.addr as { hostname: string; port: number };
   * using conn = await connect({ hostname: addr.hostname, port: addr.port });
   * using _server = await listener.accept();
   * conn.setKeepAlive();
   * ```
   */
  setKeepAlive(on = true): void {
    const fd = this.#checkTcp("setKeepAlive");
    const value = checkBoolean(on, "on", true);
    setIntOption(fd, C.SOL_SOCKET, C.SO_KEEPALIVE, value ? 1 : 0, this.subject);
  }

  /**
   * What arrives, as it comes: `for await (const chunk of conn)`. A stream
   * connection yields chunks of bytes (up to 64 KiB each) until end of
   * stream; a message connection yields one message at a time until end of
   * stream (seqpacket) or for ever (datagram). It ends cleanly when the
   * connection is closed, even while it waits; leaving the loop early does not
   * close the connection.
   *
   * No later receive writes a chunk's or message's bytes. Small ones share
   * one 64 KiB `ArrayBuffer` (a new one for each would cost Deno more than the
   * call): `chunk.slice()` gives bytes with a buffer of their own, to transfer
   * it or to post them to a Worker (a structured clone copies the whole buffer).
   *
   * Wraps `recv(2)`. Needs `--allow-ffi`.
   *
   * @returns the chunks or messages
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const [a, b] = socketpair("seqpacket");
   * using _b = b;
   * for (const word of ["a", "b"]) a.sendSync(word);
   * a.close();
   * const words: string[] = [];
   * for await (const m of b) words.push(new TextDecoder().decode(m));
   * assert.deepEqual(words, ["a", "b"]);
   * ```
   */
  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array<ArrayBuffer>, void, undefined> {
    if (this.#kind !== "stream") return untilClosed(this, (signal) => this.receive({ signal }));
    const chunk = this.#chunkOp(false);
    return untilClosed(this, (signal) => wait(chunk, { signal }, this.#in));
  }

  /** The reads of one consumer's chunks: `fresh` ones each in a buffer of its own. */
  #chunkOp(fresh: boolean): Operation<Uint8Array<ArrayBuffer> | null> {
    return {
      syscall: "recv",
      subject: this.subject,
      // Lands and is kept in one go: no other receive can land there in between.
      attempt: chunkAttempt((area) => this.#readSome(area), fresh),
      source: this.#readReady,
    };
  }
}
