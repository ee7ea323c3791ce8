/**
 * {@link SocketHandle}: what every socket handle has besides its descriptor,
 * its buffer sizes (`SO_SNDBUF`, `SO_RCVBUF`).
 *
 * @module
 */
import { C } from "../../ffi/platform.ts";
import { checkBoolean, checkInteger, checkOptions, onlyKnown } from "../_check.ts";
import { FdHandle } from "../fd/handle.ts";
import { errorFromCode, type SystemError } from "../errors.ts";
import { intOption, setIntOption } from "./_socket.ts";

/**
 * A socket's buffer sizes in bytes, as Linux reports them: twice what was
 * asked for, the other half being the kernel's bookkeeping.
 *
 * @example
 * ```ts
 * import { socketpair, type SocketBufferSizes } from "@libc/ipc";
 * const [a, b] = socketpair("datagram");
 * using _a = a, _b = b;
 * const sizes: SocketBufferSizes = a.bufferSizes();
 * console.assert(sizes.send > 0 && sizes.receive > 0);
 * ```
 */
export interface SocketBufferSizes {
  /** `SO_SNDBUF`: what may be sent and not yet taken; on a Unix datagram socket, it bounds a datagram. */
  readonly send: number;
  /** `SO_RCVBUF`: what may wait to be received. */
  readonly receive: number;
}

/**
 * Options of {@link SocketHandle.setBufferSizes}: the sizes to ask for, in
 * bytes, 0..2^31-1 each (either may be left out).
 *
 * @example
 * ```ts
 * import type { SocketBufferSizesOptions } from "@libc/ipc";
 * const options: SocketBufferSizesOptions = { send: 1 << 20, receive: 1 << 20 };
 * ```
 */
export interface SocketBufferSizesOptions {
  /** The send buffer to ask for (`SO_SNDBUF`). */
  send?: number;
  /** The receive buffer to ask for (`SO_RCVBUF`). */
  receive?: number;
  /**
   * Go past the system's ceilings (`net.core.wmem_max`, `net.core.rmem_max`)
   * with `SO_SNDBUFFORCE`/`SO_RCVBUFFORCE`, which need `CAP_NET_ADMIN`.
   * Default `false`: the kernel caps a size at its ceiling, silently.
   */
  force?: boolean;
}

const KEYS: ReadonlySet<string> = new Set(["send", "receive", "force"]);

/**
 * A socket: a {@link Connection}, {@link DatagramSocket} or {@link Listener}.
 * It owns its descriptor as every {@link FdHandle} does, and has buffer sizes.
 *
 * @example
 * ```ts
 * import { socketpair, type SocketHandle } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const [a, b] = socketpair();
 * for (const end of [a, b] as SocketHandle[]) end.close();
 * assert.equal(a.closed, true);
 * ```
 */
export abstract class SocketHandle extends FdHandle {
  /**
   * Takes ownership of the socket `fd`.
   * @param fd an open socket this handle now owns
   */
  protected constructor(fd: number) {
    super(fd);
  }

  /**
   * The socket's send and receive buffer sizes now, as Linux reports them
   * (twice what was asked for: see {@link SocketHandle.setBufferSizes}).
   *
   * Wraps `getsockopt(2)` (`SO_SNDBUF`, `SO_RCVBUF`). Needs `--allow-ffi`.
   *
   * @returns the sizes in bytes
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const [a, b] = socketpair("datagram");
   * using _a = a, _b = b;
   * assert.ok(a.bufferSizes().send >= 4608);
   * ```
   */
  bufferSizes(): SocketBufferSizes {
    const fd = this.fdFor("getsockopt");
    return {
      send: intOption(fd, C.SOL_SOCKET, C.SO_SNDBUF, this.subject),
      receive: intOption(fd, C.SOL_SOCKET, C.SO_RCVBUF, this.subject),
    };
  }

  /**
   * Asks for send and receive buffers of the sizes given; returns the sizes
   * the kernel then has. Linux caps what is asked for at
   * `net.core.wmem_max`/`net.core.rmem_max` unless `force`, then doubles it
   * (the other half is its bookkeeping; the sizes returned show both), and
   * keeps a minimum of a few KiB. On TCP, a size set turns off the kernel's
   * own sizing of that buffer for the connection.
   *
   * A Unix datagram (or seqpacket message) longer than the send buffer (less
   * 32 bytes of the kernel's own, as the size returned counts it) is refused
   * with `EMSGSIZE`: raise `send` to send larger ones. Set on a TCP
   * listener, the sizes pass to the connections it accepts (and, before
   * connections come, size the window they start with); a Unix listener's do
   * not pass: set them on the accepted connection.
   *
   * Wraps `setsockopt(2)` (`SO_SNDBUF`, `SO_RCVBUF`, or `SO_SNDBUFFORCE`,
   * `SO_RCVBUFFORCE` with `force`) and `getsockopt(2)`. Needs `--allow-ffi`.
   *
   * @param sizes `send` and `receive` in bytes (either may be left out), `force`
   * @returns the sizes now, as {@link SocketHandle.bufferSizes} reports them
   * @throws {TypeError} when `sizes` is not an object, names neither size or an
   *   unknown key, or a size is not a number
   * @throws {RangeError} for a size that is not an integer 0..2^31-1
   * @throws {Deno.errors.PermissionDenied} with `force`, without `CAP_NET_ADMIN` (`EPERM`)
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example Datagrams larger than the default send buffer
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const [a, b] = socketpair("datagram");
   * using _a = a, _b = b;
   * const big = new Uint8Array(300 * 1024); // more than net.core.wmem_default's 212992
   * assert.ok(a.setBufferSizes({ send: big.length }).send > big.length);
   * a.sendSync(big);
   * assert.equal(b.receiveSync()!.length, big.length);
   * ```
   */
  setBufferSizes(sizes: SocketBufferSizesOptions): SocketBufferSizes {
    const o = checkOptions(sizes, "sizes");
    onlyKnown(o, KEYS, "setBufferSizes");
    const size = (v: unknown, what: string) =>
      v === undefined ? undefined : checkInteger(v, what, 0, 2 ** 31 - 1, "0..2^31-1");
    const send = size(o.send, "send");
    const receive = size(o.receive, "receive");
    const force = checkBoolean(o.force, "force");
    if (send === undefined && receive === undefined) {
      throw new TypeError("setBufferSizes: give send, receive or both");
    }
    const fd = this.fdFor("setsockopt");
    const set = (name: number, forced: number, value: number, ceiling: string) => {
      try {
        setIntOption(fd, C.SOL_SOCKET, force ? forced : name, value, this.subject);
      } catch (e) {
        const { code, errno } = e as Partial<SystemError>;
        if (!force || code !== "EPERM") throw e;
        throw errorFromCode(
          errno!,
          "setsockopt",
          this.subject,
          `force needs CAP_NET_ADMIN; without it the size is capped at net.core.${ceiling}`,
        );
      }
    };
    if (send !== undefined) set(C.SO_SNDBUF, C.SO_SNDBUFFORCE, send, "wmem_max");
    if (receive !== undefined) set(C.SO_RCVBUF, C.SO_RCVBUFFORCE, receive, "rmem_max");
    return this.bufferSizes();
  }
}
