/**
 * {@link listen} and {@link Listener}: sockets that accept connections, on a
 * Unix path, a Linux abstract name, or a TCP port.
 *
 * @module
 */
import { SocketHandle } from "./socket_handle.ts";
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import { AGAIN, E, failed, lastErrno, ok } from "../_sys.ts";
import type { ErrorSubject } from "../errors.ts";
import { checkBoolean, checkInteger, checkMode, checkOptions, onlyKnown } from "../_check.ts";
import type { PathLike } from "../_path.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  callUntil,
  fdSource,
  interruptible,
  type Operation,
  pollNow,
  READABLE,
  Spinner,
  tryNow,
  untilClosed,
  wait,
  type WaitContext,
  waitSync,
} from "../_wait/mod.ts";
import { waitsOf } from "../fd/handle.ts";
import type { NetAddress, SocketAddress, UnixAddress } from "./address.ts";
import { type AnyOf, decodeAddress, endpointOf, SOCKADDR_MAX, subjectOf } from "./_address.ts";
import { bindPath, type BoundPath, releasePath } from "./_bind.ts";
import {
  ADDRESS_KEYS,
  adoptSocket,
  bindNet,
  checkKind,
  localAddressOf,
  openSocket,
  rejectOptions,
  transportOf,
} from "./_socket.ts";
import { type Connection, connectionOf } from "./connection.ts";
import {
  type AllowUids,
  checkAllowUids,
  checkOnRefused,
  type PeerCredentials,
  type PeerGate,
  peerGate,
} from "./_credentials.ts";

/**
 * The kinds of socket that listen: byte streams and seqpacket.
 *
 * @example
 * ```ts
 * import type { ListenerType } from "@libc/ipc";
 * const type: ListenerType = "seqpacket";
 * ```
 */
export type ListenerType = "stream" | "seqpacket";

/**
 * Who may connect to a Unix listener, checked on each connection it
 * accepts (`SO_PEERCRED`): a connection from a peer whose user id is not
 * allowed is closed at once, and never returned by `accept`.
 *
 * @example Only processes of this listener's own user
 * ```ts
 * import type { PeerAccessOptions } from "@libc/ipc";
 * const refused: number[] = [];
 * const options: PeerAccessOptions = {
 *   allowUids: "same",
 *   onRefused: (peer) => refused.push(peer.pid),
 * };
 * ```
 */
export interface PeerAccessOptions {
  /**
   * The user ids (effective, when the peer connected) whose connections are
   * accepted: `"same"` for the user the listening socket belongs to (this
   * process's, as `listen(2)` recorded it), or a list. Default: anyone the
   * socket file's mode lets connect (an abstract name has no mode: anyone).
   */
  allowUids?: AllowUids;
  /**
   * Called with the peer's credentials after a connection it refused was
   * closed, for logging; what it throws rejects the accept in progress.
   */
  onRefused?: (peer: PeerCredentials) => void;
}

/**
 * Options of {@link listen} for a Unix socket file.
 *
 * @example
 * ```ts
 * import type { UnixListenOptions } from "@libc/ipc";
 * const options: UnixListenOptions = { path: "/run/app/app.sock", mode: 0o660, replace: true };
 * ```
 */
export interface UnixListenOptions extends PeerAccessOptions {
  /** Where the socket file goes: at most 107 bytes (`sun_path` less its NUL). */
  path: PathLike;
  /** `"stream"` (default) or `"seqpacket"` (messages keep their boundaries). */
  type?: ListenerType;
  /**
   * Permission bits of the socket file, exactly (the umask does not narrow
   * them). Connecting needs write permission on it. Default `0o600`: owner only.
   */
  mode?: number;
  /**
   * Replace a stale socket file at `path`: one no process has bound any
   * more (a connect is refused), left by a process that died. A live socket,
   * or any file that is not a socket, is never removed; telling them apart
   * puts nothing in a live listener's queue. Default `false`.
   */
  replace?: boolean;
  /**
   * Leave the socket file in place at `close()`. Default `false`: it is
   * removed. Only `close()` removes it: a process that ends without closing
   * (`Deno.exit()`, an uncaught error, a signal) leaves it, for `replace`.
   */
  keepPath?: boolean;
  /** How many connections may wait to be accepted; default and maximum `net.core.somaxconn`. */
  backlog?: number;
  /** Only one of `path`, `abstract` and `port` names the address. */
  abstract?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  port?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  hostname?: never;
}

