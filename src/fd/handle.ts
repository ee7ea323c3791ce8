/**
 * {@link FdHandle}: what every file-descriptor handle shares.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { closedError, closedFdError, type ErrorSubject } from "../errors.ts";
import { closeOwnedFd, WaitRegistry } from "../_wait/mod.ts";
import { reopenBlocking } from "./_adopt.ts";
import { own } from "../_owned_fds.ts";

const registries = new WeakMap<FdHandle, WaitRegistry>();

/** The pending waits of a handle, which its `close()` cancels (for the subclasses' waits). */
export function waitsOf(handle: FdHandle): WaitRegistry {
  return registries.get(handle)!;
}

/**
 * Base of the file-descriptor handles ({@link FdReader}, {@link FdWriter},
 * `PosixMessageQueue`, `Connection`, `Listener`, `DatagramSocket`,
 * `SignalReader`): owns one descriptor until `close()`, which is
 * idempotent and rejects pending waits on it; any use after `close()` throws
 * `Deno.errors.BadResource` with `code: "EBADF"` and the fd it had.
 *
 * @example
 * ```ts
 * import { type FdHandle, pipe } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const { reader, writer } = pipe();
 * for (const end of [reader, writer] as FdHandle[]) end.close();
 * assert.equal(reader.closed, true);
 * ```
 */
export abstract class FdHandle implements Disposable {
  readonly #fd: number;
  #closed = false;
  #subject?: ErrorSubject;
  #blocking?: number;

  /**
   * Takes ownership of `fd` (subclasses check it first).
   * @param fd an open descriptor this handle now owns
   */
  protected constructor(fd: number) {
    this.#fd = fd;
    registries.set(this, new WaitRegistry());
    own(fd, () => this.what);
  }

  /** What the handle is, in error messages ("reader"). */
  protected abstract get what(): string;

  /** What its errors name: the fd, and what {@link FdHandle.describe} adds. */
  protected get subject(): ErrorSubject {
    return this.#subject ??= { ...this.describe(), fd: this.#fd };
  }

  /** More for errors to name than the fd (a POSIX queue's name). */
  protected describe(): ErrorSubject {
    return {};
  }

  /**
   * The descriptor number, e.g. to hand it to a child with `spawn(..., { fds })`.
   * @throws {Deno.errors.BadResource} after `close()` (`EBADF`, with the fd it
   *   had): `Bad file descriptor (os error 9): the reader is closed (it held fd 22)`
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using p = pipe();
   * assert.ok(p.reader.fd > 2 && p.writer.fd > 2);
   * ```
   *
   * @example After `close()`
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const { reader, writer } = pipe();
   * const fd = reader.fd;
   * reader.close();
   * writer.close();
   * assert.throws(() => reader.fd, { code: "EBADF", fd, message: /the reader is closed/ });
   * ```
   */
  get fd(): number {
    // No call is about to fail, so the error names the handle rather than a syscall.
    if (this.#closed) throw closedFdError(this.what, { ...this.subject, fd: this.#fd });
    return this.#fd;
  }

  /**
   * Whether `close()` has been called.
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const { reader, writer } = pipe();
   * reader.close();
   * assert.deepEqual([reader.closed, writer.closed], [true, false]);
   * writer.close();
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Lets this process exit while a read, receive or accept on this handle is
   * pending, like `Deno.Conn.unref()`. Writes and sends keep it alive
   * whatever this says, so that nothing written is lost when a script ends.
   * While the process runs for other reasons, an unref'd wait still
   * completes: at once while another wait of the library keeps its
   * `epoll_wait` parked, else within 50 ms. Applies to pending waits too.
   *
   * @example A background reader that does not hold the script open
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using p = pipe();
   * const read = p.reader.read(new Uint8Array(8));
   * p.reader.unref(); // the read goes on, but no longer keeps the process alive
   * p.writer.writeSync("x");
   * p.reader.ref(); // it keeps the process alive again while it is awaited below
   * assert.equal(await read, 1);
   * ```
   */
  unref(): void {
    waitsOf(this).ref = false;
  }

  /**
   * Undoes {@link FdHandle.unref}: pending and later waits on this handle keep
   * the process alive again (the default).
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using p = pipe();
   * p.reader.unref();
   * p.reader.ref();
   * const read = p.reader.read(new Uint8Array(8));
   * await p.writer.write("x");
   * assert.equal(await read, 1);
   * ```
   */
  ref(): void {
    waitsOf(this).ref = true;
  }

  /**
   * The descriptor, for an operation about to call `syscall` on it; throws
   * `Deno.errors.BadResource` (`EBADF`) after `close()`.
   *
   * @param syscall the C function the caller is about to call, for the error
   * @returns the descriptor
   */
  protected fdFor(syscall: string): number {
    if (this.#closed) throw closedError(this.what, syscall, this.subject);
    return this.#fd;
  }

  /**
   * A blocking description of the same pipe, FIFO or queue (reopened through
   * `/proc/self/fd`, close-on-exec), for sync forms that block in the call
   * itself; -1 when there is none to be had. Opened on first use, closed with
   * the handle.
   *
   * @param syscall the call it is for, which the error names once the handle is closed
   * @returns the blocking descriptor, or -1
   */
  protected blockingFd(syscall: string): number {
    return this.#blocking ??= reopenBlocking(this.fdFor(syscall));
  }

  /**
   * Closes the descriptor; pending waits on it reject with `BadResource`
   * (`EBADF`), each with an error of its own. Closing twice does nothing.
   * Errors of `close(2)` are not reported: the descriptor is released
   * whatever it returns.
   *
   * Wraps `close(2)`. Needs `--allow-ffi`.
   *
   * @example A pending read rejects when its reader is closed
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using p = pipe();
   * const pending = p.reader.read(new Uint8Array(8));
   * p.reader.close();
   * await assert.rejects(pending, Deno.errors.BadResource);
   * p.reader.close(); // does nothing
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    waitsOf(this).cancelAll((syscall) => closedError(this.what, syscall, this.subject));
    if (this.#blocking !== undefined && this.#blocking >= 0) libc.close(this.#blocking);
    closeOwnedFd(this.#fd);
  }

  /**
   * Closes the descriptor (`using` support); see {@link FdHandle.close}.
   *
   * Wraps `close(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const p = pipe();
   * {
   *   using reader = p.reader;
   *   using writer = p.writer;
   *   writer.writeSync("x");
   *   assert.equal(reader.readSync(new Uint8Array(1)), 1);
   * } // both closed here
   * assert.equal(p.reader.closed, true);
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}
