/**
 * {@link connect}, {@link connectSync}: connections to a Unix path, a Linux
 * abstract name, or a TCP address; and {@link socketpair}.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import { AGAIN, E, errorOf, lastErrno, ok } from "../_sys.ts";
import { checkBoolean, onlyKnown, shown } from "../_check.ts";
import type { PathLike } from "../_path.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  checkSyncWaitOptions,
  checkWaitOptions,
  fdEngine,
  NO_THREAD,
  type Operation,
  pollNow,
  pollSync,
  rejectedNow,
  type Source,
  wait,
  waitSync,
  WRITABLE,
} from "../_wait/mod.ts";
import type { NetAddress, SocketType, UnixAddress } from "./address.ts";
import { type AnyOf, decodeAddress, endpointOf } from "./_address.ts";
import {
  ADDRESS_KEYS,
  checkKind,
  makeBlocking,
  openSocket,
  peerAddressOf,
  rejectOptions,
  setIntOption,
  SOCK_TYPE,
  transportOf,
} from "./_socket.ts";
import { type Connection, connectionOf } from "./connection.ts";

/**
 * Where {@link connect} goes: a Unix socket file.
 *
 * @example
 * ```ts
 * import type { UnixConnectTarget } from "@libc/ipc";
 * const target: UnixConnectTarget = { path: "/run/app.sock", type: "seqpacket" };
 * ```
 */
export interface UnixConnectTarget {
  /** The socket file's path (at most 107 bytes). */
  path: PathLike;
  /**
   * The kind of socket: `"stream"` (default), `"seqpacket"`, or `"datagram"`
   * (a datagram socket whose every send goes to that address).
   */
  type?: SocketType;
  /** Only one of `path`, `abstract` and `port` names the address. */
  abstract?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  port?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  hostname?: never;
}

/**
 * Where {@link connect} goes: a Linux abstract Unix name.
 *
 * @example
 * ```ts
 * import type { AbstractConnectTarget } from "@libc/ipc";
 * const target: AbstractConnectTarget = { abstract: "my-app" };
 * ```
 */
export interface AbstractConnectTarget {
  /** The name, without the leading NUL (1 to 107 bytes). */
  abstract: string;
  /** `"stream"` (default), `"seqpacket"` or `"datagram"`. */
  type?: SocketType;
  /** Only one of `path`, `abstract` and `port` names the address. */
  path?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  port?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  hostname?: never;
}

/**
 * Where {@link connect} goes: a TCP address.
 *
 * @example
 * ```ts
 * import type { TcpConnectTarget } from "@libc/ipc";
 * const target: TcpConnectTarget = { hostname: "::1", port: 8080, noDelay: true };
 * ```
 */
export interface TcpConnectTarget {
  /**
   * The IP address: an IPv4 or IPv6 literal (or `"localhost"` for
   * `127.0.0.1`); default `"127.0.0.1"`. Names are not resolved.
   */
  hostname?: string;
  /** The port, 1..65535. */
  port: number;
  /** Send small writes at once (`TCP_NODELAY`). Default `false`. */
  noDelay?: boolean;
  /** Send keep-alive probes (`SO_KEEPALIVE`). Default `false`. */
  keepAlive?: boolean;
  /** `"stream"`, the default: a TCP connection. */
  type?: "stream";
  /** Only one of `path`, `abstract` and `port` names the address. */
  path?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  abstract?: never;
}

/**
 * Where {@link connect} goes: a UDP address, for a connected UDP socket. Its
 * sends go to that address alone, and it receives from that address alone
 * (the kernel drops datagrams from any other); an ICMP "port unreachable"
 * that comes back makes the next operation fail with `ConnectionRefused`.
 *
 * @example
 * ```ts
 * import type { UdpConnectTarget } from "@libc/ipc";
 * const target: UdpConnectTarget = { hostname: "127.0.0.1", port: 5353, type: "datagram" };
 * ```
 */