/**
 * Options of {@link listen} for a Linux abstract Unix name (no file; gone with the socket).
 *
 * @example
 * ```ts
 * import type { AbstractListenOptions } from "@libc/ipc";
 * const options: AbstractListenOptions = { abstract: "my-app", type: "seqpacket" };
 * ```
 */
export interface AbstractListenOptions extends PeerAccessOptions {
  /** The name: 1 to 107 bytes, without the kernel's leading NUL (the library adds it). */
  abstract: string;
  /** `"stream"` (default) or `"seqpacket"`. */
  type?: ListenerType;
  /** How many connections may wait to be accepted; default and maximum `net.core.somaxconn`. */
  backlog?: number;
  /** Only one of `path`, `abstract` and `port` names the address. */
  path?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  port?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  hostname?: never;
}

/**
 * Options of {@link listen} for TCP.
 *
 * @example
 * ```ts
 * import type { TcpListenOptions } from "@libc/ipc";
 * const options: TcpListenOptions = { hostname: "::", port: 8080, ipv6Only: false };
 * ```
 */
export interface TcpListenOptions {
  /**
   * The local IP address to listen on: `"127.0.0.1"` (the default), `"::1"`,
   * `"0.0.0.0"` or `"::"` for every interface... IP literals only (and
   * `"localhost"` for `127.0.0.1`): names are not resolved.
   */
  hostname?: string;
  /** The port; 0 takes a free one, which {@link Listener.addr} reports. */
  port: number;
  /** `SO_REUSEADDR`: bind again at once after a restart. Default `true`, as `Deno.listen`. */
  reuseAddress?: boolean;
  /**
   * `SO_REUSEPORT`: several sockets, of this process or others of the same
   * user, may bind this address when each asks, and the kernel spreads new connections
   * among them (a server that runs one process per CPU). Default `false`.
   */
  reusePort?: boolean;
  /** For an IPv6 address: accept IPv6 only (`IPV6_V6ONLY`), not IPv4 too. Default `false`. */
  ipv6Only?: boolean;
  /** How many connections may wait to be accepted; default and maximum `net.core.somaxconn`. */
  backlog?: number;
  /** Only one of `path`, `abstract` and `port` names the address. */
  path?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  abstract?: never;
}

/**
 * Options of {@link listen}: a Unix path, an abstract name, or a TCP port.
 *
 * @example
 * ```ts
 * import type { ListenOptions } from "@libc/ipc";
 * const where: ListenOptions[] = [{ path: "/run/app.sock" }, { abstract: "app" }, { port: 0 }];
 * ```
 */
export type ListenOptions = UnixListenOptions | AbstractListenOptions | TcpListenOptions;

let create: (
  fd: number,
  kind: ListenerType,
  domain: number,
  addr: SocketAddress,
  bound: BoundPath | undefined,
  gate?: PeerGate,
) => Listener;

/**
 * A listening socket, shaped like `Deno.Listener`: accepts connections as
 * {@link Connection}s. `accept()` waits without blocking the event loop,
 * `acceptSync()` blocks the thread, `tryAccept()` never waits;
 * `for await (const conn of listener)` accepts until the listener closes.
 *
 * `close()` stops listening: pending accepts reject with
 * `Deno.errors.BadResource`, and a Unix socket file is removed (unless
 * `keepPath`), if it is still the one this listener created. Connections
 * already accepted stay open.
 *
 * Wraps `accept4(2)`. Needs `--allow-ffi`.
 *
 * @example A server and a client on an abstract name
 * ```ts
 * import { connect, listen } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const name = `libc-ipc-doc-${Deno.pid}-listener`;
 * using listener = listen({ abstract: name });
 * using client = await connect({ abstract: name });
 * using server = await listener.accept();
 * await client.write("hello");
 * const buf = new Uint8Array(16);
 * const n = await server.read(buf);
 * assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), "hello");
 * ```
 */
