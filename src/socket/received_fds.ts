/**
 * {@link ReceivedFds}: descriptors received over a Unix socket, held until
 * the caller takes them, and closed if it does not.
 *
 * @module
 */
import { closedError } from "../errors.ts";
import { FdReader } from "../fd/reader.ts";
import { FdWriter } from "../fd/writer.ts";
import { Connection } from "./connection.ts";
import { Listener } from "./listener.ts";
import { checkInteger } from "../_check.ts";
import { disown, own } from "../_owned_fds.ts";
import { closeOwnedFd } from "../_wait/release.ts";

let create: (
  fds: number[],
  data: Uint8Array<ArrayBuffer>,
  truncated: boolean,
) => ReceivedFds;

/** How an adopter's error names the owner of a descriptor not yet taken. */
const OWNER = () => "set of received descriptors (take it from there: reader(i), adopt(i, f), ...)";

/** What only this module passes the constructor. */
const INTERNAL: unique symbol = Symbol("ReceivedFds");

/**
 * A {@link ReceivedFds} holding `fds` (for the family's own modules: the
 * constructor is closed to user code, which could otherwise have any
 * descriptor closed).
 */
export function receivedFdsOf(
  fds: number[],
  data: Uint8Array<ArrayBuffer>,
  truncated: boolean,
): ReceivedFds {
  return create(fds, data, truncated);
}

/**
 * What one `Connection.receiveFds()` took: the data, and the descriptors
 * that came with it (`SCM_RIGHTS`), which now belong to this process. They
 * were installed close-on-exec, so no child started meanwhile inherits them.
 *
 * This object owns them until they are taken: {@link ReceivedFds.reader},
 * {@link ReceivedFds.writer}, {@link ReceivedFds.connection} and
 * {@link ReceivedFds.listener} adopt one as a handle, {@link ReceivedFds.adopt}
 * with any `fromFd`-like function, {@link ReceivedFds.take} as a bare number
 * the caller must close. `close()` (or `using`) closes every one not taken,
 * so none leaks however the caller leaves.
 *
 * Needs `--allow-ffi`.
 *
 * @example Receive a pipe's writing end and write through it
 * ```ts
 * import { pipe, socketpair } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using pair = socketpair();
 * using p = pipe();
 * await pair[0].sendFds([p.writer], "here");
 * {
 *   using received = await pair[1].receiveFds();
 *   assert.equal(new TextDecoder().decode(received!.data), "here");
 *   using writer = received!.writer(0);
 *   writer.writeSync("through the copy");
 * }
 * p.writer.close();
 * assert.equal(await new Response(p.reader.readable).text(), "through the copy");
 * ```
 */
export class ReceivedFds implements Disposable {
  /**
   * The data the descriptors came with (on a stream, the bytes this receive read).
   *
   * @example
   * ```ts
   * import { pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("seqpacket");
   * using p = pipe();
   * pair[0].sendFdsSync([p.reader], "a note");
   * using received = pair[1].receiveFdsSync()!;
   * assert.equal(new TextDecoder().decode(received.data), "a note");
   * ```
   */
  readonly data: Uint8Array<ArrayBuffer>;
  /**
   * Whether descriptors were dropped (`MSG_CTRUNC`): more came than the
   * receive's `max`, or this process had no descriptor numbers left for
   * them. The kernel closed those; none of them is open in this process.
   *
   * @example
   * ```ts
   * import { pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("datagram");
   * using p = pipe();
   * pair[0].sendFdsSync([p.reader, p.writer]);
   * using received = pair[1].receiveFdsSync({ max: 1 })!;
   * assert.deepEqual([received.fds.length, received.truncated], [1, true]);
   * ```
   */
  readonly truncated: boolean;
  readonly #fds: readonly number[];
  readonly #taken: boolean[];
  #closed = false;

  static {
    create = (fds, data, truncated) => new ReceivedFds(fds, data, truncated, INTERNAL);
  }

  private constructor(
    fds: number[],
    data: Uint8Array<ArrayBuffer>,
    truncated: boolean,
    internal: unknown,
  ) {
    if (internal !== INTERNAL) {
      throw new TypeError("ReceivedFds cannot be constructed: receiveFds() returns one");
    }
    this.#fds = Object.freeze(fds);
    this.#taken = fds.map(() => false);
    // Owned here until taken: another handle adopting one would have it closed under it.
    for (const fd of fds) own(fd, OWNER);
    this.data = data;
    this.truncated = truncated;
  }