export interface UdpConnectTarget {
  /**
   * The IP address: an IPv4 or IPv6 literal (or `"localhost"` for
   * `127.0.0.1`); default `"127.0.0.1"`. Names are not resolved.
   */
  hostname?: string;
  /** The port, 1..65535. */
  port: number;
  /** `"datagram"`: UDP (a `transport: "udp"` address says so too). */
  type: "datagram";
  /** May connect to a broadcast address (`SO_BROADCAST`); see {@link UdpDatagramOptions.broadcast}. Default `false`. */
  broadcast?: boolean;
  /** Only one of `path`, `abstract` and `port` names the address. */
  path?: never;
  /** Only one of `path`, `abstract` and `port` names the address. */
  abstract?: never;
}

/**
 * Where {@link connect} and {@link connectSync} go.
 *
 * @example
 * ```ts
 * import type { ConnectTarget } from "@libc/ipc";
 * const targets: ConnectTarget[] = [{ path: "/run/app.sock" }, { port: 8080 }];
 * ```
 */
export type ConnectTarget =
  | UnixConnectTarget
  | AbstractConnectTarget
  | TcpConnectTarget
  | UdpConnectTarget;

/**
 * Options of {@link connect}: where, and `signal`/`timeout` for the wait.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "@libc/ipc";
 * const options: ConnectOptions = { port: 8080, timeout: 5000, signal: AbortSignal.timeout(10_000) };
 * ```
 */
export type ConnectOptions = ConnectTarget & WaitOptions;

/**
 * Options of {@link connectSync}: where, and `timeout`.
 *
 * @example
 * ```ts
 * import type { ConnectSyncOptions } from "@libc/ipc";
 * const options: ConnectSyncOptions = { abstract: "my-app", timeout: 1000 };
 * ```
 */
export type ConnectSyncOptions = ConnectTarget & SyncWaitOptions;

/** How long a sync connect sleeps between tries while a Unix listener's backlog is full. */
const BACKLOG_RETRY_MS = 5;

/** A connect in progress: the engine's operation, and what gives the socket up if it fails. */
interface Connecting {
  readonly op: Operation<Connection>;
  abandon(): void;
}

/**
 * The connect as an operation of the engine. The socket is non-blocking
 * until connected (then it blocks, as a connection's does: see
 * _blocking.ts), so
 * a TCP connect goes on in the kernel (EINPROGRESS) until the socket is
 * writable; then connecting again tells the outcome (done, or the error).
 * A Unix connect never waits in the kernel: it either completes, or fails
 * with EAGAIN while the listener's backlog is full, and is tried again
 * later (no fd tells when there is room).
 */
/** The keys of {@link ConnectOptions}, and `transport` of an address object given whole. */
const CONNECT_OPTIONS: ReadonlySet<string> = new Set([
  ...ADDRESS_KEYS,
  "type",
  "noDelay",
  "keepAlive",
  "broadcast",
  "signal",
  "timeout",
]);