export class Listener<A extends SocketAddress = SocketAddress> extends SocketHandle
  implements AsyncIterable<Connection<A>> {
  readonly #kind: ListenerType;
  readonly #domain: number;
  readonly #addr: SocketAddress;
  readonly #bound: BoundPath | undefined;
  readonly #gate: PeerGate | undefined;
  readonly #peer = new Uint8Array(SOCKADDR_MAX);
  readonly #peerLen = new Uint32Array(1);
  readonly #peerLenBytes = new Uint8Array(this.#peerLen.buffer);
  readonly #context: WaitContext;
  /** One operation for every form: an accept keeps no state between its tries. */
  readonly #op: Operation<Connection>;

  static {
    create = (fd, kind, domain, addr, bound, gate) =>
      new Listener(fd, kind, domain, addr, bound, gate);
  }

  private constructor(
    fd: number,
    kind: ListenerType,
    domain: number,
    addr: SocketAddress,
    bound: BoundPath | undefined,
    gate: PeerGate | undefined,
  ) {
    super(fd);
    this.#kind = kind;
    this.#domain = domain;
    this.#addr = addr;
    this.#bound = bound;
    this.#gate = gate;
    this.#context = { spinner: new Spinner(), registry: waitsOf(this) };
    this.#op = {
      syscall: "accept4",
      subject: this.subject,
      attempt: () => this.#accept(),
      source: fdSource(fd, READABLE),
    };
  }

  /**
   * Adopts a listening socket this process was handed (socket activation, or
   * a parent's `spawn(..., { fds: { 3: listener } })`): it becomes
   * close-on-exec, and keeps its `O_NONBLOCK` as it is, which the process
   * that handed it over shares (a C parent that accepts on it too, blocking):
   * on a blocking one each accept polls, then accepts with an alarm that ends
   * the call should another process take the connection first. Where no
   * alarm can be set (see the README's Platforms), it is made non-blocking.
   * Its socket file, if any, is not this handle's: `close()` leaves it in
   * place.
   *
   * A Unix listener may be given who may connect (`allowUids`, as
   * {@link listen} takes it); `"same"` then means the user that made the
   * listening socket.
   *
   * Wraps `getsockopt(2)`, `getsockname(2)`, `fcntl(2)`. Needs `--allow-ffi`.
   *
   * @param fd the descriptor of a listening Unix or TCP socket
   * @param options `allowUids` and `onRefused`, for a Unix listener
   * @returns the listener
   * @throws {TypeError} when an open handle of this library owns `fd` (it would close it
   *   under this one): pass a copy (`dup`)
   * @throws {TypeError} when `fd` is not a number, not a socket, or not
   *   listening; when `options` is not an object; when `allowUids` is neither
   *   `"same"` nor an array of numbers, or is given for a TCP listener
   * @throws {RangeError} when `fd` is not an integer 0..2^31-1, or `allowUids` is empty or
   *   holds a number that is not a user id
   * @throws {Deno.errors.BadResource} when `fd` is not open (EBADF)
   *
   * @example Only listening sockets are taken
   * ```ts
   * import { Listener, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * assert.throws(() => Listener.fromFd(pair[0].fd), TypeError);
   * ```
   */
  static fromFd(fd: number, options: PeerAccessOptions = {}): Listener {
    checkOptions(options);
    const allowUids = checkAllowUids(options.allowUids);
    const onRefused = checkOnRefused(options.onRefused);
    if (allowUids === undefined && onRefused !== undefined) {
      throw new TypeError("onRefused is called for peers allowUids refuses: give allowUids");
    }
    const s = adoptSocket(fd, "Listener.fromFd");
    fd = s.fd;
    if (!s.listening || s.kind === "datagram") {
      throw new TypeError(`Listener.fromFd: fd ${fd} is not a listening socket`);
    }
    if (s.domain !== C.AF_UNIX) {
      rejectOptions(options, ["allowUids", "onRefused"], "a TCP listener");
    }
    const subject = { fd };
    const gate = allowUids === undefined ? undefined : peerGate(fd, allowUids, onRefused, subject);
    return create(fd, s.kind, s.domain, localAddressOf(fd, s.kind, subject), undefined, gate);
  }

  /** What the handle is, in error messages. */
  protected get what(): string {
    return "listener";
  }

  /** What its errors name besides its fd: the address it listens on. */
  protected override describe(): ErrorSubject {
    return subjectOf(this.#addr);
  }

  /**
   * The address it listens on; for TCP with port 0, the port the kernel chose.
   *
   * @example
   * ```ts
   * import { listen } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using listener = listen({ port: 0 });
   * const addr = listener.addr;
   * assert.ok(addr.transport === "tcp" && addr.port > 0 && addr.hostname === "127.0.0.1");
   * ```
   */
  get addr(): A {
    return this.#addr as A;
  }

  /**
   * The kind of connections it accepts: `"stream"` or `"seqpacket"`.
   *
   * @example
   * ```ts
   * import { listen } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using listener = listen({ abstract: `libc-ipc-doc-${Deno.pid}-type`, type: "seqpacket" });
   * assert.equal(listener.type, "seqpacket");
   * ```
   */
  get type(): ListenerType {
    return this.#kind;
  }

  /** One accept without waiting: the connection, or AGAIN. */
  #accept(): Connection | typeof AGAIN {
    const fd = this.fdFor("accept4");
    for (;;) {
      this.#peerLen[0] = SOCKADDR_MAX;
      const accept = () => libc.accept4(fd, this.#peer, this.#peerLenBytes, C.SOCK_CLOEXEC);
      let c;
      if ((libc.fcntl(fd, C.F_GETFL, 0) & C.O_NONBLOCK) !== 0) {
        c = accept();
      } else {
        // O_NONBLOCK belongs to the description, which a process this listener was handed
        // to shares: one that cleared it (a C or Python child that accepts too) would make
        // accept4 wait here for the next connection. Accept only one queued now, the alarm
        // ending the call soon should that process take it first.
        if (!pollNow(fd, READABLE)) return AGAIN;
        const deadline = performance.now() + SHARED_ACCEPT_MS;
        if (!interruptible(deadline)) throw this.#madeBlocking();
        c = callUntil(deadline, accept);
      }
      if (c >= 0) {
        if (this.#gate !== undefined && this.#refuses(c)) continue;
        try {
          const remote = decodeAddress(this.#peer, this.#peerLen[0], transportOf(this.#kind));
          return connectionOf(c, this.#kind, this.#domain, remote);
        } catch (e) {
          libc.close(c);
          throw e;
        }
      }
      // A connection that was reset while queued, or a network error pending on
      // it (accept(2), "Error handling"): that one is gone; the next may be there.
      if (GONE.has(lastErrno())) continue;
      if (failed("accept4", this.subject) === AGAIN) return AGAIN;
    }
  }

  /** Where no alarm can end an accept4 that would wait: an error that says why. */
  #madeBlocking(): Error {
    return new Deno.errors.NotSupported(
      `accept4 fd ${this.fd}: another process sharing this listener's description (one it was ` +
        "handed to) made it blocking, and no alarm can end an accept that would wait here: keep " +
        "it non-blocking there (poll, then accept, as Listener.fromFd does)",
    );
  }

  /** Whether the accepted socket `c` comes from a user not allowed: then it is closed. */
  #refuses(c: number): boolean {
    let peer: PeerCredentials | undefined;
    try {
      peer = this.#gate!.refuses(c, this.subject);
    } catch (e) {
      libc.close(c);
      throw e;
    }
    if (peer === undefined) return false;
    libc.close(c);
    this.#gate!.onRefused?.(peer);
    return true;
  }

  /**
   * Accepts the next connection, waiting for one without blocking the event
   * loop. An aborted `signal` rejects with its reason.
   *
   * Wraps `accept4(2)` (`SOCK_CLOEXEC`). Needs `--allow-ffi`.
   *
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns the connection; close it (or `using`) when done
   * @throws {TypeError} when `signal` is not an AbortSignal
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the listener is (or gets) closed
   * @throws {IpcError} EMFILE/ENFILE when out of descriptors
   * @throws {Deno.errors.NotSupported} when another process made the shared description blocking
   *   and no alarm can end an accept that would wait (see {@link Listener.fromFd})
   *
   * @example
   * ```ts
   * import { listen } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using listener = listen({ port: 0 });
   * await assert.rejects(listener.accept({ timeout: 10 }), Deno.errors.TimedOut);
   * ```
   */
  accept(options?: WaitOptions): Promise<Connection<A>> {
    return wait(this.#op, options, this.#context) as Promise<Connection<A>>;
  }

  /**
   * Accepts the next connection, blocking the thread until one comes.
   *
   * Wraps `accept4(2)` and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param options `timeout` in milliseconds
   * @returns the connection
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {IpcError} EMFILE/ENFILE when out of descriptors
   * @throws {Deno.errors.NotSupported} when another process made the shared description blocking
   *   and no alarm can end an accept that would wait (see {@link Listener.fromFd})
   *
   * @example
   * ```ts
   * import { connectSync, listen } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `libc-ipc-doc-${Deno.pid}-acceptsync`;
   * using listener = listen({ abstract: name });
   * using client = connectSync({ abstract: name });
   * using server = listener.acceptSync({ timeout: 1000 });
   * assert.deepEqual(server.localAddr, { transport: "unix", abstract: name });
   * ```
   */
  acceptSync(options?: SyncWaitOptions): Connection<A> {
    return waitSync(this.#op, options, this.#context) as Connection<A>;
  }

  /**
   * Accepts a connection that is waiting, without waiting.
   *
   * Wraps `accept4(2)`. Needs `--allow-ffi`.
   *
   * @returns the connection
   * @throws {Deno.errors.WouldBlock} when no connection is waiting
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {IpcError} EMFILE/ENFILE when out of descriptors
   * @throws {Deno.errors.NotSupported} when another process made the shared description blocking
   *   and no alarm can end an accept that would wait (see {@link Listener.fromFd})
   *
   * @example
   * ```ts
   * import { listen } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using listener = listen({ abstract: `libc-ipc-doc-${Deno.pid}-tryaccept` });
   * assert.throws(() => listener.tryAccept(), Deno.errors.WouldBlock);
   * ```
   */
  tryAccept(): Connection<A> {
    return tryNow(this.#op) as Connection<A>;
  }

  /**
   * Stops listening: pending accepts reject with `Deno.errors.BadResource`,
   * and the socket file is removed, unless `keepPath` was set or the file is
   * no longer the one this listener created. Closing twice does nothing.
   * Accepted connections stay open.
   *
   * Wraps `close(2)` and `unlink(2)`. Needs `--allow-ffi`.
   *
   * @example The socket file goes with the listener
   * ```ts
   * import { listen } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const dir = Deno.makeTempDirSync();
   * const listener = listen({ path: `${dir}/server.sock` });
   * assert.ok(Deno.lstatSync(`${dir}/server.sock`).isSocket);
   * listener.close();
   * assert.throws(() => Deno.lstatSync(`${dir}/server.sock`), Deno.errors.NotFound);
   * Deno.removeSync(dir);
   * ```
   */
  override close(): void {
    if (this.closed) return;
    super.close();
    if (this.#bound !== undefined) releasePath(this.#bound);
  }

  /**
   * The connections as they come: `for await (const conn of listener)`. The
   * loop ends when the listener is closed (even while it waits); leaving it
   * early (`break`) closes the listener, as `Deno.Listener` does.
   *
   * Wraps `accept4(2)`. Needs `--allow-ffi`.
   *
   * @returns the connections
   *
   * @example
   * ```ts
   * import { connect, listen } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `libc-ipc-doc-${Deno.pid}-iterate`;
   * const listener = listen({ abstract: name });
   * using client = await connect({ abstract: name });
   * for await (const conn of listener) {
   *   using _conn = conn;
   *   break; // one is enough: this closes the listener
   * }
   * assert.equal(listener.closed, true);
   * ```
   */
  [Symbol.asyncIterator](): AsyncGenerator<Connection<A>, void, undefined> {
    // Only a loop left early (its `return()`) closes the listener.
    return untilClosed(this, (signal) => this.accept({ signal }), {
      onEnd: (how) => {
        if (how === "early") this.close();
      },
    });
  }
}

/** The keys of {@link ListenOptions}, and `transport` of an address object given whole. */
const LISTEN_OPTIONS: ReadonlySet<string> = new Set([
  ...ADDRESS_KEYS,
  "type",
  "backlog",
  "mode",
  "replace",
  "keepPath",
  "reuseAddress",
  "reusePort",
  "ipv6Only",
  "allowUids",
  "onRefused",
]);

/**
 * How long an accept on a listener that another process made blocking may
 * wait, in ms: it accepts only a connection poll(2) saw queued, which that
 * process can take first.
 */
const SHARED_ACCEPT_MS = 1;

/** errno values of `accept4` that concern only the connection being taken. */
const GONE = new Set(
  [
    "ECONNABORTED",
    "EPROTO",
    "ENETDOWN",
    "ENOPROTOOPT",
    "EHOSTDOWN",
    "ENONET",
    "EHOSTUNREACH",
    "ENETUNREACH",
  ]
    .map((name) => E[name]).filter((code) => code !== undefined),
);

function checkBacklog(backlog: unknown): number {
  if (backlog === undefined) return C.SOMAXCONN;
  return checkInteger(backlog, "backlog", 0, 0x7fffffff);
}

/**
 * Opens a listening socket, like `Deno.listen`: on a Unix socket file
 * (`{ path }`), a Linux abstract name (`{ abstract }`), or a TCP port
 * (`{ hostname, port }`). Every option is checked before any system call.
 *
 * A socket file is created with exactly `mode` (default `0o600`, owner
 * only), never with more permissions than that, not even for a moment. A file
 * already at `path` is `Deno.errors.AddrInUse`, unless `replace: true` and it
 * is a stale socket file (no process has it bound): then it is replaced. A file
 * that is not a socket is never removed.
 *
 * A Unix listener can refuse peers of other users, whatever the socket
 * file's mode (and an abstract name has none): with `allowUids` it checks
 * each connection's credentials (`SO_PEERCRED`) as it accepts it, closes
 * those of users not listed at once, reports them to `onRefused`, and goes
 * on to the next: `accept` only ever returns allowed peers.
 *
 * TCP: `hostname` is an IP literal (default `"127.0.0.1"`); port 0 takes a
 * free port, which `listener.addr` reports; `SO_REUSEADDR` is set unless
 * `reuseAddress: false`.
 *
 * Wraps `socket(2)`, `bind(2)`, `listen(2)` (and `fchmod(2)`, `chmod(2)`,
 * `setsockopt(2)`). Needs `--allow-ffi`.
 *
 * @param options where to listen: `{ path, mode, replace, keepPath, type, backlog }`,
 *   `{ abstract, type, backlog }` (both with `allowUids`, `onRefused`) or
 *   `{ hostname, port, reuseAddress, reusePort, ipv6Only, backlog }`
 * @returns the listener; close it (or `using`) when done
 * @throws {TypeError} for malformed options: both a path and a port, a path
 *   with a NUL, a hostname that is not an IP address, a `port` or `mode` that
 *   is not a number, an option that does not apply to the kind of socket
 * @throws {RangeError} for a path longer than 107 bytes, a port outside
 *   0..65535, a `mode` outside 0..0o777, a negative backlog, an empty
 *   `allowUids` or one holding a number that is not a user id
 * @throws {Deno.errors.AddrInUse} when the path, name or port is taken (the
 *   message says what is there)
 * @throws {Deno.errors.AddrNotAvailable} when `hostname` is not an address of this machine
 * @throws {Deno.errors.NotFound} when the socket file's directory does not exist
 * @throws {Deno.errors.PermissionDenied} when the directory is not writable, or the port is privileged
 *
 * @example A Unix socket file, owner only
 * ```ts
 * import { listen } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * {
 *   using listener = listen({ path: `${dir}/app.sock` });
 *   assert.equal(Deno.lstatSync(`${dir}/app.sock`).mode! & 0o777, 0o600);
 *   assert.deepEqual(listener.addr, { transport: "unix", path: `${dir}/app.sock` });
 * }
 * Deno.removeSync(dir);
 * ```
 *
 * @example Only this user's processes may connect
 * ```ts
 * import { connect, listen } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const name = `libc-ipc-doc-${Deno.pid}-same-user`;
 * using listener = listen({ abstract: name, allowUids: "same" });
 * using client = await connect({ abstract: name });
 * using server = await listener.accept({ timeout: 1000 }); // same user: accepted
 * assert.equal(server.peerCredentials().uid, client.peerCredentials().uid);
 * ```
 *
 * @example TCP on a free port of the IPv6 loopback
 * ```ts
 * import { listen } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using listener = listen({ hostname: "::1", port: 0 });
 * const addr = listener.addr;
 * assert.ok(addr.transport === "tcp" && addr.hostname === "::1" && addr.port > 0);
 * ```
 */
export function listen(options: TcpListenOptions): Listener<NetAddress>;
/** {@link listen} on a Unix path or abstract name: its addresses are Unix ones. */
export function listen(options: UnixListenOptions | AbstractListenOptions): Listener<UnixAddress>;
/** {@link listen} where the kind of address is known at run time only. */
export function listen(options: ListenOptions): Listener;
export function listen(options: ListenOptions): Listener {
  const at = endpointOf(options, { transport: "tcp", portZero: true }, "listen options");
  onlyKnown(options, LISTEN_OPTIONS, "listen options");
  const o = options as AnyOf<ListenOptions>;
  const backlog = checkBacklog(o.backlog);
  if (at.domain === C.AF_UNIX) {
    const kind = checkKind(o.type, ["stream", "seqpacket"] as const, "stream");
    rejectOptions(o, ["reuseAddress", "reusePort", "ipv6Only"], "a Unix socket");
    if (at.path === undefined) {
      rejectOptions(o, ["mode", "replace", "keepPath"], "an abstract name (it has no file)");
    }
    const mode = checkMode(o.mode);
    const replace = checkBoolean(o.replace, "replace");
    const keepPath = checkBoolean(o.keepPath, "keepPath");
    const allowUids = checkAllowUids(o.allowUids);
    const onRefused = checkOnRefused(o.onRefused);
    if (allowUids === undefined && onRefused !== undefined) {
      throw new TypeError("onRefused is called for peers allowUids refuses: give allowUids");
    }
    const fd = openSocket(C.AF_UNIX, kind, at.subject);
    let bound: BoundPath | undefined;
    try {
      if (at.path !== undefined) bound = bindPath(fd, at, mode, replace);
      else ok(libc.bind(fd, at.sockaddr, at.length), "bind", at.subject);
      ok(libc.listen(fd, backlog), "listen", at.subject);
      const addr: SocketAddress = at.path !== undefined
        ? { transport: "unix", path: at.path }
        : localAddressOf(fd, kind, at.subject);
      // After listen(2), which records this process's credentials on the socket ("same").
      const gate = allowUids === undefined
        ? undefined
        : peerGate(fd, allowUids, onRefused, at.subject);
      return create(fd, kind, C.AF_UNIX, addr, keepPath ? undefined : bound, gate);
    } catch (e) {
      if (bound !== undefined) releasePath(bound);
      libc.close(fd);
      throw e;
    }
  }
  if (o.type !== undefined && o.type !== "stream") {
    throw new TypeError(`type must be "stream" for TCP, got ${String(o.type)}`);
  }
  rejectOptions(o, ["mode", "replace", "keepPath", "allowUids", "onRefused"], "a TCP socket");
  const reuse = checkBoolean(o.reuseAddress, "reuseAddress", true);
  const reusePort = checkBoolean(o.reusePort, "reusePort");
  const v6only = checkBoolean(o.ipv6Only, "ipv6Only");
  if (o.ipv6Only !== undefined && at.domain !== C.AF_INET6) {
    throw new TypeError("ipv6Only applies to an IPv6 hostname");
  }
  const fd = openSocket(at.domain, "stream", at.subject);
  try {
    bindNet(fd, at, reuse, v6only, reusePort);
    ok(libc.listen(fd, backlog), "listen", at.subject);
    return create(fd, "stream", at.domain, localAddressOf(fd, "stream", at.subject), undefined);
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}