  /**
   * The descriptor numbers as received, in the order they were sent (those
   * taken included: from then on they are the taker's).
   *
   * @example
   * ```ts
   * import { pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair("seqpacket");
   * using p = pipe();
   * pair[0].sendFdsSync([p.reader, p.writer]);
   * using received = pair[1].receiveFdsSync()!;
   * assert.equal(received.fds.length, 2);
   * ```
   */
  get fds(): readonly number[] {
    return this.#fds;
  }

  /**
   * Whether `close()` has been called.
   *
   * @example
   * ```ts
   * import { pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * using p = pipe();
   * pair[0].sendFdsSync([p.reader]);
   * const received = pair[1].receiveFdsSync()!;
   * received.close();
   * assert.equal(received.closed, true);
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /** The descriptor at `index`, marked taken only once `use` has succeeded with it. */
  #claim<T>(given: number, syscall: string, use: (fd: number) => T): T {
    const n = this.#fds.length;
    const range = n === 0
      ? "naming a received descriptor (none was received)"
      : `0..${n - 1} (${n} received)`;
    const index = checkInteger(given, "index", 0, n - 1, range);
    if (this.#closed) {
      throw closedError("set of received descriptors", syscall, { fd: this.#fds[index] });
    }
    if (this.#taken[index]) throw new TypeError(`fds[${index}] was already taken`);
    const fd = this.#fds[index];
    disown(fd);
    try {
      const out = use(fd);
      this.#taken[index] = true;
      return out;
    } catch (e) {
      own(fd, OWNER);
      throw e;
    }
  }

  /**
   * Takes the descriptor at `index` as a bare number: the caller owns it
   * now, and must close it.
   *
   * @param index its position, 0 for the first sent
   * @returns the descriptor number
   * @throws {RangeError} when `index` is not the position of a received descriptor
   * @throws {TypeError} when `index` is not a number, or the descriptor was taken already
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { FdReader, pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * using p = pipe();
   * pair[0].sendFdsSync([p.reader]);
   * using received = pair[1].receiveFdsSync()!;
   * const fd = received.take(0);
   * using reader = new FdReader(fd); // now the reader closes it
   * assert.throws(() => received.take(0), TypeError);
   * ```
   */
  take(index: number): number {
    return this.#claim(index, "take", (fd) => fd);
  }

  /**
   * Adopts the descriptor at `index` with `adopt` (a `fromFd`-like function
   * that takes ownership of it). If `adopt` throws, the descriptor stays
   * here (and is closed with the rest).
   *
   * @param index its position, 0 for the first sent
   * @param adopt makes a handle that owns the fd, e.g. `(fd) => PosixSharedMemory.fromFd(fd)`
   * @returns what `adopt` returned
   * @throws {RangeError} when `index` is not the position of a received descriptor
   * @throws {TypeError} when `index` is not a number, or the descriptor was taken already
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws what `adopt` throws
   *
   * @example
   * ```ts
   * import { FdReader, pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * using p = pipe();
   * pair[0].sendFdsSync([p.reader]);
   * using received = pair[1].receiveFdsSync()!;
   * using reader = received.adopt(0, (fd) => new FdReader(fd));
   * assert.equal(reader.closed, false);
   * ```
   */
  adopt<T>(index: number, adopt: (fd: number) => T): T {
    if (typeof adopt !== "function") {
      throw new TypeError(`adopt must be a function, got ${typeof adopt}`);
    }
    return this.#claim(index, "adopt", adopt);
  }

  /**
   * Adopts the descriptor at `index` as an {@link FdReader} (a pipe's or a
   * FIFO's reading end, any readable fd).
   *
   * Wraps `fcntl(2)`. Needs `--allow-ffi`.
   *
   * @param index its position, 0 for the first sent
   * @returns the reader, which owns the descriptor now
   * @throws {RangeError} when `index` is not the position of a received descriptor
   * @throws {TypeError} when `index` is not a number, the descriptor was taken already, or it is not open for reading
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * using p = pipe();
   * pair[0].sendFdsSync([p.reader]);
   * p.writer.writeSync("x");
   * using received = pair[1].receiveFdsSync()!;
   * using reader = received.reader(0);
   * assert.equal(reader.readSync(new Uint8Array(1)), 1);
   * ```
   */
  reader(index: number): FdReader {
    return this.#claim(index, "fcntl", (fd) => new FdReader(fd));
  }

  /**
   * Adopts the descriptor at `index` as an {@link FdWriter} (a pipe's or a
   * FIFO's writing end, any writable fd).
   *
   * Wraps `fcntl(2)`. Needs `--allow-ffi`.
   *
   * @param index its position, 0 for the first sent
   * @returns the writer, which owns the descriptor now
   * @throws {RangeError} when `index` is not the position of a received descriptor
   * @throws {TypeError} when `index` is not a number, the descriptor was taken already, or it is not open for writing
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * using p = pipe();
   * pair[0].sendFdsSync([p.writer]);
   * using received = pair[1].receiveFdsSync()!;
   * assert.throws(() => received.reader(0), TypeError); // a writing end
   * using writer = received.writer(0);
   * assert.equal(writer.writeSync("y"), 1);
   * ```
   */
  writer(index: number): FdWriter {
    return this.#claim(index, "fcntl", (fd) => new FdWriter(fd));
  }

  /**
   * Adopts the descriptor at `index` as a {@link Connection} (a connected
   * Unix or TCP socket), as `Connection.fromFd` does.
   *
   * Wraps `getsockopt(2)`, `getpeername(2)`, `fcntl(2)`. Needs `--allow-ffi`.
   *
   * @param index its position, 0 for the first sent
   * @returns the connection, which owns the descriptor now
   * @throws {RangeError} when `index` is not the position of a received descriptor
   * @throws {TypeError} when `index` is not a number, the descriptor was taken already, or it is not a connected socket
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using control = socketpair();
   * using other = socketpair("seqpacket");
   * control[0].sendFdsSync([other[1]]);
   * using received = control[1].receiveFdsSync()!;
   * using conn = received.connection(0);
   * other[0].sendSync("via the passed socket");
   * assert.equal(new TextDecoder().decode(conn.receiveSync()!), "via the passed socket");
   * ```
   */
  connection(index: number): Connection {
    return this.#claim(index, "getsockopt", (fd) => Connection.fromFd(fd));
  }

  /**
   * Adopts the descriptor at `index` as a {@link Listener} (a listening
   * socket), as `Listener.fromFd` does.
   *
   * Wraps `getsockopt(2)`, `getsockname(2)`, `fcntl(2)`. Needs `--allow-ffi`.
   *
   * @param index its position, 0 for the first sent
   * @returns the listener, which owns the descriptor now
   * @throws {RangeError} when `index` is not the position of a received descriptor
   * @throws {TypeError} when `index` is not a number, the descriptor was taken already, or it is not a listening socket
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { connectSync, listen, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `libc-ipc-doc-${Deno.pid}-received-listener`;
   * using control = socketpair();
   * {
   *   using original = listen({ abstract: name });
   *   control[0].sendFdsSync([original]);
   * }
   * using received = control[1].receiveFdsSync()!;
   * using listener = received.listener(0);
   * using client = connectSync({ abstract: name });
   * using server = listener.acceptSync({ timeout: 1000 });
   * assert.equal(server.type, "stream");
   * ```
   */
  listener(index: number): Listener {
    return this.#claim(index, "getsockopt", (fd) => Listener.fromFd(fd));
  }

  /**
   * Closes every descriptor not taken. Closing twice does nothing.
   *
   * Wraps `close(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * using p = pipe();
   * pair[0].sendFdsSync([p.writer]);
   * p.writer.close();
   * const received = pair[1].receiveFdsSync()!;
   * received.close(); // the last writing end: the reader sees end of file
   * assert.equal(p.reader.readSync(new Uint8Array(1)), null);
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fds.forEach((fd, i) => {
      if (!this.#taken[i]) closeOwnedFd(fd);
    });
  }

  /**
   * Closes every descriptor not taken (`using` support); see {@link ReceivedFds.close}.
   *
   * Wraps `close(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { pipe, socketpair } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using pair = socketpair();
   * using p = pipe();
   * pair[0].sendFdsSync([p.reader]);
   * {
   *   using received = pair[1].receiveFdsSync()!;
   *   assert.equal(received.fds.length, 1);
   * } // closed here
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}