function connecting(options: ConnectTarget & WaitOptions, what: string): Connecting {
  checkWaitOptions(options);
  // Anything but an object is refused by endpointOf, saying what it must be.
  const o = (typeof options === "object" && options !== null ? options : {}) as
    & AnyOf<ConnectTarget>
    & { transport?: unknown };
  // A UDP address as a socket reports it (`transport: "udp"`) is a datagram target.
  const udp = o.type === "datagram" || o.transport === "udp";
  const at = endpointOf(options, { transport: udp ? "udp" : "tcp", portZero: false }, what);
  onlyKnown(options, CONNECT_OPTIONS, what);
  let kind: SocketType;
  let noDelay = false;
  let keepAlive = false;
  let broadcast = false;
  if (at.domain === C.AF_UNIX) {
    kind = checkKind(o.type, ["stream", "seqpacket", "datagram"] as const, "stream");
    rejectOptions(o, ["noDelay", "keepAlive", "broadcast"], "a Unix socket");
  } else if (udp) {
    if (o.type !== undefined && o.type !== "datagram") {
      throw new TypeError(`${what}: a UDP address takes type "datagram", got ${shown(o.type)}`);
    }
    kind = "datagram";
    rejectOptions(o, ["noDelay", "keepAlive"], "a UDP socket");
    broadcast = checkBoolean(o.broadcast, "broadcast");
  } else {
    kind = checkKind(o.type, ["stream", "datagram"] as const, "stream");
    rejectOptions(o, ["broadcast"], "a TCP connection");
    noDelay = checkBoolean(o.noDelay, "noDelay");
    keepAlive = checkBoolean(o.keepAlive, "keepAlive");
  }
  const fd = openSocket(at.domain, kind, at.subject);
  const abandon = () => {
    fdEngine.forget(fd);
    libc.close(fd);
  };
  try {
    if (noDelay) setIntOption(fd, C.IPPROTO_TCP, C.TCP_NODELAY, 1, at.subject);
    if (keepAlive) setIntOption(fd, C.SOL_SOCKET, C.SO_KEEPALIVE, 1, at.subject);
    if (broadcast) setIntOption(fd, C.SOL_SOCKET, C.SO_BROADCAST, 1, at.subject);
  } catch (e) {
    abandon();
    throw e;
  }
  let inProgress = false;
  const done = (): Connection => {
    // The peer's address as the kernel has it (a Unix listener's bound name);
    // the one connected to if the peer has already gone.
    const remote = peerAddressOf(fd, kind, at.subject) ??
      decodeAddress(at.sockaddr, at.length, transportOf(kind));
    makeBlocking(fd, at.subject);
    return connectionOf(fd, kind, at.domain, remote);
  };
  const attempt = (): Connection | typeof AGAIN => {
    for (;;) {
      if (libc.connect(fd, at.sockaddr, at.length) === 0) return done();
      const code = lastErrno();
      if (code === E.EISCONN) return done();
      if (code === E.EINPROGRESS || code === E.EALREADY) {
        // Over loopback the handshake is often over when connect(2) returns: connecting
        // again says so, without a wait (and a `timeout: 0` connect can succeed).
        if (!inProgress && pollNow(fd, WRITABLE)) {
          inProgress = true;
          continue;
        }
        inProgress = true;
        return AGAIN;
      }
      // Interrupted, a connect goes on in the background: the next call reports on it.
      if (code === E.EINTR) {
        inProgress = true;
        continue;
      }
      if (code === E.EAGAIN && !inProgress) return AGAIN;
      throw errorOf(code, "connect", at.subject);
    }
  };
  const source: Source<never> = {
    park: (p) => inProgress ? fdEngine.park(fd, WRITABLE, p) : NO_THREAD,
    block: (deadline) =>
      inProgress
        ? pollSync(fd, WRITABLE, deadline)
        : pollSync(-1, 0, Math.min(deadline, performance.now() + BACKLOG_RETRY_MS)),
  };
  return { op: { syscall: "connect", subject: at.subject, attempt, source }, abandon };
}

