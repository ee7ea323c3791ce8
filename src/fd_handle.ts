/**
 * {@link FdHandle}: what every file-descriptor handle shares.
 *
 * @module
 */
import { libc } from "../ffi/libc.ts";
import { closedError } from "./errors.ts";
import { fdEngine } from "./_wait.ts";

/**
 * Base of the file-descriptor handles ({@link FdReader}, {@link FdWriter}): owns
 * one descriptor until `close()`, which is idempotent and rejects pending waits
 * on it; any use after `close()` throws `Deno.errors.BadResource`.
 *
 * @example
 * ```ts
 * import { type FdHandle, pipe } from "@libc/ipc";
 * const { reader, writer } = pipe();
 * for (const end of [reader, writer] as FdHandle[]) end.close();
 * console.log(reader.closed); // true
 * ```
 */
export abstract class FdHandle implements Disposable {
  #fd: number;
  /**
   * Takes ownership of `fd` (subclasses check it first).
   * @param fd an open descriptor this handle now owns
   */
  protected constructor(fd: number) {
    this.#fd = fd;
  }

  /** Name used in error messages. */
  protected abstract get what(): string;

  /**
   * The descriptor number, e.g. to hand it to a child with `spawn(..., { fds })`.
   * @throws {Deno.errors.BadResource} after `close()`.
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * using p = pipe();
   * console.log(p.reader.fd > 2, p.writer.fd > 2); // true true
   * ```
   */
  get fd(): number {
    if (this.#fd < 0) throw closedError(this.what);
    return this.#fd;
  }

  /**
   * Whether `close()` has been called.
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * const { reader, writer } = pipe();
   * reader.close();
   * console.log(reader.closed, writer.closed); // true false
   * writer.close();
   * ```
   */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * Throws `Deno.errors.BadResource` after `close()`: for operations that would
   * otherwise not touch the descriptor (an empty read or write).
   */
  protected checkOpen(): void {
    if (this.#fd < 0) throw closedError(this.what);
  }

  /**
   * Closes the descriptor; pending waits on it reject with `BadResource`.
   * Closing twice does nothing. Errors of `close(2)` are not reported: the
   * descriptor is released whatever it returns.
   *
   * Wraps `close(2)`. Needs `--allow-ffi`.
   *
   * @example A pending read rejects when its reader is closed
   * ```ts
   * import { pipe } from "@libc/ipc";
   * using p = pipe();
   * const pending = p.reader.read(new Uint8Array(8));
   * p.reader.close();
   * try {
   *   await pending;
   * } catch (e) {
   *   console.log(e instanceof Deno.errors.BadResource); // true
   * }
   * p.reader.close(); // does nothing
   * ```
   */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    fdEngine.cancelFd(fd, () => closedError(this.what));
    // close(2) releases the fd even when it reports EINTR or EIO; nothing to retry.
    libc.close(fd);
  }

  /**
   * Closes the descriptor (`using` support); see {@link FdHandle.close}.
   *
   * Wraps `close(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * const p = pipe();
   * {
   *   using reader = p.reader;
   *   using writer = p.writer;
   *   writer.writeSync("x");
   *   console.log(reader.readSync(new Uint8Array(1))); // 1
   * } // both closed here
   * console.log(p.reader.closed); // true
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}
