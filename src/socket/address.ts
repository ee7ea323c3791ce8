/**
 * Socket addresses as the socket family reports and takes them, shaped like
 * Deno's `Deno.UnixAddr` and `Deno.NetAddr`.
 *
 * @module
 */

/**
 * A Unix socket bound to a file system path.
 *
 * @example
 * ```ts
 * import type { UnixPathAddress } from "@libc/ipc";
 * const addr: UnixPathAddress = { transport: "unix", path: "/run/demo.sock" };
 * ```
 */
export interface UnixPathAddress {
  /** Always `"unix"`. */
  transport: "unix";
  /**
   * The path of the socket file, as the socket was bound to it. A byte that
   * is not part of valid UTF-8 reads as a lone surrogate U+DC80..U+DCFF
   * (Python's "surrogateescape"), which encodes back to that byte: the
   * address reaches the same socket when given back.
   */
  path: string;
}

/**
 * A Unix socket bound to a Linux abstract name: no file, gone when the
 * socket closes, visible to every process of the network namespace.
 *
 * @example
 * ```ts
 * import type { UnixAbstractAddress } from "@libc/ipc";
 * const addr: UnixAbstractAddress = { transport: "unix", abstract: "demo" };
 * ```
 */
export interface UnixAbstractAddress {
  /** Always `"unix"`. */
  transport: "unix";
  /**
   * The name, without the leading NUL byte the kernel keeps before it. Any
   * bytes: one that is not part of valid UTF-8 reads as a lone surrogate
   * U+DC80..U+DCFF (Python's "surrogateescape"), which encodes back to that
   * byte, so a C program's binary name is answered at that name.
   */
  abstract: string;
}

/**
 * A Unix socket bound to nothing: a socketpair end, a client that connected
 * without binding, a datagram sender that cannot be answered.
 *
 * @example
 * ```ts
 * import type { UnixUnnamedAddress } from "@libc/ipc";
 * const addr: UnixUnnamedAddress = { transport: "unix", unnamed: true };
 * ```
 */
export interface UnixUnnamedAddress {
  /** Always `"unix"`. */
  transport: "unix";
  /** Always `true`. */
  unnamed: true;
}

/**
 * The address of a Unix socket: a path, an abstract name, or none.
 *
 * @example
 * ```ts
 * import type { UnixAddress } from "@libc/ipc";
 * const describe = (a: UnixAddress) =>
 *   "path" in a ? a.path : "abstract" in a ? `@${a.abstract}` : "(unnamed)";
 * ```
 */
export type UnixAddress = UnixPathAddress | UnixAbstractAddress | UnixUnnamedAddress;

/**
 * The address of a TCP or UDP socket: an IPv4 or IPv6 address as text
 * (`"127.0.0.1"`, `"::1"`, never a host name) and a port.
 *
 * @example
 * ```ts
 * import type { NetAddress } from "@libc/ipc";
 * const addr: NetAddress = { transport: "tcp", hostname: "::1", port: 8080 };
 * ```
 */
export interface NetAddress {
  /** `"tcp"` for stream sockets, `"udp"` for datagram sockets. */
  transport: "tcp" | "udp";
  /**
   * The IP address: dotted IPv4, or IPv6 in its shortest form (RFC 5952),
   * with `%<scope id>` for a link-local address bound to an interface.
   */
  hostname: string;
  /** The port, 0..65535. */
  port: number;
}

/**
 * Any socket address of this family.
 *
 * @example
 * ```ts
 * import type { SocketAddress } from "@libc/ipc";
 * const show = (a: SocketAddress) =>
 *   a.transport === "unix" ? "a Unix socket" : `${a.hostname}:${a.port}`;
 * ```
 */
export type SocketAddress = UnixAddress | NetAddress;

/**
 * The kind of a socket: a byte stream, a stream of messages whose boundaries
 * are kept (`SOCK_SEQPACKET`), or single datagrams.
 *
 * @example
 * ```ts
 * import type { SocketType } from "@libc/ipc";
 * const type: SocketType = "seqpacket";
 * ```
 */
export type SocketType = "stream" | "seqpacket" | "datagram";