/**
 * Connects to a listening socket, like `Deno.connect`: a Unix socket file
 * (`{ path }`), a Linux abstract name (`{ abstract }`), or a TCP address
 * (`{ hostname, port }`), without blocking the event loop. Every option is
 * checked before any system call. A UDP address (`{ hostname, port, type:
 * "datagram" }`) gives a connected UDP socket: its connect sends nothing and
 * never waits, and its `send`/`receive` go to and come from that address
 * alone (see {@link UdpConnectTarget}).
 *
 * `timeout` and `signal` bound the whole connect: a TCP handshake that does
 * not complete (a listener whose backlog is full, an address that does not
 * answer), or a Unix listener whose backlog stays full. When they end it,
 * the attempt is abandoned and its socket closed.
 *
 * Wraps `socket(2)` (`SOCK_CLOEXEC | SOCK_NONBLOCK`), `connect(2)`,
 * `getpeername(2)`, `fcntl(2)` (and `setsockopt(2)`). Needs `--allow-ffi`.
 *
 * @param options where to connect (`{ path, type }`, `{ abstract, type }`,
 *   `{ hostname, port, noDelay, keepAlive }` or `{ hostname, port, type:
 *   "datagram", broadcast }`), and `signal`, `timeout`
 * @returns the connection; close it (or `using`) when done
 * @throws {TypeError} for malformed options (a hostname that is not an IP
 *   address, a path with a NUL, an option that does not apply, a `port` or
 *   `timeout` that is not a number), or a `signal` that is not an AbortSignal
 * @throws {RangeError} for a path longer than 107 bytes, a port outside
 *   1..65535, a `timeout` that is negative or NaN
 * @throws {Deno.errors.ConnectionRefused} when nobody listens there (TCP and Unix: a UDP
 *   connect sends nothing, and a refusal comes to a later send or receive; the
 *   error's `address` or `path` names it)
 * @throws {Deno.errors.NotFound} when no socket file is at `path`
 * @throws {Deno.errors.PermissionDenied} when the socket file's mode denies this user
 * @throws {Deno.errors.TimedOut} when `timeout` passes first
 * @throws {Deno.errors.NetworkUnreachable} when no route leads to the address
 * @throws {IpcError} EPROTOTYPE when the socket at `path` is of another type
 *
 * @example TCP on the loopback
 * ```ts
 * import { connect, listen } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using listener = listen({ port: 0 });
 * const { port } = listener.addr;
 * using client = await connect({ port, noDelay: true, timeout: 5000 });
 * using server = await listener.accept();
 * assert.deepEqual(client.remoteAddr, { transport: "tcp", hostname: "127.0.0.1", port });
 * assert.deepEqual(server.remoteAddr, client.localAddr);
 * ```
 *
 * @example Nobody listens
 * ```ts
 * import { connect, listen } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const listener = listen({ port: 0 });
 * const { port } = listener.addr;
 * listener.close(); // the port is free again
 * await assert.rejects(connect({ port }), Deno.errors.ConnectionRefused);
 * ```
 *
 * @example A connected UDP socket asks a UDP server
 * ```ts
 * import { connect, datagram } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using server = datagram({ port: 0 });
 * using client = await connect({ port: server.addr.port, type: "datagram" });
 * await client.send("ping");
 * const { data, address } = await server.receiveFrom();
 * await server.sendTo(new TextDecoder().decode(data) + "/pong", address);
 * assert.equal(new TextDecoder().decode((await client.receive())!), "ping/pong");
 * ```
 */
export function connect(
  options: (TcpConnectTarget | UdpConnectTarget) & WaitOptions,
): Promise<Connection<NetAddress>>;
/** {@link connect} to a Unix path or abstract name: the connection's addresses are Unix ones. */
export function connect(
  options: (UnixConnectTarget | AbstractConnectTarget) & WaitOptions,
): Promise<Connection<UnixAddress>>;
/** {@link connect} where the kind of address is known at run time only. */
export function connect(options: ConnectOptions): Promise<Connection>;
export function connect(options: ConnectOptions): Promise<Connection> {
  let c: Connecting;
  try {
    c = connecting(options, "connect options");
  } catch (e) {
    return rejectedNow(e);
  }
  return wait(c.op, options).catch((e) => {
    c.abandon();
    throw e;
  });
}

/**
 * Connects to a listening socket, blocking the thread until the connection
 * is made, refused, or `timeout` passes (then the attempt is abandoned and
 * its socket closed).
 *
 * Wraps `socket(2)`, `connect(2)`, `poll(2)`, `getpeername(2)`. Needs `--allow-ffi`.
 *
 * @param options where to connect, as for {@link connect}, and `timeout`
 * @returns the connection
 * @throws {TypeError} for malformed options (a `port` or `timeout` that is not a number, ...)
 * @throws {RangeError} for a path longer than 107 bytes, a port outside 1..65535, a `timeout` that is negative or NaN
 * @throws {Deno.errors.ConnectionRefused} when nobody listens there (TCP and Unix)
 * @throws {Deno.errors.NotFound} when no socket file is at `path`
 * @throws {Deno.errors.PermissionDenied} when the socket file's mode denies this user
 * @throws {Deno.errors.TimedOut} when `timeout` passes first
 * @throws {IpcError} EPROTOTYPE when the socket at `path` is of another type
 *
 * @example
 * ```ts
 * import { connectSync, listen } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const path = `${dir}/sync.sock`;
 * {
 *   using listener = listen({ path, type: "seqpacket" });
 *   using client = connectSync({ path, type: "seqpacket", timeout: 1000 });
 *   using server = listener.acceptSync();
 *   client.sendSync("one message");
 *   assert.equal(new TextDecoder().decode(server.receiveSync()!), "one message");
 *   assert.deepEqual(client.remoteAddr, { transport: "unix", path });
 * }
 * Deno.removeSync(dir);
 * ```
 */
export function connectSync(
  options: (TcpConnectTarget | UdpConnectTarget) & SyncWaitOptions,
): Connection<NetAddress>;
/** {@link connectSync} to a Unix path or abstract name: the connection's addresses are Unix ones. */
export function connectSync(
  options: (UnixConnectTarget | AbstractConnectTarget) & SyncWaitOptions,
): Connection<UnixAddress>;
/** {@link connectSync} where the kind of address is known at run time only. */
export function connectSync(options: ConnectSyncOptions): Connection;
export function connectSync(options: ConnectSyncOptions): Connection {
  checkSyncWaitOptions(options);
  const c = connecting(options, "connectSync options");
  try {
    return waitSync(c.op, options);
  } catch (e) {
    c.abandon();
    throw e;
  }
}

/**
 * The two ends of a {@link socketpair}: an array of two connections, disposable as one.
 *
 * @example
 * ```ts
 * import { type SocketPair, socketpair } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const pair: SocketPair = socketpair();
 * pair[Symbol.dispose]();
 * assert.equal(pair[0].closed && pair[1].closed, true);
 * ```
 */
export type SocketPair = [Connection, Connection] & Disposable;

/**
 * Creates a pair of connected Unix sockets (`socketpair(2)`): what one end
 * sends, the other receives. Both ends are close-on-exec.
 * Hand one end to a child with `spawn(module, { fds: { 3: pair[1] } })`,
 * close it in the parent, and adopt it in the child with
 * `Connection.fromFd(3)`. Disposing the pair closes both ends.
 *
 * Wraps `socketpair(2)`. Needs `--allow-ffi`.
 *
 * @param type `"stream"` (default, bytes), `"seqpacket"` (messages, with end
 *   of stream) or `"datagram"` (messages)
 * @returns the two ends
 * @throws {TypeError} for another `type`
 * @throws {IpcError} EMFILE/ENFILE when out of descriptors
 *
 * @example
 * ```ts
 * import { socketpair } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using pair = socketpair("seqpacket");
 * const [a, b] = pair;
 * a.sendSync("ping");
 * assert.equal(new TextDecoder().decode(b.receiveSync()!), "ping");
 * ```
 */
export function socketpair(type: SocketType = "stream"): SocketPair {
  const kind = checkKind(type, ["stream", "seqpacket", "datagram"] as const, "stream");
  const fds = new Int32Array(2);
  const flags = SOCK_TYPE[kind] | C.SOCK_CLOEXEC;
  ok(libc.socketpair(C.AF_UNIX, flags, 0, new Uint8Array(fds.buffer)), "socketpair");
  const a = connectionOf(fds[0], kind, C.AF_UNIX, { transport: "unix", unnamed: true });
  const b = connectionOf(fds[1], kind, C.AF_UNIX, { transport: "unix", unnamed: true });
  return Object.assign([a, b] as [Connection, Connection], {
    [Symbol.dispose]() {
      a.close();
      b.close();
    },
  });
}
